//===- Materialize.cpp - One program per device from a plan ---------------===//
//
// Turns a partitioned module into per-device programs: every stage's ops
// cut to the micro-batch and to the device's tensor-parallel shard, with
// explicit communication, and a step function running the schedule.
// Tensor parallelism follows Megatron-LM (Shoeybi et al. 2019, sec. 3):
// column-split linears keep their result split, row-split linears give
// partial sums, attention is split by key/value head groups; anything
// else is computed in full on every member of the group.
//
//===----------------------------------------------------------------------===//

#include "chipmesh/Materialize/PlanSpec.h"
#include "chipmesh/Transforms/PassSupport.h"
#include "chipmesh/Transforms/Passes.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/STLExtras.h"
#include <map>
#include <set>

namespace chipmesh {
#define GEN_PASS_DEF_CHIPMESHMATERIALIZE
#include "chipmesh/Transforms/Passes.h.inc"
} // namespace chipmesh

using namespace mlir;
using namespace chipmesh;
using namespace chipmesh::graph;

namespace {

//===----------------------------------------------------------------------===//
// Layouts of a value across a tensor-parallel group
//===----------------------------------------------------------------------===//

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
    return kind == o.kind && (kind != Split || (dim == o.dim && sizes == o.sizes));
  }
};

struct Local {
  Value value;
  Layout layout;
};

int64_t sumOf(ArrayRef<int64_t> values) {
  int64_t total = 0;
  for (int64_t v : values)
    total += v;
  return total;
}

int64_t product(ArrayRef<int64_t> dims) {
  int64_t p = 1;
  for (int64_t d : dims)
    p *= d;
  return p;
}

bool isUnaryElementwise(Operation *op) {
  return isa<GraphDialect>(op->getDialect()) && op->getNumOperands() == 1 &&
         op->getNumResults() == 1 &&
         op->hasTrait<OpTrait::SameOperandsAndResultType>() &&
         !isa<SoftmaxOp>(op);
}

/// Output dimension of a reshape `in` -> `out` that carries input dimension
/// `d` as its outermost part, or -1.
int64_t reshapedDim(ArrayRef<int64_t> in, ArrayRef<int64_t> out, int64_t d) {
  int64_t prefixIn = product(in.take_front(d));
  int64_t blockIn = product(in.drop_front(d));
  int64_t prefixOut = 1;
  for (int64_t e = 0; e < static_cast<int64_t>(out.size()); ++e) {
    if (prefixOut > prefixIn)
      break;
    if (prefixOut == prefixIn && (out[e] != 1 || in[d] == 1) &&
        product(out.drop_front(e)) == blockIn)
      return e;
    prefixOut *= out[e];
  }
  return -1;
}

/// How many output columns of a column-split linear belong together:
/// a head (`D`) when the result is reshaped into heads, and a query group
/// (`D * Hq / Hkv`) when those heads are the queries of grouped-query
/// attention, so that query and key/value heads split alike.
int64_t columnGranule(Value result, int64_t columns) {
  auto soleUser = [](Value v) -> Operation * {
    return v.hasOneUse() ? *v.getUsers().begin() : nullptr;
  };
  auto skipUnary = [&](Value &v) {
    Operation *user = soleUser(v);
    while (user && isUnaryElementwise(user)) {
      v = user->getResult(0);
      user = soleUser(v);
    }
    return user;
  };
  Value v = result;
  auto reshape = dyn_cast_or_null<ReshapeOp>(skipUnary(v));
  if (!reshape)
    return 1;
  ArrayRef<int64_t> in = reshape.getInput().getType().getShape();
  ArrayRef<int64_t> out = cast<RankedTensorType>(reshape.getType()).getShape();
  if (out.size() != in.size() + 1 || in.empty() ||
      out.drop_back(2) != in.drop_back() ||
      out[out.size() - 2] * out.back() != in.back())
    return columns; // a reshape we cannot follow: keep the columns whole
  int64_t headDim = out.back();
  v = reshape.getResult();
  auto attention = dyn_cast_or_null<AttentionOp>(skipUnary(v));
  if (attention && v == attention.getQuery()) {
    int64_t hq = attention.getQuery().getType().getShape()[2];
    int64_t hkv = attention.getKey().getType().getShape()[2];
    return headDim * (hq / hkv);
  }
  return headDim;
}

//===----------------------------------------------------------------------===//
// Emitting one stage for one member of its tensor-parallel group
//===----------------------------------------------------------------------===//

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

RankedTensorType fullType(Value local, const Layout &layout) {
  auto type = cast<RankedTensorType>(local.getType());
  if (layout.kind != Layout::Split)
    return type;
  SmallVector<int64_t> shape(type.getShape());
  shape[layout.dim] = sumOf(layout.sizes);
  return type.clone(shape);
}

Value StageEmitter::convert(Local local, const Layout &want, Location loc) {
  const Layout &have = local.layout;
  if (have == want)
    return local.value;
  if (want.kind == Layout::Replicated) {
    if (auto it = replicatedForm.find(local.value); it != replicatedForm.end())
      return it->second;
    Value result;
    if (have.kind == Layout::Split)
      result = comm::AllGatherOp::create(b, loc, fullType(local.value, have),
                                           local.value, group, have.dim,
                                           have.sizes);
    else
      result = comm::AllReduceOp::create(b, loc, local.value.getType(),
                                           comm::ReductionKind::sum,
                                           local.value, group);
    replicatedForm[local.value] = result;
    return result;
  }
  assert(want.kind == Layout::Split && "nothing converts to partial sums");
  auto whole = fullType(local.value, have);
  SmallVector<int64_t> localShape(whole.getShape());
  localShape[want.dim] = want.sizes[rank];
  auto localType = whole.clone(localShape);
  if (have.kind == Layout::Partial)
    return comm::ReduceScatterOp::create(b, loc, localType,
                                           comm::ReductionKind::sum,
                                           local.value, group, want.dim,
                                           want.sizes);
  Value source = have.kind == Layout::Split
                     ? convert(local, Layout::replicated(), loc)
                     : local.value;
  SmallVector<int64_t> offsets(whole.getRank(), 0);
  offsets[want.dim] = sumOf(ArrayRef<int64_t>(want.sizes).take_front(rank));
  return SliceOp::create(b, loc, source, offsets, localShape);
}

FailureOr<Value> StageEmitter::lookup(Value original, const Layout &want) {
  if (auto it = map.find(original); it != map.end())
    return convert(it->second, want, original.getLoc());
  Operation *def = original.getDefiningOp();
  if (auto param = dyn_cast_or_null<ParamOp>(def))
    return emitParam(param, want);
  if (def && def->getNumOperands() == 0 && def->getNumRegions() == 0) {
    // A constant: each stage that reads it makes its own.
    Operation *copy = b.clone(*def);
    for (auto [o, c] : llvm::zip(def->getResults(), copy->getResults()))
      map[o] = {c, Layout::replicated()};
    return convert(map[original], want, original.getLoc());
  }
  return emitError(original.getLoc())
         << "internal error: value used before the stage defines it";
}

FailureOr<Value> StageEmitter::emitParam(ParamOp param, const Layout &want) {
  if (auto it = params.find(param); it != params.end())
    return convert(it->second, want, param.getLoc());
  RankedTensorType type = param.getType();
  Layout layout = want.kind == Layout::Split ? want : Layout::replicated();
  SmallVector<int64_t> shape(type.getShape());
  if (layout.kind == Layout::Split)
    shape[layout.dim] = layout.sizes[rank];
  auto local = ParamOp::create(b, param.getLoc(), type.clone(shape),
                                 param.getNameAttr());
  local->setAttr("comm.param", b.getI64IntegerAttr(paramIndex.lookup(param)));
  if (layout.kind == Layout::Split)
    local->setAttr("comm.shard",
                   b.getDenseI64ArrayAttr(
                       {layout.dim,
                        sumOf(ArrayRef<int64_t>(layout.sizes).take_front(rank)),
                        type.getShape()[layout.dim]}));
  params[param] = {local, layout};
  return Value(local);
}

FailureOr<Operation *> StageEmitter::cloneWith(Operation *op,
                                               ArrayRef<Value> operands,
                                               const Layout &resultLayout) {
  Operation *copy;
  bool changed = operands.size() != op->getNumOperands();
  if (changed) { // an optional operand dropped (a bias kept by rank 0 only)
    OperationState state(op->getLoc(), op->getName());
    state.addOperands(operands);
    state.addAttributes(op->getAttrs());
    state.addTypes(op->getResultTypes());
    copy = b.create(state);
  } else {
    IRMapping mapping;
    for (auto [o, l] : llvm::zip(op->getOperands(), operands))
      mapping.map(o, l);
    copy = b.clone(*op, mapping);
    for (auto [o, l] : llvm::zip(op->getOperands(), operands))
      changed |= o.getType() != l.getType();
  }
  copy->removeAttr("chipmesh.placement");
  copy->removeAttr("chipmesh.cost");
  if (changed) {
    if (auto infer = dyn_cast<InferTypeOpInterface>(copy)) {
      SmallVector<Type> types;
      if (failed(infer.inferReturnTypes(
              copy->getContext(), copy->getLoc(), copy->getOperands(),
              copy->getRawDictionaryAttrs(), copy->getPropertiesStorage(),
              copy->getRegions(), types)))
        return op->emitError() << "cannot cut '" << op->getName()
                               << "' to the local shapes";
      for (auto [result, type] : llvm::zip(copy->getResults(), types))
        result.setType(type);
    } else if (copy->hasTrait<OpTrait::SameOperandsAndResultType>()) {
      for (Value result : copy->getResults())
        result.setType(copy->getOperand(0).getType());
    } else {
      return op->emitError() << "cannot cut '" << op->getName()
                             << "' to the micro-batch or shard: it does not "
                                "infer its result types";
    }
  }
  for (auto [o, c] : llvm::zip(op->getResults(), copy->getResults()))
    map[o] = {c, resultLayout};
  if (parallel() && resultLayout.kind == Layout::Replicated &&
      isa<CostOpInterface>(copy))
    copy->setAttr(comm::CommDialect::getReplicatedAttrName(), b.getUnitAttr());
  return copy;
}

LogicalResult StageEmitter::emitReplicated(Operation *op) {
  SmallVector<Value> operands;
  for (Value v : op->getOperands()) {
    FailureOr<Value> local = lookup(v, Layout::replicated());
    if (failed(local))
      return failure();
    operands.push_back(*local);
  }
  return failure(failed(cloneWith(op, operands, Layout::replicated())));
}

LogicalResult StageEmitter::emitLinearLike(Operation *op, Value input,
                                           Value weight, Value bias,
                                           bool transposed) {
  auto param = weight.getDefiningOp<ParamOp>();
  if (!parallel() || !param || param.getType().getRank() != 2)
    return emitReplicated(op);
  // weight is [K, N], or [N, K] when transposed.
  int64_t kDim = transposed ? 1 : 0, nDim = transposed ? 0 : 1;
  int64_t k = param.getType().getShape()[kDim];
  int64_t n = param.getType().getShape()[nDim];
  int64_t last = cast<RankedTensorType>(input.getType()).getRank() - 1;
  Layout in = layoutOf(input);
  SmallVector<Value> operands;
  if (in.kind == Layout::Split && in.dim == last && sumOf(in.sizes) == k) {
    // Row-parallel: each member multiplies its slice of K; partial sums.
    FailureOr<Value> x = lookup(input, in);
    FailureOr<Value> w = emitParam(param, Layout::split(kDim, in.sizes));
    if (failed(x) || failed(w))
      return failure();
    operands = {*x, *w};
    if (bias && rank == 0) { // the bias is added once, by the first member
      FailureOr<Value> bl = lookup(bias, Layout::replicated());
      if (failed(bl))
        return failure();
      operands.push_back(*bl);
    }
    return failure(failed(cloneWith(op, operands, Layout::partial())));
  }
  std::optional<SmallVector<int64_t>> sizes =
      apportionShares(n, columnGranule(op->getResult(0), n), shares);
  if (!sizes)
    return emitReplicated(op);
  // Column-parallel: each member computes its columns of the result.
  FailureOr<Value> x = lookup(input, Layout::replicated());
  FailureOr<Value> w = emitParam(param, Layout::split(nDim, *sizes));
  if (failed(x) || failed(w))
    return failure();
  operands = {*x, *w};
  if (bias) {
    FailureOr<Value> bl = lookup(bias, Layout::split(0, *sizes));
    if (failed(bl))
      return failure();
    operands.push_back(*bl);
  }
  return failure(failed(cloneWith(op, operands, Layout::split(last, *sizes))));
}

LogicalResult StageEmitter::emitAttention(AttentionOp op) {
  Layout q = layoutOf(op.getQuery()), k = layoutOf(op.getKey()),
         v = layoutOf(op.getValue());
  int64_t hq = op.getQuery().getType().getShape()[2];
  int64_t hkv = op.getKey().getType().getShape()[2];
  bool byHeads = parallel() && q.kind == Layout::Split && q.dim == 2 &&
                 k == v && k.kind == Layout::Split && k.dim == 2 &&
                 hkv > 0 && hq % hkv == 0;
  if (byHeads)
    for (size_t r = 0; r < group.size(); ++r)
      byHeads &= q.sizes[r] == k.sizes[r] * (hq / hkv);
  if (!byHeads)
    return emitReplicated(op);
  SmallVector<Value> operands;
  for (auto [value, layout] :
       {std::pair{op.getQuery(), q}, std::pair{op.getKey(), k},
        std::pair{op.getValue(), v}}) {
    FailureOr<Value> local = lookup(value, layout);
    if (failed(local))
      return failure();
    operands.push_back(*local);
  }
  return failure(failed(cloneWith(op, operands, q)));
}

LogicalResult StageEmitter::emitReshape(ReshapeOp op) {
  Layout in = layoutOf(op.getInput());
  if (in.kind == Layout::Partial)
    in = Layout::replicated();
  FailureOr<Value> x = lookup(op.getInput(), in);
  if (failed(x))
    return failure();
  ArrayRef<int64_t> origIn = op.getInput().getType().getShape();
  ArrayRef<int64_t> origOut = cast<RankedTensorType>(op.getType()).getShape();
  SmallVector<int64_t> fullIn(fullType(*x, in).getShape());
  SmallVector<int64_t> fullOut(origOut);
  // Dimensions resized by the micro-batch map onto the output.
  for (int64_t d = 0; d < static_cast<int64_t>(origIn.size()); ++d) {
    if (fullIn[d] == origIn[d])
      continue;
    int64_t e = reshapedDim(origIn, origOut, d);
    if (e < 0 || (origOut[e] * fullIn[d]) % origIn[d] != 0)
      return op.emitError() << "cannot resize this reshape to the micro-batch: "
                               "dimension "
                            << d << " does not map onto an output dimension";
    fullOut[e] = origOut[e] * fullIn[d] / origIn[d];
  }
  Layout out = Layout::replicated();
  if (in.kind == Layout::Split) {
    int64_t e = reshapedDim(fullIn, fullOut, in.dim);
    int64_t innerIn = product(ArrayRef<int64_t>(fullIn).drop_front(in.dim + 1));
    int64_t innerOut =
        e < 0 ? 0 : product(ArrayRef<int64_t>(fullOut).drop_front(e + 1));
    SmallVector<int64_t> sizes;
    for (int64_t s : in.sizes)
      if (e >= 0 && (s * innerIn) % innerOut == 0)
        sizes.push_back(s * innerIn / innerOut);
    if (sizes.size() == in.sizes.size()) {
      out = Layout::split(e, sizes);
    } else {
      in = Layout::replicated();
      x = lookup(op.getInput(), in);
      if (failed(x))
        return failure();
    }
  }
  SmallVector<int64_t> localOut(fullOut);
  if (out.kind == Layout::Split)
    localOut[out.dim] = out.sizes[rank];
  auto type = cast<RankedTensorType>(op.getType()).clone(localOut);
  auto copy = ReshapeOp::create(b, op.getLoc(), type, *x);
  map[op.getResult()] = {copy, out};
  return success();
}

/// Ops that keep a split as it is (elementwise, softmax off its axis,
/// transpose with the dimension permuted).
LogicalResult StageEmitter::emitPreserving(Operation *op, Layout layout) {
  FailureOr<Value> x = lookup(op->getOperand(0), layout);
  if (failed(x))
    return failure();
  Layout out = layout;
  if (auto transpose = dyn_cast<TransposeOp>(op); transpose && out.kind == Layout::Split)
    out.dim = llvm::find(transpose.getPermutation(), layout.dim) -
              transpose.getPermutation().begin();
  return failure(failed(cloneWith(op, {*x}, out)));
}

LogicalResult StageEmitter::emitBinary(Operation *op) {
  Value lhs = op->getOperand(0), rhs = op->getOperand(1);
  Layout l = layoutOf(lhs), r = layoutOf(rhs);
  auto lt = cast<RankedTensorType>(lhs.getType());
  auto rt = cast<RankedTensorType>(rhs.getType());
  // A split activation and a weight broadcast against it: split the weight.
  auto splitWithParam = [&](Value act, Layout layout, Value other,
                            bool actFirst) -> std::optional<LogicalResult> {
    auto param = other.getDefiningOp<ParamOp>();
    if (layout.kind != Layout::Split || !param || params.count(param))
      return std::nullopt;
    auto at = cast<RankedTensorType>(act.getType());
    int64_t pd = layout.dim - (at.getRank() - param.getType().getRank());
    if (pd < 0 || param.getType().getShape()[pd] != sumOf(layout.sizes))
      return std::nullopt;
    FailureOr<Value> a = lookup(act, layout);
    FailureOr<Value> p = emitParam(param, Layout::split(pd, layout.sizes));
    if (failed(a) || failed(p))
      return failure();
    SmallVector<Value> operands = actFirst ? SmallVector<Value>{*a, *p}
                                           : SmallVector<Value>{*p, *a};
    return failure(failed(cloneWith(op, operands, layout)));
  };
  if (parallel()) {
    if (l.kind == Layout::Split && l == r && lt.getShape() == rt.getShape()) {
      FailureOr<Value> a = lookup(lhs, l), c = lookup(rhs, r);
      if (failed(a) || failed(c))
        return failure();
      return failure(failed(cloneWith(op, {*a, *c}, l)));
    }
    if (std::optional<LogicalResult> done = splitWithParam(lhs, l, rhs, true))
      return *done;
    if (std::optional<LogicalResult> done = splitWithParam(rhs, r, lhs, false))
      return *done;
    if (isa<AddOp, SubOp>(op) && l.kind == Layout::Partial &&
        r.kind == Layout::Partial && lt.getShape() == rt.getShape()) {
      FailureOr<Value> a = lookup(lhs, l), c = lookup(rhs, r);
      if (failed(a) || failed(c))
        return failure();
      return failure(failed(cloneWith(op, {*a, *c}, l)));
    }
  }
  return emitReplicated(op);
}

LogicalResult StageEmitter::emitOp(Operation *op) {
  if (isa<ParamOp>(op) ||
      (op->getNumOperands() == 0 && op->getNumRegions() == 0))
    return success(); // made where first used
  if (auto layer = dyn_cast<LayerOp>(op))
    return emitLayer(layer, layer.getRepeat(), /*firstRepeat=*/0);
  if (auto reshape = dyn_cast<ReshapeOp>(op))
    return emitReshape(reshape);
  if (!parallel())
    return emitReplicated(op);
  if (auto linear = dyn_cast<LinearOp>(op))
    return emitLinearLike(op, linear.getInput(), linear.getWeight(),
                          linear.getBias(), /*transposed=*/false);
  if (auto matmul = dyn_cast<MatmulOp>(op)) {
    if (matmul.getRhs().getDefiningOp<ParamOp>())
      return emitLinearLike(op, matmul.getLhs(), matmul.getRhs(), Value(),
                            matmul.getTransposeRhs());
    Layout l = layoutOf(matmul.getLhs()), r = layoutOf(matmul.getRhs());
    int64_t batchDims =
        cast<RankedTensorType>(matmul.getType()).getRank() - 2;
    if (l.kind == Layout::Split && l == r && l.dim < batchDims &&
        matmul.getLhs().getType().getRank() == matmul.getRhs().getType().getRank()) {
      FailureOr<Value> a = lookup(matmul.getLhs(), l),
                       c = lookup(matmul.getRhs(), r);
      if (failed(a) || failed(c))
        return failure();
      return failure(failed(cloneWith(op, {*a, *c}, l)));
    }
    return emitReplicated(op);
  }
  if (auto attention = dyn_cast<AttentionOp>(op))
    return emitAttention(attention);
  Layout in = op->getNumOperands() == 1 ? layoutOf(op->getOperand(0))
                                        : Layout::replicated();
  if (in.kind == Layout::Split) {
    int64_t rankOf = cast<RankedTensorType>(op->getOperand(0).getType()).getRank();
    if (isa<RotaryOp>(op) && in.dim != rankOf - 1)
      return emitPreserving(op, in);
    if (isUnaryElementwise(op) && !isa<RotaryOp>(op))
      return emitPreserving(op, in);
    if (auto softmax = dyn_cast<SoftmaxOp>(op)) {
      int64_t raw = static_cast<int64_t>(softmax.getAxis());
      int64_t axis = raw < 0 ? raw + rankOf : raw;
      if (axis != in.dim)
        return emitPreserving(op, in);
    }
    if (isa<TransposeOp>(op))
      return emitPreserving(op, in);
  }
  if (isa<AddOp, SubOp, MulOp, DivOp>(op))
    return emitBinary(op);
  return emitReplicated(op);
}

LogicalResult StageEmitter::emitLayer(LayerOp layer, int64_t repeat,
                                      int64_t firstRepeat) {
  SmallVector<Value> inputs;
  for (Value v : layer.getInputs()) {
    FailureOr<Value> local = lookup(v, Layout::replicated());
    if (failed(local))
      return failure();
    inputs.push_back(*local);
  }
  auto copy = LayerOp::create(b, layer.getLoc(), layer.getName(), repeat, inputs,
                                layer.getResultTypes());
  // Which repetitions these are: each owns its weights, so a program that
  // materializes weight values needs the global index.
  if (layer.getRepeat() > 1)
    copy->setAttr("comm.first_repeat", b.getI64IntegerAttr(firstRepeat));
  // Forget what an earlier piece of this layer left.
  layer.getBody().walk([&](Operation *inner) {
    for (Value v : inner->getResults())
      map.erase(v);
    params.erase(inner);
  });
  for (auto [orig, local] : llvm::zip(layer.getBodyBlock().getArguments(),
                                      copy.getBodyBlock().getArguments()))
    map[orig] = {local, Layout::replicated()};
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&copy.getBodyBlock());
  SmallVector<Value> yielded;
  for (Operation &op : layer.getBodyBlock()) {
    if (auto yield = dyn_cast<YieldOp>(op)) {
      for (Value v : yield.getValues()) {
        FailureOr<Value> local = lookup(v, Layout::replicated());
        if (failed(local))
          return failure();
        yielded.push_back(*local);
      }
      YieldOp::create(b, yield.getLoc(), yielded);
      continue;
    }
    if (failed(emitOp(&op)))
      return failure();
  }
  for (auto [result, value] : llvm::zip(copy.getResults(), yielded))
    result.setType(value.getType());
  for (auto [orig, local] : llvm::zip(layer.getResults(), copy.getResults()))
    map[orig] = {local, Layout::replicated()};
  return success();
}

//===----------------------------------------------------------------------===//
// The model cut into pieces: top-level ops, and layers cut by stages
//===----------------------------------------------------------------------===//

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

FailureOr<Model> cutModel(func::FuncOp func, const PlanSpec &plan) {
  Model model;
  llvm::DenseMap<Value, int64_t> idOf;
  func.walk([&](ParamOp param) {
    int64_t next = static_cast<int64_t>(model.paramIndex.size());
    model.paramIndex[param] = next;
  });
  for (BlockArgument arg : func.getArguments()) {
    idOf[arg] = static_cast<int64_t>(model.values.size());
    LogicalValue value;
    value.type = arg.getType();
    value.argument = arg.getArgNumber();
    model.values.push_back(value);
    if (!model.tracedBatch)
      if (auto t = dyn_cast<RankedTensorType>(arg.getType());
          t && t.getRank() >= 1 && t.hasStaticShape())
        model.tracedBatch = t.getShape()[0];
  }
  auto newValue = [&](Type type, int64_t stage) {
    LogicalValue value;
    value.type = type;
    value.producer = stage;
    model.values.push_back(value);
    return static_cast<int64_t>(model.values.size()) - 1;
  };
  auto inputsOf = [&](Piece &piece, Operation *op) -> LogicalResult {
    for (Value operand : op->getOperands()) {
      auto it = idOf.find(operand);
      if (it == idOf.end())
        continue; // a weight or constant: made where it is used
      LogicalValue &value = model.values[it->second];
      if (value.producer > piece.stage)
        return op->emitError() << "is placed on stage " << piece.stage
                               << " but reads a value of stage "
                               << value.producer
                               << "; placements must follow the order of the "
                                  "model";
      piece.inputs.push_back(it->second);
      piece.bindings.push_back({operand, it->second});
      value.consumers.insert(piece.stage);
    }
    return success();
  };
  int64_t layerIndex = 0; // expanded layers placed so far
  std::vector<bool> stageHasWork(plan.stages.size(), false);
  Operation *rangeViolation = nullptr;
  std::string rangeMessage;
  for (Operation &op : func.getBody().front()) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
        auto it = idOf.find(v);
        if (it == idOf.end())
          return ret.emitError() << "returns a value no stage computes";
        model.values[it->second].returnedAs.push_back(static_cast<int64_t>(i));
      }
      continue;
    }
    auto placement = op.getAttrOfType<DictionaryAttr>("chipmesh.placement");
    if (!placement) {
      if (isa<ParamOp>(op) ||
          (op.getNumOperands() == 0 && op.getNumRegions() == 0))
        continue;
      return op.emitError() << "has no 'chipmesh.placement'; run "
                               "--chipmesh-partition on this module first";
    }
    auto stages = placement.getAs<DenseI64ArrayAttr>("stages");
    auto repeats = placement.getAs<DenseI64ArrayAttr>("repeats");
    if (!stages || !repeats || stages.size() != repeats.size() || stages.empty())
      return op.emitError() << "has a malformed 'chipmesh.placement': needs "
                               "'stages' and 'repeats' of one length";
    auto layer = dyn_cast<LayerOp>(op);
    int64_t total = 0;
    for (auto [s, r] : llvm::zip(stages.asArrayRef(), repeats.asArrayRef())) {
      if (s < 0 || s >= plan.pp || r < 1)
        return op.emitError() << "is placed on stage " << s << " (x" << r
                              << "); the plan has stages 0.." << plan.pp - 1;
      total += r;
    }
    if (total != (layer ? static_cast<int64_t>(layer.getRepeat()) : 1))
      return op.emitError() << "has placement repeats adding up to " << total
                            << ", not its repeat count";
    // The placement must agree with the plan's layer ranges: the k-th
    // piece's layers lie inside its stage's [first, end).
    for (auto [s, r] : llvm::zip(stages.asArrayRef(), repeats.asArrayRef())) {
      const StageSpec &range = plan.stages[s];
      // Reported after the walk, so that the order and value checks below
      // (which say more) come first.
      if (!rangeViolation &&
          (layerIndex < range.firstLayer || layerIndex + r > range.endLayer)) {
        rangeViolation = &op;
        rangeMessage = llvm::formatv("is placed with layers [{0}, {1}) on stage "
                                     "{2}, whose chipmesh.plan range is [{3}, {4})",
                                     layerIndex, layerIndex + r, s,
                                     range.firstLayer, range.endLayer)
                           .str();
      }
      stageHasWork[s] = true;
      layerIndex += r;
    }
    SmallVector<int64_t> previous;
    int64_t firstRepeat = 0;
    for (int64_t k = 0; k < stages.size(); ++k) {
      Piece piece;
      piece.op = &op;
      piece.stage = stages[k];
      piece.repeat = repeats[k];
      piece.firstRepeat = firstRepeat;
      firstRepeat += repeats[k];
      if (k == 0) {
        if (failed(inputsOf(piece, &op)))
          return failure();
      } else {
        if (stages[k] < stages[k - 1])
          return op.emitError() << "is placed on stages out of order";
        piece.inputs = previous;
        for (auto [operand, id] : llvm::zip(layer.getInputs(), previous))
          piece.bindings.push_back({operand, id});
        for (int64_t id : previous)
          model.values[id].consumers.insert(piece.stage);
      }
      for (Value result : op.getResults())
        piece.outputs.push_back(newValue(result.getType(), piece.stage));
      previous = piece.outputs;
      model.pieces.push_back(std::move(piece));
    }
    for (auto [result, id] : llvm::zip(op.getResults(), previous))
      idOf[result] = id;
  }
  if (rangeViolation)
    return rangeViolation->emitError() << rangeMessage;
  int64_t planned = plan.stages.empty() ? 0 : plan.stages.back().endLayer;
  if (layerIndex != planned)
    return func.emitError() << "holds " << layerIndex
                            << " placed layers, but chipmesh.plan's stages cover "
                            << planned;
  for (auto [s, work] : llvm::enumerate(stageHasWork))
    if (!work)
      return func.emitError() << "chipmesh.plan's stage " << s
                              << " holds no op of the model";
  return model;
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

RankedTensorType withLeading(Type type, int64_t leading) {
  auto tensor = cast<RankedTensorType>(type);
  SmallVector<int64_t> shape(tensor.getShape());
  shape[0] = leading;
  return tensor.clone(shape);
}

struct MaterializePass
    : public ListsOptionsOnError<chipmesh::impl::ChipMeshMaterializeBase<MaterializePass>> {
  using ListsOptionsOnError::ListsOptionsOnError;
  void runOnOperation() override;
};

void MaterializePass::runOnOperation() {
  ModuleOp module = getOperation();
  FailureOr<PlanSpec> planOr = readPlanSpec(module);
  if (failed(planOr))
    return signalPassFailure();
  const PlanSpec &plan = *planOr;
  func::FuncOp func = plan.model;
  FailureOr<Model> modelOr = cutModel(func, plan);
  if (failed(modelOr))
    return signalPassFailure();
  Model &model = *modelOr;
  int64_t traced = model.tracedBatch;
  if (traced < 1) {
    func.emitError() << "has no tensor argument whose leading dimension is "
                        "the batch; cannot cut it into micro-batches";
    return signalPassFailure();
  }
  MLIRContext *ctx = &getContext();
  OpBuilder b(ctx);
  SymbolTable symbols(module);
  auto isBatched = [&](Type type) {
    auto t = dyn_cast<RankedTensorType>(type);
    return t && t.getRank() >= 1 && t.getShape()[0] == traced;
  };
  auto microType = [&](Type type) -> Type {
    return isBatched(type) ? Type(withLeading(type, plan.microBatch)) : type;
  };
  auto deviceAttr = [&](int64_t chip) {
    return comm::DeviceAttr::get(ctx, plan.mesh, chip);
  };
  std::string base = plan.func;
  // Tags: unique per (micro-batch, value, direction).
  int64_t numValues = static_cast<int64_t>(model.values.size());
  auto tagFor = [&](int64_t microBatch, int64_t value, bool backward) {
    return (microBatch * numValues + value) * 2 + (backward ? 1 : 0);
  };

  int64_t samplesBefore = 0;
  for (int64_t r = 0; r < plan.dp; ++r) {
    int64_t micro = plan.replicaMicroBatches[r];
    for (int64_t s = 0; s < plan.pp; ++s) {
      const StageSpec &stage = plan.stages[s];
      ArrayRef<int64_t> group = stage.devices[r];
      int64_t tpSize = static_cast<int64_t>(group.size());
      // Values this stage reads from elsewhere and hands on.
      SmallVector<int64_t> inputs, outputs;
      for (const Piece &piece : model.pieces)
        if (piece.stage == s)
          for (int64_t id : piece.inputs)
            if (model.values[id].producer != s && !llvm::is_contained(inputs, id))
              inputs.push_back(id);
      for (int64_t id = 0; id < numValues; ++id) {
        const LogicalValue &value = model.values[id];
        if (value.producer == s &&
            (!value.returnedAs.empty() ||
             llvm::any_of(value.consumers, [&](int64_t c) { return c != s; })))
          outputs.push_back(id);
      }
      for (int64_t t = 0; t < tpSize; ++t) {
        int64_t chip = group[t];
        std::string stageName = base + "_dev" + std::to_string(chip) + "_stage";
        std::string stepName = base + "_dev" + std::to_string(chip);
        for (StringRef name : {StringRef(stageName), StringRef(stepName)})
          if (symbols.lookup(name)) {
            module.emitError() << "cannot materialize: the module already has "
                                  "a symbol @"
                               << name;
            return signalPassFailure();
          }
        // The stage: the forward of one micro-batch.
        SmallVector<Type> inTypes;
        for (int64_t id : inputs)
          inTypes.push_back(microType(model.values[id].type));
        b.setInsertionPointToEnd(module.getBody());
        auto stageFn = func::FuncOp::create(b, func.getLoc(), stageName,
                                              b.getFunctionType(inTypes, {}));
        stageFn.setPrivate();
        stageFn->setAttr(comm::CommDialect::getDeviceAttrName(), deviceAttr(chip));
        Block *body = stageFn.addEntryBlock();
        b.setInsertionPointToStart(body);
        StageEmitter emitter(b, group, stage.shares[r], t, model.paramIndex);
        llvm::DenseMap<int64_t, Value> local;
        for (auto [id, arg] : llvm::zip(inputs, body->getArguments()))
          local[id] = arg;
        for (const Piece &piece : model.pieces) {
          if (piece.stage != s)
            continue;
          auto layer = dyn_cast<LayerOp>(piece.op);
          for (auto [operand, id] : piece.bindings)
            emitter.bind(operand, local[id]);
          LogicalResult emitted =
              layer ? emitter.emitLayer(layer, piece.repeat, piece.firstRepeat)
                    : emitter.emitOp(piece.op);
          if (failed(emitted))
            return signalPassFailure();
          for (auto [result, id] : llvm::zip(piece.op->getResults(), piece.outputs)) {
            FailureOr<Value> value = emitter.replicated(result);
            if (failed(value))
              return signalPassFailure();
            local[id] = *value;
          }
        }
        SmallVector<Value> results;
        for (int64_t id : outputs)
          results.push_back(local[id]);
        func::ReturnOp::create(b, func.getLoc(), results);
        stageFn.setType(b.getFunctionType(inTypes, ValueRange(results).getTypes()));

        // The step: the schedule over this replica's micro-batches.
        SmallVector<int64_t> argIds;
        SmallVector<Type> argTypes;
        for (int64_t id : inputs)
          if (model.values[id].argument >= 0) {
            argIds.push_back(id);
            Type type = model.values[id].type;
            argTypes.push_back(isBatched(type)
                                   ? Type(withLeading(type, micro * plan.microBatch))
                                   : type);
          }
        b.setInsertionPointToEnd(module.getBody());
        auto stepFn = func::FuncOp::create(b, func.getLoc(), stepName,
                                             b.getFunctionType(argTypes, {}));
        stepFn->setAttr(comm::CommDialect::getDeviceAttrName(), deviceAttr(chip));
        stepFn->setAttr("comm.stage", b.getI64IntegerAttr(s));
        stepFn->setAttr("comm.replica", b.getI64IntegerAttr(r));
        stepFn->setAttr("comm.tp_rank", b.getI64IntegerAttr(t));
        stepFn->setAttr("comm.micro_batches", b.getI64IntegerAttr(micro));
        for (auto [i, id] : llvm::enumerate(argIds)) {
          stepFn.setArgAttr(i, "comm.input",
                            b.getI64IntegerAttr(model.values[id].argument));
          if (isBatched(model.values[id].type))
            stepFn.setArgAttr(i, "comm.batch_offset",
                              b.getI64IntegerAttr(samplesBefore));
        }
        Block *step = stepFn.addEntryBlock();
        b.setInsertionPointToStart(step);
        Location loc = func.getLoc();
        auto peerRank = [](int64_t myRank, int64_t theirSize) {
          return myRank % theirSize;
        };
        std::vector<SmallVector<Value>> savedInputs(micro), stageOutputs(micro);
        std::map<int64_t, SmallVector<Value>> returned; // result pos -> per mb
        int64_t opsPerStage = plan.training ? 2 * micro : micro;
        for (int64_t i = 0; i < opsPerStage; ++i) {
          PipeOp pipeOp = pipelineOpAt(plan.schedule, plan.training, plan.pp, s,
                                       micro, i);
          int64_t mb = static_cast<int64_t>(pipeOp.microBatch);
          if (!pipeOp.backward) {
            SmallVector<Value> args;
            for (int64_t id : inputs) {
              const LogicalValue &value = model.values[id];
              if (value.argument >= 0) {
                Value whole = step->getArgument(
                    llvm::find(argIds, id) - argIds.begin());
                if (!isBatched(value.type)) {
                  args.push_back(whole);
                  continue;
                }
                auto type = cast<RankedTensorType>(whole.getType());
                SmallVector<int64_t> offsets(type.getRank(), 0), sizes(type.getShape());
                offsets[0] = mb * plan.microBatch;
                sizes[0] = plan.microBatch;
                args.push_back(SliceOp::create(b, loc, whole, offsets, sizes));
                continue;
              }
              const StageSpec &from = plan.stages[value.producer];
              int64_t src = from.devices[r][peerRank(
                  t, static_cast<int64_t>(from.devices[r].size()))];
              args.push_back(comm::RecvOp::create(b, loc, microType(value.type), src, tagFor(mb, id, false)));
            }
            auto call = func::CallOp::create(b, loc, stageFn, args);
            savedInputs[mb] = args;
            stageOutputs[mb].assign(call.getResults().begin(), call.getResults().end());
            for (auto [k, id] : llvm::enumerate(outputs)) {
              const LogicalValue &value = model.values[id];
              for (int64_t c : value.consumers) {
                if (c == s)
                  continue;
                const auto &to = plan.stages[c].devices[r];
                for (int64_t j = 0; j < static_cast<int64_t>(to.size()); ++j)
                  if (peerRank(j, tpSize) == t)
                    comm::SendOp::create(b, loc, call.getResult(k), to[j],
                                           tagFor(mb, id, false));
              }
              for (int64_t pos : value.returnedAs)
                returned[pos].push_back(call.getResult(k));
            }
            continue;
          }
          // Backward of micro-batch mb.
          SmallVector<Value> operands(savedInputs[mb]);
          for (auto [k, id] : llvm::enumerate(outputs)) {
            const LogicalValue &value = model.values[id];
            Type type = stageOutputs[mb][k].getType();
            Value cotangent;
            auto accumulate = [&](Value v) {
              cotangent = cotangent ? Value(AddOp::create(b, loc, cotangent, v)) : v;
            };
            for (int64_t c : value.consumers) {
              if (c == s)
                continue;
              const auto &to = plan.stages[c].devices[r];
              int64_t src = to[peerRank(t, static_cast<int64_t>(to.size()))];
              accumulate(comm::RecvOp::create(b, loc, type, src, tagFor(mb, id, true)));
            }
            if (!value.returnedAs.empty()) {
              // d(loss)/d(loss) = 1: the seed of backpropagation.
              auto tensor = cast<RankedTensorType>(type);
              accumulate(arith::ConstantOp::create(b, loc, DenseElementsAttr::get(
                           tensor, b.getFloatAttr(tensor.getElementType(), 1.0))));
            }
            operands.push_back(cotangent);
          }
          SmallVector<Type> gradTypes;
          for (Value v : savedInputs[mb])
            if (isa<FloatType>(cast<ShapedType>(v.getType()).getElementType()))
              gradTypes.push_back(v.getType());
          auto backward = BackwardOp::create(b, loc, gradTypes, FlatSymbolRefAttr::get(stageFn), operands,
              b.getI64IntegerAttr(static_cast<int64_t>(savedInputs[mb].size())),
              b.getStringAttr(stage.recompute == "full" ? "full" : "none"));
          size_t g = 0;
          for (int64_t id : inputs) {
            const LogicalValue &value = model.values[id];
            auto elem = cast<ShapedType>(microType(value.type)).getElementType();
            if (!isa<FloatType>(elem))
              continue;
            Value grad = backward.getResult(g++);
            if (value.argument >= 0)
              continue; // model inputs need no gradient
            const auto &from = plan.stages[value.producer].devices[r];
            for (int64_t j = 0; j < static_cast<int64_t>(from.size()); ++j)
              if (peerRank(j, tpSize) == t)
                comm::SendOp::create(b, loc, grad, from[j], tagFor(mb, id, true));
          }
        }
        if (plan.training) {
          uint64_t count = 0;
          Type elem;
          for (Operation &op : stageFn.getBody().front())
            if (auto cost = dyn_cast<CostOpInterface>(op))
              count += cost.getParameterCount();
          stageFn.walk([&](ParamOp p) {
            if (!elem)
              elem = p.getType().getElementType();
          });
          if (count > 0) {
            auto flat = RankedTensorType::get({static_cast<int64_t>(count)}, elem);
            Value grads = GradientsOp::create(b, loc, flat,
                                                FlatSymbolRefAttr::get(stageFn),
                                                ArrayAttr());
            if (plan.dp > 1) {
              SmallVector<int64_t> peers;
              for (int64_t q = 0; q < plan.dp; ++q) {
                if (static_cast<int64_t>(stage.devices[q].size()) != tpSize ||
                    stage.shares[q] != stage.shares[r]) {
                  func.emitError()
                      << "cannot materialize the gradient all-reduce of stage "
                      << s << ": replicas " << r << " and " << q
                      << " split its weights differently (tensor-parallel "
                         "groups of different sizes or shares)";
                  return signalPassFailure();
                }
                peers.push_back(stage.devices[q][t]);
              }
              grads = comm::AllReduceOp::create(b, loc, flat,
                                                  comm::ReductionKind::sum,
                                                  grads, peers);
            }
            OptimizerStepOp::create(b, loc, FlatSymbolRefAttr::get(stageFn), grads);
          }
        }
        SmallVector<Value> stepResults;
        for (auto &[pos, perMicro] : returned) {
          if (perMicro.size() == 1) {
            stepResults.push_back(perMicro.front());
            continue;
          }
          auto type = cast<RankedTensorType>(perMicro.front().getType());
          SmallVector<Value> parts;
          if (isBatched(func.getResultTypes()[pos])) {
            parts = perMicro;
          } else {
            SmallVector<int64_t> shape{1};
            llvm::append_range(shape, type.getShape());
            for (Value v : perMicro)
              parts.push_back(ReshapeOp::create(b, loc, type.clone(shape), v));
          }
          stepResults.push_back(ConcatOp::create(b, loc, parts, 0));
        }
        func::ReturnOp::create(b, loc, stepResults);
        stepFn.setType(b.getFunctionType(argTypes, ValueRange(stepResults).getTypes()));
      }
    }
    samplesBefore += micro * plan.microBatch;
  }
}

} // namespace
