//===- StageEmitter.cpp - One stage for one tensor-parallel member --------===//

#include "StageEmitter.h"
#include "chipmesh/Dialect/Comm/IR/CommOps.h"
#include "chipmesh/Interfaces/CostInterface.h"
#include "chipmesh/Materialize/PlanSpec.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/STLExtras.h"

namespace chipmesh::materialize {

namespace {

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

} // namespace

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
      result =
          comm::AllGatherOp::create(b, loc, fullType(local.value, have),
                                    local.value, group, have.dim, have.sizes);
    else
      result = comm::AllReduceOp::create(b, loc, local.value.getType(),
                                         comm::ReductionKind::sum, local.value,
                                         group);
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
                                         comm::ReductionKind::sum, local.value,
                                         group, want.dim, want.sizes);
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
        return op->emitError()
               << "cannot cut '" << op->getName() << "' to the local shapes";
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
                 k == v && k.kind == Layout::Split && k.dim == 2 && hkv > 0 &&
                 hq % hkv == 0;
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
  if (auto transpose = dyn_cast<TransposeOp>(op);
      transpose && out.kind == Layout::Split)
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
    SmallVector<Value> operands =
        actFirst ? SmallVector<Value>{*a, *p} : SmallVector<Value>{*p, *a};
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
    int64_t batchDims = cast<RankedTensorType>(matmul.getType()).getRank() - 2;
    if (l.kind == Layout::Split && l == r && l.dim < batchDims &&
        matmul.getLhs().getType().getRank() ==
            matmul.getRhs().getType().getRank()) {
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
    int64_t rankOf =
        cast<RankedTensorType>(op->getOperand(0).getType()).getRank();
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
  auto copy = LayerOp::create(b, layer.getLoc(), layer.getName(), repeat,
                              inputs, layer.getResultTypes());
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

} // namespace chipmesh::materialize
