module attributes {chipmesh.plan = {dp = 1 : i64, func = "forward", layout = "blocked", mesh = @pair, micro_batch = 1 : i64, mode = "infer", pp = 1 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0, 1>], layers = array<i64: 0, 1>, shares = [array<f64: 0.75, 0.25>]}], step_time_s = 1.0 : f64, tp = 2 : i64}} {
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
