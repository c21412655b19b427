//===- StageEmitter.h - One stage for one tensor member ---------*- C++ -*-===//
//
// Private to lib/Materialize. Emits a stage's ops cut to the micro-batch and
// to one member's tensor-parallel shard, with the collectives that keep
// each value in the layout its users need. Tensor parallelism follows
// Megatron-LM (Shoeybi et al. 2019, sec. 3): column-split linears keep
// their result split, row-split linears give partial sums, attention is
// split by key/value head groups; anything else is computed in full on
// every member of the group.
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_LIB_MATERIALIZE_STAGEEMITTER_H
#define CHIPMESH_LIB_MATERIALIZE_STAGEEMITTER_H

#include "chipmesh/Dialect/Graph/IR/GraphOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"

namespace chipmesh::materialize {

using namespace mlir;
using namespace chipmesh::graph;

/// Replicated: every member holds the whole value. Split: member r holds
/// `sizes[r]` entries of dimension `dim`. Partial: every member holds a
/// whole-shaped addend; the value is their sum.
struct Layout {
  enum Kind { Replicated, Split, Partial } kind = Replicated;
  int64_t dim = -1;
  SmallVector<int64_t> sizes;
  static Layout replicated() { return {}; }
  static Layout split(int64_t dim, ArrayRef<int64_t> sizes) {
    Layout l;
    l.kind = Split;
    l.dim = dim;
    l.sizes.assign(sizes.begin(), sizes.end());
    return l;
  }
  static Layout partial() {
    Layout l;
    l.kind = Partial;
    return l;
  }
  bool operator==(const Layout &o) const {
    return kind == o.kind &&
           (kind != Split || (dim == o.dim && sizes == o.sizes));
  }
};

struct Local {
  Value value;
  Layout layout;
};

class StageEmitter {
public:
  StageEmitter(OpBuilder &builder, ArrayRef<int64_t> group,
               ArrayRef<double> shares, int64_t rank,
               const llvm::DenseMap<Operation *, int64_t> &paramIndex)
      : b(builder), group(group), shares(shares), rank(rank),
        paramIndex(paramIndex) {}

  void bind(Value original, Value local) {
    map[original] = {local, Layout::replicated()};
  }
  FailureOr<Value> replicated(Value original) {
    return lookup(original, Layout::replicated());
  }
  LogicalResult emitOp(Operation *op);
  /// Emits `layer` with `repeat` repetitions; its results are bound.
  LogicalResult emitLayer(LayerOp layer, int64_t repeat, int64_t firstRepeat);

private:
  bool parallel() const { return group.size() > 1; }
  Layout layoutOf(Value v) {
    auto it = map.find(v);
    return it == map.end() ? Layout::replicated() : it->second.layout;
  }
  FailureOr<Value> lookup(Value original, const Layout &want);
  Value convert(Local local, const Layout &want, Location loc);
  FailureOr<Value> emitParam(ParamOp param, const Layout &want);
  LogicalResult emitReplicated(Operation *op);
  LogicalResult emitLinearLike(Operation *op, Value input, Value weight,
                               Value bias, bool transposed);
  LogicalResult emitAttention(AttentionOp op);
  LogicalResult emitReshape(ReshapeOp op);
  LogicalResult emitPreserving(Operation *op, Layout layout);
  LogicalResult emitBinary(Operation *op);
  /// Clones `op` with `operands`, infers its result types, binds results.
  FailureOr<Operation *> cloneWith(Operation *op, ArrayRef<Value> operands,
                                   const Layout &resultLayout);

  OpBuilder &b;
  ArrayRef<int64_t> group;
  ArrayRef<double> shares;
  int64_t rank;
  const llvm::DenseMap<Operation *, int64_t> &paramIndex;
  llvm::DenseMap<Value, Local> map;
  llvm::DenseMap<Value, Value> replicatedForm;
  llvm::DenseMap<Operation *, Local> params;
};

} // namespace chipmesh::materialize

#endif // CHIPMESH_LIB_MATERIALIZE_STAGEEMITTER_H
