// Two nodes, each an H100 and an A100 on NVLink, joined by InfiniBand.
topo.mesh @mixed {
  topo.chip_kind @h100 catalog "h100-sxm"
  topo.chip_kind @a100 catalog "a100-sxm-80gb"
  topo.link_kind @nvl catalog "nvlink4"
  topo.link_kind @ib catalog "infiniband-ndr"
  topo.group "cluster" switched via @ib {
    topo.group "node" x 2 switched via @nvl { topo.chips @h100 x 1  topo.chips @a100 x 1 }
  }
}
