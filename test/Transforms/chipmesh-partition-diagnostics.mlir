// RUN: chipmesh-opt %s -split-input-file --chipmesh-partition -verify-diagnostics -o /dev/null

// expected-error@+1 {{no topo.mesh in the module; choose one with mesh=@name or mesh=<file.mlir>}}
module {
  func.func @forward(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
    %y = graph.relu %x : tensor<2x8xf32>
    return %y : tensor<2x8xf32>
  }
}

// -----

// expected-error@+1 {{several topo.mesh in the module; choose one with mesh=@name or mesh=<file.mlir>}}
module {
  topo.mesh @a {
    topo.chip_kind @x catalog "h100-sxm"
    topo.chips @x x 1
  }
  topo.mesh @b {
    topo.chip_kind @x catalog "h100-sxm"
    topo.chips @x x 1
  }
  func.func @forward(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
    %y = graph.relu %x : tensor<2x8xf32>
    return %y : tensor<2x8xf32>
  }
}

// -----

// 2^34 BF16 parameters train with 256 GiB of state; two 32 GB V100s hold 62.
// expected-error@+1 {{cannot partition @forward over @small: no plan fits in memory: the model's weights, gradients and optimizer states alone take 256.0 GiB but the 2 chips hold 62.0 GiB usable (short by 194.0 GiB); at least 9 chips of kind 'v' would hold it}}
module {
  topo.mesh @small {
    topo.chip_kind @v catalog "v100-sxm2-32gb"
    topo.link_kind @nv catalog "nvlink2"
    topo.group "node" switched via @nv { topo.chips @v x 2 }
  }
  func.func @forward(%x: tensor<1x131072xbf16>) -> tensor<1x131072xbf16> {
    %w = graph.param "w" : tensor<131072x131072xbf16>
    %y = graph.linear %x, %w : tensor<1x131072xbf16>, tensor<131072x131072xbf16>
    return %y : tensor<1x131072xbf16>
  }
}

// -----

// The state fits in aggregate but the activations of even one micro-batch
// do not, with tensor parallelism the only way to share them.
// expected-error@+1 {{cannot partition @forward over @pair: no plan fits in memory: the model's 0.0 GiB of state fit the mesh's 62.0 GiB in aggregate, but with activations of micro-batch 1 no split of 3 layers over the allowed strategies keeps every chip under its capacity; try recompute=full or zero=auto (sharding the training state over data-parallel replicas)}}
module {
  topo.mesh @pair {
    topo.chip_kind @v catalog "v100-sxm2-32gb"
    topo.link_kind @nv catalog "nvlink2"
    topo.group "node" switched via @nv { topo.chips @v x 2 }
  }
  func.func @forward(%x: tensor<1x65536x65536xf32>) -> tensor<1x65536x65536xf32> {
    %a = graph.gelu %x : tensor<1x65536x65536xf32>
    %b = graph.gelu %a : tensor<1x65536x65536xf32>
    %c = graph.gelu %b : tensor<1x65536x65536xf32>
    return %c : tensor<1x65536x65536xf32>
  }
}
