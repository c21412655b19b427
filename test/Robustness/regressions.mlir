// Inputs that once crashed a pass; each must now end in a diagnostic.
// RUN: chipmesh-opt %s -split-input-file --chipmesh-partition --chipmesh-estimate -verify-diagnostics -o /dev/null

// A model traced with an empty batch segfaulted --chipmesh-partition (no
// micro-batch size to try). Empty tensors are now rejected by the graph
// verifier, and the partitioner refuses a global batch of 0 by itself.
topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  topo.link_kind @l catalog "nvlink4"
  topo.group "a" switched via @l { topo.chips @x x 2 }
}
func.func @f(%x: tensor<0x8xf32>) -> tensor<0x8xf32> {
  %w = graph.param "w" : tensor<8x8xf32>
  // expected-error@+1 {{'graph.linear' op has an empty dimension in 'tensor<0x8xf32>'}}
  %y = graph.linear %x, %w : tensor<0x8xf32>, tensor<8x8xf32>
  return %y : tensor<0x8xf32>
}
