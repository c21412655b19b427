//===- Materializer.h - One program per device from a plan ------*- C++ -*-===//
//
// What `--chipmesh-materialize` does, as a library: the model cut by its
// placements (ModelCut), every stage emitted per tensor-parallel member
// with its collectives (StageEmitter), and a step function per device
// running the schedule with explicit sends, receives, gradient all-reduce
// and optimizer step. docs/materialize.md describes the programs.
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_MATERIALIZE_MATERIALIZER_H
#define CHIPMESH_MATERIALIZE_MATERIALIZER_H

#include "chipmesh/Materialize/PlanSpec.h"

namespace chipmesh {

/// Adds to `module` a stage and a step function for every device of
/// `plan`; a located error (and nothing useful added) when the model
/// cannot be cut or a value cannot be split as the plan asks.
mlir::LogicalResult materializePlan(mlir::ModuleOp module,
                                    const PlanSpec &plan);

} // namespace chipmesh

#endif // CHIPMESH_MATERIALIZE_MATERIALIZER_H
