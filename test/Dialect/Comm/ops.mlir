// RUN: chipmesh-opt %s -split-input-file | FileCheck %s
// RUN: chipmesh-opt %s -split-input-file | chipmesh-opt -split-input-file | FileCheck %s

// Every comm op round-trips, with uneven shards (3:1) between a fast and a
// slow chip.

topo.mesh @pair {
  topo.chip_kind @fast catalog "h100-sxm"
  topo.chip_kind @slow catalog "a100-sxm-80gb"
  topo.link_kind @nvl catalog "nvlink4"
  topo.group "node" switched via @nvl {
    topo.chips @fast x 1
    topo.chips @slow x 3
  }
}

// CHECK-LABEL: func.func @fast
// CHECK-SAME: attributes {comm.device = #comm.device<@pair, 0>}
// CHECK: comm.send %{{.*}} to 1 tag 7 : tensor<2x8xf32>
// CHECK: comm.recv from 1 tag 8 : tensor<2x8xf32>
// CHECK: comm.all_reduce sum %{{.*}} over [0, 1] : tensor<2x8xf32>
// CHECK: comm.all_reduce max %{{.*}} over [0, 1] : tensor<2x8xf32>
// CHECK: comm.all_gather %{{.*}} over [0, 1] dim 1 sizes [6, 2] : tensor<2x6xf32> -> tensor<2x8xf32>
// CHECK: comm.reduce_scatter sum %{{.*}} over [0, 1] dim 1 sizes [6, 2] : tensor<2x8xf32> -> tensor<2x6xf32>
// CHECK: comm.all_to_all %{{.*}} over [0, 1] split_dim 1 [6, 2] concat_dim 0 [2, 4] : tensor<2x8xf32> -> tensor<6x6xf32>
// CHECK: comm.broadcast %{{.*}} from 1 over [0, 1, 2, 3] : tensor<2x8xf32>
func.func @fast(%x: tensor<2x8xf32>, %s: tensor<2x6xf32>) -> tensor<2x6xf32>
    attributes {comm.device = #comm.device<@pair, 0>} {
  comm.send %x to 1 tag 7 : tensor<2x8xf32>
  %r = comm.recv from 1 tag 8 : tensor<2x8xf32>
  %a = comm.all_reduce sum %r over [0, 1] : tensor<2x8xf32>
  %m = comm.all_reduce max %a over [0, 1] : tensor<2x8xf32>
  %g = comm.all_gather %s over [0, 1] dim 1 sizes [6, 2] : tensor<2x6xf32> -> tensor<2x8xf32>
  %rs = comm.reduce_scatter sum %g over [0, 1] dim 1 sizes [6, 2] : tensor<2x8xf32> -> tensor<2x6xf32>
  %t = comm.all_to_all %m over [0, 1] split_dim 1 [6, 2] concat_dim 0 [2, 4] : tensor<2x8xf32> -> tensor<6x6xf32>
  %b = comm.broadcast %x from 1 over [0, 1, 2, 3] : tensor<2x8xf32>
  return %rs : tensor<2x6xf32>
}

// The slow chip's side of the same exchanges: its shard is 2 wide.
// CHECK-LABEL: func.func @slow
// CHECK: comm.all_gather %{{.*}} over [0, 1] dim 1 sizes [6, 2] : tensor<2x2xf32> -> tensor<2x8xf32>
// CHECK: comm.all_to_all %{{.*}} over [0, 1] split_dim 1 [6, 2] concat_dim 0 [2, 4] : tensor<4x8xf32> -> tensor<6x2xf32>
func.func @slow(%s: tensor<2x2xf32>, %y: tensor<4x8xf32>) attributes {comm.device = #comm.device<@pair, 1>} {
  %g = comm.all_gather %s over [0, 1] dim 1 sizes [6, 2] : tensor<2x2xf32> -> tensor<2x8xf32>
  %t = comm.all_to_all %y over [0, 1] split_dim 1 [6, 2] concat_dim 0 [2, 4] : tensor<4x8xf32> -> tensor<6x2xf32>
  return
}
