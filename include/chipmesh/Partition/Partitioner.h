//===- Partitioner.h - Heterogeneous data x pipeline x tensor plans -*- C++ -*-===//
//
// Searches data-parallel replicas x pipeline stages (contiguous layer
// ranges) x tensor-parallel groups over a mesh whose chips may differ, with
// uneven shares proportional to each chip's speed, and scores every
// candidate by simulating its pipeline schedule over the topology with the
// cost model. See docs/partitioner.md.
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_PARTITION_PARTITIONER_H
#define CHIPMESH_PARTITION_PARTITIONER_H

#include "chipmesh/CostModel/CommModel.h"
#include "chipmesh/CostModel/ModelCost.h"
#include <optional>
#include <string>
#include <vector>

namespace chipmesh {

/// Bounds on the work one search does, each named in the diagnostic that
/// refuses an input beyond it: the partitioner plays every micro-batch and
/// places every expanded layer, so both are capped (real steps have
/// thousands of micro-batches and hundreds of layers).
constexpr uint64_t kMaxMicroBatchesPerStep = uint64_t(1) << 20;
constexpr uint64_t kMaxPartitionLayers = uint64_t(1) << 20;
/// Forward and backward ops one replica's schedule plays: (virtual) stages
/// x micro-batches. Candidates above it are not tried.
constexpr uint64_t kMaxScheduleOps = uint64_t(1) << 24;
/// Search threads beyond this only cost memory (oneTBB allocates per thread).
constexpr unsigned kMaxSearchThreads = 1024;

// Schedule, Objective and ReplicaLayout (consecutive blocks, every dp-th
// block, or by kind: SAILOR's per-stage tensor parallelism) are declared in
// Support/Enums.td.
/// The type of the data-parallel gradient all-reduce.
enum class GradientReduce { Auto, FP32, Weights };

/// Sharded data parallelism over each data-parallel group (ZeRO, FSDP).
/// Stage 0 replicates the training state on every replica; 1 shards the
/// optimizer states (Megatron --use-distributed-optimizer, DeepSpeed
/// "zero_optimization": {"stage": 1}); 2 also the gradients (DeepSpeed
/// stage 2, FSDP SHARD_GRAD_OP); 3 also the weights (DeepSpeed stage 3,
/// FSDP FULL_SHARD). See docs/partitioner.md for each stage's traffic.
constexpr unsigned kMaxZeroStage = 3;
/// Bit z set: the search tries ZeRO stage z.
using ZeroStages = unsigned;
constexpr ZeroStages kAllZeroStages = 0b1111;
/// "auto" (every stage), "0" .. "3", or a comma list ("0,1"); nullopt
/// for anything else.
std::optional<ZeroStages> parseZeroStages(llvm::StringRef text);

struct Strategy {
  unsigned dp = 1, pp = 1, tp = 1;
  bool operator==(const Strategy &o) const {
    return dp == o.dp && pp == o.pp && tp == o.tp;
  }
};
/// Parses "dp=2,pp=4,tp=1" (any order, missing ones = 1).
std::optional<Strategy> parseStrategy(llvm::StringRef text, std::string &error);

struct PartitionOptions {
  Mode mode = Mode::Train;
  Recompute recompute = Recompute::None;
  /// Samples per optimizer step; 0 = the traced batch.
  uint64_t globalBatch = 0;
  /// Samples per micro-batch; 0 = search powers of two dividing the batch.
  uint64_t microBatch = 0;
  Schedule schedule = Schedule::OneFOneB;
  Objective objective = Objective::StepTime;
  /// Fraction of every chip's memory kept free.
  double memoryHeadroom = 0;
  bool allowData = true, allowPipeline = true, allowTensor = true;
  /// Evaluate this strategy only (its layout and micro-batch still searched).
  std::optional<Strategy> fixed;
  /// Worker threads for the search (0: oneTBB's default).
  unsigned threads = 0;
  /// Layouts with at most this many ways to split the layers into stages
  /// try them all (exact); larger ones use the DP split plus refinement.
  uint64_t exhaustiveSplits = 512;
  /// Ignore heterogeneity (a Megatron-style baseline): equal tensor shares
  /// and equal micro-batches per replica, whatever the chips' speeds.
  bool homogeneous = false;
  /// Type of the data-parallel gradient all-reduce. Auto is Megatron's
  /// rule: FP32 when the weights are BF16 (arguments.py: "bfloat16
  /// requires gradient accumulation and all-reduce to be done in fp32"),
  /// the weights' own type otherwise.
  GradientReduce gradientReduce = GradientReduce::Auto;
  /// Bucketed gradient all-reduce overlapped with the last micro-batch's
  /// backward (Megatron --overlap-grad-reduce, PyTorch DDP buckets); off
  /// by default, as in Megatron. Either way a stage's data-parallel group
  /// starts reducing when its own last backward ends (later 1F1B stages
  /// finish first), not when the whole pipeline has drained.
  bool overlapGradientReduce = false;
  /// Tensor-parallel collectives overlapped with the GEMMs around them
  /// (Megatron --tp-comm-overlap over Transformer Engine userbuffers): a
  /// stage's pass takes the longer of its compute and its tensor-parallel
  /// communication instead of their sum. Off by default, as in Megatron.
  bool overlapTensorComm = false;
  /// Megatron's sequence parallelism (--sequence-parallel; Korthikanti et
  /// al. 2022): the ops outside the tensor-parallel regions (norms,
  /// residual dropouts and adds) and their saved activations are split
  /// along the sequence over the group, and each all-reduce becomes a
  /// reduce-scatter and an all-gather. Off (as in Megatron): every member
  /// runs those ops whole and holds their activations whole.
  bool sequenceParallel = false;
  /// Model chunks per device for plans with pp > 1 (Megatron's
  /// --num-layers-per-virtual-pipeline-stage; interleaved 1F1B). 1: plain
  /// 1F1B or GPipe; 0: the search tries 1, 2 and 4 (training under 1F1B;
  /// plain otherwise).
  unsigned virtualStages = 1;
  /// How FP32 products run (math=tf32 prices them at the TF32 rate).
  MathMode math = MathMode::FP32;
  /// Choose none, selective or full recomputation per pipeline stage (the
  /// fastest that fits; early 1F1B stages hold more micro-batches and need
  /// it first). `recompute` is then ignored.
  bool recomputePerStage = false;
  /// ZeRO stages the search tries for plans with dp > 1 (bit z: stage z).
  /// The default, stage 0 only, is plain data parallelism.
  ZeroStages zeroStages = 1u << 0;
  /// Place every chip of the mesh. Off (the default), the search also
  /// tries sub-meshes (chip kinds left out, chips outside whole nodes left
  /// out) and leaves chips idle when using them lengthens the step or
  /// breaks a memory limit. A fixed strategy always uses every chip.
  bool useAllChips = false;
};

/// One chip's part in a plan.
struct DevicePlan {
  unsigned chip = 0;
  unsigned replica = 0, stage = 0, tpRank = 0;
  double share = 1;       ///< fraction of its stage's tensors it holds
  double computeS = 0;    ///< forward, backward (incl. recomputation), optimizer
  double commS = 0;       ///< tensor-parallel collectives, pipeline sends, gradient sync
  double idleS = 0;       ///< step time minus the two above
  double memoryBytes = 0, capacityBytes = 0;
  /// Left out of the plan (no stage): see PartitionResult::idleChips.
  bool idle = false;
};

struct StagePlan {
  unsigned firstLayer = 0, endLayer = 0; ///< expanded layers [first, end)
  /// Per replica: the chips of the tensor-parallel group and their shares.
  std::vector<std::vector<unsigned>> devices;
  std::vector<std::vector<double>> shares;
};

/// One replica's pipeline as the simulator played it: per stage, seconds
/// of one micro-batch forward and backward and of the send to the next
/// stage (for timelines and reports).
struct ReplicaPipeline {
  uint64_t microBatches = 0;
  std::vector<double> forward, backward, sendForward, sendBackward;
};

struct Plan {
  Strategy strategy;
  ReplicaLayout layout = ReplicaLayout::Blocked;
  /// Stages take the replica's chips last group first.
  bool reversedStages = false;
  Schedule schedule = Schedule::OneFOneB;
  /// Model chunks per device: stages then lists pp x this many virtual
  /// stages, virtual stage k on the devices of k % pp (interleaved 1F1B).
  unsigned virtualStages = 1;
  /// ZeRO stage (0-3) of the data-parallel groups (0 when dp = 1).
  unsigned zero = 0;
  /// Per (virtual) stage, its recomputation when chosen per stage
  /// (recompute=auto, or a plan file that gives them); empty otherwise
  /// (every stage as PartitionOptions::recompute).
  std::vector<Recompute> stageRecompute;
  double microBatch = 1;
  /// Micro-batches each replica runs per step (uneven across replicas of
  /// different speed).
  std::vector<uint64_t> replicaMicroBatches;
  std::vector<StagePlan> stages;
  std::vector<DevicePlan> devices; ///< every chip of the mesh, by index
  std::vector<ReplicaPipeline> pipelines; ///< one per replica
  double stepS = 0, pipelineS = 0, gradientSyncS = 0, optimizerS = 0;
  double score = 0;
};

/// One expanded layer: a unit of the profile (repeated layers expanded).
struct LayerRef {
  unsigned unit = 0;       ///< index into ModelProfile::units
  uint64_t repetition = 0; ///< which repetition of the unit
};

struct PartitionResult {
  Plan plan;
  std::vector<LayerRef> layers;
  ModelProfile profile; ///< at the chosen micro-batch
  uint64_t globalBatch = 1;
  double tokensPerSample = 1;
  /// Aggregate-compute bound: every micro-batch's compute spread over all
  /// chips at their own speed, no communication and no bubbles.
  double lowerBoundS = 0;
  unsigned candidates = 0, feasible = 0, pruned = 0;
  /// Chips the plan leaves out, ascending, and why: the best score of any
  /// plan that uses every chip is at least `allChipsScore` (a plan's score
  /// where one was played, else its candidate's lower bound; infinity when
  /// no plan using every chip fits in memory or has a layout).
  std::vector<unsigned> idleChips;
  double allChipsScore = 0;
  /// True when allChipsScore is a played plan's score, not a lower bound.
  bool allChipsExact = false;
  /// Chip subsets (sub-meshes) the search tried, the whole mesh included.
  unsigned subMeshes = 1;
  /// A plan priced as given (plan=FILE): its reason for the idle chips,
  /// if the file gave one; describeIdleChips() says so otherwise.
  std::optional<std::string> givenIdleReason;
};

/// Why the result's idle chips are left out, in one sentence (empty when
/// every chip is used): the best plan over all of them, or that none fits.
std::string describeIdleChips(const PartitionResult &result, Objective objective,
                              unsigned meshChips);

/// Why nothing fits, for the diagnostic.
struct Infeasibility {
  std::string message;
};

/// Searches the plan space. `profiles` are built here for each micro-batch
/// tried; IR is only read before the parallel search starts.
mlir::FailureOr<PartitionResult>
partitionModel(mlir::func::FuncOp func, const MeshView &mesh,
               const Calibration &calibration, const PartitionOptions &options,
               std::string &whyNot);

/// Evaluates one fully specified candidate (for tests and brute force):
/// stage boundaries given as the first layer of each stage after the first
/// (pp x options.virtualStages - 1 of them when interleaving).
std::optional<Plan> evaluatePlan(const ModelProfile &profile,
                                 const MeshView &mesh, const CommModel &comm,
                                 const std::vector<ComputeModel> &kinds,
                                 const PartitionOptions &options,
                                 Strategy strategy, ReplicaLayout layout,
                                 llvm::ArrayRef<unsigned> boundaries,
                                 uint64_t globalBatch, unsigned zero = 0);

/// A plan as a user runs it: the partition report's JSON read back
/// (parsePlanFile), priced exactly as given by evaluateGivenPlan.
struct GivenPlan {
  Strategy strategy;
  ReplicaLayout layout = ReplicaLayout::Blocked; ///< a label only
  bool reversedStages = false;                   ///< a label only
  Schedule schedule = Schedule::OneFOneB;
  unsigned virtualStages = 1;
  unsigned zero = 0; ///< "zero" (absent: 0)
  /// Per (virtual) stage "recompute" where the file gives one for every
  /// stage; empty otherwise.
  std::vector<Recompute> stageRecompute;
  uint64_t microBatch = 1, globalBatch = 1;
  std::vector<uint64_t> replicaMicroBatches;
  /// First layer of every (virtual) stage, then the end of the last one.
  std::vector<unsigned> stageStarts;
  /// groups[r][s]: chips of stage s in replica r; shares alike.
  std::vector<std::vector<std::vector<unsigned>>> groups;
  std::vector<std::vector<std::vector<double>>> shares;
  /// How the plan was found, carried through from the file's "search"
  /// (the report of a given plan round-trips); 1, 1, 0 if absent.
  unsigned candidates = 1, feasible = 1, pruned = 0;
  /// The file's "idle_reason", carried through likewise (chips the plan
  /// does not place are idle).
  std::string idleReason;
};

/// Reads a plan from the report's JSON; every error names its field.
llvm::Expected<GivenPlan> parsePlanFile(llvm::StringRef text, const MeshView &mesh);

/// Prices `given` on `mesh` as it stands: layer split, devices, shares,
/// micro-batches and schedule are not re-chosen. `options` supply the
/// mode, recomputation and the gradient-reduction settings. Fails with
/// `whyNot` (which field or which device) when the plan does not apply to
/// this model or does not fit in memory.
mlir::FailureOr<PartitionResult>
evaluateGivenPlan(mlir::func::FuncOp func, const MeshView &mesh,
                  const Calibration &calibration, const PartitionOptions &options,
                  const GivenPlan &given, std::string &whyNot);

/// The i-th op a pipeline stage runs: forward or backward of one micro-batch.
struct PipeOp {
  bool backward;
  uint64_t microBatch;
  /// The virtual stage (model chunk c of device s is c * p + s); s itself
  /// without interleaving.
  unsigned virtualStage = 0;
};
/// Op `i` of stage `s` of `p` with `m` micro-batches under `schedule`
/// (inference runs forwards only); 2m ops per stage when training.
PipeOp pipelineOpAt(Schedule schedule, bool training, size_t p, size_t s,
                    uint64_t m, uint64_t i);

/// Op `i` of device `s` under Megatron's interleaved 1F1B with `v` model
/// chunks per device over `p` devices and `m` micro-batches (2 m v ops).
PipeOp interleavedOpAt(size_t p, size_t v, size_t s, uint64_t m, uint64_t i);

/// One op of a played pipeline.
struct PipeEvent {
  unsigned stage; ///< the virtual stage
  uint64_t microBatch;
  bool backward;
  double startS, endS;
};

/// Makespan of one pipeline of `forward[s]`/`backward[s]` seconds per
/// micro-batch on stage s, `sendForward[s]`/`sendBackward[s]` seconds
/// between stage s and s+1, `microBatches` micro-batches. Also returns each
/// stage's busy compute time. `stageEnd`, if given, receives when each
/// device finishes its last op (its gradients are complete then).
/// With `virtualStages` v > 1 the arrays describe p v virtual stages,
/// virtual stage k on device k % p, played as Megatron's interleaved 1F1B
/// (training; m must be a multiple of p, else the result is infinite).
double simulatePipeline(Schedule schedule, llvm::ArrayRef<double> forward,
                        llvm::ArrayRef<double> backward,
                        llvm::ArrayRef<double> sendForward,
                        llvm::ArrayRef<double> sendBackward,
                        uint64_t microBatches, bool training,
                        std::vector<PipeEvent> *events = nullptr,
                        std::vector<double> *stageEnd = nullptr,
                        unsigned virtualStages = 1);

} // namespace chipmesh

#endif // CHIPMESH_PARTITION_PARTITIONER_H
