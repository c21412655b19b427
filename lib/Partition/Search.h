//===- Search.h - What the partitioner's files share ---------- -*- C++ -*-===//
//
// The partitioner's search, in four files over this private header:
// Level.cpp builds the per-micro-batch tables of unit costs, Layout.cpp
// lays replicas, stages and tensor groups over the chips, Evaluator.cpp
// prices one layout (its links, memory and stage costs) and
// EvaluatorSearch.cpp searches its stage boundaries and bounds it;
// Partitioner.cpp drives them (partitionModel, evaluatePlan).
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_LIB_PARTITION_SEARCH_H
#define CHIPMESH_LIB_PARTITION_SEARCH_H

#include "chipmesh/Partition/Partitioner.h"
#include "chipmesh/Support/Units.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace chipmesh::search {

using units::kGiB;
using units::kInf;

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
        table[p][l] =
            std::max(table[p - 1][l], table[p - 1][l + (size_t(1) << (p - 1))]);
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
                       llvm::ArrayRef<unsigned> chips = {});

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
                 const PartitionOptions &options);

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
std::vector<std::vector<unsigned>>
replicaChips(unsigned n, unsigned dp, unsigned tp, ReplicaLayout layout);

/// Bytes per gradient element the data-parallel all-reduce moves.
double gradientElementBytes(const ModelProfile &profile,
                            const PartitionOptions &options);

/// Chips in the largest innermost topology group (a node).
unsigned largestNode(const MeshView &mesh);

/// The same over a subset of the chips: how many of `chips` share a node.
unsigned largestNode(const MeshView &mesh, llvm::ArrayRef<unsigned> chips);

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
                                               const PartitionOptions &options);

/// True when the chips share their innermost topology group (a node).
bool withinOneNode(const MeshView &mesh, llvm::ArrayRef<unsigned> chips);

/// The layout of `strategy` over the chips `active` (ascending; the others
/// stay idle).
std::optional<Layout> makeLayout(const Context &ctx, const Level &level,
                                 Strategy strategy, ReplicaLayout kind,
                                 uint64_t microBatchesTotal,
                                 llvm::ArrayRef<unsigned> active,
                                 bool reversedStages = false);

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
                                       bool reversedStages);

/// Deepest by-kind pipeline the search lays out.
constexpr unsigned kMaxByKindStages = 16;

/// Seconds and bytes of stage `s` of replica `r` holding layers [i, j).
struct StageCost {
  double forwardS = 0, backwardS = 0; ///< per micro-batch, incl. TP comm
  double tensorCommS = 0;             ///< per micro-batch, both passes
  /// Per micro-batch, both passes: ZeRO-2/3's gathers and reduce-scatters.
  double zeroCommS = 0;
  double worstMemoryOver = 0; ///< bytes over usable capacity (<= 0 fits)
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
  void prepare();

  /// Data-parallel groups and each member's ZeRO shard fraction (no link
  /// is priced).
  void shardGroups();

  /// True when replicas a and b have the same inputs to stage(), send()
  /// and memberMemory() at every stage.
  bool pricesAlike(unsigned a, unsigned b) const;

  unsigned numLayers() const { return level.layers.size(); }

  /// Per-micro-batch seconds of stage s of replica r over layers [i, j).
  StageCost stage(unsigned r, unsigned s, unsigned i, unsigned j,
                  bool wantMemory, unsigned policy = 0) const;

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
                         llvm::ArrayRef<double> saved) const;

  /// Memory of member `member` of device `d` (replica r) when it holds
  /// the chunks d, d + p, ... of the virtual stages starting at `starts`.
  double deviceMemory(unsigned r, unsigned d, llvm::ArrayRef<unsigned> starts,
                      size_t member, unsigned policy = 0) const;

  /// Memory of each member of stage s (replica r) holding [i, j).
  double memberMemory(unsigned r, unsigned s, unsigned i, unsigned j,
                      size_t member, unsigned policy = 0) const;

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
                       unsigned s, size_t member) const;

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
  unsigned numPolicies() const {
    return static_cast<unsigned>(policies.size());
  }

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

  double weightUnder(unsigned s, unsigned i, unsigned j,
                     unsigned policy) const {
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
  std::optional<std::vector<unsigned>> bestBoundaries() const;

  /// Simulates the plan with the given boundaries.
  /// `cutoff`: give up (nullopt) as soon as the plan's score is known to
  /// exceed it, before pricing the gradient synchronisation.
  std::optional<Plan> simulate(llvm::ArrayRef<unsigned> bounds,
                               double cutoff = kInf) const;

  double scoreFactor() const { return ctx.scoreFactor; }

  /// The best plan of this layout: every split of the layers into stages
  /// when there are at most `limit` of them (exact under the model), else
  /// the DP split refined by moving single boundaries while the simulated
  /// step improves.
  std::optional<Plan> bestPlan(uint64_t limit) const;

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
  double workBound() const;

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
  bool memoryCanFit() const;

  /// Boundaries giving virtual stage k a share of the layers proportional
  /// to the speed of its device group (replica 0), at least one layer each.
  std::vector<unsigned> proportionalBoundaries() const;

  /// No plan of this layout beats this (valid lower bound on stepS):
  /// each replica must compute its micro-batches with its own chips.
  static double lowerBound(const Context &ctx, const Level &level,
                           const Layout &layout);

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
  double dataGroupsTogether(unsigned s, CollectiveKind kind,
                            double bytes) const;
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
                    const PartitionOptions &options);

std::vector<unsigned> divisors(unsigned n);

/// The compute model of every chip kind of the mesh, under the options'
/// math mode.
std::vector<ComputeModel> chipModels(const MeshView &mesh,
                                     const Calibration &calibration,
                                     const PartitionOptions &options);

/// Tokens per sample: the second extent of the first ranked argument.
double tokensPerSample(mlir::func::FuncOp func);

/// Aggregate-compute bound: `microBatches` micro-batches spread over every
/// chip at its own speed, no communication, no bubbles.
double aggregateBoundS(const Level &level, const MeshView &mesh,
                       uint64_t microBatches);

} // namespace chipmesh::search

#endif // CHIPMESH_LIB_PARTITION_SEARCH_H
