//===- Passes.td - ChipMesh passes -------------------------*- tablegen -*-===//

#ifndef CHIPMESH_TRANSFORMS_PASSES_TD
#define CHIPMESH_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def ChipMeshSummary : Pass<"chipmesh-summary", "mlir::ModuleOp"> {
  let summary = "Print the model's parameters, FLOPs and activation bytes as JSON";
  let description = [{
    Adds up `CostOpInterface` over the model function (the one function
    that holds `graph` ops, or the one named by `func`) and prints one JSON
    object. The IR is left unchanged.

    Input:
    ```mlir
    func.func @forward(%x: tensor<4x8xf32>) -> tensor<4x16xf32> {
      %w = graph.param "w" : tensor<8x16xf32>
      %y = graph.linear %x, %w : tensor<4x8xf32>, tensor<8x16xf32>
      return %y : tensor<4x16xf32>
    }
    ```
    Output (the IR unchanged, and on the chosen stream):
    ```json
    {"activation_bytes_saved":128,"backward_flops":2048,"forward_flops":1024,
     "func":"forward","layers":0,"ops":2,"parameter_bytes":512,"parameters":128,
     "training_flops":3072}
    ```
    `training_flops` is forward plus backward for one step at the model's
    batch size; `activation_bytes_saved` is what backward keeps alive
    without recomputation, each tensor counted once.
  }];
  let options = [
    Option<"funcName", "func", "std::string", /*default=*/"\"\"",
           "Model function (default: the only function with graph ops)">,
    Option<"outputFile", "output", "std::string", /*default=*/"\"-\"",
           "Where to write the JSON ('-' for stdout)">
  ];
  let dependentDialects = ["::chipmesh::graph::GraphDialect"];
}

def ChipMeshEstimate : Pass<"chipmesh-estimate", "mlir::ModuleOp"> {
  let summary = "Price every op and the whole model on every chip kind";
  let description = [{
    Runs the cost model (docs/cost-model.md) over the model function for
    every chip kind of a mesh, or for every chip in the built-in catalog
    when no mesh is given, and:

    - attaches `chipmesh.cost` to every costed op: forward/backward FLOPs,
      bytes moved, and per chip kind the forward and backward seconds
      (`fwd_s`, `bwd_s`). Ops inside a `graph.layer` carry the figures of
      one repetition; the layer carries the sum over all of them;
    - attaches `chipmesh.estimate` to the module: parameters, FLOPs per
      step and, per chip kind, the single-chip step time, peak memory by
      category, the capacity, and whether it fits;
    - with `output`, prints the same as a table (or JSON), saying "does not
      fit by X GiB" for chips that are too small.

    ```
    chipmesh-opt model.mlir --chipmesh-estimate="mesh=@mixed micro-batch=4 output=-"
    ```

    A training step is `micro-batches` forward and backward passes plus
    one optimizer update (mixed-precision Adam); an inference step is the
    forward passes. Fails, with a located error, on an unknown mesh, an
    unreadable or invalid calibration file, or bad option values.
  }];
  let options = [
    Option<"meshName", "mesh", "std::string", /*default=*/"\"\"",
           "A topo.mesh symbol in the module (@name or name) or a .mlir file "
           "holding one; empty: every catalog chip">,
    Option<"modeName", "mode", "std::string", /*default=*/"\"\"",
           "train | infer (default: the function's chipmesh.mode, else train)">,
    Option<"microBatch", "micro-batch", "int64_t", /*default=*/"0",
           "Samples per micro-batch (0: as the model was traced)">,
    Option<"microBatches", "micro-batches", "int64_t", /*default=*/"1",
           "Micro-batches per step (gradient accumulation)">,
    Option<"recomputeName", "recompute", "std::string", /*default=*/"\"none\"",
           "Activation recomputation: none | selective | full">,
    Option<"calibrationFile", "calibration", "std::string", /*default=*/"\"\"",
           "JSON file overriding efficiencies per chip or link kind">,
    Option<"funcName", "func", "std::string", /*default=*/"\"\"",
           "Model function (default: the only function with graph ops)">,
    Option<"outputFile", "output", "std::string", /*default=*/"\"\"",
           "Also print the summary here ('-' for stdout; empty: attach only)">,
    Option<"format", "format", "std::string", /*default=*/"\"table\"",
           "Printed summary format: table | json">,
    Option<"mathMode", "math", "::chipmesh::MathMode",
           /*default=*/"::chipmesh::MathMode::FP32",
           "How FP32 matrix products run: fp32 (the FP32 rate) | tf32 (the "
           "chip's TF32 tensor rate, as with PyTorch's allow_tf32)",
           [{::llvm::cl::values(
               clEnumValN(::chipmesh::MathMode::FP32, "fp32", "the FP32 rate"),
               clEnumValN(::chipmesh::MathMode::TF32, "tf32",
                          "the TF32 tensor rate"))}]>,
    Option<"annotate", "annotate", "bool", /*default=*/"true",
           "Attach chipmesh.cost to every op">
  ];
  let dependentDialects = ["::chipmesh::graph::GraphDialect",
                           "::chipmesh::topo::TopoDialect"];
}

def ChipMeshPartition : Pass<"chipmesh-partition", "mlir::ModuleOp"> {
  let summary = "Search the best data x pipeline x tensor plan over a heterogeneous mesh";
  let description = [{
    Splits the model over the chips of a `topo.mesh`: data-parallel
    replicas (with micro-batches apportioned to each replica's speed) x
    pipeline stages (contiguous layer ranges, boundaries by dynamic
    programming over layers) x tensor-parallel groups inside a stage (uneven
    shares proportional to each chip's speed). Tensor groups are
    consecutive chips (the fastest links), pipeline hops join consecutive
    groups. Every candidate is scored by simulating its schedule (GPipe or
    1F1B) with the cost model; only plans that fit in memory are accepted.
    The search runs in parallel (oneTBB) and gives byte-identical output for
    any thread count.

    Result:
    - `chipmesh.placement = {stages = array<i64: ...>, repeats = array<i64: ...>}`
      on every top-level op (the stages its layers land on, and how many
      repetitions of a repeated layer each stage holds);
    - `chipmesh.plan` on the module: strategy, schedule, micro-batching,
      stages with their layers, devices and shares, step time;
    - with `report=FILE`, a JSON report (strategy, stages, per-device
      compute/comm/idle seconds and memory, step time, throughput, the
      aggregate-compute lower bound, and the reference-chip comparison);
      with `table`, the same as a table on stdout.

    ```
    chipmesh-opt model.mlir --chipmesh-partition="mesh=@mixed batch=32 table"
    ```

    When nothing fits the pass fails with a diagnostic saying what does not
    fit, by how much, and what would.
  }];
  let options = [
    Option<"meshName", "mesh", "std::string", /*default=*/"\"\"",
           "A topo.mesh symbol in the module (@name or name) or a .mlir file "
           "holding one; empty: the module's only mesh">,
    Option<"modeName", "mode", "std::string", /*default=*/"\"\"",
           "train | infer (default: the function's chipmesh.mode, else train)">,
    Option<"globalBatch", "batch", "int64_t", /*default=*/"0",
           "Samples per step (0: the traced batch)">,
    Option<"microBatch", "micro-batch", "int64_t", /*default=*/"0",
           "Samples per micro-batch (0: search powers of two dividing batch)">,
    Option<"objectiveName", "objective", "std::string",
           /*default=*/"\"step-time\"",
           "step-time | throughput | cost (step time x chip prices) | energy "
           "(step time x chip TDPs)">,
    Option<"headroom", "headroom", "double", /*default=*/"0.0",
           "Fraction of every chip's memory to keep free, in [0, 1)">,
    Option<"scheduleName", "schedule", "std::string", /*default=*/"\"1f1b\"",
           "Pipeline schedule: gpipe | 1f1b">,
    Option<"allow", "allow", "std::string", /*default=*/"\"dp,pp,tp\"",
           "Parallelism kinds the search may use (comma-separated subset of "
           "dp, pp, tp)">,
    Option<"strategyText", "strategy", "std::string", /*default=*/"\"\"",
           "Evaluate this strategy instead of searching, e.g. dp=2,pp=4,tp=1">,
    Option<"reference", "reference", "std::string",
           /*default=*/"\"h100-sxm\"",
           "Catalog chip to compare the mesh with">,
    Option<"reportFile", "report", "std::string", /*default=*/"\"\"",
           "Write the JSON report here ('-' for stdout); a name ending in "
           ".html gets the self-contained HTML page instead (timeline, mesh, "
           "memory)">,
    Option<"table", "table", "bool", /*default=*/"false",
           "Print the plan as a table on stdout">,
    Option<"recomputeName", "recompute", "std::string", /*default=*/"\"none\"",
           "Activation recomputation: none | selective | full, or auto (each "
           "pipeline stage takes the fastest that fits; training)">,
    Option<"calibrationFile", "calibration", "std::string", /*default=*/"\"\"",
           "JSON file overriding efficiencies per chip or link kind">,
    Option<"threads", "threads", "unsigned", /*default=*/"0",
           "Search threads (0: all cores); the result does not depend on it">,
    Option<"funcName", "func", "std::string", /*default=*/"\"\"",
           "Model function (default: the only function with graph ops)">,
    Option<"gradientReduce", "grad-reduce", "::chipmesh::GradientReduce",
           /*default=*/"::chipmesh::GradientReduce::Auto",
           "Type of the data-parallel gradient all-reduce: auto (Megatron: "
           "fp32 for bf16 weights, else the weights' type) | fp32 | weights",
           [{::llvm::cl::values(
               clEnumValN(::chipmesh::GradientReduce::Auto, "auto",
                          "fp32 for bf16 weights, else the weights' type"),
               clEnumValN(::chipmesh::GradientReduce::FP32, "fp32",
                          "fp32 gradients (main grads)"),
               clEnumValN(::chipmesh::GradientReduce::Weights, "weights",
                          "the weights' own type"))}]>,
    Option<"overlapGradReduce", "overlap-grad-reduce", "bool",
           /*default=*/"false",
           "Overlap the bucketed gradient all-reduce with the last "
           "micro-batch's backward (Megatron --overlap-grad-reduce)">,
    Option<"mathMode", "math", "::chipmesh::MathMode",
           /*default=*/"::chipmesh::MathMode::FP32",
           "How FP32 matrix products run: fp32 (the FP32 rate) | tf32 (the "
           "chip's TF32 tensor rate, as with PyTorch's allow_tf32)",
           [{::llvm::cl::values(
               clEnumValN(::chipmesh::MathMode::FP32, "fp32", "the FP32 rate"),
               clEnumValN(::chipmesh::MathMode::TF32, "tf32",
                          "the TF32 tensor rate"))}]>,
    Option<"overlapTpComm", "overlap-tp-comm", "bool", /*default=*/"false",
           "Overlap tensor-parallel collectives with the GEMMs (Megatron "
           "--tp-comm-overlap): a stage's pass takes the longer of compute "
           "and communication">,
    Option<"sequenceParallel", "sequence-parallel", "bool",
           /*default=*/"false",
           "Split the ops between the tensor-parallel regions (norms, "
           "residual dropouts and adds) and their activations along the "
           "sequence, with a reduce-scatter and an all-gather for each "
           "all-reduce (Megatron --sequence-parallel); off, every member of "
           "a tensor-parallel group runs them whole">,
    Option<"planFile", "plan", "std::string", /*default=*/"\"\"",
           "Price this plan exactly as given instead of searching: a report "
           "written by report=FILE (strategy, schedule, micro-batches, every "
           "stage's layers, devices and shares)">,
    Option<"virtualStages", "virtual-stages", "int64_t", /*default=*/"1",
           "Model chunks per pipeline device (interleaved 1F1B, Megatron's "
           "virtual pipeline stages); plans with pp > 1 then split the layers "
           "into pp x N chunks and need micro-batches per replica that are a "
           "multiple of pp; 0 searches 1, 2 and 4 (training, 1f1b)">,
    Option<"zeroText", "zero", "std::string", /*default=*/"\"0\"",
           "ZeRO stages the search tries for training plans with data "
           "parallelism: 0 (replicated state), 1 (optimizer states sharded: "
           "Megatron's distributed optimizer), 2 (and gradients: FSDP "
           "SHARD_GRAD_OP), 3 (and weights: FSDP FULL_SHARD), a list such "
           "as '0,1', or 'auto' (all four)">,
    Option<"useAllChips", "use-all-chips", "bool", /*default=*/"false",
           "Place every chip of the mesh. By default the search may leave "
           "chips idle (kinds left out, chips outside whole nodes left out) "
           "when using them lengthens the step or breaks a memory limit; the "
           "report lists them and why">
  ];
  let dependentDialects = ["::chipmesh::graph::GraphDialect",
                           "::chipmesh::topo::TopoDialect"];
}

def ChipMeshMaterialize : Pass<"chipmesh-materialize", "mlir::ModuleOp"> {
  let summary = "Write one program per device from a partitioned module";
  let description = [{
    Reads the `chipmesh.plan` and `chipmesh.placement`s that
    `--chipmesh-partition` left and adds, for every device of the plan
    (stage s, replica r, tensor-parallel rank t on chip c):

    - `@<func>_dev<c>_stage`: the forward of one micro-batch of stage s on
      this device. Tensors are cut to the micro-batch and to the device's
      tensor-parallel shard, uneven where the chips are (a weight split
      3:1 between a fast and a slow chip has two local shapes). Weights
      follow Megatron-LM: a linear whose input is replicated is split by
      columns (its result stays split), one whose input is split by
      columns is split by rows (its result is a partial sum, combined by a
      `comm.all_reduce` where a replicated value is needed); attention is
      split by key/value head groups. Ops that cannot be split are computed
      in full on every member of the group and marked `comm.replicated`.
      Each weight carries `comm.param` (its index among the model's
      weights, in walk order) and, when cut, `comm.shard = [dim, offset,
      whole]`.
    - `@<func>_dev<c>`: the device's step. It takes the model arguments the
      stage reads (this replica's samples, `comm.input` and
      `comm.batch_offset` on each), and runs the plan's schedule (GPipe or
      1F1B, inference forward only): per micro-batch, `comm.recv` of the
      stage's inputs, a call of the stage, `comm.send` of its outputs; when
      training, `graph.backward` of the stage with the received output
      gradients, `comm.send` of the input gradients, then
      `graph.gradients`, the data-parallel `comm.all_reduce` over the
      replicas of the same stage and rank, and `graph.optimizer_step`.
      It returns the model results this stage produces, per micro-batch
      (batched results concatenated, scalar ones stacked).

    Both functions carry `comm.device`; the step also `comm.stage`,
    `comm.replica`, `comm.tp_rank` and `comm.micro_batches`. The model
    function and the mesh stay in the module. Refuses, with a located
    error, a module without a plan, an op without a placement, or a plan
    that does not match the model or the mesh.
  }];
  let dependentDialects = ["::chipmesh::graph::GraphDialect",
                           "::chipmesh::comm::CommDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::arith::ArithDialect"];
}

def ChipMeshVerifyPlan : Pass<"chipmesh-verify-plan", "mlir::ModuleOp"> {
  let summary = "Check that the per-device programs implement the plan";
  let description = [{
    Checks a materialized module as a whole and fails with a located error
    on the first violation:

    - every device of the plan has one step function; its arguments are
      model arguments (`comm.input`) cut to the replica's samples;
    - every `comm.send` has a `comm.recv` on its peer with the same tag,
      shape and type, every receive has its send, and collectives are
      entered by every member of their group with the same shape; the
      programs are run, op by op, under the schedule (sends buffered,
      receives and collectives waiting), and a state where devices wait on
      each other forever is reported as a deadlock naming what each waits
      for;
    - every weight of the model is held, in every replica, by the stages
      its layers are placed on, and the local shards of a weight tile it
      exactly (no gap, no overlap);
    - the FLOPs of all device programs (forward calls and backward passes,
      times the replica's micro-batches; replicated work counted once per
      group) equal the model's for the global batch, plus the forward
      again under full recomputation.

    With `report`, prints a summary line per check.
  }];
  let options = [
    Option<"report", "report", "bool", /*default=*/"false",
           "Print what was checked (devices, messages, FLOPs) to stdout">
  ];
  let dependentDialects = ["::chipmesh::graph::GraphDialect",
                           "::chipmesh::comm::CommDialect"];
}

#endif // CHIPMESH_TRANSFORMS_PASSES_TD
