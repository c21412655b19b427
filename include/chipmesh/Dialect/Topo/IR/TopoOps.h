//===- TopoOps.h - Topo dialect ops -----------------------------*- C++ -*-===//
#ifndef CHIPMESH_DIALECT_TOPO_IR_TOPOOPS_H
#define CHIPMESH_DIALECT_TOPO_IR_TOPOOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/RegionKindInterface.h"
#include "mlir/IR/SymbolTable.h"

#include "chipmesh/Dialect/Topo/IR/TopoDialect.h.inc"
#include "chipmesh/Dialect/Topo/IR/TopoEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "chipmesh/Dialect/Topo/IR/TopoAttrs.h.inc"

#define GET_OP_CLASSES
#include "chipmesh/Dialect/Topo/IR/TopoOps.h.inc"

namespace chipmesh::topo {
/// Deepest nesting of topo.group the parser and the verifier accept.
constexpr unsigned kMaxGroupDepth = 64;
} // namespace chipmesh::topo

#endif // CHIPMESH_DIALECT_TOPO_IR_TOPOOPS_H
