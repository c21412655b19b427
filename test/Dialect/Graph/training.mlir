// RUN: chipmesh-opt %s -split-input-file | FileCheck %s
// RUN: chipmesh-opt %s -split-input-file | chipmesh-opt -split-input-file | FileCheck %s

// The training ops of a partitioned program round-trip.

// CHECK-LABEL: func.func @step
// CHECK: %[[Y:.*]] = call @stage(%[[X:.*]]) : (tensor<2x8xf32>) -> tensor<2x8xf32>
// CHECK: graph.backward @stage(%[[X]], %{{.*}}) {num_inputs = 1 : i64} : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
// CHECK: graph.backward @stage(%[[X]], %{{.*}}) {num_inputs = 1 : i64, recompute = "full"}
// CHECK: %[[G:.*]] = graph.gradients @stage : tensor<72xf32>
// CHECK: graph.gradients @stage {params = ["w"]} : tensor<64xf32>
// CHECK: graph.optimizer_step @stage, %[[G]] : tensor<72xf32>
func.func private @stage(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %w = graph.param "w" : tensor<8x8xf32>
  %b = graph.param "b" : tensor<8xf32>
  %y = graph.linear %x, %w, %b : tensor<2x8xf32>, tensor<8x8xf32>, tensor<8xf32>
  return %y : tensor<2x8xf32>
}
func.func @step(%x: tensor<2x8xf32>, %dy: tensor<2x8xf32>) {
  %y = call @stage(%x) : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %dx = graph.backward @stage(%x, %dy) {num_inputs = 1 : i64} : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %dx2 = graph.backward @stage(%x, %dy) {num_inputs = 1 : i64, recompute = "full"} : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %g = graph.gradients @stage : tensor<72xf32>
  %gw = graph.gradients @stage {params = ["w"]} : tensor<64xf32>
  graph.optimizer_step @stage, %g : tensor<72xf32>
  return
}

// -----

// Integer inputs (token ids) get no gradient; a repeated layer's weights
// count once per repetition.
// CHECK-LABEL: func.func @tokens
// CHECK: graph.backward @embed(%{{.*}}, %{{.*}}) {num_inputs = 1 : i64} : (tensor<2x4xi64>, tensor<2x4x8xf32>) -> ()
// CHECK: graph.gradients @embed : tensor<448xf32>
func.func private @embed(%ids: tensor<2x4xi64>) -> tensor<2x4x8xf32> {
  %t = graph.param "table" : tensor<32x8xf32>
  %e = graph.embedding %ids, %t : tensor<2x4xi64>, tensor<32x8xf32>
  %h = graph.layer "blocks" repeat 3 (%e) : (tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  ^bb0(%in: tensor<2x4x8xf32>):
    %w = graph.param "w" : tensor<8x8xf32>
    %y = graph.linear %in, %w : tensor<2x4x8xf32>, tensor<8x8xf32>
    graph.yield %y : tensor<2x4x8xf32>
  }
  return %h : tensor<2x4x8xf32>
}
func.func @tokens(%ids: tensor<2x4xi64>, %dy: tensor<2x4x8xf32>) {
  graph.backward @embed(%ids, %dy) {num_inputs = 1 : i64} : (tensor<2x4xi64>, tensor<2x4x8xf32>) -> ()
  %g = graph.gradients @embed : tensor<448xf32>
  return
}
