// Malformed and hostile inputs: each gets its exact diagnostic, located,
// and never a crash.
// RUN: chipmesh-opt %s -split-input-file -verify-diagnostics -o /dev/null

// Shape mismatch.
func.func @f(%x: tensor<4x8xf32>) -> tensor<4x16xf32> {
  %w = graph.param "w" : tensor<9x16xf32>
  // expected-error@+1 {{'graph.linear' op input tensor<4x8xf32> has K=8 but weight tensor<9x16xf32> expects K=9}}
  %y = graph.linear %x, %w : tensor<4x8xf32>, tensor<9x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// Zero sizes.
func.func @f(%x: tensor<0x8xf32>) -> tensor<0x8xf32> {
  // expected-error@+1 {{'graph.relu' op has an empty dimension in 'tensor<0x8xf32>'; a model tensor needs at least one element along each}}
  %y = graph.relu %x : tensor<0x8xf32>
  return %y : tensor<0x8xf32>
}

// -----

// An empty slice.
func.func @f(%i: tensor<4xi64>) -> tensor<0xi64> {
  // expected-error@+1 {{'graph.slice' op has an empty dimension in 'tensor<0xi64>'}}
  %s = graph.slice %i {offsets = array<i64: 4>, sizes = array<i64: 0>} : tensor<4xi64>
  return %s : tensor<0xi64>
}

// -----

// Dimensions whose product overflows 64 bits.
func.func @f(%x: tensor<4294967296x4294967296x2xf32>) -> tensor<4294967296x4294967296x2xf32> {
  // expected-error@+1 {{'graph.relu' op tensor 'tensor<4294967296x4294967296x2xf32>' has more than 2^63 - 1 elements; no machine holds it}}
  %y = graph.relu %x : tensor<4294967296x4294967296x2xf32>
  return %y : tensor<4294967296x4294967296x2xf32>
}

// -----

// Dynamic shapes cannot be costed.
func.func @f(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  // expected-error@+1 {{'graph.relu' op operand #0 must be statically shaped tensor of floating-point values, but got 'tensor<?x4xf32>'}}
  %y = graph.relu %x : tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

// A cycle.
func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error@+1 {{operand #1 does not dominate this use}}
  %a = graph.add %x, %b : tensor<2xf32>, tensor<2xf32>
  // expected-note@+1 {{operand defined here (op in the same block)}}
  %b = graph.add %x, %a : tensor<2xf32>, tensor<2xf32>
  return %b : tensor<2xf32>
}

// -----

// A reshape that invents elements.
func.func @f(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error@+1 {{'graph.reshape' op changes the number of elements: 'tensor<2x4xf32>' has 8, 'tensor<3x4xf32>' has 12}}
  %y = graph.reshape %x : tensor<2x4xf32> -> tensor<3x4xf32>
  return %x : tensor<2x4xf32>
}

// -----

// A layer that never runs.
func.func @f(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error@+1 {{'graph.layer' op repeat must be at least 1, got 0}}
  %h = graph.layer "l" repeat 0 (%x) : (tensor<2x4xf32>) -> tensor<2x4xf32> {
  ^bb0(%in: tensor<2x4xf32>):
    graph.yield %in : tensor<2x4xf32>
  }
  return %h : tensor<2x4xf32>
}

// -----

// An unknown chip kind.
topo.mesh @m {
  // expected-error@+1 {{'topo.chip_kind' op unknown catalog chip 'h1000'; known chips: h100-sxm,}}
  topo.chip_kind @x catalog "h1000"
  topo.chips @x x 2
}

// -----

// Chips that cannot reach each other.
topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  topo.link_kind @l catalog "nvlink4"
  topo.group "a" switched via @l { topo.chips @x x 2 }
  // expected-error@+1 {{'topo.chips' op chip 'b/x[0]' (index 2) has no path to chip 'a/x[0]' (index 0); join them with a group interconnect or a 'topo.link'}}
  topo.group "b" switched via @l { topo.chips @x x 2 }
}

// -----

// A negative peak.
topo.mesh @m {
  // expected-error@+1 {{'topo.chip_kind' op 'bf16_flop_per_s' must be a positive finite number, got -1.000000e+00}}
  topo.chip_kind @x {bf16_flop_per_s = -1.0, memory_bytes = 1.0e9, memory_bytes_per_s = 1.0e9}
  topo.chips @x x 1
}

// -----

// Two million chips.
// expected-error@+1 {{'topo.mesh' op expands to more than 1048576 chips; split it into several meshes}}
topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  topo.chips @x x 2000000
}
