//===- PartitionTestSupport.h - Partitioner test fixture -------*- C++ -*-===//
//
// Shared by PartitionTest.cpp and PartitionScheduleTest.cpp: small models
// with hand-computable costs and a fixture that builds a mesh, its link
// model and its chip models.
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_UNITTESTS_PARTITIONTESTSUPPORT_H
#define CHIPMESH_UNITTESTS_PARTITIONTESTSUPPORT_H

#include "TestUtils.h"
#include "chipmesh/Partition/Partitioner.h"

namespace chipmesh::partition_test {

using namespace mlir;
using chipmesh::test::IRTest;

// Seven pipeline units of unequal weight: linear 1024->4096, relu,
// linear 4096->1024, a layer x3 (linear 1024->1024 + gelu), linear 1024->1024.
constexpr const char *kChain = R"(
  func.func @forward(%x: tensor<8x512x1024xbf16>) -> tensor<8x512x1024xbf16> {
    %w1 = graph.param "w1" : tensor<1024x4096xbf16>
    %a = graph.linear %x, %w1 : tensor<8x512x1024xbf16>, tensor<1024x4096xbf16>
    %r = graph.relu %a : tensor<8x512x4096xbf16>
    %w2 = graph.param "w2" : tensor<4096x1024xbf16>
    %b = graph.linear %r, %w2 : tensor<8x512x4096xbf16>, tensor<4096x1024xbf16>
    %c = graph.layer "blk" repeat 3 (%b) : (tensor<8x512x1024xbf16>) -> tensor<8x512x1024xbf16> {
    ^bb0(%in: tensor<8x512x1024xbf16>):
      %w = graph.param "w" : tensor<1024x1024xbf16>
      %y = graph.linear %in, %w : tensor<8x512x1024xbf16>, tensor<1024x1024xbf16>
      %g = graph.gelu %y : tensor<8x512x1024xbf16>
      graph.yield %g : tensor<8x512x1024xbf16>
    }
    %w3 = graph.param "w3" : tensor<1024x1024xbf16>
    %d = graph.linear %c, %w3 : tensor<8x512x1024xbf16>, tensor<1024x1024xbf16>
    return %d : tensor<8x512x1024xbf16>
  })";

// Two fast and two slow chips of different kinds behind PCIe, plus a
// second, slower network between the pairs.
constexpr const char *kMixedFour = R"(
  topo.mesh @four {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.chip_kind @v100 catalog "v100-sxm2-32gb"
    topo.link_kind @nvl catalog "nvlink4"
    topo.link_kind @nv2 catalog "nvlink2"
    topo.link_kind @net catalog "roce-100g"
    topo.group "cluster" switched via @net {
      topo.group "fast" switched via @nvl { topo.chips @h100 x 2 }
      topo.group "slow" switched via @nv2 { topo.chips @v100 x 2 }
    }
  })";

class PartitionTest : public IRTest {
protected:
  void SetUp() override {
    model = parse(kChain);
    meshModule = parse(kMixedFour);
    ASSERT_TRUE(model && meshModule);
    FailureOr<MeshView> built =
        MeshView::build(first<topo::MeshOp>(*meshModule));
    ASSERT_TRUE(succeeded(built));
    mesh = std::make_unique<MeshView>(std::move(*built));
    comm = std::make_unique<CommModel>(*mesh, calibration);
    for (const ChipKindSpec &kind : mesh->chipKinds())
      kinds.emplace_back(kind, calibration.chip(kind));
  }

  /// Every strategy, layout, micro-batch and split over every chip of
  /// `over` (the fixture's mesh by default): the optimum.
  double bruteForce(const PartitionOptions &options, uint64_t globalBatch,
                    unsigned &evaluated, const MeshView *over = nullptr,
                    const CommModel *overComm = nullptr,
                    const std::vector<ComputeModel> *overKinds = nullptr,
                    unsigned *feasible = nullptr) {
    const MeshView &mesh = over ? *over : *this->mesh;
    const CommModel &comm = overComm ? *overComm : *this->comm;
    const std::vector<ComputeModel> &kinds =
        overKinds ? *overKinds : this->kinds;
    func::FuncOp func = first<func::FuncOp>(*model);
    double best = std::numeric_limits<double>::infinity();
    unsigned n = mesh.numChips();
    for (uint64_t mb = 1; mb <= globalBatch; mb *= 2) {
      CostOptions cost;
      cost.mode = options.mode;
      cost.recompute = options.recompute;
      cost.microBatch = static_cast<double>(mb);
      FailureOr<ModelProfile> profile = profileModel(func, cost);
      EXPECT_TRUE(succeeded(profile));
      unsigned layers = profile->numUnits();
      for (unsigned dp = 1; dp <= n; ++dp)
        for (unsigned tp = 1; dp * tp <= n; ++tp) {
          if (n % (dp * tp))
            continue;
          unsigned pp = n / (dp * tp);
          if (pp > layers || globalBatch / mb < dp)
            continue;
          for (ReplicaLayout layout :
               {ReplicaLayout::Blocked, ReplicaLayout::Strided}) {
            if (layout == ReplicaLayout::Strided && (dp == 1 || dp == n))
              continue;
            // Every increasing sequence of pp - 1 boundaries in [1, layers).
            std::vector<unsigned> b(pp - 1);
            std::function<void(unsigned, unsigned)> rec = [&](unsigned k,
                                                              unsigned from) {
              if (k + 1 == pp || pp == 1) {
                // Every ZeRO stage the options allow (dp = 1 has none).
                for (unsigned zero = 0; zero <= kMaxZeroStage; ++zero) {
                  if (zero > 0 && (dp == 1 || options.mode != Mode::Train))
                    break;
                  if (!(options.zeroStages >> zero & 1u) &&
                      !(zero == 0 && (dp == 1 || options.mode != Mode::Train)))
                    continue;
                  ++evaluated;
                  std::optional<Plan> plan =
                      evaluatePlan(*profile, mesh, comm, kinds, options,
                                   {dp, pp, tp}, layout, b, globalBatch, zero);
                  if (plan)
                    best = std::min(best, plan->score);
                  if (plan && feasible)
                    ++*feasible;
                }
                return;
              }
              for (unsigned x = from; x < layers; ++x) {
                b[k] = x;
                rec(k + 1, x + 1);
              }
            };
            rec(0, 1);
          }
        }
    }
    return best;
  }

  /// Another mesh, with its cost models, for tests that need one.
  struct OtherMesh {
    OwningOpRef<ModuleOp> module;
    std::unique_ptr<MeshView> mesh;
    std::unique_ptr<CommModel> comm;
    std::vector<ComputeModel> kinds;
  };
  std::unique_ptr<OtherMesh> buildMesh(StringRef source) {
    auto other = std::make_unique<OtherMesh>();
    other->module = parse(source);
    if (!other->module)
      return nullptr;
    FailureOr<MeshView> built =
        MeshView::build(first<topo::MeshOp>(*other->module));
    EXPECT_TRUE(succeeded(built));
    if (failed(built))
      return nullptr;
    other->mesh = std::make_unique<MeshView>(std::move(*built));
    other->comm = std::make_unique<CommModel>(*other->mesh, calibration);
    for (const ChipKindSpec &kind : other->mesh->chipKinds())
      other->kinds.emplace_back(kind, calibration.chip(kind));
    return other;
  }

  Calibration calibration;
  OwningOpRef<ModuleOp> model, meshModule;
  std::unique_ptr<MeshView> mesh;
  std::unique_ptr<CommModel> comm;
  std::vector<ComputeModel> kinds;
};

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// Eight layers on [16, 32768, 1024] BF16: the layer input A is
// 16 x 32768 x 1024 x 2 B = 2^30 B = 1 GiB. Each layer: linear 1024->4096
// (saves its input, A), gelu (saves its 4096-wide input, 4A), linear
// 4096->1024 (saves the gelu output, 4A): 9 GiB saved, largest result 4 GiB,
// 2 x 1024 x 4096 = 2^23 BF16 parameters (16 MiB).
constexpr const char *kWideLayers = R"(
  func.func @f(%x: tensor<16x32768x1024xbf16>) -> tensor<16x32768x1024xbf16> {
    %out = graph.layer "blk" repeat 8 (%x) : (tensor<16x32768x1024xbf16>) -> tensor<16x32768x1024xbf16> {
    ^bb0(%in: tensor<16x32768x1024xbf16>):
      %w1 = graph.param "up" : tensor<1024x4096xbf16>
      %a = graph.linear %in, %w1 : tensor<16x32768x1024xbf16>, tensor<1024x4096xbf16>
      %g = graph.gelu %a : tensor<16x32768x4096xbf16>
      %w2 = graph.param "down" : tensor<4096x1024xbf16>
      %o = graph.linear %g, %w2 : tensor<16x32768x4096xbf16>, tensor<4096x1024xbf16>
      graph.yield %o : tensor<16x32768x1024xbf16>
    }
    return %out : tensor<16x32768x1024xbf16>
  })";

constexpr const char *kOneA100 = R"(
  topo.mesh @one {
    topo.chip_kind @a100 catalog "a100-sxm-80gb"
    topo.group "node" none { topo.chips @a100 x 1 }
  })";

} // namespace chipmesh::partition_test

#endif // CHIPMESH_UNITTESTS_PARTITIONTESTSUPPORT_H
