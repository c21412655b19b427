// RUN: chipmesh-opt %s -split-input-file -verify-diagnostics

topo.mesh @m {
  // expected-error@+1 {{unknown catalog chip 'h900'; known chips: h100-sxm}}
  topo.chip_kind @x catalog "h900"
  topo.chips @x
}

// -----

topo.mesh @m {
  // expected-error@+1 {{'memory_bytes_per_s' must be a positive finite number, got -1}}
  topo.chip_kind @x catalog "h100-sxm" {memory_bytes_per_s = -1.0 : f64}
  topo.chips @x
}

// -----

topo.mesh @m {
  // expected-error@+1 {{'bf16_flop_per_s' must be a positive finite number, got 0}}
  topo.chip_kind @x {bf16_flop_per_s = 0.0 : f64, memory_bytes = 1.0e9 : f64, memory_bytes_per_s = 1.0e9 : f64}
  topo.chips @x
}

// -----

topo.mesh @m {
  // expected-error@+1 {{without a catalog entry needs both 'memory_bytes' and 'memory_bytes_per_s'}}
  topo.chip_kind @x {bf16_flop_per_s = 1.0e12 : f64}
  topo.chips @x
}

// -----

topo.mesh @m {
  // expected-error@+1 {{without a catalog entry needs at least one peak}}
  topo.chip_kind @x {memory_bytes = 1.0e9 : f64, memory_bytes_per_s = 1.0e9 : f64}
  topo.chips @x
}

// -----

topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  // expected-error@+1 {{unknown catalog link 'nvlink9'; known links: nvlink2}}
  topo.link_kind @l catalog "nvlink9"
  topo.chips @x
}

// -----

topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  // expected-error@+1 {{without a catalog entry needs both 'bytes_per_s' and 'latency_s'}}
  topo.link_kind @l {bytes_per_s = 1.0e9 : f64}
  topo.chips @x
}

// -----

topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  // expected-error@+1 {{'latency_s' must be a positive finite number, got 0}}
  topo.link_kind @l {bytes_per_s = 1.0e9 : f64, latency_s = 0.0 : f64}
  topo.chips @x
}

// -----

topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  // expected-error@+1 {{unknown chip kind @y}}
  topo.chips @y x 2
}

// -----

topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  // expected-error@+1 {{count must be at least 1, got 0}}
  topo.chips @x x 0
}

// -----

topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  topo.link_kind @l catalog "nvlink4"
  // expected-error@+1 {{count must be at least 1, got -3}}
  topo.group "node" x -3 switched via @l {
    topo.chips @x
  }
}

// -----

topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  // expected-error@+1 {{with interconnect 'switched' needs a link: 'via @link_kind'}}
  topo.group "node" switched {
    topo.chips @x x 2
  }
}

// -----

topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  topo.link_kind @l catalog "nvlink4"
  // expected-error@+1 {{with interconnect 'none' takes no link}}
  topo.group "node" none via @l {
    topo.chips @x x 2
  }
}

// -----

topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  // expected-error@+1 {{unknown link kind @nope}}
  topo.group "node" switched via @nope {
    topo.chips @x x 2
  }
}

// -----

topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  topo.link_kind @l catalog "nvlink4"
  // expected-error@+1 {{with interconnect 'ring' joins chips; its members must be 'topo.chips', found 'topo.group'}}
  topo.group "outer" ring via @l {
    topo.group "inner" switched via @l {
      topo.chips @x x 2
    }
  }
}

// -----

topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  topo.link_kind @l catalog "nvlink4"
  // expected-error@+1 {{holds no chips}}
  topo.group "empty" switched via @l {
  }
}

// -----

topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  topo.link_kind @l catalog "nvlink4"
  topo.group "root" switched via @l {
    topo.group "node" switched via @l {
      topo.chips @x x 2
    }
    // expected-error@+1 {{duplicate group name 'node' among siblings}}
    topo.group "node" switched via @l {
      topo.chips @x x 2
    }
  }
}

// -----

topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  // expected-note@-1 {{see existing symbol definition here}}
  // expected-error@+1 {{redefinition of symbol named 'x'}}
  topo.chip_kind @x catalog "a100-sxm-80gb"
  topo.chips @x
}

// -----

topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  topo.link_kind @l catalog "nvlink4"
  topo.group "a" switched via @l {
    topo.chips @x x 2
  }
  topo.group "b" switched via @l {
    // expected-error@+1 {{chip 'b/x[0]' (index 2) has no path to chip 'a/x[0]' (index 0); join them with a group interconnect or a 'topo.link'}}
    topo.chips @x x 2
  }
}

// -----

topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  topo.link_kind @l catalog "nvlink4"
  topo.group "a" none {
    // expected-error@+1 {{chip 'a/x[1]' (index 1) has no path to chip 'a/x[0]' (index 0)}}
    topo.chips @x x 2
  }
}

// -----

topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  topo.link_kind @l catalog "nvlink4"
  topo.chips @x x 2
  // expected-error@+1 {{chip index 7 is out of range; the mesh has 2 chips (0..1)}}
  topo.link 0 to 7 via @l
}

// -----

topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  topo.link_kind @l catalog "nvlink4"
  topo.chips @x x 2
  // expected-error@+1 {{joins chip 1 to itself}}
  topo.link 1 to 1 via @l
}

// -----

topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  topo.chips @x x 2
  // expected-error@+1 {{unknown link kind @nope}}
  topo.link 0 to 1 via @nope
}

// -----

// expected-error@+1 {{expands to more than 1048576 chips; split it into several meshes}}
topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  topo.link_kind @l catalog "nvlink4"
  topo.group "g" x 4096 switched via @l {
    topo.group "h" x 4096 switched via @l {
      topo.chips @x x 8
    }
  }
}

// -----

// expected-error@+1 {{'topo.mesh' op holds no chips}}
topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
}

// -----

topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  topo.link_kind @l catalog "nvlink4"
  // expected-error@+1 {{unknown interconnect 'torus'; expected switched, ring, full_mesh or none}}
  topo.group "g" torus via @l {
    topo.chips @x x 2
  }
}

// -----

// expected-error@+1 {{'topo.chips' op expects parent op to be one of 'topo.mesh, topo.group'}}
topo.chips @x

// -----

topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  topo.link_kind @l catalog "nvlink4"
  topo.link_kind @e catalog "ethernet-100g"
  topo.group "cluster" switched via @e {
    // expected-error@+1 {{ports must be at least 1, got 0}}
    topo.group "node" x 2 switched via @l ports 0 { topo.chips @x x 8 }
  }
}

// -----

topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  topo.link_kind @l catalog "nvlink4"
  // expected-error@+1 {{has ports 1, but no enclosing group is 'switched': ports say how the group reaches the switches around it}}
  topo.group "node" switched via @l ports 1 { topo.chips @x x 8 }
}

// -----

topo.mesh @m {
  topo.chip_kind @x catalog "h100-sxm"
  topo.link_kind @l catalog "nvlink4"
  topo.link_kind @e catalog "ethernet-100g"
  topo.group "cluster" switched via @e {
    // expected-error@+1 {{has ports 9 for 8 chips; a group has at most one port per chip}}
    topo.group "node" x 2 switched via @l ports 9 { topo.chips @x x 4 topo.chips @x x 4 }
  }
}
