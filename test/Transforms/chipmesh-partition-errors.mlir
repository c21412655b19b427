// Option errors name the option, what it expected and what it got.
// RUN: not chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="mode=serve" 2>&1 | FileCheck %s --check-prefix=MODE
// RUN: not chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="recompute=half" 2>&1 | FileCheck %s --check-prefix=RECOMPUTE
// RUN: not chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="schedule=zb" 2>&1 | FileCheck %s --check-prefix=SCHEDULE
// RUN: not chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="objective=speed" 2>&1 | FileCheck %s --check-prefix=OBJECTIVE
// RUN: not chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="batch=-1" 2>&1 | FileCheck %s --check-prefix=BATCH
// RUN: not chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="micro-batch=-2" 2>&1 | FileCheck %s --check-prefix=MICRO
// RUN: not chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="batch=8 micro-batch=3" 2>&1 | FileCheck %s --check-prefix=DIVIDE
// RUN: not chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="headroom=1.5" 2>&1 | FileCheck %s --check-prefix=HEADROOM
// RUN: not chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="allow=dp,ep" 2>&1 | FileCheck %s --check-prefix=ALLOW
// RUN: not chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="allow=tp strategy=dp=2" 2>&1 | FileCheck %s --check-prefix=DISALLOWED
// RUN: not chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="strategy=dp=two" 2>&1 | FileCheck %s --check-prefix=STRATEGY
// RUN: not chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="strategy=cp=2" 2>&1 | FileCheck %s --check-prefix=STRATEGYKIND
// RUN: not chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="strategy=dp=2,pp=2" 2>&1 | FileCheck %s --check-prefix=MISFIT
// RUN: not chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="reference=h1000" 2>&1 | FileCheck %s --check-prefix=REFERENCE
// RUN: not chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="mesh=@trio" 2>&1 | FileCheck %s --check-prefix=MESH
// RUN: not chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="calibration=%S/Inputs/bad-calibration.json" 2>&1 | FileCheck %s --check-prefix=CALIBRATION
// RUN: not chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="report=%t.missing/r.json" 2>&1 | FileCheck %s --check-prefix=REPORT

// MODE: error: mode must be 'train' or 'infer', got 'serve'
// RECOMPUTE: error: recompute must be 'none', 'selective' or 'full', got 'half'
// SCHEDULE: error: schedule must be 'gpipe' or '1f1b', got 'zb'
// OBJECTIVE: error: objective must be 'step-time', 'throughput', 'cost' or 'energy', got 'speed'
// BATCH: error: batch must be in [1, 2^40] (or 0 for the traced batch), got -1
// MICRO: error: micro-batch must be in [1, 2^40] (or 0 to search), got -2
// DIVIDE: error: cannot partition @forward over @duo: micro-batch 3 does not divide the global batch 8
// HEADROOM: error: headroom must be in [0, 1), got 1.5
// ALLOW: error: allow: unknown parallelism 'ep' (expected dp, pp, tp)
// DISALLOWED: error: cannot partition @forward over @duo: strategy dp=2,pp=1,tp=1 uses a parallelism that allow= excludes
// STRATEGY: error: strategy 'dp=two': 'dp=two': expected a count in [1, 2^20]
// STRATEGYKIND: error: strategy 'cp=2': unknown parallelism 'cp' (expected dp, pp, tp)
// MISFIT: error: cannot partition @forward over @duo: strategy dp=2,pp=2,tp=1 does not fit the mesh: it needs dp*pp*tp = 4 chips, the mesh has 2, and pp <= 6 layers
// REFERENCE: error: unknown reference chip 'h1000'; expected one of h100-sxm,
// MESH: error: unknown mesh '@trio'; the module holds @duo
// CALIBRATION: error: calibration file '{{.*}}bad-calibration.json': chips.h100-sxm: unknown field 'matmul_eficiency'
// REPORT: error: cannot open '{{.*}}r.json'
