// math=tf32: FP32 products at the chip's TF32 tensor rate. One 8192^3
// product (1.0995e12 FLOPs) on an A100 SXM: 64 x 64 tiles of 128 x 128 over
// 108 SMs fill 38 waves (4096 of 4104 slots, 0.99805), K depth 8192/8256
// (0.99225), best GEMM fraction 0.869:
//   fp32 at 19.5 TFLOP/s: 1.0995e12 / (19.5e12 x 0.869 x 0.99805 x 0.99225) = 65.52 ms
//   tf32 at 156 TFLOP/s: 8x faster, 8.19 ms; MFU is against the TF32 peak.
// RUN: chipmesh-opt %s --chipmesh-estimate="mode=infer output=-" -o /dev/null | FileCheck %s --check-prefix=FP32
// RUN: chipmesh-opt %s --chipmesh-estimate="mode=infer math=tf32 output=-" -o /dev/null | FileCheck %s --check-prefix=TF32
// RUN: chipmesh-opt %s --chipmesh-partition="mode=infer mesh=%S/Inputs/one-a100.mlir math=tf32 micro-batch=8192 report=-" -o /dev/null | FileCheck %s --check-prefix=PARTITION
// RUN: not chipmesh-opt %s --chipmesh-estimate="math=fp16" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BAD

// FP32: a100-sxm-80gb          a100-sxm-80gb          65.52 ms   65.52 ms
// FP32-SAME: 86.1%
// TF32: a100-sxm-80gb          a100-sxm-80gb           8.19 ms    8.19 ms
// TF32-SAME: 86.0%
// PARTITION: {{^}}  "step_time_s": 0.00819
// BAD: for the --math option: Cannot find option named 'fp16'!

func.func @forward(%x: tensor<8192x8192xf32>) -> tensor<8192x8192xf32> {
  %w = graph.param "w" : tensor<8192x8192xf32>
  %y = graph.linear %x, %w : tensor<8192x8192xf32>, tensor<8192x8192xf32>
  return %y : tensor<8192x8192xf32>
}
