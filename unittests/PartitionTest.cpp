//===- PartitionTest.cpp - The partitioner against brute force -----------===//

#include "PartitionTestSupport.h"
#include "chipmesh/Partition/Partitioner.h"
#include "llvm/Support/FormatVariadic.h"
#include <random>

using namespace mlir;
using namespace chipmesh;
using namespace chipmesh::partition_test;

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

TEST(PipelineSimulation, PlayingInOrderMatchesPlayingDevicesInTurn) {
  // Without events simulatePipeline computes GPipe and 1F1B in one fixed
  // order; with events it plays the devices in turn. Same sums, same
  // maxima: identical makespans and device end times, to the bit.
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> time(0.0, 3.0);
  unsigned compared = 0;
  for (Schedule schedule : {Schedule::OneFOneB, Schedule::GPipe})
    for (bool training : {true, false})
      for (size_t p = 1; p <= 7; ++p)
        for (uint64_t m = 1; m <= 11; ++m) {
          std::vector<double> fwd, bwd, sendF, sendB;
          for (size_t s = 0; s < p; ++s) {
            fwd.push_back(time(rng));
            bwd.push_back(training ? time(rng) : 0.0);
            if (s + 1 < p) {
              // Some sends free, as between chips of one node.
              sendF.push_back(s % 3 == 0 ? 0.0 : time(rng) / 4);
              sendB.push_back(training ? time(rng) / 4 : 0.0);
            }
          }
          std::vector<PipeEvent> events;
          std::vector<double> endsInTurn, endsInOrder;
          double inTurn = simulatePipeline(schedule, fwd, bwd, sendF, sendB, m,
                                           training, &events, &endsInTurn);
          double inOrder = simulatePipeline(schedule, fwd, bwd, sendF, sendB, m,
                                            training, nullptr, &endsInOrder);
          ASSERT_EQ(events.size(), p * m * (training ? 2 : 1));
          EXPECT_EQ(inTurn, inOrder) << "p " << p << " m " << m;
          EXPECT_EQ(endsInTurn, endsInOrder) << "p " << p << " m " << m;
          ++compared;
        }
  EXPECT_EQ(compared, 2u * 2 * 7 * 11);
}

TEST_F(PartitionTest, SearchFindsTheBruteForceOptimum) {
  for (Schedule schedule : {Schedule::OneFOneB, Schedule::GPipe})
    for (Mode mode : {Mode::Train, Mode::Infer}) {
      PartitionOptions options;
      options.schedule = schedule;
      options.mode = mode;
      options.globalBatch = 16;
      // Every chip placed: the brute force below enumerates that space
      // (SubMeshSearchFindsTheBruteForceOptimum covers idle chips).
      options.useAllChips = true;
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

TEST_F(PartitionTest, MemoryTightSearchFindsTheBruteForceOptimum) {
  // The search refuses layouts whose state and activations cannot fit
  // under any split before pricing them, and prunes by bounds that count
  // tensor communication and whole layers. Where memory rules most plans
  // out, it must still find the brute-force optimum (or say none fits).
  unsigned tight = 0;
  for (Mode mode : {Mode::Train, Mode::Infer})
    for (unsigned step = 0; step <= 40; ++step) {
      // From 90% to 99% held back: the chips' reserve is then most of
      // what is left, and the largest plans stop fitting one by one.
      double headroom = 0.90 + 0.09 * step / 40;
      PartitionOptions options;
      options.mode = mode;
      options.globalBatch = 16;
      options.useAllChips = true;
      options.memoryHeadroom = headroom;
      options.zeroStages = kAllZeroStages;
      unsigned evaluated = 0, feasible = 0;
      double optimum = bruteForce(options, 16, evaluated, nullptr, nullptr,
                                  nullptr, &feasible);
      std::string why;
      FailureOr<PartitionResult> found = partitionModel(
          first<func::FuncOp>(*model), *mesh, calibration, options, why);
      std::string where = llvm::formatv("{0}, headroom {1}",
                                        stringifyMode(mode), headroom).str();
      if (!std::isfinite(optimum)) {
        EXPECT_TRUE(failed(found)) << where;
        continue;
      }
      ASSERT_TRUE(succeeded(found)) << where << ": " << why;
      EXPECT_DOUBLE_EQ(found->plan.score, optimum) << where;
      if (feasible < evaluated / 2)
        ++tight;
    }
  // Some settings left fewer than half the plans feasible, and still one.
  EXPECT_GT(tight, 0u);
}

// The two H100s alone and the two V100s alone, as meshes of their own: the
// sub-meshes the search may fall back to on kMixedFour.
constexpr const char *kFastPair = R"(
  topo.mesh @fast {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "fast" switched via @nvl { topo.chips @h100 x 2 }
  })";
constexpr const char *kSlowPair = R"(
  topo.mesh @slow {
    topo.chip_kind @v100 catalog "v100-sxm2-32gb"
    topo.link_kind @nv2 catalog "nvlink2"
    topo.group "slow" switched via @nv2 { topo.chips @v100 x 2 }
  })";

TEST_F(PartitionTest, SubMeshSearchFindsTheBruteForceOptimum) {
  // kMixedFour's sub-meshes are the whole mesh, the H100 node and the
  // V100 node (one kind each, whole nodes): the search's best is the
  // least of the three brute-force optima, and it reports the chips it
  // leaves out and a valid bound for using them all.
  auto fast = buildMesh(kFastPair), slow = buildMesh(kSlowPair);
  ASSERT_TRUE(fast && slow);
  for (Mode mode : {Mode::Train, Mode::Infer}) {
    PartitionOptions options;
    options.mode = mode;
    options.globalBatch = 16;
    unsigned evaluated = 0;
    double whole = bruteForce(options, 16, evaluated);
    double fastOnly = bruteForce(options, 16, evaluated, fast->mesh.get(),
                                 fast->comm.get(), &fast->kinds);
    double slowOnly = bruteForce(options, 16, evaluated, slow->mesh.get(),
                                 slow->comm.get(), &slow->kinds);
    double optimum = std::min({whole, fastOnly, slowOnly});
    std::string why;
    FailureOr<PartitionResult> found = partitionModel(
        first<func::FuncOp>(*model), *mesh, calibration, options, why);
    ASSERT_TRUE(succeeded(found)) << why;
    EXPECT_DOUBLE_EQ(found->plan.score, optimum) << stringifyMode(mode).str();
    EXPECT_EQ(found->subMeshes, 3u);
    std::vector<unsigned> placed;
    for (const DevicePlan &d : found->plan.devices)
      if (!d.idle)
        placed.push_back(d.chip);
    if (optimum < whole) {
      // Idle chips are exactly the ones no stage holds, and using every
      // chip is at least as slow as the bound says.
      EXPECT_FALSE(found->idleChips.empty());
      EXPECT_EQ(placed.size() + found->idleChips.size(), 4u);
      EXPECT_LE(found->allChipsScore, whole * (1 + 1e-12));
      EXPECT_GT(found->allChipsScore, found->plan.score);
      EXPECT_FALSE(describeIdleChips(*found, options.objective, 4).empty());
    } else {
      EXPECT_TRUE(found->idleChips.empty());
      EXPECT_EQ(placed.size(), 4u);
    }
    for (const StagePlan &stage : found->plan.stages)
      for (const auto &group : stage.devices)
        for (unsigned c : group)
          EXPECT_FALSE(llvm::is_contained(found->idleChips, c));
  }
}

TEST_F(PartitionTest, AChipTooSlowToHelpIsLeftIdle) {
  // Issue 20's case in small: one H100 and a chip of 1 TFLOP/s on the
  // same switch. Using the slow chip can only lengthen the step; the plan
  // is the H100 alone, exactly as on a mesh of just the H100, and
  // use-all-chips gives the slower two-chip plan back.
  auto pair = buildMesh(R"(
    topo.mesh @pair {
      topo.chip_kind @h100 catalog "h100-sxm"
      topo.chip_kind @crawl {bf16_flop_per_s = 1.0e12, memory_bytes = 80.0e9, memory_bytes_per_s = 1.0e11}
      topo.link_kind @nvl catalog "nvlink4"
      topo.group "node" switched via @nvl {
        topo.chips @h100 x 1
        topo.chips @crawl x 1
      }
    })");
  auto alone = buildMesh(R"(
    topo.mesh @alone {
      topo.chip_kind @h100 catalog "h100-sxm"
      topo.link_kind @nvl catalog "nvlink4"
      topo.group "node" switched via @nvl { topo.chips @h100 x 1 }
    })");
  ASSERT_TRUE(pair && alone);
  for (Mode mode : {Mode::Train, Mode::Infer}) {
    PartitionOptions options;
    options.mode = mode;
    options.globalBatch = 16;
    std::string why;
    func::FuncOp func = first<func::FuncOp>(*model);
    FailureOr<PartitionResult> withSlow =
        partitionModel(func, *pair->mesh, calibration, options, why);
    FailureOr<PartitionResult> single =
        partitionModel(func, *alone->mesh, calibration, options, why);
    ASSERT_TRUE(succeeded(withSlow) && succeeded(single)) << why;
    EXPECT_EQ(withSlow->idleChips, std::vector<unsigned>{1});
    EXPECT_TRUE(withSlow->plan.devices[1].idle);
    EXPECT_FALSE(withSlow->plan.devices[0].idle);
    EXPECT_DOUBLE_EQ(withSlow->plan.stepS, single->plan.stepS);
    options.useAllChips = true;
    FailureOr<PartitionResult> forced =
        partitionModel(func, *pair->mesh, calibration, options, why);
    ASSERT_TRUE(succeeded(forced)) << why;
    EXPECT_TRUE(forced->idleChips.empty());
    EXPECT_GT(forced->plan.stepS, withSlow->plan.stepS);
    // The reason names the better plan's time and the all-chip one.
    std::string reason = describeIdleChips(*withSlow, options.objective, 2);
    EXPECT_NE(reason.find("1 of the 2 chips left idle"), std::string::npos) << reason;
  }
}

TEST_F(PartitionTest, AddingANodeNeverSlowsTheBestPlan) {
  // Metamorphic: random meshes of up to three kinds in nodes of 1-4
  // chips; appending one more node (a chip of an existing kind or of a
  // new, possibly very slow kind) never makes the best plan slower.
  const char *catalog[] = {"h100-sxm", "a100-sxm-80gb", "v100-sxm2-32gb",
                           "ascend-910b", "mtt-s4000"};
  std::mt19937 rng(20261202);
  auto meshText = [&](const std::vector<std::pair<unsigned, unsigned>> &nodes,
                      bool crawl) {
    // nodes: (kind index, chips); kind 5 = a 1 TFLOP/s chip.
    std::string text = "topo.mesh @m {\n";
    for (unsigned k = 0; k < 5; ++k)
      text += llvm::formatv("  topo.chip_kind @k{0} catalog \"{1}\"\n", k, catalog[k]).str();
    if (crawl)
      text += "  topo.chip_kind @k5 {bf16_flop_per_s = 1.0e12, "
              "memory_bytes = 32.0e9, memory_bytes_per_s = 1.0e11}\n";
    text += "  topo.link_kind @pcie catalog \"pcie4-x16\"\n"
            "  topo.link_kind @net catalog \"roce-100g\"\n"
            "  topo.group \"cluster\" switched via @net {\n";
    for (auto [i, node] : llvm::enumerate(nodes))
      text += llvm::formatv("    topo.group \"n{0}\" switched via @pcie {{ "
                            "topo.chips @k{1} x {2} }\n",
                            i, node.first, node.second)
                  .str();
    return text + "  }\n}\n";
  };
  func::FuncOp func = first<func::FuncOp>(*model);
  unsigned compared = 0;
  for (int trial = 0; trial < 60; ++trial) {
    std::vector<std::pair<unsigned, unsigned>> nodes;
    unsigned count = 1 + rng() % 3;
    for (unsigned i = 0; i < count; ++i)
      nodes.push_back({static_cast<unsigned>(rng() % 3), 1 + static_cast<unsigned>(rng() % 4)});
    std::vector<std::pair<unsigned, unsigned>> grown = nodes;
    unsigned added = rng() % 3 == 0 ? 5 : rng() % 5;
    grown.push_back({added, 1 + static_cast<unsigned>(rng() % 2)});
    auto before = buildMesh(meshText(nodes, false));
    auto after = buildMesh(meshText(grown, added == 5));
    ASSERT_TRUE(before && after);
    PartitionOptions options;
    options.globalBatch = 16;
    options.mode = trial % 2 ? Mode::Infer : Mode::Train;
    std::string why;
    FailureOr<PartitionResult> small =
        partitionModel(func, *before->mesh, calibration, options, why);
    if (failed(small))
      continue; // nothing fits before: any answer after is no worse
    FailureOr<PartitionResult> large =
        partitionModel(func, *after->mesh, calibration, options, why);
    ASSERT_TRUE(succeeded(large)) << "trial " << trial << ": " << why;
    EXPECT_LE(large->plan.stepS, small->plan.stepS * (1 + 1e-12))
        << "trial " << trial << "\n" << meshText(grown, added == 5);
    ++compared;
  }
  EXPECT_GE(compared, 50u);
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
  // A copy: `found` is reassigned below.
  const DevicePlan d = found->plan.devices[0];
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
