// The flagship reference: one DGX H100 (8 x H100 SXM on NVSwitch gen 3).
topo.mesh @dgx_h100 {
  topo.chip_kind @h100 catalog "h100-sxm"
  topo.link_kind @nvl catalog "nvlink4"
  topo.group "node" switched via @nvl {
    topo.chips @h100 x 8
  }
}
