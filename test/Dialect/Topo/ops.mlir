// RUN: chipmesh-opt %s --verify-roundtrip | FileCheck %s
// RUN: chipmesh-opt %s | chipmesh-opt | FileCheck %s

// CHECK-LABEL: topo.mesh @two_nodes
// CHECK: topo.chip_kind @a100 catalog "a100-sxm-80gb"
// CHECK: topo.link_kind @nvl catalog "nvlink3"
// CHECK: topo.group "cluster" switched via @ib
// CHECK: topo.group "node" x 2 switched via @nvl
// CHECK: topo.chips @a100 x 8
topo.mesh @two_nodes {
  topo.chip_kind @a100 catalog "a100-sxm-80gb"
  topo.link_kind @nvl catalog "nvlink3"
  topo.link_kind @ib catalog "infiniband-hdr"
  topo.group "cluster" switched via @ib {
    topo.group "node" x 2 switched via @nvl {
      topo.chips @a100 x 8
    }
  }
}

// CHECK-LABEL: topo.mesh @mixed
// CHECK: topo.chip_kind @npu {bf16_flop_per_s = 3.200000e+14 : f64, memory_bytes = 0x4230000000000000 : f64, memory_bytes_per_s = 1.600000e+12 : f64, price_usd = 1.500000e+04 : f64}
// CHECK: topo.chip_kind @v100 catalog "v100-sxm2-32gb" {tdp_watts = 2.500000e+02 : f64}
// CHECK: topo.link_kind @bridge {bytes_per_s = 1.200000e+10 : f64, latency_s = 2.500000e-05 : f64, technology = #topo.technology<host_bridge>}
// CHECK: topo.group "ring" ring via @mesh_link
// CHECK: topo.group "island" full_mesh via @mesh_link
// CHECK: topo.group "loose" none
// CHECK: topo.link 1 to 4 via @bridge
topo.mesh @mixed {
  topo.chip_kind @npu {bf16_flop_per_s = 3.2e14 : f64, memory_bytes = 68719476736.0 : f64,
                       memory_bytes_per_s = 1.6e12 : f64, price_usd = 15000.0 : f64}
  topo.chip_kind @v100 catalog "v100-sxm2-32gb" {tdp_watts = 250.0 : f64}
  topo.link_kind @mesh_link catalog "hccs-910b"
  topo.link_kind @bridge {bytes_per_s = 1.2e10 : f64, latency_s = 2.5e-5 : f64,
                          technology = #topo.technology<host_bridge>}
  topo.group "ring" ring via @mesh_link {
    topo.chips @npu x 4
  }
  topo.group "island" full_mesh via @mesh_link {
    topo.chips @v100 x 2
  }
  topo.group "loose" none {
    topo.chips @v100
  }
  topo.link 1 to 4 via @bridge
  topo.link 5 to 6 via @bridge
}

// A 4096-chip cluster stays a few lines.
// CHECK-LABEL: topo.mesh @big
// CHECK: topo.group "pod" x 16 switched via @ib
topo.mesh @big {
  topo.chip_kind @h100 catalog "h100-sxm"
  topo.link_kind @nvl catalog "nvlink4"
  topo.link_kind @ib catalog "infiniband-ndr"
  topo.link_kind @spine catalog "infiniband-ndr" {latency_s = 3.0e-6 : f64}
  topo.group "cluster" switched via @spine {
    topo.group "pod" x 16 switched via @ib {
      topo.group "node" x 32 switched via @nvl {
        topo.chips @h100 x 8
      }
    }
  }
}

// Shared ports: four cloud nodes, each reaching the Ethernet switch
// through one NIC shared by its eight GPUs.
// CHECK-LABEL: topo.mesh @cloud
// CHECK: topo.group "node" x 4 switched via @pcie ports 1 {
topo.mesh @cloud {
  topo.chip_kind @t4 {fp16_flop_per_s = 6.5e13 : f64, memory_bytes = 1.6e10 : f64, memory_bytes_per_s = 3.2e11 : f64}
  topo.link_kind @pcie catalog "pcie4-x16"
  topo.link_kind @eth catalog "ethernet-100g"
  topo.group "cluster" switched via @eth {
    topo.group "node" x 4 switched via @pcie ports 1 {
      topo.chips @t4 x 8
    }
  }
}
