// RUN: chipmesh-opt %s -split-input-file --chipmesh-summary -o /dev/null | FileCheck %s

// Hand-computed: linear 2*4*8*16 = 1024 FLOPs forward, twice that backward;
// 128 parameters (512 bytes); the input x (4*8 f32 = 128 B) is saved.
// Keys are printed in sorted order, so the checks follow it.
// CHECK: "activation_bytes_saved": 128,
// CHECK-NEXT: "backward_flops": 2048,
// CHECK-NEXT: "forward_flops": 1024,
// CHECK-NEXT: "func": "forward",
// CHECK-NEXT: "layers": 0,
// CHECK-NEXT: "ops": 2,
// CHECK-NEXT: "parameter_bytes": 512,
// CHECK-NEXT: "parameters": 128,
// CHECK-NEXT: "training_flops": 3072
func.func @forward(%x: tensor<4x8xf32>) -> tensor<4x16xf32> {
  %w = graph.param "w" : tensor<8x16xf32>
  %y = graph.linear %x, %w : tensor<4x8xf32>, tensor<8x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// A repeated layer: 5 repetitions of a 2x2 weight = 20 parameters;
// 5 x (2*3*2*2 = 24) FLOPs forward, twice that backward.
// CHECK: "func": "second",
// CHECK-NEXT: "layers": 5,
// CHECK-NEXT: "ops": 1,
// CHECK-NEXT: "parameter_bytes": 80,
// CHECK-NEXT: "parameters": 20,
// CHECK-NEXT: "training_flops": 360
func.func @helper() {
  return
}
func.func @second(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %y = graph.layer "l" repeat 5 (%x) : (tensor<3x2xf32>) -> tensor<3x2xf32> {
  ^bb0(%in: tensor<3x2xf32>):
    %w = graph.param "w" : tensor<2x2xf32>
    %h = graph.linear %in, %w : tensor<3x2xf32>, tensor<2x2xf32>
    graph.yield %h : tensor<3x2xf32>
  }
  return %y : tensor<3x2xf32>
}
