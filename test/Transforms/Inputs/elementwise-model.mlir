module attributes {chipmesh.plan = {dp = 1 : i64, func = "forward", layout = "blocked", mesh = @one, micro_batch = 2 : i64, mode = "infer", pp = 1 : i64, replica_micro_batches = array<i64: 1>, schedule = "gpipe", stages = [{devices = [array<i64: 0>], layers = array<i64: 0, 1>, shares = [array<f64: 1.0>]}], step_time_s = 1.0 : f64, tp = 1 : i64}} {
  topo.mesh @one {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.chips @h100 x 1
  }
  func.func @forward(%x: tensor<2x4xf32>) -> tensor<4x2xf32> {
    %w = graph.param "w" : tensor<4x4xf32>
    %m = graph.matmul %x, %w {transpose_rhs} : tensor<2x4xf32>, tensor<4x4xf32>
    %s = graph.sigmoid %m : tensor<2x4xf32>
    %u = graph.silu %s : tensor<2x4xf32>
    %e = graph.exp %u : tensor<2x4xf32>
    %n = graph.neg %e : tensor<2x4xf32>
    %b = graph.param "b" : tensor<4xf32>
    %d = graph.sub %n, %b : tensor<2x4xf32>, tensor<4xf32>
    %p = graph.mul %d, %x : tensor<2x4xf32>, tensor<2x4xf32>
    %q = graph.div %p, %x : tensor<2x4xf32>, tensor<2x4xf32>
    %l = graph.slice %q {offsets = array<i64: 0, 0>, sizes = array<i64: 2, 2>} : tensor<2x4xf32>
    %r = graph.slice %q {offsets = array<i64: 0, 2>, sizes = array<i64: 2, 2>} : tensor<2x4xf32>
    %c = graph.concat %l, %r {axis = 0 : i64} : tensor<2x2xf32>, tensor<2x2xf32>
    %h = graph.reshape %c : tensor<4x2xf32> -> tensor<2x4xf32>
    %t = graph.transpose %h {permutation = array<i64: 1, 0>} : tensor<2x4xf32>
    return %t : tensor<4x2xf32>
  }
}
