// RUN: chipmesh-opt %s -split-input-file --chipmesh-materialize -verify-diagnostics

// Materialization refuses what it cannot turn into programs, with a
// located message, and writes nothing.

// expected-error @+1 {{the module has no 'chipmesh.plan' dictionary; run --chipmesh-partition first}}
module {
  topo.mesh @duo {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
  }
  func.func @f(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
    %w = graph.param "a" : tensor<4x4xf32>
    %y = graph.linear %x, %w {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    %v = graph.param "b" : tensor<4x4xf32>
    %z = graph.linear %y, %v {chipmesh.placement = {stages = array<i64: 1>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
}

// -----

module attributes {chipmesh.plan = {dp = 1 : i64, func = "f", layout = "blocked", mesh = @duo, micro_batch = 2 : i64, mode = "infer", pp = 2 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0>], layers = array<i64: 0, 1>, shares = [array<f64: 1.0>]}, {devices = [array<i64: 1>], layers = array<i64: 1, 2>, shares = [array<f64: 1.0>]}], step_time_s = 1.0 : f64, tp = 1 : i64}} {
  topo.mesh @duo {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
  }
  func.func @f(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
    %w = graph.param "a" : tensor<4x4xf32>
    %y = graph.linear %x, %w {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    %v = graph.param "b" : tensor<4x4xf32>
    // expected-error @+1 {{has no 'chipmesh.placement'; run --chipmesh-partition on this module first}}
    %z = graph.linear %y, %v  : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
}

// -----

// expected-error @+1 {{chipmesh.plan: 'replica_micro_batches' must list one count per replica (dp)}}
module attributes {chipmesh.plan = {dp = 1 : i64, func = "f", layout = "blocked", mesh = @duo, micro_batch = 2 : i64, mode = "infer", pp = 2 : i64, replica_micro_batches = array<i64: 1, 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0>], layers = array<i64: 0, 1>, shares = [array<f64: 1.0>]}, {devices = [array<i64: 1>], layers = array<i64: 1, 2>, shares = [array<f64: 1.0>]}], step_time_s = 1.0 : f64, tp = 1 : i64}} {
  topo.mesh @duo {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
  }
  func.func @f(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
    %w = graph.param "a" : tensor<4x4xf32>
    %y = graph.linear %x, %w {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    %v = graph.param "b" : tensor<4x4xf32>
    %z = graph.linear %y, %v {chipmesh.placement = {stages = array<i64: 1>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
}

// -----

// expected-error @+1 {{chipmesh.plan: 'stages[1]' names device 5, which is not in the mesh}}
module attributes {chipmesh.plan = {dp = 1 : i64, func = "f", layout = "blocked", mesh = @duo, micro_batch = 2 : i64, mode = "infer", pp = 2 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0>], layers = array<i64: 0, 1>, shares = [array<f64: 1.0>]}, {devices = [array<i64: 5>], layers = array<i64: 1, 2>, shares = [array<f64: 1.0>]}], step_time_s = 1.0 : f64, tp = 1 : i64}} {
  topo.mesh @duo {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
  }
  func.func @f(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
    %w = graph.param "a" : tensor<4x4xf32>
    %y = graph.linear %x, %w {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    %v = graph.param "b" : tensor<4x4xf32>
    %z = graph.linear %y, %v {chipmesh.placement = {stages = array<i64: 1>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
}

// -----

// expected-error @+1 {{chipmesh.plan: 'stages[1]' places device 0 a second time}}
module attributes {chipmesh.plan = {dp = 1 : i64, func = "f", layout = "blocked", mesh = @duo, micro_batch = 2 : i64, mode = "infer", pp = 2 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0>], layers = array<i64: 0, 1>, shares = [array<f64: 1.0>]}, {devices = [array<i64: 0>], layers = array<i64: 1, 2>, shares = [array<f64: 1.0>]}], step_time_s = 1.0 : f64, tp = 1 : i64}} {
  topo.mesh @duo {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
  }
  func.func @f(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
    %w = graph.param "a" : tensor<4x4xf32>
    %y = graph.linear %x, %w {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    %v = graph.param "b" : tensor<4x4xf32>
    %z = graph.linear %y, %v {chipmesh.placement = {stages = array<i64: 1>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
}

// -----

// expected-error @+1 {{chipmesh.plan: 'stages[1]' layers must continue the previous stage and be non-empty}}
module attributes {chipmesh.plan = {dp = 1 : i64, func = "f", layout = "blocked", mesh = @duo, micro_batch = 2 : i64, mode = "infer", pp = 2 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0>], layers = array<i64: 0, 1>, shares = [array<f64: 1.0>]}, {devices = [array<i64: 1>], layers = array<i64: 2, 3>, shares = [array<f64: 1.0>]}], step_time_s = 1.0 : f64, tp = 1 : i64}} {
  topo.mesh @duo {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
  }
  func.func @f(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
    %w = graph.param "a" : tensor<4x4xf32>
    %y = graph.linear %x, %w {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    %v = graph.param "b" : tensor<4x4xf32>
    %z = graph.linear %y, %v {chipmesh.placement = {stages = array<i64: 1>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
}

// -----

// expected-error @+1 {{chipmesh.plan names mesh @nowhere, which is not a topo.mesh in this module}}
module attributes {chipmesh.plan = {dp = 1 : i64, func = "f", layout = "blocked", mesh = @nowhere, micro_batch = 2 : i64, mode = "infer", pp = 2 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0>], layers = array<i64: 0, 1>, shares = [array<f64: 1.0>]}, {devices = [array<i64: 1>], layers = array<i64: 1, 2>, shares = [array<f64: 1.0>]}], step_time_s = 1.0 : f64, tp = 1 : i64}} {
  topo.mesh @duo {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
  }
  func.func @f(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
    %w = graph.param "a" : tensor<4x4xf32>
    %y = graph.linear %x, %w {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    %v = graph.param "b" : tensor<4x4xf32>
    %z = graph.linear %y, %v {chipmesh.placement = {stages = array<i64: 1>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
}

// -----

// expected-error @+1 {{chipmesh.plan names function @f, which is not a function with a body here}}
module attributes {chipmesh.plan = {dp = 1 : i64, func = "f", layout = "blocked", mesh = @duo, micro_batch = 2 : i64, mode = "infer", pp = 2 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0>], layers = array<i64: 0, 1>, shares = [array<f64: 1.0>]}, {devices = [array<i64: 1>], layers = array<i64: 1, 2>, shares = [array<f64: 1.0>]}], step_time_s = 1.0 : f64, tp = 1 : i64}} {
  topo.mesh @duo {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
  }
}

// -----

module attributes {chipmesh.plan = {dp = 1 : i64, func = "f", layout = "blocked", mesh = @duo, micro_batch = 2 : i64, mode = "infer", pp = 2 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0>], layers = array<i64: 0, 1>, shares = [array<f64: 1.0>]}, {devices = [array<i64: 1>], layers = array<i64: 1, 2>, shares = [array<f64: 1.0>]}], step_time_s = 1.0 : f64, tp = 1 : i64}} {
  topo.mesh @duo {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
  }
  func.func @f(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
    %w = graph.param "a" : tensor<4x4xf32>
    %y = graph.linear %x, %w {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    %v = graph.param "b" : tensor<4x4xf32>
    // expected-error @+1 {{is placed on stage 7 (x1); the plan has stages 0..1}}
    %z = graph.linear %y, %v {chipmesh.placement = {stages = array<i64: 7>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
}

// -----

module attributes {chipmesh.plan = {dp = 1 : i64, func = "f", layout = "blocked", mesh = @duo, micro_batch = 2 : i64, mode = "infer", pp = 2 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0>], layers = array<i64: 0, 1>, shares = [array<f64: 1.0>]}, {devices = [array<i64: 1>], layers = array<i64: 1, 2>, shares = [array<f64: 1.0>]}], step_time_s = 1.0 : f64, tp = 1 : i64}} {
  topo.mesh @duo {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
  }
  func.func @f(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
    %w = graph.param "a" : tensor<4x4xf32>
    %y = graph.linear %x, %w {chipmesh.placement = {stages = array<i64: 1>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    %v = graph.param "b" : tensor<4x4xf32>
    // expected-error @+1 {{is placed on stage 0 but reads a value of stage 1; placements must follow the order of the model}}
    %z = graph.linear %y, %v {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
}

// -----

module attributes {chipmesh.plan = {dp = 1 : i64, func = "f", layout = "blocked", mesh = @duo, micro_batch = 2 : i64, mode = "infer", pp = 2 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0>], layers = array<i64: 0, 1>, shares = [array<f64: 1.0>]}, {devices = [array<i64: 1>], layers = array<i64: 1, 2>, shares = [array<f64: 1.0>]}], step_time_s = 1.0 : f64, tp = 1 : i64}} {
  topo.mesh @duo {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
  }
  func.func @f(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
    %w = graph.param "a" : tensor<4x4xf32>
    %y = graph.linear %x, %w {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    %v = graph.param "b" : tensor<4x4xf32>
    // expected-error @+1 {{has a malformed 'chipmesh.placement': needs 'stages' and 'repeats' of one length}}
    %z = graph.linear %y, %v {chipmesh.placement = {stages = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
}

// -----

// expected-error @+1 {{cannot materialize: the module already has a symbol @f_dev0_stage}}
module attributes {chipmesh.plan = {dp = 1 : i64, func = "f", layout = "blocked", mesh = @duo, micro_batch = 2 : i64, mode = "infer", pp = 2 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0>], layers = array<i64: 0, 1>, shares = [array<f64: 1.0>]}, {devices = [array<i64: 1>], layers = array<i64: 1, 2>, shares = [array<f64: 1.0>]}], step_time_s = 1.0 : f64, tp = 1 : i64}} {
  topo.mesh @duo {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
  }
  func.func @f(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
    %w = graph.param "a" : tensor<4x4xf32>
    %y = graph.linear %x, %w {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    %v = graph.param "b" : tensor<4x4xf32>
    %z = graph.linear %y, %v {chipmesh.placement = {stages = array<i64: 1>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
  func.func private @f_dev0_stage()
}

// -----

module attributes {chipmesh.plan = {dp = 2 : i64, func = "f", layout = "blocked", mesh = @quad, micro_batch = 1 : i64, mode = "train", pp = 1 : i64, replica_micro_batches = array<i64: 1, 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0, 1>, array<i64: 2, 3>], layers = array<i64: 0, 2>, shares = [array<f64: 0.5, 0.5>, array<f64: 0.75, 0.25>]}], step_time_s = 1.0 : f64, tp = 2 : i64}} {
  topo.mesh @quad {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 4 }
  }
  // expected-error @+1 {{cannot materialize the gradient all-reduce of stage 0: replicas 0 and 1 split its weights differently}}
  func.func @f(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
    %w = graph.param "a" : tensor<4x4xf32>
    %y = graph.linear %x, %w {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    %v = graph.param "b" : tensor<4x4xf32>
    %z = graph.linear %y, %v {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
}

// -----

// Tensor shares that do not sum to 1.
// expected-error @+1 {{shares of a tensor group must sum to 1, got 1.800000}}
module attributes {chipmesh.plan = {dp = 1 : i64, func = "forward", layout = "blocked", mesh = @pair, micro_batch = 1 : i64, mode = "infer", pp = 1 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0, 1>], layers = array<i64: 0, 1>, shares = [array<f64: 0.9, 0.9>]}], step_time_s = 1.0 : f64, tp = 2 : i64}} {
  topo.mesh @pair {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
  }
  func.func @forward(%x: tensor<1x2xf32>) -> tensor<1x4xf32> {
    %h = graph.layer "proj" (%x) {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : (tensor<1x2xf32>) -> tensor<1x4xf32> {
    ^bb0(%in: tensor<1x2xf32>):
      %w = graph.param "w" : tensor<2x4xf32>
      %y = graph.linear %in, %w : tensor<1x2xf32>, tensor<2x4xf32>
      graph.yield %y : tensor<1x4xf32>
    }
    return %h : tensor<1x4xf32>
  }
}

// -----

// Nor to less.
// expected-error @+1 {{shares of a tensor group must sum to 1, got 0.400000}}
module attributes {chipmesh.plan = {dp = 1 : i64, func = "forward", layout = "blocked", mesh = @pair, micro_batch = 1 : i64, mode = "infer", pp = 1 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0, 1>], layers = array<i64: 0, 1>, shares = [array<f64: 0.3, 0.1>]}], step_time_s = 1.0 : f64, tp = 2 : i64}} {
  topo.mesh @pair {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
  }
  func.func @forward(%x: tensor<1x2xf32>) -> tensor<1x4xf32> {
    %h = graph.layer "proj" (%x) {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : (tensor<1x2xf32>) -> tensor<1x4xf32> {
    ^bb0(%in: tensor<1x2xf32>):
      %w = graph.param "w" : tensor<2x4xf32>
      %y = graph.linear %in, %w : tensor<1x2xf32>, tensor<2x4xf32>
      graph.yield %y : tensor<1x4xf32>
    }
    return %h : tensor<1x4xf32>
  }
}

// -----

// A tensor group wider than tp.
// expected-error @+1 {{lists a tensor group of 2 devices, but tp = 1}}
module attributes {chipmesh.plan = {dp = 1 : i64, func = "forward", layout = "blocked", mesh = @pair, micro_batch = 1 : i64, mode = "infer", pp = 1 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0, 1>], layers = array<i64: 0, 1>, shares = [array<f64: 0.75, 0.25>]}], step_time_s = 1.0 : f64, tp = 1 : i64}} {
  topo.mesh @pair {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
  }
  func.func @forward(%x: tensor<1x2xf32>) -> tensor<1x4xf32> {
    %h = graph.layer "proj" (%x) {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : (tensor<1x2xf32>) -> tensor<1x4xf32> {
    ^bb0(%in: tensor<1x2xf32>):
      %w = graph.param "w" : tensor<2x4xf32>
      %y = graph.linear %in, %w : tensor<1x2xf32>, tensor<2x4xf32>
      graph.yield %y : tensor<1x4xf32>
    }
    return %h : tensor<1x4xf32>
  }
}

// -----

// Stage ranges running past the model.
module attributes {chipmesh.plan = {dp = 1 : i64, func = "forward", layout = "blocked", mesh = @pair, micro_batch = 1 : i64, mode = "infer", pp = 1 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0, 1>], layers = array<i64: 0, 5>, shares = [array<f64: 0.75, 0.25>]}], step_time_s = 1.0 : f64, tp = 2 : i64}} {
  topo.mesh @pair {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
  }
  // expected-error @+1 {{holds 1 placed layers, but chipmesh.plan's stages cover 5}}
  func.func @forward(%x: tensor<1x2xf32>) -> tensor<1x4xf32> {
    %h = graph.layer "proj" (%x) {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : (tensor<1x2xf32>) -> tensor<1x4xf32> {
    ^bb0(%in: tensor<1x2xf32>):
      %w = graph.param "w" : tensor<2x4xf32>
      %y = graph.linear %in, %w : tensor<1x2xf32>, tensor<2x4xf32>
      graph.yield %y : tensor<1x4xf32>
    }
    return %h : tensor<1x4xf32>
  }
}

// -----

// An unknown layout.
// expected-error @+1 {{'layout' must be blocked, strided or by-kind}}
module attributes {chipmesh.plan = {dp = 1 : i64, func = "forward", layout = "zigzag", mesh = @pair, micro_batch = 1 : i64, mode = "infer", pp = 1 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0, 1>], layers = array<i64: 0, 1>, shares = [array<f64: 0.75, 0.25>]}], step_time_s = 1.0 : f64, tp = 2 : i64}} {
  topo.mesh @pair {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
  }
  func.func @forward(%x: tensor<1x2xf32>) -> tensor<1x4xf32> {
    %h = graph.layer "proj" (%x) {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : (tensor<1x2xf32>) -> tensor<1x4xf32> {
    ^bb0(%in: tensor<1x2xf32>):
      %w = graph.param "w" : tensor<2x4xf32>
      %y = graph.linear %in, %w : tensor<1x2xf32>, tensor<2x4xf32>
      graph.yield %y : tensor<1x4xf32>
    }
    return %h : tensor<1x4xf32>
  }
}

// -----

// An unknown recomputation.
// expected-error @+1 {{'recompute' must be none, selective, full or auto (per stage)}}
module attributes {chipmesh.plan = {dp = 1 : i64, func = "forward", layout = "blocked", mesh = @pair, micro_batch = 1 : i64, mode = "infer", recompute = "sometimes", pp = 1 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0, 1>], layers = array<i64: 0, 1>, shares = [array<f64: 0.75, 0.25>]}], step_time_s = 1.0 : f64, tp = 2 : i64}} {
  topo.mesh @pair {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
  }
  func.func @forward(%x: tensor<1x2xf32>) -> tensor<1x4xf32> {
    %h = graph.layer "proj" (%x) {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : (tensor<1x2xf32>) -> tensor<1x4xf32> {
    ^bb0(%in: tensor<1x2xf32>):
      %w = graph.param "w" : tensor<2x4xf32>
      %y = graph.linear %in, %w : tensor<1x2xf32>, tensor<2x4xf32>
      graph.yield %y : tensor<1x4xf32>
    }
    return %h : tensor<1x4xf32>
  }
}

// -----

// 2^62 micro-batches: bounded before any program loops over them.
// expected-error @+1 {{'replica_micro_batches' must each be in [1, 2^20]}}
module attributes {chipmesh.plan = {dp = 1 : i64, func = "forward", layout = "blocked", mesh = @pair, micro_batch = 1 : i64, mode = "infer", pp = 1 : i64, replica_micro_batches = array<i64: 4611686018427387904>, schedule = "gpipe", stages = [{devices = [array<i64: 0, 1>], layers = array<i64: 0, 1>, shares = [array<f64: 0.75, 0.25>]}], step_time_s = 1.0 : f64, tp = 2 : i64}} {
  topo.mesh @pair {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
  }
  func.func @forward(%x: tensor<1x2xf32>) -> tensor<1x4xf32> {
    %h = graph.layer "proj" (%x) {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : (tensor<1x2xf32>) -> tensor<1x4xf32> {
    ^bb0(%in: tensor<1x2xf32>):
      %w = graph.param "w" : tensor<2x4xf32>
      %y = graph.linear %in, %w : tensor<1x2xf32>, tensor<2x4xf32>
      graph.yield %y : tensor<1x4xf32>
    }
    return %h : tensor<1x4xf32>
  }
}

// -----

// Placements that contradict the ranges (and leave stage 1 without work).
module attributes {chipmesh.plan = {dp = 1 : i64, func = "f", layout = "blocked", mesh = @duo, micro_batch = 2 : i64, mode = "infer", pp = 2 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0>], layers = array<i64: 0, 1>, shares = [array<f64: 1.0>]}, {devices = [array<i64: 1>], layers = array<i64: 1, 2>, shares = [array<f64: 1.0>]}], step_time_s = 1.0 : f64, tp = 1 : i64}} {
  topo.mesh @duo {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 2 }
  }
  func.func @f(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
    %w = graph.param "a" : tensor<4x4xf32>
    %y = graph.linear %x, %w {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    %v = graph.param "b" : tensor<4x4xf32>
    // expected-error @+1 {{is placed with layers [1, 2) on stage 0, whose chipmesh.plan range is [0, 1)}}
    %z = graph.linear %y, %v {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
}
