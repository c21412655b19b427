// RUN: chipmesh-opt %s -split-input-file -verify-diagnostics

func.func @f(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{names @missing, which is not a function with a body}}
  %dx = graph.backward @missing(%x, %x) {num_inputs = 1 : i64} : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func private @stage(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  return %x : tensor<2x8xf32>
}
func.func @f(%x: tensor<2x4xf32>, %dy: tensor<2x8xf32>) {
  // expected-error @+1 {{inputs do not match the arguments of @stage}}
  %dx = graph.backward @stage(%x, %dy) {num_inputs = 1 : i64} : (tensor<2x4xf32>, tensor<2x8xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func private @stage(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  return %x : tensor<2x8xf32>
}
func.func @f(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{needs one cotangent per result of @stage}}
  %dx = graph.backward @stage(%x) {num_inputs = 1 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func private @stage(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  return %x : tensor<2x8xf32>
}
func.func @f(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{returns 0 gradients; @stage has 1 floating-point arguments}}
  graph.backward @stage(%x, %x) {num_inputs = 1 : i64} : (tensor<2x8xf32>, tensor<2x8xf32>) -> ()
  return
}

// -----

func.func @f(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{num_inputs is 3 but it has 1 operands}}
  graph.backward @stage(%x) {num_inputs = 3 : i64} : (tensor<2x8xf32>) -> ()
  return
}

// -----

func.func private @stage(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  return %x : tensor<2x8xf32>
}
func.func @f(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{recompute must be none, selective or full, got 'some'}}
  %dx = graph.backward @stage(%x, %x) {num_inputs = 1 : i64, recompute = "some"} : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func private @stage(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %w = graph.param "w" : tensor<8x8xf32>
  %y = graph.linear %x, %w : tensor<2x8xf32>, tensor<8x8xf32>
  return %y : tensor<2x8xf32>
}
func.func @f() {
  // expected-error @+1 {{has 63 gradient entries; @stage has 64 parameter elements}}
  %g = graph.gradients @stage : tensor<63xf32>
  return
}

// -----

func.func private @stage(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %w = graph.param "w" : tensor<8x8xf32>
  %y = graph.linear %x, %w : tensor<2x8xf32>, tensor<8x8xf32>
  return %y : tensor<2x8xf32>
}
func.func @f() {
  // expected-error @+1 {{names parameter "v", which is not a top-level parameter of @stage}}
  %g = graph.gradients @stage {params = ["v"]} : tensor<64xf32>
  return
}

// -----

func.func private @stage(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %w = graph.param "w" : tensor<8x8xf32>
  %y = graph.linear %x, %w : tensor<2x8xf32>, tensor<8x8xf32>
  return %y : tensor<2x8xf32>
}
func.func @f(%g: tensor<60xf32>) {
  // expected-error @+1 {{has 60 gradient entries; @stage has 64 parameter elements}}
  graph.optimizer_step @stage, %g : tensor<60xf32>
  return
}

// -----

func.func @f(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{num_inputs is -1 but it has 1 operands}}
  graph.backward @stage(%x) {num_inputs = -1 : i64} : (tensor<2x8xf32>) -> ()
  return
}
