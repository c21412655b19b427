module attributes {chipmesh.plan = {dp = 1 : i64, func = "forward", layout = "blocked", mesh = @trio, micro_batch = 2 : i64, mode = "infer", pp = 2 : i64, recompute = "none", replica_micro_batches = array<i64: 2>, schedule = "gpipe", stages = [{devices = [array<i64: 0, 1>], layers = array<i64: 0, 1>, shares = [array<f64: 0.75, 0.25>]}, {devices = [array<i64: 2>], layers = array<i64: 1, 2>, shares = [array<f64: 1.0>]}], step_time_s = 1.0 : f64, tp = 2 : i64}} {
  topo.mesh @trio {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 3 }
  }
  func.func @forward(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
    %h = graph.layer "mlp" repeat 2 (%x) {chipmesh.placement = {stages = array<i64: 0, 1>, repeats = array<i64: 1, 1>}} : (tensor<4x8xf32>) -> tensor<4x8xf32> {
    ^bb0(%in: tensor<4x8xf32>):
      %w1 = graph.param "up" : tensor<8x16xf32>
      %a = graph.linear %in, %w1 : tensor<4x8xf32>, tensor<8x16xf32>
      %r = graph.relu %a : tensor<4x16xf32>
      %w2 = graph.param "down" : tensor<16x8xf32>
      %b = graph.param "down_bias" : tensor<8xf32>
      %y = graph.linear %r, %w2, %b : tensor<4x16xf32>, tensor<16x8xf32>, tensor<8xf32>
      graph.yield %y : tensor<4x8xf32>
    }
    return %h : tensor<4x8xf32>
  }
}
