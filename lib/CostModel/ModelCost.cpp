//===- ModelCost.cpp - A model's time and memory on one chip --------------===//

#include "chipmesh/CostModel/ModelCost.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace chipmesh;

/// A readable name for an op: its NameLoc if it has one.
static std::string opName(Operation *op) {
  Location loc = op->getLoc();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    if (!fused.getLocations().empty())
      loc = fused.getLocations().front();
  if (auto named = dyn_cast<NameLoc>(loc))
    return named.getName().str();
  return op->getName().getStringRef().str();
}

/// Megatron's tensor-parallel regions (Shoeybi et al. 2019, sec. 3): a
/// product with a weight fed by values every member holds whole opens a
/// region (column-parallel: its output is split over the group); ops fed
/// by split values stay inside it (attention by heads, the MLP's
/// activation); a product with a weight fed by a split value closes it
/// (row-parallel: its output is all-reduced and whole on every member),
/// as does a product with a weight that holds a whole column/row pair of
/// its own (several products in one op: an MoE block). Every other op
/// (norms, residual adds and dropouts, embeddings) runs whole on every
/// member of the group.
struct TensorRegions {
  llvm::DenseSet<Value> split;
  llvm::DenseSet<Operation *> replicated, rowParallel;
};

static void classifyTensorRegions(Block &block, TensorRegions &regions) {
  for (Operation &op : block) {
    auto cost = dyn_cast<CostOpInterface>(op);
    if (!cost)
      continue;
    if (cost.getBodyRepeat()) {
      // A nested container starts and ends on whole values.
      classifyTensorRegions(op.getRegion(0).front(), regions);
      continue;
    }
    bool fedSplit = false, hasWeight = false;
    for (Value operand : op.getOperands()) {
      if (isParameter(operand))
        hasWeight = true;
      else if (regions.split.count(operand))
        fedSplit = true;
    }
    size_t products = KernelCost::of(cost).matmuls.size();
    bool product = products > 0;
    bool splitResults;
    if (product && hasWeight) {
      // Column-parallel opens; row-parallel (or a whole pair) closes.
      bool closes = fedSplit || products >= 2;
      splitResults = !closes;
      if (closes)
        regions.rowParallel.insert(&op);
    } else if (product || fedSplit)
      splitResults = true;      // inside a region (attention: by heads)
    else {
      splitResults = false;
      if (cost.getKernelCount() > 0 && op.getNumOperands() > 0)
        regions.replicated.insert(&op);
    }
    if (splitResults)
      for (Value result : op.getResults())
        regions.split.insert(result);
  }
}

static bool isRowParallel(Operation &op, const TensorRegions &regions) {
  return regions.rowParallel.count(&op) > 0;
}

/// Saved bytes of the values a tensor-parallel group holds whole, each
/// value once (as sumCosts counts them), nested containers `repeat` times.
static double replicatedSavedBytes(Block &block, const TensorRegions &regions) {
  double bytes = 0;
  llvm::DenseSet<Value> seen;
  for (Operation &op : block) {
    auto cost = dyn_cast<CostOpInterface>(op);
    if (!cost)
      continue;
    if (uint64_t repeat = cost.getBodyRepeat()) {
      bytes += static_cast<double>(repeat) *
               replicatedSavedBytes(op.getRegion(0).front(), regions);
      continue;
    }
    // What the op keeps of its own (a dropout's mask) is whole where the
    // op runs whole.
    if (regions.replicated.count(&op))
      bytes += cost.getInternalSavedBytes();
    SmallVector<Value, 4> saved;
    cost.getSavedValues(saved);
    for (Value value : saved)
      if (!isParameter(value) && !regions.split.count(value) &&
          seen.insert(viewSource(value)).second)
        bytes += tensorBytes(value.getType());
  }
  return bytes;
}

/// Adds the kernels of `block` to `unit`, `times` runs each; recurses into
/// nested containers.
static void collectKernels(Block &block, double times, double scale,
                           const TensorRegions &regions, ModelUnit &unit) {
  for (Operation &op : block) {
    auto cost = dyn_cast<CostOpInterface>(op);
    if (!cost)
      continue;
    if (uint64_t repeat = cost.getBodyRepeat()) {
      collectKernels(op.getRegion(0).front(), times * repeat, scale, regions, unit);
      continue;
    }
    KernelCost kernel = KernelCost::of(cost).scaled(scale);
    if (kernel.isUnfusedAttention())
      unit.selectiveSavingBytes += times * kernel.internalSavedBytes;
    if (kernel.kernels > 0) // weights and views allocate nothing new
      for (Type type : op.getResultTypes())
        unit.largestResultBytes =
            std::max(unit.largestResultBytes, tensorBytes(type) * scale);
    if (!kernel.matmuls.empty()) {
      // Saturating: a hostile nest of repeats must not wrap the count.
      unsigned runs = static_cast<unsigned>(std::min(times, 1e6));
      unit.products = llvm::SaturatingAdd(unit.products, runs);
      if (isRowParallel(op, regions))
        unit.rowParallelProducts = llvm::SaturatingAdd(unit.rowParallelProducts, runs);
    }
    bool replicated = regions.replicated.count(&op) > 0;
    unit.kernels.push_back({std::move(kernel), times, replicated});
  }
}

static double nonParameterBytes(ValueRange values) {
  double bytes = 0;
  for (Value value : values)
    if (!isParameter(value))
      bytes += tensorBytes(value.getType());
  return bytes;
}

FailureOr<ModelProfile> chipmesh::profileModel(func::FuncOp func,
                                               const CostOptions &options) {
  ModelProfile profile;
  std::optional<int64_t> traced;
  for (Type type : func.getArgumentTypes())
    if (auto tensor = dyn_cast<RankedTensorType>(type))
      if (tensor.getRank() >= 1 && tensor.hasStaticShape()) {
        traced = tensor.getShape()[0];
        break;
      }
  double scale = 1;
  if (options.microBatch != 0) {
    if (!(options.microBatch >= 1 && options.microBatch <= double(1ull << 40)))
      return func.emitError() << "micro-batch must be in [1, 2^40], got "
                              << llvm::formatv("{0}", options.microBatch);
    if (!traced || *traced < 1)
      return func.emitError()
             << "cannot resize to a micro-batch of "
             << llvm::formatv("{0}", options.microBatch)
             << ": @" << func.getSymName()
             << " has no tensor argument whose leading dimension is the batch";
    scale = options.microBatch / static_cast<double>(*traced);
  }
  profile.tracedBatch = traced ? static_cast<double>(*traced) : 1.0;
  profile.microBatch = profile.tracedBatch * scale;
  if (func.isExternal())
    return profile;

  double typeFlops[kNumDTypes] = {};
  // Top-level weights travel with their first user: a pipeline cut must
  // never separate a weight from the op that reads it.
  llvm::DenseMap<Operation *, Operation *> weightHome;
  for (Operation &op : func.getBody().front()) {
    auto cost = dyn_cast<CostOpInterface>(op);
    if (!cost || op.getNumOperands() != 0 || cost.getParameterCount() == 0)
      continue;
    Operation *home = nullptr;
    for (Operation *user : op.getUsers()) {
      while (user->getBlock() != &func.getBody().front())
        user = user->getParentOp();
      if (isa<CostOpInterface>(user) && (!home || user->isBeforeInBlock(home)))
        home = user;
    }
    if (home)
      weightHome[&op] = home;
  }
  TensorRegions topRegions;
  classifyTensorRegions(func.getBody().front(), topRegions);
  llvm::DenseMap<Operation *, std::pair<uint64_t, double>> homedWeights;
  for (auto [weight, home] : weightHome) {
    auto cost = cast<CostOpInterface>(weight);
    auto &slot = homedWeights[home];
    slot.first = llvm::SaturatingAdd(slot.first, cost.getParameterCount());
    slot.second += cost.getParameterBytes();
  }
  for (Operation &op : func.getBody().front()) {
    auto cost = dyn_cast<CostOpInterface>(op);
    if (!cost || weightHome.count(&op))
      continue;
    ModelUnit unit;
    unit.op = &op;
    unit.name = opName(&op);
    CostTotals totals;
    if (uint64_t repeat = cost.getBodyRepeat()) {
      Block &body = op.getRegion(0).front();
      unit.repeat = repeat;
      if (auto nameAttr = op.getAttrOfType<StringAttr>("name"))
        unit.name = nameAttr.str();
      collectKernels(body, 1.0, scale, topRegions, unit);
      totals = sumCosts(body);
      unit.tensorReplicatedSavedBytes = replicatedSavedBytes(body, topRegions) * scale;
    } else {
      KernelCost kernel = KernelCost::of(cost).scaled(scale);
      if (kernel.isUnfusedAttention())
        unit.selectiveSavingBytes = kernel.internalSavedBytes;
      if (kernel.kernels > 0)
        for (Type type : op.getResultTypes())
          unit.largestResultBytes =
              std::max(unit.largestResultBytes, tensorBytes(type) * scale);
      bool replicated = topRegions.replicated.count(&op) > 0;
      if (!kernel.matmuls.empty()) {
        unit.products = 1;
        unit.rowParallelProducts = isRowParallel(op, topRegions) ? 1 : 0;
      }
      unit.kernels.push_back({std::move(kernel), 1.0, replicated});
      // Per-op totals, as sumCosts would count this op alone.
      totals.parameters = cost.getParameterCount();
      totals.parameterBytes = cost.getParameterBytes();
      totals.forwardFlops = cost.getForwardFlops();
      totals.backwardFlops = cost.getBackwardFlops();
      totals.cacheBytes = cost.getCacheBytes();
      totals.savedActivationBytes = cost.getInternalSavedBytes();
      if (replicated)
        unit.tensorReplicatedSavedBytes += cost.getInternalSavedBytes() * scale;
      SmallVector<Value, 4> saved;
      cost.getSavedValues(saved);
      llvm::DenseSet<Value> seen;
      for (Value value : saved)
        if (!isParameter(value) && seen.insert(viewSource(value)).second) {
          totals.savedActivationBytes += tensorBytes(value.getType());
          if (!topRegions.split.count(value))
            unit.tensorReplicatedSavedBytes += tensorBytes(value.getType()) * scale;
        }
    }
    unit.parameters = totals.parameters;
    unit.parameterBytes = totals.parameterBytes;
    if (auto it = homedWeights.find(&op); it != homedWeights.end()) {
      // Weights are per unit; a repeated container owns its body's own.
      unit.parameters = llvm::SaturatingAdd(unit.parameters, it->second.first);
      unit.parameterBytes += it->second.second;
    }
    unit.forwardFlops = totals.forwardFlops * scale;
    unit.backwardFlops = totals.backwardFlops * scale;
    unit.savedBytes = totals.savedActivationBytes * scale;
    unit.cacheBytes = totals.cacheBytes * scale;
    unit.inputBytes = nonParameterBytes(op.getOperands()) * scale;
    unit.outputBytes = nonParameterBytes(op.getResults()) * scale;
    double r = static_cast<double>(unit.repeat);
    profile.parameters = llvm::SaturatingAdd(
        profile.parameters, llvm::SaturatingMultiply(unit.parameters, unit.repeat));
    profile.parameterBytes += unit.parameterBytes * r;
    profile.forwardFlops += unit.forwardFlops * r;
    profile.backwardFlops += unit.backwardFlops * r;
    for (auto &[kernel, times, replicated] : unit.kernels)
      if (kernel.dtype)
        for (const MatmulShape &shape : kernel.matmuls)
          typeFlops[static_cast<unsigned>(*kernel.dtype)] +=
              shape.flops() * times * r;
    profile.units.push_back(std::move(unit));
  }
  unsigned best = static_cast<unsigned>(DType::FP32);
  for (unsigned t = 0; t < kNumDTypes; ++t)
    if (typeFlops[t] > typeFlops[best])
      best = t;
  profile.computeType = static_cast<DType>(best);
  return profile;
}

UnitTime chipmesh::unitTime(const ModelUnit &unit, const ComputeModel &chip,
                            Recompute recompute) {
  UnitTime result;
  double recomputeS = 0;
  double replicatedRecomputeS = 0;
  for (const auto &[kernel, times, replicated] : unit.kernels) {
    KernelTime t = chip.time(kernel);
    result.forwardS += t.forwardS * times;
    result.backwardS += t.backwardS * times;
    if (replicated) {
      result.replicatedForwardS += t.forwardS * times;
      result.replicatedBackwardS += t.backwardS * times;
    }
    if (recompute == Recompute::Full ||
        (recompute == Recompute::Selective && kernel.isUnfusedAttention())) {
      recomputeS += t.forwardS * times;
      if (replicated)
        replicatedRecomputeS += t.forwardS * times;
    }
  }
  result.backwardS += recomputeS;
  result.replicatedBackwardS += replicatedRecomputeS;
  return result;
}

double chipmesh::adamStateBytes(uint64_t parameters, double parameterBytes) {
  double n = static_cast<double>(parameters);
  if (n <= 0)
    return 0;
  double bytesPerParam = parameterBytes / n;
  double master = bytesPerParam < 4.0 ? 4.0 : 0.0;
  return n * (master + 8.0);
}

double chipmesh::savedActivationBytes(llvm::ArrayRef<ModelUnit> units,
                                      Recompute recompute) {
  double total = 0, largestUnit = 0;
  for (const ModelUnit &unit : units) {
    double r = static_cast<double>(unit.repeat);
    switch (recompute) {
    case Recompute::None:
      total += unit.savedBytes * r;
      break;
    case Recompute::Selective:
      total += (unit.savedBytes - unit.selectiveSavingBytes) * r;
      break;
    case Recompute::Full:
      // Each unit keeps its inputs; one unit's activations are rebuilt at
      // a time during backward.
      total += unit.inputBytes * r;
      largestUnit = std::max(largestUnit, unit.savedBytes);
      break;
    }
  }
  return total + largestUnit;
}

MemoryBreakdown chipmesh::unitsMemory(llvm::ArrayRef<ModelUnit> units,
                                      Mode mode, Recompute recompute,
                                      double inFlight,
                                      const ChipCalibration &calibration) {
  MemoryBreakdown memory;
  uint64_t parameters = 0;
  double largestResult = 0;
  for (const ModelUnit &unit : units) {
    double r = static_cast<double>(unit.repeat);
    memory.weights += unit.parameterBytes * r;
    parameters = llvm::SaturatingAdd(
        parameters, llvm::SaturatingMultiply(unit.parameters, unit.repeat));
    memory.kvCache += unit.cacheBytes * r;
    largestResult = std::max(largestResult, unit.largestResultBytes);
  }
  if (mode == Mode::Train) {
    memory.gradients = memory.weights;
    memory.optimizerStates = adamStateBytes(parameters, memory.weights);
    memory.activations = savedActivationBytes(units, recompute) * inFlight;
    memory.kvCache = 0;
  }
  // The largest tensor and, beside it, its gradient (training) or the
  // next op's output (inference) are live at once.
  memory.workspace = 2.0 * largestResult;
  memory.reserved = calibration.reservedBytes;
  return memory;
}

double chipmesh::optimizerSeconds(uint64_t parameters, double parameterBytes,
                                  const ComputeModel &chip) {
  double n = static_cast<double>(parameters);
  if (n <= 0)
    return 0;
  double p = parameterBytes / n;
  double master = p < 4.0 ? 4.0 : 0.0;
  // Reads weight, gradient, master, m, v; writes weight, master, m, v.
  double bytesPerParam = 3.0 * p + 2.0 * (master + 8.0);
  double bandwidth = chip.memoryBytesPerS();
  if (!(bandwidth > 0))
    return 0;
  return n * bytesPerParam / bandwidth +
         chip.calibration().kernelOverheadS;
}

ChipEstimate chipmesh::estimateOnChip(const ModelProfile &profile,
                                      const ComputeModel &chip,
                                      const CostOptions &options) {
  ChipEstimate estimate;
  estimate.kind = chip.chip().name;
  estimate.catalogId = chip.chip().catalogId;
  for (const ModelUnit &unit : profile.units) {
    UnitTime t = unitTime(unit, chip, options.recompute);
    double r = static_cast<double>(unit.repeat);
    estimate.forwardS += t.forwardS * r;
    estimate.backwardS += t.backwardS * r;
  }
  double micro = static_cast<double>(std::max<uint64_t>(1, options.microBatches));
  double flops = profile.forwardFlops;
  if (options.mode == Mode::Train) {
    estimate.optimizerS =
        optimizerSeconds(profile.parameters, profile.parameterBytes, chip);
    estimate.stepS = micro * (estimate.forwardS + estimate.backwardS) +
                     estimate.optimizerS;
    flops += profile.backwardFlops;
  } else {
    estimate.backwardS = 0;
    estimate.stepS = micro * estimate.forwardS;
  }
  estimate.memory = unitsMemory(profile.units, options.mode, options.recompute,
                                1.0, chip.calibration());
  estimate.capacityBytes = chip.chip().memoryBytes;
  double peak = chip.matmulPeakFlopPerS(profile.computeType);
  if (estimate.stepS > 0 && peak > 0)
    estimate.mfu = micro * flops / estimate.stepS / peak;
  return estimate;
}
