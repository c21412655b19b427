//===- ModelCost.h - A model's time and memory on one chip -------*- C++ -*-===//
//
// Flattens a model function into schedulable units (a top-level op, or one
// repetition of a repeated layer), each holding its kernels' machine-
// independent costs, then prices them on a chip: forward and backward
// seconds per unit, the optimizer update, and memory (weights, gradients,
// mixed-precision Adam states, saved activations under a recomputation
// policy, KV cache, workspace, runtime reserve). The partitioner uses the
// units; --chipmesh-estimate and the Python bindings use the whole-model
// figures.
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_COSTMODEL_MODELCOST_H
#define CHIPMESH_COSTMODEL_MODELCOST_H

#include "chipmesh/CostModel/ComputeModel.h"
#include "chipmesh/Support/Enums.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include <string>
#include <vector>

namespace chipmesh {

// Mode and Recompute (None: keep every activation backward needs.
// Selective, Korthikanti et al. 2022, sec. 4.2: recompute attention's
// score/softmax/dropout part, keeping only its inputs and output. Full:
// keep each unit's inputs and recompute its whole forward during backward)
// are declared in Support/Enums.td.

struct CostOptions {
  Mode mode = Mode::Train;
  /// Samples per micro-batch; 0 keeps the batch the model was traced with.
  double microBatch = 0;
  /// Micro-batches per optimizer step (gradient accumulation).
  uint64_t microBatches = 1;
  Recompute recompute = Recompute::None;
};

/// One kernel of a unit and how many times it runs per unit.
struct UnitKernel {
  KernelCost kernel;
  double times = 1;
  /// Outside Megatron's tensor-parallel regions (norms, residual adds and
  /// dropouts between a row-parallel product and the next column-parallel
  /// one): every member of a tensor-parallel group runs it whole unless
  /// sequence parallelism splits it (Korthikanti et al. 2022, sec. 4.2.2).
  bool tensorReplicated = false;
};

/// One pipeline-cuttable unit, costed for one micro-batch.
struct ModelUnit {
  std::string name;
  mlir::Operation *op = nullptr; ///< the top-level op it comes from
  /// Identical consecutive units this one stands for (a repeated layer);
  /// every other field is for one of them.
  uint64_t repeat = 1;
  /// Kernels with how many times each runs per unit.
  std::vector<UnitKernel> kernels;
  uint64_t parameters = 0;
  double parameterBytes = 0;
  /// Activations kept for backward (no recomputation) and what selective
  /// recomputation drops from that.
  double savedBytes = 0, selectiveSavingBytes = 0;
  /// The part of savedBytes a tensor-parallel group holds whole on every
  /// member without sequence parallelism: values outside the tensor-
  /// parallel regions (a norm's input, a column-parallel product's input,
  /// a residual dropout's mask; Korthikanti et al. 2022, eq. 2's 10sbh).
  double tensorReplicatedSavedBytes = 0;
  /// Row-parallel products (a product whose input comes from a column-
  /// parallel one): each ends in one all-reduce of its output per pass
  /// under tensor parallelism (Megatron's g operator).
  unsigned rowParallelProducts = 0;
  /// Products of any kind (attention included).
  unsigned products = 0;
  /// Activations entering and leaving the unit (pipeline sends; what full
  /// recomputation keeps).
  double inputBytes = 0, outputBytes = 0;
  double cacheBytes = 0;
  /// Largest single tensor the unit produces (transient working set).
  double largestResultBytes = 0;
  double forwardFlops = 0, backwardFlops = 0;
};

struct ModelProfile {
  std::vector<ModelUnit> units;
  double tracedBatch = 1; ///< leading dimension of the first argument
  double microBatch = 1;  ///< what the units are costed at
  uint64_t parameters = 0;
  double parameterBytes = 0;
  /// FLOPs of one micro-batch, without recomputation.
  double forwardFlops = 0, backwardFlops = 0;
  /// The type most matmul FLOPs run in (for utilization figures).
  DType computeType = DType::FP32;
  /// Expanded units (repeats counted), saturating at UINT64_MAX.
  uint64_t numUnits() const {
    uint64_t n = 0;
    for (const ModelUnit &unit : units)
      if (__builtin_add_overflow(n, unit.repeat, &n))
        return UINT64_MAX;
    return n;
  }
};

/// Builds the units of `func` for `options` (micro-batch scaling applied).
/// Fails with a located error on a bad micro-batch.
mlir::FailureOr<ModelProfile> profileModel(mlir::func::FuncOp func,
                                           const CostOptions &options);

struct UnitTime {
  double forwardS = 0, backwardS = 0; ///< backward includes recomputation
  /// The tensor-replicated kernels' part of each (UnitKernel).
  double replicatedForwardS = 0, replicatedBackwardS = 0;
};
UnitTime unitTime(const ModelUnit &unit, const ComputeModel &chip,
                  Recompute recompute);

struct MemoryBreakdown {
  double weights = 0, gradients = 0, optimizerStates = 0, activations = 0,
         kvCache = 0, workspace = 0, reserved = 0;
  double total() const {
    return weights + gradients + optimizerStates + activations + kvCache +
           workspace + reserved;
  }
};

/// Bytes of mixed-precision Adam state: an FP32 master copy when weights
/// are narrower than 4 bytes, plus FP32 first and second moments
/// (Rajbhandari et al. 2020, ZeRO, sec. 3.1: 12 bytes/parameter).
double adamStateBytes(uint64_t parameters, double parameterBytes);
/// Saved activation bytes of `units` for one micro-batch.
double savedActivationBytes(llvm::ArrayRef<ModelUnit> units,
                            Recompute recompute);
/// Memory of `units` held by one chip, `inFlight` micro-batches of
/// activations at once (1 without pipelining).
MemoryBreakdown unitsMemory(llvm::ArrayRef<ModelUnit> units, Mode mode,
                            Recompute recompute, double inFlight,
                            const ChipCalibration &calibration);
/// Seconds of one Adam update over `parameters` on `chip` (memory bound:
/// reads weights, gradients, master copy and both moments; writes all but
/// the gradients).
double optimizerSeconds(uint64_t parameters, double parameterBytes,
                        const ComputeModel &chip);

/// The whole model on one chip of a kind.
struct ChipEstimate {
  std::string kind, catalogId;
  double forwardS = 0, backwardS = 0, optimizerS = 0, stepS = 0;
  MemoryBreakdown memory;
  double capacityBytes = 0;
  bool fits() const { return memory.total() <= capacityBytes; }
  double shortfallBytes() const {
    return std::max(0.0, memory.total() - capacityBytes);
  }
  /// Model FLOPs per second achieved / dense peak (model FLOPs utilization).
  double mfu = 0;
};

ChipEstimate estimateOnChip(const ModelProfile &profile,
                            const ComputeModel &chip,
                            const CostOptions &options);

} // namespace chipmesh

#endif // CHIPMESH_COSTMODEL_MODELCOST_H
