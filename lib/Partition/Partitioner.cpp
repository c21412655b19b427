//===- Partitioner.cpp - Heterogeneous data x pipeline x tensor plans -----===//

#include "chipmesh/Partition/Partitioner.h"
#include "chipmesh/Support/Units.h"
#include "chipmesh/Support/Apportion.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <atomic>
#include <cmath>
#include <limits>
#include <map>
#include <set>

using namespace mlir;
using namespace chipmesh;

using units::kGiB;
using units::kInf;

llvm::StringRef chipmesh::stringifySchedule(Schedule s) {
  return s == Schedule::GPipe ? "gpipe" : "1f1b";
}
llvm::StringRef chipmesh::stringifyObjective(Objective o) {
  switch (o) {
  case Objective::StepTime:
    return "step-time";
  case Objective::Throughput:
    return "throughput";
  case Objective::Cost:
    return "cost";
  case Objective::Energy:
    return "energy";
  }
  return "";
}
llvm::StringRef chipmesh::stringifyReplicaLayout(ReplicaLayout l) {
  switch (l) {
  case ReplicaLayout::Blocked:
    return "blocked";
  case ReplicaLayout::Strided:
    return "strided";
  case ReplicaLayout::ByKind:
    return "by-kind";
  }
  return "";
}
std::optional<Schedule> chipmesh::symbolizeSchedule(llvm::StringRef name) {
  if (name == "gpipe")
    return Schedule::GPipe;
  if (name == "1f1b")
    return Schedule::OneFOneB;
  return std::nullopt;
}
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

std::optional<Objective> chipmesh::symbolizeObjective(llvm::StringRef name) {
  if (name == "step-time")
    return Objective::StepTime;
  if (name == "throughput")
    return Objective::Throughput;
  if (name == "cost")
    return Objective::Cost;
  if (name == "energy")
    return Objective::Energy;
  return std::nullopt;
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

namespace {

/// Machine-independent facts of one unit, plus its seconds per chip kind.
struct UnitCosts {
  std::vector<double> forwardS, backwardS; ///< per chip kind
  /// The part of forwardS + backwardS (and of forwardS) that a tensor-
  /// parallel group runs whole on every member (UnitKernel).
  std::vector<double> replicatedS, replicatedForwardS;
  double parameters = 0, parameterBytes = 0;
  /// Kept per micro-batch in flight under the recomputation policy (with
  /// full recomputation: the unit's input checkpoint only).
  double savedBytes = 0;
  /// Full recomputation: what rebuilding this unit during backward holds,
  /// once per chip (one unit is rebuilt at a time); 0 otherwise.
  double rebuiltBytes = 0;
  /// The parts of savedBytes and rebuiltBytes a tensor-parallel group
  /// holds whole on every member without sequence parallelism.
  double replicatedSavedBytes = 0, replicatedRebuiltBytes = 0;
  double outputBytes = 0, cacheBytes = 0, largestResult = 0;
  /// All-reduces of the output a tensor-parallel split needs per pass:
  /// one per row-parallel product (Megatron's g operator closing each
  /// column/row pair; at least one if the unit has any product).
  unsigned tensorCollectives = 0;
};

/// Sparse table answering max over [i, j) of a per-layer value in O(1).
struct RangeMax {
  std::vector<std::vector<double>> table; ///< table[p][l]: max of [l, l + 2^p)
  explicit RangeMax(std::vector<double> values = {}) {
    size_t n = values.size();
    table.push_back(std::move(values));
    for (unsigned p = 1; (size_t(1) << p) <= n; ++p) {
      table.emplace_back(n, 0.0);
      for (size_t l = 0; l + (size_t(1) << p) <= n; ++l)
        table[p][l] = std::max(table[p - 1][l],
                               table[p - 1][l + (size_t(1) << (p - 1))]);
    }
  }
  double of(unsigned i, unsigned j) const {
    if (i >= j)
      return 0;
    unsigned p = 31 - __builtin_clz(j - i);
    return std::max(table[p][i], table[p][j - (1u << p)]);
  }
};

/// Everything the search needs at one micro-batch size, read-only.
struct Level {
  ModelProfile profile;
  Recompute recompute = Recompute::None; ///< the policy its costs assume
  std::vector<UnitCosts> units;
  std::vector<LayerRef> layers;
  /// prefix[k][l]: forward + backward seconds of layers [0, l) on kind k;
  /// prefixForward the same for the forward pass alone.
  std::vector<std::vector<double>> prefix, prefixForward;
  /// The same for the work a tensor group runs whole on every member.
  std::vector<std::vector<double>> prefixReplicated, prefixReplicatedForward;
  /// Largest result and largest rebuilt activation set over layer ranges.
  RangeMax largest, largestRebuilt;
  /// Largest one layer's weight bytes over layer ranges: what ZeRO-3
  /// gathers at once (and ZeRO-2/3 hold unsharded as one layer's gradient).
  RangeMax largestWeights;
  double largestIn(unsigned i, unsigned j) const { return largest.of(i, j); }
  std::vector<double> prefixParams, prefixParamBytes, prefixSaved, prefixCache;
  /// The part of prefixSaved (and of the rebuilt sets) a tensor group
  /// holds whole on every member.
  std::vector<double> prefixSavedReplicated;
  RangeMax largestRebuiltReplicated;
  /// Whole-model seconds per micro-batch on each kind, and the part of it
  /// a tensor group runs whole on every member.
  std::vector<double> modelS, modelReplicatedS;
};

/// Score per second of step: 1, or the summed price or power of the chips
/// the plan uses (every chip of the mesh when `chips` is empty).
double objectiveFactor(const MeshView &mesh, Objective objective,
                       llvm::ArrayRef<unsigned> chips = {}) {
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

struct Context {
  const MeshView &mesh;
  const CommModel &comm;
  const std::vector<ComputeModel> &kinds;
  const PartitionOptions &options;
  uint64_t globalBatch;
  /// objectiveFactor(), once per search: it is read on every split tried.
  double scoreFactor;
  /// Chips in the largest innermost group (node): the widest tensor group
  /// that stays inside one.
  unsigned maxTensor = 1;
  /// Bytes per gradient element in the data-parallel all-reduce (0: as the
  /// weights are stored).
  double gradientElementBytes = 0;
  bool training() const { return options.mode == Mode::Train; }
};

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
      c.replicatedSavedBytes = std::min(c.savedBytes, unit.tensorReplicatedSavedBytes);
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
      level.prefix[k][l + 1] = level.prefix[k][l] + c.forwardS[k] + c.backwardS[k];
      level.prefixForward[k][l + 1] = level.prefixForward[k][l] + c.forwardS[k];
      level.prefixReplicated[k][l + 1] = level.prefixReplicated[k][l] + c.replicatedS[k];
      level.prefixReplicatedForward[k][l + 1] =
          level.prefixReplicatedForward[k][l] + c.replicatedForwardS[k];
    }
    level.prefixSavedReplicated[l + 1] =
        level.prefixSavedReplicated[l] + c.replicatedSavedBytes;
    level.prefixParams[l + 1] = level.prefixParams[l] + c.parameters;
    level.prefixParamBytes[l + 1] = level.prefixParamBytes[l] + c.parameterBytes;
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

/// A candidate's device structure: replicas x stages x tensor groups.
struct Layout {
  Strategy strategy;
  ReplicaLayout layout;
  bool reversedStages = false;
  /// groups[r][s] = chips of stage s in replica r.
  std::vector<std::vector<std::vector<unsigned>>> groups;
  std::vector<std::vector<std::vector<double>>> shares;
  std::vector<uint64_t> microBatches; ///< per replica
  /// Model chunks per device (interleaved 1F1B): groups[r] then lists
  /// pp x chunks virtual stages, virtual stage k on the group of k % pp.
  unsigned chunks = 1;
  /// ZeRO stage of the data-parallel groups.
  unsigned zero = 0;
  unsigned numStages() const { return strategy.pp * chunks; }
};

/// The chips of each replica, in stage-major order. Chips first form
/// tensor-parallel blocks of `tp` consecutive chips (inside a node); a
/// replica takes consecutive blocks (`blocked`) or every dp-th block
/// (`strided`, Megatron's order: tensor innermost, then data, then
/// pipeline), so a tensor group is the same set of chips either way and
/// only which replica and stage it serves differs.
std::vector<std::vector<unsigned>> replicaChips(unsigned n, unsigned dp,
                                                unsigned tp,
                                                ReplicaLayout layout) {
  std::vector<std::vector<unsigned>> replicas(dp);
  unsigned per = n / dp;
  for (unsigned i = 0; i < n; ++i) {
    unsigned r = layout == ReplicaLayout::Blocked ? i / per : (i / tp) % dp;
    replicas[r].push_back(i);
  }
  return replicas;
}

/// Bytes per gradient element the data-parallel all-reduce moves.
double gradientElementBytes(const ModelProfile &profile,
                            const PartitionOptions &options) {
  if (options.gradientReduce == GradientReduce::Weights || profile.parameters == 0)
    return 0;
  if (options.gradientReduce == GradientReduce::FP32)
    return 4.0;
  // Megatron: BF16 weights accumulate and reduce their gradients in FP32.
  double width = profile.parameterBytes / static_cast<double>(profile.parameters);
  return profile.computeType == DType::BF16 && width < 4 ? 4.0 : 0.0;
}

/// Chips in the largest innermost topology group (a node).
unsigned largestNode(const MeshView &mesh) {
  unsigned largest = 1;
  llvm::DenseMap<int, unsigned> perGroup;
  for (const ChipInstance &chip : mesh.chips())
    largest = std::max(largest, ++perGroup[chip.group]);
  return largest;
}

/// The same over a subset of the chips: how many of `chips` share a node.
unsigned largestNode(const MeshView &mesh, llvm::ArrayRef<unsigned> chips) {
  unsigned largest = 1;
  llvm::DenseMap<int, unsigned> perGroup;
  for (unsigned c : chips)
    largest = std::max(largest, ++perGroup[mesh.chips()[c].group]);
  return largest;
}

/// The chip sets the search may use, the whole mesh first (it wins ties):
/// every non-empty set of chip kinds (each kind alone and each kind left
/// out when there are more than 6 kinds), and each such set cut to its
/// fuller nodes: for every distinct count c of the set's chips in a node,
/// the chips of the nodes holding at least c of them (a straggler node
/// would otherwise force a prime chip count or a slow link into the plan).
/// Adding a node, of any kind, to a mesh therefore keeps the old mesh
/// among the sets, so the best plan never gets slower. Chips at the mesh's
/// top level are one-chip nodes.
std::vector<std::vector<unsigned>> chipSubsets(const MeshView &mesh,
                                               const PartitionOptions &options) {
  unsigned n = mesh.numChips();
  std::vector<unsigned> all(n);
  for (unsigned c = 0; c < n; ++c)
    all[c] = c;
  std::vector<std::vector<unsigned>> sets = {all};
  if (options.useAllChips || options.fixed)
    return sets;
  auto nodeOf = [&](unsigned c) -> int64_t {
    int group = mesh.chips()[c].group;
    return group >= 0 ? group : -1 - static_cast<int64_t>(c);
  };
  // Kinds that have chips, in the mesh's order.
  std::vector<unsigned> present;
  for (const ChipInstance &chip : mesh.chips())
    if (!llvm::is_contained(present, chip.kind))
      present.push_back(chip.kind);
  std::vector<std::vector<bool>> kindSets; // over `present`
  size_t k = present.size();
  if (k <= 6) {
    for (uint64_t mask = (uint64_t(1) << k) - 1; mask >= 1; --mask) {
      std::vector<bool> keep(k);
      for (size_t i = 0; i < k; ++i)
        keep[i] = (mask >> i) & 1;
      kindSets.push_back(std::move(keep));
    }
  } else {
    kindSets.push_back(std::vector<bool>(k, true));
    for (size_t i = 0; i < k; ++i) {
      std::vector<bool> without(k, true), alone(k, false);
      without[i] = false;
      alone[i] = true;
      kindSets.push_back(std::move(without));
      kindSets.push_back(std::move(alone));
    }
  }
  std::set<std::vector<unsigned>> seen = {all};
  for (const std::vector<bool> &keep : kindSets) {
    std::vector<unsigned> chips;
    for (unsigned c = 0; c < n; ++c) {
      size_t at = llvm::find(present, mesh.chips()[c].kind) - present.begin();
      if (keep[at])
        chips.push_back(c);
    }
    std::map<int64_t, unsigned> perNode;
    for (unsigned c : chips)
      ++perNode[nodeOf(c)];
    std::set<unsigned, std::greater<unsigned>> counts;
    for (auto &[node, count] : perNode)
      counts.insert(count);
    // Fullest nodes first, then down to every node of the set.
    for (unsigned least : counts) {
      std::vector<unsigned> cut;
      for (unsigned c : chips)
        if (perNode[nodeOf(c)] >= least)
          cut.push_back(c);
      if (!cut.empty() && seen.insert(cut).second)
        sets.push_back(std::move(cut));
    }
    // One node left out, for each class of interchangeable nodes (same
    // chips of the set, same parent group and link): the last of its class.
    // Nodes of one class give equal plans whichever is dropped, so one
    // per class covers them all, and a node appended to a mesh is the last
    // of its class.
    std::map<int64_t, std::string> classOf; // node -> its chips' kinds
    std::map<int64_t, unsigned> firstChip;  // node -> where it starts
    for (unsigned c : chips) {
      classOf[nodeOf(c)] += std::to_string(mesh.chips()[c].kind) + ",";
      firstChip.try_emplace(nodeOf(c), c);
    }
    std::map<std::string, int64_t> lastOfClass;
    for (auto &[node, kinds] : classOf) {
      std::string key = kinds;
      if (node >= 0) {
        // The parent by its template (its path without instance indices),
        // not its instance: the nodes of identical racks are
        // interchangeable too, and one subset per rack would multiply the
        // search by the racks.
        const GroupInstance &group = mesh.groups()[node];
        std::string parent = "root";
        if (group.parent >= 0) {
          parent.clear();
          bool inIndex = false;
          for (char ch : mesh.groups()[group.parent].path) {
            if (ch == '[')
              inIndex = true;
            else if (ch == ']')
              inIndex = false;
            else if (!inIndex)
              parent += ch;
          }
          parent += llvm::formatv("|{0}", mesh.groups()[group.parent].linkKind).str();
        }
        key += llvm::formatv("|{0}|{1}|{2}", parent, group.linkKind, group.numChips).str();
      }
      auto [it, inserted] = lastOfClass.try_emplace(key, node);
      if (!inserted && firstChip[node] > firstChip[it->second])
        it->second = node;
    }
    for (auto &[key, dropped] : lastOfClass) {
      std::vector<unsigned> rest;
      for (unsigned c : chips)
        if (nodeOf(c) != dropped)
          rest.push_back(c);
      if (!rest.empty() && seen.insert(rest).second)
        sets.push_back(std::move(rest));
    }
  }
  return sets;
}

/// True when the chips share their innermost topology group (a node).
bool withinOneNode(const MeshView &mesh, llvm::ArrayRef<unsigned> chips) {
  for (unsigned c : chips)
    if (mesh.chips()[c].group != mesh.chips()[chips.front()].group)
      return false;
  return true;
}

/// The layout of `strategy` over the chips `active` (ascending; the others
/// stay idle).
std::optional<Layout> makeLayout(const Context &ctx, const Level &level,
                                 Strategy strategy, ReplicaLayout kind,
                                 uint64_t microBatchesTotal,
                                 llvm::ArrayRef<unsigned> active,
                                 bool reversedStages = false) {
  unsigned n = active.size();
  if (strategy.dp * strategy.pp * strategy.tp != n)
    return std::nullopt;
  Layout layout;
  layout.strategy = strategy;
  layout.layout = kind;
  layout.reversedStages = reversedStages;
  auto replicas = replicaChips(n, strategy.dp, strategy.tp, kind);
  for (auto &chips : replicas)
    for (unsigned &position : chips)
      position = active[position];
  // A tensor group crosses a node only when no node holds it (a fixed
  // strategy with tp above the largest node asks for that explicitly).
  bool groupsMayCrossNodes = strategy.tp > ctx.maxTensor;
  std::vector<double> replicaSpeed;
  for (auto &chips : replicas) {
    std::vector<std::vector<unsigned>> stages;
    std::vector<std::vector<double>> shares;
    double speed = 0;
    for (unsigned s = 0; s < strategy.pp; ++s) {
      std::vector<unsigned> group(chips.begin() + s * strategy.tp,
                                  chips.begin() + (s + 1) * strategy.tp);
      if (!groupsMayCrossNodes && !withinOneNode(ctx.mesh, group))
        return std::nullopt;
      // Speed-proportional shares: a chip twice as fast holds twice the
      // slice, so every member finishes together.
      std::vector<double> share;
      double total = 0;
      for (unsigned c : group) {
        double t = level.modelS[ctx.mesh.chips()[c].kind];
        share.push_back(t > 0 ? 1.0 / t : 1.0);
        total += share.back();
      }
      for (double &x : share)
        x = ctx.options.homogeneous ? 1.0 / group.size() : x / total;
      speed += total;
      stages.push_back(std::move(group));
      shares.push_back(std::move(share));
    }
    // Early 1F1B stages hold more micro-batches: the search also tries the
    // chips in the opposite order, so roomier chips can take stage 0.
    if (reversedStages) {
      std::reverse(stages.begin(), stages.end());
      std::reverse(shares.begin(), shares.end());
    }
    // Interleaving: the same groups again for every further model chunk.
    unsigned chunks = strategy.pp > 1 ? std::max(1u, ctx.options.virtualStages) : 1;
    for (unsigned c = 1; c < chunks; ++c)
      for (unsigned st = 0; st < strategy.pp; ++st) {
        stages.push_back(stages[st]);
        shares.push_back(shares[st]);
      }
    layout.chunks = chunks;
    layout.groups.push_back(std::move(stages));
    layout.shares.push_back(std::move(shares));
    replicaSpeed.push_back(speed);
  }
  if (ctx.options.homogeneous)
    std::fill(replicaSpeed.begin(), replicaSpeed.end(), 1.0);
  auto split = apportionLargestRemainder(microBatchesTotal, replicaSpeed);
  if (!split)
    return std::nullopt;
  layout.microBatches = *split;
  // Megatron's interleaved schedule needs every replica's micro-batches
  // to be a multiple of the pipeline depth.
  if (layout.chunks > 1)
    for (uint64_t m : layout.microBatches)
      if (m % strategy.pp != 0)
        return std::nullopt;
  return layout;
}

/// The by-kind layout over `active`: kinds in the order they first appear
/// (reversed with `reversedStages`); each replica takes the r-th of dp equal
/// consecutive parts of every kind's chips, which form tensor groups of
/// `kindTensor[k]` consecutive chips inside one node; the replica's stages
/// are those groups, kind by kind.
std::optional<Layout> makeLayoutByKind(const Context &ctx, const Level &level,
                                       unsigned dp,
                                       llvm::ArrayRef<unsigned> kindTensor,
                                       uint64_t microBatchesTotal,
                                       llvm::ArrayRef<unsigned> active,
                                       bool reversedStages) {
  std::vector<unsigned> kinds;
  for (unsigned c : active)
    if (!llvm::is_contained(kinds, ctx.mesh.chips()[c].kind))
      kinds.push_back(ctx.mesh.chips()[c].kind);
  if (kinds.size() != kindTensor.size() || dp == 0)
    return std::nullopt;
  Layout layout;
  layout.layout = ReplicaLayout::ByKind;
  layout.reversedStages = reversedStages;
  layout.groups.assign(dp, {});
  layout.shares.assign(dp, {});
  unsigned widest = 1;
  std::vector<double> replicaSpeed(dp, 0.0);
  for (size_t k = 0; k < kinds.size(); ++k) {
    std::vector<unsigned> chips;
    for (unsigned c : active)
      if (ctx.mesh.chips()[c].kind == kinds[k])
        chips.push_back(c);
    unsigned tp = kindTensor[k];
    if (tp == 0 || chips.size() % (dp * tp) != 0)
      return std::nullopt;
    widest = std::max(widest, tp);
    size_t per = chips.size() / dp;
    double t = level.modelS[kinds[k]];
    double speed = t > 0 ? 1.0 / t : 1.0;
    for (unsigned r = 0; r < dp; ++r)
      for (size_t g = 0; g < per; g += tp) {
        std::vector<unsigned> group(chips.begin() + r * per + g,
                                    chips.begin() + r * per + g + tp);
        if (!withinOneNode(ctx.mesh, group))
          return std::nullopt;
        layout.groups[r].push_back(std::move(group));
        // One kind per group: equal shares.
        layout.shares[r].push_back(std::vector<double>(tp, 1.0 / tp));
        replicaSpeed[r] += tp * speed;
      }
  }
  if (reversedStages)
    for (unsigned r = 0; r < dp; ++r) {
      std::reverse(layout.groups[r].begin(), layout.groups[r].end());
      std::reverse(layout.shares[r].begin(), layout.shares[r].end());
    }
  unsigned pp = layout.groups[0].size();
  layout.strategy = {dp, pp, widest};
  auto split = apportionLargestRemainder(microBatchesTotal, replicaSpeed);
  if (!split)
    return std::nullopt;
  layout.microBatches = *split;
  return layout;
}

/// Deepest by-kind pipeline the search lays out.
constexpr unsigned kMaxByKindStages = 16;

/// Seconds and bytes of stage `s` of replica `r` holding layers [i, j).
struct StageCost {
  double forwardS = 0, backwardS = 0; ///< per micro-batch, incl. TP comm
  double tensorCommS = 0;             ///< per micro-batch, both passes
  /// Per micro-batch, both passes: ZeRO-2/3's gathers and reduce-scatters.
  double zeroCommS = 0;
  double worstMemoryOver = 0;         ///< bytes over usable capacity (<= 0 fits)
};

class Evaluator {
public:
  /// `alternatives`: the same micro-batch's levels under further
  /// recomputation policies, slowest last (recompute=auto: each stage takes
  /// the fastest that fits); `level` is the fastest.
  /// With `prepareNow` false only the memory check (memoryCanFit()) may
  /// be asked before prepare(), which prices the links.
  Evaluator(const Context &ctx, const Level &level, const Layout &layout,
            llvm::ArrayRef<Level> alternatives = {}, bool prepareNow = true)
      : ctx(ctx), level(level), layout(layout) {
    policies.push_back(&level);
    for (const Level &other : alternatives)
      policies.push_back(&other);
    shardGroups();
    if (prepareNow)
      prepare();
  }

  /// The link-dependent costs: sends, tensor-parallel and ZeRO
  /// collectives, and which replicas price alike.
  void prepare() {
    // Pipeline sends between consecutive stages: an alone-on-the-mesh
    // transfer is affine in its bytes.
    sendCost.resize(layout.groups.size());
    for (size_t r = 0; r < layout.groups.size(); ++r)
      for (size_t st = 0; st + 1 < layout.groups[r].size(); ++st) {
        unsigned from = layout.groups[r][st][0], to = layout.groups[r][st + 1][0];
        double one = ctx.comm.transferTime(from, to, 1.0);
        double two = ctx.comm.transferTime(from, to, 2.0);
        sendCost[r].push_back({2 * one - two, two - one});
      }
    // Tensor-parallel all-reduce seconds per group, as prefix sums over
    // layers (empty for single-chip groups).
    tensorComm.resize(layout.groups.size());
    size_t n = level.layers.size();
    for (size_t r = 0; r < layout.groups.size(); ++r)
      for (auto &group : layout.groups[r]) {
        std::vector<double> prefix;
        if (group.size() > 1) {
          std::vector<double> perUnit(level.units.size(), 0.0);
          for (size_t u = 0; u < level.units.size(); ++u) {
            const UnitCosts &c = level.units[u];
            if (!c.tensorCollectives)
              continue;
            double once;
            if (ctx.options.sequenceParallel) {
              // Sequence parallelism: the all-reduce becomes a reduce-
              // scatter into sequence shards and, before the next region,
              // an all-gather of them (Korthikanti et al. 2022, sec. 4.2.2).
              std::vector<double> shards;
              for (double part : layout.shares[r][&group - layout.groups[r].data()])
                shards.push_back(c.outputBytes * part);
              once = ctx.comm.collective(CollectiveKind::ReduceScatter, group, shards).seconds +
                     ctx.comm.collective(CollectiveKind::AllGather, group, shards).seconds;
            } else {
              once = ctx.comm.collective(CollectiveKind::AllReduce, group, c.outputBytes)
                         .seconds;
            }
            perUnit[u] = c.tensorCollectives * once;
          }
          prefix.assign(n + 1, 0.0);
          for (size_t l = 0; l < n; ++l)
            prefix[l + 1] = prefix[l] + perUnit[level.layers[l].unit];
        }
        tensorComm[r].push_back(std::move(prefix));
      }
    // ZeRO-2 reduce-scatters every micro-batch's gradients, ZeRO-3 also
    // gathers the weights for its forward and its backward: one collective
    // per layer (FSDP's per-block units; DeepSpeed's buckets), prefix sums
    // over layers of the slowest tensor rank's seconds.
    if (ctx.training() && layout.zero >= 2) {
      zeroGather.resize(layout.numStages());
      zeroScatter.resize(layout.numStages());
      for (size_t st = 0; st < layout.numStages(); ++st) {
        std::vector<double> gather(level.units.size(), 0.0),
            scatter(level.units.size(), 0.0);
        for (size_t u = 0; u < level.units.size(); ++u) {
          const UnitCosts &c = level.units[u];
          if (c.parameterBytes <= 0)
            continue;
          double grads = gradientBytes(c.parameters, c.parameterBytes);
          scatter[u] = dataGroupsTogether(st, CollectiveKind::ReduceScatter, grads);
          if (layout.zero >= 3)
            gather[u] = dataGroupsTogether(st, CollectiveKind::AllGather, c.parameterBytes);
        }
        zeroGather[st].assign(n + 1, 0.0);
        zeroScatter[st].assign(n + 1, 0.0);
        for (size_t l = 0; l < n; ++l) {
          zeroGather[st][l + 1] = zeroGather[st][l] + gather[level.layers[l].unit];
          zeroScatter[st][l + 1] = zeroScatter[st][l] + scatter[level.layers[l].unit];
        }
      }
    }
    // Replicas that price alike (same micro-batches, and per stage the
    // same member kinds, shares, sends and tensor-parallel times) give the
    // same stage weights and memory: the split search looks at one of each
    // (a homogeneous mesh has hundreds of identical replicas).
    for (unsigned r = 0; r < layout.groups.size(); ++r) {
      bool seen = false;
      for (unsigned q : distinct)
        if (pricesAlike(q, r)) {
          seen = true;
          break;
        }
      if (!seen)
        distinct.push_back(r);
    }
  }

  /// Data-parallel groups and each member's ZeRO shard fraction (no link
  /// is priced).
  void shardGroups() {
    // Data-parallel groups: tensor rank t of stage s over the replicas that
    // have one (by-kind groups may be narrower than tp).
    dataGroups.resize(layout.numStages());
    for (size_t st = 0; st < layout.numStages(); ++st) {
      size_t width = 0;
      for (const auto &replica : layout.groups)
        width = std::max(width, replica[st].size());
      for (size_t t = 0; t < width; ++t) {
        DataGroup g;
        double room = 0;
        for (size_t r = 0; r < layout.groups.size(); ++r)
          if (t < layout.groups[r][st].size()) {
            unsigned chip = layout.groups[r][st][t];
            g.chips.push_back(chip);
            g.share = std::max(g.share, layout.shares[r][st][t]);
            g.fractions.push_back(std::max(0.0, usable(chip) - reservedOf(chip)));
            room += g.fractions.back();
          }
        // ZeRO shards in proportion to each member's memory (even shards
        // on chips alike, or when heterogeneity is ignored).
        for (double &f : g.fractions)
          f = ctx.options.homogeneous || !(room > 0) ? 1.0 / g.chips.size() : f / room;
        dataGroups[st].push_back(std::move(g));
      }
    }
    dataGroupChips.resize(layout.numStages());
    for (size_t st = 0; st < layout.numStages(); ++st)
      for (const DataGroup &g : dataGroups[st])
        dataGroupChips[st].push_back(g.chips);
    memberFraction.resize(layout.groups.size());
    for (size_t r = 0; r < layout.groups.size(); ++r)
      for (size_t st = 0; st < layout.numStages(); ++st) {
        std::vector<double> fractions;
        for (size_t t = 0; t < layout.groups[r][st].size(); ++t) {
          const DataGroup &g = dataGroups[st][t];
          auto at = llvm::find(g.chips, layout.groups[r][st][t]);
          fractions.push_back(g.fractions[at - g.chips.begin()]);
        }
        memberFraction[r].push_back(std::move(fractions));
      }
  }

  /// True when replicas a and b have the same inputs to stage(), send()
  /// and memberMemory() at every stage.
  bool pricesAlike(unsigned a, unsigned b) const {
    if (layout.microBatches[a] != layout.microBatches[b] ||
        layout.groups[a].size() != layout.groups[b].size())
      return false;
    for (size_t s = 0; s < layout.groups[a].size(); ++s) {
      const auto &ga = layout.groups[a][s], &gb = layout.groups[b][s];
      if (ga.size() != gb.size() || layout.shares[a][s] != layout.shares[b][s])
        return false;
      for (size_t m = 0; m < ga.size(); ++m)
        if (ctx.mesh.chips()[ga[m]].kind != ctx.mesh.chips()[gb[m]].kind)
          return false;
      if (s < sendCost[a].size() && sendCost[a][s] != sendCost[b][s])
        return false;
      if (tensorComm[a][s] != tensorComm[b][s])
        return false;
    }
    return true;
  }

  unsigned numLayers() const { return level.layers.size(); }

  /// Per-micro-batch seconds of stage s of replica r over layers [i, j).
  StageCost stage(unsigned r, unsigned s, unsigned i, unsigned j,
                  bool wantMemory, unsigned policy = 0) const {
    const Level &level = *policies[policy];
    StageCost cost;
    const auto &group = layout.groups[r][s];
    const auto &share = layout.shares[r][s];
    bool training = ctx.training();
    double compute = 0, forwardFraction = 0;
    bool whole = replicatesOutsideRegions(group.size());
    // A member's share of the split work, plus the replicated work whole
    // (or its share of it under sequence parallelism).
    auto work = [&](const std::vector<std::vector<double>> &all,
                    const std::vector<std::vector<double>> &replicated, unsigned k,
                    double part) {
      double total = all[k][j] - all[k][i];
      double repl = replicated[k][j] - replicated[k][i];
      return part * (total - repl) + (whole ? repl : part * repl);
    };
    for (size_t m = 0; m < group.size(); ++m) {
      unsigned k = ctx.mesh.chips()[group[m]].kind;
      compute = std::max(compute, work(level.prefix, level.prefixReplicated, k, share[m]));
    }
    // Split compute into forward and backward by the kind of member 0.
    unsigned k0 = ctx.mesh.chips()[group[0]].kind;
    double all0 = work(level.prefix, level.prefixReplicated, k0, share[0]);
    double fwd0 = work(level.prefixForward, level.prefixReplicatedForward, k0, share[0]);
    const std::vector<double> &tc = tensorComm[r][s];
    double comm = tc.empty() ? 0.0 : tc[j] - tc[i];
    forwardFraction = all0 > 0 ? fwd0 / all0 : 1.0;
    double forward = compute * forwardFraction,
           backward = compute * (1 - forwardFraction);
    if (ctx.options.overlapTensorComm) {
      // Chunked GEMMs exchange their slices while computing (Transformer
      // Engine userbuffers, Megatron --tp-comm-overlap): the longer of the
      // two sets the pass.
      cost.forwardS = std::max(forward, comm);
      cost.backwardS = training ? std::max(backward, comm) : 0.0;
    } else {
      cost.forwardS = forward + comm;
      cost.backwardS = training ? backward + comm : 0.0;
    }
    cost.tensorCommS = training ? 2 * comm : comm;
    if (!zeroScatter.empty()) {
      // ZeRO-3 prefetches the next layer's weights while one computes and
      // reduces gradients on their own stream (FSDP's default
      // backward_prefetch, DeepSpeed's prefetch and overlap_comm), so a
      // pass takes the longer of its compute and its gathers; ZeRO-2's
      // reduce-scatters overlap the backward only with overlap-grad-reduce.
      double gather = zeroGather[s][j] - zeroGather[s][i];
      double scatter = zeroScatter[s][j] - zeroScatter[s][i];
      if (layout.zero >= 3) {
        cost.forwardS = std::max(cost.forwardS, gather);
        cost.backwardS = std::max(cost.backwardS, gather + scatter);
      } else if (ctx.options.overlapGradientReduce) {
        cost.backwardS = std::max(cost.backwardS, scatter);
      } else {
        cost.backwardS += scatter;
      }
      cost.zeroCommS = 2 * gather + scatter;
    }
    if (wantMemory)
      cost.worstMemoryOver = memoryOver(r, s, i, j, policy);
    return cost;
  }

  /// Micro-batches of activations stage s keeps at once.
  double inFlight(unsigned r, unsigned s) const {
    if (!ctx.training())
      return 1;
    uint64_t m = layout.microBatches[r];
    if (ctx.options.schedule == Schedule::GPipe)
      return static_cast<double>(m);
    unsigned p = layout.strategy.pp;
    return static_cast<double>(std::min<uint64_t>(m, p - s));
  }

  /// Interleaved 1F1B: the most activation bytes device d of replica r
  /// holds at once, `saved[c]` being one micro-batch's saved bytes of its
  /// chunk c. Played over the device's own op order (Megatron's), since
  /// chunks of unequal size peak at different times.
  double interleavedPeak(unsigned r, unsigned d,
                         llvm::ArrayRef<double> saved) const {
    uint64_t m = layout.microBatches[r], p = layout.strategy.pp,
             v = layout.chunks;
    double held = 0, peak = 0;
    // After the warm-up the steady state's forwards and backwards each
    // cycle through the chunks every p v micro-batch-chunks, so the held
    // bytes repeat every 2 p v ops, and the drain only frees: the peak is
    // within the warm-up and one period after it.
    uint64_t warmup = m == p ? m * v : 2 * (p - d - 1) + (v - 1) * p;
    uint64_t ops = std::min<uint64_t>(2 * m * v, warmup + 2 * p * v + 2);
    for (uint64_t i = 0; i < ops; ++i) {
      PipeOp op = interleavedOpAt(p, v, d, m, i);
      unsigned c = op.virtualStage / p;
      held += op.backward ? -saved[c] : saved[c];
      peak = std::max(peak, held);
    }
    return peak;
  }

  /// Memory of member `member` of device `d` (replica r) when it holds
  /// the chunks d, d + p, ... of the virtual stages starting at `starts`.
  double deviceMemory(unsigned r, unsigned d, llvm::ArrayRef<unsigned> starts,
                      size_t member, unsigned policy = 0) const {
    if (layout.chunks == 1)
      return memberMemory(r, d, starts[d], starts[d + 1], member, policy);
    const Level &level = *policies[policy];
    double params = 0, weights = 0, largest = 0, rebuilt = 0, layer = 0,
           rebuiltWhole = 0;
    double share = layout.shares[r][d][member];
    bool whole = replicatesOutsideRegions(layout.groups[r][d].size()) && share > 0;
    std::vector<double> saved;
    for (unsigned k = d; k < layout.numStages(); k += layout.strategy.pp) {
      unsigned i = starts[k], j = starts[k + 1];
      params += level.prefixParams[j] - level.prefixParams[i];
      weights += level.prefixParamBytes[j] - level.prefixParamBytes[i];
      // Held whole, the replicated part weighs 1/share against the
      // split part (the peak is linear in the bytes, scaled by the share
      // below).
      double repl = level.prefixSavedReplicated[j] - level.prefixSavedReplicated[i];
      saved.push_back(level.prefixSaved[j] - level.prefixSaved[i] +
                      (whole ? repl * (1 / share - 1) : 0.0));
      largest = std::max(largest, level.largestIn(i, j));
      rebuilt = std::max(rebuilt, level.largestRebuilt.of(i, j));
      rebuiltWhole = std::max(rebuiltWhole, level.largestRebuiltReplicated.of(i, j));
      layer = std::max(layer, level.largestWeights.of(i, j));
    }
    // The peak depends on the replica only through its micro-batch count:
    // played once per (count, device) for one split and policy (simulate()
    // asks for every member of every replica).
    if (llvm::ArrayRef<unsigned>(peakCache.starts) != starts || peakCache.policy != policy) {
      peakCache.starts.assign(starts.begin(), starts.end());
      peakCache.policy = policy;
      peakCache.peaks.clear();
    }
    auto [slot, fresh] = peakCache.peaks.try_emplace(
        {layout.microBatches[r], d, whole ? share : 1.0}, 0.0);
    if (fresh)
      slot->second = interleavedPeak(r, d, saved);
    // Training only: interleaving is a training schedule.
    double bytes = trainingState(weights, params, layer, r, d, member) +
                   slot->second + rebuilt + rebuiltWhole + 2 * largest;
    unsigned chip = layout.groups[r][d][member];
    double reserved = ctx.kinds[ctx.mesh.chips()[chip].kind].calibration().reservedBytes;
    return share * bytes + (whole ? (1 - share) * rebuiltWhole : 0.0) + reserved;
  }

  /// Memory of each member of stage s (replica r) holding [i, j).
  double memberMemory(unsigned r, unsigned s, unsigned i, unsigned j,
                      size_t member, unsigned policy = 0) const {
    const Level &level = *policies[policy];
    double share = layout.shares[r][s][member];
    double params = level.prefixParams[j] - level.prefixParams[i];
    double weights = level.prefixParamBytes[j] - level.prefixParamBytes[i];
    double largest = level.largestIn(i, j);
    double bytes = weights;
    // Activations a tensor group holds whole on every member.
    double wholeBytes = 0;
    if (ctx.training()) {
      bytes = trainingState(weights, params, level.largestWeights.of(i, j),
                            r, s, member);
      // Interleaving: one range is one chunk of a device that holds
      // others; only its state is a sure lower bound (simulate() checks
      // the device as a whole).
      double flight = layout.chunks > 1 ? 0.0 : inFlight(r, s);
      double rebuiltWhole = level.largestRebuiltReplicated.of(i, j);
      bytes += (level.prefixSaved[j] - level.prefixSaved[i]) * flight +
               level.largestRebuilt.of(i, j) + rebuiltWhole;
      if (replicatesOutsideRegions(layout.groups[r][s].size()))
        wholeBytes = (level.prefixSavedReplicated[j] - level.prefixSavedReplicated[i]) *
                         flight +
                     rebuiltWhole;
    } else {
      bytes += level.prefixCache[j] - level.prefixCache[i];
    }
    bytes += 2 * largest;
    unsigned chip = layout.groups[r][s][member];
    double reserved = ctx.kinds[ctx.mesh.chips()[chip].kind].calibration().reservedBytes;
    return share * bytes + (1 - share) * wholeBytes + reserved;
  }

  /// True when a tensor group of `width` members runs the ops outside its
  /// regions whole on every member (no sequence parallelism).
  bool replicatesOutsideRegions(size_t width) const {
    return width > 1 && !ctx.options.sequenceParallel;
  }

  double reservedOf(unsigned chip) const {
    return ctx.kinds[ctx.mesh.chips()[chip].kind].calibration().reservedBytes;
  }

  /// Gradient bytes of `params` parameters stored in `weights` bytes, as
  /// the data-parallel reduction moves them.
  double gradientBytes(double params, double weights) const {
    return params > 0 && ctx.gradientElementBytes > 0
               ? params * ctx.gradientElementBytes
               : weights;
  }

  /// Training state of a range of `weights` bytes and `params` parameters
  /// on member `member` of stage s of replica r under the layout's ZeRO
  /// stage: weights, gradients and Adam states, each either whole or the
  /// member's shard (its fraction f of its data-parallel group), plus what
  /// sharding holds whole for a moment (`layer`: the range's largest
  /// layer's weight bytes). ZeRO-2 holds one layer's gradient before
  /// reducing it; ZeRO-3 also two layers' gathered weights (the one
  /// computing and the one prefetched: FSDP's limit_all_gathers allows two
  /// in flight).
  double trainingState(double weights, double params, double layer, unsigned r,
                       unsigned s, size_t member) const {
    double optimizer =
        params > 0 ? adamStateBytes(static_cast<uint64_t>(params), weights) : 0.0;
    double f = memberFraction[r][s][member];
    bool sharded = f < 1;
    switch (layout.zero) {
    case 0:
      return 2 * weights + optimizer;
    case 1:
      return 2 * weights + optimizer * f;
    case 2:
      return weights + weights * f + optimizer * f + (sharded ? layer : 0.0);
    default:
      return (2 * weights + optimizer) * f + (sharded ? 3 * layer : 0.0);
    }
  }

  double usable(unsigned chip) const {
    return ctx.mesh.kindOf(chip).memoryBytes * (1 - ctx.options.memoryHeadroom);
  }

  double memoryOver(unsigned r, unsigned s, unsigned i, unsigned j,
                    unsigned policy = 0) const {
    double worst = -kInf;
    for (size_t m = 0; m < layout.groups[r][s].size(); ++m)
      worst = std::max(worst, memberMemory(r, s, i, j, m, policy) -
                                  usable(layout.groups[r][s][m]));
    return worst;
  }

  /// Recomputation policies tried (1, or 3 with recompute=auto).
  unsigned numPolicies() const { return static_cast<unsigned>(policies.size()); }

  double send(unsigned r, unsigned s, unsigned boundaryLayer) const {
    // The activation leaving stage s, rank 0 to rank 0 of stage s + 1:
    // latency + bytes x seconds per byte, both fixed per stage pair.
    double bytes = level.units[level.layers[boundaryLayer].unit].outputBytes;
    if (bytes <= 0)
      return 0;
    const auto &[latency, perByte] = sendCost[r][s];
    return latency + bytes * perByte;
  }

  /// Steady-state weight of stage s over [i, j): the slowest replica's
  /// micro-batches x per-micro-batch time (+ the receive from s - 1).
  double weight(unsigned s, unsigned i, unsigned j) const {
    if (policies.size() == 1)
      return weightUnder(s, i, j, 0);
    // The fastest policy that fits (policies are ordered fastest first:
    // none, selective, full).
    for (unsigned policy = 0; policy < policies.size(); ++policy)
      if (fitsUnder(s, i, j, policy))
        return weightUnder(s, i, j, policy);
    return kInf;
  }

  double weightUnder(unsigned s, unsigned i, unsigned j, unsigned policy) const {
    double worst = 0;
    for (unsigned r : distinct) {
      StageCost c = stage(r, s, i, j, false, policy);
      double t = c.forwardS + c.backwardS;
      if (s > 0)
        t += send(r, s - 1, i - 1) * (ctx.training() ? 2 : 1);
      worst = std::max(worst, layout.microBatches[r] * t);
    }
    return worst;
  }

  bool fits(unsigned s, unsigned i, unsigned j) const {
    // Under any policy (none always needs the most; selective and full
    // can order either way: full keeps one rebuilt layer besides the
    // checkpoints).
    for (unsigned policy = 0; policy < policies.size(); ++policy)
      if (fitsUnder(s, i, j, policy))
        return true;
    return false;
  }

  bool fitsUnder(unsigned s, unsigned i, unsigned j, unsigned policy) const {
    for (unsigned r : distinct)
      if (memoryOver(r, s, i, j, policy) > 0)
        return false;
    return true;
  }

  /// Stage boundaries minimizing the heaviest stage (dynamic programming
  /// over layers; the split point is found by binary search because the
  /// earlier stages' optimum grows and this stage's weight shrinks with
  /// it). Empty if no split fits in memory.
  std::optional<std::vector<unsigned>> bestBoundaries() const {
    unsigned p = layout.numStages(), n = numLayers();
    if (p > n)
      return std::nullopt;
    // best[s][j]: heaviest stage when stages 0..s hold layers [0, j).
    std::vector<std::vector<double>> best(p, std::vector<double>(n + 1, kInf));
    std::vector<std::vector<unsigned>> from(p, std::vector<unsigned>(n + 1, 0));
    for (unsigned j = 1; j <= n; ++j)
      if (fits(0, 0, j))
        best[0][j] = weight(0, 0, j);
    for (unsigned s = 1; s < p; ++s) {
      for (unsigned j = s + 1; j <= n; ++j) {
        // Candidates i in [s, j - 1]; memory fits for i >= lo.
        unsigned lo = s, hi = j - 1;
        if (!fits(s, hi, j))
          continue;
        // Smallest i that fits (memory shrinks as i grows).
        unsigned a = lo, b = hi;
        while (a < b) {
          unsigned mid = a + (b - a) / 2;
          if (fits(s, mid, j))
            b = mid;
          else
            a = mid + 1;
        }
        lo = a;
        // best[s-1][i] grows with i, weight(s, i, j) shrinks: find the
        // crossing, then check its neighbours.
        unsigned x = lo, y = hi;
        while (x < y) {
          unsigned mid = x + (y - x) / 2;
          if (best[s - 1][mid] >= weight(s, mid, j))
            y = mid;
          else
            x = mid + 1;
        }
        for (unsigned i : {x > lo ? x - 1 : x, x}) {
          if (i < lo || i > hi)
            continue;
          double v = std::max(best[s - 1][i], weight(s, i, j));
          if (v < best[s][j]) {
            best[s][j] = v;
            from[s][j] = i;
          }
        }
      }
    }
    if (!(best[p - 1][n] < kInf))
      return std::nullopt;
    std::vector<unsigned> bounds(p - 1);
    unsigned j = n;
    for (unsigned s = p - 1; s > 0; --s) {
      j = from[s][j];
      bounds[s - 1] = j;
    }
    return bounds;
  }

  /// Simulates the plan with the given boundaries.
  /// `cutoff`: give up (nullopt) as soon as the plan's score is known to
  /// exceed it, before pricing the gradient synchronisation.
  std::optional<Plan> simulate(llvm::ArrayRef<unsigned> bounds,
                               double cutoff = kInf) const {
    unsigned p = layout.numStages(), n = numLayers();
    std::vector<unsigned> starts = {0};
    starts.insert(starts.end(), bounds.begin(), bounds.end());
    starts.push_back(n);
    for (unsigned s = 0; s < p; ++s)
      if (starts[s] >= starts[s + 1])
        return std::nullopt;
    // Each stage's recomputation: as given, else the fastest policy under
    // which every member of every replica fits (per device when
    // interleaving: its chunks share its memory).
    std::vector<unsigned> stagePolicy(p, 0);
    if (!forcedPolicy.empty()) {
      stagePolicy = forcedPolicy;
    } else if (policies.size() > 1) {
      unsigned depthHere = layout.strategy.pp;
      for (unsigned d = 0; d < (layout.chunks > 1 ? depthHere : p); ++d) {
        unsigned chosen = numPolicies();
        for (unsigned policy = 0; policy < numPolicies() && chosen == numPolicies();
             ++policy) {
          bool ok = true;
          for (unsigned r = 0; r < layout.groups.size() && ok; ++r)
            for (size_t k = 0; k < layout.groups[r][d].size() && ok; ++k)
              ok = deviceMemory(r, d, starts, k, policy) <=
                   usable(layout.groups[r][d][k]);
          if (ok)
            chosen = policy;
        }
        if (chosen == numPolicies())
          return std::nullopt;
        for (unsigned k = d; k < p; k += (layout.chunks > 1 ? depthHere : p))
          stagePolicy[k] = chosen;
      }
    }
    Plan plan;
    plan.strategy = layout.strategy;
    plan.layout = layout.layout;
    plan.reversedStages = layout.reversedStages;
    plan.schedule = ctx.options.schedule;
    plan.microBatch = level.profile.microBatch;
    plan.replicaMicroBatches = layout.microBatches;
    plan.virtualStages = layout.chunks;
    plan.zero = layout.zero;
    if (policies.size() > 1 || !forcedPolicy.empty())
      for (unsigned s = 0; s < p; ++s)
        plan.stageRecompute.push_back(policies[stagePolicy[s]]->recompute);
    // Every chip starts idle; the stages below claim theirs.
    plan.devices.resize(ctx.mesh.numChips());
    for (unsigned c = 0; c < ctx.mesh.numChips(); ++c) {
      plan.devices[c].chip = c;
      plan.devices[c].idle = true;
      plan.devices[c].capacityBytes = ctx.mesh.kindOf(c).memoryBytes;
    }
    for (unsigned s = 0; s < p; ++s) {
      StagePlan stage;
      stage.firstLayer = starts[s];
      stage.endLayer = starts[s + 1];
      for (unsigned r = 0; r < layout.groups.size(); ++r) {
        stage.devices.push_back(layout.groups[r][s]);
        stage.shares.push_back(layout.shares[r][s]);
      }
      plan.stages.push_back(std::move(stage));
    }
    bool training = ctx.training();
    // p virtual stages over `depth` devices per replica (equal without
    // interleaving).
    unsigned depth = layout.strategy.pp;
    double pipeline = 0;
    struct SimulatedReplica {
      uint64_t microBatches;
      std::vector<double> forward, backward, sendForward, sendBackward;
      double makespan;
      std::vector<double> stageEnd;
    };
    std::vector<SimulatedReplica> simulated;
    // When each device's gradients are complete: its slowest replica's end.
    std::vector<double> stageDone(depth, 0.0);
    for (unsigned r = 0; r < layout.groups.size(); ++r) {
      std::vector<double> fwd, bwd, sendF, sendB;
      for (unsigned s = 0; s < p; ++s) {
        StageCost c = stage(r, s, starts[s], starts[s + 1], false, stagePolicy[s]);
        fwd.push_back(c.forwardS);
        bwd.push_back(c.backwardS);
        if (s + 1 < p) {
          double t = send(r, s, starts[s + 1] - 1);
          sendF.push_back(t);
          sendB.push_back(training ? t : 0.0);
        }
        uint64_t m = layout.microBatches[r];
        bool firstChunk = s < depth;
        for (size_t k = 0; k < layout.groups[r][s].size(); ++k) {
          unsigned chip = layout.groups[r][s][k];
          DevicePlan &d = plan.devices[chip];
          if (firstChunk) {
            d.chip = chip;
            d.idle = false;
            d.replica = r;
            d.stage = s;
            d.tpRank = k;
            d.share = layout.shares[r][s][k];
            d.computeS = d.commS = 0;
            d.memoryBytes = deviceMemory(r, s, starts, k, stagePolicy[s]);
            d.capacityBytes = ctx.mesh.kindOf(chip).memoryBytes;
            if (d.memoryBytes > usable(chip))
              return std::nullopt;
          }
          unsigned kind = ctx.mesh.chips()[chip].kind;
          const Level &costs = *policies[stagePolicy[s]];
          unsigned i = starts[s], j = starts[s + 1];
          double all = costs.prefix[kind][j] - costs.prefix[kind][i];
          double repl = costs.prefixReplicated[kind][j] - costs.prefixReplicated[kind][i];
          d.computeS += m * (d.share * (all - repl) +
                             (replicatesOutsideRegions(layout.groups[r][s].size())
                                  ? repl
                                  : d.share * repl));
          d.commS += m * (c.tensorCommS + c.zeroCommS);
          if (s + 1 < p)
            d.commS += m * sendF.back() * (training ? 2 : 1) / layout.groups[r][s].size();
        }
      }
      // No schedule beats the busiest stage running all its micro-batches
      // back to back: skip playing one that cannot win.
      std::vector<double> perDevice(depth, 0.0);
      for (unsigned s = 0; s < p; ++s)
        perDevice[s % depth] += fwd[s] + bwd[s];
      double busiest = 0;
      for (double t : perDevice)
        busiest = std::max(busiest, layout.microBatches[r] * t);
      if (layout.chunks == 1) {
        // Nor can stage s start before micro-batch 0 reaches it, or the
        // step end before its last backward returns through the stages
        // before it (GPipe and 1F1B alike); inference: the last forward
        // still has the stages after s to pass.
        double before = 0, after = 0;
        if (!training)
          for (unsigned s = 0; s < p; ++s)
            after += fwd[s] + (s + 1 < p ? sendF[s] : 0.0);
        for (unsigned s = 0; s < p; ++s) {
          double own = layout.microBatches[r] * (fwd[s] + bwd[s]);
          busiest = std::max(busiest, training ? before + own
                                               : after - fwd[s] + own);
          before += fwd[s] + bwd[s] + (s + 1 < p ? sendF[s] + sendB[s] : 0.0);
        }
      }
      if (busiest * scoreFactor() > cutoff)
        return std::nullopt;
      // Replicas of the same kinds have the same pipeline: play it once.
      const SimulatedReplica *played = nullptr;
      for (const SimulatedReplica &seen : simulated)
        if (seen.microBatches == layout.microBatches[r] && seen.forward == fwd &&
            seen.backward == bwd && seen.sendForward == sendF &&
            seen.sendBackward == sendB)
          played = &seen;
      if (!played) {
        std::vector<double> ends;
        double makespan =
            simulatePipeline(ctx.options.schedule, fwd, bwd, sendF, sendB,
                             layout.microBatches[r], training, nullptr, &ends,
                             layout.chunks);
        simulated.push_back({layout.microBatches[r], fwd, bwd, sendF, sendB,
                             makespan, std::move(ends)});
        played = &simulated.back();
      }
      pipeline = std::max(pipeline, played->makespan);
      for (unsigned s = 0; s < depth; ++s)
        stageDone[s] = std::max(stageDone[s], played->stageEnd[s]);
      plan.pipelines.push_back({layout.microBatches[r], fwd, bwd, sendF, sendB});
    }
    if (pipeline * scoreFactor() > cutoff)
      return std::nullopt;
    // Gradient all-reduce across replicas, per stage and tensor rank: a
    // stage's groups start when its gradients are complete (its last
    // backward on every replica), or with overlap while that backward
    // runs; the step waits for the last to finish, then one optimizer
    // update.
    double sync = 0, optimizer = 0, synced = pipeline;
    if (training) {
      for (unsigned s = 0; s < depth; ++s) {
        // Every chunk the device holds (one without interleaving).
        double weights = 0, params = 0;
        for (unsigned k = s; k < p; k += depth) {
          weights += level.prefixParamBytes[starts[k + 1]] -
                     level.prefixParamBytes[starts[k]];
          params += level.prefixParams[starts[k + 1]] - level.prefixParams[starts[k]];
        }
        double grads = gradientBytes(params, weights);
        double stageSync = 0;
        // Per tensor rank: the step's reduction of the stage's gradients.
        // Stage 0 all-reduces them; stage 1 reduce-scatters them and, after
        // each member's update of its shard, all-gathers the weights
        // (Megatron's distributed optimizer); stage 2 has reduce-scattered
        // them micro-batch by micro-batch and gathers the updated weights;
        // stage 3 keeps the weights sharded and has nothing left to do.
        // The tensor ranks' groups reduce at once and share whatever links
        // they have in common (a node's NICs): priced together.
        if (layout.zero == 0)
          stageSync = dataGroupsTogether(s, CollectiveKind::AllReduce, grads);
        else if (layout.zero == 1)
          stageSync = dataGroupsTogether(s, CollectiveKind::ReduceScatter, grads) +
                      dataGroupsTogether(s, CollectiveKind::AllGather, weights);
        else if (layout.zero == 2)
          stageSync = dataGroupsTogether(s, CollectiveKind::AllGather, weights);
        for (const DataGroup &g : dataGroups[s]) {
          const std::vector<unsigned> &group = g.chips;
          double seconds = group.size() > 1 ? stageSync : 0.0;
          for (auto [m, chip] : llvm::enumerate(group)) {
            DevicePlan &d = plan.devices[chip];
            d.commS += seconds;
            // A sharded optimizer updates the member's shard only.
            double part = layout.zero >= 1 ? g.fractions[m] : 1.0;
            double o = optimizerSeconds(
                static_cast<uint64_t>(params * d.share * part),
                weights * d.share * part,
                ctx.kinds[ctx.mesh.chips()[chip].kind]);
            d.computeS += o;
            optimizer = std::max(optimizer, o);
          }
        }
        double start = stageDone[s];
        if (ctx.options.overlapGradientReduce) {
          // Buckets are reduced as the last backward produces them; the
          // reduction cannot start before that backward does.
          double lastBackward = 0;
          for (const ReplicaPipeline &rp : plan.pipelines)
            lastBackward = std::max(lastBackward, rp.backward[s]);
          start = std::max(0.0, start - lastBackward);
          synced = std::max(synced, std::max(stageDone[s], start + stageSync));
        } else {
          synced = std::max(synced, start + stageSync);
        }
      }
      sync = synced - pipeline;
    }
    plan.pipelineS = pipeline;
    plan.gradientSyncS = sync;
    plan.optimizerS = optimizer;
    plan.stepS = pipeline + sync + optimizer;
    for (DevicePlan &d : plan.devices)
      d.idleS = std::max(0.0, plan.stepS - d.computeS - d.commS);
    plan.score = plan.stepS * scoreFactor();
    return plan;
  }

  double scoreFactor() const { return ctx.scoreFactor; }

  /// The best plan of this layout: every split of the layers into stages
  /// when there are at most `limit` of them (exact under the model), else
  /// the DP split refined by moving single boundaries while the simulated
  /// step improves.
  std::optional<Plan> bestPlan(uint64_t limit) const {
    unsigned p = layout.numStages(), n = numLayers();
    if (p > n || !memoryCanFit())
      return std::nullopt;
    // C(n - 1, p - 1), saturating at limit + 1.
    uint64_t count = 1;
    for (unsigned k = 1; k < p && count <= limit; ++k)
      count = count * (n - p + k) / k;
    if (count <= limit) {
      std::optional<Plan> best;
      std::vector<unsigned> bounds(p - 1);
      for (unsigned k = 0; k + 1 < p; ++k)
        bounds[k] = k + 1;
      while (true) {
        std::optional<Plan> plan =
            simulate(bounds, best ? best->score : kInf);
        if (plan && (!best || plan->score < best->score))
          best = std::move(plan);
        // Next combination in lexicographic order.
        int k = static_cast<int>(p) - 2;
        while (k >= 0 && bounds[k] == n - (p - 1 - k))
          --k;
        if (k < 0)
          break;
        ++bounds[k];
        for (unsigned q = k + 1; q + 1 < p; ++q)
          bounds[q] = bounds[q - 1] + 1;
      }
      return best;
    }
    std::optional<std::vector<unsigned>> bounds = bestBoundaries();
    std::optional<Plan> best;
    if (bounds)
      best = simulate(*bounds);
    if (layout.chunks > 1) {
      // The DP balances every virtual stage as if it had chips of its own;
      // a device runs all its chunks, so also start from chunks sized by
      // their device's speed (Megatron's equal chunks on equal chips).
      std::vector<unsigned> even = proportionalBoundaries();
      std::optional<Plan> plan = simulate(even);
      if (plan && (!best || plan->score < best->score)) {
        best = std::move(plan);
        bounds = even;
      }
    }
    if (!best)
      return std::nullopt;
    for (unsigned round = 0; round < 4 * p; ++round) {
      bool improved = false;
      for (unsigned k = 0; k + 1 < p; ++k)
        for (int delta : {-1, 1}) {
          std::vector<unsigned> trial = *bounds;
          int moved = static_cast<int>(trial[k]) + delta;
          int lower = k == 0 ? 1 : static_cast<int>(trial[k - 1]) + 1;
          int upper = k + 2 < p ? static_cast<int>(trial[k + 1]) - 1
                                : static_cast<int>(n) - 1;
          if (moved < lower || moved > upper)
            continue;
          trial[k] = static_cast<unsigned>(moved);
          std::optional<Plan> plan = simulate(trial, best->score);
          if (plan && plan->score < best->score) {
            best = std::move(plan);
            *bounds = trial;
            improved = true;
          }
        }
      if (!improved)
        break;
    }
    return best;
  }

  /// No split of this layout's layers gives a shorter step (a valid lower
  /// bound on stepS, tighter than lowerBound(): it counts each group's
  /// work outside its tensor regions and its exposed tensor-parallel
  /// communication as stage() prices them). Training only; 0 otherwise.
  /// For replica r and device d (its chunks share its chips), c[d][l] is
  /// what layer l adds to d's seconds per micro-batch at least: its
  /// members' mean work (stage() takes the largest) plus the group's
  /// all-reduces unless they overlap. Whatever the split L_d, the busiest
  /// device takes max_d C_d >= sum_d w_d C_d >= sum_l min_d w_d c[d][l]
  /// per micro-batch, for any weights w_d >= 0 summing to 1; w_d in
  /// proportion to 1 / G_d (G_d = sum_l c[d][l], d's time for the whole
  /// model) gives the classic m / sum(1 / G_d) when layers weigh alike on
  /// every device.
  double workBound() const {
    if (!ctx.training())
      return 0;
    const Level &fastest = *policies[0];
    size_t n = numLayers();
    unsigned depth = layout.strategy.pp;
    double worst = 0;
    std::vector<std::vector<double>> cost(depth, std::vector<double>(n, 0.0));
    for (unsigned r : distinct) {
      std::vector<double> whole(depth, 0.0);
      for (unsigned d = 0; d < depth; ++d) {
        const auto &group = layout.groups[r][d];
        const auto &share = layout.shares[r][d];
        bool repl = replicatesOutsideRegions(group.size());
        const std::vector<double> &tc = tensorComm[r][d];
        for (size_t l = 0; l < n; ++l) {
          double mean = 0;
          for (size_t m = 0; m < group.size(); ++m) {
            unsigned k = ctx.mesh.chips()[group[m]].kind;
            double all = fastest.prefix[k][l + 1] - fastest.prefix[k][l];
            double rep = fastest.prefixReplicated[k][l + 1] - fastest.prefixReplicated[k][l];
            mean += share[m] * (all - rep) + (repl ? rep : share[m] * rep);
          }
          mean /= static_cast<double>(group.size());
          double comm = tc.empty() || ctx.options.overlapTensorComm ? 0.0 : 2 * (tc[l + 1] - tc[l]);
          cost[d][l] = mean + comm;
          whole[d] += cost[d][l];
        }
      }
      double inverse = 0;
      for (double g : whole)
        inverse += g > 0 ? 1 / g : kInf;
      if (!(inverse < kInf))
        continue; // a device that costs nothing: no bound from this replica
      double perMicroBatch = 0;
      for (size_t l = 0; l < n; ++l) {
        double least = kInf;
        for (unsigned d = 0; d < depth; ++d)
          least = std::min(least, cost[d][l] / (whole[d] * inverse));
        perMicroBatch += least;
      }
      // Layers are whole: among the (j - 1) depth + 1 layers that cost
      // most on their cheapest device, some device holds j, and takes at
      // least the j cheapest of them.
      std::vector<double> cheapest(n, kInf);
      for (size_t l = 0; l < n; ++l)
        for (unsigned d = 0; d < depth; ++d)
          cheapest[l] = std::min(cheapest[l], cost[d][l]);
      llvm::sort(cheapest, std::greater<double>());
      double granular = 0;
      for (size_t j = 1; (j - 1) * depth + 1 <= n; ++j) {
        size_t top = (j - 1) * depth + 1;
        double sum = 0;
        for (size_t l = top - j; l < top; ++l)
          sum += cheapest[l];
        granular = std::max(granular, sum);
      }
      perMicroBatch = std::max(perMicroBatch, granular);
      worst = std::max(worst, layout.microBatches[r] * perMicroBatch);
    }
    // Summed in another order than stage() sums: keep clear of rounding.
    return worst * (1 - 1e-9);
  }

  /// False when no split of the layers lets every member hold what it
  /// must (a necessary condition, so a layout it rejects has no feasible
  /// plan; checked before any link is priced). Layer l on device d needs
  /// a[d][l] of d's room at least: over d's members, the largest fraction
  /// of the member's room taken by its share of the layer's weights,
  /// gradients and Adam states (at its ZeRO shard) and, without
  /// interleaving, of the activations it keeps for the micro-batches in
  /// flight there, under the policy that keeps the least. Workspace,
  /// rebuilt layers and gathered weights are left out: they only add. A
  /// split that fits has sum_l a[d][l] <= 1 on every device, so for any
  /// weights y_d >= 0, sum_l min_d y_d a[d][l] <= sum_d y_d; y_d = 1 / A_d
  /// (A_d = sum_l a[d][l]) makes the test exact when layers weigh alike
  /// on every device.
  bool memoryCanFit() const {
    size_t nl = numLayers();
    unsigned depth = layout.strategy.pp;
    bool training = ctx.training();
    // Adam bytes per weight byte, at least: n (master + 8) over the
    // range's bytes, smallest where parameters are widest.
    double widest = 0;
    for (size_t l = 0; l < nl; ++l) {
      double params = level.prefixParams[l + 1] - level.prefixParams[l];
      double bytes = level.prefixParamBytes[l + 1] - level.prefixParamBytes[l];
      if (params > 0 && bytes > 0)
        widest = std::max(widest, bytes / params);
    }
    double adam = training && widest > 0 ? (widest < 4.0 ? 12.0 : 8.0) / widest : 0.0;
    auto delta = [](const std::vector<double> &prefix, size_t l) {
      return prefix[l + 1] - prefix[l];
    };
    std::vector<std::vector<double>> need(depth, std::vector<double>(nl, 0.0));
    for (unsigned r = 0; r < layout.groups.size(); ++r) {
      std::vector<double> whole(depth, 0.0);
      for (unsigned d = 0; d < depth; ++d) {
        const auto &group = layout.groups[r][d];
        bool repl = replicatesOutsideRegions(group.size());
        double flight = training && layout.chunks == 1 ? inFlight(r, d) : 0.0;
        std::fill(need[d].begin(), need[d].end(), 0.0);
        for (size_t k = 0; k < group.size(); ++k) {
          double share = layout.shares[r][d][k], f = memberFraction[r][d][k];
          double perByte = 1;
          if (training)
            switch (layout.zero) {
            case 0: perByte = 2 + adam; break;
            case 1: perByte = 2 + adam * f; break;
            case 2: perByte = 1 + f + adam * f; break;
            default: perByte = (2 + adam) * f; break;
            }
          double room = std::max(0.0, usable(group[k]) - reservedOf(group[k]));
          for (size_t l = 0; l < nl; ++l) {
            double kept = kInf;
            if (training) {
              for (const Level *policy : policies)
                kept = std::min(kept, share * delta(policy->prefixSaved, l) +
                                          (repl ? (1 - share) *
                                                      delta(policy->prefixSavedReplicated, l)
                                                : 0.0));
              kept *= flight;
            } else {
              kept = share * delta(level.prefixCache, l);
            }
            double bytes = share * perByte * delta(level.prefixParamBytes, l) + kept;
            double fraction = bytes <= 0 ? 0.0 : room > 0 ? bytes / room : kInf;
            need[d][l] = std::max(need[d][l], fraction);
          }
        }
        for (double a : need[d])
          whole[d] += a;
      }
      double budget = 0;
      for (double a : whole)
        budget += a > 0 ? 1 / a : kInf;
      if (!(budget < kInf))
        continue; // a device that holds anything for free
      double used = 0;
      for (size_t l = 0; l < nl; ++l) {
        double least = kInf;
        for (unsigned d = 0; d < depth; ++d)
          least = std::min(least, need[d][l] / whole[d]);
        used += least;
      }
      // Summed in another order than memberMemory() sums: keep clear of
      // rounding.
      if (used > budget * (1 + 1e-9))
        return false;
    }
    return true;
  }

  /// Boundaries giving virtual stage k a share of the layers proportional
  /// to the speed of its device group (replica 0), at least one layer each.
  std::vector<unsigned> proportionalBoundaries() const {
    unsigned stages = layout.numStages(), n = numLayers(), p = layout.strategy.pp;
    std::vector<double> speed(p, 0.0);
    double total = 0;
    for (unsigned d = 0; d < p; ++d) {
      for (unsigned c : layout.groups[0][d]) {
        double t = level.modelS[ctx.mesh.chips()[c].kind];
        speed[d] += t > 0 ? 1 / t : 0;
      }
      total += speed[d];
    }
    std::vector<unsigned> bounds;
    double cumulative = 0;
    unsigned previous = 0;
    for (unsigned k = 0; k + 1 < stages; ++k) {
      // Chips of no measurable speed: equal chunks.
      cumulative += total > 0 ? speed[k % p] / (total * layout.chunks)
                              : 1.0 / stages;
      unsigned at = static_cast<unsigned>(std::lround(cumulative * n));
      // Leave at least one layer to this and every later stage.
      at = std::clamp(at, previous + 1, n - (stages - 1 - k));
      bounds.push_back(at);
      previous = at;
    }
    return bounds;
  }

  /// No plan of this layout beats this (valid lower bound on stepS):
  /// each replica must compute its micro-batches with its own chips.
  static double lowerBound(const Context &ctx, const Level &level,
                           const Layout &layout) {
    double worst = 0;
    for (unsigned r = 0; r < layout.groups.size(); ++r) {
      double speed = 0;
      // The first pp groups: further model chunks repeat the same chips.
      size_t narrowest = SIZE_MAX;
      int kind = -1;
      bool oneKind = true;
      for (unsigned st = 0; st < layout.strategy.pp; ++st) {
        narrowest = std::min(narrowest, layout.groups[r][st].size());
        for (unsigned c : layout.groups[r][st]) {
          int k = static_cast<int>(ctx.mesh.chips()[c].kind);
          oneKind &= kind < 0 || kind == k;
          kind = k;
          double t = level.modelS[k];
          speed += t > 0 ? 1 / t : 0;
        }
      }
      // A replica of one kind whose tensor groups run the ops between
      // their regions whole does that work once per member: at least
      // (narrowest - 1) times more of it in all.
      double work = 1;
      if (oneKind && kind >= 0 && narrowest > 1 && !ctx.options.sequenceParallel &&
          level.modelS[kind] > 0)
        work += (static_cast<double>(narrowest) - 1) * level.modelReplicatedS[kind] /
                level.modelS[kind];
      worst = std::max(worst, layout.microBatches[r] * work / speed);
    }
    return worst;
  }

private:
  const Context &ctx;
  const Level &level;
  const Layout &layout;
  /// The levels of each recomputation policy, fastest first (policies[0]
  /// is `level`).
  std::vector<const Level *> policies;
  /// deviceMemory()'s interleaved peaks for one split and policy, by
  /// (micro-batches, device). An Evaluator serves one thread.
  struct PeakCache {
    std::vector<unsigned> starts;
    unsigned policy = ~0u;
    std::map<std::tuple<uint64_t, unsigned, double>, double> peaks;
  };
  mutable PeakCache peakCache;

public:
  /// A given plan's per-stage policies (indices into the levels); empty:
  /// chosen by simulate().
  std::vector<unsigned> forcedPolicy;

private:
  /// tensorComm[r][s]: prefix sums over layers of the group's
  /// tensor-parallel seconds per micro-batch and pass.
  std::vector<std::vector<std::vector<double>>> tensorComm;
  /// sendCost[r][s]: latency and seconds per byte from stage s to s + 1.
  std::vector<std::vector<std::pair<double, double>>> sendCost;
  /// One replica of each class that prices alike (see pricesAlike).
  std::vector<unsigned> distinct;
  /// dataGroups[s][t]: the chips of tensor rank t of stage s over the
  /// replicas, and the largest tensor share among them.
  struct DataGroup {
    std::vector<unsigned> chips;
    double share = 0;
    /// Each member's part of a ZeRO shard (sums to 1).
    std::vector<double> fractions;
  };
  std::vector<std::vector<DataGroup>> dataGroups;
  /// dataGroupChips[s]: the chips of each of dataGroups[s].
  std::vector<std::vector<std::vector<unsigned>>> dataGroupChips;

  /// Seconds of one collective over all of stage s's data-parallel groups
  /// at once, of `bytes` (a whole buffer of one tensor rank): all-reduce
  /// of each rank's part, or reduce-scatter / all-gather into each
  /// member's ZeRO shard of it.
  double dataGroupsTogether(unsigned s, CollectiveKind kind, double bytes) const {
    // A split search moves one boundary at a time: most stages ask again
    // for the bytes they asked for before.
    auto [slot, fresh] = togetherCache.try_emplace({s, static_cast<int>(kind), bytes}, 0.0);
    if (!fresh)
      return slot->second;
    std::vector<std::vector<double>> sizes;
    for (const DataGroup &g : dataGroups[s]) {
      std::vector<double> each;
      if (kind == CollectiveKind::AllReduce)
        each.assign(g.chips.size(), bytes * g.share);
      else
        for (double f : g.fractions)
          each.push_back(bytes * g.share * f);
      sizes.push_back(std::move(each));
    }
    return slot->second =
               ctx.comm.concurrentCollectives(kind, dataGroupChips[s], sizes).seconds;
  }
  /// dataGroupsTogether()'s answers by (stage, kind, bytes); an Evaluator
  /// serves one thread.
  mutable std::map<std::tuple<unsigned, int, double>, double> togetherCache;
  /// memberFraction[r][s][t]: the ZeRO shard fraction of that member.
  std::vector<std::vector<std::vector<double>>> memberFraction;
  /// ZeRO-2/3: prefix sums over layers of one micro-batch's weight gathers
  /// (one pass) and gradient reduce-scatters, per stage; empty otherwise.
  std::vector<std::vector<double>> zeroGather, zeroScatter;
};

/// What the model's state needs and what the mesh can hold, in aggregate.
struct StateNeed {
  double state = 0;   ///< weights (+ gradients and Adam states, or KV cache)
  double usable = 0;  ///< all chips' capacity less headroom and reserve
  double largest = 0; ///< one chip's usable memory, the largest kind
  std::string largestKind;
};

StateNeed stateNeed(const Level &level, const MeshView &mesh,
                    const std::vector<ComputeModel> &kinds,
                    const PartitionOptions &options) {
  StateNeed need;
  size_t nl = level.layers.size();
  double weights = level.prefixParamBytes[nl];
  need.state = options.mode == Mode::Train
                   ? 2 * weights + adamStateBytes(
                                       static_cast<uint64_t>(level.prefixParams[nl]),
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

/// The compute model of every chip kind of the mesh, under the options'
/// math mode.
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

/// Tokens per sample: the second extent of the first ranked argument.
double tokensPerSample(func::FuncOp func) {
  for (Type type : func.getArgumentTypes())
    if (auto tensor = dyn_cast<RankedTensorType>(type))
      return tensor.getRank() >= 2 && tensor.hasStaticShape()
                 ? static_cast<double>(tensor.getShape()[1])
                 : 1.0;
  return 1.0;
}

/// Aggregate-compute bound: `microBatches` micro-batches spread over every
/// chip at its own speed, no communication, no bubbles.
double aggregateBoundS(const Level &level, const MeshView &mesh,
                       uint64_t microBatches) {
  double speed = 0;
  for (unsigned c = 0; c < mesh.numChips(); ++c) {
    double t = level.modelS[mesh.chips()[c].kind];
    speed += t > 0 ? 1 / t : 0;
  }
  return static_cast<double>(microBatches) / speed;
}

} // namespace

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
