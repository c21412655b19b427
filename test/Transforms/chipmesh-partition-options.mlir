// Every option of --chipmesh-partition changes what it should.
// RUN: chipmesh-opt %s --chipmesh-partition="schedule=gpipe" | FileCheck %s --check-prefix=GPIPE
// RUN: chipmesh-opt %s --chipmesh-partition="strategy=dp=2" | FileCheck %s --check-prefix=FIXED
// RUN: chipmesh-opt %s --chipmesh-partition="allow=pp use-all-chips" | FileCheck %s --check-prefix=ONLYPP
// RUN: chipmesh-opt %s --chipmesh-partition="micro-batch=2" | FileCheck %s --check-prefix=MICRO
// RUN: chipmesh-opt %s --chipmesh-partition="mode=infer" | FileCheck %s --check-prefix=INFER
// RUN: chipmesh-opt %s --chipmesh-partition="objective=cost" | FileCheck %s --check-prefix=COST
// RUN: chipmesh-opt %s --chipmesh-partition="objective=energy recompute=full headroom=0.5" | FileCheck %s --check-prefix=ENERGY
// RUN: chipmesh-opt %s --chipmesh-partition="reference=a100-sxm-80gb table" -o /dev/null | FileCheck %s --check-prefix=REFERENCE
// RUN: chipmesh-opt %s --chipmesh-partition="func=forward mesh=@duo calibration=%S/Inputs/slow-h100-calibration.json" | FileCheck %s --check-prefix=CALIBRATED
// RUN: not chipmesh-opt %s --chipmesh-partition="mesh=%S/Inputs/pair-mesh.mlir objective=cost" 2>&1 | FileCheck %s --check-prefix=NOPRICE

// GPIPE: schedule = "gpipe"
// FIXED: dp = 2 : i64
// FIXED-SAME: pp = 1 : i64
// FIXED-SAME: tp = 1 : i64
// ONLYPP: dp = 1 : i64
// ONLYPP-SAME: pp = 2 : i64
// ONLYPP-SAME: tp = 1 : i64
// MICRO: micro_batch = 2 : i64
// INFER: mode = "infer"
// COST: chipmesh.plan
// ENERGY: chipmesh.plan
// REFERENCE: reference a100-sxm-80gb: one chip takes
// CALIBRATED: chipmesh.plan
// NOPRICE: error: cannot partition @forward over @pair: objective=cost needs price_usd on every chip kind; 'fast' has none (set price_usd on its topo.chip_kind)

topo.mesh @duo {
  topo.chip_kind @fast catalog "h100-sxm" {price_usd = 30000.0}
  topo.chip_kind @slow catalog "a100-sxm-80gb" {price_usd = 15000.0}
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
