// sequence-parallel: Megatron's sequence parallelism. A block of layer norm,
// column- and row-parallel products and a residual add, over two H100s as
// one tensor group (tp=2, training). Without it each member runs the norm
// and the add whole and keeps the norm's input and the first product's
// input (2 x 8 MiB) whole; with it, half of both, and the table says so.
// RUN: chipmesh-opt %s --chipmesh-partition="strategy=dp=1,pp=1,tp=2 batch=8 micro-batch=8 report=%t.whole.json table" -o /dev/null | FileCheck %s --check-prefix=WHOLE
// RUN: chipmesh-opt %s --chipmesh-partition="strategy=dp=1,pp=1,tp=2 batch=8 micro-batch=8 sequence-parallel report=%t.split.json table" -o /dev/null | FileCheck %s --check-prefix=SPLIT
// RUN: cat %t.whole.json %t.split.json | FileCheck %s --check-prefix=BOTH
// With one chip per group there is nothing to split: the option changes nothing.
// RUN: chipmesh-opt %s --chipmesh-partition="strategy=dp=2,pp=1,tp=1 batch=8 micro-batch=4 report=-" -o /dev/null | FileCheck %s --check-prefix=DP
// RUN: chipmesh-opt %s --chipmesh-partition="strategy=dp=2,pp=1,tp=1 batch=8 micro-batch=4 sequence-parallel report=-" -o /dev/null | FileCheck %s --check-prefix=DP

// WHOLE: dp=1 pp=1 tp=2 (blocked replicas), 1f1b, micro-batch 8, 1 micro-batches per replica{{$}}
// SPLIT: dp=1 pp=1 tp=2 (blocked replicas), 1f1b, micro-batch 8, 1 micro-batches per replica, sequence parallel{{$}}
// The split plan computes less and holds 8 MiB less per member (half of
// 2 x 8 MiB of activations: 16777216 / 2 = 8388608 bytes).
// BOTH: "compute_s": 0.000290662
// BOTH: "memory_bytes": 1224753152,
// BOTH: "compute_s": 0.00026055{{[78]}}
// BOTH: "memory_bytes": 1216364544,
// DP: "compute_s": 0.00032597{{[01]}}
// DP: "step_time_s": 0.00045026{{[67]}}

topo.mesh @pair {
  topo.chip_kind @g catalog "h100-sxm"
  topo.link_kind @nvl catalog "nvlink4"
  topo.group "node" switched via @nvl { topo.chips @g x 2 }
}
func.func @forward(%x: tensor<8x512x1024xbf16>) -> tensor<8x512x1024xbf16> {
  %g = graph.param "ln.w" : tensor<1024xbf16>
  %b = graph.param "ln.b" : tensor<1024xbf16>
  %n = graph.layer_norm %x, %g, %b : tensor<8x512x1024xbf16>, tensor<1024xbf16>, tensor<1024xbf16>
  %w1 = graph.param "fc1" : tensor<1024x4096xbf16>
  %h = graph.linear %n, %w1 : tensor<8x512x1024xbf16>, tensor<1024x4096xbf16>
  %a = graph.gelu %h : tensor<8x512x4096xbf16>
  %w2 = graph.param "fc2" : tensor<4096x1024xbf16>
  %y = graph.linear %a, %w2 : tensor<8x512x4096xbf16>, tensor<4096x1024xbf16>
  %r = graph.add %x, %y : tensor<8x512x1024xbf16>, tensor<8x512x1024xbf16>
  return %r : tensor<8x512x1024xbf16>
}
