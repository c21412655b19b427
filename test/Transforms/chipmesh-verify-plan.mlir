// RUN: chipmesh-opt %s -split-input-file --chipmesh-verify-plan -verify-diagnostics
// RUN: not chipmesh-opt %s -split-input-file --chipmesh-verify-plan=report -o /dev/null 2>/dev/null | FileCheck %s --check-prefix=REPORT
// RUN: chipmesh-opt %S/chipmesh-materialize.mlir -split-input-file --chipmesh-materialize --chipmesh-verify-plan=report -o /dev/null | FileCheck %s --check-prefix=MATERIALIZED

// Each case is a small materialized program (hand-written so that each
// breaks one rule): a two-stage pipeline of two chips, inference, one
// micro-batch of 2.

// MATERIALIZED: verify-plan: 3 devices, 6 messages matched, 8 collectives agreed, no deadlock under 1f1b; 3 weights held in each of 1 replicas (2 tiled from shards); 1.286400e+04 FLOPs per step, equal to the model's
// MATERIALIZED: verify-plan: 2 devices, 0 messages matched, 4 collectives agreed, no deadlock under gpipe; 4 weights held in each of 1 replicas (4 tiled from shards); 6.888000e+04 FLOPs per step, equal to the model's

// A valid two-stage pipeline: one message, both weights, FLOPs equal.
// REPORT: verify-plan: 2 devices, 1 messages matched, 0 collectives agreed, no deadlock under gpipe; 2 weights held in each of 1 replicas (0 tiled from shards); 1.280000e+02 FLOPs per step, equal to the model's
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
  func.func private @f_dev0_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 0>} {
    %w = graph.param "a" {comm.param = 0 : i64} : tensor<4x4xf32>
    %y = graph.linear %a, %w : tensor<2x4xf32>, tensor<4x4xf32>
    return %y : tensor<2x4xf32>
  }
  func.func @f_dev0(%x: tensor<2x4xf32> {comm.input = 0 : i64, comm.batch_offset = 0 : i64}) attributes {comm.device = #comm.device<@duo, 0>, comm.stage = 0 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    %y = call @f_dev0_stage(%x) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    comm.send %y to 1 tag 1 : tensor<2x4xf32>
    return
  }
  func.func private @f_dev1_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 1>} {
    %v = graph.param "b" {comm.param = 1 : i64} : tensor<4x4xf32>
    %z = graph.linear %a, %v : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
  func.func @f_dev1() -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 1>, comm.stage = 1 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    %a = comm.recv from 0 tag 1 : tensor<2x4xf32>
    %z = call @f_dev1_stage(%a) : (tensor<2x4xf32>) -> tensor<2x4xf32>
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
    %z = graph.linear %y, %v {chipmesh.placement = {stages = array<i64: 1>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
  func.func private @f_dev0_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 0>} {
    %w = graph.param "a" {comm.param = 0 : i64} : tensor<4x4xf32>
    %y = graph.linear %a, %w : tensor<2x4xf32>, tensor<4x4xf32>
    return %y : tensor<2x4xf32>
  }
  func.func @f_dev0(%x: tensor<2x4xf32> {comm.input = 0 : i64, comm.batch_offset = 0 : i64}) attributes {comm.device = #comm.device<@duo, 0>, comm.stage = 0 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    %y = call @f_dev0_stage(%x) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    comm.send %y to 1 tag 1 : tensor<2x4xf32>
    return
  }
  func.func private @f_dev1_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 1>} {
    %v = graph.param "b" {comm.param = 1 : i64} : tensor<4x4xf32>
    %z = graph.linear %a, %v : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
  func.func @f_dev1() -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 1>, comm.stage = 1 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    %a = // expected-error @+1 {{the programs deadlock under the schedule: 1 devices wait forever}}
    comm.recv from 0 tag 2 : tensor<2x4xf32>
    %z = call @f_dev1_stage(%a) : (tensor<2x4xf32>) -> tensor<2x4xf32>
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
    %z = graph.linear %y, %v {chipmesh.placement = {stages = array<i64: 1>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
  func.func private @f_dev0_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 0>} {
    %w = graph.param "a" {comm.param = 0 : i64} : tensor<4x4xf32>
    %y = graph.linear %a, %w : tensor<2x4xf32>, tensor<4x4xf32>
    return %y : tensor<2x4xf32>
  }
  func.func @f_dev0(%x: tensor<2x4xf32> {comm.input = 0 : i64, comm.batch_offset = 0 : i64}) attributes {comm.device = #comm.device<@duo, 0>, comm.stage = 0 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    %y = call @f_dev0_stage(%x) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    // expected-note @+1 {{the send}}
    comm.send %y to 1 tag 1 : tensor<2x4xf32>
    return
  }
  func.func private @f_dev1_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 1>} {
    %v = graph.param "b" {comm.param = 1 : i64} : tensor<4x4xf32>
    %z = graph.linear %a, %v : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
  func.func @f_dev1() -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 1>, comm.stage = 1 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    // expected-error @+1 {{receives 'tensor<2x4xf16>' but device 0 sends 'tensor<2x4xf32>'}}
    %a = comm.recv from 0 tag 1 : tensor<2x4xf16>
    %b = arith.extf %a : tensor<2x4xf16> to tensor<2x4xf32>
    %z = call @f_dev1_stage(%b) : (tensor<2x4xf32>) -> tensor<2x4xf32>
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
    %z = graph.linear %y, %v {chipmesh.placement = {stages = array<i64: 1>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
  func.func private @f_dev0_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 0>} {
    %w = graph.param "a" {comm.param = 0 : i64} : tensor<4x4xf32>
    %y = graph.linear %a, %w : tensor<2x4xf32>, tensor<4x4xf32>
    return %y : tensor<2x4xf32>
  }
  func.func @f_dev0(%x: tensor<2x4xf32> {comm.input = 0 : i64, comm.batch_offset = 0 : i64}) attributes {comm.device = #comm.device<@duo, 0>, comm.stage = 0 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    %y = call @f_dev0_stage(%x) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    comm.send %y to 1 tag 1 : tensor<2x4xf32>
    // expected-error @+1 {{is never received: device 1 has no matching comm.recv from device 0 with tag 7}}
    comm.send %y to 1 tag 7 : tensor<2x4xf32>
    return
  }
  func.func private @f_dev1_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 1>} {
    %v = graph.param "b" {comm.param = 1 : i64} : tensor<4x4xf32>
    %z = graph.linear %a, %v : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
  func.func @f_dev1() -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 1>, comm.stage = 1 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    %a = comm.recv from 0 tag 1 : tensor<2x4xf32>
    %z = call @f_dev1_stage(%a) : (tensor<2x4xf32>) -> tensor<2x4xf32>
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
    %z = graph.linear %y, %v {chipmesh.placement = {stages = array<i64: 1>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
  func.func private @f_dev0_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 0>} {
    %w = graph.param "a" {comm.param = 0 : i64} : tensor<4x4xf32>
    %y = graph.linear %a, %w : tensor<2x4xf32>, tensor<4x4xf32>
    return %y : tensor<2x4xf32>
  }
  func.func @f_dev0(%x: tensor<2x4xf32> {comm.input = 0 : i64, comm.batch_offset = 0 : i64}) attributes {comm.device = #comm.device<@duo, 0>, comm.stage = 0 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    // expected-error @+1 {{the programs deadlock under the schedule: 2 devices wait forever}}
    %b = comm.recv from 1 tag 5 : tensor<2x4xf32>
    %y = call @f_dev0_stage(%x) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    comm.send %y to 1 tag 1 : tensor<2x4xf32>
    return
  }
  func.func private @f_dev1_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 1>} {
    %v = graph.param "b" {comm.param = 1 : i64} : tensor<4x4xf32>
    %z = graph.linear %a, %v : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
  func.func @f_dev1() -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 1>, comm.stage = 1 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    %a = comm.recv from 0 tag 1 : tensor<2x4xf32>
    %z = call @f_dev1_stage(%a) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    comm.send %z to 0 tag 5 : tensor<2x4xf32>
    return %z : tensor<2x4xf32>
  }
}

// -----

// expected-error @+1 {{device 1 (stage 1, replica 0, rank 0) has no step function; run --chipmesh-materialize}}
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
  func.func private @f_dev0_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 0>} {
    %w = graph.param "a" {comm.param = 0 : i64} : tensor<4x4xf32>
    %y = graph.linear %a, %w : tensor<2x4xf32>, tensor<4x4xf32>
    return %y : tensor<2x4xf32>
  }
  func.func @f_dev0(%x: tensor<2x4xf32> {comm.input = 0 : i64, comm.batch_offset = 0 : i64}) attributes {comm.device = #comm.device<@duo, 0>, comm.stage = 0 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    %y = call @f_dev0_stage(%x) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    return
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
    %z = graph.linear %y, %v {chipmesh.placement = {stages = array<i64: 1>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
  func.func private @f_dev0_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 0>} {
    %w = graph.param "a" {comm.param = 0 : i64} : tensor<4x4xf32>
    %y = graph.linear %a, %w : tensor<2x4xf32>, tensor<4x4xf32>
    return %y : tensor<2x4xf32>
  }
  // expected-error @+1 {{argument 0 is not a model input}}
  func.func @f_dev0(%x: tensor<2x4xf32>) attributes {comm.device = #comm.device<@duo, 0>, comm.stage = 0 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    %y = call @f_dev0_stage(%x) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    comm.send %y to 1 tag 1 : tensor<2x4xf32>
    return
  }
  func.func private @f_dev1_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 1>} {
    %v = graph.param "b" {comm.param = 1 : i64} : tensor<4x4xf32>
    %z = graph.linear %a, %v : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
  func.func @f_dev1() -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 1>, comm.stage = 1 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    %a = comm.recv from 0 tag 1 : tensor<2x4xf32>
    %z = call @f_dev1_stage(%a) : (tensor<2x4xf32>) -> tensor<2x4xf32>
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
    %z = graph.linear %y, %v {chipmesh.placement = {stages = array<i64: 1>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
  func.func private @f_dev0_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 0>} {
    %w = graph.param "a" {comm.param = 0 : i64} : tensor<4x4xf32>
    %y = graph.linear %a, %w : tensor<2x4xf32>, tensor<4x4xf32>
    return %y : tensor<2x4xf32>
  }
  // expected-error @+1 {{argument 0 is 'tensor<4x4xf32>'; model input 0 for 1 micro-batches of 2 is 'tensor<2x4xf32>'}}
  func.func @f_dev0(%x: tensor<4x4xf32> {comm.input = 0 : i64}) attributes {comm.device = #comm.device<@duo, 0>, comm.stage = 0 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    %x2 = graph.slice %x {offsets = array<i64: 0, 0>, sizes = array<i64: 2, 4>} : tensor<4x4xf32>
    %y = call @f_dev0_stage(%x2) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    comm.send %y to 1 tag 1 : tensor<2x4xf32>
    return
  }
  func.func private @f_dev1_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 1>} {
    %v = graph.param "b" {comm.param = 1 : i64} : tensor<4x4xf32>
    %z = graph.linear %a, %v : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
  func.func @f_dev1() -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 1>, comm.stage = 1 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    %a = comm.recv from 0 tag 1 : tensor<2x4xf32>
    %z = call @f_dev1_stage(%a) : (tensor<2x4xf32>) -> tensor<2x4xf32>
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
    // expected-error @+1 {{weight "b" is held by no device of replica 0}}
    %v = graph.param "b" : tensor<4x4xf32>
    %z = graph.linear %y, %v {chipmesh.placement = {stages = array<i64: 1>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
  func.func private @f_dev0_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 0>} {
    %w = graph.param "a" {comm.param = 0 : i64} : tensor<4x4xf32>
    %y = graph.linear %a, %w : tensor<2x4xf32>, tensor<4x4xf32>
    return %y : tensor<2x4xf32>
  }
  func.func @f_dev0(%x: tensor<2x4xf32> {comm.input = 0 : i64, comm.batch_offset = 0 : i64}) attributes {comm.device = #comm.device<@duo, 0>, comm.stage = 0 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    %y = call @f_dev0_stage(%x) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    comm.send %y to 1 tag 1 : tensor<2x4xf32>
    return
  }
  func.func private @f_dev1_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 1>} {
    %z = graph.relu %a : tensor<2x4xf32>
    return %z : tensor<2x4xf32>
  }
  func.func @f_dev1() -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 1>, comm.stage = 1 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    %a = comm.recv from 0 tag 1 : tensor<2x4xf32>
    %z = call @f_dev1_stage(%a) : (tensor<2x4xf32>) -> tensor<2x4xf32>
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
    %z = graph.linear %y, %v {chipmesh.placement = {stages = array<i64: 1>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
  func.func private @f_dev0_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 0>} {
    %w = graph.param "a" {comm.param = 0 : i64} : tensor<4x4xf32>
    %y = graph.linear %a, %w : tensor<2x4xf32>, tensor<4x4xf32>
    return %y : tensor<2x4xf32>
  }
  func.func @f_dev0(%x: tensor<2x4xf32> {comm.input = 0 : i64, comm.batch_offset = 0 : i64}) attributes {comm.device = #comm.device<@duo, 0>, comm.stage = 0 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    %y = call @f_dev0_stage(%x) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    comm.send %y to 1 tag 1 : tensor<2x4xf32>
    return
  }
  func.func private @f_dev1_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 1>} {
    // expected-error @+1 {{holds 'tensor<4x2xf32>' of weight "b", which is 'tensor<4x4xf32>', without a 'comm.shard'}}
    %v = graph.param "b" {comm.param = 1 : i64} : tensor<4x2xf32>
    %z0 = graph.linear %a, %v : tensor<2x4xf32>, tensor<4x2xf32>
    %z = graph.concat %z0, %z0 {axis = 1 : i64} : tensor<2x2xf32>, tensor<2x2xf32>
    return %z : tensor<2x4xf32>
  }
  func.func @f_dev1() -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 1>, comm.stage = 1 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    %a = comm.recv from 0 tag 1 : tensor<2x4xf32>
    %z = call @f_dev1_stage(%a) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    return %z : tensor<2x4xf32>
  }
}

// -----

// expected-error @+1 {{the device programs compute 1.360000e+02 FLOPs per step but the model needs 1.280000e+02 for a batch of 2: 6.25% more}}
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
  func.func private @f_dev0_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 0>} {
    %w = graph.param "a" {comm.param = 0 : i64} : tensor<4x4xf32>
    %y = graph.linear %a, %w : tensor<2x4xf32>, tensor<4x4xf32>
    return %y : tensor<2x4xf32>
  }
  func.func @f_dev0(%x: tensor<2x4xf32> {comm.input = 0 : i64, comm.batch_offset = 0 : i64}) attributes {comm.device = #comm.device<@duo, 0>, comm.stage = 0 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    %y = call @f_dev0_stage(%x) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    comm.send %y to 1 tag 1 : tensor<2x4xf32>
    return
  }
  func.func private @f_dev1_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 1>} {
    %v = graph.param "b" {comm.param = 1 : i64} : tensor<4x4xf32>
    %z = graph.linear %a, %v : tensor<2x4xf32>, tensor<4x4xf32>
    %r = graph.relu %z : tensor<2x4xf32>
    return %r : tensor<2x4xf32>
  }
  func.func @f_dev1() -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 1>, comm.stage = 1 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    %a = comm.recv from 0 tag 1 : tensor<2x4xf32>
    %z = call @f_dev1_stage(%a) : (tensor<2x4xf32>) -> tensor<2x4xf32>
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
    %z = graph.linear %y, %v {chipmesh.placement = {stages = array<i64: 1>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
  func.func private @f_dev0_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 0>} {
    %w = graph.param "a" {comm.param = 0 : i64} : tensor<4x4xf32>
    %y = graph.linear %a, %w : tensor<2x4xf32>, tensor<4x4xf32>
    return %y : tensor<2x4xf32>
  }
  func.func @f_dev0(%x: tensor<2x4xf32> {comm.input = 0 : i64, comm.batch_offset = 0 : i64}) attributes {comm.device = #comm.device<@duo, 0>, comm.stage = 0 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    %y = call @f_dev0_stage(%x) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    comm.send %y to 1 tag 1 : tensor<2x4xf32>
    %s = graph.slice %x {offsets = array<i64: 0, 0>, sizes = array<i64: 1, 4>} : tensor<2x4xf32>
    // expected-error @+1 {{enters a collective its group does not agree on}}
    %g = comm.all_reduce sum %s over [0, 1] : tensor<1x4xf32>
    return
  }
  func.func private @f_dev1_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 1>} {
    %v = graph.param "b" {comm.param = 1 : i64} : tensor<4x4xf32>
    %z = graph.linear %a, %v : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
  func.func @f_dev1() -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 1>, comm.stage = 1 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    %a = comm.recv from 0 tag 1 : tensor<2x4xf32>
    %z = call @f_dev1_stage(%a) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    // expected-note @+1 {{device 1 enters}}
    %g = comm.all_reduce sum %a over [0, 1] : tensor<2x4xf32>
    return %z : tensor<2x4xf32>
  }
}

// -----

// expected-error @+1 {{the module has no 'chipmesh.plan' dictionary; run --chipmesh-partition first}}
module {
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
    %z = graph.linear %y, %v {chipmesh.placement = {stages = array<i64: 1>, repeats = array<i64: 1>}} : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
  func.func private @f_dev0_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 0>} {
    %w = graph.param "a" {comm.param = 0 : i64} : tensor<4x4xf32>
    %y = graph.linear %a, %w : tensor<2x4xf32>, tensor<4x4xf32>
    return %y : tensor<2x4xf32>
  }
  func.func @f_dev0(%x: tensor<2x4xf32> {comm.input = 0 : i64, comm.batch_offset = 0 : i64}) attributes {comm.device = #comm.device<@duo, 0>, comm.stage = 0 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    %y = call @f_dev0_stage(%x) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    comm.send %y to 1 tag 1 : tensor<2x4xf32>
    return
  }
  func.func private @f_dev1_stage(%a: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 1>} {
    %v = graph.param "b" {comm.param = 1 : i64} : tensor<4x4xf32>
    %z = graph.linear %a, %v : tensor<2x4xf32>, tensor<4x4xf32>
    return %z : tensor<2x4xf32>
  }
  // expected-error @+1 {{says stage 0, replica 0, rank 0; the plan puts device 1 at stage 1, replica 0, rank 0}}
  func.func @f_dev1() -> tensor<2x4xf32> attributes {comm.device = #comm.device<@duo, 1>, comm.stage = 0 : i64, comm.replica = 0 : i64, comm.tp_rank = 0 : i64, comm.micro_batches = 1 : i64} {
    %a = comm.recv from 0 tag 1 : tensor<2x4xf32>
    %z = call @f_dev1_stage(%a) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    return %z : tensor<2x4xf32>
  }
}
