//===- MeshViewTest.cpp - Expanding meshes and routing between chips ------===//

#include "TestUtils.h"
#include "chipmesh/Dialect/Topo/MeshView.h"

using namespace mlir;
using namespace chipmesh;
using chipmesh::test::IRTest;

namespace {
class MeshViewTest : public IRTest {
protected:
  MeshView view(StringRef source) {
    module = parse(source);
    auto mesh = first<topo::MeshOp>(*module);
    FailureOr<MeshView> built = MeshView::build(mesh);
    EXPECT_TRUE(succeeded(built));
    return *built;
  }
  OwningOpRef<ModuleOp> module;
};
} // namespace

TEST_F(MeshViewTest, TwoSwitchedNodes) {
  MeshView v = view(R"(
    topo.mesh @m {
      topo.chip_kind @a100 catalog "a100-sxm-80gb"
      topo.link_kind @nvl catalog "nvlink3"
      topo.link_kind @ib catalog "infiniband-hdr"
      topo.group "cluster" switched via @ib {
        topo.group "node" x 2 switched via @nvl {
          topo.chips @a100 x 8
        }
      }
    })");
  ASSERT_EQ(v.numChips(), 16u);
  EXPECT_EQ(v.chips()[9].path, "cluster/node[1]/a100[1]");
  EXPECT_EQ(v.groups().size(), 3u);
  EXPECT_EQ(v.groups()[2].firstChip, 8u);
  // Same node: one NVLink-3 traversal, 300 GB/s, 2.2 us.
  MeshPath inside = v.path(0, 7);
  EXPECT_DOUBLE_EQ(inside.bottleneckBytesPerS, 300e9);
  EXPECT_NEAR(inside.latencyS, 2.2e-6, 1e-12);
  EXPECT_EQ(inside.linkKinds.size(), 1u);
  // Across nodes: each GPU's own HDR port (rail-style), 25 GB/s, 0.8 us.
  MeshPath across = v.path(0, 9);
  EXPECT_DOUBLE_EQ(across.bottleneckBytesPerS, 25e9);
  EXPECT_NEAR(across.latencyS, 0.8e-6, 1e-12);
  // 1 GB over that path: 0.8 us + 1e9 / 25e9 s = 40.0008 ms.
  EXPECT_NEAR(across.transferTime(1e9), 0.04 + 0.8e-6, 1e-12);
  EXPECT_FALSE(v.path(3, 3).reachable());
}

TEST_F(MeshViewTest, RingCountsHops) {
  MeshView v = view(R"(
    topo.mesh @m {
      topo.chip_kind @c {bf16_flop_per_s = 1.0e14 : f64, memory_bytes = 1.0e10 : f64, memory_bytes_per_s = 1.0e12 : f64}
      topo.link_kind @l {bytes_per_s = 1.0e10 : f64, latency_s = 1.0e-6 : f64}
      topo.group "ring" ring via @l {
        topo.chips @c x 6
      }
    })");
  // 0 -> 3 is three hops either way round; 0 -> 5 is one (the ring closes).
  EXPECT_EQ(v.path(0, 3).linkKinds.size(), 3u);
  EXPECT_NEAR(v.path(0, 3).latencyS, 3e-6, 1e-15);
  EXPECT_EQ(v.path(0, 5).linkKinds.size(), 1u);
  EXPECT_DOUBLE_EQ(v.path(0, 3).bottleneckBytesPerS, 1e10);
}

TEST_F(MeshViewTest, IrregularBridgeAndWidestPath) {
  // Two PCIe pairs joined by a slow bridge, plus a fast detour 0-3.
  MeshView v = view(R"(
    topo.mesh @m {
      topo.chip_kind @c catalog "rtx-4090"
      topo.link_kind @pcie catalog "pcie4-x16"
      topo.link_kind @bridge catalog "host-bridge-pcie4"
      topo.link_kind @fast {bytes_per_s = 1.0e11 : f64, latency_s = 5.0e-6 : f64}
      topo.group "left" full_mesh via @pcie {
        topo.chips @c x 2
      }
      topo.group "right" full_mesh via @pcie {
        topo.chips @c x 2
      }
      topo.link 1 to 2 via @bridge
      topo.link 0 to 3 via @fast
    })");
  // 1 -> 2: the direct bridge (12.6 GB/s) is slower than 1-0-3-2, which is
  // bounded by PCIe (31.5 GB/s): the widest path wins.
  MeshPath p = v.path(1, 2);
  EXPECT_DOUBLE_EQ(p.bottleneckBytesPerS, 31.5e9);
  EXPECT_EQ(p.linkKinds.size(), 3u);
  EXPECT_NEAR(p.latencyS, 15.5e-6 + 5e-6 + 15.5e-6, 1e-12);
  EXPECT_DOUBLE_EQ(v.path(0, 3).bottleneckBytesPerS, 1e11);
}

TEST_F(MeshViewTest, MixedKindsAndOverrides) {
  MeshView v = view(R"(
    topo.mesh @m {
      topo.chip_kind @a100 catalog "a100-sxm-80gb" {price_usd = 10000.0 : f64}
      topo.chip_kind @v100 catalog "v100-sxm2-32gb"
      topo.link_kind @nvl catalog "nvlink2"
      topo.group "node" switched via @nvl {
        topo.chips @a100 x 2
        topo.chips @v100 x 2
      }
    })");
  ASSERT_EQ(v.numChips(), 4u);
  EXPECT_EQ(v.kindOf(0).name, "a100");
  EXPECT_EQ(v.kindOf(3).name, "v100");
  EXPECT_DOUBLE_EQ(v.kindOf(0).priceUsd, 10000);
  EXPECT_TRUE(v.kindOf(0).supports(DType::BF16));
  EXPECT_FALSE(v.kindOf(3).supports(DType::BF16));
  EXPECT_DOUBLE_EQ(v.kindOf(3).memoryBytes, 32.0 * (1ull << 30));
}

TEST_F(MeshViewTest, FourThousandChipsExpandQuickly) {
  MeshView v = view(R"(
    topo.mesh @big {
      topo.chip_kind @h100 catalog "h100-sxm"
      topo.link_kind @nvl catalog "nvlink4"
      topo.link_kind @ib catalog "infiniband-ndr"
      topo.group "cluster" switched via @ib {
        topo.group "node" x 512 switched via @nvl {
          topo.chips @h100 x 8
        }
      }
    })");
  ASSERT_EQ(v.numChips(), 4096u);
  EXPECT_EQ(v.chips()[4095].path, "cluster/node[511]/h100[7]");
  EXPECT_DOUBLE_EQ(v.path(0, 4095).bottleneckBytesPerS, 50e9);
  EXPECT_DOUBLE_EQ(v.path(4088, 4095).bottleneckBytesPerS, 450e9);
}

TEST_F(MeshViewTest, RoutesFromOneSourceMatchPairwisePaths) {
  // Every kind of interconnect and an irregular bridge: the all-targets
  // routes must give exactly the pairwise widest-then-fastest paths.
  MeshView v = view(R"(
    topo.mesh @m {
      topo.chip_kind @a catalog "a100-sxm-80gb"
      topo.chip_kind @n catalog "ascend-910b"
      topo.link_kind @nvl catalog "nvlink3"
      topo.link_kind @hccs catalog "hccs-910b"
      topo.link_kind @ib catalog "infiniband-hdr"
      topo.link_kind @pcie catalog "pcie4-x16"
      topo.group "cluster" switched via @ib {
        topo.group "gpu" x 2 switched via @nvl { topo.chips @a x 4 }
        topo.group "npu" full_mesh via @hccs { topo.chips @n x 4 }
        topo.group "ring" ring via @pcie { topo.chips @a x 3 }
      }
      topo.link 0 to 8 via @pcie
    })");
  for (unsigned from = 0; from < v.numChips(); ++from) {
    MeshView::Routes routes = v.routesFrom(from);
    for (unsigned to = 0; to < v.numChips(); ++to) {
      MeshPath a = v.path(from, to), b = v.routeTo(routes, to);
      EXPECT_EQ(a.bottleneckBytesPerS, b.bottleneckBytesPerS) << from << "->" << to;
      EXPECT_EQ(a.latencyS, b.latencyS) << from << "->" << to;
      EXPECT_EQ(a.linkKinds, b.linkKinds) << from << "->" << to;
      ASSERT_EQ(a.hops.size(), b.hops.size());
    }
  }
}
