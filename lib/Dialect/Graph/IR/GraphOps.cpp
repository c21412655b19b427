//===- GraphOps.cpp - Graph dialect: compute ops' shapes, verifiers, costs ===//
//
// The dialect, and the ops that compute: matmul, linear, conv2d,
// attention, norms, softmax, elementwise. GraphStructureOps.cpp has the rest.
//
//===----------------------------------------------------------------------===//

#include "chipmesh/Dialect/Graph/IR/GraphOps.h"
#include "GraphOpsSupport.h"
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

#include "chipmesh/Dialect/Graph/IR/GraphDialect.cpp.inc"
#include "chipmesh/Dialect/Graph/IR/GraphEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "chipmesh/Dialect/Graph/IR/GraphAttrs.cpp.inc"

void GraphDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "chipmesh/Dialect/Graph/IR/GraphAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "chipmesh/Dialect/Graph/IR/GraphOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

LogicalResult chipmesh::graph::verifyTensorsFit(Operation *op) {
  auto check = [&](Type type) -> LogicalResult {
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (!tensor || !tensor.hasStaticShape())
      return success();
    for (int64_t dim : tensor.getShape())
      if (dim < 0)
        return op->emitOpError() << "has a negative dimension in " << type;
      else if (dim == 0)
        return op->emitOpError()
               << "has an empty dimension in " << type
               << "; a model tensor needs at least one element along each";
    if (!exactNumElements(tensor.getShape()))
      return op->emitOpError()
             << "tensor " << type
             << " has more than 2^63 - 1 elements; no machine holds it";
    return success();
  };
  for (Type type : op->getOperandTypes())
    if (failed(check(type)))
      return failure();
  for (Type type : op->getResultTypes())
    if (failed(check(type)))
      return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// ParamOp
//===----------------------------------------------------------------------===//

uint64_t ParamOp::getParameterCount() {
  return static_cast<uint64_t>(
      exactNumElements(getType().getShape()).value_or(0));
}
double ParamOp::getParameterBytes() { return tensorBytes(getType()); }
// A parameter is resident; its consumers account for reading it.
double ParamOp::getBytesRead() { return 0; }
double ParamOp::getBytesWritten() { return 0; }
unsigned ParamOp::getKernelCount() { return 0; }

//===----------------------------------------------------------------------===//
// MatmulOp
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  InferError error{loc, "matmul"};
  auto lhs = ranked(adaptor.getLhs().getType());
  auto rhs = ranked(adaptor.getRhs().getType());
  if (!lhs || !rhs)
    return error("operands must be statically shaped tensors");
  if (lhs.getRank() < 2 || rhs.getRank() < 2)
    return error("operands must have rank 2 or more, got " + str(lhs) +
                 " and " + str(rhs));
  if (lhs.getElementType() != rhs.getElementType())
    return error("operand element types differ: " + str(lhs.getElementType()) +
                 " vs " + str(rhs.getElementType()));
  ArrayRef<int64_t> a = lhs.getShape(), b = rhs.getShape();
  int64_t m = a[a.size() - 2], k = a.back();
  bool transposed = bool(attrOf<UnitAttr>(adaptor, "transpose_rhs"));
  int64_t kb = transposed ? b.back() : b[b.size() - 2];
  int64_t n = transposed ? b[b.size() - 2] : b.back();
  if (k != kb)
    return error("contracting dimensions differ: lhs " + str(lhs) + " has K=" +
                 Twine(k) + ", rhs " + str(rhs) + " has K=" + Twine(kb));
  auto batch = broadcastShapes(a.drop_back(2), b.drop_back(2));
  if (!batch)
    return error("batch dimensions of " + str(lhs) + " and " + str(rhs) +
                 " do not broadcast");
  SmallVector<int64_t> shape = *batch;
  shape.push_back(m);
  shape.push_back(n);
  results.push_back(RankedTensorType::get(shape, lhs.getElementType()));
  return success();
}

double MatmulOp::getForwardFlops() {
  double k = static_cast<double>(getLhs().getType().getShape().back());
  return 2.0 * numElements(getType()) * k;
}

void MatmulOp::getMatmuls(SmallVectorImpl<MatmulShape> &matmuls) {
  ArrayRef<int64_t> out = getType().getShape();
  MatmulShape shape;
  shape.m = out[out.size() - 2];
  shape.n = out.back();
  shape.k = getLhs().getType().getShape().back();
  shape.batch = numElements(getType()) / (shape.m * shape.n);
  shape.sampleDim = out.size() > 2 ? MatmulShape::SampleDim::Batch
                                   : MatmulShape::SampleDim::M;
  matmuls.push_back(shape);
}

void MatmulOp::getSavedValues(SmallVectorImpl<Value> &saved) {
  for (Value operand : {getLhs(), getRhs()})
    if (!isParameter(operand))
      saved.push_back(operand);
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  InferError error{loc, "linear"};
  auto input = ranked(adaptor.getInput().getType());
  auto weight = ranked(adaptor.getWeight().getType());
  if (!input || !weight)
    return error("operands must be statically shaped tensors");
  if (input.getRank() < 1 || weight.getRank() != 2)
    return error("expects input [..., K] and weight [K, N], got " + str(input) +
                 " and " + str(weight));
  if (input.getElementType() != weight.getElementType())
    return error("operand element types differ: " +
                 str(input.getElementType()) + " vs " +
                 str(weight.getElementType()));
  int64_t k = input.getShape().back(), n = weight.getShape()[1];
  if (weight.getShape()[0] != k)
    return error("input " + str(input) + " has K=" + Twine(k) + " but weight " +
                 str(weight) + " expects K=" + Twine(weight.getShape()[0]));
  if (Value bias = adaptor.getBias()) {
    auto biasType = ranked(bias.getType());
    if (!biasType || biasType.getRank() != 1 || biasType.getShape()[0] != n ||
        biasType.getElementType() != input.getElementType())
      return error("bias must be tensor<" + Twine(n) + "x" +
                   str(input.getElementType()) + ">, got " + str(bias.getType()));
  }
  SmallVector<int64_t> shape(input.getShape());
  shape.back() = n;
  results.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

double LinearOp::getForwardFlops() {
  double k = static_cast<double>(getInput().getType().getShape().back());
  double out = numElements(getType());
  return 2.0 * out * k + (getBias() ? out : 0.0);
}

void LinearOp::getMatmuls(SmallVectorImpl<MatmulShape> &matmuls) {
  MatmulShape shape; // all leading dimensions fold into M
  shape.n = getWeight().getType().getShape()[1];
  shape.k = getWeight().getType().getShape()[0];
  shape.m = numElements(getType()) / shape.n;
  matmuls.push_back(shape);
}

void LinearOp::getSavedValues(SmallVectorImpl<Value> &saved) {
  if (!isParameter(getInput()))
    saved.push_back(getInput());
  if (!isParameter(getWeight()))
    saved.push_back(getWeight());
}

//===----------------------------------------------------------------------===//
// Conv2dOp
//===----------------------------------------------------------------------===//

LogicalResult Conv2dOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  InferError error{loc, "conv2d"};
  auto input = ranked(adaptor.getInput().getType());
  auto weight = ranked(adaptor.getWeight().getType());
  if (!input || !weight)
    return error("operands must be statically shaped tensors");
  if (input.getRank() != 4 || weight.getRank() != 4)
    return error("expects input [N, C, H, W] and weight [O, C/groups, KH, KW], "
                 "got " + str(input) + " and " + str(weight));
  if (input.getElementType() != weight.getElementType())
    return error("operand element types differ");
  // Default-valued attributes are absent from the adaptor while parsing.
  auto orDefault = [&](StringRef name, ArrayRef<int64_t> fallback) {
    auto attr = attrOf<DenseI64ArrayAttr>(adaptor, name);
    return attr ? attr.asArrayRef() : fallback;
  };
  static const int64_t ones[] = {1, 1}, zeros[] = {0, 0};
  ArrayRef<int64_t> strides = orDefault("strides", ones);
  ArrayRef<int64_t> padding = orDefault("padding", zeros);
  ArrayRef<int64_t> dilation = orDefault("dilation", ones);
  if (strides.size() != 2 || padding.size() != 2 || dilation.size() != 2)
    return error("strides, padding and dilation need two entries each");
  for (int i = 0; i < 2; ++i)
    if (strides[i] < 1 || dilation[i] < 1 || padding[i] < 0 ||
        strides[i] > kMaxExtent || dilation[i] > kMaxExtent ||
        padding[i] > kMaxExtent)
      return error("strides and dilation must be in [1, 2^40] and padding "
                   "in [0, 2^40]");
  auto groupsAttr = attrOf<IntegerAttr>(adaptor, "groups");
  int64_t groups = groupsAttr ? groupsAttr.getInt() : 1;
  if (groups < 1 || groups > kMaxExtent)
    return error("groups must be in [1, 2^40], got " + Twine(groups));
  ArrayRef<int64_t> x = input.getShape(), w = weight.getShape();
  if (groups < 1 || x[1] % groups != 0 || w[0] % groups != 0)
    return error("groups=" + Twine(groups) + " must divide input channels " +
                 Twine(x[1]) + " and output channels " + Twine(w[0]));
  if (w[1] * groups != x[1])
    return error("weight " + str(weight) + " expects " + Twine(w[1] * groups) +
                 " input channels, input " + str(input) + " has " + Twine(x[1]));
  for (int64_t d : {x[2], x[3], w[2], w[3]})
    if (d > kMaxExtent)
      return error("spatial dimensions must be at most 2^40");
  SmallVector<int64_t> shape{x[0], w[0], 0, 0};
  for (int i = 0; i < 2; ++i) {
    int64_t span = dilation[i] * (w[2 + i] - 1) + 1;
    int64_t padded = x[2 + i] + 2 * padding[i];
    if (padded < span)
      return error("kernel (" + Twine(span) + " with dilation) is larger than "
                   "the padded input (" + Twine(padded) + ")");
    shape[2 + i] = (padded - span) / strides[i] + 1;
  }
  if (Value bias = adaptor.getBias()) {
    auto biasType = ranked(bias.getType());
    if (!biasType || biasType.getRank() != 1 || biasType.getShape()[0] != w[0])
      return error("bias must have " + Twine(w[0]) + " elements");
  }
  results.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

LogicalResult Pool2dOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  InferError error{loc, "pool2d"};
  auto input = ranked(adaptor.getInput().getType());
  if (!input || input.getRank() != 4)
    return error("expects an input [N, C, H, W]");
  auto kindAttr = attrOf<ReduceKindAttr>(adaptor, "kind");
  if (kindAttr && kindAttr.getValue() == ReduceKind::sum)
    return error("kind must be max or mean");
  auto orDefault = [&](StringRef name, ArrayRef<int64_t> fallback) {
    auto attr = attrOf<DenseI64ArrayAttr>(adaptor, name);
    return attr ? attr.asArrayRef() : fallback;
  };
  static const int64_t ones[] = {1, 1}, zeros[] = {0, 0};
  ArrayRef<int64_t> kernel = orDefault("kernel", {});
  ArrayRef<int64_t> strides = orDefault("strides", ones);
  ArrayRef<int64_t> padding = orDefault("padding", zeros);
  if (kernel.size() != 2 || strides.size() != 2 || padding.size() != 2)
    return error("kernel, strides and padding need two entries each");
  bool ceil = attrOf<UnitAttr>(adaptor, "ceil_mode") != nullptr;
  SmallVector<int64_t> shape(input.getShape());
  for (int i = 0; i < 2; ++i) {
    if (kernel[i] < 1 || strides[i] < 1 || padding[i] < 0 ||
        kernel[i] > kMaxExtent || strides[i] > kMaxExtent ||
        padding[i] > kMaxExtent)
      return error("kernel and strides must be in [1, 2^40] and padding in "
                   "[0, 2^40]");
    if (2 * padding[i] > kernel[i])
      return error("padding must be at most half the kernel");
    int64_t padded = shape[2 + i] + 2 * padding[i];
    if (padded < kernel[i])
      return error("kernel (" + Twine(kernel[i]) +
                   ") is larger than the padded input (" + Twine(padded) + ")");
    int64_t steps = padded - kernel[i];
    int64_t out = (ceil ? (steps + strides[i] - 1) / strides[i]
                        : steps / strides[i]) + 1;
    // PyTorch: the last window must start inside the input or left padding.
    if (ceil && (out - 1) * strides[i] >= shape[2 + i] + padding[i])
      --out;
    shape[2 + i] = out;
  }
  results.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

double Pool2dOp::getForwardFlops() {
  return numElements(getType()) * getKernel()[0] * getKernel()[1];
}

void Pool2dOp::getSavedValues(SmallVectorImpl<Value> &saved) {
  // Max pooling keeps its input to route the gradient; the average's
  // gradient needs only the shape.
  if (getKind() == ReduceKind::max)
    saved.push_back(getInput());
}

double Conv2dOp::getForwardFlops() {
  ArrayRef<int64_t> w = getWeight().getType().getShape();
  double macsPerOutput = static_cast<double>(w[1]) * w[2] * w[3];
  double out = numElements(getType());
  return 2.0 * out * macsPerOutput + (getBias() ? out : 0.0);
}

void Conv2dOp::getMatmuls(SmallVectorImpl<MatmulShape> &matmuls) {
  // Implicit GEMM per group: M = N*Ho*Wo, N = O/groups, K = C/groups*KH*KW.
  ArrayRef<int64_t> w = getWeight().getType().getShape();
  double groups = static_cast<double>(getGroups());
  MatmulShape shape;
  shape.batch = groups;
  shape.n = w[0] / groups;
  shape.k = static_cast<double>(w[1]) * w[2] * w[3];
  shape.m = numElements(getType()) / w[0];
  matmuls.push_back(shape);
}

void Conv2dOp::getSavedValues(SmallVectorImpl<Value> &saved) {
  if (!isParameter(getInput()))
    saved.push_back(getInput());
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  InferError error{loc, "attention"};
  auto q = ranked(adaptor.getQuery().getType());
  auto k = ranked(adaptor.getKey().getType());
  auto v = ranked(adaptor.getValue().getType());
  if (!q || !k || !v)
    return error("operands must be statically shaped tensors");
  if (q.getRank() != 4 || k.getRank() != 4 || v.getRank() != 4)
    return error("expects query [B, Sq, Hq, D] and key/value [B, Skv, Hkv, D], "
                 "got " + str(q) + ", " + str(k) + ", " + str(v));
  if (k != v)
    return error("key " + str(k) + " and value " + str(v) + " differ");
  if (q.getElementType() != k.getElementType())
    return error("query and key element types differ");
  ArrayRef<int64_t> qs = q.getShape(), ks = k.getShape();
  if (qs[0] != ks[0])
    return error("batch sizes differ: " + Twine(qs[0]) + " vs " + Twine(ks[0]));
  if (qs[3] != ks[3])
    return error("head dimensions differ: " + Twine(qs[3]) + " vs " +
                 Twine(ks[3]));
  if (ks[2] == 0 || qs[2] % ks[2] != 0)
    return error(Twine(qs[2]) + " query heads are not a multiple of " +
                 Twine(ks[2]) + " key/value heads");
  // Default-valued attributes are absent from the adaptor while parsing.
  auto cacheAttr = attrOf<IntegerAttr>(adaptor, "kv_cache");
  int64_t cache = cacheAttr ? cacheAttr.getInt() : 0;
  if (cache < 0 || cache > kMaxExtent)
    return error("kv_cache must be in [0, 2^40], got " + Twine(cache));
  auto dropoutAttr = attrOf<FloatAttr>(adaptor, "dropout");
  double dropout = dropoutAttr ? dropoutAttr.getValueAsDouble() : 0.0;
  if (!(dropout >= 0.0 && dropout < 1.0))
    return error("dropout must be in [0, 1), got " + llvm::formatv("{0}", dropout).str());
  results.push_back(q);
  return success();
}

double AttentionOp::getScorePairs() {
  double sq = getQuery().getType().getShape()[1];
  double skv = getKey().getType().getShape()[1];
  double cache = static_cast<double>(getKvCache());
  if (!getCausal())
    return sq * (cache + skv);
  // Query i (0-based, among the Sq newest positions) sees the cache and the
  // new keys up to its own position; with Sq == Skv that is Sq(Sq+1)/2.
  double offset = skv - sq; // new keys that precede the first query
  return sq * cache + sq * offset + sq * (sq + 1) / 2.0;
}

double AttentionOp::getForwardFlops() {
  ArrayRef<int64_t> q = getQuery().getType().getShape();
  double batchHeads = static_cast<double>(q[0]) * q[2];
  double pairs = getScorePairs();
  // QK^T and PV: 2 * D each per pair as multiply-adds; softmax ~5 per score.
  return batchHeads * pairs * (4.0 * q[3] + 5.0);
}

double AttentionOp::getBackwardFlops() {
  // Backward recomputes nothing when probabilities are saved (dQ, dK, dV,
  // dP: 2x); FlashAttention-2 also recomputes QK^T and P (2.5x; Dao 2023).
  return (getFlash() ? 2.5 : 2.0) * getForwardFlops();
}

double AttentionOp::getBytesRead() {
  double bytes = operandBytes(getOperation());
  ArrayRef<int64_t> k = getKey().getType().getShape();
  double cacheElems = 2.0 * k[0] * getKvCache() * k[2] * k[3];
  return bytes + cacheElems * elementBytes(getKey().getType());
}

void AttentionOp::getMatmuls(SmallVectorImpl<MatmulShape> &matmuls) {
  ArrayRef<int64_t> q = getQuery().getType().getShape();
  double keys = static_cast<double>(getKvCache()) + getKey().getType().getShape()[1];
  MatmulShape scores; // Q K^T per (batch, head)
  scores.batch = static_cast<double>(q[0]) * q[2];
  scores.m = q[1];
  scores.n = keys;
  scores.k = q[3];
  scores.density = getScorePairs() / (scores.m * keys);
  scores.kind = getFlash() ? MatmulShape::Kind::FusedAttention
                           : MatmulShape::Kind::Attention;
  scores.sampleDim = MatmulShape::SampleDim::Batch;
  MatmulShape values = scores; // P V
  values.n = q[3];
  values.k = keys;
  matmuls.push_back(scores);
  matmuls.push_back(values);
}

double AttentionOp::getSideTrafficBytes(bool backward) {
  if (getFlash())
    return 0;
  ArrayRef<int64_t> q = getQuery().getType().getShape();
  double keys = static_cast<double>(getKvCache()) + getKey().getType().getShape()[1];
  double scores = static_cast<double>(q[0]) * q[2] * q[1] * keys;
  double e = elementBytes(getQuery().getType());
  bool dropout = getDropout().convertToDouble() > 0;
  double perScore = backward ? (dropout ? 9 * e + 1 : 7 * e)
                             : (dropout ? 6 * e + 1 : 4 * e);
  return scores * perScore;
}

unsigned AttentionOp::getSideKernelCount() {
  // The softmax, and the dropout when there is one.
  if (getFlash())
    return 0;
  return getDropout().convertToDouble() > 0 ? 2 : 1;
}

double AttentionOp::getCacheBytes() {
  if (getKvCache() == 0)
    return 0;
  ArrayRef<int64_t> k = getKey().getType().getShape();
  double positions = static_cast<double>(getKvCache()) + k[1];
  return 2.0 * k[0] * positions * k[2] * k[3] * elementBytes(getKey().getType());
}

void AttentionOp::getSavedValues(SmallVectorImpl<Value> &saved) {
  saved.push_back(getQuery());
  saved.push_back(getKey());
  saved.push_back(getValue());
  if (getFlash())
    saved.push_back(getResult());
}

double AttentionOp::getInternalSavedBytes() {
  ArrayRef<int64_t> q = getQuery().getType().getShape();
  double batchHeads = static_cast<double>(q[0]) * q[2];
  if (getFlash()) // row log-sum-exp in fp32
    return batchHeads * q[1] * 4.0;
  double probs = batchHeads * q[1] *
                 (static_cast<double>(getKvCache()) + getKey().getType().getShape()[1]);
  double bytes = probs * elementBytes(getQuery().getType());
  if (getDropout().convertToDouble() > 0) // 1-byte mask + dropped probs
    bytes += probs * (1.0 + elementBytes(getQuery().getType()));
  return bytes;
}

//===----------------------------------------------------------------------===//
// Norms and softmax
//===----------------------------------------------------------------------===//

static LogicalResult inferNorm(InferError error, Type inputType,
                               Type scaleType, Value bias,
                               SmallVectorImpl<Type> &results) {
  auto input = ranked(inputType);
  auto scale = ranked(scaleType);
  if (!input || !scale)
    return error("operands must be statically shaped tensors");
  if (input.getRank() < 1)
    return error("input must have rank 1 or more");
  int64_t d = input.getShape().back();
  for (Type param : {Type(scale), bias ? bias.getType() : Type()}) {
    if (!param)
      continue;
    auto t = ranked(param);
    if (!t || t.getRank() != 1 || t.getShape()[0] != d)
      return error("scale and bias must be tensor<" + Twine(d) +
                   "x...> to match the last dimension of " + str(input) +
                   ", got " + str(param));
  }
  results.push_back(input);
  return success();
}

LogicalResult LayerNormOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  return inferNorm({loc, "layer_norm"}, adaptor.getInput().getType(),
                   adaptor.getScale().getType(), adaptor.getBias(), results);
}
// mean, variance (2 per element), normalize (2), scale and shift (2).
double LayerNormOp::getForwardFlops() { return 7.0 * numElements(getType()); }
void LayerNormOp::getSavedValues(SmallVectorImpl<Value> &saved) {
  saved.push_back(getInput());
}

LogicalResult RmsNormOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  return inferNorm({loc, "rms_norm"}, adaptor.getInput().getType(),
                   adaptor.getScale().getType(), Value(), results);
}
// square-sum (2), normalize (1), scale (1).
double RmsNormOp::getForwardFlops() { return 4.0 * numElements(getType()); }
void RmsNormOp::getSavedValues(SmallVectorImpl<Value> &saved) {
  saved.push_back(getInput());
}

LogicalResult SoftmaxOp::verify() {
  if (!normalizeAxis(getAxis(), getType().getRank()))
    return emitOpError() << "axis " << static_cast<int64_t>(getAxis())
                         << " is out of range for "
                         << getType();
  return success();
}
// max, subtract, exp, sum, divide.
double SoftmaxOp::getForwardFlops() { return 5.0 * numElements(getType()); }
void SoftmaxOp::getSavedValues(SmallVectorImpl<Value> &saved) {
  saved.push_back(getResult());
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

LogicalResult RotaryOp::verify() {
  auto type = getType();
  if (type.getRank() != 4 || type.getShape().back() % 2 != 0)
    return emitOpError() << "expects [B, S, H, D] with an even D, got " << type;
  return success();
}

LogicalResult DropoutOp::verify() {
  double rate = getRate().convertToDouble();
  if (!(rate >= 0.0 && rate < 1.0))
    return emitOpError() << "rate must be in [0, 1), got " << rate;
  return success();
}
double DropoutOp::getForwardFlops() { return numElements(getType()); }
double DropoutOp::getInternalSavedBytes() { return numElements(getType()); }

template <typename BinaryOp>
static LogicalResult inferBinary(InferError error, Type lhsType, Type rhsType,
                                 SmallVectorImpl<Type> &results) {
  auto lhs = ranked(lhsType), rhs = ranked(rhsType);
  if (!lhs || !rhs)
    return error("operands must be statically shaped tensors");
  if (lhs.getElementType() != rhs.getElementType())
    return error("operand element types differ: " + str(lhs.getElementType()) +
                 " vs " + str(rhs.getElementType()));
  auto shape = broadcastShapes(lhs.getShape(), rhs.getShape());
  if (!shape)
    return error("shapes " + str(lhs) + " and " + str(rhs) +
                 " do not broadcast");
  results.push_back(RankedTensorType::get(*shape, lhs.getElementType()));
  return success();
}

#define CHIPMESH_BINARY_INFER(OP, NAME)                                        \
  LogicalResult OP::inferReturnTypes(MLIRContext *,                            \
                                     std::optional<Location> loc,              \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &results) {         \
    return inferBinary<OP>({loc, NAME}, adaptor.getLhs().getType(),            \
                           adaptor.getRhs().getType(), results);               \
  }
CHIPMESH_BINARY_INFER(AddOp, "add")
CHIPMESH_BINARY_INFER(SubOp, "sub")
CHIPMESH_BINARY_INFER(MulOp, "mul")
CHIPMESH_BINARY_INFER(DivOp, "div")
#undef CHIPMESH_BINARY_INFER

#define GET_OP_CLASSES
#include "chipmesh/Dialect/Graph/IR/GraphOps.cpp.inc"
