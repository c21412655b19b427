// Sub-mesh selection: the search may leave chips idle when using them
// lengthens the step. On the duo mesh (an H100 and an A100 over 200 Gb/s
// RoCE) the two-chip pipeline is 0.93 x one H100, so the H100 alone wins
// and the A100 is idle.
// RUN: chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="table" -o /dev/null | FileCheck %s --check-prefix=TABLE
// RUN: chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="report=%t.json" | FileCheck %s --check-prefix=ATTR
// RUN: FileCheck %s --input-file=%t.json --check-prefix=REPORT
// use-all-chips restores the all-chip plan.
// RUN: chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="use-all-chips table" -o /dev/null | FileCheck %s --check-prefix=ALL
// A fixed strategy uses every chip, so it is never a sub-mesh.
// RUN: chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="strategy=pp=2 table" -o /dev/null | FileCheck %s --check-prefix=FIXED
// Idle chips get no program; the programs still verify.
// RUN: chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition --chipmesh-materialize --chipmesh-verify-plan | FileCheck %s --check-prefix=PROGRAMS
// The report read back as plan=FILE keeps the idle chip and round-trips.
// RUN: chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="plan=%t.json report=%t.again.json" -o /dev/null
// RUN: diff %t.json %t.again.json
// A hand-written plan that places fewer chips than the mesh has: the rest
// are idle, and the report says the plan left them out.
// RUN: split-file %s %t.d
// RUN: chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="plan=%t.d/on-slow.json table" -o /dev/null | FileCheck %s --check-prefix=GIVEN
// RUN: not chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="plan=%t.d/too-many.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=TOOMANY
// Eight H100s in a node and one chip of 1 TFLOP/s beside them (issue 20):
// the slow chip is left out, and the plan equals the node's alone.
// RUN: chipmesh-opt %t.d/eight-plus-slow.mlir --chipmesh-partition="table batch=64" -o /dev/null > %t.eight
// RUN: chipmesh-opt %t.d/eight.mlir --chipmesh-partition="table batch=64" -o /dev/null >> %t.eight
// RUN: FileCheck %s --input-file=%t.eight --check-prefix=EIGHT

// TABLE: plan for @forward on @duo (2 chips): dp=1 pp=1 tp=1
// TABLE-NEXT:   stage 0: layers [0, 6)  on box/fast (100%)
// TABLE-NEXT: device
// TABLE-NEXT: box/fast
// TABLE-NEXT: idle: box/slow (1 of the 2 chips left idle: the best plan using every chip takes {{[0-9.]+}} ms ({{[0-9.]+}}% worse than this plan's {{[0-9.]+}} ms))
// TABLE-NEXT: step
// TABLE: this mesh ~ 1.00 x h100-sxm

// ATTR: chipmesh.plan = {dp = 1 : i64, func = "forward", idle_chips = array<i64: 1>,
// ATTR-SAME: stages = [{devices = [array<i64: 0>], layers = array<i64: 0, 6>

// REPORT:      "devices": [
// REPORT-NEXT:   {
// REPORT-NEXT:     "chip": 0,
// REPORT-NOT:      "box/slow"
// REPORT:      "idle_chips": [
// REPORT-NEXT:   {
// REPORT-NEXT:     "chip": 1,
// REPORT-NEXT:     "device": "box/slow",
// REPORT-NEXT:     "kind": "slow"
// REPORT-NEXT:   }
// REPORT-NEXT: ],
// REPORT-NEXT: "idle_reason": "1 of the 2 chips left idle: the best plan using every chip takes

// ALL: plan for @forward on @duo (2 chips): dp=1 pp=2 tp=1
// ALL-NOT: idle:
// ALL: this mesh ~ 0.93 x h100-sxm

// FIXED: dp=1 pp=2 tp=1
// FIXED-NOT: idle:

// PROGRAMS: func.func @forward_dev0
// PROGRAMS-NOT: func.func @forward_dev1

// GIVEN: plan for @forward on @duo (2 chips): dp=1 pp=1 tp=1
// GIVEN-NEXT: stage 0: layers [0, 6)  on box/slow (100%)
// GIVEN: idle: box/fast (1 of the 2 chips left idle: the given plan does not place them)

// TOOMANY: too-many.json': strategy: dp x pp x tp = 2 x 1 x 2 = 4, but the mesh has 2 chips (chips the plan does not place stay idle, but it cannot place more than there are)

// EIGHT: plan for @f on @m (9 chips): dp=8 pp=1 tp=1
// EIGHT: idle: cluster/rest/crawl (1 of the 9 chips left idle: the best plan using every chip takes at least
// EIGHT: step [[STEP:[0-9.]+ [mu]?s]]
// EIGHT: plan for @f on @m (8 chips): dp=8 pp=1 tp=1
// EIGHT: step [[STEP]]

//--- on-slow.json
{"strategy": {"dp": 1, "pp": 1, "tp": 1}, "micro_batch": 8, "global_batch": 8,
 "replica_micro_batches": [1], "schedule": "1f1b",
 "stages": [{"layers": [0, 6], "devices": [["box/slow"]], "shares": [[1.0]]}]}
//--- too-many.json
{"strategy": {"dp": 2, "pp": 1, "tp": 2}, "micro_batch": 8, "global_batch": 16,
 "replica_micro_batches": [1, 1], "schedule": "1f1b",
 "stages": [{"layers": [0, 6], "devices": [["box/slow", "box/fast"], ["box/fast", "box/slow"]], "shares": [[0.5, 0.5], [0.5, 0.5]]}]}
//--- eight-plus-slow.mlir
topo.mesh @m {
  topo.chip_kind @h100 catalog "h100-sxm"
  topo.chip_kind @crawl {bf16_flop_per_s = 1.0e12, memory_bytes = 80.0e9, memory_bytes_per_s = 1.0e11}
  topo.link_kind @nvl catalog "nvlink4"
  topo.link_kind @net catalog "roce-200g"
  topo.group "cluster" switched via @net {
    topo.group "node" switched via @nvl { topo.chips @h100 x 8 }
    topo.group "rest" switched via @nvl { topo.chips @crawl x 1 }
  }
}
func.func @f(%x: tensor<8x1024x1024xbf16>) -> tensor<8x1024x1024xbf16> {
  %h = graph.layer "blocks" repeat 12 (%x) : (tensor<8x1024x1024xbf16>) -> tensor<8x1024x1024xbf16> {
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
//--- eight.mlir
topo.mesh @m {
  topo.chip_kind @h100 catalog "h100-sxm"
  topo.link_kind @nvl catalog "nvlink4"
  topo.link_kind @net catalog "roce-200g"
  topo.group "cluster" switched via @net {
    topo.group "node" switched via @nvl { topo.chips @h100 x 8 }
  }
}
func.func @f(%x: tensor<8x1024x1024xbf16>) -> tensor<8x1024x1024xbf16> {
  %h = graph.layer "blocks" repeat 12 (%x) : (tensor<8x1024x1024xbf16>) -> tensor<8x1024x1024xbf16> {
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
