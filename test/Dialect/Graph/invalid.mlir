// RUN: chipmesh-opt %s -split-input-file -verify-diagnostics

//===----------------------------------------------------------------------===//
// Tensors that fit, and ODS constraints
//===----------------------------------------------------------------------===//

func.func @param_too_many_elements() {
  // expected-error@+1 {{'graph.param' op tensor 'tensor<9223372036854775807x4xf32>' has more than 2^63 - 1 elements; no machine holds it}}
  %0 = graph.param "w" : tensor<9223372036854775807x4xf32>
  return
}

// -----

func.func @operand_too_many_elements(%a: tensor<4611686018427387904x2xf32>) {
  // expected-error@+1 {{'graph.gelu' op tensor 'tensor<4611686018427387904x2xf32>' has more than 2^63 - 1 elements}}
  %0 = graph.gelu %a : tensor<4611686018427387904x2xf32>
  return
}

// -----

func.func @param_dynamic() {
  // expected-error@+1 {{'graph.param' op result #0 must be statically shaped tensor of floating-point values, but got 'tensor<?x2xf32>'}}
  %0 = graph.param "w" : tensor<?x2xf32>
  return
}

// -----

func.func @param_integer() {
  // expected-error@+1 {{'graph.param' op result #0 must be statically shaped tensor of floating-point values, but got 'tensor<2xi32>'}}
  %0 = graph.param "w" : tensor<2xi32>
  return
}

// -----

func.func @unary_dynamic(%a: tensor<?x2xf32>) {
  // expected-error@+1 {{'graph.gelu' op operand #0 must be statically shaped tensor of floating-point values, but got 'tensor<?x2xf32>'}}
  %0 = graph.gelu %a : tensor<?x2xf32>
  return
}

// -----

func.func @unary_unranked(%a: tensor<*xf32>) {
  // expected-error@+1 {{custom op 'graph.silu' invalid kind of type specified}}
  %0 = graph.silu %a : tensor<*xf32>
  return
}

// -----

func.func @reshape_dynamic(%a: tensor<2x3xf32>) {
  // expected-error@+1 {{'graph.reshape' op result #0 must be statically shaped tensor of floating-point or signless integer values, but got 'tensor<?xf32>'}}
  %0 = graph.reshape %a : tensor<2x3xf32> -> tensor<?xf32>
  return
}

// -----

func.func @matmul_integer(%a: tensor<2x3xi32>, %b: tensor<3x4xi32>) {
  // expected-error@+1 {{'graph.matmul' op operand #0 must be statically shaped tensor of floating-point values, but got 'tensor<2x3xi32>'}}
  %0 = graph.matmul %a, %b : tensor<2x3xi32>, tensor<3x4xi32>
  return
}

// -----

func.func @embedding_float_indices(%a: tensor<2x3xf32>, %t: tensor<10x4xf32>) {
  // expected-error@+1 {{'graph.embedding' op operand #0 must be statically shaped tensor of signless integer values, but got 'tensor<2x3xf32>'}}
  %0 = graph.embedding %a, %t : tensor<2x3xf32>, tensor<10x4xf32>
  return
}

// -----

func.func @dropout_without_rate(%a: tensor<2x3xf32>) {
  // expected-error@+1 {{'graph.dropout' op requires attribute 'rate'}}
  %0 = graph.dropout %a : tensor<2x3xf32>
  return
}

// -----

func.func @moe_bad_activation(%x: tensor<2x3xf32>, %r: tensor<3x4xf32>,
                              %u: tensor<4x3x5xf32>, %d: tensor<4x5x3xf32>) {
  // expected-error@+2 {{expected ::chipmesh::graph::Activation to be one of: silu, gelu, relu}}
  // expected-error@+1 {{failed to parse Graph_ActivationAttr parameter 'value'}}
  %0 = graph.moe %x, %r, %u, %d {top_k = 1 : i64, activation = #graph.activation<tanh>} : tensor<2x3xf32>, tensor<3x4xf32>, tensor<4x3x5xf32>, tensor<4x5x3xf32>
  return
}

// -----

func.func @yield_outside_layer(%a: tensor<2xf32>) {
  // expected-error@+1 {{'graph.yield' op expects parent op 'graph.layer'}}
  graph.yield %a : tensor<2xf32>
}

// -----

func.func @inferred_type_mismatch(%a: tensor<2x3xf32>) {
  // expected-error@+2 {{'graph.matmul' op inferred type(s) 'tensor<2x2xf32>' are incompatible with return type(s) of operation 'tensor<3x2xf32>'}}
  // expected-error@+1 {{'graph.matmul' op failed to infer returned types}}
  %0 = "graph.matmul"(%a, %a) {transpose_rhs} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<3x2xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// matmul
//===----------------------------------------------------------------------===//

func.func @matmul_dynamic(%a: tensor<?x3xf32>, %b: tensor<3x4xf32>) {
  // expected-error@+1 {{'graph.matmul' op operands must be statically shaped tensors}}
  %0 = graph.matmul %a, %b : tensor<?x3xf32>, tensor<3x4xf32>
  return
}

// -----

func.func @matmul_rank1(%a: tensor<3xf32>, %b: tensor<3x4xf32>) {
  // expected-error@+1 {{'graph.matmul' op operands must have rank 2 or more, got tensor<3xf32> and tensor<3x4xf32>}}
  %0 = graph.matmul %a, %b : tensor<3xf32>, tensor<3x4xf32>
  return
}

// -----

func.func @matmul_element_types(%a: tensor<2x3xf32>, %b: tensor<3x4xbf16>) {
  // expected-error@+1 {{'graph.matmul' op operand element types differ: f32 vs bf16}}
  %0 = graph.matmul %a, %b : tensor<2x3xf32>, tensor<3x4xbf16>
  return
}

// -----

func.func @matmul_contracting(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) {
  // expected-error@+1 {{'graph.matmul' op contracting dimensions differ: lhs tensor<2x3xf32> has K=3, rhs tensor<4x5xf32> has K=4}}
  %0 = graph.matmul %a, %b : tensor<2x3xf32>, tensor<4x5xf32>
  return
}

// -----

func.func @matmul_contracting_transposed(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) {
  // expected-error@+1 {{'graph.matmul' op contracting dimensions differ: lhs tensor<2x3xf32> has K=3, rhs tensor<3x4xf32> has K=4}}
  %0 = graph.matmul %a, %b {transpose_rhs} : tensor<2x3xf32>, tensor<3x4xf32>
  return
}

// -----

func.func @matmul_batch(%a: tensor<2x4x3xf32>, %b: tensor<3x3x5xf32>) {
  // expected-error@+1 {{'graph.matmul' op batch dimensions of tensor<2x4x3xf32> and tensor<3x3x5xf32> do not broadcast}}
  %0 = graph.matmul %a, %b : tensor<2x4x3xf32>, tensor<3x3x5xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// linear
//===----------------------------------------------------------------------===//

func.func @linear_dynamic(%x: tensor<2x3xf32>, %w: tensor<3x?xf32>) {
  // expected-error@+1 {{'graph.linear' op operands must be statically shaped tensors}}
  %0 = graph.linear %x, %w : tensor<2x3xf32>, tensor<3x?xf32>
  return
}

// -----

func.func @linear_weight_rank(%x: tensor<2x3xf32>, %w: tensor<1x3x4xf32>) {
  // expected-error@+1 {{'graph.linear' op expects input [..., K] and weight [K, N], got tensor<2x3xf32> and tensor<1x3x4xf32>}}
  %0 = graph.linear %x, %w : tensor<2x3xf32>, tensor<1x3x4xf32>
  return
}

// -----

func.func @linear_input_rank0(%x: tensor<f32>, %w: tensor<1x4xf32>) {
  // expected-error@+1 {{'graph.linear' op expects input [..., K] and weight [K, N], got tensor<f32> and tensor<1x4xf32>}}
  %0 = graph.linear %x, %w : tensor<f32>, tensor<1x4xf32>
  return
}

// -----

func.func @linear_element_types(%x: tensor<2x3xf16>, %w: tensor<3x4xf32>) {
  // expected-error@+1 {{'graph.linear' op operand element types differ: f16 vs f32}}
  %0 = graph.linear %x, %w : tensor<2x3xf16>, tensor<3x4xf32>
  return
}

// -----

func.func @linear_k(%x: tensor<2x3xf32>, %w: tensor<5x4xf32>) {
  // expected-error@+1 {{'graph.linear' op input tensor<2x3xf32> has K=3 but weight tensor<5x4xf32> expects K=5}}
  %0 = graph.linear %x, %w : tensor<2x3xf32>, tensor<5x4xf32>
  return
}

// -----

func.func @linear_bias_shape(%x: tensor<2x3xf32>, %w: tensor<3x4xf32>, %b: tensor<3xf32>) {
  // expected-error@+1 {{'graph.linear' op bias must be tensor<4xf32>, got tensor<3xf32>}}
  %0 = graph.linear %x, %w, %b : tensor<2x3xf32>, tensor<3x4xf32>, tensor<3xf32>
  return
}

// -----

func.func @linear_bias_element_type(%x: tensor<2x3xf32>, %w: tensor<3x4xf32>, %b: tensor<4xbf16>) {
  // expected-error@+1 {{'graph.linear' op bias must be tensor<4xf32>, got tensor<4xbf16>}}
  %0 = graph.linear %x, %w, %b : tensor<2x3xf32>, tensor<3x4xf32>, tensor<4xbf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// conv2d
//===----------------------------------------------------------------------===//

func.func @conv2d_dynamic(%x: tensor<1x3x?x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{'graph.conv2d' op operands must be statically shaped tensors}}
  %0 = graph.conv2d %x, %w : tensor<1x3x?x8xf32>, tensor<4x3x3x3xf32>
  return
}

// -----

func.func @conv2d_rank(%x: tensor<3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{'graph.conv2d' op expects input [N, C, H, W] and weight [O, C/groups, KH, KW], got tensor<3x8x8xf32> and tensor<4x3x3x3xf32>}}
  %0 = graph.conv2d %x, %w : tensor<3x8x8xf32>, tensor<4x3x3x3xf32>
  return
}

// -----

func.func @conv2d_element_types(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf16>) {
  // expected-error@+1 {{'graph.conv2d' op operand element types differ}}
  %0 = graph.conv2d %x, %w : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf16>
  return
}

// -----

func.func @conv2d_three_strides(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{'graph.conv2d' op strides, padding and dilation need two entries each}}
  %0 = graph.conv2d %x, %w {strides = array<i64: 1, 1, 1>} : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>
  return
}

// -----

func.func @conv2d_one_padding(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{'graph.conv2d' op strides, padding and dilation need two entries each}}
  %0 = graph.conv2d %x, %w {padding = array<i64: 1>} : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>
  return
}

// -----

func.func @conv2d_zero_stride(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{'graph.conv2d' op strides and dilation must be in [1, 2^40] and padding in [0, 2^40]}}
  %0 = graph.conv2d %x, %w {strides = array<i64: 1, 0>} : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>
  return
}

// -----

func.func @conv2d_zero_dilation(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{'graph.conv2d' op strides and dilation must be in [1, 2^40] and padding in [0, 2^40]}}
  %0 = graph.conv2d %x, %w {dilation = array<i64: 0, 1>} : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>
  return
}

// -----

func.func @conv2d_negative_padding(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{'graph.conv2d' op strides and dilation must be in [1, 2^40] and padding in [0, 2^40]}}
  %0 = graph.conv2d %x, %w {padding = array<i64: 0, -1>} : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>
  return
}

// -----

func.func @conv2d_groups_zero(%x: tensor<1x4x8x8xf32>, %w: tensor<4x4x3x3xf32>) {
  // expected-error@+1 {{'graph.conv2d' op groups must be in [1, 2^40], got 0}}
  %0 = graph.conv2d %x, %w {groups = 0 : i64} : tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>
  return
}

// -----

func.func @conv2d_groups_input(%x: tensor<1x6x8x8xf32>, %w: tensor<8x2x3x3xf32>) {
  // expected-error@+1 {{'graph.conv2d' op groups=4 must divide input channels 6 and output channels 8}}
  %0 = graph.conv2d %x, %w {groups = 4 : i64} : tensor<1x6x8x8xf32>, tensor<8x2x3x3xf32>
  return
}

// -----

func.func @conv2d_groups_output(%x: tensor<1x4x8x8xf32>, %w: tensor<6x2x3x3xf32>) {
  // expected-error@+1 {{'graph.conv2d' op groups=4 must divide input channels 4 and output channels 6}}
  %0 = graph.conv2d %x, %w {groups = 4 : i64} : tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>
  return
}

// -----

func.func @conv2d_channels(%x: tensor<1x3x8x8xf32>, %w: tensor<4x2x3x3xf32>) {
  // expected-error@+1 {{'graph.conv2d' op weight tensor<4x2x3x3xf32> expects 2 input channels, input tensor<1x3x8x8xf32> has 3}}
  %0 = graph.conv2d %x, %w : tensor<1x3x8x8xf32>, tensor<4x2x3x3xf32>
  return
}

// -----

func.func @conv2d_grouped_channels(%x: tensor<1x8x8x8xf32>, %w: tensor<4x8x3x3xf32>) {
  // expected-error@+1 {{'graph.conv2d' op weight tensor<4x8x3x3xf32> expects 16 input channels, input tensor<1x8x8x8xf32> has 8}}
  %0 = graph.conv2d %x, %w {groups = 2 : i64} : tensor<1x8x8x8xf32>, tensor<4x8x3x3xf32>
  return
}

// -----

func.func @conv2d_kernel_too_large(%x: tensor<1x3x4x8xf32>, %w: tensor<4x3x5x3xf32>) {
  // expected-error@+1 {{'graph.conv2d' op kernel (5 with dilation) is larger than the padded input (4)}}
  %0 = graph.conv2d %x, %w : tensor<1x3x4x8xf32>, tensor<4x3x5x3xf32>
  return
}

// -----

func.func @conv2d_dilated_kernel_too_large(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{'graph.conv2d' op kernel (9 with dilation) is larger than the padded input (8)}}
  %0 = graph.conv2d %x, %w {dilation = array<i64: 1, 4>} : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>
  return
}

// -----

func.func @conv2d_bias(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<3xf32>) {
  // expected-error@+1 {{'graph.conv2d' op bias must have 4 elements}}
  %0 = graph.conv2d %x, %w, %b : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<3xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

func.func @attention_dynamic(%q: tensor<1x?x2x8xf32>, %k: tensor<1x4x2x8xf32>) {
  // expected-error@+1 {{'graph.attention' op operands must be statically shaped tensors}}
  %0 = graph.attention %q, %k, %k : tensor<1x?x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>
  return
}

// -----

func.func @attention_rank(%q: tensor<4x2x8xf32>, %k: tensor<1x4x2x8xf32>) {
  // expected-error@+1 {{'graph.attention' op expects query [B, Sq, Hq, D] and key/value [B, Skv, Hkv, D], got tensor<4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>}}
  %0 = graph.attention %q, %k, %k : tensor<4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>
  return
}

// -----

func.func @attention_key_value(%q: tensor<1x4x2x8xf32>, %k: tensor<1x4x2x8xf32>, %v: tensor<1x5x2x8xf32>) {
  // expected-error@+1 {{'graph.attention' op key tensor<1x4x2x8xf32> and value tensor<1x5x2x8xf32> differ}}
  %0 = graph.attention %q, %k, %v : tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x5x2x8xf32>
  return
}

// -----

func.func @attention_element_types(%q: tensor<1x4x2x8xbf16>, %k: tensor<1x4x2x8xf32>) {
  // expected-error@+1 {{'graph.attention' op query and key element types differ}}
  %0 = graph.attention %q, %k, %k : tensor<1x4x2x8xbf16>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>
  return
}

// -----

func.func @attention_batch(%q: tensor<2x4x2x8xf32>, %k: tensor<1x4x2x8xf32>) {
  // expected-error@+1 {{'graph.attention' op batch sizes differ: 2 vs 1}}
  %0 = graph.attention %q, %k, %k : tensor<2x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>
  return
}

// -----

func.func @attention_head_dim(%q: tensor<1x4x2x16xf32>, %k: tensor<1x4x2x8xf32>) {
  // expected-error@+1 {{'graph.attention' op head dimensions differ: 16 vs 8}}
  %0 = graph.attention %q, %k, %k : tensor<1x4x2x16xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>
  return
}

// -----

func.func @attention_heads(%q: tensor<1x4x6x8xf32>, %k: tensor<1x4x4x8xf32>) {
  // expected-error@+1 {{'graph.attention' op 6 query heads are not a multiple of 4 key/value heads}}
  %0 = graph.attention %q, %k, %k : tensor<1x4x6x8xf32>, tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>
  return
}

// -----

func.func @attention_zero_kv_heads(%q: tensor<1x4x6x8xf32>, %k: tensor<1x4x0x8xf32>) {
  // expected-error@+1 {{'graph.attention' op 6 query heads are not a multiple of 0 key/value heads}}
  %0 = graph.attention %q, %k, %k : tensor<1x4x6x8xf32>, tensor<1x4x0x8xf32>, tensor<1x4x0x8xf32>
  return
}

// -----

func.func @attention_kv_cache(%q: tensor<1x4x2x8xf32>) {
  // expected-error@+1 {{'graph.attention' op kv_cache must be in [0, 2^40], got -1}}
  %0 = graph.attention %q, %q, %q {kv_cache = -1 : i64} : tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>
  return
}

// -----

func.func @attention_dropout_one(%q: tensor<1x4x2x8xf32>) {
  // expected-error@+1 {{'graph.attention' op dropout must be in [0, 1), got 1.00}}
  %0 = graph.attention %q, %q, %q {dropout = 1.0 : f64} : tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>
  return
}

// -----

func.func @attention_dropout_negative(%q: tensor<1x4x2x8xf32>) {
  // expected-error@+1 {{'graph.attention' op dropout must be in [0, 1), got -0.50}}
  %0 = graph.attention %q, %q, %q {dropout = -0.5 : f64} : tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Normalization and softmax
//===----------------------------------------------------------------------===//

func.func @layer_norm_dynamic(%x: tensor<?x8xf32>, %s: tensor<8xf32>) {
  // expected-error@+1 {{'graph.layer_norm' op operands must be statically shaped tensors}}
  %0 = graph.layer_norm %x, %s : tensor<?x8xf32>, tensor<8xf32>
  return
}

// -----

func.func @layer_norm_rank0(%x: tensor<f32>, %s: tensor<1xf32>) {
  // expected-error@+1 {{'graph.layer_norm' op input must have rank 1 or more}}
  %0 = graph.layer_norm %x, %s : tensor<f32>, tensor<1xf32>
  return
}

// -----

func.func @layer_norm_scale(%x: tensor<4x8xf32>, %s: tensor<4xf32>) {
  // expected-error@+1 {{'graph.layer_norm' op scale and bias must be tensor<8x...> to match the last dimension of tensor<4x8xf32>, got tensor<4xf32>}}
  %0 = graph.layer_norm %x, %s : tensor<4x8xf32>, tensor<4xf32>
  return
}

// -----

func.func @layer_norm_bias(%x: tensor<4x8xf32>, %s: tensor<8xf32>, %b: tensor<1x8xf32>) {
  // expected-error@+1 {{'graph.layer_norm' op scale and bias must be tensor<8x...> to match the last dimension of tensor<4x8xf32>, got tensor<1x8xf32>}}
  %0 = graph.layer_norm %x, %s, %b : tensor<4x8xf32>, tensor<8xf32>, tensor<1x8xf32>
  return
}

// -----

func.func @rms_norm_dynamic(%x: tensor<4x8xf32>, %s: tensor<?xf32>) {
  // expected-error@+1 {{'graph.rms_norm' op operands must be statically shaped tensors}}
  %0 = graph.rms_norm %x, %s : tensor<4x8xf32>, tensor<?xf32>
  return
}

// -----

func.func @rms_norm_rank0(%x: tensor<f32>, %s: tensor<1xf32>) {
  // expected-error@+1 {{'graph.rms_norm' op input must have rank 1 or more}}
  %0 = graph.rms_norm %x, %s : tensor<f32>, tensor<1xf32>
  return
}

// -----

func.func @rms_norm_scale(%x: tensor<4x8xf32>, %s: tensor<16xf32>) {
  // expected-error@+1 {{'graph.rms_norm' op scale and bias must be tensor<8x...> to match the last dimension of tensor<4x8xf32>, got tensor<16xf32>}}
  %0 = graph.rms_norm %x, %s : tensor<4x8xf32>, tensor<16xf32>
  return
}

// -----

func.func @softmax_axis(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{'graph.softmax' op axis 2 is out of range for 'tensor<2x3xf32>'}}
  %0 = graph.softmax %x {axis = 2 : i64} : tensor<2x3xf32>
  return
}

// -----

// The verifier prints a negative axis as unsigned (getAxis() is uint64_t),
// so only the end of the message is checked here and below.
func.func @softmax_negative_axis(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{is out of range for 'tensor<2x3xf32>'}}
  %0 = graph.softmax %x {axis = -3 : i64} : tensor<2x3xf32>
  return
}

// -----

func.func @softmax_rank0(%x: tensor<f32>) {
  // expected-error@+1 {{is out of range for 'tensor<f32>'}}
  %0 = graph.softmax %x : tensor<f32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

func.func @rotary_rank(%x: tensor<2x3x8xf32>) {
  // expected-error@+1 {{'graph.rotary' op expects [B, S, H, D] with an even D, got 'tensor<2x3x8xf32>'}}
  %0 = graph.rotary %x : tensor<2x3x8xf32>
  return
}

// -----

func.func @rotary_odd(%x: tensor<1x2x3x5xf32>) {
  // expected-error@+1 {{'graph.rotary' op expects [B, S, H, D] with an even D, got 'tensor<1x2x3x5xf32>'}}
  %0 = graph.rotary %x : tensor<1x2x3x5xf32>
  return
}

// -----

func.func @dropout_one(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{'graph.dropout' op rate must be in [0, 1), got 1.000000e+00}}
  %0 = graph.dropout %x {rate = 1.0 : f64} : tensor<2x3xf32>
  return
}

// -----

func.func @dropout_negative(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{'graph.dropout' op rate must be in [0, 1), got -1.000000e-01}}
  %0 = graph.dropout %x {rate = -0.1 : f64} : tensor<2x3xf32>
  return
}

// -----

func.func @add_dynamic(%a: tensor<?xf32>, %b: tensor<4xf32>) {
  // expected-error@+1 {{'graph.add' op operands must be statically shaped tensors}}
  %0 = graph.add %a, %b : tensor<?xf32>, tensor<4xf32>
  return
}

// -----

func.func @sub_element_types(%a: tensor<4xf32>, %b: tensor<4xf16>) {
  // expected-error@+1 {{'graph.sub' op operand element types differ: f32 vs f16}}
  %0 = graph.sub %a, %b : tensor<4xf32>, tensor<4xf16>
  return
}

// -----

func.func @mul_broadcast(%a: tensor<2x3xf32>, %b: tensor<2xf32>) {
  // expected-error@+1 {{'graph.mul' op shapes tensor<2x3xf32> and tensor<2xf32> do not broadcast}}
  %0 = graph.mul %a, %b : tensor<2x3xf32>, tensor<2xf32>
  return
}

// -----

func.func @div_broadcast(%a: tensor<4x1x3xf32>, %b: tensor<5x2xf32>) {
  // expected-error@+1 {{'graph.div' op shapes tensor<4x1x3xf32> and tensor<5x2xf32> do not broadcast}}
  %0 = graph.div %a, %b : tensor<4x1x3xf32>, tensor<5x2xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Embedding and shape ops
//===----------------------------------------------------------------------===//

func.func @embedding_dynamic(%i: tensor<?xi64>, %t: tensor<10x4xf32>) {
  // expected-error@+1 {{'graph.embedding' op operands must be statically shaped tensors}}
  %0 = graph.embedding %i, %t : tensor<?xi64>, tensor<10x4xf32>
  return
}

// -----

func.func @embedding_table(%i: tensor<8xi64>, %t: tensor<10x4x2xf32>) {
  // expected-error@+1 {{'graph.embedding' op table must be [V, D], got tensor<10x4x2xf32>}}
  %0 = graph.embedding %i, %t : tensor<8xi64>, tensor<10x4x2xf32>
  return
}

// -----

func.func @reshape_element_type(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{'graph.reshape' op changes the element type from 'f32' to 'i32'}}
  %0 = graph.reshape %x : tensor<2x3xf32> -> tensor<6xi32>
  return
}

// -----

func.func @reshape_elements(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{'graph.reshape' op changes the number of elements: 'tensor<2x3xf32>' has 6, 'tensor<7xf32>' has 7}}
  %0 = graph.reshape %x : tensor<2x3xf32> -> tensor<7xf32>
  return
}

// -----

func.func @transpose_dynamic(%x: tensor<?x3xf32>) {
  // expected-error@+1 {{'graph.transpose' op input must be a statically shaped tensor}}
  %0 = graph.transpose %x {permutation = array<i64: 1, 0>} : tensor<?x3xf32>
  return
}

// -----

func.func @transpose_no_permutation(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{'graph.transpose' op needs a 'permutation = array<i64: ...>' attribute}}
  %0 = graph.transpose %x : tensor<2x3xf32>
  return
}

// -----

func.func @transpose_length(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{'graph.transpose' op permutation has 3 entries for a rank-2 input}}
  %0 = graph.transpose %x {permutation = array<i64: 0, 1, 2>} : tensor<2x3xf32>
  return
}

// -----

func.func @transpose_repeated(%x: tensor<2x3x4xf32>) {
  // expected-error@+1 {{'graph.transpose' op permutation is not a permutation of 0..2}}
  %0 = graph.transpose %x {permutation = array<i64: 0, 2, 0>} : tensor<2x3x4xf32>
  return
}

// -----

func.func @transpose_out_of_range(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{'graph.transpose' op permutation is not a permutation of 0..1}}
  %0 = graph.transpose %x {permutation = array<i64: 0, -1>} : tensor<2x3xf32>
  return
}

// -----

func.func @concat_no_inputs() {
  // expected-error@+2 {{'graph.concat' op needs at least one input}}
  // expected-error@+1 {{'graph.concat' op failed to infer returned types}}
  %0 = "graph.concat"() {axis = 0 : i64} : () -> tensor<2xf32>
  return
}

// -----

func.func @concat_dynamic(%a: tensor<?x3xf32>) {
  // expected-error@+1 {{'graph.concat' op inputs must be statically shaped tensors}}
  %0 = graph.concat %a, %a {axis = 0 : i64} : tensor<?x3xf32>, tensor<?x3xf32>
  return
}

// -----

func.func @concat_dynamic_second(%a: tensor<2x3xf32>, %b: tensor<?x3xf32>) {
  // expected-error@+1 {{'graph.concat' op inputs must share rank and element type}}
  %0 = graph.concat %a, %b {axis = 0 : i64} : tensor<2x3xf32>, tensor<?x3xf32>
  return
}

// -----

func.func @concat_no_axis(%a: tensor<2x3xf32>) {
  // expected-error@+1 {{'graph.concat' op needs an integer 'axis' attribute}}
  %0 = graph.concat %a, %a : tensor<2x3xf32>, tensor<2x3xf32>
  return
}

// -----

func.func @concat_axis(%a: tensor<2x3xf32>) {
  // expected-error@+1 {{'graph.concat' op axis 2 is out of range for tensor<2x3xf32>}}
  %0 = graph.concat %a, %a {axis = 2 : i64} : tensor<2x3xf32>, tensor<2x3xf32>
  return
}

// -----

func.func @concat_rank(%a: tensor<2x3xf32>, %b: tensor<2x3x1xf32>) {
  // expected-error@+1 {{'graph.concat' op inputs must share rank and element type}}
  %0 = graph.concat %a, %b {axis = 0 : i64} : tensor<2x3xf32>, tensor<2x3x1xf32>
  return
}

// -----

func.func @concat_element_type(%a: tensor<2x3xf32>, %b: tensor<2x3xi32>) {
  // expected-error@+1 {{'graph.concat' op inputs must share rank and element type}}
  %0 = graph.concat %a, %b {axis = 0 : i64} : tensor<2x3xf32>, tensor<2x3xi32>
  return
}

// -----

func.func @concat_other_dimension(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>) {
  // expected-error@+1 {{'graph.concat' op inputs differ in dimension 1, which is not the concatenation axis}}
  %0 = graph.concat %a, %b {axis = 0 : i64} : tensor<2x3xf32>, tensor<2x4xf32>
  return
}

// -----

func.func @split_dynamic(%x: tensor<?x4xf32>) {
  // expected-error@+1 {{'graph.split' op input must be a statically shaped tensor}}
  %0:2 = graph.split %x {axis = 1 : i64, sizes = array<i64: 2, 2>} : tensor<?x4xf32>
  return
}

// -----

func.func @split_no_sizes(%x: tensor<2x4xf32>) {
  // expected-error@+1 {{'graph.split' op needs an integer 'axis' and 'sizes = array<i64: ...>'}}
  %0:2 = graph.split %x {axis = 1 : i64} : tensor<2x4xf32>
  return
}

// -----

func.func @split_no_axis(%x: tensor<2x4xf32>) {
  // expected-error@+1 {{'graph.split' op needs an integer 'axis' and 'sizes = array<i64: ...>'}}
  %0:2 = graph.split %x {sizes = array<i64: 2, 2>} : tensor<2x4xf32>
  return
}

// -----

func.func @split_axis(%x: tensor<2x4xf32>) {
  // expected-error@+1 {{'graph.split' op axis -3 is out of range for tensor<2x4xf32>}}
  %0:2 = graph.split %x {axis = -3 : i64, sizes = array<i64: 1, 1>} : tensor<2x4xf32>
  return
}

// -----

func.func @split_empty_sizes(%x: tensor<2x4xf32>) {
  // expected-error@+1 {{'graph.split' op needs at least one size}}
  graph.split %x {axis = 1 : i64, sizes = array<i64>} : tensor<2x4xf32>
  return
}

// -----

func.func @split_zero_size(%x: tensor<2x4xf32>) {
  // expected-error@+1 {{'graph.split' op sizes must be positive, got 0}}
  %0:2 = graph.split %x {axis = 1 : i64, sizes = array<i64: 4, 0>} : tensor<2x4xf32>
  return
}

// -----

func.func @split_sum(%x: tensor<2x4xf32>) {
  // expected-error@+1 {{'graph.split' op sizes add up to more than dimension 1 of tensor<2x4xf32> (4)}}
  %0:2 = graph.split %x {axis = -1 : i64, sizes = array<i64: 2, 3>} : tensor<2x4xf32>
  return
}

// -----

func.func @split_result_count(%x: tensor<2x4xf32>) {
  // expected-error@+1 {{operation defines 2 results but was provided 3 to bind}}
  %0:3 = graph.split %x {axis = 1 : i64, sizes = array<i64: 2, 2>} : tensor<2x4xf32>
  return
}

// -----

func.func @slice_dynamic(%x: tensor<?x4xf32>) {
  // expected-error@+1 {{'graph.slice' op input must be a statically shaped tensor}}
  %0 = graph.slice %x {offsets = array<i64: 0, 0>, sizes = array<i64: 1, 1>} : tensor<?x4xf32>
  return
}

// -----

func.func @slice_no_offsets(%x: tensor<2x4xf32>) {
  // expected-error@+1 {{'graph.slice' op needs 'offsets = array<i64: ...>' and 'sizes = array<i64: ...>'}}
  %0 = graph.slice %x {sizes = array<i64: 1, 1>} : tensor<2x4xf32>
  return
}

// -----

func.func @slice_rank(%x: tensor<2x4xf32>) {
  // expected-error@+1 {{'graph.slice' op needs one offset and one size per dimension of tensor<2x4xf32>}}
  %0 = graph.slice %x {offsets = array<i64: 0, 0>, sizes = array<i64: 1>} : tensor<2x4xf32>
  return
}

// -----

func.func @slice_out_of_bounds(%x: tensor<2x4xf32>) {
  // expected-error@+1 {{'graph.slice' op box [3, +2) leaves dimension 1 of size 4}}
  %0 = graph.slice %x {offsets = array<i64: 0, 3>, sizes = array<i64: 2, 2>} : tensor<2x4xf32>
  return
}

// -----

func.func @slice_negative_offset(%x: tensor<2x4xf32>) {
  // expected-error@+1 {{'graph.slice' op box [-1, +1) leaves dimension 0 of size 2}}
  %0 = graph.slice %x {offsets = array<i64: -1, 0>, sizes = array<i64: 1, 1>} : tensor<2x4xf32>
  return
}

// -----

func.func @slice_negative_size(%x: tensor<2x4xf32>) {
  // expected-error@+1 {{'graph.slice' op box [0, +-1) leaves dimension 0 of size 2}}
  %0 = graph.slice %x {offsets = array<i64: 0, 0>, sizes = array<i64: -1, 1>} : tensor<2x4xf32>
  return
}

// -----

func.func @reduce_dynamic(%x: tensor<?x4xf32>) {
  // expected-error@+1 {{'graph.reduce' op input must be a statically shaped tensor}}
  %0 = graph.reduce sum %x {axes = array<i64: 1>} : tensor<?x4xf32>
  return
}

// -----

func.func @reduce_no_axes(%x: tensor<2x4xf32>) {
  // expected-error@+1 {{'graph.reduce' op needs an 'axes = array<i64: ...>' attribute}}
  %0 = graph.reduce mean %x : tensor<2x4xf32>
  return
}

// -----

func.func @reduce_axis_range(%x: tensor<2x4xf32>) {
  // expected-error@+1 {{'graph.reduce' op axis 2 is out of range or repeated for tensor<2x4xf32>}}
  %0 = graph.reduce max %x {axes = array<i64: 2>} : tensor<2x4xf32>
  return
}

// -----

func.func @reduce_axis_repeated(%x: tensor<2x4xf32>) {
  // expected-error@+1 {{'graph.reduce' op axis -1 is out of range or repeated for tensor<2x4xf32>}}
  %0 = graph.reduce sum %x {axes = array<i64: 1, -1>} : tensor<2x4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// moe and cross_entropy
//===----------------------------------------------------------------------===//

func.func @moe_dynamic(%x: tensor<?x3xf32>, %r: tensor<3x4xf32>,
                       %u: tensor<4x3x5xf32>, %d: tensor<4x5x3xf32>) {
  // expected-error@+1 {{'graph.moe' op operands must be statically shaped tensors}}
  %0 = graph.moe %x, %r, %u, %d {top_k = 1 : i64, activation = #graph.activation<silu>} : tensor<?x3xf32>, tensor<3x4xf32>, tensor<4x3x5xf32>, tensor<4x5x3xf32>
  return
}

// -----

func.func @moe_ranks(%x: tensor<2x3xf32>, %r: tensor<3x4xf32>,
                     %u: tensor<3x5xf32>, %d: tensor<4x5x3xf32>) {
  // expected-error@+1 {{'graph.moe' op expects input [..., D], router [D, E], w_up [E, D, F], w_down [E, F, D]}}
  %0 = graph.moe %x, %r, %u, %d {top_k = 1 : i64, activation = #graph.activation<silu>} : tensor<2x3xf32>, tensor<3x4xf32>, tensor<3x5xf32>, tensor<4x5x3xf32>
  return
}

// -----

func.func @moe_router(%x: tensor<2x3xf32>, %r: tensor<6x4xf32>,
                      %u: tensor<4x3x5xf32>, %d: tensor<4x5x3xf32>) {
  // expected-error@+1 {{'graph.moe' op router tensor<6x4xf32> does not match model width 3}}
  %0 = graph.moe %x, %r, %u, %d {top_k = 1 : i64, activation = #graph.activation<silu>} : tensor<2x3xf32>, tensor<6x4xf32>, tensor<4x3x5xf32>, tensor<4x5x3xf32>
  return
}

// -----

func.func @moe_up(%x: tensor<2x3xf32>, %r: tensor<3x4xf32>,
                  %u: tensor<2x3x5xf32>, %d: tensor<4x5x3xf32>) {
  // expected-error@+1 {{'graph.moe' op w_up must be [4, 3, F], got tensor<2x3x5xf32>}}
  %0 = graph.moe %x, %r, %u, %d {top_k = 1 : i64, activation = #graph.activation<silu>} : tensor<2x3xf32>, tensor<3x4xf32>, tensor<2x3x5xf32>, tensor<4x5x3xf32>
  return
}

// -----

func.func @moe_down(%x: tensor<2x3xf32>, %r: tensor<3x4xf32>,
                    %u: tensor<4x3x5xf32>, %d: tensor<4x3x5xf32>) {
  // expected-error@+1 {{'graph.moe' op w_down must be [4, 5, 3], got tensor<4x3x5xf32>}}
  %0 = graph.moe %x, %r, %u, %d {top_k = 1 : i64, activation = #graph.activation<silu>} : tensor<2x3xf32>, tensor<3x4xf32>, tensor<4x3x5xf32>, tensor<4x3x5xf32>
  return
}

// -----

func.func @moe_gate(%x: tensor<2x3xf32>, %r: tensor<3x4xf32>,
                    %u: tensor<4x3x5xf32>, %d: tensor<4x5x3xf32>, %g: tensor<4x3x6xf32>) {
  // expected-error@+1 {{'graph.moe' op w_gate must have w_up's type tensor<4x3x5xf32>, got tensor<4x3x6xf32>}}
  %0 = graph.moe %x, %r, %u, %d gate %g {top_k = 1 : i64, activation = #graph.activation<silu>} : tensor<2x3xf32>, tensor<3x4xf32>, tensor<4x3x5xf32>, tensor<4x5x3xf32>, tensor<4x3x6xf32>
  return
}

// -----

func.func @moe_no_top_k(%x: tensor<2x3xf32>, %r: tensor<3x4xf32>,
                        %u: tensor<4x3x5xf32>, %d: tensor<4x5x3xf32>) {
  // expected-error@+1 {{'graph.moe' op needs an integer 'top_k' attribute}}
  %0 = graph.moe %x, %r, %u, %d {activation = #graph.activation<silu>} : tensor<2x3xf32>, tensor<3x4xf32>, tensor<4x3x5xf32>, tensor<4x5x3xf32>
  return
}

// -----

func.func @moe_top_k_zero(%x: tensor<2x3xf32>, %r: tensor<3x4xf32>,
                          %u: tensor<4x3x5xf32>, %d: tensor<4x5x3xf32>) {
  // expected-error@+1 {{'graph.moe' op top_k must be in [1, 4], got 0}}
  %0 = graph.moe %x, %r, %u, %d {top_k = 0 : i64, activation = #graph.activation<silu>} : tensor<2x3xf32>, tensor<3x4xf32>, tensor<4x3x5xf32>, tensor<4x5x3xf32>
  return
}

// -----

func.func @moe_top_k_too_large(%x: tensor<2x3xf32>, %r: tensor<3x4xf32>,
                               %u: tensor<4x3x5xf32>, %d: tensor<4x5x3xf32>) {
  // expected-error@+1 {{'graph.moe' op top_k must be in [1, 4], got 5}}
  %0 = graph.moe %x, %r, %u, %d {top_k = 5 : i64, activation = #graph.activation<silu>} : tensor<2x3xf32>, tensor<3x4xf32>, tensor<4x3x5xf32>, tensor<4x5x3xf32>
  return
}

// -----

func.func @cross_entropy_dynamic(%l: tensor<2x?xf32>, %y: tensor<2xi64>) {
  // expected-error@+1 {{'graph.cross_entropy' op operands must be statically shaped tensors}}
  %0 = graph.cross_entropy %l, %y : tensor<2x?xf32>, tensor<2xi64>
  return
}

// -----

func.func @cross_entropy_labels(%l: tensor<2x10xf32>, %y: tensor<2x10xi64>) {
  // expected-error@+1 {{'graph.cross_entropy' op labels tensor<2x10xi64> must have the shape of logits tensor<2x10xf32> without its last (class) dimension}}
  %0 = graph.cross_entropy %l, %y : tensor<2x10xf32>, tensor<2x10xi64>
  return
}

// -----

func.func @cross_entropy_rank0(%l: tensor<f32>, %y: tensor<i64>) {
  // expected-error@+1 {{'graph.cross_entropy' op labels tensor<i64> must have the shape of logits tensor<f32> without its last (class) dimension}}
  %0 = graph.cross_entropy %l, %y : tensor<f32>, tensor<i64>
  return
}

// -----

func.func @cross_entropy_float_labels(%l: tensor<2x10xf32>, %y: tensor<2xf32>) {
  // expected-error@+1 {{'graph.cross_entropy' op operand #1 must be statically shaped tensor of signless integer values, but got 'tensor<2xf32>'}}
  %0 = graph.cross_entropy %l, %y : tensor<2x10xf32>, tensor<2xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// layer
//===----------------------------------------------------------------------===//

func.func @layer_repeat_zero(%a: tensor<2xf32>) {
  // expected-error@+1 {{'graph.layer' op repeat must be at least 1, got 0}}
  %0 = graph.layer "x" repeat 0 (%a) : (tensor<2xf32>) -> tensor<2xf32> {
  ^bb0(%in: tensor<2xf32>):
    graph.yield %in : tensor<2xf32>
  }
  return
}

// -----

func.func @layer_repeat_negative(%a: tensor<2xf32>) {
  // expected-error@+1 {{'graph.layer' op repeat must be at least 1, got -3}}
  %0 = graph.layer "x" repeat -3 (%a) : (tensor<2xf32>) -> tensor<2xf32> {
  ^bb0(%in: tensor<2xf32>):
    graph.yield %in : tensor<2xf32>
  }
  return
}

// -----

func.func @layer_body_arguments(%a: tensor<2xf32>) {
  // expected-error@+1 {{'graph.layer' op body arguments 'tensor<2xf32>', 'tensor<3xf32>' must match the inputs 'tensor<2xf32>', 'tensor<2xf32>'}}
  %0:2 = graph.layer "x" (%a, %a) : (tensor<2xf32>, tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
  ^bb0(%in: tensor<2xf32>, %in2: tensor<3xf32>):
    graph.yield %in, %in : tensor<2xf32>, tensor<2xf32>
  }
  return
}

// -----

func.func @layer_missing_body_arguments(%a: tensor<2xf32>) {
  // expected-error@+1 {{'graph.layer' op body arguments  must match the inputs 'tensor<2xf32>'}}
  graph.layer "x" (%a) : (tensor<2xf32>) -> () {
  }
  return
}

// -----

func.func @layer_yield_types(%a: tensor<2xf32>) {
  %0 = graph.layer "x" (%a) : (tensor<2xf32>) -> tensor<4xf32> {
  ^bb0(%in: tensor<2xf32>):
    // expected-error@+1 {{'graph.yield' op yields 'tensor<2xf32>' but the layer returns 'tensor<4xf32>'}}
    graph.yield %in : tensor<2xf32>
  }
  return
}

// -----

func.func @layer_implicit_yield(%a: tensor<2xf32>) {
  // The implicit terminator yields nothing and takes the layer's location.
  // expected-error@+1 {{'graph.yield' op yields  but the layer returns 'tensor<2xf32>'}}
  %0 = graph.layer "x" (%a) : (tensor<2xf32>) -> tensor<2xf32> {
  ^bb0(%in: tensor<2xf32>):
  }
  return
}

// -----

func.func @layer_repeat_types(%a: tensor<2xf32>) {
  // expected-error@+1 {{'graph.layer' op repeats 2 times, so its results 'tensor<4xf32>' must have the types of its inputs 'tensor<2xf32>'}}
  %0 = graph.layer "x" repeat 2 (%a) : (tensor<2xf32>) -> tensor<4xf32> {
  ^bb0(%in: tensor<2xf32>):
    %c = graph.concat %in, %in {axis = 0 : i64} : tensor<2xf32>, tensor<2xf32>
    graph.yield %c : tensor<4xf32>
  }
  return
}

// -----

func.func @layer_isolated(%a: tensor<2xf32>) {
  // expected-note@+1 {{required by region isolation constraints}}
  %0 = graph.layer "x" (%a) : (tensor<2xf32>) -> tensor<2xf32> {
  ^bb0(%in: tensor<2xf32>):
    // expected-error@+1 {{'graph.add' op using value defined outside the region}}
    %1 = graph.add %in, %a : tensor<2xf32>, tensor<2xf32>
    graph.yield %1 : tensor<2xf32>
  }
  return
}

// -----

func.func @layer_two_blocks(%a: tensor<2xf32>) {
  // expected-error@+1 {{'graph.layer' op expects region #0 to have 0 or 1 blocks}}
  %0 = "graph.layer"(%a) ({
  ^bb0(%in: tensor<2xf32>):
    "graph.yield"(%in) : (tensor<2xf32>) -> ()
  ^bb1:
    "graph.yield"(%in) : (tensor<2xf32>) -> ()
  }) {name = "x"} : (tensor<2xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @layer_no_block(%a: tensor<2xf32>) {
  // expected-error@+1 {{'graph.layer' op region #0 ('body') failed to verify constraint: region with 1 blocks}}
  %0 = "graph.layer"(%a) ({}) {name = "x"} : (tensor<2xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @layer_no_name(%a: tensor<2xf32>) {
  // expected-error@+1 {{'graph.layer' op requires attribute 'name'}}
  %0 = "graph.layer"(%a) ({
  ^bb0(%in: tensor<2xf32>):
    "graph.yield"(%in) : (tensor<2xf32>) -> ()
  }) : (tensor<2xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @layer_nested_repeat_types(%a: tensor<2xf32>) {
  %0 = graph.layer "outer" (%a) : (tensor<2xf32>) -> tensor<2xf32> {
  ^bb0(%in: tensor<2xf32>):
    // expected-error@+1 {{'graph.layer' op repeats 3 times, so its results 'tensor<2xbf16>' must have the types of its inputs 'tensor<2xf32>'}}
    %1 = graph.layer "inner" repeat 3 (%in) : (tensor<2xf32>) -> tensor<2xbf16> {
    ^bb0(%x: tensor<2xf32>):
      %p = graph.param "p" : tensor<2xbf16>
      graph.yield %p : tensor<2xbf16>
    }
    graph.yield %in : tensor<2xf32>
  }
  return
}

// -----

// Regression: attributes of the wrong kind used to crash shape inference.
func.func @reduce_axes_not_array(%a: tensor<2x3xf32>) {
  // expected-error@+1 {{'graph.reduce' op needs an 'axes = array<i64: ...>' attribute}}
  %0 = graph.reduce sum %a {axes = 1 : i64} : tensor<2x3xf32>
  return
}

// -----

func.func @transpose_list_not_array(%a: tensor<2x3xf32>) {
  // expected-error@+1 {{'graph.transpose' op needs a 'permutation = array<i64: ...>' attribute}}
  %0 = graph.transpose %a {permutation = [1, 0]} : tensor<2x3xf32>
  return
}

// -----

func.func @moe_without_activation(%x: tensor<2x3xf32>, %r: tensor<3x4xf32>, %u: tensor<4x3x5xf32>, %d: tensor<4x5x3xf32>) {
  // expected-error@+1 {{'graph.moe' op needs an 'activation = #graph.activation<...>' attribute}}
  %0 = graph.moe %x, %r, %u, %d {top_k = 1 : i64} : tensor<2x3xf32>, tensor<3x4xf32>, tensor<4x3x5xf32>, tensor<4x5x3xf32>
  return
}

// -----

// Regression: split sizes that overflow int64 used to be accepted.
func.func @split_overflow(%a: tensor<4xf32>) {
  // expected-error@+1 {{'graph.split' op sizes add up to more than dimension 0 of tensor<4xf32> (4)}}
  %0:3 = graph.split %a {axis = 0 : i64, sizes = array<i64: 9223372036854775807, 9223372036854775807, 6>} : tensor<4xf32>
  return
}

// -----

func.func @conv_dilation_overflow(%x: tensor<1x1x8x8xf32>, %w: tensor<1x1x3x3xf32>) {
  // expected-error@+1 {{'graph.conv2d' op strides and dilation must be in [1, 2^40] and padding in [0, 2^40]}}
  %0 = graph.conv2d %x, %w {dilation = array<i64: 9223372036854775807, 1>} : tensor<1x1x8x8xf32>, tensor<1x1x3x3xf32>
  return
}

// -----

func.func @concat_overflow(%a: tensor<9223372036854775807xf32>, %b: tensor<2xf32>) {
  // expected-error@+1 {{'graph.concat' op concatenated dimension exceeds 2^40}}
  %0 = graph.concat %a, %b {axis = 0 : i64} : tensor<9223372036854775807xf32>, tensor<2xf32>
  return
}
