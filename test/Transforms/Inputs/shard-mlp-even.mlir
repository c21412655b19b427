// A Megatron MLP planned over two H100s (shares 1:1).
module attributes {chipmesh.plan = {dp = 1 : i64, func = "forward", layout = "blocked", mesh = @pair, micro_batch = 4 : i64, mode = "infer", pp = 1 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0, 1>], layers = array<i64: 0, 1>, shares = [array<f64: 0.5, 0.5>]}], step_time_s = 1.0 : f64, tp = 2 : i64}} {
  topo.mesh @pair {
    topo.chip_kind @fast catalog "h100-sxm"
    topo.chip_kind @slow catalog "a100-sxm-80gb"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @fast x 2 }
  }
  func.func @forward(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
    %h = graph.layer "mlp" (%x) {chipmesh.placement = {stages = array<i64: 0>, repeats = array<i64: 1>}} : (tensor<4x8xf32>) -> tensor<4x8xf32> {
    ^bb0(%in: tensor<4x8xf32>):
      %w1 = graph.param "up" : tensor<8x16xf32>
      %a = graph.linear %in, %w1 : tensor<4x8xf32>, tensor<8x16xf32>
      %r = graph.relu %a : tensor<4x16xf32>
      %w2 = graph.param "down" : tensor<16x8xf32>
      %y = graph.linear %r, %w2 : tensor<4x16xf32>, tensor<16x8xf32>
      %s = graph.add %in, %y : tensor<4x8xf32>, tensor<4x8xf32>
      graph.yield %s : tensor<4x8xf32>
    }
    return %h : tensor<4x8xf32>
  }
}
