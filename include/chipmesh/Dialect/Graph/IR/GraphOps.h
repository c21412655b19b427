//===- GraphOps.h - Graph dialect ops ---------------------------*- C++ -*-===//
#ifndef CHIPMESH_DIALECT_GRAPH_IR_GRAPHOPS_H
#define CHIPMESH_DIALECT_GRAPH_IR_GRAPHOPS_H

#include "chipmesh/Interfaces/CostInterface.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace chipmesh::graph {
/// Rejects operand and result tensors whose element count overflows int64.
mlir::LogicalResult verifyTensorsFit(mlir::Operation *op);

template <typename ConcreteType>
class TensorsFit : public mlir::OpTrait::TraitBase<ConcreteType, TensorsFit> {
public:
  static mlir::LogicalResult verifyTrait(mlir::Operation *op) {
    return verifyTensorsFit(op);
  }
};
} // namespace chipmesh::graph

#include "chipmesh/Dialect/Graph/IR/GraphDialect.h.inc"
#include "chipmesh/Dialect/Graph/IR/GraphEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "chipmesh/Dialect/Graph/IR/GraphAttrs.h.inc"

#define GET_OP_CLASSES
#include "chipmesh/Dialect/Graph/IR/GraphOps.h.inc"

#endif // CHIPMESH_DIALECT_GRAPH_IR_GRAPHOPS_H
