// RUN: chipmesh-opt %s -split-input-file --chipmesh-materialize | FileCheck %s
// RUN: chipmesh-opt %s -split-input-file --chipmesh-materialize --chipmesh-verify-plan -o /dev/null

// A hand-written plan, so that the shapes are exact: a two-layer MLP block
// repeated twice, one repetition per pipeline stage. Stage 0 is a
// tensor-parallel pair with shares 3:1, so the 16 hidden columns split
// 12:4 (column-parallel "up", row-parallel "down", whose partial sums are
// all-reduced; the bias is added once, by rank 0). Stage 1 is one chip.
// Training, 1F1B, two micro-batches of 2 samples.

// CHECK-LABEL: func.func private @forward_dev0_stage(%{{.*}}: tensor<2x8xf32>) -> tensor<2x8xf32> attributes {comm.device = #comm.device<@trio, 0>}
// CHECK: graph.layer "mlp"
// CHECK: graph.param "up" {comm.param = 0 : i64, comm.shard = array<i64: 1, 0, 16>} : tensor<8x12xf32>
// CHECK: graph.relu %{{.*}} : tensor<2x12xf32>
// CHECK: graph.param "down" {comm.param = 1 : i64, comm.shard = array<i64: 0, 0, 16>} : tensor<12x8xf32>
// CHECK: %[[BIAS:.*]] = graph.param "down_bias" {comm.param = 2 : i64} : tensor<8xf32>
// CHECK: %[[PARTIAL:.*]] = graph.linear %{{.*}}, %{{.*}}, %[[BIAS]] : tensor<2x12xf32>, tensor<12x8xf32>, tensor<8xf32>
// CHECK: comm.all_reduce sum %[[PARTIAL]] over [0, 1] : tensor<2x8xf32>

// The step of the fast chip: 1F1B order (forward 0, forward 1, backward
// 0, backward 1), sends to stage 1, gradients back from it.
// CHECK-LABEL: func.func @forward_dev0(%{{.*}}: tensor<4x8xf32> {comm.batch_offset = 0 : i64, comm.input = 0 : i64}) attributes {comm.device = #comm.device<@trio, 0>, comm.micro_batches = 2 : i64, comm.replica = 0 : i64, comm.stage = 0 : i64, comm.tp_rank = 0 : i64}
// CHECK: %[[MB0:.*]] = graph.slice %{{.*}} {offsets = array<i64: 0, 0>, sizes = array<i64: 2, 8>}
// CHECK: %[[F0:.*]] = call @forward_dev0_stage(%[[MB0]])
// CHECK: comm.send %[[F0]] to 2 tag [[$T0:[0-9]+]] : tensor<2x8xf32>
// CHECK: %[[MB1:.*]] = graph.slice %{{.*}} {offsets = array<i64: 2, 0>, sizes = array<i64: 2, 8>}
// CHECK: call @forward_dev0_stage(%[[MB1]])
// CHECK: comm.send
// CHECK: %[[G0:.*]] = comm.recv from 2 tag
// CHECK: graph.backward @forward_dev0_stage(%[[MB0]], %[[G0]]) {num_inputs = 1 : i64}
// CHECK: comm.recv from 2 tag
// CHECK: graph.backward @forward_dev0_stage(%[[MB1]], %{{.*}})
// CHECK: %[[GRADS:.*]] = graph.gradients @forward_dev0_stage : tensor<200xf32>
// CHECK: graph.optimizer_step @forward_dev0_stage, %[[GRADS]] : tensor<200xf32>

// The slow chip holds the other quarter and no bias.
// CHECK-LABEL: func.func private @forward_dev1_stage
// CHECK: graph.param "up" {comm.param = 0 : i64, comm.shard = array<i64: 1, 12, 16>} : tensor<8x4xf32>
// CHECK: graph.param "down" {comm.param = 1 : i64, comm.shard = array<i64: 0, 12, 16>} : tensor<4x8xf32>
// CHECK-NOT: down_bias
// CHECK: graph.linear %{{.*}}, %{{.*}} : tensor<2x4xf32>, tensor<4x8xf32>
// CHECK-LABEL: func.func @forward_dev1
// CHECK-NOT: comm.send
// CHECK: graph.gradients @forward_dev1_stage : tensor<64xf32>

// Stage 1 receives from rank 0 only, sends the input gradient to both
// members, seeds backward with ones, and returns both micro-batches.
// CHECK-LABEL: func.func private @forward_dev2_stage
// CHECK: graph.param "up" {comm.param = 0 : i64} : tensor<8x16xf32>
// CHECK-LABEL: func.func @forward_dev2() -> tensor<4x8xf32>
// CHECK: %[[A0:.*]] = comm.recv from 0 tag [[$T0]] : tensor<2x8xf32>
// CHECK: %[[Y0:.*]] = call @forward_dev2_stage(%[[A0]])
// CHECK: %[[ONES:.*]] = arith.constant dense<1.000000e+00> : tensor<2x8xf32>
// CHECK: %[[D0:.*]] = graph.backward @forward_dev2_stage(%[[A0]], %[[ONES]])
// CHECK: comm.send %[[D0]] to 0 tag
// CHECK: comm.send %[[D0]] to 1 tag
// CHECK: graph.concat %[[Y0]], %{{.*}} {axis = 0 : i64} : tensor<2x8xf32>, tensor<2x8xf32>

module attributes {chipmesh.plan = {dp = 1 : i64, func = "forward", layout = "blocked", mesh = @trio, micro_batch = 2 : i64, mode = "train", pp = 2 : i64, recompute = "none", replica_micro_batches = array<i64: 2>, schedule = "1f1b", stages = [{devices = [array<i64: 0, 1>], layers = array<i64: 0, 1>, shares = [array<f64: 0.75, 0.25>]}, {devices = [array<i64: 2>], layers = array<i64: 1, 2>, shares = [array<f64: 1.0>]}], step_time_s = 1.0 : f64, tp = 2 : i64}} {
  topo.mesh @trio {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 3 }
  }
  func.func @forward(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
    %h = graph.layer "mlp" repeat 2 (%x) {chipmesh.placement = {stages = array<i64: 0, 1>, repeats = array<i64: 1, 1>}} : (tensor<4x8xf32>) -> tensor<4x8xf32> {
    ^bb0(%in: tensor<4x8xf32>):
      %w1 = graph.param "up" : tensor<8x16xf32>
      %a = graph.linear %in, %w1 : tensor<4x8xf32>, tensor<8x16xf32>
      %r = graph.relu %a : tensor<4x16xf32>
      %w2 = graph.param "down" : tensor<16x8xf32>
      %b = graph.param "down_bias" : tensor<8xf32>
      %y = graph.linear %r, %w2, %b : tensor<4x16xf32>, tensor<16x8xf32>, tensor<8xf32>
      graph.yield %y : tensor<4x8xf32>
    }
    return %h : tensor<4x8xf32>
  }
}

// -----

// GPipe and inference: all forwards, no backward or optimizer. Grouped-
// query attention splits by key/value heads: 2 KV heads over two equal
// chips, 4 query heads each pair; the output projection is row-parallel.

// CHECK-LABEL: func.func private @attn_dev0_stage
// CHECK: graph.param "q" {comm.param = 0 : i64, comm.shard = array<i64: 1, 0, 32>} : tensor<32x16xf32>
// CHECK: graph.param "k" {comm.param = 1 : i64, comm.shard = array<i64: 1, 0, 8>} : tensor<32x4xf32>
// CHECK: graph.reshape %{{.*}} : tensor<1x6x16xf32> -> tensor<1x6x4x4xf32>
// CHECK: graph.reshape %{{.*}} : tensor<1x6x4xf32> -> tensor<1x6x1x4xf32>
// CHECK: graph.attention %{{.*}} {causal} : tensor<1x6x4x4xf32>, tensor<1x6x1x4xf32>, tensor<1x6x1x4xf32>
// CHECK: graph.reshape %{{.*}} : tensor<1x6x4x4xf32> -> tensor<1x6x16xf32>
// CHECK: graph.param "o" {comm.param = 3 : i64, comm.shard = array<i64: 0, 0, 32>} : tensor<16x32xf32>
// CHECK: comm.all_reduce sum
// CHECK-LABEL: func.func @attn_dev0(%{{.*}}: tensor<2x6x32xf32> {comm.batch_offset = 0 : i64, comm.input = 0 : i64}) -> tensor<2x6x32xf32>
// CHECK: call @attn_dev0_stage
// CHECK: call @attn_dev0_stage
// CHECK-NOT: graph.backward
// CHECK-NOT: graph.optimizer_step
// CHECK: return

module attributes {chipmesh.plan = {dp = 1 : i64, func = "attn", layout = "blocked", mesh = @pair, micro_batch = 1 : i64, mode = "infer", pp = 1 : i64, replica_micro_batches = array<i64: 2>, schedule = "gpipe", stages = [{devices = [array<i64: 0, 1>], layers = array<i64: 0, 1>, shares = [array<f64: 0.5, 0.5>]}], step_time_s = 1.0 : f64, tp = 2 : i64}} {
  topo.mesh @pair {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
  }
  func.func @attn(%x: tensor<2x6x32xf32>) -> tensor<2x6x32xf32> {
    %h = graph.layer "attn" (%x) {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : (tensor<2x6x32xf32>) -> tensor<2x6x32xf32> {
    ^bb0(%in: tensor<2x6x32xf32>):
      %wq = graph.param "q" : tensor<32x32xf32>
      %q = graph.linear %in, %wq : tensor<2x6x32xf32>, tensor<32x32xf32>
      %wk = graph.param "k" : tensor<32x8xf32>
      %k = graph.linear %in, %wk : tensor<2x6x32xf32>, tensor<32x8xf32>
      %wv = graph.param "v" : tensor<32x8xf32>
      %v = graph.linear %in, %wv : tensor<2x6x32xf32>, tensor<32x8xf32>
      %qh = graph.reshape %q : tensor<2x6x32xf32> -> tensor<2x6x8x4xf32>
      %kh = graph.reshape %k : tensor<2x6x8xf32> -> tensor<2x6x2x4xf32>
      %vh = graph.reshape %v : tensor<2x6x8xf32> -> tensor<2x6x2x4xf32>
      %a = graph.attention %qh, %kh, %vh {causal} : tensor<2x6x8x4xf32>, tensor<2x6x2x4xf32>, tensor<2x6x2x4xf32>
      %m = graph.reshape %a : tensor<2x6x8x4xf32> -> tensor<2x6x32xf32>
      %wo = graph.param "o" : tensor<32x32xf32>
      %o = graph.linear %m, %wo : tensor<2x6x32xf32>, tensor<32x32xf32>
      %y = graph.add %in, %o : tensor<2x6x32xf32>, tensor<2x6x32xf32>
      graph.yield %y : tensor<2x6x32xf32>
    }
    return %h : tensor<2x6x32xf32>
  }
}
