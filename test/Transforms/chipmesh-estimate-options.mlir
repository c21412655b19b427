// The remaining --chipmesh-estimate options change what they should.
// RUN: chipmesh-opt %s --chipmesh-estimate="mesh=@one func=forward micro-batch=16 micro-batches=4 recompute=full output=- annotate=false" -o /dev/null | FileCheck %s --check-prefix=TRAIN
// RUN: chipmesh-opt %s --chipmesh-estimate="mesh=@one mode=infer output=-" -o /dev/null | FileCheck %s --check-prefix=INFER
// RUN: chipmesh-opt %s --chipmesh-estimate="mesh=@one annotate=false" | FileCheck %s --check-prefix=BARE

// Micro-batch 16 is twice the traced 8: 2 x 2 x 8192 x 1024 x 1024 forward
// FLOPs; with 4 micro-batches and a full-recompute backward (2x forward,
// recomputation is time, not FLOPs) a step is 4 x 3 x 3.44e10 = 4.12E+11.
// TRAIN: @forward on @one: 1048576 parameters, 4.12E+11 FLOPs per step (train, micro-batch 16 x 4, recompute full)
// TRAIN-NEXT: chip
// TRAIN-NEXT: x h100-sxm {{.*}} yes
// INFER: (infer, micro-batch 8 x 1, recompute none)
// INFER: x h100-sxm {{.*}}     0.0 us     0.0 us
// BARE-NOT: chipmesh.cost
// BARE: chipmesh.estimate

topo.mesh @one {
  topo.chip_kind @x catalog "h100-sxm"
  topo.chips @x x 1
}
func.func @forward(%x: tensor<8x1024x1024xbf16>) -> tensor<8x1024x1024xbf16> {
  %w = graph.param "w" : tensor<1024x1024xbf16>
  %y = graph.linear %x, %w : tensor<8x1024x1024xbf16>, tensor<1024x1024xbf16>
  return %y : tensor<8x1024x1024xbf16>
}
