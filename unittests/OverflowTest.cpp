//===- OverflowTest.cpp - The largest models do not overflow --------------===//
//
// A 1.3-trillion-parameter LLaMA-style model at a 1M-token context and
// batch 64: training FLOPs per step exceed 2^64 and activations exceed
// 2^64 bytes by far. Counts stay exact where they are integers (parameters)
// and finite and monotone where they are estimates (FLOPs, bytes, seconds).
//
//===----------------------------------------------------------------------===//

#include "TestUtils.h"
#include "chipmesh/Analysis/ModelSummary.h"
#include "chipmesh/CostModel/ModelCost.h"
#include "chipmesh/Import/HFConfig.h"
#include "chipmesh/Partition/Partitioner.h"
#include "mlir/IR/Diagnostics.h"
#include <cmath>

using namespace mlir;
using namespace chipmesh;
using chipmesh::test::IRTest;

namespace {
class OverflowTest : public IRTest {};

constexpr const char *kTrillion = R"({"model_type": "llama",
  "hidden_size": 25600, "intermediate_size": 102400, "num_hidden_layers": 128,
  "num_attention_heads": 200, "num_key_value_heads": 200, "vocab_size": 128000,
  "max_position_embeddings": 1048576, "rms_norm_eps": 1e-05,
  "tie_word_embeddings": false})";
} // namespace

TEST_F(OverflowTest, TrillionParametersAtAMillionTokens) {
  HFImportOptions opts;
  opts.batch = 64;
  opts.seqLen = 1 << 20;
  opts.dtype = "bf16";
  opts.flashAttention = false; // the s^2 probabilities: the largest bytes
  auto m = importHFConfig(kTrillion, "trillion.json", opts, &context);
  ASSERT_TRUE(m);
  func::FuncOp func = first<func::FuncOp>(*m);

  // Exact parameter count: embeddings and head V d, per layer 4 d^2
  // (q, k, v, o) + 3 d f (gate, up, down) + 2 d (norms), final norm d.
  const uint64_t d = 25600, f = 102400, layers = 128, v = 128000;
  const uint64_t expected = 2 * v * d + layers * (4 * d * d + 3 * d * f + 2 * d) + d;
  ModelSummary summary = summarizeModel(func);
  EXPECT_EQ(summary.totals.parameters, expected); // 1,348,993,228,800
  EXPECT_GT(expected, 1'000'000'000'000u);

  // FLOPs and bytes are doubles: past 2^64 (FLOPs) and 2^61 (bytes saved
  // for backward: 3.6 EB) and still finite.
  double flops = summary.totals.forwardFlops + summary.totals.backwardFlops;
  EXPECT_TRUE(std::isfinite(flops));
  EXPECT_GT(flops, std::ldexp(1.0, 64));
  // 6 N tokens is the dense part alone; attention at 1M tokens adds more.
  EXPECT_GT(flops, 6.0 * expected * 64 * (1 << 20));
  EXPECT_TRUE(std::isfinite(summary.totals.savedActivationBytes));
  EXPECT_GT(summary.totals.savedActivationBytes, std::ldexp(1.0, 61));

  // Priced on a chip: finite, positive, and far from fitting.
  CostOptions options;
  FailureOr<ModelProfile> profile = profileModel(func, options);
  ASSERT_TRUE(succeeded(profile));
  EXPECT_EQ(profile->parameters, expected);
  ChipKindSpec spec = MeshView::resolve(*lookupCatalogChip("h100-sxm"));
  ComputeModel chip(spec, Calibration().chip(spec));
  ChipEstimate e = estimateOnChip(*profile, chip, options);
  EXPECT_TRUE(std::isfinite(e.stepS));
  EXPECT_GT(e.stepS, 0);
  EXPECT_TRUE(std::isfinite(e.memory.total()));
  EXPECT_FALSE(e.fits());
  EXPECT_GT(e.shortfallBytes(), 16.0 * expected); // optimizer state alone

  // The partitioner says it does not fit, with finite numbers.
  auto meshModule = parse(R"(
    topo.mesh @cluster {
      topo.chip_kind @h100 catalog "h100-sxm"
      topo.link_kind @nvl catalog "nvlink4"
      topo.link_kind @ib catalog "infiniband-ndr"
      topo.group "cluster" switched via @ib {
        topo.group "node" x 4 switched via @nvl { topo.chips @h100 x 8 }
      }
    })");
  FailureOr<MeshView> mesh = MeshView::build(first<topo::MeshOp>(*meshModule));
  ASSERT_TRUE(succeeded(mesh));
  PartitionOptions partition;
  std::string why;
  EXPECT_TRUE(failed(partitionModel(func, *mesh, Calibration(), partition, why)));
  EXPECT_EQ(why.rfind("no plan fits in memory: the model's weights, gradients "
                      "and optimizer states alone take ", 0),
            0u)
      << why;
}
