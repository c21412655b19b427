// The plan, the annotated IR and the report are byte-identical for any
// thread count and across runs.
// RUN: chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="batch=64 threads=1 report=%t.1.json" > %t.1.mlir
// RUN: chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="batch=64 threads=2 report=%t.2.json" > %t.2.mlir
// RUN: chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="batch=64 threads=7 report=%t.7.json" > %t.7.mlir
// RUN: chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="batch=64 report=%t.d.json" > %t.d.mlir
// RUN: diff %t.1.mlir %t.2.mlir
// RUN: diff %t.1.mlir %t.7.mlir
// RUN: diff %t.1.mlir %t.d.mlir
// RUN: diff %t.1.json %t.2.json
// RUN: diff %t.1.json %t.7.json
// RUN: diff %t.1.json %t.d.json
// RUN: FileCheck %s --input-file=%t.1.mlir
// CHECK: chipmesh.plan
// The full plan space (ZeRO stages and interleaving searched) likewise.
// RUN: chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="batch=64 zero=auto virtual-stages=0 threads=1 report=%t.f1.json" > %t.f1.mlir
// RUN: chipmesh-opt %S/Inputs/duo-model.mlir --chipmesh-partition="batch=64 zero=auto virtual-stages=0 threads=7 report=%t.f7.json" > %t.f7.mlir
// RUN: diff %t.f1.mlir %t.f7.mlir
// RUN: diff %t.f1.json %t.f7.json
