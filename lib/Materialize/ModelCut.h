//===- ModelCut.h - The model cut by the plan's stages ---------*- C++ -*-===//
//
// Private to lib/Materialize. The top-level ops of the model function, each
// layer cut where its placement changes stage, and the logical values
// between them: who produces each, who consumes it, which are returned.
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_LIB_MATERIALIZE_MODELCUT_H
#define CHIPMESH_LIB_MATERIALIZE_MODELCUT_H

#include "chipmesh/Materialize/PlanSpec.h"
#include "llvm/ADT/DenseMap.h"
#include <set>
#include <vector>

namespace chipmesh::materialize {

using namespace mlir;

/// A value of the top level (a model argument, an op result, or what a
/// layer cut between stages passes on).
struct LogicalValue {
  Type type;
  int64_t producer = -1; ///< stage; -1 for model arguments
  int64_t argument = -1;
  std::set<int64_t> consumers;
  SmallVector<int64_t> returnedAs; ///< positions among the model results
};

struct Piece {
  Operation *op = nullptr;
  int64_t stage = 0, repeat = 1;
  int64_t firstRepeat = 0; ///< the layer's first repetition in this piece
  SmallVector<int64_t> inputs, outputs; ///< logical value ids
  /// The op's operands (a layer's inputs) that carry logical values.
  SmallVector<std::pair<Value, int64_t>> bindings;
};

struct Model {
  std::vector<LogicalValue> values;
  std::vector<Piece> pieces;
  llvm::DenseMap<Operation *, int64_t> paramIndex;
  int64_t tracedBatch = 0;
};

/// Cuts `func` by its ops' `chipmesh.placement`, checked against `plan`'s
/// stages (order, repeats, layer ranges, no empty stage).
FailureOr<Model> cutModel(func::FuncOp func, const PlanSpec &plan);

} // namespace chipmesh::materialize

#endif // CHIPMESH_LIB_MATERIALIZE_MODELCUT_H
