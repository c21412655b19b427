// virtual-stages=N: Megatron's interleaved 1F1B. Each of the pp devices
// holds N model chunks, the layers split into pp x N virtual stages, and
// virtual stage k runs on the devices of k % pp.
// RUN: split-file %s %t
// RUN: chipmesh-opt %t/model.mlir --chipmesh-partition="batch=8 micro-batch=1 strategy=dp=1,pp=2,tp=1 virtual-stages=2 report=-" -o /dev/null | FileCheck %s --check-prefix=PLAN
// RUN: chipmesh-opt %t/model.mlir --chipmesh-partition="batch=8 micro-batch=1 strategy=dp=1,pp=2,tp=1 virtual-stages=2" | FileCheck %s --check-prefix=ATTR
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="batch=3 micro-batch=1 strategy=dp=1,pp=2,tp=1 virtual-stages=2" -o /dev/null 2>&1 | FileCheck %s --check-prefix=MULTIPLE
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="mode=infer virtual-stages=2" -o /dev/null 2>&1 | FileCheck %s --check-prefix=INFER
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="schedule=gpipe virtual-stages=2" -o /dev/null 2>&1 | FileCheck %s --check-prefix=INFER
// virtual-stages=0 searches plain and interleaved 1F1B: here 2 chunks per
// device shorten the step (smaller bubbles) over the plain plan.
// RUN: chipmesh-opt %t/model.mlir --chipmesh-partition="batch=8 micro-batch=1 allow=pp table" -o /dev/null | FileCheck %s --check-prefix=PLAIN
// RUN: chipmesh-opt %t/model.mlir --chipmesh-partition="batch=8 micro-batch=1 allow=pp virtual-stages=0 table" -o /dev/null | FileCheck %s --check-prefix=SEARCHED
// PLAIN: dp=1 pp=2 tp=1 (blocked replicas), 1f1b, micro-batch 1, 8 micro-batches per replica{{$}}
// PLAIN: step 1.11 ms
// SEARCHED: dp=1 pp=2 tp=1 (blocked replicas), 1f1b, micro-batch 1, 8 micro-batches per replica, {{[24]}} model chunks per device (interleaved){{$}}
// SEARCHED: step 1.04 ms
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="virtual-stages=-1" -o /dev/null 2>&1 | FileCheck %s --check-prefix=RANGE
// RUN: chipmesh-opt %t/model.mlir --chipmesh-partition="batch=8 micro-batch=1 strategy=dp=1,pp=2,tp=1 virtual-stages=2" | not chipmesh-opt --chipmesh-materialize -o /dev/null 2>&1 | FileCheck %s --check-prefix=MATERIALIZE

// Four virtual stages over the two chips: 0 and 2 on chip 0, 1 and 3 on chip 1.
// PLAN:      "stages": [
// PLAN:          "cluster/a100[0]"
// PLAN:          "cluster/a100[1]"
// PLAN:          "cluster/a100[0]"
// PLAN:          "cluster/a100[1]"
// PLAN:      "virtual_stages": 2
// ATTR: virtual_stages = 2 : i64
// MULTIPLE: every replica's micro-batches must be a multiple of pp (global batch 3 in micro-batches of 1)
// INFER: error: virtual-stages=2 is Megatron's interleaved 1F1B: it needs mode=train and schedule=1f1b
// RANGE: error: virtual-stages must be in [1, 1024] (or 0 to search 1, 2 and 4), got -1
// MATERIALIZE: virtual_stages{{.*}}is 2: interleaved plans are priced but not materialized yet (partition with virtual-stages=1)

//--- model.mlir
topo.mesh @pair {
  topo.chip_kind @a100 catalog "a100-sxm-80gb"
  topo.link_kind @nv catalog "nvlink3"
  topo.group "cluster" switched via @nv { topo.chips @a100 x 2 }
}
func.func @forward(%x: tensor<1x512x1024xbf16>) -> tensor<1x512x1024xbf16> {
  %h = graph.layer "blocks" repeat 8 (%x) : (tensor<1x512x1024xbf16>) -> tensor<1x512x1024xbf16> {
  ^bb0(%in: tensor<1x512x1024xbf16>):
    %w = graph.param "w" : tensor<1024x1024xbf16>
    %y = graph.linear %in, %w : tensor<1x512x1024xbf16>, tensor<1024x1024xbf16>
    graph.yield %y : tensor<1x512x1024xbf16>
  }
  return %h : tensor<1x512x1024xbf16>
}
