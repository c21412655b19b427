// A mesh from a file, and a calibration file that halves the H100's GEMM
// efficiency and drops its 3 us launch overhead: 184.184 us becomes
// 2 x 181.184 = 362.368 us; the Ascend's is unchanged.
// RUN: chipmesh-opt %s --chipmesh-estimate="mesh=%S/Inputs/pair-mesh.mlir" | FileCheck %s --check-prefix=DEFAULT
// RUN: chipmesh-opt %s --chipmesh-estimate="mesh=%S/Inputs/pair-mesh.mlir calibration=%S/Inputs/slow-h100-calibration.json" | FileCheck %s --check-prefix=SLOW

// DEFAULT-LABEL: module attributes
// DEFAULT-SAME: mesh = "@pair"
// DEFAULT: graph.linear {{.*}} fwd_s = {fast = 1.841840e-04 : f64, npu = 5.101460e-04 : f64}
// SLOW-LABEL: module attributes
// SLOW: graph.linear {{.*}} fwd_s = {fast = 3.623680e-04 : f64, npu = 5.101460e-04 : f64}

func.func @forward(%x: tensor<4096x4096xbf16>) -> tensor<4096x4096xbf16> {
  %w = graph.param "w" : tensor<4096x4096xbf16>
  %y = graph.linear %x, %w : tensor<4096x4096xbf16>, tensor<4096x4096xbf16>
  return %y : tensor<4096x4096xbf16>
}
