// RUN: chipmesh-opt %s -split-input-file --chipmesh-estimate="mesh=@big micro-batch=2" -verify-diagnostics -o /dev/null

// The module's meshes are listed when the one asked for is missing.
// expected-error@+1 {{unknown mesh '@big'; the module holds @small, @other}}
module {
  topo.mesh @small {
    topo.chip_kind @x catalog "h100-sxm"
    topo.chips @x x 1
  }
  topo.mesh @other {
    topo.chip_kind @x catalog "h100-sxm"
    topo.chips @x x 1
  }
  func.func @forward(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
    %y = graph.relu %x : tensor<2x8xf32>
    return %y : tensor<2x8xf32>
  }
}

// -----

// A micro-batch needs a batch dimension to resize.
module {
  topo.mesh @big {
    topo.chip_kind @x catalog "h100-sxm"
    topo.chips @x x 1
  }
  // expected-error@+1 {{cannot resize to a micro-batch of 2.00: @forward has no tensor argument whose leading dimension is the batch}}
  func.func @forward() -> tensor<8xf32> {
    %w = graph.param "w" : tensor<8xf32>
    %y = graph.relu %w : tensor<8xf32>
    return %y : tensor<8xf32>
  }
}

// -----

// No model to estimate.
// expected-error@+1 {{no function holds graph ops}}
module {
  topo.mesh @big {
    topo.chip_kind @x catalog "h100-sxm"
    topo.chips @x x 1
  }
}
