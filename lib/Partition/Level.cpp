//===- Level.cpp - Per-micro-batch unit costs for the search --------------===//

#include "Search.h"
#include <algorithm>
#include <cmath>

using namespace mlir;

namespace chipmesh::search {

double objectiveFactor(const MeshView &mesh, Objective objective,
                       llvm::ArrayRef<unsigned> chips) {
  if (objective != Objective::Cost && objective != Objective::Energy)
    return 1;
  double factor = 0;
  auto add = [&](unsigned c) {
    factor += objective == Objective::Cost ? mesh.kindOf(c).priceUsd
                                           : mesh.kindOf(c).tdpWatts;
  };
  if (chips.empty())
    for (unsigned c = 0; c < mesh.numChips(); ++c)
      add(c);
  for (unsigned c : chips)
    add(c);
  return factor;
}

Level buildLevel(ModelProfile profile, const std::vector<ComputeModel> &kinds,
                 const PartitionOptions &options) {
  Level level;
  level.profile = std::move(profile);
  level.recompute = options.recompute;
  size_t nk = kinds.size();
  bool training = options.mode == Mode::Train;
  for (auto [u, unit] : llvm::enumerate(level.profile.units)) {
    UnitCosts c;
    for (const ComputeModel &chip : kinds) {
      UnitTime t = unitTime(unit, chip, options.recompute);
      c.forwardS.push_back(t.forwardS);
      c.backwardS.push_back(training ? t.backwardS : 0.0);
      c.replicatedForwardS.push_back(t.replicatedForwardS);
      c.replicatedS.push_back(t.replicatedForwardS +
                              (training ? t.replicatedBackwardS : 0.0));
    }
    c.parameters = static_cast<double>(unit.parameters);
    c.parameterBytes = unit.parameterBytes;
    // Full recomputation keeps each unit's input for every micro-batch in
    // flight and rebuilds one unit's activations at a time: the rebuilt
    // set counts once per chip (the largest of the stage), not per layer.
    // Without sequence parallelism the checkpoint (the residual stream
    // entering the unit) is whole on every member of a tensor group.
    if (training && options.recompute == Recompute::Full) {
      c.savedBytes = unit.inputBytes;
      c.replicatedSavedBytes = unit.inputBytes;
      c.rebuiltBytes = unit.savedBytes;
      c.replicatedRebuiltBytes = unit.tensorReplicatedSavedBytes;
    } else if (training) {
      ModelUnit one = unit;
      one.repeat = 1;
      c.savedBytes = savedActivationBytes({one}, options.recompute);
      c.replicatedSavedBytes =
          std::min(c.savedBytes, unit.tensorReplicatedSavedBytes);
    }
    c.outputBytes = unit.outputBytes;
    c.cacheBytes = training ? 0.0 : unit.cacheBytes;
    c.largestResult = unit.largestResultBytes;
    c.tensorCollectives =
        unit.products == 0 ? 0 : std::max(1u, unit.rowParallelProducts);
    level.units.push_back(std::move(c));
    for (uint64_t r = 0; r < unit.repeat; ++r)
      level.layers.push_back({static_cast<unsigned>(u), r});
  }
  size_t n = level.layers.size();
  level.prefix.assign(nk, std::vector<double>(n + 1, 0.0));
  level.prefixForward.assign(nk, std::vector<double>(n + 1, 0.0));
  level.prefixReplicated.assign(nk, std::vector<double>(n + 1, 0.0));
  level.prefixReplicatedForward.assign(nk, std::vector<double>(n + 1, 0.0));
  level.prefixSavedReplicated.assign(n + 1, 0);
  level.prefixParams.assign(n + 1, 0);
  level.prefixParamBytes.assign(n + 1, 0);
  level.prefixSaved.assign(n + 1, 0);
  level.prefixCache.assign(n + 1, 0);
  for (size_t l = 0; l < n; ++l) {
    const UnitCosts &c = level.units[level.layers[l].unit];
    for (size_t k = 0; k < nk; ++k) {
      level.prefix[k][l + 1] =
          level.prefix[k][l] + c.forwardS[k] + c.backwardS[k];
      level.prefixForward[k][l + 1] = level.prefixForward[k][l] + c.forwardS[k];
      level.prefixReplicated[k][l + 1] =
          level.prefixReplicated[k][l] + c.replicatedS[k];
      level.prefixReplicatedForward[k][l + 1] =
          level.prefixReplicatedForward[k][l] + c.replicatedForwardS[k];
    }
    level.prefixSavedReplicated[l + 1] =
        level.prefixSavedReplicated[l] + c.replicatedSavedBytes;
    level.prefixParams[l + 1] = level.prefixParams[l] + c.parameters;
    level.prefixParamBytes[l + 1] =
        level.prefixParamBytes[l] + c.parameterBytes;
    level.prefixSaved[l + 1] = level.prefixSaved[l] + c.savedBytes;
    level.prefixCache[l + 1] = level.prefixCache[l] + c.cacheBytes;
  }
  for (size_t k = 0; k < nk; ++k) {
    level.modelS.push_back(level.prefix[k][n]);
    level.modelReplicatedS.push_back(level.prefixReplicated[k][n]);
  }
  std::vector<double> results(n), rebuilt(n), rebuiltReplicated(n);
  for (size_t l = 0; l < n; ++l) {
    const UnitCosts &c = level.units[level.layers[l].unit];
    results[l] = c.largestResult;
    rebuilt[l] = c.rebuiltBytes - c.replicatedRebuiltBytes;
    rebuiltReplicated[l] = c.replicatedRebuiltBytes;
  }
  level.largest = RangeMax(std::move(results));
  level.largestRebuilt = RangeMax(std::move(rebuilt));
  level.largestRebuiltReplicated = RangeMax(std::move(rebuiltReplicated));
  std::vector<double> layerWeights(n);
  for (size_t l = 0; l < n; ++l)
    layerWeights[l] = level.units[level.layers[l].unit].parameterBytes;
  level.largestWeights = RangeMax(std::move(layerWeights));
  return level;
}

double gradientElementBytes(const ModelProfile &profile,
                            const PartitionOptions &options) {
  if (options.gradientReduce == GradientReduce::Weights ||
      profile.parameters == 0)
    return 0;
  if (options.gradientReduce == GradientReduce::FP32)
    return 4.0;
  // Megatron: BF16 weights accumulate and reduce their gradients in FP32.
  double width =
      profile.parameterBytes / static_cast<double>(profile.parameters);
  return profile.computeType == DType::BF16 && width < 4 ? 4.0 : 0.0;
}

StateNeed stateNeed(const Level &level, const MeshView &mesh,
                    const std::vector<ComputeModel> &kinds,
                    const PartitionOptions &options) {
  StateNeed need;
  size_t nl = level.layers.size();
  double weights = level.prefixParamBytes[nl];
  need.state =
      options.mode == Mode::Train
          ? 2 * weights +
                adamStateBytes(static_cast<uint64_t>(level.prefixParams[nl]),
                               weights)
          : weights + level.prefixCache[nl];
  for (unsigned c = 0; c < mesh.numChips(); ++c) {
    double cap = mesh.kindOf(c).memoryBytes * (1 - options.memoryHeadroom) -
                 kinds[mesh.chips()[c].kind].calibration().reservedBytes;
    need.usable += std::max(0.0, cap);
    if (cap > need.largest) {
      need.largest = cap;
      need.largestKind = mesh.kindOf(c).name;
    }
  }
  return need;
}

std::vector<unsigned> divisors(unsigned n) {
  std::vector<unsigned> d;
  for (unsigned i = 1; i <= n; ++i)
    if (n % i == 0)
      d.push_back(i);
  return d;
}

std::vector<ComputeModel> chipModels(const MeshView &mesh,
                                     const Calibration &calibration,
                                     const PartitionOptions &options) {
  std::vector<ComputeModel> kinds;
  for (const ChipKindSpec &kind : mesh.chipKinds()) {
    kinds.emplace_back(kind, calibration.chip(kind));
    kinds.back().setMathMode(options.math);
  }
  return kinds;
}

double tokensPerSample(func::FuncOp func) {
  for (Type type : func.getArgumentTypes())
    if (auto tensor = dyn_cast<RankedTensorType>(type))
      return tensor.getRank() >= 2 && tensor.hasStaticShape()
                 ? static_cast<double>(tensor.getShape()[1])
                 : 1.0;
  return 1.0;
}

double aggregateBoundS(const Level &level, const MeshView &mesh,
                       uint64_t microBatches) {
  double speed = 0;
  for (unsigned c = 0; c < mesh.numChips(); ++c) {
    double t = level.modelS[mesh.chips()[c].kind];
    speed += t > 0 ? 1 / t : 0;
  }
  return static_cast<double>(microBatches) / speed;
}

} // namespace chipmesh::search
