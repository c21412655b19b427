topo.mesh @duo {
  topo.chip_kind @fast catalog "h100-sxm"
  topo.chip_kind @slow catalog "a100-sxm-80gb"
  topo.link_kind @net catalog "roce-200g"
  topo.group "box" switched via @net {
    topo.chips @fast x 1
    topo.chips @slow x 1
  }
}
func.func @forward(%x: tensor<8x1024x1024xbf16>) -> tensor<8x1024x1024xbf16> {
  %h = graph.layer "blocks" repeat 6 (%x) : (tensor<8x1024x1024xbf16>) -> tensor<8x1024x1024xbf16> {
  ^bb0(%in: tensor<8x1024x1024xbf16>):
    %w = graph.param "w" : tensor<1024x4096xbf16>
    %y = graph.linear %in, %w : tensor<8x1024x1024xbf16>, tensor<1024x4096xbf16>
    %g = graph.gelu %y : tensor<8x1024x4096xbf16>
    %w2 = graph.param "w2" : tensor<4096x1024xbf16>
    %z = graph.linear %g, %w2 : tensor<8x1024x4096xbf16>, tensor<4096x1024xbf16>
    graph.yield %z : tensor<8x1024x1024xbf16>
  }
  return %h : tensor<8x1024x1024xbf16>
}
