// RUN: chipmesh-opt %s --verify-roundtrip | FileCheck %s
// RUN: chipmesh-opt %s | chipmesh-opt | FileCheck %s

// Result types are inferred and not printed: each test returns its results,
// so the inferred types show in the printed `return`.

//===----------------------------------------------------------------------===//
// Parameters
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @param
// CHECK: %[[W:.*]] = graph.param "h.0.attn.c_attn.weight" : tensor<768x2304xbf16>
// CHECK: %[[S:.*]] = graph.param "scale" {init = "ones"} : tensor<f32>
// CHECK: return %[[W]], %[[S]] : tensor<768x2304xbf16>, tensor<f32>
func.func @param() -> (tensor<768x2304xbf16>, tensor<f32>) {
  %w = graph.param "h.0.attn.c_attn.weight" : tensor<768x2304xbf16>
  %s = graph.param "scale" {init = "ones"} : tensor<f32>
  return %w, %s : tensor<768x2304xbf16>, tensor<f32>
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[A:[^:]+]]: tensor<8x16x32xf32>, %[[B:[^:]+]]: tensor<32x64xf32>, %[[C:[^:]+]]: tensor<64x32xf32>, %[[D:[^:]+]]: tensor<4x1x16x32xf32>, %[[E:[^:]+]]: tensor<3x32x8xf32>)
// CHECK: %[[R0:.*]] = graph.matmul %[[A]], %[[B]] : tensor<8x16x32xf32>, tensor<32x64xf32>
// CHECK: %[[R1:.*]] = graph.matmul %[[A]], %[[C]] {transpose_rhs} : tensor<8x16x32xf32>, tensor<64x32xf32>
// CHECK: %[[R2:.*]] = graph.matmul %[[D]], %[[E]] : tensor<4x1x16x32xf32>, tensor<3x32x8xf32>
// CHECK: return %[[R0]], %[[R1]], %[[R2]] : tensor<8x16x64xf32>, tensor<8x16x64xf32>, tensor<4x3x16x8xf32>
func.func @matmul(%a: tensor<8x16x32xf32>, %b: tensor<32x64xf32>,
                  %c: tensor<64x32xf32>, %d: tensor<4x1x16x32xf32>,
                  %e: tensor<3x32x8xf32>)
    -> (tensor<8x16x64xf32>, tensor<8x16x64xf32>, tensor<4x3x16x8xf32>) {
  // A rank-2 rhs broadcasts over the batch.
  %0 = graph.matmul %a, %b : tensor<8x16x32xf32>, tensor<32x64xf32>
  // rhs is [N, K].
  %1 = graph.matmul %a, %c {transpose_rhs} : tensor<8x16x32xf32>, tensor<64x32xf32>
  // Batch dimensions [4, 1] and [3] broadcast to [4, 3].
  %2 = graph.matmul %d, %e : tensor<4x1x16x32xf32>, tensor<3x32x8xf32>
  return %0, %1, %2 : tensor<8x16x64xf32>, tensor<8x16x64xf32>, tensor<4x3x16x8xf32>
}

// CHECK-LABEL: func.func @linear
// CHECK-SAME: (%[[X:[^:]+]]: tensor<8x1024x768xbf16>, %[[H:[^:]+]]: tensor<8x3072xbf16>)
// CHECK: %[[W:.*]] = graph.param "fc.weight" : tensor<768x3072xbf16>
// CHECK: %[[B:.*]] = graph.param "fc.bias" : tensor<3072xbf16>
// CHECK: %[[Y:.*]] = graph.linear %[[X]], %[[W]], %[[B]] : tensor<8x1024x768xbf16>, tensor<768x3072xbf16>, tensor<3072xbf16>
// CHECK: %[[W2:.*]] = graph.param "proj.weight" : tensor<3072x768xbf16>
// CHECK: %[[Z:.*]] = graph.linear %[[H]], %[[W2]] : tensor<8x3072xbf16>, tensor<3072x768xbf16>
// CHECK: return %[[Y]], %[[Z]] : tensor<8x1024x3072xbf16>, tensor<8x768xbf16>
func.func @linear(%x: tensor<8x1024x768xbf16>, %h: tensor<8x3072xbf16>)
    -> (tensor<8x1024x3072xbf16>, tensor<8x768xbf16>) {
  %w = graph.param "fc.weight" : tensor<768x3072xbf16>
  %b = graph.param "fc.bias" : tensor<3072xbf16>
  %0 = graph.linear %x, %w, %b : tensor<8x1024x768xbf16>, tensor<768x3072xbf16>, tensor<3072xbf16>
  %w2 = graph.param "proj.weight" : tensor<3072x768xbf16>
  %1 = graph.linear %h, %w2 : tensor<8x3072xbf16>, tensor<3072x768xbf16>
  return %0, %1 : tensor<8x1024x3072xbf16>, tensor<8x768xbf16>
}

// Default-valued attributes (strides 1, padding 0, dilation 1, groups 1)
// are elided when printed.
// CHECK-LABEL: func.func @conv2d
// CHECK-SAME: (%[[X:[^:]+]]: tensor<1x3x224x224xf32>, %[[W:[^:]+]]: tensor<64x3x7x7xf32>, %[[B:[^:]+]]: tensor<64xf32>, %[[G:[^:]+]]: tensor<64x16x3x3xf32>)
// CHECK: %[[STEM:.*]] = graph.conv2d %[[X]], %[[W]] {padding = array<i64: 3, 3>, strides = array<i64: 2, 2>} : tensor<1x3x224x224xf32>, tensor<64x3x7x7xf32>
// CHECK: %[[GRP:.*]] = graph.conv2d %[[STEM]], %[[G]], %[[B]] {dilation = array<i64: 2, 2>, groups = 4 : i64, padding = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<1x64x112x112xf32>, tensor<64x16x3x3xf32>, tensor<64xf32>
// CHECK: %[[DEF:.*]] = graph.conv2d %[[X]], %[[W]] : tensor<1x3x224x224xf32>, tensor<64x3x7x7xf32>
// CHECK: return %[[GRP]], %[[DEF]] : tensor<1x64x56x56xf32>, tensor<1x64x218x218xf32>
func.func @conv2d(%x: tensor<1x3x224x224xf32>, %w: tensor<64x3x7x7xf32>,
                  %b: tensor<64xf32>, %g: tensor<64x16x3x3xf32>)
    -> (tensor<1x64x56x56xf32>, tensor<1x64x218x218xf32>) {
  // (224 + 2*3 - 7) / 2 + 1 = 112; the stem's result feeds the next op,
  // whose printed operand type shows it.
  %0 = graph.conv2d %x, %w {strides = array<i64: 2, 2>, padding = array<i64: 3, 3>}
      : tensor<1x3x224x224xf32>, tensor<64x3x7x7xf32>
  // Grouped and dilated: span 2*(3-1)+1 = 5, (112 + 4 - 5) / 2 + 1 = 56.
  %1 = graph.conv2d %0, %g, %b {groups = 4 : i64, padding = array<i64: 2, 2>,
                                dilation = array<i64: 2, 2>, strides = array<i64: 2, 2>}
      : tensor<1x64x112x112xf32>, tensor<64x16x3x3xf32>, tensor<64xf32>
  // Explicit defaults: 224 - 7 + 1 = 218.
  %2 = graph.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0>,
                            dilation = array<i64: 1, 1>, groups = 1 : i64}
      : tensor<1x3x224x224xf32>, tensor<64x3x7x7xf32>
  return %1, %2 : tensor<1x64x56x56xf32>, tensor<1x64x218x218xf32>
}

// CHECK-LABEL: func.func @attention
// CHECK-SAME: (%[[Q:[^:]+]]: tensor<2x128x32x64xbf16>, %[[KV:[^:]+]]: tensor<2x128x8x64xbf16>, %[[Q1:[^:]+]]: tensor<1x1x32x64xbf16>, %[[KV1:[^:]+]]: tensor<1x1x8x64xbf16>)
// CHECK: %[[MHA:.*]] = graph.attention %[[Q]], %[[Q]], %[[Q]] : tensor<2x128x32x64xbf16>, tensor<2x128x32x64xbf16>, tensor<2x128x32x64xbf16>
// CHECK: %[[GQA:.*]] = graph.attention %[[Q]], %[[KV]], %[[KV]] {causal, flash} : tensor<2x128x32x64xbf16>, tensor<2x128x8x64xbf16>, tensor<2x128x8x64xbf16>
// CHECK: %[[DEC:.*]] = graph.attention %[[Q1]], %[[KV1]], %[[KV1]] {causal, kv_cache = 1024 : i64} : tensor<1x1x32x64xbf16>, tensor<1x1x8x64xbf16>, tensor<1x1x8x64xbf16>
// CHECK: %[[DROP:.*]] = graph.attention %[[Q]], %[[KV]], %[[KV]] {dropout = 1.000000e-01 : f64} : tensor<2x128x32x64xbf16>, tensor<2x128x8x64xbf16>, tensor<2x128x8x64xbf16>
// CHECK: %[[ALL:.*]] = graph.attention %[[Q]], %[[KV]], %[[KV]] {causal, dropout = 5.000000e-01 : f64, flash, kv_cache = 16 : i64} : tensor<2x128x32x64xbf16>, tensor<2x128x8x64xbf16>, tensor<2x128x8x64xbf16>
// CHECK: return %[[MHA]], %[[GQA]], %[[DEC]], %[[DROP]], %[[ALL]] : tensor<2x128x32x64xbf16>, tensor<2x128x32x64xbf16>, tensor<1x1x32x64xbf16>, tensor<2x128x32x64xbf16>, tensor<2x128x32x64xbf16>
func.func @attention(%q: tensor<2x128x32x64xbf16>, %kv: tensor<2x128x8x64xbf16>,
                     %q1: tensor<1x1x32x64xbf16>, %kv1: tensor<1x1x8x64xbf16>)
    -> (tensor<2x128x32x64xbf16>, tensor<2x128x32x64xbf16>, tensor<1x1x32x64xbf16>,
        tensor<2x128x32x64xbf16>, tensor<2x128x32x64xbf16>) {
  // Multi-head: 32 query heads, 32 key/value heads.
  %0 = graph.attention %q, %q, %q
      : tensor<2x128x32x64xbf16>, tensor<2x128x32x64xbf16>, tensor<2x128x32x64xbf16>
  // Grouped-query: 32 query heads share 8 key/value heads.
  %1 = graph.attention %q, %kv, %kv {causal, flash}
      : tensor<2x128x32x64xbf16>, tensor<2x128x8x64xbf16>, tensor<2x128x8x64xbf16>
  // One decode step against 1024 cached positions.
  %2 = graph.attention %q1, %kv1, %kv1 {causal, kv_cache = 1024 : i64}
      : tensor<1x1x32x64xbf16>, tensor<1x1x8x64xbf16>, tensor<1x1x8x64xbf16>
  // kv_cache = 0 is the default and is elided.
  %3 = graph.attention %q, %kv, %kv {dropout = 0.1 : f64, kv_cache = 0 : i64}
      : tensor<2x128x32x64xbf16>, tensor<2x128x8x64xbf16>, tensor<2x128x8x64xbf16>
  %4 = graph.attention %q, %kv, %kv {causal, flash, kv_cache = 16 : i64, dropout = 0.5 : f64}
      : tensor<2x128x32x64xbf16>, tensor<2x128x8x64xbf16>, tensor<2x128x8x64xbf16>
  return %0, %1, %2, %3, %4 : tensor<2x128x32x64xbf16>, tensor<2x128x32x64xbf16>,
      tensor<1x1x32x64xbf16>, tensor<2x128x32x64xbf16>, tensor<2x128x32x64xbf16>
}

//===----------------------------------------------------------------------===//
// Normalization
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @norms
// CHECK-SAME: (%[[X:[^:]+]]: tensor<8x1024x768xf32>)
// CHECK: %[[G:.*]] = graph.param "ln.weight" : tensor<768xf32>
// CHECK: %[[B:.*]] = graph.param "ln.bias" : tensor<768xf32>
// CHECK: %[[LN:.*]] = graph.layer_norm %[[X]], %[[G]], %[[B]] : tensor<8x1024x768xf32>, tensor<768xf32>, tensor<768xf32>
// CHECK: %[[LN2:.*]] = graph.layer_norm %[[LN]], %[[G]] {epsilon = 9.9999999999999998E-13 : f64} : tensor<8x1024x768xf32>, tensor<768xf32>
// CHECK: %[[RMS:.*]] = graph.rms_norm %[[LN2]], %[[G]] : tensor<8x1024x768xf32>, tensor<768xf32>
// CHECK: %[[RMS2:.*]] = graph.rms_norm %[[RMS]], %[[G]] {epsilon = 1.000000e-05 : f64} : tensor<8x1024x768xf32>, tensor<768xf32>
// CHECK: return %[[RMS2]] : tensor<8x1024x768xf32>
func.func @norms(%x: tensor<8x1024x768xf32>) -> tensor<8x1024x768xf32> {
  %g = graph.param "ln.weight" : tensor<768xf32>
  %b = graph.param "ln.bias" : tensor<768xf32>
  %0 = graph.layer_norm %x, %g, %b : tensor<8x1024x768xf32>, tensor<768xf32>, tensor<768xf32>
  %1 = graph.layer_norm %0, %g {epsilon = 1.0e-12 : f64} : tensor<8x1024x768xf32>, tensor<768xf32>
  %2 = graph.rms_norm %1, %g : tensor<8x1024x768xf32>, tensor<768xf32>
  %3 = graph.rms_norm %2, %g {epsilon = 1.0e-5 : f64} : tensor<8x1024x768xf32>, tensor<768xf32>
  return %3 : tensor<8x1024x768xf32>
}

// CHECK-LABEL: func.func @softmax
// CHECK-SAME: (%[[X:[^:]+]]: tensor<8x12x128x128xf32>)
// CHECK: %[[S0:.*]] = graph.softmax %[[X]] : tensor<8x12x128x128xf32>
// CHECK: %[[S1:.*]] = graph.softmax %[[S0]] {axis = 1 : i64} : tensor<8x12x128x128xf32>
// CHECK: %[[S2:.*]] = graph.softmax %[[S1]] {axis = -4 : i64} : tensor<8x12x128x128xf32>
// CHECK: return %[[S2]] : tensor<8x12x128x128xf32>
func.func @softmax(%x: tensor<8x12x128x128xf32>) -> tensor<8x12x128x128xf32> {
  %0 = graph.softmax %x : tensor<8x12x128x128xf32>
  %1 = graph.softmax %0 {axis = 1 : i64} : tensor<8x12x128x128xf32>
  %2 = graph.softmax %1 {axis = -4 : i64} : tensor<8x12x128x128xf32>
  return %2 : tensor<8x12x128x128xf32>
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @unary
// CHECK-SAME: (%[[X:[^:]+]]: tensor<2x16x4x64xf16>)
// CHECK: %[[GELU:.*]] = graph.gelu %[[X]] : tensor<2x16x4x64xf16>
// CHECK: %[[SILU:.*]] = graph.silu %[[GELU]] : tensor<2x16x4x64xf16>
// CHECK: %[[RELU:.*]] = graph.relu %[[SILU]] : tensor<2x16x4x64xf16>
// CHECK: %[[TANH:.*]] = graph.tanh %[[RELU]] : tensor<2x16x4x64xf16>
// CHECK: %[[SIG:.*]] = graph.sigmoid %[[TANH]] : tensor<2x16x4x64xf16>
// CHECK: %[[EXP:.*]] = graph.exp %[[SIG]] : tensor<2x16x4x64xf16>
// CHECK: %[[NEG:.*]] = graph.neg %[[EXP]] : tensor<2x16x4x64xf16>
// CHECK: %[[ROT:.*]] = graph.rotary %[[NEG]] : tensor<2x16x4x64xf16>
// CHECK: %[[DROP:.*]] = graph.dropout %[[ROT]] {rate = 1.000000e-01 : f64} : tensor<2x16x4x64xf16>
// CHECK: %[[KEEP:.*]] = graph.dropout %[[DROP]] {rate = 0.000000e+00 : f64} : tensor<2x16x4x64xf16>
// CHECK: return %[[KEEP]] : tensor<2x16x4x64xf16>
func.func @unary(%x: tensor<2x16x4x64xf16>) -> tensor<2x16x4x64xf16> {
  %0 = graph.gelu %x : tensor<2x16x4x64xf16>
  %1 = graph.silu %0 : tensor<2x16x4x64xf16>
  %2 = graph.relu %1 : tensor<2x16x4x64xf16>
  %3 = graph.tanh %2 : tensor<2x16x4x64xf16>
  %4 = graph.sigmoid %3 : tensor<2x16x4x64xf16>
  %5 = graph.exp %4 : tensor<2x16x4x64xf16>
  %6 = graph.neg %5 : tensor<2x16x4x64xf16>
  %7 = graph.rotary %6 : tensor<2x16x4x64xf16>
  %8 = graph.dropout %7 {rate = 0.1 : f64} : tensor<2x16x4x64xf16>
  %9 = graph.dropout %8 {rate = 0.0 : f64} : tensor<2x16x4x64xf16>
  return %9 : tensor<2x16x4x64xf16>
}

// CHECK-LABEL: func.func @binary
// CHECK-SAME: (%[[A:[^:]+]]: tensor<8x16x768xf32>, %[[B:[^:]+]]: tensor<768xf32>, %[[C:[^:]+]]: tensor<8x1x768xf32>, %[[D:[^:]+]]: tensor<16x1xf32>, %[[S:[^:]+]]: tensor<f32>)
// CHECK: %[[ADD:.*]] = graph.add %[[A]], %[[A]] : tensor<8x16x768xf32>, tensor<8x16x768xf32>
// CHECK: %[[SUB:.*]] = graph.sub %[[ADD]], %[[B]] : tensor<8x16x768xf32>, tensor<768xf32>
// CHECK: %[[MUL:.*]] = graph.mul %[[S]], %[[SUB]] : tensor<f32>, tensor<8x16x768xf32>
// CHECK: %[[DIV:.*]] = graph.div %[[C]], %[[D]] : tensor<8x1x768xf32>, tensor<16x1xf32>
// CHECK: %[[SUM:.*]] = graph.add %[[MUL]], %[[DIV]] : tensor<8x16x768xf32>, tensor<8x16x768xf32>
// CHECK: %[[SC:.*]] = graph.mul %[[S]], %[[S]] : tensor<f32>, tensor<f32>
// CHECK: return %[[SUM]], %[[SC]] : tensor<8x16x768xf32>, tensor<f32>
func.func @binary(%a: tensor<8x16x768xf32>, %b: tensor<768xf32>,
                  %c: tensor<8x1x768xf32>, %d: tensor<16x1xf32>, %s: tensor<f32>)
    -> (tensor<8x16x768xf32>, tensor<f32>) {
  %0 = graph.add %a, %a : tensor<8x16x768xf32>, tensor<8x16x768xf32>
  // A lower-rank operand broadcasts from the right.
  %1 = graph.sub %0, %b : tensor<8x16x768xf32>, tensor<768xf32>
  // A rank-0 operand broadcasts everywhere.
  %2 = graph.mul %s, %1 : tensor<f32>, tensor<8x16x768xf32>
  // Both operands broadcast: [8, 1, 768] and [16, 1] give [8, 16, 768].
  %3 = graph.div %c, %d : tensor<8x1x768xf32>, tensor<16x1xf32>
  %4 = graph.add %2, %3 : tensor<8x16x768xf32>, tensor<8x16x768xf32>
  %5 = graph.mul %s, %s : tensor<f32>, tensor<f32>
  return %4, %5 : tensor<8x16x768xf32>, tensor<f32>
}

//===----------------------------------------------------------------------===//
// Embedding, shape ops and reductions
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @embedding
// CHECK-SAME: (%[[IDS:[^:]+]]: tensor<8x1024xi64>, %[[ID:[^:]+]]: tensor<i32>)
// CHECK: %[[WTE:.*]] = graph.param "wte" : tensor<50257x768xbf16>
// CHECK: %[[E:.*]] = graph.embedding %[[IDS]], %[[WTE]] : tensor<8x1024xi64>, tensor<50257x768xbf16>
// CHECK: %[[E1:.*]] = graph.embedding %[[ID]], %[[WTE]] : tensor<i32>, tensor<50257x768xbf16>
// CHECK: return %[[E]], %[[E1]] : tensor<8x1024x768xbf16>, tensor<768xbf16>
func.func @embedding(%ids: tensor<8x1024xi64>, %id: tensor<i32>)
    -> (tensor<8x1024x768xbf16>, tensor<768xbf16>) {
  %wte = graph.param "wte" : tensor<50257x768xbf16>
  %0 = graph.embedding %ids, %wte : tensor<8x1024xi64>, tensor<50257x768xbf16>
  %1 = graph.embedding %id, %wte : tensor<i32>, tensor<50257x768xbf16>
  return %0, %1 : tensor<8x1024x768xbf16>, tensor<768xbf16>
}

// CHECK-LABEL: func.func @reshape
// CHECK-SAME: (%[[X:[^:]+]]: tensor<8x1024x768xbf16>, %[[I:[^:]+]]: tensor<2x3xi32>)
// CHECK: %[[R0:.*]] = graph.reshape %[[X]] : tensor<8x1024x768xbf16> -> tensor<8x1024x12x64xbf16>
// CHECK: %[[R1:.*]] = graph.reshape %[[I]] : tensor<2x3xi32> -> tensor<6xi32>
// CHECK: %[[R2:.*]] = graph.reshape %[[R1]] : tensor<6xi32> -> tensor<1x6x1xi32>
// CHECK: return %[[R0]], %[[R2]] : tensor<8x1024x12x64xbf16>, tensor<1x6x1xi32>
func.func @reshape(%x: tensor<8x1024x768xbf16>, %i: tensor<2x3xi32>)
    -> (tensor<8x1024x12x64xbf16>, tensor<1x6x1xi32>) {
  %0 = graph.reshape %x : tensor<8x1024x768xbf16> -> tensor<8x1024x12x64xbf16>
  %1 = graph.reshape %i : tensor<2x3xi32> -> tensor<6xi32>
  %2 = graph.reshape %1 : tensor<6xi32> -> tensor<1x6x1xi32>
  return %0, %2 : tensor<8x1024x12x64xbf16>, tensor<1x6x1xi32>
}

// CHECK-LABEL: func.func @transpose
// CHECK-SAME: (%[[X:[^:]+]]: tensor<8x1024x12x64xbf16>, %[[I:[^:]+]]: tensor<2x3xi64>)
// CHECK: %[[T0:.*]] = graph.transpose %[[X]] {permutation = array<i64: 0, 2, 1, 3>} : tensor<8x1024x12x64xbf16>
// CHECK: %[[T1:.*]] = graph.transpose %[[I]] {permutation = array<i64: 1, 0>} : tensor<2x3xi64>
// CHECK: %[[T2:.*]] = graph.transpose %[[T1]] {permutation = array<i64: 0, 1>} : tensor<3x2xi64>
// CHECK: return %[[T0]], %[[T2]] : tensor<8x12x1024x64xbf16>, tensor<3x2xi64>
func.func @transpose(%x: tensor<8x1024x12x64xbf16>, %i: tensor<2x3xi64>)
    -> (tensor<8x12x1024x64xbf16>, tensor<3x2xi64>) {
  %0 = graph.transpose %x {permutation = array<i64: 0, 2, 1, 3>} : tensor<8x1024x12x64xbf16>
  %1 = graph.transpose %i {permutation = array<i64: 1, 0>} : tensor<2x3xi64>
  %2 = graph.transpose %1 {permutation = array<i64: 0, 1>} : tensor<3x2xi64>
  return %0, %2 : tensor<8x12x1024x64xbf16>, tensor<3x2xi64>
}

// CHECK-LABEL: func.func @concat
// CHECK-SAME: (%[[A:[^:]+]]: tensor<2x3xf32>, %[[B:[^:]+]]: tensor<2x5xf32>, %[[C:[^:]+]]: tensor<4x3xi8>)
// CHECK: %[[C0:.*]] = graph.concat %[[A]], %[[B]], %[[A]] {axis = 1 : i64} : tensor<2x3xf32>, tensor<2x5xf32>, tensor<2x3xf32>
// CHECK: %[[C1:.*]] = graph.concat %[[C]], %[[C]] {axis = -2 : i64} : tensor<4x3xi8>, tensor<4x3xi8>
// CHECK: %[[C2:.*]] = graph.concat %[[A]] {axis = 0 : i64} : tensor<2x3xf32>
// CHECK: return %[[C0]], %[[C1]], %[[C2]] : tensor<2x11xf32>, tensor<8x3xi8>, tensor<2x3xf32>
func.func @concat(%a: tensor<2x3xf32>, %b: tensor<2x5xf32>, %c: tensor<4x3xi8>)
    -> (tensor<2x11xf32>, tensor<8x3xi8>, tensor<2x3xf32>) {
  %0 = graph.concat %a, %b, %a {axis = 1 : i64} : tensor<2x3xf32>, tensor<2x5xf32>, tensor<2x3xf32>
  %1 = graph.concat %c, %c {axis = -2 : i64} : tensor<4x3xi8>, tensor<4x3xi8>
  %2 = graph.concat %a {axis = 0 : i64} : tensor<2x3xf32>
  return %0, %1, %2 : tensor<2x11xf32>, tensor<8x3xi8>, tensor<2x3xf32>
}

// CHECK-LABEL: func.func @split
// CHECK-SAME: (%[[QKV:[^:]+]]: tensor<8x1024x2304xbf16>, %[[I:[^:]+]]: tensor<6x2xi32>)
// CHECK: %[[S:.*]]:3 = graph.split %[[QKV]] {axis = -1 : i64, sizes = array<i64: 768, 768, 768>} : tensor<8x1024x2304xbf16>
// CHECK: %[[P:.*]]:2 = graph.split %[[I]] {axis = 0 : i64, sizes = array<i64: 1, 5>} : tensor<6x2xi32>
// CHECK: %[[ONE:.*]] = graph.split %[[I]] {axis = 1 : i64, sizes = array<i64: 2>} : tensor<6x2xi32>
// CHECK: return %[[S]]#0, %[[S]]#2, %[[P]]#0, %[[P]]#1, %[[ONE]] : tensor<8x1024x768xbf16>, tensor<8x1024x768xbf16>, tensor<1x2xi32>, tensor<5x2xi32>, tensor<6x2xi32>
func.func @split(%qkv: tensor<8x1024x2304xbf16>, %i: tensor<6x2xi32>)
    -> (tensor<8x1024x768xbf16>, tensor<8x1024x768xbf16>, tensor<1x2xi32>,
        tensor<5x2xi32>, tensor<6x2xi32>) {
  %0:3 = graph.split %qkv {axis = -1 : i64, sizes = array<i64: 768, 768, 768>} : tensor<8x1024x2304xbf16>
  %1:2 = graph.split %i {axis = 0 : i64, sizes = array<i64: 1, 5>} : tensor<6x2xi32>
  %2 = graph.split %i {axis = 1 : i64, sizes = array<i64: 2>} : tensor<6x2xi32>
  return %0#0, %0#2, %1#0, %1#1, %2 : tensor<8x1024x768xbf16>, tensor<8x1024x768xbf16>,
      tensor<1x2xi32>, tensor<5x2xi32>, tensor<6x2xi32>
}

// CHECK-LABEL: func.func @slice
// CHECK-SAME: (%[[X:[^:]+]]: tensor<8x1024x768xf32>, %[[I:[^:]+]]: tensor<4xi64>)
// CHECK: %[[S0:.*]] = graph.slice %[[X]] {offsets = array<i64: 0, 512, 0>, sizes = array<i64: 8, 512, 768>} : tensor<8x1024x768xf32>
// CHECK: %[[S1:.*]] = graph.slice %[[I]] {offsets = array<i64: 3>, sizes = array<i64: 1>} : tensor<4xi64>
// CHECK: return %[[S0]], %[[S1]] : tensor<8x512x768xf32>, tensor<1xi64>
func.func @slice(%x: tensor<8x1024x768xf32>, %i: tensor<4xi64>)
    -> (tensor<8x512x768xf32>, tensor<1xi64>) {
  %0 = graph.slice %x {offsets = array<i64: 0, 512, 0>, sizes = array<i64: 8, 512, 768>} : tensor<8x1024x768xf32>
  // The last element alone is in bounds (empty boxes are rejected: see
  // test/Robustness/bad-inputs.mlir).
  %1 = graph.slice %i {offsets = array<i64: 3>, sizes = array<i64: 1>} : tensor<4xi64>
  return %0, %1 : tensor<8x512x768xf32>, tensor<1xi64>
}

// CHECK-LABEL: func.func @reduce
// CHECK-SAME: (%[[X:[^:]+]]: tensor<8x1024x768xf32>)
// CHECK: %[[SUM:.*]] = graph.reduce sum %[[X]] {axes = array<i64: 1>} : tensor<8x1024x768xf32>
// CHECK: %[[MEAN:.*]] = graph.reduce mean %[[X]] {axes = array<i64: -1>, keep_dims} : tensor<8x1024x768xf32>
// CHECK: %[[MAX:.*]] = graph.reduce max %[[X]] {axes = array<i64: 0, 1, 2>} : tensor<8x1024x768xf32>
// CHECK: %[[MAXK:.*]] = graph.reduce max %[[X]] {axes = array<i64: 2, 0>, keep_dims} : tensor<8x1024x768xf32>
// CHECK: %[[NONE:.*]] = graph.reduce sum %[[X]] {axes = array<i64>} : tensor<8x1024x768xf32>
// CHECK: return %[[SUM]], %[[MEAN]], %[[MAX]], %[[MAXK]], %[[NONE]] : tensor<8x768xf32>, tensor<8x1024x1xf32>, tensor<f32>, tensor<1x1024x1xf32>, tensor<8x1024x768xf32>
func.func @reduce(%x: tensor<8x1024x768xf32>)
    -> (tensor<8x768xf32>, tensor<8x1024x1xf32>, tensor<f32>, tensor<1x1024x1xf32>,
        tensor<8x1024x768xf32>) {
  %0 = graph.reduce sum %x {axes = array<i64: 1>} : tensor<8x1024x768xf32>
  %1 = graph.reduce mean %x {axes = array<i64: -1>, keep_dims} : tensor<8x1024x768xf32>
  %2 = graph.reduce max %x {axes = array<i64: 0, 1, 2>} : tensor<8x1024x768xf32>
  %3 = graph.reduce max %x {axes = array<i64: 2, 0>, keep_dims} : tensor<8x1024x768xf32>
  %4 = graph.reduce sum %x {axes = array<i64>} : tensor<8x1024x768xf32>
  return %0, %1, %2, %3, %4 : tensor<8x768xf32>, tensor<8x1024x1xf32>, tensor<f32>,
      tensor<1x1024x1xf32>, tensor<8x1024x768xf32>
}

//===----------------------------------------------------------------------===//
// Mixture of experts and loss
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @moe
// CHECK-SAME: (%[[X:[^:]+]]: tensor<8x1024x768xbf16>)
// CHECK: %[[R:.*]] = graph.param "router" : tensor<768x8xbf16>
// CHECK: %[[UP:.*]] = graph.param "w_up" : tensor<8x768x3072xbf16>
// CHECK: %[[DOWN:.*]] = graph.param "w_down" : tensor<8x3072x768xbf16>
// CHECK: %[[GATE:.*]] = graph.param "w_gate" : tensor<8x768x3072xbf16>
// CHECK: %[[M0:.*]] = graph.moe %[[X]], %[[R]], %[[UP]], %[[DOWN]] {activation = #graph.activation<gelu>, top_k = 2 : i64} : tensor<8x1024x768xbf16>, tensor<768x8xbf16>, tensor<8x768x3072xbf16>, tensor<8x3072x768xbf16>
// CHECK: %[[M1:.*]] = graph.moe %[[M0]], %[[R]], %[[UP]], %[[DOWN]] gate %[[GATE]] {activation = #graph.activation<silu>, top_k = 8 : i64} : tensor<8x1024x768xbf16>, tensor<768x8xbf16>, tensor<8x768x3072xbf16>, tensor<8x3072x768xbf16>, tensor<8x768x3072xbf16>
// CHECK: %[[M2:.*]] = graph.moe %[[M1]], %[[R]], %[[UP]], %[[DOWN]] {activation = #graph.activation<relu>, top_k = 1 : i64} : tensor<8x1024x768xbf16>, tensor<768x8xbf16>, tensor<8x768x3072xbf16>, tensor<8x3072x768xbf16>
// CHECK: return %[[M2]] : tensor<8x1024x768xbf16>
func.func @moe(%x: tensor<8x1024x768xbf16>) -> tensor<8x1024x768xbf16> {
  %router = graph.param "router" : tensor<768x8xbf16>
  %up = graph.param "w_up" : tensor<8x768x3072xbf16>
  %down = graph.param "w_down" : tensor<8x3072x768xbf16>
  %gate = graph.param "w_gate" : tensor<8x768x3072xbf16>
  %0 = graph.moe %x, %router, %up, %down {top_k = 2 : i64, activation = #graph.activation<gelu>}
      : tensor<8x1024x768xbf16>, tensor<768x8xbf16>, tensor<8x768x3072xbf16>, tensor<8x3072x768xbf16>
  %1 = graph.moe %0, %router, %up, %down gate %gate {top_k = 8 : i64, activation = #graph.activation<silu>}
      : tensor<8x1024x768xbf16>, tensor<768x8xbf16>, tensor<8x768x3072xbf16>,
        tensor<8x3072x768xbf16>, tensor<8x768x3072xbf16>
  %2 = graph.moe %1, %router, %up, %down {top_k = 1 : i64, activation = #graph.activation<relu>}
      : tensor<8x1024x768xbf16>, tensor<768x8xbf16>, tensor<8x768x3072xbf16>, tensor<8x3072x768xbf16>
  return %2 : tensor<8x1024x768xbf16>
}

// The loss is always a rank-0 f32 tensor, whatever the logits' type.
// CHECK-LABEL: func.func @cross_entropy
// CHECK-SAME: (%[[L:[^:]+]]: tensor<8x1024x50257xbf16>, %[[Y:[^:]+]]: tensor<8x1024xi64>, %[[L1:[^:]+]]: tensor<10xf16>, %[[Y1:[^:]+]]: tensor<i32>)
// CHECK: %[[LOSS:.*]] = graph.cross_entropy %[[L]], %[[Y]] : tensor<8x1024x50257xbf16>, tensor<8x1024xi64>
// CHECK: %[[LOSS1:.*]] = graph.cross_entropy %[[L1]], %[[Y1]] : tensor<10xf16>, tensor<i32>
// CHECK: return %[[LOSS]], %[[LOSS1]] : tensor<f32>, tensor<f32>
func.func @cross_entropy(%logits: tensor<8x1024x50257xbf16>, %labels: tensor<8x1024xi64>,
                         %logits1: tensor<10xf16>, %label1: tensor<i32>)
    -> (tensor<f32>, tensor<f32>) {
  %0 = graph.cross_entropy %logits, %labels : tensor<8x1024x50257xbf16>, tensor<8x1024xi64>
  %1 = graph.cross_entropy %logits1, %label1 : tensor<10xf16>, tensor<i32>
  return %0, %1 : tensor<f32>, tensor<f32>
}

//===----------------------------------------------------------------------===//
// Layers
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @layer
// CHECK-SAME: (%[[X:[^:]+]]: tensor<8x1024x768xbf16>, %[[IDS:[^:]+]]: tensor<8x1024xi64>)
// CHECK: %[[H:.*]] = graph.layer "h" repeat 12(%[[X]]) : (tensor<8x1024x768xbf16>) -> tensor<8x1024x768xbf16> {
// CHECK-NEXT: ^bb0(%[[IN:.*]]: tensor<8x1024x768xbf16>):
// CHECK-NEXT: %[[W:.*]] = graph.param "mlp.weight" : tensor<768x768xbf16>
// CHECK-NEXT: %[[Y:.*]] = graph.linear %[[IN]], %[[W]] : tensor<8x1024x768xbf16>, tensor<768x768xbf16>
// CHECK-NEXT: %[[G:.*]] = graph.gelu %[[Y]] : tensor<8x1024x768xbf16>
// CHECK-NEXT: graph.yield %[[G]] : tensor<8x1024x768xbf16>
// CHECK-NEXT: }
// CHECK: %[[OUT:.*]]:2 = graph.layer "head"(%[[H]], %[[IDS]]) : (tensor<8x1024x768xbf16>, tensor<8x1024xi64>) -> (tensor<f32>, tensor<8x1024x50257xbf16>) {
// CHECK-NEXT: ^bb0(%[[HIN:.*]]: tensor<8x1024x768xbf16>, %[[LIN:.*]]: tensor<8x1024xi64>):
// CHECK: %[[LOGITS:.*]] = graph.matmul %[[HIN]], %{{.*}} {transpose_rhs} : tensor<8x1024x768xbf16>, tensor<50257x768xbf16>
// CHECK-NEXT: %[[LOSS:.*]] = graph.cross_entropy %[[LOGITS]], %[[LIN]] : tensor<8x1024x50257xbf16>, tensor<8x1024xi64>
// CHECK-NEXT: graph.yield %[[LOSS]], %[[LOGITS]] : tensor<f32>, tensor<8x1024x50257xbf16>
// CHECK-NEXT: }
// CHECK: graph.layer "side"() : () -> () {
// CHECK-NEXT: }
// CHECK: graph.layer "one"(%[[X]]) : (tensor<8x1024x768xbf16>) -> tensor<8x1024x768xbf16> {
// CHECK: return %[[OUT]]#0 : tensor<f32>
func.func @layer(%x: tensor<8x1024x768xbf16>, %ids: tensor<8x1024xi64>) -> tensor<f32> {
  %h = graph.layer "h" repeat 12 (%x) : (tensor<8x1024x768xbf16>) -> tensor<8x1024x768xbf16> {
  ^bb0(%in: tensor<8x1024x768xbf16>):
    %w = graph.param "mlp.weight" : tensor<768x768xbf16>
    %y = graph.linear %in, %w : tensor<8x1024x768xbf16>, tensor<768x768xbf16>
    %g = graph.gelu %y : tensor<8x1024x768xbf16>
    graph.yield %g : tensor<8x1024x768xbf16>
  }
  // Without repeat, results may differ from inputs.
  %out:2 = graph.layer "head" (%h, %ids)
      : (tensor<8x1024x768xbf16>, tensor<8x1024xi64>) -> (tensor<f32>, tensor<8x1024x50257xbf16>) {
  ^bb0(%hin: tensor<8x1024x768xbf16>, %lin: tensor<8x1024xi64>):
    %wte = graph.param "wte" : tensor<50257x768xbf16>
    %logits = graph.matmul %hin, %wte {transpose_rhs} : tensor<8x1024x768xbf16>, tensor<50257x768xbf16>
    %loss = graph.cross_entropy %logits, %lin : tensor<8x1024x50257xbf16>, tensor<8x1024xi64>
    graph.yield %loss, %logits : tensor<f32>, tensor<8x1024x50257xbf16>
  }
  // No inputs and no results; the yield is implicit.
  graph.layer "side" () : () -> () {
  }
  // An explicit `repeat 1` is the default and is elided.
  %one = graph.layer "one" repeat 1 (%x) : (tensor<8x1024x768xbf16>) -> tensor<8x1024x768xbf16> {
  ^bb0(%in: tensor<8x1024x768xbf16>):
    graph.yield %in : tensor<8x1024x768xbf16>
  }
  return %out#0 : tensor<f32>
}

// CHECK-LABEL: func.func @nested_layer
// CHECK-SAME: (%[[X:[^:]+]]: tensor<4x64xf32>)
// CHECK: %[[OUTER:.*]] = graph.layer "block" repeat 4(%[[X]]) : (tensor<4x64xf32>) -> tensor<4x64xf32> {
// CHECK-NEXT: ^bb0(%[[IN:.*]]: tensor<4x64xf32>):
// CHECK-NEXT: %[[ATTN:.*]] = graph.layer "attn"(%[[IN]]) : (tensor<4x64xf32>) -> tensor<4x64xf32> {
// CHECK-NEXT: ^bb0(%[[A:.*]]: tensor<4x64xf32>):
// CHECK-NEXT: %[[S:.*]] = graph.softmax %[[A]] : tensor<4x64xf32>
// CHECK-NEXT: graph.yield %[[S]] : tensor<4x64xf32>
// CHECK-NEXT: }
// CHECK-NEXT: %[[MLP:.*]] = graph.layer "mlp" repeat 2(%[[ATTN]]) : (tensor<4x64xf32>) -> tensor<4x64xf32> {
// CHECK-NEXT: ^bb0(%[[M:.*]]: tensor<4x64xf32>):
// CHECK-NEXT: %[[W:.*]] = graph.param "w" : tensor<64x64xf32>
// CHECK-NEXT: %[[L:.*]] = graph.linear %[[M]], %[[W]] : tensor<4x64xf32>, tensor<64x64xf32>
// CHECK-NEXT: %[[R:.*]] = graph.add %[[M]], %[[L]] : tensor<4x64xf32>, tensor<4x64xf32>
// CHECK-NEXT: graph.yield %[[R]] : tensor<4x64xf32>
// CHECK-NEXT: }
// CHECK-NEXT: graph.yield %[[MLP]] : tensor<4x64xf32>
// CHECK-NEXT: }
// CHECK-NEXT: return %[[OUTER]] : tensor<4x64xf32>
func.func @nested_layer(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %0 = graph.layer "block" repeat 4 (%x) : (tensor<4x64xf32>) -> tensor<4x64xf32> {
  ^bb0(%in: tensor<4x64xf32>):
    %1 = graph.layer "attn" (%in) : (tensor<4x64xf32>) -> tensor<4x64xf32> {
    ^bb0(%a: tensor<4x64xf32>):
      %s = graph.softmax %a : tensor<4x64xf32>
      graph.yield %s : tensor<4x64xf32>
    }
    %2 = graph.layer "mlp" repeat 2 (%1) : (tensor<4x64xf32>) -> tensor<4x64xf32> {
    ^bb0(%m: tensor<4x64xf32>):
      %w = graph.param "w" : tensor<64x64xf32>
      %l = graph.linear %m, %w : tensor<4x64xf32>, tensor<64x64xf32>
      %r = graph.add %m, %l : tensor<4x64xf32>, tensor<4x64xf32>
      graph.yield %r : tensor<4x64xf32>
    }
    graph.yield %2 : tensor<4x64xf32>
  }
  return %0 : tensor<4x64xf32>
}
