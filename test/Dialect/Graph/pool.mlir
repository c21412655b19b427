// RUN: chipmesh-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @pools
// CHECK: graph.pool2d max %{{.*}} {kernel = array<i64: 3, 3>, padding = array<i64: 1, 1>, strides = array<i64: 2, 2>} : tensor<2x8x32x32xf32>
// CHECK: graph.pool2d mean %{{.*}} {kernel = array<i64: 16, 16>} : tensor<2x8x16x16xf32>
// CHECK: graph.pool2d max %{{.*}} {ceil_mode, kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>} : tensor<2x8x16x16xf32>
func.func @pools(%x: tensor<2x8x32x32xf32>) -> (tensor<2x8x1x1xf32>, tensor<2x8x8x8xf32>) {
  // (32 + 2 - 3) / 2 + 1 = 16
  %m = graph.pool2d max %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1>} : tensor<2x8x32x32xf32>
  %a = graph.pool2d mean %m {kernel = array<i64: 16, 16>} : tensor<2x8x16x16xf32>
  // ceil((16 - 3) / 2) + 1 = 8 (floor would give 7)
  %c = graph.pool2d max %m {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, ceil_mode} : tensor<2x8x16x16xf32>
  return %a, %c : tensor<2x8x1x1xf32>, tensor<2x8x8x8xf32>
}

// -----

func.func @big_kernel(%x: tensor<2x8x4x4xf32>) {
  // expected-error @+1 {{kernel (5) is larger than the padded input (4)}}
  %m = graph.pool2d max %x {kernel = array<i64: 5, 5>} : tensor<2x8x4x4xf32>
  return
}

// -----

func.func @sum_kind(%x: tensor<2x8x4x4xf32>) {
  // expected-error @+1 {{kind must be max or mean}}
  %m = graph.pool2d sum %x {kernel = array<i64: 2, 2>} : tensor<2x8x4x4xf32>
  return
}

// -----

func.func @rank(%x: tensor<8x4x4xf32>) {
  // expected-error @+1 {{expects an input [N, C, H, W]}}
  %m = graph.pool2d max %x {kernel = array<i64: 2, 2>} : tensor<8x4x4xf32>
  return
}

// -----

func.func @padding(%x: tensor<2x8x4x4xf32>) {
  // expected-error @+1 {{padding must be at most half the kernel}}
  %m = graph.pool2d max %x {kernel = array<i64: 2, 2>, padding = array<i64: 2, 2>} : tensor<2x8x4x4xf32>
  return
}
