// RUN: chipmesh-opt %s -split-input-file --chipmesh-estimate="mesh=@pair" | FileCheck %s
// RUN: chipmesh-opt %s -split-input-file --chipmesh-estimate="mesh=@pair output=- annotate=false" -o /dev/null | FileCheck %s --check-prefix=TABLE

// Four repetitions of linear + relu, 8 x 1024 tokens, on an H100 and an A100.

// CHECK-LABEL: module attributes {chipmesh.estimate = {chips = [
// CHECK-SAME: catalog = "h100-sxm", fits = true
// CHECK-SAME: kind = "fast"
// CHECK-SAME: catalog = "a100-sxm-80gb", fits = true
// CHECK-SAME: kind = "slow"
// 4 x (2 x 8192 x 1024 x 1024 + 8192 x 1024) x 3 (forward + backward)
// CHECK-SAME: flops_per_step = 2.062590e+11 : f64, func = "forward", mesh = "@pair", micro_batch = 8.000000e+00 : f64, micro_batches = 1 : i64, mode = "train", parameters = 4194304 : i64}}
// The layer carries the sum over its 4 repetitions...
// CHECK: graph.layer "blocks" repeat 4(%{{.*}}) {chipmesh.cost = {bwd_flops = 1.375060e+11 : f64, bwd_s = {fast = [[FB:.*]] : f64, slow = [[SB:.*]] : f64}, bytes = 2.768240e+08 : f64, flops = 6.875300e+10 : f64, fwd_s = {fast = [[FF:.*]] : f64, slow = [[SF:.*]] : f64}}}
// ...its body ops the figures of one: 2 x 8192 x 1024 x 1024 FLOPs, 16 MiB
// in, 16 MiB out and 2 MiB of weights.
// CHECK: graph.param "w"
// CHECK-NOT: chipmesh.cost
// CHECK: graph.linear {{.*}} {chipmesh.cost = {bwd_flops = 3.435970e+10 : f64, bwd_s = {fast = {{.*}}, slow = {{.*}}}, bytes = 3.565160e+07 : f64, flops = 1.717990e+10 : f64, fwd_s = {fast = {{.*}}, slow = {{.*}}}}}
// CHECK: graph.relu {{.*}} {chipmesh.cost = {bwd_flops = 1.677720e+07 : f64, {{.*}}, bytes = 3.355440e+07 : f64, flops = 8.388610e+06 : f64
// CHECK: graph.yield

// TABLE: @forward on @pair: 4194304 parameters, 2.06E+11 FLOPs per step (train, micro-batch 8 x 1, recompute none)
// TABLE-NEXT: chip                   catalog                    step    forward   backward  optimizer    MFU   mem GiB   cap GiB  fits
// TABLE-NEXT: fast                   h100-sxm               {{.*}} yes
// TABLE-NEXT: slow                   a100-sxm-80gb          {{.*}} yes

topo.mesh @pair {
  topo.chip_kind @fast catalog "h100-sxm"
  topo.chip_kind @slow catalog "a100-sxm-80gb"
  topo.link_kind @pcie catalog "pcie5-x16"
  topo.group "box" switched via @pcie {
    topo.chips @fast x 1
    topo.chips @slow x 1
  }
}
func.func @forward(%x: tensor<8x1024x1024xbf16>) -> tensor<8x1024x1024xbf16> {
  %h = graph.layer "blocks" repeat 4 (%x) : (tensor<8x1024x1024xbf16>) -> tensor<8x1024x1024xbf16> {
  ^bb0(%in: tensor<8x1024x1024xbf16>):
    %w = graph.param "w" : tensor<1024x1024xbf16>
    %y = graph.linear %in, %w : tensor<8x1024x1024xbf16>, tensor<1024x1024xbf16>
    %r = graph.relu %y : tensor<8x1024x1024xbf16>
    graph.yield %r : tensor<8x1024x1024xbf16>
  }
  return %h : tensor<8x1024x1024xbf16>
}

// -----

// Inference takes its mode from the function; no backward, no optimizer.

// CHECK-LABEL: module attributes {chipmesh.estimate = {chips = [{backward_s = 0.000000e+00 : f64
// CHECK-SAME: optimizer_s = 0.000000e+00 : f64
// CHECK-SAME: flops_per_step = 1.342180e+08 : f64, func = "serve", mesh = "@pair", micro_batch = 4.000000e+00 : f64, micro_batches = 1 : i64, mode = "infer"
// CHECK: func.func @serve

// TABLE: @serve on @pair: 16777216 parameters, 1.34E+08 FLOPs per step (infer, micro-batch 4 x 1, recompute none)

topo.mesh @pair {
  topo.chip_kind @fast catalog "h100-sxm"
  topo.chip_kind @slow catalog "a100-sxm-80gb"
  topo.link_kind @pcie catalog "pcie5-x16"
  topo.group "box" switched via @pcie {
    topo.chips @fast x 1
    topo.chips @slow x 1
  }
}
func.func @serve(%x: tensor<4x4096xbf16>) -> tensor<4x4096xbf16> attributes {chipmesh.mode = "infer"} {
  %w = graph.param "w" : tensor<4096x4096xbf16>
  %y = graph.linear %x, %w : tensor<4x4096xbf16>, tensor<4096x4096xbf16>
  return %y : tensor<4x4096xbf16>
}
