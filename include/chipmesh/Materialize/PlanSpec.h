//===- PlanSpec.h - The chipmesh.plan attribute, read back ------*- C++ -*-===//
//
// `--chipmesh-partition` records its plan on the module as a dictionary
// (writePlanAttributes); materialization and plan verification read it back
// through this one parser, which checks every field and names the one that
// is wrong.
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_MATERIALIZE_PLANSPEC_H
#define CHIPMESH_MATERIALIZE_PLANSPEC_H

#include "chipmesh/Dialect/Topo/IR/TopoOps.h"
#include "chipmesh/Partition/Partitioner.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include <vector>

namespace chipmesh {

struct StageSpec {
  int64_t firstLayer = 0, endLayer = 0;
  /// devices[replica][tp rank]: flat chip indices; shares likewise.
  std::vector<std::vector<int64_t>> devices;
  std::vector<std::vector<double>> shares;
  /// The stage's recomputation: its own "recompute", else the plan's.
  std::string recompute = "none";
};

struct PlanSpec {
  mlir::FlatSymbolRefAttr mesh;
  topo::MeshOp meshOp;   ///< the mesh it names, in the module
  mlir::func::FuncOp model; ///< the function it partitions
  std::string func;
  bool training = true;
  /// The plan's "recompute"; "auto" when every stage gives its own.
  std::string recompute = "none";
  int64_t dp = 1, pp = 1, tp = 1;
  Schedule schedule = Schedule::OneFOneB;
  int64_t microBatch = 1;
  std::vector<int64_t> replicaMicroBatches;
  std::vector<StageSpec> stages;

  int64_t globalBatch() const {
    int64_t total = 0;
    for (int64_t m : replicaMicroBatches)
      total += m * microBatch;
    return total;
  }
};

/// Writes `result`'s plan onto `module`: `chipmesh.placement` (stages and
/// repeats) on each top-level op of `func`, and `chipmesh.plan` (the
/// dictionary readPlanSpec reads) naming `mesh` and `func`.
void writePlanAttributes(mlir::ModuleOp module, topo::MeshOp mesh,
                         mlir::func::FuncOp func, const PartitionResult &result,
                         const PartitionOptions &options);

/// Reads `chipmesh.plan` from `module` and finds the mesh and the model
/// function it names; emits a located error naming the missing or
/// malformed field and fails.
mlir::FailureOr<PlanSpec> readPlanSpec(mlir::ModuleOp module);

/// Splits `total` into whole `granule`s in proportion to `shares`, at least
/// one granule each (apportionLargestRemainder's rule). Fails
/// when `granule` does not divide `total` or there are fewer granules than
/// members.
std::optional<llvm::SmallVector<int64_t>>
apportionShares(int64_t total, int64_t granule, llvm::ArrayRef<double> shares);

/// Where a device sits in the plan.
struct DeviceSlot {
  int64_t stage = -1, replica = -1, rank = -1;
};

} // namespace chipmesh

#endif // CHIPMESH_MATERIALIZE_PLANSPEC_H
