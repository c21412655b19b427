// overlap-tp-comm: tensor-parallel collectives overlapped with the GEMMs
// (Megatron --tp-comm-overlap). Two H100s on a 1 GB/s wire, tp=2, one
// inference pass: the all-reduce of the 1 MiB output (comm_s) dwarfs the
// 64 x 64 product. Without overlap the pass is compute + comm; with it,
// the longer of the two: exactly the device's comm_s.
// RUN: chipmesh-opt %s --chipmesh-partition="strategy=dp=1,pp=1,tp=2 micro-batch=8192 mode=infer report=-" -o /dev/null | FileCheck %s --check-prefix=PLAIN
// RUN: chipmesh-opt %s --chipmesh-partition="strategy=dp=1,pp=1,tp=2 micro-batch=8192 mode=infer overlap-tp-comm report=-" -o /dev/null | FileCheck %s --check-prefix=OVERLAP

// PLAIN: "comm_s": [[COMM:[0-9.e+-]+]],
// PLAIN: "compute_s": 1.853
// PLAIN-NOT: "pipeline_s": [[COMM]],
// PLAIN: "pipeline_s": 0.0013436{{[34]}}
// OVERLAP: "comm_s": [[COMM:[0-9.e+-]+]],
// OVERLAP: "pipeline_s": [[COMM]],

topo.mesh @slow {
  topo.chip_kind @g catalog "h100-sxm"
  topo.link_kind @wire {bytes_per_s = 1.0e9, latency_s = 1.0e-6, technology = #topo.technology<nvlink>}
  topo.group "node" switched via @wire { topo.chips @g x 2 }
}
func.func @forward(%x: tensor<8192x64xbf16>) -> tensor<8192x64xbf16> {
  %w = graph.param "w" : tensor<64x64xbf16>
  %y = graph.linear %x, %w : tensor<8192x64xbf16>, tensor<64x64xbf16>
  return %y : tensor<8192x64xbf16>
}
