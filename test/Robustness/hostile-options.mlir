// Absurd options and infeasible requests: a diagnostic, never a crash, and
// the IR is not half-annotated (the pass fails before writing anything).
// RUN: not chipmesh-opt %s --chipmesh-partition="batch=1099511627777" 2>&1 | FileCheck %s --check-prefix=BATCH
// RUN: not chipmesh-opt %s --chipmesh-partition="micro-batch=3" 2>&1 | FileCheck %s --check-prefix=MICRO
// RUN: not chipmesh-opt %s --chipmesh-partition="strategy=dp=1048577" 2>&1 | FileCheck %s --check-prefix=HUGE
// RUN: not chipmesh-opt %s --chipmesh-partition="strategy=dp=,pp=2" 2>&1 | FileCheck %s --check-prefix=EMPTY
// RUN: not chipmesh-opt %s --chipmesh-partition="headroom=-0.5" 2>&1 | FileCheck %s --check-prefix=HEADROOM
// RUN: not chipmesh-opt %s --chipmesh-partition="allow= mode=infer" 2>&1 | FileCheck %s --check-prefix=NONE
// RUN: not chipmesh-opt %s --chipmesh-estimate="micro-batches=9999999999" 2>&1 | FileCheck %s --check-prefix=MICROS
// RUN: not chipmesh-opt %s --chipmesh-estimate="micro-batch=2000000000000" 2>&1 | FileCheck %s --check-prefix=RESIZE
// RUN: not chipmesh-opt %s --chipmesh-partition="headroom=0.999999999" 2>&1 | FileCheck %s --check-prefix=ROOM
// RUN: not chipmesh-opt %s --chipmesh-partition="batch=4" -o %t.mlir 2>&1 | FileCheck %s --check-prefix=FIT
// RUN: not test -s %t.mlir

// BATCH: error: batch must be in [1, 2^40] (or 0 for the traced batch), got 1099511627777
// MICRO: error: cannot partition @forward over @tiny: micro-batch 3 does not divide the global batch 2
// HUGE: error: strategy 'dp=1048577': 'dp=1048577': expected a count in [1, 2^20]
// EMPTY: error: strategy 'dp=,pp=2': 'dp=': expected a count in [1, 2^20]
// HEADROOM: error: headroom must be in [0, 1), got -5.000000e-01
// NONE: error: cannot partition @forward over @tiny: no strategy fits: the 2 chips must split as dp x pp x tp with pp <= 1 layers, tp <= 2 (chips in a node), dp <= the micro-batches of a step (2 at most) and pp x micro-batches per replica <= 2^24, using only the kinds allow= permits
// MICROS: error: micro-batches must be in [1, 2^32], got 9999999999
// RESIZE: error: micro-batch must be in [1, 2^40], got 2000000000000.00
// ROOM: error: cannot partition @forward over @tiny: no plan fits in memory: with headroom 0.999999999 no chip has memory left after its reserve (the model's state takes 256.0 GiB); lower headroom=
// FIT: error: cannot partition @forward over @tiny: no plan fits in memory: the model's weights, gradients and optimizer states alone take 256.0 GiB but the 2 chips hold 62.0 GiB usable (short by 194.0 GiB); at least 9 chips of kind 'v' would hold it

topo.mesh @tiny {
  topo.chip_kind @v catalog "v100-sxm2-32gb"
  topo.link_kind @nv catalog "nvlink2"
  topo.group "node" switched via @nv { topo.chips @v x 2 }
}
func.func @forward(%x: tensor<2x131072xbf16>) -> tensor<2x131072xbf16> {
  %w = graph.param "w" : tensor<131072x131072xbf16>
  %y = graph.linear %x, %w : tensor<2x131072xbf16>, tensor<131072x131072xbf16>
  return %y : tensor<2x131072xbf16>
}
