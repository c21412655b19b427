//===- GraphStructureOps.cpp - Graph dialect: shape, MoE, layer, steps ---===//
//
// Shapes, verifiers and costs of the ops that move and route data rather
// than compute on it (embedding, reshape, slice, concat, transpose), MoE and
// cross-entropy, graph.layer, and the training-step ops of partitioned
// programs (backward, gradients, optimizer step).
//
//===----------------------------------------------------------------------===//

#include "GraphOpsSupport.h"
#include "chipmesh/Dialect/Graph/IR/GraphOps.h"
#include "chipmesh/Support/Enums.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"
#include <numeric>

using namespace mlir;
using namespace chipmesh;
using namespace chipmesh::graph;
using namespace chipmesh::graph::support;

//===----------------------------------------------------------------------===//
// Embedding and shape ops
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  InferError error{loc, "embedding"};
  auto indices = ranked(adaptor.getIndices().getType());
  auto table = ranked(adaptor.getTable().getType());
  if (!indices || !table)
    return error("operands must be statically shaped tensors");
  if (table.getRank() != 2)
    return error("table must be [V, D], got " + str(table));
  SmallVector<int64_t> shape(indices.getShape());
  shape.push_back(table.getShape()[1]);
  results.push_back(RankedTensorType::get(shape, table.getElementType()));
  return success();
}
double EmbeddingOp::getForwardFlops() { return 0; }
double EmbeddingOp::getBackwardFlops() { return numElements(getType()); }
double EmbeddingOp::getBytesRead() {
  return tensorBytes(getIndices().getType()) + tensorBytes(getType());
}
void EmbeddingOp::getSavedValues(SmallVectorImpl<Value> &saved) {
  saved.push_back(getIndices());
}

LogicalResult ReshapeOp::verify() {
  auto in = getInput().getType(), out = getType();
  if (in.getElementType() != out.getElementType())
    return emitOpError() << "changes the element type from "
                         << in.getElementType() << " to "
                         << out.getElementType();
  auto inCount = exactNumElements(in.getShape());
  auto outCount = exactNumElements(out.getShape());
  if (inCount && outCount && *inCount != *outCount)
    return emitOpError() << "changes the number of elements: " << in << " has "
                         << *inCount << ", " << out << " has " << *outCount;
  return success();
}
double ReshapeOp::getBytesRead() { return 0; }
double ReshapeOp::getBytesWritten() { return 0; }
unsigned ReshapeOp::getKernelCount() { return 0; }

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  InferError error{loc, "transpose"};
  auto input = ranked(adaptor.getInput().getType());
  if (!input)
    return error("input must be a statically shaped tensor");
  auto permAttr = attrOf<DenseI64ArrayAttr>(adaptor, "permutation");
  if (!permAttr)
    return error("needs a 'permutation = array<i64: ...>' attribute");
  ArrayRef<int64_t> perm = permAttr.asArrayRef();
  if (static_cast<int64_t>(perm.size()) != input.getRank())
    return error("permutation has " + Twine(perm.size()) +
                 " entries for a rank-" + Twine(input.getRank()) + " input");
  SmallVector<bool> seen(perm.size(), false);
  SmallVector<int64_t> shape;
  for (int64_t p : perm) {
    if (p < 0 || p >= input.getRank() || seen[p])
      return error("permutation is not a permutation of 0.." +
                   Twine(input.getRank() - 1));
    seen[p] = true;
    shape.push_back(input.getShape()[p]);
  }
  results.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  InferError error{loc, "concat"};
  if (adaptor.getInputs().empty())
    return error("needs at least one input");
  auto first = ranked(adaptor.getInputs().front().getType());
  if (!first)
    return error("inputs must be statically shaped tensors");
  auto axisAttr = attrOf<IntegerAttr>(adaptor, "axis");
  if (!axisAttr)
    return error("needs an integer 'axis' attribute");
  int64_t axisValue = axisAttr.getInt();
  auto axis = normalizeAxis(axisValue, first.getRank());
  if (!axis)
    return error("axis " + Twine(axisValue) + " is out of range for " +
                 str(first));
  SmallVector<int64_t> shape(first.getShape());
  for (Value input : adaptor.getInputs().drop_front()) {
    auto t = ranked(input.getType());
    if (!t || t.getRank() != first.getRank() ||
        t.getElementType() != first.getElementType())
      return error("inputs must share rank and element type");
    for (int64_t d = 0; d < t.getRank(); ++d) {
      if (d == *axis) {
        if (shape[d] > kMaxExtent || t.getShape()[d] > kMaxExtent)
          return error("concatenated dimension exceeds 2^40");
        shape[d] += t.getShape()[d];
      } else if (t.getShape()[d] != first.getShape()[d])
        return error("inputs differ in dimension " + Twine(d) +
                     ", which is not the concatenation axis");
    }
  }
  results.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}

LogicalResult SplitOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &results) {
  InferError error{loc, "split"};
  auto input = ranked(adaptor.getInput().getType());
  if (!input)
    return error("input must be a statically shaped tensor");
  auto axisAttr = attrOf<IntegerAttr>(adaptor, "axis");
  auto sizesAttr = attrOf<DenseI64ArrayAttr>(adaptor, "sizes");
  if (!axisAttr || !sizesAttr)
    return error("needs an integer 'axis' and 'sizes = array<i64: ...>'");
  int64_t axisValue = axisAttr.getInt();
  auto axis = normalizeAxis(axisValue, input.getRank());
  if (!axis)
    return error("axis " + Twine(axisValue) + " is out of range for " +
                 str(input));
  ArrayRef<int64_t> sizes = sizesAttr.asArrayRef();
  if (sizes.empty())
    return error("needs at least one size");
  int64_t total = 0;
  for (int64_t size : sizes) {
    if (size <= 0)
      return error("sizes must be positive, got " + Twine(size));
    if (size > input.getShape()[*axis] - total)
      return error("sizes add up to more than dimension " + Twine(*axis) +
                   " of " + str(input) + " (" + Twine(input.getShape()[*axis]) +
                   ")");
    total += size;
  }
  if (total != input.getShape()[*axis])
    return error("sizes add up to " + Twine(total) + " but dimension " +
                 Twine(*axis) + " of " + str(input) + " is " +
                 Twine(input.getShape()[*axis]));
  for (int64_t size : sizes) {
    SmallVector<int64_t> shape(input.getShape());
    shape[*axis] = size;
    results.push_back(RankedTensorType::get(shape, input.getElementType()));
  }
  return success();
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &results) {
  InferError error{loc, "slice"};
  auto input = ranked(adaptor.getInput().getType());
  if (!input)
    return error("input must be a statically shaped tensor");
  auto offsetsAttr = attrOf<DenseI64ArrayAttr>(adaptor, "offsets");
  auto sizesAttr = attrOf<DenseI64ArrayAttr>(adaptor, "sizes");
  if (!offsetsAttr || !sizesAttr)
    return error(
        "needs 'offsets = array<i64: ...>' and 'sizes = array<i64: ...>'");
  ArrayRef<int64_t> offsets = offsetsAttr.asArrayRef();
  ArrayRef<int64_t> sizes = sizesAttr.asArrayRef();
  if (static_cast<int64_t>(offsets.size()) != input.getRank() ||
      static_cast<int64_t>(sizes.size()) != input.getRank())
    return error("needs one offset and one size per dimension of " +
                 str(input));
  for (int64_t d = 0; d < input.getRank(); ++d)
    if (offsets[d] < 0 || sizes[d] < 0 ||
        offsets[d] > input.getShape()[d] - sizes[d])
      return error("box [" + Twine(offsets[d]) + ", +" + Twine(sizes[d]) +
                   ") leaves dimension " + Twine(d) + " of size " +
                   Twine(input.getShape()[d]));
  results.push_back(RankedTensorType::get(sizes, input.getElementType()));
  return success();
}

LogicalResult ReduceOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  InferError error{loc, "reduce"};
  auto input = ranked(adaptor.getInput().getType());
  if (!input)
    return error("input must be a statically shaped tensor");
  auto axesAttr = attrOf<DenseI64ArrayAttr>(adaptor, "axes");
  if (!axesAttr)
    return error("needs an 'axes = array<i64: ...>' attribute");
  SmallVector<bool> reduced(input.getRank(), false);
  for (int64_t axis : axesAttr.asArrayRef()) {
    auto a = normalizeAxis(axis, input.getRank());
    if (!a || reduced[*a])
      return error("axis " + Twine(axis) + " is out of range or repeated for " +
                   str(input));
    reduced[*a] = true;
  }
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < input.getRank(); ++d) {
    if (!reduced[d])
      shape.push_back(input.getShape()[d]);
    else if (adaptor.getKeepDims())
      shape.push_back(1);
  }
  results.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}
double ReduceOp::getForwardFlops() { return numElements(getInput().getType()); }
void ReduceOp::getSavedValues(SmallVectorImpl<Value> &saved) {
  if (getKind() == ReduceKind::max) // backward routes to the argmax
    saved.push_back(getInput());
}

//===----------------------------------------------------------------------===//
// MoeOp and CrossEntropyOp
//===----------------------------------------------------------------------===//

LogicalResult MoeOp::inferReturnTypes(MLIRContext *,
                                      std::optional<Location> loc,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &results) {
  InferError error{loc, "moe"};
  auto input = ranked(adaptor.getInput().getType());
  auto router = ranked(adaptor.getRouter().getType());
  auto up = ranked(adaptor.getWUp().getType());
  auto down = ranked(adaptor.getWDown().getType());
  if (!input || !router || !up || !down)
    return error("operands must be statically shaped tensors");
  if (input.getRank() < 1 || router.getRank() != 2 || up.getRank() != 3 ||
      down.getRank() != 3)
    return error("expects input [..., D], router [D, E], w_up [E, D, F], "
                 "w_down [E, F, D]");
  int64_t d = input.getShape().back(), e = router.getShape()[1];
  int64_t f = up.getShape()[2];
  if (router.getShape()[0] != d)
    return error("router " + str(router) + " does not match model width " +
                 Twine(d));
  if (up.getShape()[0] != e || up.getShape()[1] != d)
    return error("w_up must be [" + Twine(e) + ", " + Twine(d) + ", F], got " +
                 str(up));
  if (down.getShape()[0] != e || down.getShape()[1] != f ||
      down.getShape()[2] != d)
    return error("w_down must be [" + Twine(e) + ", " + Twine(f) + ", " +
                 Twine(d) + "], got " + str(down));
  if (Value gate = adaptor.getWGate())
    if (gate.getType() != up)
      return error("w_gate must have w_up's type " + str(up) + ", got " +
                   str(gate.getType()));
  auto topKAttr = attrOf<IntegerAttr>(adaptor, "top_k");
  if (!topKAttr)
    return error("needs an integer 'top_k' attribute");
  if (!attrOf<ActivationAttr>(adaptor, "activation"))
    return error("needs an 'activation = #graph.activation<...>' attribute");
  int64_t topK = topKAttr.getInt();
  if (topK < 1 || topK > e)
    return error("top_k must be in [1, " + Twine(e) + "], got " + Twine(topK));
  results.push_back(input);
  return success();
}

double MoeOp::getTokens() {
  return numElements(getInput().getType()) /
         static_cast<double>(getInput().getType().getShape().back());
}

double MoeOp::getForwardFlops() {
  double tokens = getTokens();
  ArrayRef<int64_t> up = getWUp().getType().getShape();
  double d = up[1], e = up[0], f = up[2];
  double matrices = getWGate() ? 3.0 : 2.0;
  double activation = getActivation() == Activation::relu ? 1.0 : 5.0;
  double perToken =
      2.0 * d * f * matrices + f * (activation + (getWGate() ? 1 : 0));
  // router logits, top-k selection and the weighted sum of expert outputs
  return 2.0 * tokens * d * e + getTopK() * tokens * (perToken + 2.0 * d);
}

double MoeOp::getBytesRead() { return operandBytes(getOperation()); }

void MoeOp::getMatmuls(SmallVectorImpl<MatmulShape> &matmuls) {
  ArrayRef<int64_t> up = getWUp().getType().getShape();
  double e = up[0], d = up[1], f = up[2];
  MatmulShape router;
  router.m = getTokens();
  router.n = e;
  router.k = d;
  matmuls.push_back(router);
  // Each expert multiplies the tokens routed to it (balanced routing).
  MatmulShape expertUp;
  expertUp.batch = e;
  expertUp.m = getTokens() * getTopK() / e;
  expertUp.n = f;
  expertUp.k = d;
  matmuls.push_back(expertUp);
  if (getWGate())
    matmuls.push_back(expertUp);
  MatmulShape expertDown = expertUp;
  expertDown.n = d;
  expertDown.k = f;
  matmuls.push_back(expertDown);
}

void MoeOp::getSavedValues(SmallVectorImpl<Value> &saved) {
  saved.push_back(getInput());
}

double MoeOp::getInternalSavedBytes() {
  // Per routed token: the expert input copy (D), the up/gate outputs and the
  // activation output (F each), plus router probabilities (E) per token.
  ArrayRef<int64_t> up = getWUp().getType().getShape();
  double d = up[1], e = up[0], f = up[2];
  double bytes = elementBytes(getInput().getType());
  double perRouted = d + f * (getWGate() ? 3.0 : 2.0);
  return getTokens() * (getTopK() * perRouted + e) * bytes;
}

LogicalResult CrossEntropyOp::inferReturnTypes(MLIRContext *context,
                                               std::optional<Location> loc,
                                               Adaptor adaptor,
                                               SmallVectorImpl<Type> &results) {
  InferError error{loc, "cross_entropy"};
  auto logits = ranked(adaptor.getLogits().getType());
  auto labels = ranked(adaptor.getLabels().getType());
  if (!logits || !labels)
    return error("operands must be statically shaped tensors");
  if (logits.getRank() < 1 ||
      logits.getShape().drop_back() != labels.getShape())
    return error("labels " + str(labels) + " must have the shape of logits " +
                 str(logits) + " without its last (class) dimension");
  results.push_back(RankedTensorType::get({}, Float32Type::get(context)));
  return success();
}
// log-softmax (5 per logit) and the mean of the picked entries.
double CrossEntropyOp::getForwardFlops() {
  return 5.0 * numElements(getLogits().getType());
}
void CrossEntropyOp::getSavedValues(SmallVectorImpl<Value> &saved) {
  saved.push_back(getLogits());
  saved.push_back(getLabels());
}

//===----------------------------------------------------------------------===//
// LayerOp
//===----------------------------------------------------------------------===//

void LayerOp::build(OpBuilder &builder, OperationState &state, StringRef name,
                    int64_t repeat, ValueRange inputs, TypeRange resultTypes) {
  state.addAttribute(getNameAttrName(state.name), builder.getStringAttr(name));
  state.addAttribute(getRepeatAttrName(state.name),
                     builder.getI64IntegerAttr(repeat));
  state.addOperands(inputs);
  state.addTypes(resultTypes);
  Region *body = state.addRegion();
  Block *block = new Block();
  body->push_back(block);
  for (Value input : inputs)
    block->addArgument(input.getType(), state.location);
}

LogicalResult LayerOp::verifyRegions() {
  if (static_cast<int64_t>(getRepeat()) < 1)
    return emitOpError() << "repeat must be at least 1, got "
                         << static_cast<int64_t>(getRepeat());
  Block &block = getBodyBlock();
  if (block.getArgumentTypes() != getInputs().getTypes())
    return emitOpError() << "body arguments " << block.getArgumentTypes()
                         << " must match the inputs " << getInputs().getTypes();
  auto yield = cast<YieldOp>(block.getTerminator());
  if (yield.getValues().getTypes() != getResultTypes())
    return yield.emitOpError() << "yields " << yield.getValues().getTypes()
                               << " but the layer returns " << getResultTypes();
  if (getRepeat() > 1 && getResultTypes() != getInputs().getTypes())
    return emitOpError() << "repeats " << getRepeat()
                         << " times, so its results " << getResultTypes()
                         << " must have the types of its inputs "
                         << getInputs().getTypes();
  return success();
}

CostTotals LayerOp::getBodyCosts() { return sumCosts(getBodyBlock()); }
unsigned LayerOp::getKernelCount() { return 0; }
uint64_t LayerOp::getBodyRepeat() { return getRepeat(); }
double LayerOp::getCacheBytes() {
  return getBodyCosts().cacheBytes * getRepeat();
}
double LayerOp::getForwardFlops() {
  return getBodyCosts().forwardFlops * getRepeat();
}
double LayerOp::getBackwardFlops() {
  return getBodyCosts().backwardFlops * getRepeat();
}
double LayerOp::getBytesRead() {
  return getBodyCosts().bytesRead * getRepeat();
}
double LayerOp::getBytesWritten() {
  return getBodyCosts().bytesWritten * getRepeat();
}
uint64_t LayerOp::getParameterCount() {
  return getBodyCosts().scaled(getRepeat()).parameters;
}
double LayerOp::getParameterBytes() {
  return getBodyCosts().parameterBytes * getRepeat();
}
double LayerOp::getInternalSavedBytes() {
  return getBodyCosts().savedActivationBytes * getRepeat();
}

//===----------------------------------------------------------------------===//
// Training steps of a partitioned program
//===----------------------------------------------------------------------===//

static FailureOr<func::FuncOp> lookupCallee(Operation *op,
                                            SymbolTableCollection &symbols,
                                            FlatSymbolRefAttr callee) {
  auto func = symbols.lookupNearestSymbolFrom<func::FuncOp>(op, callee);
  if (!func || func.isExternal())
    return op->emitOpError()
           << "names " << callee << ", which is not a function with a body";
  return func;
}

LogicalResult BackwardOp::verify() {
  // The attribute is signed in the IR; a negative count reads as huge here.
  auto inputs = static_cast<int64_t>(getNumInputs());
  if (inputs < 0 || inputs > static_cast<int64_t>(getOperands().size()))
    return emitOpError() << "num_inputs is " << inputs << " but it has "
                         << getOperands().size() << " operands";
  StringRef recompute = getRecompute();
  if (!symbolizeRecompute(recompute))
    return emitOpError() << "recompute must be "
                         << spellingsOf<Recompute>(false) << ", got '"
                         << recompute << "'";
  return success();
}

LogicalResult BackwardOp::verifySymbolUses(SymbolTableCollection &symbols) {
  FailureOr<func::FuncOp> callee =
      lookupCallee(*this, symbols, getCalleeAttr());
  if (failed(callee))
    return failure();
  FunctionType type = callee->getFunctionType();
  if (TypeRange(getInputs().getTypes()) != TypeRange(type.getInputs()))
    return emitOpError() << "inputs do not match the arguments of "
                         << getCalleeAttr() << " " << type;
  if (TypeRange(getCotangents().getTypes()) != TypeRange(type.getResults()))
    return emitOpError() << "needs one cotangent per result of "
                         << getCalleeAttr() << ", typed like it: " << type;
  SmallVector<Type> differentiable;
  for (Type input : type.getInputs())
    if (isa<FloatType>(cast<ShapedType>(input).getElementType()))
      differentiable.push_back(input);
  if (TypeRange(getGradients().getTypes()) != TypeRange(differentiable))
    return emitOpError() << "returns " << getGradients().size()
                         << " gradients; " << getCalleeAttr() << " has "
                         << differentiable.size()
                         << " floating-point arguments and the gradients "
                            "must be typed like them";
  return success();
}

/// Parameter elements of `func` a `graph.gradients` with `names` covers.
static uint64_t flatParameterCount(func::FuncOp func, ArrayAttr names) {
  uint64_t total = 0;
  for (Operation &op : func.getBody().front()) {
    if (names) {
      auto param = dyn_cast<ParamOp>(op);
      if (param && llvm::is_contained(names.getAsValueRange<StringAttr>(),
                                      param.getName()))
        total += numElements(param.getType());
      continue;
    }
    if (auto cost = dyn_cast<CostOpInterface>(op))
      total += cost.getParameterCount();
  }
  return total;
}

static LogicalResult verifyFlatGradients(Operation *op, func::FuncOp callee,
                                         ArrayAttr names, Type type) {
  auto tensor = cast<RankedTensorType>(type);
  uint64_t want = flatParameterCount(callee, names);
  if (static_cast<uint64_t>(tensor.getDimSize(0)) != want)
    return op->emitOpError()
           << "has " << tensor.getDimSize(0) << " gradient entries; @"
           << callee.getSymName() << " has " << want << " parameter elements";
  return success();
}

LogicalResult GradientsOp::verifySymbolUses(SymbolTableCollection &symbols) {
  FailureOr<func::FuncOp> callee =
      lookupCallee(*this, symbols, getCalleeAttr());
  if (failed(callee))
    return failure();
  if (ArrayAttr names = getParamsAttr())
    for (StringRef name : names.getAsValueRange<StringAttr>()) {
      bool found = false;
      for (auto param : callee->getBody().front().getOps<ParamOp>())
        found |= param.getName() == name;
      if (!found)
        return emitOpError() << "names parameter \"" << name
                             << "\", which is not a top-level parameter of "
                             << getCalleeAttr();
    }
  return verifyFlatGradients(*this, *callee, getParamsAttr(), getType());
}

LogicalResult
OptimizerStepOp::verifySymbolUses(SymbolTableCollection &symbols) {
  FailureOr<func::FuncOp> callee =
      lookupCallee(*this, symbols, getCalleeAttr());
  if (failed(callee))
    return failure();
  return verifyFlatGradients(*this, *callee, {}, getGradients().getType());
}
