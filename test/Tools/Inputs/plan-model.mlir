// A small MLP stack for chipmesh-plan tests: 8 layers, batch 64.
func.func @forward(%x: tensor<64x512x1024xbf16>) -> tensor<64x512x1024xbf16> {
  %h = graph.layer "blocks" repeat 8 (%x) : (tensor<64x512x1024xbf16>) -> tensor<64x512x1024xbf16> {
  ^bb0(%in: tensor<64x512x1024xbf16>):
    %w1 = graph.param "up" : tensor<1024x4096xbf16>
    %a = graph.linear %in, %w1 : tensor<64x512x1024xbf16>, tensor<1024x4096xbf16>
    %g = graph.gelu %a : tensor<64x512x4096xbf16>
    %w2 = graph.param "down" : tensor<4096x1024xbf16>
    %y = graph.linear %g, %w2 : tensor<64x512x4096xbf16>, tensor<4096x1024xbf16>
    graph.yield %y : tensor<64x512x1024xbf16>
  }
  return %h : tensor<64x512x1024xbf16>
}
