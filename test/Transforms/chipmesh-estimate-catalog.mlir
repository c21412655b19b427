// RUN: chipmesh-opt %s --chipmesh-estimate="output=- annotate=false" -o /dev/null | FileCheck %s
// RUN: chipmesh-opt %s --chipmesh-estimate="output=- format=json annotate=false" -o /dev/null | FileCheck %s --check-prefix=JSON

// Without a mesh every catalog chip is priced. 2^32 BF16 parameters train
// with 16 bytes each (weights, gradients, FP32 master copy and Adam
// moments): 64 GiB, plus the runtime's 1 GiB and a few KiB of
// activations: 65.0 GiB, which an 80 GB part holds and a 24 GB one misses
// by 41.0 GiB.

// CHECK-LABEL: @forward on catalog: 4294967296 parameters
// CHECK: h100-sxm {{.*}} 65.0      80.0  yes
// CHECK: v100-sxm2-32gb {{.*}} 65.0      32.0  does not fit by 33.0 GiB
// CHECK: rtx-4090 {{.*}} 65.0      24.0  does not fit by 41.0 GiB
// CHECK: h200 {{.*}} 65.0     141.0  yes
// CHECK: cambricon-mlu370-x8 {{.*}} does not fit by 17.0 GiB

// JSON-LABEL: "chips": [
// JSON: "catalog": "h100-sxm",
// JSON: "fits": true,
// JSON: "catalog": "rtx-4090",
// JSON-NEXT: "fits": false,
// JSON: "memory": {
// JSON-NEXT: "activations": 131072,
// JSON-NEXT: "gradients": 8589934592,
// JSON-NEXT: "kv_cache": 0,
// JSON-NEXT: "optimizer_states": 51539607552,
// JSON-NEXT: "reserved": 1073741824,
// JSON-NEXT: "weights": 8589934592,
// JSON-NEXT: "workspace": 262144
// JSON-NEXT: },
// JSON-NEXT: "memory_bytes": 69793611776,
// JSON: "shortfall_bytes": 44023808000,
// JSON-LABEL: "parameters": 4294967296,

func.func @forward(%x: tensor<1x65536xbf16>) -> tensor<1x65536xbf16> {
  %w = graph.param "w" : tensor<65536x65536xbf16>
  %y = graph.linear %x, %w : tensor<1x65536xbf16>, tensor<65536x65536xbf16>
  return %y : tensor<1x65536xbf16>
}
