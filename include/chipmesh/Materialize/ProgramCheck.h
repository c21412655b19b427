//===- ProgramCheck.h - Programs checked against the plan -------*- C++ -*-===//
//
// What `--chipmesh-verify-plan` checks, as a library: the step functions
// cover the plan's devices and read real model inputs, their messages match
// and the schedule cannot deadlock (the programs are played op by op),
// every weight is held once per replica with shards tiling it, and the
// devices' FLOPs add up to the model's. The first violation is emitted as
// a located error.
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_MATERIALIZE_PROGRAMCHECK_H
#define CHIPMESH_MATERIALIZE_PROGRAMCHECK_H

#include "chipmesh/Materialize/PlanSpec.h"

namespace chipmesh {

/// What a passing check found.
struct ProgramCheckSummary {
  size_t devices = 0;
  /// Sends and receives (each message counts at both ends).
  uint64_t messageEnds = 0;
  uint64_t collectives = 0;
  size_t weights = 0;
  int64_t replicas = 0;
  /// (replica, stage, weight) holdings checked as tiling shards.
  uint64_t shardsTiled = 0;
  /// FLOPs of one step over every device, equal to the model's.
  double flops = 0;
  Schedule schedule = Schedule::OneFOneB;
};

/// Checks the materialized programs of `module` against `plan`.
mlir::FailureOr<ProgramCheckSummary> checkDevicePrograms(mlir::ModuleOp module,
                                                         const PlanSpec &plan);

} // namespace chipmesh

#endif // CHIPMESH_MATERIALIZE_PROGRAMCHECK_H
