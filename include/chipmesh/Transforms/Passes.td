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

#endif // CHIPMESH_TRANSFORMS_PASSES_TD
