//===- CostInterface.cpp - What an op costs -------------------------------===//

#include "chipmesh/Interfaces/CostInterface.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/CheckedArithmetic.h"

using namespace mlir;
using namespace chipmesh;

#include "chipmesh/Interfaces/CostInterface.cpp.inc"

double chipmesh::numElements(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape())
    return 0;
  double count = 1;
  for (int64_t dim : tensor.getShape())
    count *= static_cast<double>(dim);
  return count;
}

double chipmesh::elementBytes(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor)
    return 0;
  Type element = tensor.getElementType();
  if (!element.isIntOrIndexOrFloat())
    return 0;
  unsigned bits = element.isIndex() ? 64 : element.getIntOrFloatBitWidth();
  return static_cast<double>((bits + 7) / 8);
}

double chipmesh::tensorBytes(Type type) {
  return numElements(type) * elementBytes(type);
}

std::optional<int64_t> chipmesh::exactNumElements(ArrayRef<int64_t> shape) {
  int64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0)
      return std::nullopt;
    std::optional<int64_t> next = llvm::checkedMul(count, dim);
    if (!next)
      return std::nullopt;
    count = *next;
  }
  return count;
}

double chipmesh::operandBytes(Operation *op) {
  double bytes = 0;
  for (Type type : op->getOperandTypes())
    bytes += tensorBytes(type);
  return bytes;
}

double chipmesh::resultBytes(Operation *op) {
  double bytes = 0;
  for (Type type : op->getResultTypes())
    bytes += tensorBytes(type);
  return bytes;
}

bool chipmesh::isParameter(Value value) {
  Operation *def = value.getDefiningOp();
  return def && def->getName().getStringRef() == "graph.param";
}

Value chipmesh::viewSource(Value value) {
  // Bounded: a view chain is never longer than the block it lives in.
  for (unsigned depth = 0; depth < 1024; ++depth) {
    Operation *def = value.getDefiningOp();
    auto cost = dyn_cast_or_null<CostOpInterface>(def);
    if (!cost || def->getNumOperands() != 1 || def->getNumResults() != 1 ||
        cost.getKernelCount() != 0 || cost.getBodyRepeat() != 0)
      return value;
    value = def->getOperand(0);
  }
  return value;
}

CostTotals &CostTotals::operator+=(const CostTotals &other) {
  // Counts saturate as scaled() does: a wrapped count would print as a
  // small, plausible number.
  parameters = llvm::SaturatingAdd(parameters, other.parameters);
  parameterBytes += other.parameterBytes;
  forwardFlops += other.forwardFlops;
  backwardFlops += other.backwardFlops;
  bytesRead += other.bytesRead;
  bytesWritten += other.bytesWritten;
  savedActivationBytes += other.savedActivationBytes;
  cacheBytes += other.cacheBytes;
  ops += other.ops;
  return *this;
}

CostTotals CostTotals::scaled(uint64_t repeat) const {
  CostTotals out = *this;
  double r = static_cast<double>(repeat);
  // Saturate rather than wrap: the verifier bounds tensors, not repeats.
  out.parameters = llvm::SaturatingMultiply(parameters, repeat);
  out.parameterBytes *= r;
  out.forwardFlops *= r;
  out.backwardFlops *= r;
  out.bytesRead *= r;
  out.bytesWritten *= r;
  out.savedActivationBytes *= r;
  out.cacheBytes *= r;
  out.ops = llvm::SaturatingMultiply<unsigned>(ops, static_cast<unsigned>(
                                                        std::min<uint64_t>(repeat, ~0u)));
  return out;
}

CostTotals chipmesh::sumCosts(Block &block) {
  CostTotals totals;
  llvm::DenseSet<Value> saved;
  SmallVector<Value, 4> values;
  for (Operation &op : block) {
    auto cost = dyn_cast<CostOpInterface>(op);
    if (!cost)
      continue;
    totals.ops += 1;
    if (uint64_t repeat = cost.getBodyRepeat()) {
      // Walk a container's body once; its own methods would re-walk it.
      CostTotals body = sumCosts(op.getRegion(0).front()).scaled(repeat);
      body.ops = 0; // `ops` counts the ops of this block only
      totals += body;
      continue;
    }
    totals.cacheBytes += cost.getCacheBytes();
    totals.forwardFlops += cost.getForwardFlops();
    totals.backwardFlops += cost.getBackwardFlops();
    totals.bytesRead += cost.getBytesRead();
    totals.bytesWritten += cost.getBytesWritten();
    totals.parameters =
        llvm::SaturatingAdd(totals.parameters, cost.getParameterCount());
    totals.parameterBytes += cost.getParameterBytes();
    totals.savedActivationBytes += cost.getInternalSavedBytes();
    values.clear();
    cost.getSavedValues(values);
    for (Value value : values)
      if (!isParameter(value) && saved.insert(viewSource(value)).second)
        totals.savedActivationBytes += tensorBytes(value.getType());
  }
  return totals;
}
