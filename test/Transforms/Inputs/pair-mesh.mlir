// A mesh in its own file, for mesh=<path>.
topo.mesh @pair {
  topo.chip_kind @fast catalog "h100-sxm"
  topo.chip_kind @npu catalog "ascend-910b"
  topo.link_kind @roce catalog "roce-200g"
  topo.group "box" switched via @roce {
    topo.chips @fast x 1
    topo.chips @npu x 1
  }
}
