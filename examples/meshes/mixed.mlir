// The bundled mixed mesh: two nodes that a team without H100s might own,
// joined by 200 Gb/s RoCE (one port per chip, rail-style).
//  - node "ascend": 4 x Ascend 910B in an HCCS full mesh (Atlas 800T A2 half)
//  - node "mtt":    4 x MTT S4000 on MTLink (topology unpublished: switched
//                   assumed; override the link when you measure it)
// Check it with: chipmesh-opt examples/meshes/mixed.mlir
topo.mesh @mixed {
  topo.chip_kind @ascend catalog "ascend-910b"
  topo.chip_kind @mtt catalog "mtt-s4000"
  topo.link_kind @hccs catalog "hccs-910b"
  topo.link_kind @mtlink catalog "mtlink"
  topo.link_kind @roce catalog "roce-200g"
  topo.group "cluster" switched via @roce {
    topo.group "ascend" full_mesh via @hccs {
      topo.chips @ascend x 4
    }
    topo.group "mtt" switched via @mtlink {
      topo.chips @mtt x 4
    }
  }
}
