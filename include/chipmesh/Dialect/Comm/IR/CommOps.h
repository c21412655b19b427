//===- CommOps.h - Comm dialect ops -----------------------------*- C++ -*-===//
#ifndef CHIPMESH_DIALECT_COMM_IR_COMMOPS_H
#define CHIPMESH_DIALECT_COMM_IR_COMMOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace chipmesh::comm {
/// Position of the enclosing function's device in `group`, or -1.
int64_t rankInGroup(mlir::Operation *op, llvm::ArrayRef<int64_t> group);
} // namespace chipmesh::comm

#include "chipmesh/Dialect/Comm/IR/CommDialect.h.inc"
#include "chipmesh/Dialect/Comm/IR/CommEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "chipmesh/Dialect/Comm/IR/CommAttrs.h.inc"

#define GET_OP_CLASSES
#include "chipmesh/Dialect/Comm/IR/CommOps.h.inc"

namespace chipmesh::comm {
/// The device of the function enclosing `op`, if it has one.
DeviceAttr getEnclosingDevice(mlir::Operation *op);
} // namespace chipmesh::comm

#endif // CHIPMESH_DIALECT_COMM_IR_COMMOPS_H
