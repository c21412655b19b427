// Option errors: each names the option, what it expected and what it got.
// RUN: not chipmesh-opt %s --chipmesh-estimate="mode=training" 2>&1 | FileCheck %s --check-prefix=MODE
// RUN: not chipmesh-opt %s --chipmesh-estimate="recompute=some" 2>&1 | FileCheck %s --check-prefix=RECOMPUTE
// RUN: not chipmesh-opt %s --chipmesh-estimate="micro-batch=-3" 2>&1 | FileCheck %s --check-prefix=MICRO
// RUN: not chipmesh-opt %s --chipmesh-estimate="micro-batches=0" 2>&1 | FileCheck %s --check-prefix=MICROS
// RUN: not chipmesh-opt %s --chipmesh-estimate="format=yaml" 2>&1 | FileCheck %s --check-prefix=FORMAT
// RUN: not chipmesh-opt %s --chipmesh-estimate="mesh=@nowhere" 2>&1 | FileCheck %s --check-prefix=NOMESH
// RUN: not chipmesh-opt %s --chipmesh-estimate="mesh=%S/Inputs/missing.mlir" 2>&1 | FileCheck %s --check-prefix=NOFILE
// RUN: not chipmesh-opt %s --chipmesh-estimate="calibration=%S/Inputs/missing.json" 2>&1 | FileCheck %s --check-prefix=NOCAL
// RUN: not chipmesh-opt %s --chipmesh-estimate="calibration=%S/Inputs/bad-calibration.json" 2>&1 | FileCheck %s --check-prefix=BADCAL
// RUN: not chipmesh-opt %s --chipmesh-estimate="calibration=%S/Inputs/malformed-calibration.json" 2>&1 | FileCheck %s --check-prefix=MALFORMED
// RUN: not chipmesh-opt %s --chipmesh-estimate="output=%S/no-such-dir/out.txt" 2>&1 | FileCheck %s --check-prefix=OUTPUT

// MODE: error: mode must be 'train' or 'infer', got 'training'
// RECOMPUTE: error: recompute must be 'none', 'selective' or 'full', got 'some'
// MICRO: error: micro-batch must be positive (or 0 for the traced batch), got -3
// MICROS: error: micro-batches must be in [1, 2^32], got 0
// FORMAT: error: format must be 'table' or 'json', got 'yaml'
// NOMESH: error: unknown mesh '@nowhere': the module holds no topo.mesh (give a file path instead)
// NOFILE: error: mesh file '{{.*}}Inputs/missing.mlir' does not exist
// NOCAL: error: cannot read calibration file '{{.*}}Inputs/missing.json': No such file or directory
// BADCAL: error: calibration file '{{.*}}bad-calibration.json': chips.h100-sxm: unknown field 'matmul_eficiency' (expected matmul_efficiency,
// MALFORMED: error: calibration file '{{.*}}malformed-calibration.json': [1:50, byte=50]: Expected object key
// OUTPUT: error: cannot open '{{.*}}no-such-dir/out.txt'

func.func @forward(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %y = graph.relu %x : tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}
