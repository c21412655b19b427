// RUN: chipmesh-opt %s -split-input-file --chipmesh-partition=use-all-chips | FileCheck %s
// RUN: chipmesh-opt %s -split-input-file --chipmesh-partition="table use-all-chips" -o /dev/null | FileCheck %s --check-prefix=TABLE
// RUN: chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="report=%t.json use-all-chips" -o /dev/null
// RUN: FileCheck %s --input-file=%t.json --check-prefix=REPORT

// An H100 and an A100 joined by 200 Gb/s RoCE, six equal layers, batch 8:
// the slow network rules out tensor parallelism and makes data
// parallelism's gradient all-reduce cost more than a pipeline bubble, so
// the plan is two pipeline stages with uneven layer counts: 5 layers on
// the H100, 1 on the A100 (the A100 also holds no optimizer work for the
// other 5). That is 0.93 x one H100: without use-all-chips the search
// leaves the A100 idle instead (chipmesh-partition-idle.mlir).

// CHECK-LABEL: module attributes {chipmesh.plan = {dp = 1 : i64, func = "forward", layout = "blocked", mesh = @duo, micro_batch = 4 : i64, mode = "train", pp = 2 : i64, recompute = "none", replica_micro_batches = array<i64: 2>, schedule = "1f1b", stages = [{devices = [array<i64: 0>], layers = array<i64: 0, 5>, shares = [array<f64: 1.000000e+00>]}, {devices = [array<i64: 1>], layers = array<i64: 5, 6>, shares = [array<f64: 1.000000e+00>]}], step_time_s = {{.*}} : f64, tp = 1 : i64, virtual_stages = 1 : i64, zero = 0 : i64}}
// CHECK: graph.layer "blocks" repeat 6(%{{.*}}) {chipmesh.placement = {repeats = array<i64: 5, 1>, stages = array<i64: 0, 1>}}

// TABLE-LABEL: plan for @forward on @duo (2 chips): dp=1 pp=2 tp=1 (blocked replicas), 1f1b, micro-batch 4, 2 micro-batches per replica
// TABLE-NEXT:   stage 0: layers [0, 5)  on box/fast (100%)
// TABLE-NEXT:   stage 1: layers [5, 6)  on box/slow (100%)
// TABLE-NEXT: device                          compute       comm       idle   mem GiB   cap GiB
// TABLE-NEXT: box/fast {{.*}} 80.0
// TABLE-NEXT: box/slow {{.*}} 80.0
// TABLE-NEXT: step {{.*}} samples/s, {{.*}} tokens/s
// TABLE-NEXT: lower bound {{.*}} (aggregate compute): plan is {{.*}}x the bound
// TABLE-NEXT: reference h100-sxm: one chip takes {{.*}} per step; this mesh ~ 0.93 x h100-sxm
// TABLE-NEXT: search: 15 candidates, 15 feasible, 0 pruned by the lower bound

// REPORT: "devices": [
// REPORT:   "chip": 0,
// REPORT:   "comm_s":
// REPORT:   "compute_s":
// REPORT:   "device": "box/fast",
// REPORT:   "idle_s":
// REPORT:   "kind": "fast",
// REPORT:   "memory_bytes":
// REPORT:   "memory_capacity_bytes": 85899345920,
// REPORT:   "device": "box/slow",
// REPORT: "lower_bound_s":
// REPORT: "ratio_to_lower_bound":
// REPORT: "reference": {
// REPORT-NEXT:   "chip": "h100-sxm",
// REPORT-NEXT:   "fits": true,
// REPORT: "mesh_equivalent_chips": 0.9
// REPORT: "stages": [
// REPORT:     "devices": [
// REPORT-NEXT:  [
// REPORT-NEXT:    "box/fast"
// REPORT:     "layers": [
// REPORT-NEXT:  0,
// REPORT-NEXT:  5
// REPORT: "step_time_s":
// REPORT: "strategy": {
// REPORT-NEXT:   "dp": 1,
// REPORT-NEXT:   "layout": "blocked",
// REPORT-NEXT:   "pp": 2,
// REPORT-NEXT:   "stage_order": "mesh",
// REPORT-NEXT:   "tp": 1,
// REPORT-NEXT:   "tp_per_stage": [
// REPORT: "throughput": {
// REPORT-NEXT:   "samples_per_s":
// REPORT-NEXT:   "tokens_per_s":

topo.mesh @duo {
  topo.chip_kind @fast catalog "h100-sxm"
  topo.chip_kind @slow catalog "a100-sxm-80gb"
  topo.link_kind @net catalog "roce-200g"
  topo.group "box" switched via @net {
    topo.chips @fast x 1
    topo.chips @slow x 1
  }
}
func.func @forward(%x: tensor<8x1024x1024xbf16>) -> tensor<8x1024x1024xbf16> {
  %h = graph.layer "blocks" repeat 6 (%x) : (tensor<8x1024x1024xbf16>) -> tensor<8x1024x1024xbf16> {
  ^bb0(%in: tensor<8x1024x1024xbf16>):
    %w = graph.param "w" : tensor<1024x4096xbf16>
    %y = graph.linear %in, %w : tensor<8x1024x1024xbf16>, tensor<1024x4096xbf16>
    %g = graph.gelu %y : tensor<8x1024x4096xbf16>
    %w2 = graph.param "w2" : tensor<4096x1024xbf16>
    %z = graph.linear %g, %w2 : tensor<8x1024x4096xbf16>, tensor<4096x1024xbf16>
    graph.yield %z : tensor<8x1024x1024xbf16>
  }
  return %h : tensor<8x1024x1024xbf16>
}

// -----

// Two H100s on NVLink: tensor parallelism is cheap, and with equal chips the
// shares are equal. Weights outside layers (the head) go with their user.

// CHECK-LABEL: module attributes {chipmesh.plan = {dp = {{[0-9]}} : i64
// CHECK: graph.linear %{{.*}} {chipmesh.placement = {repeats = array<i64: 1>, stages = array<i64: {{[0-9]}}>}}
// CHECK: graph.relu %{{.*}} {chipmesh.placement = {repeats = array<i64: 1>, stages = array<i64: {{[0-9]}}>}}

// TABLE-LABEL: plan for @f on @nv (2 chips):
// TABLE: reference h100-sxm: one chip takes {{.*}}; this mesh ~ {{1\.[0-9]+}} x h100-sxm

topo.mesh @nv {
  topo.chip_kind @h100 catalog "h100-sxm"
  topo.link_kind @nvl catalog "nvlink4"
  topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
}
func.func @f(%x: tensor<16x2048x4096xbf16>) -> tensor<16x2048x4096xbf16> {
  %w = graph.param "head" : tensor<4096x4096xbf16>
  %y = graph.linear %x, %w : tensor<16x2048x4096xbf16>, tensor<4096x4096xbf16>
  %r = graph.relu %y : tensor<16x2048x4096xbf16>
  return %r : tensor<16x2048x4096xbf16>
}
