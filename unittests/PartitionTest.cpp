//===- PartitionTest.cpp - The partitioner against brute force -----------===//

#include "TestUtils.h"
#include "chipmesh/Partition/Partitioner.h"

using namespace mlir;
using namespace chipmesh;
using chipmesh::test::IRTest;

namespace {
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
    FailureOr<MeshView> built = MeshView::build(first<topo::MeshOp>(*meshModule));
    ASSERT_TRUE(succeeded(built));
    mesh = std::make_unique<MeshView>(std::move(*built));
    comm = std::make_unique<CommModel>(*mesh, calibration);
    for (const ChipKindSpec &kind : mesh->chipKinds())
      kinds.emplace_back(kind, calibration.chip(kind));
  }

  /// Every strategy, layout, micro-batch and split: the optimum.
  double bruteForce(const PartitionOptions &options, uint64_t globalBatch,
                    unsigned &evaluated) {
    func::FuncOp func = first<func::FuncOp>(*model);
    double best = std::numeric_limits<double>::infinity();
    unsigned n = mesh->numChips();
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
                ++evaluated;
                std::optional<Plan> plan =
                    evaluatePlan(*profile, *mesh, *comm, kinds, options,
                                 {dp, pp, tp}, layout, b, globalBatch);
                if (plan)
                  best = std::min(best, plan->score);
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
} // namespace

TEST_F(PartitionTest, PipelineSimulationMatchesHandSchedules) {
  // Equal stages, no sends: GPipe and 1F1B both take (m + p - 1)(f + b).
  EXPECT_DOUBLE_EQ(simulatePipeline(Schedule::GPipe, {1, 1, 1}, {2, 2, 2},
                                    {0, 0}, {0, 0}, 4, true),
                   (4 + 3 - 1) * 3.0);
  EXPECT_DOUBLE_EQ(simulatePipeline(Schedule::OneFOneB, {1, 1, 1}, {2, 2, 2},
                                    {0, 0}, {0, 0}, 4, true),
                   (4 + 3 - 1) * 3.0);
  // A slow middle stage sets the pace: the first forward reaches it at 1;
  // it is then busy 4 x (2 + 4) = 24, idle once (1) waiting for the last
  // stage's first backward, and the last backward drains through stage 0
  // (2): 1 + 24 + 1 + 2 = 28.
  EXPECT_DOUBLE_EQ(simulatePipeline(Schedule::OneFOneB, {1, 2, 1}, {2, 4, 2},
                                    {0, 0}, {0, 0}, 4, true),
                   28.0);
  // Inference: forwards only, sends on the critical path once each.
  EXPECT_DOUBLE_EQ(simulatePipeline(Schedule::OneFOneB, {1, 1}, {0, 0}, {0.5},
                                    {0}, 3, false),
                   1 + 0.5 + 3 * 1.0);
  // One stage: m (f + b).
  EXPECT_DOUBLE_EQ(simulatePipeline(Schedule::GPipe, {1}, {2}, {}, {}, 5, true),
                   15.0);
}

TEST_F(PartitionTest, SearchFindsTheBruteForceOptimum) {
  for (Schedule schedule : {Schedule::OneFOneB, Schedule::GPipe})
    for (Mode mode : {Mode::Train, Mode::Infer}) {
      PartitionOptions options;
      options.schedule = schedule;
      options.mode = mode;
      options.globalBatch = 16;
      unsigned evaluated = 0;
      double optimum = bruteForce(options, 16, evaluated);
      ASSERT_TRUE(std::isfinite(optimum));
      EXPECT_GT(evaluated, 100u);
      std::string why;
      FailureOr<PartitionResult> found = partitionModel(
          first<func::FuncOp>(*model), *mesh, calibration, options, why);
      ASSERT_TRUE(succeeded(found)) << why;
      EXPECT_DOUBLE_EQ(found->plan.score, optimum)
          << stringifySchedule(schedule).str() << " "
          << stringifyMode(mode).str();
      EXPECT_GE(found->plan.stepS, found->lowerBoundS);
      // The DP split (no exhaustive enumeration) stays within 10%.
      options.exhaustiveSplits = 0;
      found = partitionModel(first<func::FuncOp>(*model), *mesh, calibration,
                             options, why);
      ASSERT_TRUE(succeeded(found)) << why;
      EXPECT_LE(found->plan.score, optimum * 1.10);
    }
}

TEST_F(PartitionTest, SameAnswerForAnyThreadCount) {
  PartitionOptions options;
  options.globalBatch = 32;
  options.exhaustiveSplits = 0; // exercise the DP path too
  std::string why;
  std::optional<Plan> reference;
  for (unsigned threads : {1u, 2u, 3u, 8u})
    for (int run = 0; run < 2; ++run) {
      options.threads = threads;
      FailureOr<PartitionResult> found = partitionModel(
          first<func::FuncOp>(*model), *mesh, calibration, options, why);
      ASSERT_TRUE(succeeded(found)) << why;
      const Plan &plan = found->plan;
      if (!reference) {
        reference = plan;
        continue;
      }
      EXPECT_EQ(plan.stepS, reference->stepS); // bitwise
      EXPECT_TRUE(plan.strategy == reference->strategy);
      EXPECT_EQ(plan.microBatch, reference->microBatch);
      ASSERT_EQ(plan.stages.size(), reference->stages.size());
      for (size_t s = 0; s < plan.stages.size(); ++s) {
        EXPECT_EQ(plan.stages[s].firstLayer, reference->stages[s].firstLayer);
        EXPECT_EQ(plan.stages[s].devices, reference->stages[s].devices);
      }
    }
}

TEST_F(PartitionTest, UnevenSharesFollowSpeed) {
  // Force one tensor-parallel group of all four chips: the H100s, about
  // 8x faster than the V100s on BF16 (V100 has no BF16: FP32 fallback),
  // hold most of every tensor, and every member finishes together.
  PartitionOptions options;
  options.globalBatch = 8;
  options.fixed = Strategy{1, 1, 4};
  std::string why;
  FailureOr<PartitionResult> found = partitionModel(
      first<func::FuncOp>(*model), *mesh, calibration, options, why);
  ASSERT_TRUE(succeeded(found)) << why;
  const std::vector<double> &shares = found->plan.stages[0].shares[0];
  ASSERT_EQ(shares.size(), 4u);
  EXPECT_NEAR(shares[0] + shares[1] + shares[2] + shares[3], 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(shares[0], shares[1]);
  EXPECT_GT(shares[0], 4 * shares[2]);
  // Shares follow whole-model speed; per-op speed ratios differ a little,
  // so members finish within a few percent of each other.
  const Plan &plan = found->plan;
  EXPECT_NEAR(plan.devices[2].computeS / plan.devices[0].computeS, 1.0, 0.15);
}

TEST_F(PartitionTest, InfeasibleSaysByHowMuch) {
  // 2^34 BF16 parameters: 256 GiB of training state (16 bytes each) on
  // 2 x 80 + 2 x 32 GB, less 1 GiB reserved per chip: 220 GiB.
  auto big = parse(R"(
    func.func @forward(%x: tensor<1x131072xbf16>) -> tensor<1x131072xbf16> {
      %w = graph.param "w" : tensor<131072x131072xbf16>
      %y = graph.linear %x, %w : tensor<1x131072xbf16>, tensor<131072x131072xbf16>
      return %y : tensor<1x131072xbf16>
    })");
  PartitionOptions options;
  std::string why;
  EXPECT_TRUE(failed(partitionModel(first<func::FuncOp>(*big), *mesh,
                                    calibration, options, why)));
  EXPECT_EQ(why, "no plan fits in memory: the model's weights, gradients and "
                 "optimizer states alone take 256.0 GiB but the 4 chips hold "
                 "220.0 GiB usable (short by 36.0 GiB); at least 4 chips of "
                 "kind 'h100' would hold it");
}
