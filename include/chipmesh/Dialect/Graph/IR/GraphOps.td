//===- GraphOps.td - Graph dialect operations --------------*- tablegen -*-===//

#ifndef CHIPMESH_DIALECT_GRAPH_IR_GRAPHOPS_TD
#define CHIPMESH_DIALECT_GRAPH_IR_GRAPHOPS_TD

include "chipmesh/Dialect/Graph/IR/GraphBase.td"
include "chipmesh/Interfaces/CostInterface.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// Ops that override the costs they need; the rest keep the defaults.
class Graph_Costs<list<string> overrides>
    : DeclareOpInterfaceMethods<CostOpInterface, overrides>;

//===----------------------------------------------------------------------===//
// Parameters
//===----------------------------------------------------------------------===//

def Graph_ParamOp : Graph_Op<"param", [
    Graph_Costs<["getParameterCount", "getParameterBytes", "getBytesRead",
                 "getBytesWritten", "getKernelCount"]>]> {
  let summary = "A trainable weight, named as in the framework";
  let description = [{
    The weight's data type is the tensor's element type. Inside a repeated
    `graph.layer` each repetition owns its own copy. Not marked pure, so
    an unused weight is never dropped from the parameter count.

    ```mlir
    %w = graph.param "h.0.attn.c_attn.weight" : tensor<768x2304xbf16>
    ```
  }];
  let arguments = (ins StrAttr:$name);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

def Graph_MatmulOp : Graph_Op<"matmul", [Pure, InferTypeOpAdaptor,
    Graph_Costs<["getForwardFlops", "getSavedValues", "getMatmuls"]>]> {
  let summary = "Batched matrix product";
  let description = [{
    `lhs` is `[batch..., M, K]`, `rhs` is `[batch..., K, N]` (or `[N, K]`
    with `transpose_rhs`); batch dimensions broadcast. The result is
    `[batch..., M, N]`. Forward FLOPs: `2 * batch * M * N * K`.

    ```mlir
    %logits = graph.matmul %h, %wte {transpose_rhs} : tensor<8x1024x768xbf16>, tensor<50257x768xbf16>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$lhs, Graph_FloatTensor:$rhs,
                       UnitAttr:$transpose_rhs);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs)";
}

def Graph_LinearOp : Graph_Op<"linear", [Pure, InferTypeOpAdaptor,
    Graph_Costs<["getForwardFlops", "getSavedValues", "getMatmuls"]>]> {
  let summary = "Fully connected layer: input x weight (+ bias)";
  let description = [{
    `input` is `[..., K]`, `weight` is `[K, N]`, the optional `bias` is
    `[N]`; the result is `[..., N]`. Forward FLOPs: `2 * rows * K * N`, plus
    `rows * N` for the bias.

    ```mlir
    %y = graph.linear %x, %w, %b : tensor<8x1024x768xbf16>, tensor<768x3072xbf16>, tensor<3072xbf16>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$weight,
                       Optional<Graph_FloatTensor>:$bias);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,`
    type($weight) (`,` type($bias)^)?
  }];
}

def Graph_Conv2dOp : Graph_Op<"conv2d", [Pure, InferTypeOpAdaptor,
    Graph_Costs<["getForwardFlops", "getSavedValues", "getMatmuls"]>]> {
  let summary = "2-D convolution, NCHW input, OIHW weight";
  let description = [{
    `input` is `[N, C, H, W]`, `weight` is `[O, C / groups, KH, KW]`, the
    optional `bias` is `[O]`. `strides`, `padding` (symmetric, per spatial
    dimension) and `dilation` have two entries each. Forward FLOPs:
    `2 * N * O * OH * OW * (C / groups) * KH * KW`.

    ```mlir
    %y = graph.conv2d %x, %w {strides = array<i64: 2, 2>, padding = array<i64: 3, 3>}
        : tensor<1x3x224x224xf32>, tensor<64x3x7x7xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$weight,
                       Optional<Graph_FloatTensor>:$bias,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$strides,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0}">:$padding,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$dilation,
                       DefaultValuedAttr<I64Attr, "1">:$groups);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,`
    type($weight) (`,` type($bias)^)?
  }];
}

def Graph_Pool2dOp : Graph_Op<"pool2d", [Pure, InferTypeOpAdaptor,
    Graph_Costs<["getForwardFlops", "getSavedValues"]>]> {
  let summary = "2-D max or average pooling over NCHW";
  let description = [{
    `kind` is `max` or `mean`; `kernel`, `strides` and `padding`
    (symmetric) have two entries each. With `ceil_mode` the output size
    rounds up, as in PyTorch. Forward FLOPs: one per window element per
    output (`N * C * OH * OW * KH * KW`); backward routes or spreads the
    gradient over the same windows.

    ```mlir
    %y = graph.pool2d max %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1>}
        : tensor<8x64x112x112xf32>
    ```
  }];
  let arguments = (ins Graph_ReduceKindAttr:$kind, Graph_FloatTensor:$input,
                       DenseI64ArrayAttr:$kernel,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$strides,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0}">:$padding,
                       UnitAttr:$ceil_mode);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` type($input)";
}

def Graph_AttentionOp : Graph_Op<"attention", [Pure, InferTypeOpAdaptor,
    Graph_Costs<["getForwardFlops", "getBackwardFlops", "getBytesRead",
                 "getSavedValues", "getInternalSavedBytes", "getMatmuls",
                 "getCacheBytes", "getSideTrafficBytes",
                 "getSideKernelCount"]>]> {
  let summary = "Scaled dot-product attention, multi-head or grouped-query";
  let description = [{
    `query` is `[B, Sq, Hq, D]`; `key` and `value` are `[B, Skv, Hkv, D]`
    with `Hq` a multiple of `Hkv` (grouped-query attention; `Hkv = Hq` is
    multi-head). The result has the query's shape.

    - `causal`: query `i` sees keys up to its own position.
    - `kv_cache = C`: inference with `C` cached positions before the `Skv`
      new ones; the cache is read in full (its bytes count as read).
    - `flash`: a fused kernel that keeps no `Sq x Skv` probabilities for
      backward (it saves the output and the row log-sum-exp, and
      recomputes the rest: 2.5x the forward FLOPs backward instead of 2x).
    - `dropout = p`: dropout on the probabilities (saves a 1-byte mask and
      the dropped probabilities when not `flash`).

    Forward FLOPs: `4 * B * Hq * D * pairs + 5 * B * Hq * pairs`, where
    `pairs` counts the (query, key) pairs computed (about half with `causal`).

    Without `flash` the `B x Hq x Sq x Skv` scores are materialized (the
    causal mask is applied to the full matrix) and pass through memory
    between kernels, priced on top of the products (Megatron's fused
    scale-mask-softmax policy; `e` = element bytes): forward `4e` bytes per
    score (write, softmax read and write, read by `P V`), `6e + 1` with
    dropout (its read, write and 1-byte mask); backward `7e`, `9e + 1`
    with dropout (write of `dP`, softmax backward reads `P` and `dP` and
    writes `dS`, `dS` read by both products, `P` read by `dV`).
  }];
  let arguments = (ins Graph_FloatTensor:$query, Graph_FloatTensor:$key,
                       Graph_FloatTensor:$value, UnitAttr:$causal,
                       UnitAttr:$flash,
                       DefaultValuedAttr<I64Attr, "0">:$kv_cache,
                       DefaultValuedAttr<F64Attr, "0.0">:$dropout);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value attr-dict `:` type($query) `,` type($key) `,`
    type($value)
  }];
  let extraClassDeclaration = [{
    /// (query, key) pairs whose score is computed, per batch and head.
    double getScorePairs();
  }];
}

//===----------------------------------------------------------------------===//
// Normalization
//===----------------------------------------------------------------------===//

def Graph_LayerNormOp : Graph_Op<"layer_norm", [Pure, InferTypeOpAdaptor,
    Graph_Costs<["getForwardFlops", "getSavedValues"]>]> {
  let summary = "Layer normalization over the last dimension";
  let description = [{
    `scale` and the optional `bias` have the size of the last dimension.
    Saves its input for backward (the per-row statistics are negligible
    and not counted, as in Korthikanti et al. 2022).
  }];
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$scale,
                       Optional<Graph_FloatTensor>:$bias,
                       DefaultValuedAttr<F64Attr, "1.0e-5">:$epsilon);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale (`,` $bias^)? attr-dict `:` type($input) `,`
    type($scale) (`,` type($bias)^)?
  }];
}

def Graph_RmsNormOp : Graph_Op<"rms_norm", [Pure, InferTypeOpAdaptor,
    Graph_Costs<["getForwardFlops", "getSavedValues"]>]> {
  let summary = "RMS normalization over the last dimension";
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$scale,
                       DefaultValuedAttr<F64Attr, "1.0e-6">:$epsilon);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale attr-dict `:` type($input) `,` type($scale)
  }];
}

def Graph_SoftmaxOp : Graph_Op<"softmax", [Pure, SameOperandsAndResultType,
    Graph_Costs<["getForwardFlops", "getSavedValues"]>]> {
  let summary = "Softmax along one axis";
  let arguments = (ins Graph_FloatTensor:$input,
                       DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

// FLOPs per element are operation counts of the usual kernels: GELU's tanh
// approximation (~8), SiLU's sigmoid and product (~5), rotary embedding's
// two products and a sum (3). Such ops are memory-bound; the roofline
// prices them by bytes, so these counts matter little.
class Graph_UnaryOp<string mnemonic, string flops, bit savesInput,
                    list<Trait> traits = []>
    : Graph_Op<mnemonic, !listconcat([Pure, SameOperandsAndResultType,
                                      CostOpInterface], traits)> {
  let arguments = (ins Graph_FloatTensor:$input);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let extraClassDeclaration = [{
    double getForwardFlops() {
      return }] # flops # [{ * ::chipmesh::numElements(getType());
    }
    void getSavedValues(::llvm::SmallVectorImpl<::mlir::Value> &saved) {
      if (}] # savesInput # [{)
        saved.push_back(getInput());
    }
  }];
}

def Graph_GeluOp : Graph_UnaryOp<"gelu", "8.0", 1> {
  let summary = "GELU activation (saves its input for backward)";
}
def Graph_SiluOp : Graph_UnaryOp<"silu", "5.0", 1> {
  let summary = "SiLU / swish activation (saves its input for backward)";
}
def Graph_ReluOp : Graph_UnaryOp<"relu", "1.0", 1> {
  let summary = "ReLU activation (saves its input for backward)";
}
def Graph_TanhOp : Graph_UnaryOp<"tanh", "4.0", 1> {
  let summary = "Hyperbolic tangent";
}
def Graph_SigmoidOp : Graph_UnaryOp<"sigmoid", "4.0", 1> {
  let summary = "Logistic sigmoid";
}
def Graph_ExpOp : Graph_UnaryOp<"exp", "1.0", 1> {
  let summary = "Exponential";
}
def Graph_NegOp : Graph_UnaryOp<"neg", "1.0", 0> {
  let summary = "Negation";
}
def Graph_RotaryOp : Graph_UnaryOp<"rotary", "3.0", 0> {
  let summary = "Rotary position embedding on `[B, S, H, D]`";
  let description = [{
    Rotates pairs of the last dimension by a position-dependent angle
    (RoFormer). Linear in its input, so backward needs nothing saved.
  }];
  let hasVerifier = 1;
}

def Graph_DropoutOp : Graph_Op<"dropout", [Pure, SameOperandsAndResultType,
    Graph_Costs<["getForwardFlops", "getInternalSavedBytes"]>]> {
  let summary = "Dropout with probability `rate` (saves a 1-byte mask)";
  let arguments = (ins Graph_FloatTensor:$input, F64Attr:$rate);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

class Graph_BinaryOp<string mnemonic, bit savesOperands>
    : Graph_Op<mnemonic, [Pure, InferTypeOpAdaptor, CostOpInterface]> {
  let description = [{
    Elementwise with NumPy broadcasting; both operands have one element
    type. One FLOP per result element.
  }];
  let arguments = (ins Graph_FloatTensor:$lhs, Graph_FloatTensor:$rhs);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs)";
  let extraClassDeclaration = [{
    double getForwardFlops() {
      return ::chipmesh::numElements(getType());
    }
    void getSavedValues(::llvm::SmallVectorImpl<::mlir::Value> &saved) {
      if (!}] # savesOperands # [{)
        return;
      for (::mlir::Value operand : {getLhs(), getRhs()})
        if (!::chipmesh::isParameter(operand))
          saved.push_back(operand);
    }
  }];
}

def Graph_AddOp : Graph_BinaryOp<"add", 0> { let summary = "Elementwise sum"; }
def Graph_SubOp : Graph_BinaryOp<"sub", 0> { let summary = "Elementwise difference"; }
def Graph_MulOp : Graph_BinaryOp<"mul", 1> {
  let summary = "Elementwise product (saves both operands for backward)";
}
def Graph_DivOp : Graph_BinaryOp<"div", 1> {
  let summary = "Elementwise quotient (saves both operands for backward)";
}

//===----------------------------------------------------------------------===//
// Embedding, shape ops and reductions
//===----------------------------------------------------------------------===//

def Graph_EmbeddingOp : Graph_Op<"embedding", [Pure, InferTypeOpAdaptor,
    Graph_Costs<["getForwardFlops", "getBackwardFlops", "getBytesRead",
                 "getSavedValues"]>]> {
  let summary = "Table lookup: integer indices `[...]` into `[V, D]` give `[..., D]`";
  let description = [{
    A gather: no forward FLOPs; reads only the rows it looks up. Backward
    scatter-adds one row of gradient per index (`indices * D` FLOPs).
  }];
  let arguments = (ins Graph_IndexTensor:$indices, Graph_FloatTensor:$table);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $indices `,` $table attr-dict `:` type($indices) `,` type($table)
  }];
}

def Graph_ReshapeOp : Graph_Op<"reshape", [Pure,
    Graph_Costs<["getBytesRead", "getBytesWritten", "getKernelCount"]>]> {
  let summary = "Same elements, new static shape (a view: moves no bytes)";
  let arguments = (ins Graph_AnyTensor:$input);
  let results = (outs Graph_AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Graph_TransposeOp : Graph_Op<"transpose", [Pure, InferTypeOpAdaptor,
    CostOpInterface]> {
  let summary = "Permutes dimensions: result dim i is input dim permutation[i]";
  let arguments = (ins Graph_AnyTensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs Graph_AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Graph_ConcatOp : Graph_Op<"concat", [Pure, InferTypeOpAdaptor,
    CostOpInterface]> {
  let summary = "Joins tensors along `axis`";
  let arguments = (ins Variadic<Graph_AnyTensor>:$inputs, I64Attr:$axis);
  let results = (outs Graph_AnyTensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` type($inputs)";
}

def Graph_SplitOp : Graph_Op<"split", [Pure, InferTypeOpAdaptor,
    CostOpInterface]> {
  let summary = "Cuts a tensor along `axis` into pieces of the given `sizes`";
  let arguments = (ins Graph_AnyTensor:$input, I64Attr:$axis,
                       DenseI64ArrayAttr:$sizes);
  let results = (outs Variadic<Graph_AnyTensor>:$results);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Graph_SliceOp : Graph_Op<"slice", [Pure, InferTypeOpAdaptor,
    CostOpInterface]> {
  let summary = "A static box of a tensor: `offsets` and `sizes` per dimension";
  let arguments = (ins Graph_AnyTensor:$input, DenseI64ArrayAttr:$offsets,
                       DenseI64ArrayAttr:$sizes);
  let results = (outs Graph_AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Graph_ReduceOp : Graph_Op<"reduce", [Pure, InferTypeOpAdaptor,
    Graph_Costs<["getForwardFlops", "getSavedValues"]>]> {
  let summary = "Sum, mean or max over `axes`";
  let arguments = (ins Graph_ReduceKindAttr:$kind, Graph_FloatTensor:$input,
                       DenseI64ArrayAttr:$axes, UnitAttr:$keep_dims);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` type($input)";
}

//===----------------------------------------------------------------------===//
// Mixture of experts and loss
//===----------------------------------------------------------------------===//

def Graph_MoeOp : Graph_Op<"moe", [Pure, InferTypeOpAdaptor,

    Graph_Costs<["getForwardFlops", "getBytesRead", "getSavedValues",
                 "getInternalSavedBytes", "getMatmuls"]>]> {
  let summary = "Mixture of experts: a top-k router and E feed-forward experts";
  let description = [{
    `input` is `[..., D]`, `router` `[D, E]`, `w_up` `[E, D, F]`, `w_down`
    `[E, F, D]`, and the optional `w_gate` `[E, D, F]` makes the experts
    gated (`down(act(x gate) * (x up))`, as in Mixtral). Each token goes
    to `top_k` experts. Forward FLOPs: `2 T D E` for the router plus
    `top_k * T * (2 D F * matrices + F * act)`, with `T` tokens.
    Reads every expert's weights (a batch of tokens touches all of them).
  }];
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$router,
                       Graph_FloatTensor:$w_up, Graph_FloatTensor:$w_down,
                       Optional<Graph_FloatTensor>:$w_gate,
                       I64Attr:$top_k, Graph_ActivationAttr:$activation);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $router `,` $w_up `,` $w_down (`gate` $w_gate^)? attr-dict
    `:` type($input) `,` type($router) `,` type($w_up) `,` type($w_down)
    (`,` type($w_gate)^)?
  }];
  let extraClassDeclaration = [{
    double getTokens();
  }];
}

def Graph_CrossEntropyOp : Graph_Op<"cross_entropy", [Pure, InferTypeOpAdaptor,
    Graph_Costs<["getForwardFlops", "getSavedValues"]>]> {
  let summary = "Mean softmax cross-entropy of `logits [..., V]` against `labels [...]`";
  let arguments = (ins Graph_FloatTensor:$logits, Graph_IndexTensor:$labels);
  let results = (outs 0DTensorOf<[F32]>:$loss);
  let assemblyFormat = [{
    $logits `,` $labels attr-dict `:` type($logits) `,` type($labels)
  }];
}

//===----------------------------------------------------------------------===//
// Layers
//===----------------------------------------------------------------------===//

def Graph_LayerOp : Graph_Op<"layer", [IsolatedFromAbove,
    SingleBlockImplicitTerminator<"YieldOp">, RecursiveMemoryEffects,
    Graph_Costs<["getForwardFlops", "getBackwardFlops", "getBytesRead",
                 "getBytesWritten", "getParameterCount", "getParameterBytes",
                 "getInternalSavedBytes", "getKernelCount", "getBodyRepeat",
                 "getCacheBytes"]>]> {
  let summary = "One layer of the model, optionally repeated";
  let description = [{
    The unit of pipeline partitioning. The body takes the layer's inputs as
    block arguments and yields its results; it may only use what it is
    given (isolated from above) and owns its `graph.param`s. With
    `repeat N` the body runs N times, each with its own weights, feeding
    its results back as inputs, so result types equal input types. Costs
    are the body's, times N.

    ```mlir
    %h = graph.layer "h" repeat 12 (%x) : (tensor<8x1024x768xbf16>) -> tensor<8x1024x768xbf16> {
    ^bb0(%in: tensor<8x1024x768xbf16>):
      ...
      graph.yield %out : tensor<8x1024x768xbf16>
    }
    ```
  }];
  let arguments = (ins StrAttr:$name, DefaultValuedAttr<I64Attr, "1">:$repeat,
                       Variadic<Graph_AnyTensor>:$inputs);
  let results = (outs Variadic<Graph_AnyTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $name (`repeat` $repeat^)? `(` $inputs `)` attr-dict `:`
    functional-type($inputs, $results) $body
  }];
  let hasRegionVerifier = 1;
  let skipDefaultBuilders = 1;
  let builders = [
    OpBuilder<(ins "::llvm::StringRef":$name, "int64_t":$repeat,
                   "::mlir::ValueRange":$inputs,
                   "::mlir::TypeRange":$resultTypes)>
  ];
  let extraClassDeclaration = [{
    ::mlir::Block &getBodyBlock() { return getBody().front(); }
    /// Costs of one repetition of the body.
    ::chipmesh::CostTotals getBodyCosts();
  }];
}

def Graph_YieldOp : Graph_Op<"yield", [Pure, Terminator, ReturnLike,
    HasParent<"LayerOp">]> {
  let summary = "Returns a layer's results";
  let arguments = (ins Variadic<Graph_AnyTensor>:$values);
  let builders = [OpBuilder<(ins), [{ /* nothing */ }]>];
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

//===----------------------------------------------------------------------===//
// Training steps of a partitioned program
//===----------------------------------------------------------------------===//

// These name a forward function by symbol: its parameters are the state
// they differentiate, accumulate and update. `--chipmesh-materialize` emits
// them; they are not part of a traced model.

def Graph_BackwardOp : Graph_Op<"backward", [
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Vector-Jacobian product of a forward function";
  let description = [{
    Runs the backward pass of `callee`. The first `num_inputs` operands
    are the values its forward call was given, the rest the cotangents of
    its results, one per result. Returns the gradient of every
    floating-point input, in order, and adds the gradients of the callee's
    parameters into their accumulators (read by `graph.gradients`).
    Communication inside the callee runs adjoint: a `comm.all_reduce` of
    partial sums passes the gradient through, a `comm.all_gather` keeps
    the local slice of it, and a replicated value feeding sharded work
    gets its gradient summed over the group. `recompute = "full"`
    recomputes the forward first (activation checkpointing). Cost: the
    callee's backward FLOPs, plus its forward FLOPs when recomputing.

    ```mlir
    %dx = graph.backward @forward_dev1_stage(%x, %dy) {num_inputs = 1}
        : (tensor<1x16x64xf32>, tensor<1x16x64xf32>) -> tensor<1x16x64xf32>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$callee,
                       Variadic<Graph_AnyTensor>:$operands,
                       I64Attr:$num_inputs,
                       DefaultValuedAttr<StrAttr, "\"none\"">:$recompute);
  let results = (outs Variadic<Graph_FloatTensor>:$gradients);
  let assemblyFormat = [{
    $callee `(` $operands `)` attr-dict `:` functional-type($operands, $gradients)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::OperandRange getInputs() {
      return getOperands().take_front(getNumInputs());
    }
    ::mlir::OperandRange getCotangents() {
      return getOperands().drop_front(getNumInputs());
    }
  }];
}

def Graph_GradientsOp : Graph_Op<"gradients", [
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "The accumulated parameter gradients of a forward function, flat";
  let description = [{
    One rank-1 tensor with an entry per parameter element of `callee` (a
    repeated layer's parameters once per repetition), in the order the
    parameters are declared: the flat bucket a data-parallel all-reduce
    sums. With `params`, only the callee's top-level parameters of those
    names (a weight shared between pipeline stages).

    ```mlir
    %g = graph.gradients @forward_dev0_stage : tensor<1048576xbf16>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$callee,
                       OptionalAttr<StrArrayAttr>:$params);
  let results = (outs 1DTensorOf<[AnyFloat]>:$result);
  let assemblyFormat = "$callee attr-dict `:` type($result)";
}

def Graph_OptimizerStepOp : Graph_Op<"optimizer_step", [
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Updates a forward function's parameters from flat gradients (Adam)";
  let description = [{
    `gradients` has the layout of `graph.gradients` for the same callee.

    ```mlir
    graph.optimizer_step @forward_dev0_stage, %g : tensor<1048576xbf16>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$callee,
                       1DTensorOf<[AnyFloat]>:$gradients);
  let assemblyFormat = "$callee `,` $gradients attr-dict `:` type($gradients)";
}

#endif // CHIPMESH_DIALECT_GRAPH_IR_GRAPHOPS_TD
