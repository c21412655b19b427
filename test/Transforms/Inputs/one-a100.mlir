// One A100 SXM 80 GB.
topo.mesh @one {
  topo.chip_kind @a100 catalog "a100-sxm-80gb"
  topo.link_kind @nv catalog "nvlink3"
  topo.group "node" switched via @nv { topo.chips @a100 x 1 }
}
