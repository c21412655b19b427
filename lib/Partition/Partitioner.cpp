//===- Partitioner.cpp - Heterogeneous data x pipeline x tensor plans -----===//

#include "chipmesh/Partition/Partitioner.h"
#include "Search.h"
#include "chipmesh/Support/Units.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include <atomic>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>

using namespace mlir;
using namespace chipmesh;

using units::kGiB;
using units::kInf;

std::optional<ZeroStages> chipmesh::parseZeroStages(llvm::StringRef text) {
  if (text == "auto")
    return kAllZeroStages;
  llvm::SmallVector<llvm::StringRef> parts;
  text.split(parts, ',');
  ZeroStages stages = 0;
  for (llvm::StringRef part : parts) {
    unsigned z = 0;
    if (part.trim().getAsInteger(10, z) || z > kMaxZeroStage)
      return std::nullopt;
    stages |= 1u << z;
  }
  return stages ? std::optional<ZeroStages>(stages) : std::nullopt;
}

std::optional<Strategy> chipmesh::parseStrategy(llvm::StringRef text,
                                                std::string &error) {
  Strategy s;
  llvm::SmallVector<llvm::StringRef> parts;
  text.split(parts, ',', -1, /*KeepEmpty=*/false);
  if (parts.empty()) {
    error = "expected dp=N,pp=N,tp=N";
    return std::nullopt;
  }
  for (llvm::StringRef part : parts) {
    auto [key, value] = part.trim().split('=');
    unsigned n = 0;
    if (value.getAsInteger(10, n) || n < 1 || n > (1u << 20)) {
      error = ("'" + part.trim() + "': expected a count in [1, 2^20]").str();
      return std::nullopt;
    }
    if (key == "dp")
      s.dp = n;
    else if (key == "pp")
      s.pp = n;
    else if (key == "tp")
      s.tp = n;
    else {
      error = ("unknown parallelism '" + key + "' (expected dp, pp, tp)").str();
      return std::nullopt;
    }
  }
  return s;
}

using namespace chipmesh::search;

std::optional<Plan> chipmesh::evaluatePlan(
    const ModelProfile &profile, const MeshView &mesh, const CommModel &comm,
    const std::vector<ComputeModel> &kinds, const PartitionOptions &options,
    Strategy strategy, ReplicaLayout layoutKind,
    llvm::ArrayRef<unsigned> boundaries, uint64_t globalBatch, unsigned zero) {
  Context ctx{mesh, comm, kinds, options, globalBatch,
              objectiveFactor(mesh, options.objective), largestNode(mesh),
              gradientElementBytes(profile, options)};
  // recompute=auto: the other policies' levels beside the one without.
  std::vector<Level> alternatives;
  PartitionOptions base = options;
  if (options.recomputePerStage && options.mode == Mode::Train) {
    for (Recompute r : {Recompute::Selective, Recompute::Full}) {
      base.recompute = r;
      alternatives.push_back(buildLevel(profile, kinds, base));
    }
    base.recompute = Recompute::None;
  }
  Level level = buildLevel(profile, kinds, base);
  uint64_t total = static_cast<uint64_t>(globalBatch / profile.microBatch);
  std::vector<unsigned> all(mesh.numChips());
  for (unsigned c = 0; c < all.size(); ++c)
    all[c] = c;
  std::optional<Layout> layout =
      makeLayout(ctx, level, strategy, layoutKind, total, all);
  if (!layout || boundaries.size() + 1 != layout->numStages())
    return std::nullopt;
  layout->zero = strategy.dp > 1 && options.mode == Mode::Train ? zero : 0;
  if (layout->zero >= 2 && !llvm::all_equal(layout->microBatches))
    return std::nullopt;
  Evaluator eval(ctx, level, *layout, alternatives);
  return eval.simulate(boundaries);
}

std::string chipmesh::describeIdleChips(const PartitionResult &result,
                                        Objective objective, unsigned meshChips) {
  if (result.idleChips.empty())
    return "";
  size_t idle = result.idleChips.size();
  std::string left = llvm::formatv("{0} of the {1} chips left idle", idle, meshChips);
  if (result.givenIdleReason)
    return result.givenIdleReason->empty()
               ? left + ": the given plan does not place them"
               : *result.givenIdleReason;
  if (!(result.allChipsScore < kInf))
    return left + ": no plan that uses every chip fits in memory with its "
                  "tensor groups inside nodes";
  bool step = objective == Objective::StepTime || objective == Objective::Throughput;
  auto time = [](double t) {
    if (t < 1e-3)
      return llvm::formatv("{0:F1} us", t * 1e6).str();
    if (t < 1)
      return llvm::formatv("{0:F2} ms", t * 1e3).str();
    return llvm::formatv("{0:F3} s", t).str();
  };
  double ratio = result.plan.score > 0 ? result.allChipsScore / result.plan.score : 1;
  std::string what = step ? time(result.allChipsScore)
                          : llvm::formatv("a {0} score of {1:e}", stringifyObjective(objective),
                                          result.allChipsScore)
                                .str();
  return left + llvm::formatv(": the best plan using every chip {0} {1} "
                              "({2}{3:F1}% worse than this plan's {4})",
                              result.allChipsExact ? "takes" : "takes at least", what,
                              result.allChipsExact ? "" : ">= ", 100 * (ratio - 1),
                              step ? time(result.plan.stepS)
                                   : llvm::formatv("{0:e}", result.plan.score).str())
                    .str();
}

FailureOr<PartitionResult>
chipmesh::evaluateGivenPlan(func::FuncOp func, const MeshView &mesh,
                            const Calibration &calibration,
                            const PartitionOptions &options,
                            const GivenPlan &given, std::string &whyNot) {
  CommModel comm(mesh, calibration);
  std::vector<ComputeModel> kinds = chipModels(mesh, calibration, options);
  PartitionOptions local = options;
  local.schedule = given.schedule;
  local.virtualStages = given.virtualStages;
  local.fixed = given.strategy;
  CostOptions costOptions;
  costOptions.mode = options.mode;
  costOptions.recompute = options.recompute;
  costOptions.microBatch = static_cast<double>(given.microBatch);
  FailureOr<ModelProfile> profile = profileModel(func, costOptions);
  if (failed(profile))
    return failure();
  if (profile->numUnits() > kMaxPartitionLayers) {
    whyNot = llvm::formatv("the model expands to {0} layers (units with their "
                           "repeats); the partitioner places at most 2^20 = {1}",
                           profile->numUnits(), kMaxPartitionLayers)
                 .str();
    return failure();
  }
  uint64_t longest = 0;
  for (uint64_t m : given.replicaMicroBatches)
    longest = std::max(longest, m);
  if (longest * (given.stageStarts.size() - 1) > kMaxScheduleOps) {
    whyNot = llvm::formatv("plan: {0} stages x {1} micro-batches is more "
                           "schedule than the simulator plays (at most 2^24 "
                           "ops per replica)",
                           given.stageStarts.size() - 1, longest)
                 .str();
    return failure();
  }
  // Recomputation per stage (the file's, or chosen with recompute=auto):
  // the levels of all three policies, none first.
  bool perStage = options.mode == Mode::Train &&
                  (!given.stageRecompute.empty() || options.recomputePerStage);
  std::vector<Level> alternatives;
  if (perStage) {
    PartitionOptions policy = local;
    for (Recompute r : {Recompute::Selective, Recompute::Full}) {
      policy.recompute = r;
      alternatives.push_back(buildLevel(*profile, kinds, policy));
    }
    local.recompute = Recompute::None;
  }
  Level level = buildLevel(std::move(*profile), kinds, local);
  unsigned layers = level.layers.size();
  for (size_t k = 0; k + 1 < given.stageStarts.size(); ++k)
    if (given.stageStarts[k] >= given.stageStarts[k + 1] ||
        given.stageStarts[k + 1] > layers) {
      whyNot = llvm::formatv("plan: stages[{0}].layers [{1}, {2}) is not "
                             "inside the model's {3} layers (units) after the "
                             "stage before",
                             k, given.stageStarts[k], given.stageStarts[k + 1],
                             layers)
                   .str();
      return failure();
    }
  if (given.virtualStages > 1 && options.mode != Mode::Train) {
    whyNot = "plan: virtual_stages > 1 is interleaved 1F1B, a training "
             "schedule; this is mode=infer";
    return failure();
  }
  if (given.stageStarts.back() != layers) {
    whyNot = llvm::formatv("plan: stages[{0}].layers ends at layer {1}, but "
                           "the model has {2} layers (units)",
                           given.stageStarts.size() - 2, given.stageStarts.back(),
                           layers)
                 .str();
    return failure();
  }
  // Priced over the chips the plan places (the others are idle).
  std::vector<unsigned> placed;
  for (const auto &replica : given.groups)
    for (unsigned d = 0; d < given.strategy.pp && d < replica.size(); ++d)
      placed.insert(placed.end(), replica[d].begin(), replica[d].end());
  llvm::sort(placed);
  double factor = objectiveFactor(mesh, local.objective, placed);
  Context ctx{mesh, comm, kinds, local, given.globalBatch, factor,
              largestNode(mesh), gradientElementBytes(level.profile, local)};
  Layout layout;
  layout.strategy = given.strategy;
  layout.layout = given.layout;
  layout.reversedStages = given.reversedStages;
  layout.groups = given.groups;
  layout.shares = given.shares;
  layout.microBatches = given.replicaMicroBatches;
  layout.chunks = given.virtualStages;
  layout.zero = given.zero;
  if (given.zero > 0 && options.mode != Mode::Train) {
    whyNot = "plan: zero > 0 shards training state; this is mode=infer";
    return failure();
  }
  Evaluator eval(ctx, level, layout, alternatives);
  for (Recompute r : given.stageRecompute)
    eval.forcedPolicy.push_back(static_cast<unsigned>(r)); // none, selective, full
  if (!given.stageRecompute.empty() && options.mode != Mode::Train) {
    whyNot = "plan: stages[].recompute is a training setting; this is mode=infer";
    return failure();
  }
  std::vector<unsigned> bounds(given.stageStarts.begin() + 1,
                               given.stageStarts.end() - 1);
  std::optional<Plan> plan = eval.simulate(bounds);
  if (!plan) {
    // simulate() refuses only a device over its memory: name it.
    for (unsigned r = 0; r < layout.groups.size(); ++r)
      for (unsigned d = 0; d < given.strategy.pp; ++d)
        for (size_t k = 0; k < layout.groups[r][d].size(); ++k) {
          unsigned chip = layout.groups[r][d][k];
          // Under the stage's policy, or the one that needs least.
          double need = kInf;
          for (unsigned policy = 0; policy < eval.numPolicies(); ++policy)
            if (eval.forcedPolicy.empty() || eval.forcedPolicy[d] == policy)
              need = std::min(need, eval.deviceMemory(r, d, given.stageStarts, k, policy));
          double usable = mesh.kindOf(chip).memoryBytes * (1 - options.memoryHeadroom);
          if (need > usable) {
            whyNot = llvm::formatv("the plan does not fit in memory: {0} "
                                   "(replica {1}, stage {2}) needs {3:F1} GiB "
                                   "of its {4:F1} GiB usable (over by {5:F1} "
                                   "GiB)",
                                   mesh.chips()[chip].path, r, d, need / kGiB,
                                   usable / kGiB, (need - usable) / kGiB)
                         .str();
            return failure();
          }
        }
    whyNot = "the plan cannot be played (its schedule does not finish)";
    return failure();
  }
  PartitionResult result;
  result.plan = std::move(*plan);
  result.layers = level.layers;
  result.profile = level.profile;
  result.globalBatch = given.globalBatch;
  result.tokensPerSample = tokensPerSample(func);
  result.lowerBoundS = aggregateBoundS(level, mesh, given.globalBatch / given.microBatch);
  result.candidates = given.candidates;
  result.feasible = given.feasible;
  result.pruned = given.pruned;
  for (const DevicePlan &d : result.plan.devices)
    if (d.idle)
      result.idleChips.push_back(d.chip);
  result.givenIdleReason = given.idleReason;
  return result;
}

FailureOr<PartitionResult>
chipmesh::partitionModel(func::FuncOp func, const MeshView &mesh,
                         const Calibration &calibration,
                         const PartitionOptions &options, std::string &whyNot) {
  CommModel comm(mesh, calibration);
  std::vector<ComputeModel> kinds = chipModels(mesh, calibration, options);

  // The traced profile tells the batch and the tokens per sample.
  CostOptions base;
  base.mode = options.mode;
  base.recompute = options.recompute;
  FailureOr<ModelProfile> traced = profileModel(func, base);
  if (failed(traced))
    return failure();
  uint64_t globalBatch = options.globalBatch
                             ? options.globalBatch
                             : static_cast<uint64_t>(traced->tracedBatch);
  // A cost or energy objective scales the step by the chips' prices or
  // powers: a chip without one would make every plan score 0.
  if (options.objective == Objective::Cost || options.objective == Objective::Energy) {
    bool cost = options.objective == Objective::Cost;
    for (const ChipKindSpec &kind : mesh.chipKinds())
      if (!((cost ? kind.priceUsd : kind.tdpWatts) > 0)) {
        whyNot = llvm::formatv("objective={0} needs {1} on every chip kind; "
                               "'{2}' has none (set {1} on its topo.chip_kind)",
                               cost ? "cost" : "energy",
                               cost ? "price_usd" : "tdp_watts", kind.name)
                     .str();
        return failure();
      }
  }
  if (globalBatch < 1) {
    whyNot = "the global batch is 0: give batch=N (the model was traced "
             "with an empty batch)";
    return failure();
  }
  if (traced->numUnits() > kMaxPartitionLayers) {
    whyNot = llvm::formatv("the model expands to {0} layers (units with their "
                           "repeats); the partitioner places at most 2^20 = "
                           "{1}",
                           traced->numUnits(), kMaxPartitionLayers)
                 .str();
    return failure();
  }
  if (options.threads > kMaxSearchThreads) {
    whyNot = llvm::formatv("threads={0} is more than {1}", options.threads,
                           kMaxSearchThreads)
                 .str();
    return failure();
  }

  // Micro-batch sizes to try: the one asked for, or powers of two dividing
  // the global batch.
  std::vector<uint64_t> microBatches;
  if (options.microBatch) {
    if (globalBatch % options.microBatch != 0) {
      whyNot = llvm::formatv("micro-batch {0} does not divide the global "
                             "batch {1}",
                             options.microBatch, globalBatch)
                   .str();
      return failure();
    }
    if (globalBatch / options.microBatch > kMaxMicroBatchesPerStep) {
      whyNot = llvm::formatv("batch {0} in micro-batches of {1} is {2} "
                             "micro-batches per step; the partitioner plays "
                             "each one and takes at most 2^20 = {3} (give a "
                             "larger micro-batch)",
                             globalBatch, options.microBatch,
                             globalBatch / options.microBatch,
                             kMaxMicroBatchesPerStep)
                   .str();
      return failure();
    }
    microBatches.push_back(options.microBatch);
  } else {
    // Up to 64: GEMMs are near their best well before that, and larger
    // micro-batches only grow activations and pipeline bubbles.
    for (uint64_t mb = 1; mb <= std::min<uint64_t>(globalBatch, 64); mb *= 2)
      if (globalBatch % mb == 0 && globalBatch / mb <= kMaxMicroBatchesPerStep)
        microBatches.push_back(mb);
    if (microBatches.empty()) {
      whyNot = llvm::formatv("batch {0} needs more than 2^20 = {1} "
                             "micro-batches per step at every micro-batch "
                             "size searched (powers of two up to 64 dividing "
                             "it); the partitioner plays each one: give "
                             "micro-batch=N with batch / N <= {1}",
                             globalBatch, kMaxMicroBatchesPerStep)
                   .str();
      return failure();
    }
  }

  std::vector<Level> levels;
  // recompute=auto: each micro-batch's levels under selective and full
  // recomputation beside the one without (which `levels` holds).
  bool perStage = options.recomputePerStage && options.mode == Mode::Train;
  std::vector<std::vector<Level>> alternatives;
  for (uint64_t mb : microBatches) {
    CostOptions opts = base;
    opts.microBatch = static_cast<double>(mb);
    FailureOr<ModelProfile> profile = profileModel(func, opts);
    if (failed(profile))
      return failure();
    if (!perStage) {
      levels.push_back(buildLevel(std::move(*profile), kinds, options));
      continue;
    }
    PartitionOptions policy = options;
    std::vector<Level> others;
    for (Recompute r : {Recompute::Selective, Recompute::Full}) {
      policy.recompute = r;
      others.push_back(buildLevel(*profile, kinds, policy));
    }
    policy.recompute = Recompute::None;
    levels.push_back(buildLevel(std::move(*profile), kinds, policy));
    alternatives.push_back(std::move(others));
  }

  // Necessary condition first: the model's state must fit the mesh's
  // memory in aggregate.
  StateNeed need = stateNeed(levels.front(), mesh, kinds, options);
  if (need.state > need.usable && !(need.largest > 0)) {
    // No chip has room left: no count of any kind would help.
    std::string headroom;
    llvm::raw_string_ostream(headroom) << llvm::format("%.9g", options.memoryHeadroom);
    whyNot = llvm::formatv("no plan fits in memory: with headroom {0} no chip "
                           "has memory left after its reserve (the model's "
                           "state takes {1:F1} GiB); lower headroom=",
                           headroom, need.state / kGiB)
                 .str();
    return failure();
  }
  if (need.state > need.usable) {
    whyNot = llvm::formatv(
                 "no plan fits in memory: the model's {0} alone take {1:F1} "
                 "GiB but the {2} chips hold {3:F1} GiB usable (short by "
                 "{4:F1} GiB); at least {5} chips of kind '{6}' would hold it",
                 options.mode == Mode::Train
                     ? "weights, gradients and optimizer states"
                     : "weights and KV cache",
                 need.state / kGiB, mesh.numChips(), need.usable / kGiB,
                 (need.state - need.usable) / kGiB,
                 static_cast<uint64_t>(std::ceil(need.state / need.largest)),
                 need.largestKind)
                 .str();
    return failure();
  }

  // Candidates, in a fixed order (the tie-break): the whole mesh first,
  // then the sub-meshes that leave chips idle.
  struct Candidate {
    unsigned level;
    Strategy strategy;
    ReplicaLayout layout;
    bool reversedStages = false;
    unsigned subset = 0;
    /// ByKind: the tensor degree of each kind, in order of appearance.
    std::vector<unsigned> kindTensor;
    unsigned zero = 0; ///< ZeRO stage
    unsigned chunks = 1; ///< model chunks per device (interleaved 1F1B)
  };
  std::vector<std::vector<unsigned>> subsets = chipSubsets(mesh, options);
  // Subsets that hold every chip of each kind they hold.
  std::vector<bool> wholeKinds;
  for (const std::vector<unsigned> &chips : subsets) {
    std::vector<unsigned> count(mesh.chipKinds().size(), 0), all(mesh.chipKinds().size(), 0);
    for (unsigned c : chips)
      ++count[mesh.chips()[c].kind];
    for (const ChipInstance &chip : mesh.chips())
      ++all[chip.kind];
    bool whole = true;
    for (size_t k = 0; k < count.size(); ++k)
      whole &= count[k] == 0 || count[k] == all[k];
    wholeKinds.push_back(whole);
  }
  std::vector<Candidate> candidates;
  unsigned n = mesh.numChips();
  unsigned layersCount = levels.front().layers.size();
  // Tensor groups stay inside the largest innermost group (a node): its
  // all-reduces every layer would otherwise cross the slowest links.
  unsigned maxTensor = largestNode(mesh);
  std::vector<unsigned> subsetMaxTensor;
  std::vector<double> subsetFactor;
  double gradientBytes = gradientElementBytes(levels.front().profile, options);
  for (auto [si, chips] : llvm::enumerate(subsets)) {
    unsigned size = chips.size();
    unsigned nodeLimit = largestNode(mesh, chips);
    subsetMaxTensor.push_back(nodeLimit);
    subsetFactor.push_back(objectiveFactor(mesh, options.objective, chips));
    // A sub-mesh that cannot hold the model's state in aggregate has no
    // plan; the whole mesh passed this check above.
    if (si > 0) {
      double usable = 0;
      for (unsigned c : chips)
        usable += std::max(0.0, mesh.kindOf(c).memoryBytes * (1 - options.memoryHeadroom) -
                                    kinds[mesh.chips()[c].kind].calibration().reservedBytes);
      if (need.state > usable)
        continue;
    }
    bool mixedKinds = llvm::any_of(chips, [&](unsigned c) {
      return mesh.chips()[c].kind != mesh.chips()[chips.front()].kind;
    });
    for (unsigned li = 0; li < levels.size(); ++li)
      for (unsigned dp : divisors(size))
        for (unsigned tp : divisors(size / dp)) {
          unsigned pp = size / dp / tp;
          Strategy s{dp, pp, tp};
          if (options.fixed && !(*options.fixed == s))
            continue;
          if (!options.fixed && tp > nodeLimit)
            continue;
          if ((dp > 1 && !options.allowData) || (pp > 1 && !options.allowPipeline) ||
              (tp > 1 && !options.allowTensor))
            continue;
          uint64_t total = globalBatch / microBatches[li];
          if (total < dp)
            continue;
          uint64_t perReplica = (total + dp - 1) / dp;
          // Model chunks per device: the one asked for, or with
          // virtual-stages=0 plain and interleaved 1F1B with 2 and 4.
          llvm::SmallVector<unsigned, 3> chunkCounts;
          if (pp == 1)
            chunkCounts = {1};
          else if (options.virtualStages > 0)
            chunkCounts = {options.virtualStages};
          else if (options.mode == Mode::Train && options.schedule == Schedule::OneFOneB)
            chunkCounts = {1, 2, 4};
          else
            chunkCounts = {1};
          for (unsigned chunks : chunkCounts) {
            if (pp * chunks > layersCount)
              continue;
            // The schedule is played op by op: bound its length.
            if (perReplica * pp * chunks > kMaxScheduleOps)
              continue;
            unsigned sub = static_cast<unsigned>(si);
            candidates.push_back({li, s, ReplicaLayout::Blocked, false, sub, {}, 0, chunks});
            if (pp > 1 && mixedKinds)
              candidates.push_back({li, s, ReplicaLayout::Blocked, true, sub, {}, 0, chunks});
            if (dp > 1 && dp < size)
              candidates.push_back({li, s, ReplicaLayout::Strided, false, sub, {}, 0, chunks});
          }
        }
    // By kind: each kind its own tensor degree (2 or 3 kinds; a pipeline
    // of plain 1F1B or GPipe stages).
    std::vector<unsigned> kindsHere, perKind;
    for (unsigned c : chips) {
      auto at = llvm::find(kindsHere, mesh.chips()[c].kind);
      if (at == kindsHere.end()) {
        kindsHere.push_back(mesh.chips()[c].kind);
        perKind.push_back(0);
        at = kindsHere.end() - 1;
      }
      ++perKind[at - kindsHere.begin()];
    }
    // Only over whole kinds (the whole mesh and kind subsets, not node
    // cuts): the search's time grows with every sub-mesh it lays out.
    if (options.fixed || !options.allowPipeline || options.virtualStages > 1 ||
        kindsHere.size() < 2 || kindsHere.size() > 3 || !wholeKinds[si])
      continue;
    std::vector<unsigned> kindNode(kindsHere.size());
    for (size_t k = 0; k < kindsHere.size(); ++k) {
      std::vector<unsigned> ofKind;
      for (unsigned c : chips)
        if (mesh.chips()[c].kind == kindsHere[k])
          ofKind.push_back(c);
      kindNode[k] = largestNode(mesh, ofKind);
    }
    for (unsigned li = 0; li < levels.size(); ++li)
      for (unsigned dp : divisors(size)) {
        if (dp > 1 && !options.allowData)
          continue;
        if (llvm::any_of(perKind, [&](unsigned c) { return c % dp != 0; }))
          continue;
        uint64_t total = globalBatch / microBatches[li];
        if (total < dp)
          continue;
        // Every combination of per-kind degrees dividing the kind's chips
        // per replica and fitting in its nodes.
        std::vector<std::vector<unsigned>> options_(kindsHere.size());
        for (size_t k = 0; k < kindsHere.size(); ++k)
          for (unsigned tp : divisors(perKind[k] / dp))
            if (tp <= kindNode[k] && (tp == 1 || options.allowTensor))
              options_[k].push_back(tp);
        std::vector<size_t> pick(kindsHere.size(), 0);
        while (true) {
          std::vector<unsigned> degrees;
          unsigned pp = 0;
          for (size_t k = 0; k < kindsHere.size(); ++k) {
            degrees.push_back(options_[k][pick[k]]);
            pp += perKind[k] / dp / degrees.back();
          }
          uint64_t perReplica = (total + dp - 1) / dp;
          // Uniform degrees over one replica are the blocked layout again.
          bool uniform = llvm::all_equal(degrees);
          // At most 16 stages: the per-kind widths matter for a few wide
          // stages, and deep by-kind pipelines cost the search most.
          if (pp <= layersCount && pp > 1 && pp <= kMaxByKindStages &&
              !(uniform && dp == 1) &&
              perReplica * pp <= kMaxScheduleOps) {
            unsigned sub = static_cast<unsigned>(si);
            unsigned widest = *llvm::max_element(degrees);
            Strategy st{dp, pp, widest};
            candidates.push_back({li, st, ReplicaLayout::ByKind, false, sub, degrees});
            candidates.push_back({li, st, ReplicaLayout::ByKind, true, sub, degrees});
          }
          size_t k = 0;
          while (k < pick.size() && ++pick[k] == options_[k].size())
            pick[k++] = 0;
          if (k == pick.size())
            break;
        }
      }
  }
  // Each training candidate with data parallelism once per ZeRO stage
  // asked for (stage order is the tie-break); dp = 1 has nothing to shard.
  if (options.mode == Mode::Train && options.zeroStages != 1u) {
    std::vector<Candidate> expanded;
    for (const Candidate &cand : candidates) {
      bool any = false;
      for (unsigned z = 0; z <= kMaxZeroStage; ++z)
        if (cand.strategy.dp > 1 && (options.zeroStages >> z & 1u)) {
          expanded.push_back(cand);
          expanded.back().zero = z;
          any = true;
        }
      if (!any)
        expanded.push_back(cand);
    }
    candidates = std::move(expanded);
  }
  if (candidates.empty()) {
    const std::optional<Strategy> &f = options.fixed;
    if (f && ((f->dp > 1 && !options.allowData) ||
              (f->pp > 1 && !options.allowPipeline) ||
              (f->tp > 1 && !options.allowTensor))) {
      whyNot = llvm::formatv("strategy dp={0},pp={1},tp={2} uses a "
                             "parallelism that allow= excludes",
                             f->dp, f->pp, f->tp)
                   .str();
      return failure();
    }
    if (f && f->dp * f->pp * f->tp == n && f->pp <= layersCount) {
      whyNot = llvm::formatv("strategy dp={0},pp={1},tp={2} needs at least "
                             "{0} micro-batches per step; the global batch "
                             "is {3}",
                             f->dp, f->pp, f->tp, globalBatch)
                   .str();
      return failure();
    }
    whyNot = options.fixed
                 ? llvm::formatv("strategy dp={0},pp={1},tp={2} does not fit "
                                 "the mesh: it needs dp*pp*tp = {3} chips, the "
                                 "mesh has {4}, and pp <= {5} layers",
                                 options.fixed->dp, options.fixed->pp,
                                 options.fixed->tp,
                                 options.fixed->dp * options.fixed->pp *
                                     options.fixed->tp,
                                 n, layersCount)
                       .str()
                 : llvm::formatv(
                       "no strategy fits: the {0} chips must split as dp x pp "
                       "x tp with pp <= {1} layers, tp <= {2} (chips in a "
                       "node), dp <= the micro-batches of a step ({3} at "
                       "most) and pp x micro-batches per replica <= 2^24, "
                       "using only the kinds allow= permits",
                       n, layersCount, maxTensor, globalBatch)
                       .str();
    return failure();
  }

  PartitionOptions local = options;
  std::unique_ptr<tbb::global_control> limit;
  if (options.threads)
    limit = std::make_unique<tbb::global_control>(
        tbb::global_control::max_allowed_parallelism, options.threads);

  // 1. Every candidate's device layout and its lower bound.
  std::vector<std::optional<Layout>> layouts(candidates.size());
  std::vector<double> bounds(candidates.size(), kInf);
  tbb::parallel_for(size_t(0), candidates.size(), [&](size_t index) {
    const Candidate &cand = candidates[index];
    // The candidate's chunk count is what makeLayout reads.
    PartitionOptions mine = local;
    mine.virtualStages = cand.chunks;
    Context ctx{mesh, comm, kinds, mine, globalBatch, subsetFactor[cand.subset],
                subsetMaxTensor[cand.subset], gradientBytes};
    layouts[index] =
        cand.layout == ReplicaLayout::ByKind
            ? makeLayoutByKind(ctx, levels[cand.level], cand.strategy.dp,
                               cand.kindTensor,
                               globalBatch / microBatches[cand.level],
                               subsets[cand.subset], cand.reversedStages)
            : makeLayout(ctx, levels[cand.level], cand.strategy, cand.layout,
                         globalBatch / microBatches[cand.level],
                         subsets[cand.subset], cand.reversedStages);
    if (layouts[index]) {
      layouts[index]->zero = cand.zero;
      // ZeRO-2/3 run collectives every micro-batch across the replicas:
      // each replica must run as many micro-batches as the others.
      if (cand.zero >= 2 && !llvm::all_equal(layouts[index]->microBatches))
        layouts[index].reset();
    }
    if (layouts[index])
      bounds[index] = Evaluator::lowerBound(ctx, levels[cand.level], *layouts[index]) *
                      subsetFactor[cand.subset];
  });
  if (llvm::none_of(layouts, [](const auto &l) { return l.has_value(); })) {
    // Every candidate was refused before pricing: its tensor groups would
    // cross a node, or its replicas could not each get a micro-batch.
    whyNot = llvm::formatv(
                 "no candidate layout: every tensor-parallel group must lie "
                 "inside one node (the largest holds {0} chips), so tp must "
                 "divide the chips of each node it uses{1}{2}",
                 maxTensor,
                 options.fixed ? llvm::formatv(" (strategy tp={0})",
                                               options.fixed->tp)
                                     .str()
                               : std::string(),
                 options.virtualStages > 1
                     ? llvm::formatv("; and with virtual-stages={0} every "
                                     "replica's micro-batches must be a "
                                     "multiple of pp (global batch {1} in "
                                     "micro-batches of {2})",
                                     options.virtualStages, globalBatch,
                                     llvm::join(llvm::map_range(microBatches,
                                                                [](uint64_t m) {
                                                                  return std::to_string(m);
                                                                }),
                                                "/"))
                           .str()
                     : std::string())
                 .str();
    return failure();
  }
  // 2. Most promising first; then in fixed-size rounds, each evaluated in
  // parallel against the best score of the rounds before it. Pruning only
  // skips candidates whose bound exceeds a score already found (the bound
  // is valid, so none of them could win), and which ones it skips does not
  // depend on the thread count.
  std::vector<size_t> order(candidates.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return bounds[a] < bounds[b]; });
  std::vector<std::optional<Plan>> plans(candidates.size());
  std::vector<char> skipped(candidates.size(), 0);
  constexpr size_t kRound = 16;
  double bestScore = kInf;
  for (size_t first = 0; first < order.size(); first += kRound) {
    size_t last = std::min(order.size(), first + kRound);
    double threshold = bestScore;
    tbb::parallel_for(first, last, [&](size_t k) {
      size_t index = order[k];
      if (!layouts[index])
        return;
      if (bounds[index] > threshold) {
        skipped[index] = 1;
        return;
      }
      const Candidate &cand = candidates[index];
      Context ctx{mesh, comm, kinds, local, globalBatch, subsetFactor[cand.subset],
                  subsetMaxTensor[cand.subset], gradientBytes};
      Evaluator eval(ctx, levels[cand.level], *layouts[index],
                     perStage ? llvm::ArrayRef<Level>(alternatives[cand.level])
                              : llvm::ArrayRef<Level>(),
                     /*prepareNow=*/false);
      if (!eval.memoryCanFit())
        return;
      eval.prepare();
      // The evaluator's own bound counts what lowerBound() cannot see.
      // (Kept as the candidate's bound: the idle-chips report quotes it.)
      bounds[index] = std::max(bounds[index], eval.workBound() * ctx.scoreFactor);
      if (bounds[index] > threshold) {
        skipped[index] = 1;
        return;
      }
      plans[index] = eval.bestPlan(options.exhaustiveSplits);
    });
    for (size_t k = first; k < last; ++k)
      if (plans[order[k]])
        bestScore = std::min(bestScore, plans[order[k]]->score);
  }
  unsigned prunedCount = 0;
  for (char c : skipped)
    prunedCount += c;

  PartitionResult result;
  result.candidates = candidates.size();
  result.pruned = prunedCount;
  int best = -1;
  for (size_t i = 0; i < plans.size(); ++i) {
    if (!plans[i])
      continue;
    ++result.feasible;
    if (best < 0 || plans[i]->score < plans[best]->score)
      best = static_cast<int>(i);
  }
  if (best < 0) {
    // The aggregate check above passed: the state fits, activations or
    // the granularity of the split do not.
    size_t nl = levels.front().layers.size();
    // Only what is not already on (a user who set recompute=full must not
    // be told to try it).
    std::vector<std::string> tries;
    if (microBatches.front() > 1)
      tries.push_back("a smaller micro-batch");
    bool training = options.mode == Mode::Train;
    if (training && !perStage && options.recompute != Recompute::Full)
      tries.push_back("recompute=full");
    if (training && !(options.zeroStages >> 3 & 1u) && options.allowData)
      tries.push_back("zero=auto (sharding the training state over "
                      "data-parallel replicas)");
    if (!options.allowTensor)
      tries.push_back("allowing tensor parallelism");
    if (!options.allowPipeline)
      tries.push_back("allowing pipeline parallelism");
    std::string advice =
        tries.empty()
            ? "every option that saves memory is already on: more chips or "
              "chips with more memory are needed"
            : "try " + (tries.size() == 1
                            ? tries[0]
                            : llvm::join(llvm::ArrayRef(tries).drop_back(), ", ") +
                                  " or " + tries.back());
    whyNot = llvm::formatv(
                 "no plan fits in memory: the model's {0:F1} GiB of state fit "
                   "the mesh's {1:F1} GiB in aggregate, but with activations "
                   "of micro-batch {2} no split of {3} layers over the allowed "
                   "strategies keeps every chip under its capacity; {4}",
                   need.state / kGiB, need.usable / kGiB, microBatches.front(), nl,
                   advice)
                   .str();
    return failure();
  }
  const Candidate &winner = candidates[best];
  result.subMeshes = subsets.size();
  if (winner.subset != 0) {
    // Why the chips are idle: every plan over the whole mesh scores at
    // least this (played, or its valid bound where pruned).
    result.allChipsScore = kInf;
    for (size_t i = 0; i < candidates.size() && candidates[i].subset == 0; ++i) {
      if (plans[i] && plans[i]->score <= result.allChipsScore) {
        result.allChipsScore = plans[i]->score;
        result.allChipsExact = true;
      } else if (skipped[i] && bounds[i] < result.allChipsScore) {
        result.allChipsScore = bounds[i];
        result.allChipsExact = false;
      }
    }
    const std::vector<unsigned> &used = subsets[winner.subset];
    for (unsigned c = 0; c < n; ++c)
      if (!std::binary_search(used.begin(), used.end(), c))
        result.idleChips.push_back(c);
  }
  result.plan = std::move(*plans[best]);
  result.layers = levels[winner.level].layers;
  result.profile = levels[winner.level].profile;
  result.globalBatch = globalBatch;
  result.tokensPerSample = tokensPerSample(func);
  // Aggregate-compute bound at the chosen micro-batch.
  const Level &level = levels[winner.level];
  // Over every chip: no plan of this mesh, idle chips or not, beats it.
  result.lowerBoundS =
      aggregateBoundS(level, mesh, globalBatch / microBatches[winner.level]);
  return result;
}
