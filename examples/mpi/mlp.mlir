// A residual MLP in the graph dialect, small enough for CPU processes:
// 4 blocks of 256 -> 1024 -> 256 on a batch of 64. The MPI example
// (examples/mpi/run.sh) partitions it over this machine's cpu chips and
// runs the plan with chipmesh-mpirun.
func.func @forward(%x: tensor<64x256xf32>) -> tensor<64x256xf32> {
  %h = graph.layer "block" repeat 4 (%x) : (tensor<64x256xf32>) -> tensor<64x256xf32> {
  ^bb0(%in: tensor<64x256xf32>):
    %w1 = graph.param "up" : tensor<256x1024xf32>
    %b1 = graph.param "up_bias" : tensor<1024xf32>
    %a = graph.linear %in, %w1, %b1 : tensor<64x256xf32>, tensor<256x1024xf32>, tensor<1024xf32>
    %r = graph.relu %a : tensor<64x1024xf32>
    %w2 = graph.param "down" : tensor<1024x256xf32>
    %b2 = graph.param "down_bias" : tensor<256xf32>
    %y = graph.linear %r, %w2, %b2 : tensor<64x1024xf32>, tensor<1024x256xf32>, tensor<256xf32>
    %s = graph.add %in, %y : tensor<64x256xf32>, tensor<64x256xf32>
    graph.yield %s : tensor<64x256xf32>
  }
  return %h : tensor<64x256xf32>
}
