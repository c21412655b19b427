// RUN: chipmesh-opt %s -split-input-file --chipmesh-export-shard -verify-diagnostics | FileCheck %s
// RUN: chipmesh-opt %S/Inputs/shard-mlp-uneven.mlir --chipmesh-export-shard=output=%t.uneven.mlir -o /dev/null
// RUN: mlir-opt %t.uneven.mlir --pass-pipeline='builtin.module(func.func(shard-partition,canonicalize))' | FileCheck %s --check-prefix=UNEVEN
// RUN: chipmesh-opt %S/Inputs/shard-mlp-even.mlir --chipmesh-export-shard=output=%t.even.mlir -o /dev/null
// RUN: mlir-opt %t.even.mlir --pass-pipeline='builtin.module(func.func(shard-partition,canonicalize))' | FileCheck %s --check-prefix=EVEN

// A Megatron MLP on a tensor-parallel pair, shares 3:1 (an H100 and an
// A100): the 16 hidden columns split 12:4. Every value is annotated; the
// column-parallel weight is split on dim 1, the row-parallel one on dim 0
// with the same offsets, and the row-parallel result is replicated.

// CHECK-LABEL: shard.grid @forward_stage0_grid(shape = 2)
// CHECK: func.func @forward_stage0_shard(%{{.*}}: tensor<4x8xf32>, %{{.*}}: tensor<8x16xf32> {chipmesh.param = "up"}, %{{.*}}: tensor<16x8xf32> {chipmesh.param = "down"}) -> tensor<4x8xf32> attributes {comm.stage = 0 : i64}
// CHECK: shard.sharding @forward_stage0_grid split_axes = {{\[\[\]\]}} : !shard.sharding
// CHECK: %[[COL:.*]] = shard.sharding @forward_stage0_grid split_axes = {{\[\[\], \[0\]\]}} sharded_dims_offsets = [0, 12, 16]
// CHECK: shard.shard %{{.*}} to %[[COL]] annotate_for_users : tensor<8x16xf32>
// CHECK: linalg.matmul
// CHECK: linalg.max
// CHECK: %[[ROW:.*]] = shard.sharding @forward_stage0_grid split_axes = {{\[\[0\]\]}} sharded_dims_offsets = [0, 12, 16]
// CHECK: shard.shard %{{.*}} to %[[ROW]] annotate_for_users : tensor<16x8xf32>
// CHECK: linalg.matmul
// CHECK: linalg.add

// Upstream shard-partition takes it from there: each device holds its own
// number of columns (12 or 4, computed from the offsets at run time), and
// the partial sums of the row-parallel matmul are all-reduced.
// UNEVEN-LABEL: func.func @forward_stage0_shard(%{{.*}}: tensor<4x8xf32>, %{{.*}}: tensor<8x?xf32> {chipmesh.param = "up"}, %{{.*}}: tensor<?x8xf32> {chipmesh.param = "down"}) -> tensor<4x8xf32>
// UNEVEN: shard.shard_shape dims = [4, 16] sharding = %{{.*}} device = [%{{.*}}]
// UNEVEN: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x8xf32>, tensor<8x?xf32>) outs(%{{.*}} : tensor<4x?xf32>)
// UNEVEN: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x?xf32>, tensor<?x8xf32>) outs(%{{.*}} : tensor<4x8xf32>)
// UNEVEN: shard.all_reduce %{{.*}} on @forward_stage0_grid grid_axes = [0] : tensor<4x8xf32> -> tensor<4x8xf32>

// Equal chips, equal halves: static local shapes.
// EVEN-LABEL: func.func @forward_stage0_shard(%{{.*}}: tensor<4x8xf32>, %{{.*}}: tensor<8x8xf32> {chipmesh.param = "up"}, %{{.*}}: tensor<8x8xf32> {chipmesh.param = "down"}) -> tensor<4x8xf32>
// EVEN: shard.all_reduce %{{.*}} on @forward_stage0_grid grid_axes = [0] : tensor<4x8xf32> -> tensor<4x8xf32>

module attributes {chipmesh.plan = {dp = 1 : i64, func = "forward", layout = "blocked", mesh = @pair, micro_batch = 4 : i64, mode = "infer", pp = 1 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0, 1>], layers = array<i64: 0, 1>, shares = [array<f64: 0.75, 0.25>]}], step_time_s = 1.0 : f64, tp = 2 : i64}} {
  topo.mesh @pair {
    topo.chip_kind @fast catalog "h100-sxm"
    topo.chip_kind @slow catalog "a100-sxm-80gb"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @fast x 1  topo.chips @slow x 1 }
  }
  func.func @forward(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
    %h = graph.layer "mlp" (%x) {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : (tensor<4x8xf32>) -> tensor<4x8xf32> {
    ^bb0(%in: tensor<4x8xf32>):
      %w1 = graph.param "up" : tensor<8x16xf32>
      %a = graph.linear %in, %w1 : tensor<4x8xf32>, tensor<8x16xf32>
      %r = graph.relu %a : tensor<4x16xf32>
      %w2 = graph.param "down" : tensor<16x8xf32>
      %y = graph.linear %r, %w2 : tensor<4x16xf32>, tensor<16x8xf32>
      %s = graph.add %in, %y : tensor<4x8xf32>, tensor<4x8xf32>
      graph.yield %s : tensor<4x8xf32>
    }
    return %h : tensor<4x8xf32>
  }
}

// -----

// An op without a linalg form here: the stage is skipped with a warning.
// CHECK-LABEL: module attributes
// CHECK-NOT: shard.grid
module attributes {chipmesh.plan = {dp = 1 : i64, func = "forward", layout = "blocked", mesh = @pair, micro_batch = 4 : i64, mode = "infer", pp = 1 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0, 1>], layers = array<i64: 0, 1>, shares = [array<f64: 0.75, 0.25>]}], step_time_s = 1.0 : f64, tp = 2 : i64}} {
  topo.mesh @pair {
    topo.chip_kind @fast catalog "h100-sxm"
    topo.chip_kind @slow catalog "a100-sxm-80gb"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @fast x 1  topo.chips @slow x 1 }
  }
  func.func @forward(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
    %h = graph.layer "mlp" (%x) {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : (tensor<4x8xf32>) -> tensor<4x8xf32> {
    ^bb0(%in: tensor<4x8xf32>):
      %w1 = graph.param "up" : tensor<8x16xf32>
      %a = graph.linear %in, %w1 : tensor<4x8xf32>, tensor<8x16xf32>
      // expected-warning @+1 {{stage 0 is not exported to the shard dialect: 'graph.gelu' has no linalg lowering here}}
      %r = graph.gelu %a : tensor<4x16xf32>
      %w2 = graph.param "down" : tensor<16x8xf32>
      %y = graph.linear %r, %w2 : tensor<4x16xf32>, tensor<16x8xf32>
      %s = graph.add %in, %y : tensor<4x8xf32>, tensor<4x8xf32>
      graph.yield %s : tensor<4x8xf32>
    }
    return %h : tensor<4x8xf32>
  }
}

// -----

// The names it would write are taken (no output: the pass fails).
// expected-error @+1 {{the module already has @forward_stage0_shard or @forward_stage0_grid}}
module attributes {chipmesh.plan = {dp = 1 : i64, func = "forward", layout = "blocked", mesh = @pair, micro_batch = 4 : i64, mode = "infer", pp = 1 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0, 1>], layers = array<i64: 0, 1>, shares = [array<f64: 0.75, 0.25>]}], step_time_s = 1.0 : f64, tp = 2 : i64}} {
  topo.mesh @pair {
    topo.chip_kind @fast catalog "h100-sxm"
    topo.chip_kind @slow catalog "a100-sxm-80gb"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @fast x 1  topo.chips @slow x 1 }
  }
  func.func @forward(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
    %h = graph.layer "mlp" (%x) {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : (tensor<4x8xf32>) -> tensor<4x8xf32> {
    ^bb0(%in: tensor<4x8xf32>):
      %w1 = graph.param "up" : tensor<8x16xf32>
      %a = graph.linear %in, %w1 : tensor<4x8xf32>, tensor<8x16xf32>
      %r = graph.relu %a : tensor<4x16xf32>
      %w2 = graph.param "down" : tensor<16x8xf32>
      %y = graph.linear %r, %w2 : tensor<4x16xf32>, tensor<16x8xf32>
      %s = graph.add %in, %y : tensor<4x8xf32>, tensor<4x8xf32>
      graph.yield %s : tensor<4x8xf32>
    }
    return %h : tensor<4x8xf32>
  }
  func.func private @forward_stage0_shard()
}
