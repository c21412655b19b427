// Tensor-parallel groups never leave a node, whatever the layout: with
// two nodes of different kinds, strided replicas take whole tensor blocks
// (Megatron's order), so each group is one node's chips of one kind.
// RUN: split-file %s %t
// RUN: chipmesh-opt %t/two-kinds.mlir --chipmesh-partition="strategy=dp=2,pp=1,tp=2 report=-" -o /dev/null | FileCheck %s --check-prefix=GROUPS
// RUN: not chipmesh-opt %t/threes.mlir --chipmesh-partition="strategy=dp=3,pp=1,tp=2" -o /dev/null 2>&1 | FileCheck %s --check-prefix=CROSS

// Replica 0 holds the A100 pair, replica 1 the V100 pair (never one of each).
// GROUPS:      "stages": [
// GROUPS-NEXT:   {
// GROUPS-NEXT:     "devices": [
// GROUPS-NEXT:   [
// GROUPS-NEXT:     "cluster/na/a100[0]",
// GROUPS-NEXT:     "cluster/na/a100[1]"
// GROUPS-NEXT:   ],
// GROUPS-NEXT:   [
// GROUPS-NEXT:     "cluster/nv/v100[0]",
// GROUPS-NEXT:     "cluster/nv/v100[1]"

// Nodes of 3 chips cannot hold tensor groups of 2 without one crossing.
// CROSS: error: cannot partition @forward over @threes: no candidate layout: every tensor-parallel group must lie inside one node (the largest holds 3 chips), so tp must divide the chips of each node it uses (strategy tp=2)

//--- two-kinds.mlir
topo.mesh @two {
  topo.chip_kind @a100 catalog "a100-sxm-80gb"
  topo.chip_kind @v100 catalog "v100-sxm2-32gb"
  topo.link_kind @nv catalog "nvlink3"
  topo.link_kind @ib catalog "infiniband-hdr"
  topo.group "cluster" switched via @ib {
    topo.group "na" switched via @nv { topo.chips @a100 x 2 }
    topo.group "nv" switched via @nv { topo.chips @v100 x 2 }
  }
}
func.func @forward(%x: tensor<8x256xf16>) -> tensor<8x256xf16> {
  %w = graph.param "w" : tensor<256x256xf16>
  %y = graph.linear %x, %w : tensor<8x256xf16>, tensor<256x256xf16>
  return %y : tensor<8x256xf16>
}
//--- threes.mlir
topo.mesh @threes {
  topo.chip_kind @g catalog "h100-sxm"
  topo.link_kind @nv catalog "nvlink4"
  topo.link_kind @ib catalog "infiniband-ndr"
  topo.group "cluster" switched via @ib {
    topo.group "node" x 2 switched via @nv { topo.chips @g x 3 }
  }
}
func.func @forward(%x: tensor<6x256xf16>) -> tensor<6x256xf16> {
  %w = graph.param "w" : tensor<256x256xf16>
  %y = graph.linear %x, %w : tensor<6x256xf16>, tensor<256x256xf16>
  return %y : tensor<6x256xf16>
}
