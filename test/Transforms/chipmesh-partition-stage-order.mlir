// Early 1F1B stages keep more micro-batches in flight, so the search also
// tries a replica's chips in reverse order: with the small MTT S4000 nodes
// listed first, the 64 GB Ascend 910Bs still take the first stages of an
// eight-stage pipeline.
// RUN: chipmesh-opt %s --chipmesh-partition="batch=32 strategy=dp=1,pp=8,tp=1 report=%t.json" -o /dev/null
// RUN: FileCheck %s --input-file=%t.json

// CHECK:      "stages": [
// CHECK:          "devices": [
// CHECK-NEXT:       [
// CHECK-NEXT:         "cluster/ascend/ascend[3]"
// CHECK:      "stage_order": "reversed",

topo.mesh @rev {
  topo.chip_kind @mtt catalog "mtt-s4000"
  topo.chip_kind @ascend catalog "ascend-910b"
  topo.link_kind @hccs catalog "hccs-910b"
  topo.link_kind @mtlink catalog "mtlink"
  topo.link_kind @roce catalog "roce-200g"
  topo.group "cluster" switched via @roce {
    topo.group "mtt" switched via @mtlink { topo.chips @mtt x 4 }
    topo.group "ascend" full_mesh via @hccs { topo.chips @ascend x 4 }
  }
}
func.func @forward(%x: tensor<1x4096x4096xbf16>) -> tensor<1x4096x4096xbf16> {
  %h = graph.layer "blocks" repeat 32 (%x) : (tensor<1x4096x4096xbf16>) -> tensor<1x4096x4096xbf16> {
  ^bb0(%in: tensor<1x4096x4096xbf16>):
    %w = graph.param "w" : tensor<4096x11008xbf16>
    %y = graph.linear %in, %w : tensor<1x4096x4096xbf16>, tensor<4096x11008xbf16>
    %g = graph.silu %y : tensor<1x4096x11008xbf16>
    %w2 = graph.param "w2" : tensor<11008x4096xbf16>
    %z = graph.linear %g, %w2 : tensor<1x4096x11008xbf16>, tensor<11008x4096xbf16>
    graph.yield %z : tensor<1x4096x4096xbf16>
  }
  return %h : tensor<1x4096x4096xbf16>
}
