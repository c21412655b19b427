// An unknown option of any ChipMesh pass names the options the pass takes;
// a value llvm::cl rejects says so beside llvm::cl's own line.
// RUN: not chipmesh-opt %s --chipmesh-partition="bogus=1" 2>&1 | FileCheck %s --check-prefix=PARTITION
// RUN: not chipmesh-opt %s --chipmesh-estimate="mesh-file=x" 2>&1 | FileCheck %s --check-prefix=ESTIMATE
// RUN: not chipmesh-opt %s --chipmesh-drop-dlti="x=1" 2>&1 | FileCheck %s --check-prefix=NONE
// RUN: not chipmesh-opt %s --chipmesh-partition="batch=abc" 2>&1 | FileCheck %s --check-prefix=VALUE

// PARTITION: error: <Pass-Options-Parser>: no such option bogus; chipmesh-partition takes: allow, batch, calibration, func, grad-reduce, headroom, math, mesh, micro-batch, mode, objective, overlap-grad-reduce, overlap-tp-comm, plan, recompute, reference, report, schedule, sequence-parallel, strategy, table, threads, use-all-chips, virtual-stages, zero
// PARTITION-NOT: error
// ESTIMATE: error: <Pass-Options-Parser>: no such option mesh-file; chipmesh-estimate takes: {{.*}}mesh{{.*}}
// NONE: error: <Pass-Options-Parser>: no such option x; chipmesh-drop-dlti takes no options
// VALUE: for the --batch option: 'abc' value invalid
// VALUE: error: invalid value for an option of chipmesh-partition (the message above names it)

module {}
