//===- PartitionTest.cpp - The partitioner against brute force -----------===//

#include "TestUtils.h"
#include "chipmesh/Partition/Partitioner.h"
#include "llvm/Support/FormatVariadic.h"

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

//===----------------------------------------------------------------------===//
// Full recomputation: checkpoints per layer, one rebuilt layer per chip
//===----------------------------------------------------------------------===//

namespace {
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
} // namespace

TEST_F(PartitionTest, FullRecomputeChargesCheckpointsPlusOneRebuiltLayer) {
  auto wide = parse(kWideLayers);
  auto one = buildMesh(kOneA100);
  ASSERT_TRUE(wide && one);
  func::FuncOp func = first<func::FuncOp>(*wide);
  const double A = kGiB;
  // The unit's facts the rule is built from.
  FailureOr<ModelProfile> profile = profileModel(func, CostOptions());
  ASSERT_TRUE(succeeded(profile));
  ASSERT_EQ(profile->units.size(), 1u);
  const ModelUnit &unit = profile->units[0];
  EXPECT_EQ(unit.repeat, 8u);
  EXPECT_DOUBLE_EQ(unit.inputBytes, A);
  EXPECT_DOUBLE_EQ(unit.savedBytes, 9 * A);
  EXPECT_DOUBLE_EQ(unit.largestResultBytes, 4 * A);
  EXPECT_EQ(unit.parameters, 1u << 23);
  // State: 8 x 16 MiB weights = 128 MiB, as much again in gradients, and
  // Adam's FP32 master + m + v at 12 B x 2^26 = 768 MiB: 1 GiB in all.
  double weights = 8 * 16.0 * 1024 * 1024;
  double state = 2 * weights + adamStateBytes(8u << 23, weights);
  EXPECT_DOUBLE_EQ(state, 1 * kGiB);
  const double reserved = 1 * kGiB; // Calibration's default per chip

  PartitionOptions options;
  options.recompute = Recompute::Full;
  options.globalBatch = 32;
  options.microBatch = 16; // the traced batch: A stays 1 GiB; 2 micro-batches
  std::string why;
  // GPipe keeps both micro-batches in flight: 1 GiB state + 8 layers x
  // 1 GiB x 2 checkpoints + one rebuilt layer (9 GiB) + workspace 2 x 4 GiB
  // + 1 GiB reserved = 35 GiB.
  options.schedule = Schedule::GPipe;
  FailureOr<PartitionResult> found =
      partitionModel(func, *one->mesh, calibration, options, why);
  ASSERT_TRUE(succeeded(found)) << why;
  ASSERT_EQ(found->plan.stages.size(), 1u);
  const DevicePlan &d = found->plan.devices[0];
  EXPECT_DOUBLE_EQ(d.capacityBytes, 80 * kGiB);
  EXPECT_DOUBLE_EQ(d.memoryBytes,
                   state + 8 * A * 2 + 9 * A + 2 * 4 * A + reserved);
  EXPECT_DOUBLE_EQ(d.memoryBytes, 35 * kGiB);
  // 1F1B with one stage holds one micro-batch: 1 + 8 + 9 + 8 + 1 = 27 GiB.
  options.schedule = Schedule::OneFOneB;
  found = partitionModel(func, *one->mesh, calibration, options, why);
  ASSERT_TRUE(succeeded(found)) << why;
  EXPECT_DOUBLE_EQ(found->plan.devices[0].memoryBytes,
                   state + 8 * A * 1 + 9 * A + 2 * 4 * A + reserved);
  EXPECT_DOUBLE_EQ(found->plan.devices[0].memoryBytes, 27 * kGiB);
  // The old rule charged every layer's whole saved set (8 x 9 GiB), as no
  // recomputation does: 1 + 72 + 8 + 1 = 82 GiB > 80 GiB even with one
  // micro-batch in flight, so nothing fits without recomputation.
  EXPECT_GT(state + 8 * 9 * A + 2 * 4 * A + reserved, d.capacityBytes);
  options.recompute = Recompute::None;
  EXPECT_TRUE(failed(partitionModel(func, *one->mesh, calibration, options, why)));
  EXPECT_NE(why.find("with activations of micro-batch 16"), std::string::npos)
      << why;
}

//===----------------------------------------------------------------------===//
// Tensor groups never cross a node
//===----------------------------------------------------------------------===//

namespace {
// Two nodes of four chips, a different kind in each: chips 0-3 are A100s
// on NVLink 3, chips 4-7 V100s on NVLink 2, InfiniBand between the nodes.
constexpr const char *kTwoKindNodes = R"(
  topo.mesh @two {
    topo.chip_kind @a100 catalog "a100-sxm-80gb"
    topo.chip_kind @v100 catalog "v100-sxm2-32gb"
    topo.link_kind @nv3 catalog "nvlink3"
    topo.link_kind @nv2 catalog "nvlink2"
    topo.link_kind @ib catalog "infiniband-hdr"
    topo.group "cluster" switched via @ib {
      topo.group "anode" switched via @nv3 { topo.chips @a100 x 4 }
      topo.group "vnode" switched via @nv2 { topo.chips @v100 x 4 }
    }
  })";

// Two nodes of three A100s: a pair of consecutive chips {2, 3} straddles them.
constexpr const char *kThreeChipNodes = R"(
  topo.mesh @threes {
    topo.chip_kind @a100 catalog "a100-sxm-80gb"
    topo.link_kind @nv3 catalog "nvlink3"
    topo.link_kind @ib catalog "infiniband-hdr"
    topo.group "cluster" switched via @ib {
      topo.group "node" x 2 switched via @nv3 { topo.chips @a100 x 3 }
    }
  })";

/// Stage boundaries spreading 7 layers over pp stages.
std::vector<unsigned> spread(unsigned pp) {
  std::vector<unsigned> bounds;
  for (unsigned s = 1; s < pp; ++s)
    bounds.push_back(s * 7 / pp);
  return bounds;
}
} // namespace

TEST_F(PartitionTest, TensorGroupsLieInOneNodeOfOneKind) {
  auto two = buildMesh(kTwoKindNodes);
  ASSERT_TRUE(two);
  const MeshView &m = *two->mesh;
  CostOptions cost;
  cost.microBatch = 1;
  FailureOr<ModelProfile> profile =
      profileModel(first<func::FuncOp>(*model), cost);
  ASSERT_TRUE(succeeded(profile));
  PartitionOptions options;
  auto evaluate = [&](Strategy s, ReplicaLayout layout) {
    return evaluatePlan(*profile, m, *two->comm, two->kinds, options, s,
                        layout, spread(s.pp), 8);
  };
  // Every strategy with 1 < tp <= 4 (the node size), both layouts.
  const Strategy strategies[] = {{1, 4, 2}, {2, 2, 2}, {4, 1, 2},
                                 {1, 2, 4}, {2, 1, 4}};
  for (Strategy s : strategies)
    for (ReplicaLayout layout : {ReplicaLayout::Blocked, ReplicaLayout::Strided}) {
      std::optional<Plan> plan = evaluate(s, layout);
      std::string what = llvm::formatv("dp={0},pp={1},tp={2} {3}", s.dp, s.pp,
                                       s.tp, stringifyReplicaLayout(layout))
                             .str();
      ASSERT_TRUE(plan) << what;
      ASSERT_EQ(plan->stages.size(), s.pp) << what;
      for (const StagePlan &stage : plan->stages) {
        ASSERT_EQ(stage.devices.size(), s.dp) << what;
        for (const std::vector<unsigned> &group : stage.devices) {
          ASSERT_EQ(group.size(), s.tp) << what;
          for (unsigned c : group) {
            EXPECT_EQ(m.chips()[c].group, m.chips()[group[0]].group) << what;
            EXPECT_EQ(m.chips()[c].kind, m.chips()[group[0]].kind) << what;
          }
        }
      }
    }
  // Strided dp=2,pp=2,tp=2: blocks of tp = 2 consecutive chips {0,1},
  // {2,3}, {4,5}, {6,7}; block b goes to replica b % 2, and a replica's
  // blocks serve its stages in order. Replica 0: blocks 0 and 2, replica
  // 1: blocks 1 and 3.
  std::optional<Plan> plan = evaluate({2, 2, 2}, ReplicaLayout::Strided);
  ASSERT_TRUE(plan);
  using Groups = std::vector<std::vector<unsigned>>;
  EXPECT_EQ(plan->stages[0].devices, (Groups{{0, 1}, {2, 3}}));
  EXPECT_EQ(plan->stages[1].devices, (Groups{{4, 5}, {6, 7}}));
  EXPECT_EQ(plan->devices[4].replica, 0u);
  EXPECT_EQ(plan->devices[4].stage, 1u);
  EXPECT_EQ(plan->devices[2].replica, 1u);
  EXPECT_EQ(plan->devices[2].stage, 0u);
  // Blocked: replica 0 takes chips 0-3 (stages {0,1}, {2,3}), replica 1
  // chips 4-7.
  plan = evaluate({2, 2, 2}, ReplicaLayout::Blocked);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->stages[0].devices, (Groups{{0, 1}, {4, 5}}));
  EXPECT_EQ(plan->stages[1].devices, (Groups{{2, 3}, {6, 7}}));
  // Strided dp=2,pp=1,tp=4: whole blocks {0-3} and {4-7}; taking every
  // second chip ({0,2,4,6}) would put A100s and V100s in one group across
  // InfiniBand.
  plan = evaluate({2, 1, 4}, ReplicaLayout::Strided);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->stages[0].devices, (Groups{{0, 1, 2, 3}, {4, 5, 6, 7}}));
  // tp = 8 exceeds the largest node (4): asked for explicitly, the one
  // group spans both nodes.
  plan = evaluate({1, 1, 8}, ReplicaLayout::Blocked);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->stages[0].devices, (Groups{{0, 1, 2, 3, 4, 5, 6, 7}}));
}

TEST_F(PartitionTest, TensorPairsStraddlingThreeChipNodesAreRefused) {
  auto threes = buildMesh(kThreeChipNodes);
  ASSERT_TRUE(threes);
  func::FuncOp func = first<func::FuncOp>(*model);
  // tp = 2 on 6 chips: blocks {0,1}, {2,3}, {4,5}; {2,3} joins chip 2 of
  // node 0 and chip 3 of node 1, whichever replica or stage it serves.
  for (Strategy s : {Strategy{1, 3, 2}, Strategy{3, 1, 2}}) {
    PartitionOptions options;
    options.fixed = s;
    std::string why;
    EXPECT_TRUE(failed(
        partitionModel(func, *threes->mesh, calibration, options, why)));
    EXPECT_NE(why.find("inside one node"), std::string::npos) << why;
    CostOptions cost;
    cost.microBatch = 1;
    FailureOr<ModelProfile> profile = profileModel(func, cost);
    ASSERT_TRUE(succeeded(profile));
    for (ReplicaLayout layout : {ReplicaLayout::Blocked, ReplicaLayout::Strided})
      EXPECT_FALSE(evaluatePlan(*profile, *threes->mesh, *threes->comm,
                                threes->kinds, options, s, layout,
                                spread(s.pp), 8));
  }
  // tp = 3 fits a node exactly; tp = 6 exceeds it and may cross.
  for (Strategy s : {Strategy{2, 1, 3}, Strategy{1, 1, 6}}) {
    PartitionOptions options;
    options.fixed = s;
    std::string why;
    FailureOr<PartitionResult> found =
        partitionModel(func, *threes->mesh, calibration, options, why);
    ASSERT_TRUE(succeeded(found)) << why;
    EXPECT_EQ(found->plan.stages[0].devices[0].size(), s.tp);
  }
}
