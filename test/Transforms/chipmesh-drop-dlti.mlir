// RUN: chipmesh-opt %s --chipmesh-drop-dlti | FileCheck %s

// The lowered module keeps its other attributes; only DLTI goes.
// CHECK-LABEL: module attributes {chipmesh.mpi_ranks = 2 : i64} {
// CHECK: llvm.func @main()
module attributes {chipmesh.mpi_ranks = 2 : i64, dlti.map = #dlti.map<"MPI:Implementation" = "MPICH">} {
  llvm.func @main() {
    llvm.return
  }
}
