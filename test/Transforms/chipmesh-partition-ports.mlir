// Shared ports (topo.group ... ports N): two nodes of four A100s on
// 100 Gb/s Ethernet, first with a NIC per chip, then with one NIC per node.
// The compute is the same; the gradient all-reduces leave each node
// through its one NIC: the ring's four channels (dp=8) and the four tensor
// ranks' groups (dp=2 tp=4, priced together) share it.
// RUN: split-file %s %t
// RUN: chipmesh-opt %t/model.mlir --chipmesh-partition="mesh=%t/rails.mlir strategy=dp=8,pp=1,tp=1 batch=64 micro-batch=8 table" -o /dev/null | FileCheck %s --check-prefix=RAILS-DP
// RUN: chipmesh-opt %t/model.mlir --chipmesh-partition="mesh=%t/one-nic.mlir strategy=dp=8,pp=1,tp=1 batch=64 micro-batch=8 table" -o /dev/null | FileCheck %s --check-prefix=NIC-DP
// RUN: chipmesh-opt %t/model.mlir --chipmesh-partition="mesh=%t/rails.mlir strategy=dp=2,pp=1,tp=4 batch=64 micro-batch=8 table" -o /dev/null | FileCheck %s --check-prefix=RAILS-TP
// RUN: chipmesh-opt %t/model.mlir --chipmesh-partition="mesh=%t/one-nic.mlir strategy=dp=2,pp=1,tp=4 batch=64 micro-batch=8 table" -o /dev/null | FileCheck %s --check-prefix=NIC-TP

// Shared ports at every level of a deep hierarchy over 2^20 chips would
// take more work to expand than a real mesh needs: refused by name.
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-estimate="mesh=%t/deep.mlir" -o /dev/null 2>&1 | FileCheck %s --check-prefix=DEEP
// DEEP: error: 'topo.mesh' op shared ports ('ports') expand to more than 16777216 port steps over its chips and levels; share ports at fewer levels or split the mesh

// RAILS-DP: step 2.68 ms (pipeline 1.08 ms, gradient sync 1.44 ms
// NIC-DP: step 6.03 ms (pipeline 1.08 ms, gradient sync 4.80 ms
// RAILS-TP: step 5.40 ms (pipeline 4.19 ms, gradient sync 1.17 ms
// NIC-TP: step 8.76 ms (pipeline 4.19 ms, gradient sync 4.52 ms

//--- model.mlir
func.func @forward(%x: tensor<8x512x1024xbf16>) -> tensor<8x512x1024xbf16> {
  %w1 = graph.param "fc1" : tensor<1024x4096xbf16>
  %h = graph.linear %x, %w1 : tensor<8x512x1024xbf16>, tensor<1024x4096xbf16>
  %a = graph.gelu %h : tensor<8x512x4096xbf16>
  %w2 = graph.param "fc2" : tensor<4096x1024xbf16>
  %y = graph.linear %a, %w2 : tensor<8x512x4096xbf16>, tensor<4096x1024xbf16>
  return %y : tensor<8x512x1024xbf16>
}

//--- rails.mlir
topo.mesh @cloud {
  topo.chip_kind @g catalog "a100-sxm-80gb"
  topo.link_kind @nv3 catalog "nvlink3"
  topo.link_kind @eth catalog "ethernet-100g"
  topo.group "cluster" switched via @eth {
    topo.group "node" x 2 switched via @nv3 { topo.chips @g x 4 }
  }
}

//--- one-nic.mlir
topo.mesh @cloud {
  topo.chip_kind @g catalog "a100-sxm-80gb"
  topo.link_kind @nv3 catalog "nvlink3"
  topo.link_kind @eth catalog "ethernet-100g"
  topo.group "cluster" switched via @eth {
    topo.group "node" x 2 switched via @nv3 ports 1 { topo.chips @g x 4 }
  }
}

//--- deep.mlir
topo.mesh @deep {
  topo.chip_kind @g catalog "h100-sxm"
  topo.link_kind @l catalog "nvlink4"
  topo.link_kind @e catalog "ethernet-100g"
  topo.group "top" switched via @e {
    topo.group "g0" x 2 switched via @e ports 1 {
      topo.group "g1" x 2 switched via @e ports 1 {
        topo.group "g2" x 2 switched via @e ports 1 {
          topo.group "g3" x 2 switched via @e ports 1 {
            topo.group "g4" x 2 switched via @e ports 1 {
              topo.group "g5" x 2 switched via @e ports 1 {
                topo.group "g6" x 2 switched via @e ports 1 {
                  topo.chips @g x 8192
                }
              }
            }
          }
        }
      }
    }
  }
}
