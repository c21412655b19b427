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
    Option<"annotate", "annotate", "bool", /*default=*/"true",
           "Attach chipmesh.cost to every op">
  ];
  let dependentDialects = ["::chipmesh::graph::GraphDialect",
                           "::chipmesh::topo::TopoDialect"];
}

#endif // CHIPMESH_TRANSFORMS_PASSES_TD
