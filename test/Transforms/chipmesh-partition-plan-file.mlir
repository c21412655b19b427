// plan=FILE prices a plan exactly as given (the report's own JSON read
// back, or a hand-written subset of it): nothing is searched, and the
// report of a plan read back is the report it came from.
// RUN: split-file %s %t
// RUN: chipmesh-opt %t/model.mlir --chipmesh-partition="batch=8 report=%t/found.json" -o /dev/null
// RUN: chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/found.json report=%t/again.json" -o /dev/null
// RUN: diff %t/found.json %t/again.json
// RUN: chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/even.json report=-" -o /dev/null | FileCheck %s --check-prefix=EVEN
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/unknown-device.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=DEVICE
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/gap.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=GAP
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/shares.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=SHARES
// RUN: chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/chips.json table" -o /dev/null 2>&1 | FileCheck %s --check-prefix=CHIPS
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/twice.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=TWICE
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/layers.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=LAYERS
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/global.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=GLOBAL
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/interleaved.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=MULTIPLE
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/missing.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/notjson.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=NOTJSON
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/nothere.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=NOFILE
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/even.json strategy=dp=2" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BOTH
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/even.json batch=16" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BATCH
// RUN: not chipmesh-opt %t/big.mlir --chipmesh-partition="plan=%t/even.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=MEMORY
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="mode=infer plan=%t/interleaved-ok.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=INFER
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/far-layers.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=FAR
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/many-micro.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=MANY
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/many-micro-sum.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=MANYSUM
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/by-kind-narrow.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=NARROW
// RUN: not chipmesh-opt %t/quad.mlir --chipmesh-partition="plan=%t/chunk-share.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=CHUNKSHARE
// RUN: %python -c "print('[' * 200 + '\"' + ']' * 300 + '\"' + ']' * 200)" > %t/deep.json
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/deep.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=DEEP
// RUN: chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/interleaved-ok.json report=-" -o /dev/null | FileCheck %s --check-prefix=CHUNKS

// Three layers each, although the search gives the H100 five: priced as given.
// EVEN:      "layers": [
// EVEN-NEXT:   0,
// EVEN-NEXT:   3
// EVEN:      "layers": [
// EVEN-NEXT:   3,
// EVEN-NEXT:   6
// DEVICE: error: plan file '{{.*}}unknown-device.json': stages[1].devices[0][0]: unknown device 'node/medium' in the mesh
// GAP: stages[1].layers: starts at layer 4, but the stage before ends at 3 (stages must be contiguous from layer 0)
// SHARES: stages[0].shares[0]: sum to 0.900000, not 1
// A plan that places fewer chips than the mesh has leaves the rest idle.
// CHIPS: plan for @forward on @duo (2 chips): dp=1 pp=1 tp=1
// CHIPS: idle: node/slow (1 of the 2 chips left idle: the given plan does not place them)
// TWICE: stages[1].devices[0][0]: device 'node/fast' already has a place in the plan
// LAYERS: error: cannot partition @forward over @duo: plan: stages[1].layers ends at layer 5, but the model has 6 layers (units)
// GLOBAL: global_batch: is 16, but micro_batch x the replicas' micro-batches = 2 x 4 = 8
// MULTIPLE: replica_micro_batches[0]: 3 is not a multiple of pp = 2, as interleaved 1F1B needs
// MISSING: replica_micro_batches: must list one count per replica (1)
// NOTJSON: plan: invalid JSON
// NOFILE: error: cannot read plan file '{{.*}}nothere.json'
// BOTH: error: plan= prices a plan as given; strategy=, virtual-stages= and zero= come from the plan file
// BATCH: error: batch=16 differs from the plan's global batch of 8
// INFER: error: cannot partition @forward over @duo: plan: virtual_stages > 1 is interleaved 1F1B, a training schedule; this is mode=infer
// FAR: stages[1].layers: must be two integers with 0 <= first < end <= 2^30
// MANY: replica_micro_batches[0]: must be in [1, 1048576], got 2000000
// MANYSUM: replica_micro_batches: sum to 1200000 micro-batches, more than the 1048576 one step may play
// NARROW: strategy.tp: is 2, but the widest tensor group of the by-kind plan has 1 devices
// CHUNKSHARE: stages[2].shares[0][0]: must equal stages[0]'s share of the same device
// DEEP: plan: nests 200 levels deep; a plan needs at most 5
// CHUNKS: "virtual_stages": 2
// MEMORY: error: cannot partition @forward over @duo: the plan does not fit in memory: node/fast (replica 0, stage 0) needs {{[0-9.]+}} GiB of its 80.0 GiB usable (over by {{[0-9.]+}} GiB)

//--- model.mlir
topo.mesh @duo {
  topo.chip_kind @fast catalog "h100-sxm"
  topo.chip_kind @slow catalog "a100-sxm-80gb"
  topo.link_kind @nv catalog "nvlink4"
  topo.group "node" switched via @nv {
    topo.chips @fast x 1
    topo.chips @slow x 1
  }
}
func.func @forward(%x: tensor<8x512x1024xbf16>) -> tensor<8x512x1024xbf16> {
  %h = graph.layer "blocks" repeat 6 (%x) : (tensor<8x512x1024xbf16>) -> tensor<8x512x1024xbf16> {
  ^bb0(%in: tensor<8x512x1024xbf16>):
    %w = graph.param "w" : tensor<1024x4096xbf16>
    %y = graph.linear %in, %w : tensor<8x512x1024xbf16>, tensor<1024x4096xbf16>
    %g = graph.gelu %y : tensor<8x512x4096xbf16>
    %w2 = graph.param "w2" : tensor<4096x1024xbf16>
    %z = graph.linear %g, %w2 : tensor<8x512x4096xbf16>, tensor<4096x1024xbf16>
    graph.yield %z : tensor<8x512x1024xbf16>
  }
  return %h : tensor<8x512x1024xbf16>
}
//--- big.mlir
topo.mesh @duo {
  topo.chip_kind @fast catalog "h100-sxm"
  topo.chip_kind @slow catalog "a100-sxm-80gb"
  topo.link_kind @nv catalog "nvlink4"
  topo.group "node" switched via @nv {
    topo.chips @fast x 1
    topo.chips @slow x 1
  }
}
func.func @forward(%x: tensor<8x16x32768xbf16>) -> tensor<8x16x32768xbf16> {
  %h = graph.layer "blocks" repeat 6 (%x) : (tensor<8x16x32768xbf16>) -> tensor<8x16x32768xbf16> {
  ^bb0(%in: tensor<8x16x32768xbf16>):
    %w = graph.param "w" : tensor<32768x32768xbf16>
    %y = graph.linear %in, %w : tensor<8x16x32768xbf16>, tensor<32768x32768xbf16>
    %w2 = graph.param "w2" : tensor<32768x32768xbf16>
    %z = graph.linear %y, %w2 : tensor<8x16x32768xbf16>, tensor<32768x32768xbf16>
    graph.yield %z : tensor<8x16x32768xbf16>
  }
  return %h : tensor<8x16x32768xbf16>
}
//--- even.json
{"strategy": {"dp": 1, "pp": 2, "tp": 1}, "schedule": "1f1b", "micro_batch": 2,
 "replica_micro_batches": [4],
 "stages": [{"layers": [0, 3], "devices": [["node/fast"]], "shares": [[1]]},
            {"layers": [3, 6], "devices": [["node/slow"]], "shares": [[1]]}]}
//--- unknown-device.json
{"strategy": {"dp": 1, "pp": 2, "tp": 1}, "schedule": "1f1b", "micro_batch": 2,
 "replica_micro_batches": [4],
 "stages": [{"layers": [0, 3], "devices": [["node/fast"]], "shares": [[1]]},
            {"layers": [3, 6], "devices": [["node/medium"]], "shares": [[1]]}]}
//--- gap.json
{"strategy": {"dp": 1, "pp": 2, "tp": 1}, "schedule": "1f1b", "micro_batch": 2,
 "replica_micro_batches": [4],
 "stages": [{"layers": [0, 3], "devices": [["node/fast"]], "shares": [[1]]},
            {"layers": [4, 6], "devices": [["node/slow"]], "shares": [[1]]}]}
//--- shares.json
{"strategy": {"dp": 1, "pp": 2, "tp": 1}, "schedule": "1f1b", "micro_batch": 2,
 "replica_micro_batches": [4],
 "stages": [{"layers": [0, 3], "devices": [["node/fast"]], "shares": [[0.9]]},
            {"layers": [3, 6], "devices": [["node/slow"]], "shares": [[1]]}]}
//--- chips.json
{"strategy": {"dp": 1, "pp": 1, "tp": 1}, "schedule": "1f1b", "micro_batch": 2,
 "replica_micro_batches": [4],
 "stages": [{"layers": [0, 6], "devices": [["node/fast"]], "shares": [[1]]}]}
//--- twice.json
{"strategy": {"dp": 1, "pp": 2, "tp": 1}, "schedule": "1f1b", "micro_batch": 2,
 "replica_micro_batches": [4],
 "stages": [{"layers": [0, 3], "devices": [["node/fast"]], "shares": [[1]]},
            {"layers": [3, 6], "devices": [["node/fast"]], "shares": [[1]]}]}
//--- layers.json
{"strategy": {"dp": 1, "pp": 2, "tp": 1}, "schedule": "1f1b", "micro_batch": 2,
 "replica_micro_batches": [4],
 "stages": [{"layers": [0, 3], "devices": [["node/fast"]], "shares": [[1]]},
            {"layers": [3, 5], "devices": [["node/slow"]], "shares": [[1]]}]}
//--- global.json
{"strategy": {"dp": 1, "pp": 2, "tp": 1}, "schedule": "1f1b", "micro_batch": 2,
 "global_batch": 16, "replica_micro_batches": [4],
 "stages": [{"layers": [0, 3], "devices": [["node/fast"]], "shares": [[1]]},
            {"layers": [3, 6], "devices": [["node/slow"]], "shares": [[1]]}]}
//--- interleaved.json
{"strategy": {"dp": 1, "pp": 2, "tp": 1}, "schedule": "1f1b", "virtual_stages": 2,
 "micro_batch": 2, "replica_micro_batches": [3],
 "stages": [{"layers": [0, 1], "devices": [["node/fast"]], "shares": [[1]]},
            {"layers": [1, 3], "devices": [["node/slow"]], "shares": [[1]]},
            {"layers": [3, 4], "devices": [["node/fast"]], "shares": [[1]]},
            {"layers": [4, 6], "devices": [["node/slow"]], "shares": [[1]]}]}
//--- missing.json
{"strategy": {"dp": 1, "pp": 2, "tp": 1}, "schedule": "1f1b", "micro_batch": 2,
 "stages": []}
//--- notjson.json
{"strategy": {"dp": 1,
//--- interleaved-ok.json
{"strategy": {"dp": 1, "pp": 2, "tp": 1}, "schedule": "1f1b", "virtual_stages": 2,
 "micro_batch": 2, "replica_micro_batches": [4],
 "stages": [{"layers": [0, 1], "devices": [["node/fast"]], "shares": [[1]]},
            {"layers": [1, 3], "devices": [["node/slow"]], "shares": [[1]]},
            {"layers": [3, 4], "devices": [["node/fast"]], "shares": [[1]]},
            {"layers": [4, 6], "devices": [["node/slow"]], "shares": [[1]]}]}
//--- far-layers.json
{"strategy": {"dp": 1, "pp": 2, "tp": 1}, "schedule": "1f1b", "micro_batch": 2,
 "replica_micro_batches": [4],
 "stages": [{"layers": [0, 100000000], "devices": [["node/fast"]], "shares": [[1]]},
            {"layers": [100000000, 4294967302], "devices": [["node/slow"]], "shares": [[1]]}]}
//--- many-micro.json
{"strategy": {"dp": 1, "pp": 2, "tp": 1}, "schedule": "1f1b", "micro_batch": 2,
 "replica_micro_batches": [2000000],
 "stages": [{"layers": [0, 3], "devices": [["node/fast"]], "shares": [[1]]},
            {"layers": [3, 6], "devices": [["node/slow"]], "shares": [[1]]}]}
//--- many-micro-sum.json
{"strategy": {"dp": 2, "pp": 1, "tp": 1}, "schedule": "1f1b", "micro_batch": 1,
 "replica_micro_batches": [600000, 600000],
 "stages": [{"layers": [0, 6], "devices": [["node/fast"], ["node/slow"]], "shares": [[1], [1]]}]}
//--- by-kind-narrow.json
{"strategy": {"dp": 1, "pp": 2, "tp": 2, "layout": "by-kind"}, "schedule": "1f1b", "micro_batch": 2,
 "replica_micro_batches": [4],
 "stages": [{"layers": [0, 3], "devices": [["node/fast"]], "shares": [[1]]},
            {"layers": [3, 6], "devices": [["node/slow"]], "shares": [[1]]}]}
//--- quad.mlir
topo.mesh @quad {
  topo.chip_kind @fast catalog "h100-sxm"
  topo.chip_kind @slow catalog "a100-sxm-80gb"
  topo.link_kind @nv catalog "nvlink4"
  topo.group "node" switched via @nv {
    topo.chips @fast x 2
    topo.chips @slow x 2
  }
}
func.func @forward(%x: tensor<8x512x1024xbf16>) -> tensor<8x512x1024xbf16> {
  %h = graph.layer "blocks" repeat 6 (%x) : (tensor<8x512x1024xbf16>) -> tensor<8x512x1024xbf16> {
  ^bb0(%in: tensor<8x512x1024xbf16>):
    %w = graph.param "w" : tensor<1024x1024xbf16>
    %y = graph.linear %in, %w : tensor<8x512x1024xbf16>, tensor<1024x1024xbf16>
    graph.yield %y : tensor<8x512x1024xbf16>
  }
  return %h : tensor<8x512x1024xbf16>
}
//--- chunk-share.json
{"strategy": {"dp": 1, "pp": 2, "tp": 2}, "schedule": "1f1b", "virtual_stages": 2,
 "micro_batch": 2, "replica_micro_batches": [4],
 "stages": [{"layers": [0, 1], "devices": [["node/fast[0]", "node/fast[1]"]], "shares": [[0.5, 0.5]]},
            {"layers": [1, 3], "devices": [["node/slow[0]", "node/slow[1]"]], "shares": [[0.5, 0.5]]},
            {"layers": [3, 4], "devices": [["node/fast[0]", "node/fast[1]"]], "shares": [[0.25, 0.75]]},
            {"layers": [4, 6], "devices": [["node/slow[0]", "node/slow[1]"]], "shares": [[0.5, 0.5]]}]}
