// Upstream linalg and TOSA ops are costed through external models of
// CostOpInterface, without conversion to graph.
// RUN: chipmesh-opt %s -split-input-file --chipmesh-summary -o /dev/null | FileCheck %s
// RUN: chipmesh-opt %s -split-input-file --chipmesh-estimate="mesh=%examples/meshes/h100-node.mlir" | FileCheck %s --check-prefix=ANNOTATED

// linalg.matmul 8x1024 x 1024x4096: 2 x 8 x 1024 x 4096 = 67108864 FLOPs;
// a ReLU as linalg.generic: one max per element (the constant is free):
// 32768. Backward twice the forward.
// CHECK-LABEL: "activation_bytes_saved":
// CHECK: "backward_flops": 134283264,
// CHECK: "forward_flops": 67141632,
// CHECK: "func": "mlp",
// CHECK: "ops": 2,

// ANNOTATED-LABEL: func.func @mlp
// ANNOTATED: linalg.matmul {chipmesh.cost = {bwd_flops = 1.342180e+08 : f64, {{.*}} flops = 6.710890e+07 : f64, fwd_s = {h100 = {{.*}}}}}
// ANNOTATED: linalg.generic {{.*}}chipmesh.cost = {bwd_flops = 6.553600e+04 : f64, {{.*}} flops = 3.276800e+04 : f64

func.func @mlp(%x: tensor<8x1024xf32>, %w: tensor<1024x4096xf32>, %init: tensor<8x4096xf32>) -> tensor<8x4096xf32> {
  %y = linalg.matmul ins(%x, %w : tensor<8x1024xf32>, tensor<1024x4096xf32>) outs(%init : tensor<8x4096xf32>) -> tensor<8x4096xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%y : tensor<8x4096xf32>) outs(%init : tensor<8x4096xf32>) {
  ^bb0(%in: f32, %out: f32):
    %zero = arith.constant 0.0 : f32
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<8x4096xf32>
  return %r : tensor<8x4096xf32>
}

// -----

// tosa.matmul [2, 64, 128] x [2, 128, 256]: 2 x 2 x 64 x 256 x 128 =
// 8388608 FLOPs; tosa.tanh one per element: 32768.
// CHECK-LABEL: "activation_bytes_saved":
// CHECK: "forward_flops": 8421376,
// CHECK: "func": "t",

// ANNOTATED-LABEL: func.func @t
// ANNOTATED: tosa.matmul {{.*}}chipmesh.cost = {{{.*}}flops = 8.388610e+06 : f64
// ANNOTATED: tosa.tanh {{.*}}chipmesh.cost = {{{.*}}flops = 3.276800e+04 : f64

func.func @t(%a: tensor<2x64x128xf32>, %b: tensor<2x128x256xf32>) -> tensor<2x64x256xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %c = tosa.matmul %a, %b, %zp, %zp : (tensor<2x64x128xf32>, tensor<2x128x256xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x64x256xf32>
  %d = tosa.tanh %c : (tensor<2x64x256xf32>) -> tensor<2x64x256xf32>
  return %d : tensor<2x64x256xf32>
}

// -----

// tosa.conv2d as an implicit GEMM: output 1x16x16x32, weight 32x3x3x8:
// 2 x (1 x 16 x 16) x 32 x (3 x 3 x 8) = 1179648 FLOPs.
// CHECK-LABEL: "activation_bytes_saved":
// CHECK: "forward_flops": 1179648,
// CHECK: "func": "conv",

func.func @conv(%x: tensor<1x16x16x8xf32>, %w: tensor<32x3x3x8xf32>, %b: tensor<32xf32>) -> tensor<1x16x16x32xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %y = tosa.conv2d %x, %w, %b, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>} : (tensor<1x16x16x8xf32>, tensor<32x3x3x8xf32>, tensor<32xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x16x16x32xf32>
  return %y : tensor<1x16x16x32xf32>
}
