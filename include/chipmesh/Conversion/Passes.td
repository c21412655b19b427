//===- Passes.td - ChipMesh conversions --------------------*- tablegen -*-===//
//
// Conversions out of ChipMesh's dialects: graph stages to upstream shard +
// linalg (GraphToShard), comm programs to one MPI program (CommToMPI).
//
//===----------------------------------------------------------------------===//

#ifndef CHIPMESH_CONVERSION_PASSES_TD
#define CHIPMESH_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ChipMeshExportShard : Pass<"chipmesh-export-shard", "mlir::ModuleOp"> {
  let summary = "Lower tensor-parallel stages to upstream shard + linalg";
  let description = [{
    For every pipeline stage of the plan whose tensor-parallel groups split
    alike in all replicas (same size, same shares) and whose ops have a
    linalg form, adds `shard.grid @<func>_stage<s>_grid(shape = tp)` and
    `func.func @<func>_stage<s>_shard`: one micro-batch of the stage on
    whole tensors, weights as arguments, in linalg on tensors, with every
    value annotated by `shard.shard` (its own sharding and the one its
    users see). Column-parallel weights are split on their columns and
    row-parallel ones on their rows with the plan's uneven shares as
    `sharded_dims_offsets`; a row-parallel result is annotated replicated,
    so upstream `shard-partition` inserts the `shard.all_reduce`. The
    function carries `comm.stage`. Lowered ops: `graph.linear` (rank-2
    input, no bias) to `linalg.matmul`, `graph.relu` to `linalg.max` with
    zero, `graph.add` of equal shapes to `linalg.add`; repeated layers are
    unrolled. A stage with anything else is skipped with a warning naming
    the op. Run upstream after it:
    `--pass-pipeline='builtin.module(func.func(shard-partition))'`.
    With `output`, the grids and functions go to a module of their own in
    that file (which upstream `mlir-opt` reads), not into this one.
  }];
  let options = [
    Option<"outputFile", "output", "std::string", /*default=*/"\"\"",
           "Write the exported grids and functions as a standalone module "
           "to this file ('-' for stdout) instead of adding them here">
  ];
  let dependentDialects = ["::mlir::shard::ShardDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::chipmesh::comm::CommDialect"];
}

def ChipMeshLowerToMPI : Pass<"chipmesh-lower-to-mpi", "mlir::ModuleOp"> {
  let summary = "One runnable SPMD program from a materialized inference plan";
  let description = [{
    Turns the per-device step functions of `--chipmesh-materialize` into
    one program for `mlir-runner` under `mpirun`: `@main` initializes MPI,
    splits one communicator per collective group off `MPI_COMM_WORLD`,
    and switches on its rank to that device's code (rank i runs device i).
    Stage calls and repeated layers are inlined; `graph` ops become linalg
    on tensors (`linear` and rank-2 `matmul` to `linalg.matmul`,
    elementwise ops to `linalg.generic` with broadcasting, `slice`,
    `concat`, `reshape`, `transpose`); `comm.send`/`recv` become
    `mpi.send`/`mpi.recv`, `all_reduce` an `mpi.allreduce` on the group's
    communicator, and uneven `all_gather`, `reduce_scatter` and `broadcast`
    all-reduces of zero-padded buffers, which are exact.

    Inputs and weights are generated, not read: the element at global
    position p is `((flat(p) * 7 + seed) mod 23 - 11) * scale`, the seed
    coming from the input index, or from the weight's name and layer
    repetition (`comm.first_repeat`), so every rank makes exactly its shard
    and `reference` makes the same numbers. Each rank prints every result
    after a line `chipmesh-mpi device=D stage=S replica=R tp_rank=T
    result=K batch_offset=B`, then `chipmesh-mpi device=D ... step_s=X
    mpi_s=Y idle_s=Z`: the step's wall time, measured from a common start;
    the time inside MPI calls; and, apart from it, the time spent waiting
    for a peer. Every `comm.send` sends a one-element ready message on its
    tag ahead of the payload (MPI keeps one sender's messages on one tag in
    order), and the receiver's wait for it is the idle time. The module keeps
    `chipmesh.mpi_ranks`, the number of processes it needs.

    With `reference`, lowers the unpartitioned model instead, as one
    process without MPI: the run the ranks are checked against. The
    module keeps only the program, with `dlti.map` naming MPICH for
    `convert-mpi-to-llvm`; run `--chipmesh-drop-dlti` after lowering to
    LLVM, since `mlir-runner` registers no DLTI. Training plans, non-f32
    models and ops without a lowering are errors located at the op.
  }];
  let options = [
    Option<"reference", "reference", "bool", /*default=*/"false",
           "Lower the unpartitioned model as one process (no MPI)">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::mpi::MPIDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::DLTIDialect"];
}

def ChipMeshDropDLTI : Pass<"chipmesh-drop-dlti", "mlir::ModuleOp"> {
  let summary = "Remove the module's DLTI attributes once they have been used";
  let description = [{
    `convert-mpi-to-llvm` reads the MPI implementation from the module's
    `dlti.map`; `mlir-runner` registers no DLTI dialect and cannot parse
    the lowered module while the attribute is there. Run last.
  }];
}

#endif // CHIPMESH_CONVERSION_PASSES_TD
