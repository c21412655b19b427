//===- GraphBase.td - Graph dialect definition -------------*- tablegen -*-===//

#ifndef CHIPMESH_DIALECT_GRAPH_IR_GRAPHBASE_TD
#define CHIPMESH_DIALECT_GRAPH_IR_GRAPHBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/EnumAttr.td"

def Graph_Dialect : Dialect {
  let name = "graph";
  let cppNamespace = "::chipmesh::graph";
  let summary = "Tensor-level model graphs: the ops a partitioner reasons about";
  let description = [{
    Ops on statically shaped builtin tensors inside `func.func`: parameters,
    matmul/linear, convolution, attention, norms, elementwise ops, embedding,
    shape ops, reductions, mixture-of-experts and loss. Every op verifies its
    shapes, infers its result types and implements `CostOpInterface`.
    `graph.layer` groups the ops of one layer and may repeat it, so a
    96-layer model stays small and pipeline cuts fall at layer boundaries.
  }];
  let useDefaultAttributePrinterParser = 1;
  // Attributes live in the attribute dictionary, not in properties: shape
  // inference runs while parsing, before properties are filled in from the
  // attribute dictionary, and must see `axis`, `sizes`, `transpose_rhs`...
  let usePropertiesForAttributes = 0;
}

def Graph_ReduceKind : I32EnumAttr<"ReduceKind", "reduction", [
    I32EnumAttrCase<"sum", 0>, I32EnumAttrCase<"mean", 1>,
    I32EnumAttrCase<"max", 2>]> {
  let cppNamespace = "::chipmesh::graph";
  let genSpecializedAttr = 0;
}
def Graph_ReduceKindAttr : EnumAttr<Graph_Dialect, Graph_ReduceKind, "reduce_kind"> {
  let assemblyFormat = "$value";
}

def Graph_Activation : I32EnumAttr<"Activation", "activation function", [
    I32EnumAttrCase<"silu", 0>, I32EnumAttrCase<"gelu", 1>,
    I32EnumAttrCase<"relu", 2>]> {
  let cppNamespace = "::chipmesh::graph";
  let genSpecializedAttr = 0;
}
def Graph_ActivationAttr : EnumAttr<Graph_Dialect, Graph_Activation, "activation"> {
  let assemblyFormat = "`<` $value `>`";
}

// Every tensor in the graph has a static shape: costs need real sizes.
def Graph_FloatTensor : StaticShapeTensorOf<[AnyFloat]>;
def Graph_IndexTensor : StaticShapeTensorOf<[AnySignlessInteger]>;
def Graph_AnyTensor : StaticShapeTensorOf<[AnyFloat, AnySignlessInteger]>;

// Rejects tensors whose element count overflows a signed 64-bit integer.
def Graph_TensorsFit : NativeOpTrait<"TensorsFit"> {
  let cppNamespace = "::chipmesh::graph";
}

class Graph_Op<string mnemonic, list<Trait> traits = []>
    : Op<Graph_Dialect, mnemonic, !listconcat([Graph_TensorsFit], traits)>;

#endif // CHIPMESH_DIALECT_GRAPH_IR_GRAPHBASE_TD
