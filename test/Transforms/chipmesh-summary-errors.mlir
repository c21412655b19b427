// RUN: chipmesh-opt %s -split-input-file --chipmesh-summary -verify-diagnostics -o /dev/null

// expected-error@+1 {{no function holds graph ops; import a model first (chipmesh-translate --import-hf-config)}}
module {
  func.func @empty() {
    return
  }
}

// -----

// expected-error@+1 {{2 functions hold graph ops; choose one with func=<name>: @a @b}}
module {
  func.func @a(%x: tensor<2xf32>) -> tensor<2xf32> {
    %y = graph.relu %x : tensor<2xf32>
    return %y : tensor<2xf32>
  }
  func.func @b(%x: tensor<2xf32>) -> tensor<2xf32> {
    %y = graph.relu %x : tensor<2xf32>
    return %y : tensor<2xf32>
  }
}
