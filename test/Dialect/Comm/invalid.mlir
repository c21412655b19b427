// RUN: chipmesh-opt %s -split-input-file -verify-diagnostics --allow-unregistered-dialect

topo.mesh @pair {
  topo.chip_kind @h100 catalog "h100-sxm"
  topo.link_kind @nvl catalog "nvlink4"
  topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
}
func.func @self(%x: tensor<4xf32>) attributes {comm.device = #comm.device<@pair, 0>} {
  // expected-error @+1 {{device 0 cannot talk to itself}}
  comm.send %x to 0 tag 1 : tensor<4xf32>
  return
}

// -----

func.func @no_device(%x: tensor<4xf32>) {
  // expected-error @+1 {{must be inside a function with a 'comm.device' attribute}}
  comm.send %x to 1 tag 1 : tensor<4xf32>
  return
}

// -----

topo.mesh @pair {
  topo.chip_kind @h100 catalog "h100-sxm"
  topo.link_kind @nvl catalog "nvlink4"
  topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
}
// expected-error @+1 {{device 2 is not in @pair (chips 0..1)}}
func.func @outside() attributes {comm.device = #comm.device<@pair, 2>} {
  return
}

// -----

topo.mesh @pair {
  topo.chip_kind @h100 catalog "h100-sxm"
  topo.link_kind @nvl catalog "nvlink4"
  topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
}
func.func @peer_outside() attributes {comm.device = #comm.device<@pair, 0>} {
  // expected-error @+1 {{names device 5, which is not in @pair (chips 0..1)}}
  %r = comm.recv from 5 tag 1 : tensor<4xf32>
  return
}

// -----

// expected-error @+1 {{device mesh @nowhere is not a topo.mesh in this module}}
func.func @no_mesh() attributes {comm.device = #comm.device<@nowhere, 0>} {
  return
}

// -----

// expected-error @+1 {{'comm.device' must be a #comm.device attribute}}
func.func @wrong_attr() attributes {comm.device = 3 : i64} {
  return
}

// -----

topo.mesh @quad {
  topo.chip_kind @h100 catalog "h100-sxm"
  topo.link_kind @nvl catalog "nvlink4"
  topo.group "node" switched via @nvl { topo.chips @h100 x 4 }
}
func.func @not_member(%x: tensor<4xf32>) attributes {comm.device = #comm.device<@quad, 0>} {
  // expected-error @+1 {{runs on device 0, which is not in its group}}
  %r = comm.all_reduce sum %x over [1, 2] : tensor<4xf32>
  return
}

// -----

topo.mesh @quad {
  topo.chip_kind @h100 catalog "h100-sxm"
  topo.link_kind @nvl catalog "nvlink4"
  topo.group "node" switched via @nvl { topo.chips @h100 x 4 }
}
func.func @twice(%x: tensor<4xf32>) attributes {comm.device = #comm.device<@quad, 0>} {
  // expected-error @+1 {{lists device 1 twice in its group}}
  %r = comm.all_reduce sum %x over [0, 1, 1] : tensor<4xf32>
  return
}

// -----

topo.mesh @quad {
  topo.chip_kind @h100 catalog "h100-sxm"
  topo.link_kind @nvl catalog "nvlink4"
  topo.group "node" switched via @nvl { topo.chips @h100 x 4 }
}
func.func @empty_group(%x: tensor<4xf32>) attributes {comm.device = #comm.device<@quad, 0>} {
  // expected-error @+1 {{needs a non-empty group}}
  %r = comm.all_reduce sum %x over [] : tensor<4xf32>
  return
}

// -----

topo.mesh @quad {
  topo.chip_kind @h100 catalog "h100-sxm"
  topo.link_kind @nvl catalog "nvlink4"
  topo.group "node" switched via @nvl { topo.chips @h100 x 4 }
}
func.func @gather_shape(%x: tensor<2x2xf32>) attributes {comm.device = #comm.device<@quad, 0>} {
  // expected-error @+1 {{shapes disagree with sizes along dimension 1: this device (rank 0) holds 2 of 8, expected 6 of 8}}
  %g = comm.all_gather %x over [0, 1] dim 1 sizes [6, 2] : tensor<2x2xf32> -> tensor<2x8xf32>
  return
}

// -----

topo.mesh @quad {
  topo.chip_kind @h100 catalog "h100-sxm"
  topo.link_kind @nvl catalog "nvlink4"
  topo.group "node" switched via @nvl { topo.chips @h100 x 4 }
}
func.func @gather_count(%x: tensor<2x6xf32>) attributes {comm.device = #comm.device<@quad, 0>} {
  // expected-error @+1 {{has 3 sizes for a group of 2}}
  %g = comm.all_gather %x over [0, 1] dim 1 sizes [6, 1, 1] : tensor<2x6xf32> -> tensor<2x8xf32>
  return
}

// -----

topo.mesh @quad {
  topo.chip_kind @h100 catalog "h100-sxm"
  topo.link_kind @nvl catalog "nvlink4"
  topo.group "node" switched via @nvl { topo.chips @h100 x 4 }
}
func.func @gather_dim(%x: tensor<2x6xf32>) attributes {comm.device = #comm.device<@quad, 0>} {
  // expected-error @+1 {{dimension 2 is out of range for rank 2}}
  %g = comm.all_gather %x over [0, 1] dim 2 sizes [6, 2] : tensor<2x6xf32> -> tensor<2x8xf32>
  return
}

// -----

topo.mesh @quad {
  topo.chip_kind @h100 catalog "h100-sxm"
  topo.link_kind @nvl catalog "nvlink4"
  topo.group "node" switched via @nvl { topo.chips @h100 x 4 }
}
func.func @gather_zero(%x: tensor<2x6xf32>) attributes {comm.device = #comm.device<@quad, 0>} {
  // expected-error @+1 {{sizes must be positive, got 0}}
  %g = comm.all_gather %x over [0, 1] dim 1 sizes [6, 0] : tensor<2x6xf32> -> tensor<2x6xf32>
  return
}

// -----

topo.mesh @quad {
  topo.chip_kind @h100 catalog "h100-sxm"
  topo.link_kind @nvl catalog "nvlink4"
  topo.group "node" switched via @nvl { topo.chips @h100 x 4 }
}
func.func @scatter_shape(%x: tensor<2x8xf32>) attributes {comm.device = #comm.device<@quad, 1>} {
  // expected-error @+1 {{this device (rank 1) holds 6 of 8, expected 2 of 8}}
  %g = comm.reduce_scatter sum %x over [0, 1] dim 1 sizes [6, 2] : tensor<2x8xf32> -> tensor<2x6xf32>
  return
}

// -----

topo.mesh @quad {
  topo.chip_kind @h100 catalog "h100-sxm"
  topo.link_kind @nvl catalog "nvlink4"
  topo.group "node" switched via @nvl { topo.chips @h100 x 4 }
}
func.func @a2a_same_dim(%x: tensor<8x8xf32>) attributes {comm.device = #comm.device<@quad, 0>} {
  // expected-error @+1 {{split_dim and concat_dim must differ}}
  %t = comm.all_to_all %x over [0, 1] split_dim 1 [4, 4] concat_dim 1 [4, 4] : tensor<8x8xf32> -> tensor<8x8xf32>
  return
}

// -----

topo.mesh @quad {
  topo.chip_kind @h100 catalog "h100-sxm"
  topo.link_kind @nvl catalog "nvlink4"
  topo.group "node" switched via @nvl { topo.chips @h100 x 4 }
}
func.func @a2a_shape(%x: tensor<4x8xf32>) attributes {comm.device = #comm.device<@quad, 0>} {
  // expected-error @+1 {{shapes disagree with the sizes along dimension 0: expected input 2 and result 6 on rank 0}}
  %t = comm.all_to_all %x over [0, 1] split_dim 1 [6, 2] concat_dim 0 [2, 4] : tensor<4x8xf32> -> tensor<6x6xf32>
  return
}

// -----

topo.mesh @quad {
  topo.chip_kind @h100 catalog "h100-sxm"
  topo.link_kind @nvl catalog "nvlink4"
  topo.group "node" switched via @nvl { topo.chips @h100 x 4 }
}
func.func @root(%x: tensor<4xf32>) attributes {comm.device = #comm.device<@quad, 0>} {
  // expected-error @+1 {{root 3 is not in its group}}
  %b = comm.broadcast %x from 3 over [0, 1] : tensor<4xf32>
  return
}

// -----

topo.mesh @quad {
  topo.chip_kind @h100 catalog "h100-sxm"
  topo.link_kind @nvl catalog "nvlink4"
  topo.group "node" switched via @nvl { topo.chips @h100 x 4 }
}
func.func @types(%x: tensor<4xf32>) attributes {comm.device = #comm.device<@quad, 0>} {
  // expected-error @+1 {{all of {input, result} have same type}}
  %r = "comm.all_reduce"(%x) {kind = #comm<reduction sum>, group = array<i64: 0, 1>} : (tensor<4xf32>) -> tensor<4xf16>
  return
}

// -----

topo.mesh @pair {
  topo.chip_kind @h100 catalog "h100-sxm"
  topo.link_kind @nvl catalog "nvlink4"
  topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
}
// expected-error @+1 {{'comm.device' belongs on a function}}
"test.op"() {comm.device = #comm.device<@pair, 0>} : () -> ()

// -----

// expected-error @+1 {{unknown comm attribute 'comm.colour'}}
func.func @unknown() attributes {comm.colour = 1 : i64} {
  return
}

// -----

// expected-error @+1 {{'comm.stage' must be a non-negative integer}}
func.func @negative_stage() attributes {comm.stage = -1 : i64} {
  return
}

// -----

func.func @bad_shard() {
  // expected-error @+1 {{'comm.shard' must be array<i64: dim, offset, whole extent>}}
  %w = graph.param "w" {comm.shard = array<i64: 0, 4>} : tensor<8xf32>
  return
}

// -----

func.func @bad_replicated(%x: tensor<8xf32>) {
  // expected-error @+1 {{'comm.replicated' is a unit attribute}}
  %y = graph.relu %x {comm.replicated = 1 : i64} : tensor<8xf32>
  return
}
