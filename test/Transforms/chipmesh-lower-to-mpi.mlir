// RUN: chipmesh-opt %S/Inputs/tiny-tp-plan.mlir --chipmesh-materialize --chipmesh-lower-to-mpi | FileCheck %s
// RUN: chipmesh-opt %S/Inputs/tiny-tp-plan.mlir --chipmesh-lower-to-mpi=reference | FileCheck %s --check-prefix=REF
// RUN: chipmesh-opt %S/Inputs/tiny-tp-plan.mlir --chipmesh-lower-to-mpi=reference \
// RUN:   | mlir-opt --pass-pipeline='builtin.module(one-shot-bufferize{bufferize-function-boundaries},func.func(convert-linalg-to-loops),expand-strided-metadata,lower-affine,convert-scf-to-cf,convert-vector-to-llvm,convert-to-llvm,reconcile-unrealized-casts)' \
// RUN:   | chipmesh-opt --chipmesh-drop-dlti \
// RUN:   | mlir-runner -e main -entry-point-result=void -shared-libs=%llvm_lib_dir/libmlir_c_runner_utils.so,%llvm_lib_dir/libmlir_runner_utils.so \
// RUN:   | FileCheck %s --check-prefix=EXEC
// RUN: chipmesh-opt %S/../Integration/Inputs/mlp-uneven-pipeline-plan.mlir --chipmesh-materialize --chipmesh-lower-to-mpi | FileCheck %s --check-prefix=PIPE
// RUN: chipmesh-opt %s -split-input-file --chipmesh-lower-to-mpi -verify-diagnostics

// One linear, [1, 2] x [2, 4], its 4 output columns split 3:1 over a
// tensor-parallel pair. The program: MPI start-up, one communicator for
// the pair, a switch on the rank. Device 0 makes its 2 x 3 block of the
// weight (columns 0..2), device 1 its 2 x 1 block (column 3, offset 3 in
// the generating formula); the gather is an all-reduce of zero-padded
// [1, 4] buffers, flattened for MPI.
// CHECK-LABEL: module attributes {chipmesh.mpi_ranks = 2 : i64, dlti.map = #dlti.map<"MPI:Implementation" = "MPICH">}
// CHECK: func.func private @rtclock() -> f64
// CHECK: func.func private @printMemrefF32(tensor<*xf32>)
// CHECK-LABEL: func.func @main()
// CHECK: mpi.init
// CHECK: %[[WORLD:.*]] = mpi.comm_world : !mpi.comm
// CHECK: %[[RANK:.*]] = mpi.comm_rank(%[[WORLD]]) : i32
// CHECK: %[[PAIR:.*]] = mpi.comm_split(%[[WORLD]], %{{.*}}, %[[RANK]]) : !mpi.comm
// CHECK: scf.index_switch
// CHECK: case 0 {
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<2x3xf32>)
// CHECK: mpi.allreduce(%{{.*}}, %{{.*}}, MPI_SUM, %[[WORLD]]) : memref<1xf32>, memref<1xf32>
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<1x2xf32>, tensor<2x3xf32>)
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0] [1, 3] [1, 1] : tensor<1x3xf32> into tensor<1x4xf32>
// CHECK: mpi.allreduce(%{{.*}}, %{{.*}}, MPI_SUM, %[[PAIR]]) : memref<4xf32>, memref<4xf32>
// CHECK: vector.print str "chipmesh-mpi device=0 stage=0 replica=0 tp_rank=0 result=0 batch_offset=0\0A"
// CHECK: call @printMemrefF32
// CHECK: case 1 {
// CHECK: outs(%{{.*}} : tensor<2x1xf32>)
// CHECK: arith.constant 3 : index
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 3] [1, 1] [1, 1] : tensor<1x1xf32> into tensor<1x4xf32>
// CHECK: mpi.allreduce(%{{.*}}, %{{.*}}, MPI_SUM, %[[PAIR]]) : memref<4xf32>, memref<4xf32>
// CHECK: default {
// CHECK: vector.print str "chipmesh-mpi error: this rank has no device in the plan (it has 2)\0A"
// CHECK: mpi.finalize
// CHECK-NOT: topo.mesh
// CHECK-NOT: graph.

// The reference: one process, no MPI, the whole weight.
// REF-LABEL: module attributes {chipmesh.mpi_ranks = 1 : i64}
// REF-NOT: mpi.
// REF: outs(%{{.*}} : tensor<2x4xf32>)
// REF: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<1x2xf32>, tensor<2x4xf32>)
// REF: vector.print str "chipmesh-mpi reference result=0 batch_offset=0\0A"

// Run, and checked by hand: x[0, j] = ((7j + 101) mod 23 - 11) / 4 =
// [-0.5, 1.25]; w[i, k] = ((7(4i + k) + seed) mod 23 - 11) / 32 with
// seed = fnv1a("w") mod 997 = 210: rows [-8, -1, 6, -10] and
// [-3, 4, 11, -5] / 32. So y = [0.25, 5.5, 10.75, -1.25] / 32.
// EXEC-LABEL: chipmesh-mpi reference result=0 batch_offset=0
// EXEC: sizes = [1, 4]
// EXEC-NEXT: {{\[\[}}0.0078125, 0.171875, 0.335938, -0.0390625]]
// EXEC: chipmesh-mpi reference step_s={{.*}} mpi_s=0 idle_s=0

// A pipeline (the tensor-parallel pair of devices 0 and 1 feeds device 2):
// every activation is preceded, on its tag, by a one-element ready
// message. The receiver's wait for it is idle time (clock read before and
// after), the payload's receive after it transfer time.
// PIPE-LABEL: case 0 {
// PIPE: mpi.send(%{{.*}}, %c2_i32{{.*}}, %c2_i32{{.*}}, %{{.*}}) : memref<1xf32>, i32, i32
// PIPE-NOT: rtclock
// PIPE: mpi.send(%{{.*}}, %c2_i32{{.*}}, %c2_i32{{.*}}, %{{.*}}) : memref<16xf32>, i32, i32
// PIPE-LABEL: case 2 {
// PIPE: mpi.recv(%{{.*}}, %c2_i32{{.*}}, %c0_i32{{.*}}, %{{.*}}) : memref<1xf32>, i32, i32
// PIPE-NEXT: %[[ARRIVED:.*]] = func.call @rtclock()
// PIPE-NEXT: %[[IDLE:.*]] = arith.subf %[[ARRIVED]], %{{.*}} : f64
// PIPE-NEXT: arith.addf %{{.*}}, %[[IDLE]] : f64
// PIPE: mpi.recv(%{{.*}}, %c2_i32{{.*}}, %c0_i32{{.*}}, %{{.*}}) : memref<16xf32>, i32, i32
// PIPE-NEXT: %[[DONE:.*]] = func.call @rtclock()
// PIPE-NEXT: arith.subf %[[DONE]], %[[ARRIVED]] : f64
// PIPE: vector.print str " idle_s="

// A training plan: refused (no backward lowering).
// expected-error @+1 {{the plan trains (mode = "train"); the MPI path runs inference plans only}}
module attributes {chipmesh.plan = {dp = 1 : i64, func = "forward", layout = "blocked", mesh = @one, micro_batch = 1 : i64, mode = "train", pp = 1 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0>], layers = array<i64: 0, 1>, shares = [array<f64: 1.0>]}], step_time_s = 1.0 : f64, tp = 1 : i64}} {
  topo.mesh @one {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.chips @h100 x 1
  }
  func.func @forward(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
    return %x : tensor<1x2xf32>
  }
}

// -----

// expected-error @+1 {{has no per-device step functions; run --chipmesh-materialize first}}
module attributes {chipmesh.plan = {dp = 1 : i64, func = "forward", layout = "blocked", mesh = @one, micro_batch = 1 : i64, mode = "infer", pp = 1 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0>], layers = array<i64: 0, 1>, shares = [array<f64: 1.0>]}], step_time_s = 1.0 : f64, tp = 1 : i64}} {
  topo.mesh @one {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.chips @h100 x 1
  }
  func.func @forward(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
    return %x : tensor<1x2xf32>
  }
}

// -----

// expected-error @+1 {{already has a @main; the MPI program needs that name}}
module attributes {chipmesh.plan = {dp = 1 : i64, func = "forward", layout = "blocked", mesh = @one, micro_batch = 1 : i64, mode = "infer", pp = 1 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0>], layers = array<i64: 0, 1>, shares = [array<f64: 1.0>]}], step_time_s = 1.0 : f64, tp = 1 : i64}} {
  topo.mesh @one {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.chips @h100 x 1
  }
  func.func @forward(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
    return %x : tensor<1x2xf32>
  }
  func.func @main() {
    return
  }
}

// -----

// A step function for device 1 but none for device 0: rank 0 would have
// nothing to run.
// expected-error @+1 {{has no step function for device 0; MPI rank i runs device i, so devices must be 0..0}}
module attributes {chipmesh.plan = {dp = 1 : i64, func = "forward", layout = "blocked", mesh = @two, micro_batch = 1 : i64, mode = "infer", pp = 1 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 1>], layers = array<i64: 0, 1>, shares = [array<f64: 1.0>]}], step_time_s = 1.0 : f64, tp = 1 : i64}} {
  topo.mesh @two {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
  }
  func.func @forward(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
    return %x : tensor<1x2xf32>
  }
  func.func @forward_dev1(%x: tensor<1x2xf32> {comm.input = 0 : i64}) -> tensor<1x2xf32> attributes {comm.device = #comm.device<@two, 1>, comm.stage = 0 : i64} {
    return %x : tensor<1x2xf32>
  }
}

// -----

// Ops without a lowering, and other element types, are located errors.
module attributes {chipmesh.plan = {dp = 1 : i64, func = "forward", layout = "blocked", mesh = @one, micro_batch = 1 : i64, mode = "infer", pp = 1 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0>], layers = array<i64: 0, 1>, shares = [array<f64: 1.0>]}], step_time_s = 1.0 : f64, tp = 1 : i64}} {
  topo.mesh @one {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.chips @h100 x 1
  }
  func.func @forward(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
    return %x : tensor<1x2xf32>
  }
  func.func @forward_dev0(%x: tensor<1x2xf32> {comm.input = 0 : i64}) -> tensor<1x2xf32> attributes {comm.device = #comm.device<@one, 0>, comm.stage = 0 : i64} {
    // expected-error @+1 {{'graph.softmax' has no lowering on the MPI path}}
    %y = graph.softmax %x {axis = 1 : i64} : tensor<1x2xf32>
    return %y : tensor<1x2xf32>
  }
}

// -----

module attributes {chipmesh.plan = {dp = 1 : i64, func = "forward", layout = "blocked", mesh = @one, micro_batch = 1 : i64, mode = "infer", pp = 1 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0>], layers = array<i64: 0, 1>, shares = [array<f64: 1.0>]}], step_time_s = 1.0 : f64, tp = 1 : i64}} {
  topo.mesh @one {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.chips @h100 x 1
  }
  func.func @forward(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
    return %x : tensor<1x2xf32>
  }
  // expected-error @+1 {{takes 'tensor<1x2xbf16>': the MPI path generates f32 inputs only}}
  func.func @forward_dev0(%x: tensor<1x2xbf16> {comm.input = 0 : i64}) -> tensor<1x2xbf16> attributes {comm.device = #comm.device<@one, 0>, comm.stage = 0 : i64} {
    return %x : tensor<1x2xbf16>
  }
}
