// The data-parallel gradient all-reduce: its type (grad-reduce) and its
// overlap with the last backward (overlap-grad-reduce). Two chips in two
// nodes joined by an ideal 1 GB/s link (calibrated: full bandwidth, no step
// latency); bf16 weights of 1024 x 1024 = 1 Mi parameters, dp=2.
// A 2-member ring all-reduce of S bytes is 2 steps of S/2 = S / 1 GB/s,
// plus NCCL's Simple base latency of 8.4 us:
//  - auto = fp32 (Megatron reduces bf16 gradients in fp32): 4 MiB -> 4.2027 ms
//  - weights (bf16): 2 MiB -> 2.10555 ms
//  - overlapped: less one micro-batch's backward (8.26 us here).
// RUN: split-file %s %t
// RUN: chipmesh-opt %t/model.mlir --chipmesh-partition="strategy=dp=2 micro-batch=32 calibration=%t/ideal.json report=-" -o /dev/null | FileCheck %s --check-prefix=AUTO
// RUN: chipmesh-opt %t/model.mlir --chipmesh-partition="strategy=dp=2 micro-batch=32 calibration=%t/ideal.json grad-reduce=fp32 report=-" -o /dev/null | FileCheck %s --check-prefix=AUTO
// RUN: chipmesh-opt %t/model.mlir --chipmesh-partition="strategy=dp=2 micro-batch=32 calibration=%t/ideal.json grad-reduce=weights report=-" -o /dev/null | FileCheck %s --check-prefix=WEIGHTS
// RUN: chipmesh-opt %t/model.mlir --chipmesh-partition="strategy=dp=2 micro-batch=32 calibration=%t/ideal.json grad-reduce=weights overlap-grad-reduce report=-" -o /dev/null | FileCheck %s --check-prefix=OVERLAP
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="grad-reduce=fp16" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BAD

// AUTO: "gradient_sync_s": 0.0042027{{[0-9]*}},
// WEIGHTS: "gradient_sync_s": 0.0021055{{[0-9]*}},
// OVERLAP: "gradient_sync_s": 0.0020972{{[0-9]*}},
// BAD: for the --grad-reduce option: Cannot find option named 'fp16'!

//--- ideal.json
{"links": {"net": {"bandwidth_efficiency": 1, "step_latency_s": 0},
           "nv": {"bandwidth_efficiency": 1, "step_latency_s": 0}}}
//--- model.mlir
topo.mesh @two {
  topo.chip_kind @g catalog "h100-sxm"
  topo.link_kind @nv {bytes_per_s = 1.0e12, latency_s = 1.0e-6, technology = #topo.technology<nvlink>}
  topo.link_kind @net {bytes_per_s = 1.0e9, latency_s = 1.0e-6, technology = #topo.technology<infiniband>}
  topo.group "cluster" switched via @net {
    topo.group "node" x 2 switched via @nv { topo.chips @g x 1 }
  }
}
func.func @forward(%x: tensor<64x1024xbf16>) -> tensor<64x1024xbf16> {
  %w = graph.param "w" : tensor<1024x1024xbf16>
  %y = graph.linear %x, %w : tensor<64x1024xbf16>, tensor<1024x1024xbf16>
  return %y : tensor<64x1024xbf16>
}
