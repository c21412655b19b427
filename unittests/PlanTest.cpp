//===- PlanTest.cpp - Flagship matching against brute force ---------------===//

#include "TestUtils.h"
#include "chipmesh/Dialect/Topo/IR/TopoOps.h"
#include "chipmesh/Import/HFConfig.h"
#include "chipmesh/Plan/Planner.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace mlir;
using namespace chipmesh;

namespace {

class PlanTest : public test::IRTest {
protected:
  std::string read(llvm::StringRef path) {
    auto buffer = llvm::MemoryBuffer::getFile(path);
    EXPECT_TRUE(bool(buffer)) << path.str();
    return buffer ? (*buffer)->getBuffer().str() : std::string();
  }
};

// An inventory of 3 kinds x up to 4 chips: match must return the same
// cheapest mix as partitioning every one of the 124 mixes.
TEST_F(PlanTest, MatchEqualsBruteForce) {
  OwningOpRef<ModuleOp> module =
      parse(read(CHIPMESH_TEST_INPUTS_DIR "/plan-model.mlir"));
  func::FuncOp model = first<func::FuncOp>(*module);
  Planner planner(model, Calibration(), PartitionOptions());
  llvm::Expected<Inventory> inventory =
      parseInventory(read(CHIPMESH_TEST_INPUTS_DIR "/small-inventory.json"), "inv");
  ASSERT_TRUE(bool(inventory)) << llvm::toString(inventory.takeError());
  for (const char *targetSpec : {"h100-sxm:2", "h100-sxm:1", "a100-sxm-80gb:2"}) {
    llvm::Expected<Inventory> targetInv = parseMeshSpec(targetSpec, "roce-200g");
    ASSERT_TRUE(bool(targetInv));
    llvm::Expected<Outcome> target =
        planner.evaluate(meshText(*targetInv, {targetInv->items[0].max}));
    ASSERT_TRUE(bool(target) && target->feasible);
    double targetS = target->stepS();

    // Brute force: every mix, cheapest that meets the target (then fastest).
    std::vector<int64_t> best;
    double bestPrice = 0, bestStep = 0;
    for (int64_t a = 0; a <= 4; ++a)
      for (int64_t b = 0; b <= 4; ++b)
        for (int64_t c = 0; c <= 4; ++c) {
          if (a + b + c == 0)
            continue;
          std::vector<int64_t> counts{a, b, c};
          llvm::Expected<Outcome> o = planner.evaluate(meshText(*inventory, counts));
          ASSERT_TRUE(bool(o));
          if (!o->feasible || o->stepS() > targetS * (1 + 1e-9))
            continue;
          if (best.empty() || o->priceUsd < bestPrice ||
              (o->priceUsd == bestPrice && o->stepS() < bestStep)) {
            best = counts;
            bestPrice = o->priceUsd;
            bestStep = o->stepS();
          }
        }
    MatchOptions options;
    options.maxEvaluations = 1000;
    llvm::Expected<MatchResult> found = match(planner, *inventory, targetS, options);
    ASSERT_TRUE(bool(found));
    EXPECT_TRUE(found->exact);
    if (best.empty()) {
      EXPECT_EQ(found->winner, -1) << targetSpec;
      continue;
    }
    ASSERT_GE(found->winner, 0) << targetSpec;
    const MatchCandidate &winner = found->evaluated[found->winner];
    EXPECT_EQ(winner.counts, best) << targetSpec;
    EXPECT_DOUBLE_EQ(winner.outcome.priceUsd, bestPrice);
    // The bounds must have saved work.
    EXPECT_LT(found->evaluated.size(), 124u) << targetSpec;
  }
}

// Issue 24: a larger inventory never gives a worse answer, and work is
// bounded by what can matter: 100,000 chips of each kind search the same
// counts as 256 of each and find the same mix.
TEST_F(PlanTest, HugeInventoriesGiveTheSameAnswer) {
  OwningOpRef<ModuleOp> module =
      parse(read(CHIPMESH_TEST_INPUTS_DIR "/plan-model.mlir"));
  func::FuncOp model = first<func::FuncOp>(*module);
  Planner planner(model, Calibration(), PartitionOptions());
  llvm::Expected<Inventory> targetInv = parseMeshSpec("h100-sxm:2", "roce-200g");
  ASSERT_TRUE(bool(targetInv));
  llvm::Expected<Outcome> target =
      planner.evaluate(meshText(*targetInv, {targetInv->items[0].max}));
  ASSERT_TRUE(bool(target) && target->feasible);
  auto inventoryOf = [&](int64_t max) {
    return parseInventory(llvm::formatv(R"({{"network": "roce-200g", "chips": [
        {{"kind": "h800-sxm", "max": {0}, "per_node": 8, "price_usd": 35000},
        {{"kind": "a800-sxm-80gb", "max": {0}, "per_node": 8, "price_usd": 20000},
        {{"kind": "v100-sxm2-32gb", "max": {0}, "per_node": 8, "price_usd": 3000}]})",
                                        max)
                              .str(),
                          "inv");
  };
  MatchOptions options;
  options.maxEvaluations = 16;
  std::vector<int64_t> winners[2];
  double prices[2] = {0, 0};
  unsigned considered[2] = {0, 0};
  for (int big = 0; big < 2; ++big) {
    llvm::Expected<Inventory> inventory = inventoryOf(big ? 100000 : 256);
    ASSERT_TRUE(bool(inventory)) << llvm::toString(inventory.takeError());
    llvm::Expected<MatchResult> found = match(planner, *inventory, target->stepS(), options);
    ASSERT_TRUE(bool(found)) << llvm::toString(found.takeError());
    ASSERT_GE(found->winner, 0);
    winners[big] = found->evaluated[found->winner].counts;
    prices[big] = found->evaluated[found->winner].outcome.priceUsd;
    considered[big] = found->considered;
  }
  EXPECT_EQ(winners[0], winners[1]);
  EXPECT_DOUBLE_EQ(prices[0], prices[1]);
  EXPECT_EQ(considered[0], considered[1]);
}

// The export-control question: swapping H100s for H800s (NVLink 900 ->
// 400 GB/s) costs a tensor-parallel-heavy model more on 1024 chips than on
// 8 at the same global batch, because per-chip work shrinks and the
// links' share of the step grows.
TEST_F(PlanTest, H800SlowdownGrowsWithScale) {
  std::string config = read(CHIPMESH_EXAMPLES_DIR "/models/llama-2-70b.json");
  HFImportOptions import;
  import.batch = 1024;
  import.seqLen = 2048;
  import.training = false;
  OwningOpRef<ModuleOp> module = importHFConfig(config, "llama-2-70b.json", import, &context);
  ASSERT_TRUE(module);
  func::FuncOp model = first<func::FuncOp>(*module);
  PartitionOptions options;
  options.mode = Mode::Infer;
  Planner planner(model, Calibration(), options);
  auto stepOn = [&](const char *kind, int64_t chips) {
    llvm::Expected<Inventory> inv =
        parseMeshSpec(std::string(kind) + ":" + std::to_string(chips), "infiniband-ndr");
    EXPECT_TRUE(bool(inv));
    llvm::Expected<Outcome> o = planner.evaluate(meshText(*inv, {chips}));
    EXPECT_TRUE(bool(o) && o->feasible);
    return o && o->feasible ? o->stepS() : 0.0;
  };
  double small = stepOn("h800-sxm", 8) / stepOn("h100-sxm", 8);
  double large = stepOn("h800-sxm", 1024) / stepOn("h100-sxm", 1024);
  EXPECT_GE(small, 1.0);
  EXPECT_GT(large, small + 0.05) << "slowdown at 8: " << small
                                 << ", at 1024: " << large;
}

TEST_F(PlanTest, InventoryErrorsNameTheField) {
  auto error = [](llvm::StringRef text) {
    llvm::Expected<Inventory> inv = parseInventory(text, "inv.json");
    return inv ? std::string() : llvm::toString(inv.takeError());
  };
  EXPECT_EQ(error(R"({"chips": [{"kind": "h100-sxm", "max": -1}]})"),
            "inv.json: chips[0].max: expected an integer in [0, 1048576]");
  EXPECT_EQ(error(R"({"chips": [{"max": 4}]})"), "inv.json: chips[0]: needs \"kind\"");
  EXPECT_EQ(error(R"({"chips": [{"kind": "h100-sxm"}]})"),
            "inv.json: chips[0]: needs \"max\", how many are available");
  EXPECT_EQ(error(R"({"chips": [{"kind": "h100-sxm", "max": 4, "scaleup": "x"}]})")
                .substr(0, 40),
            "inv.json: chips[0].scaleup: unknown link");
  EXPECT_EQ(error(R"({"chips": [], "extra": 1})"),
            "inv.json: unknown key \"extra\" (expected \"chips\" and \"network\")");
}

} // namespace
