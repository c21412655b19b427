// RUN: chipmesh-opt %s --chipmesh-summary=func=b -o /dev/null | FileCheck %s
// RUN: chipmesh-opt %s --chipmesh-summary=func=nope -verify-diagnostics -o /dev/null

// `func` picks the model when several functions hold graph ops.
// CHECK: "forward_flops": 4,
// CHECK-NEXT: "func": "b",

// expected-error@+1 {{no function named 'nope'}}
module {
  func.func @a(%x: tensor<2xf32>) -> tensor<2xf32> {
    %y = graph.relu %x : tensor<2xf32>
    return %y : tensor<2xf32>
  }
  func.func @b(%x: tensor<4xf32>) -> tensor<4xf32> {
    %y = graph.relu %x : tensor<4xf32>
    return %y : tensor<4xf32>
  }
}
