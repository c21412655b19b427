//===- CostInterfaceTest.cpp - Op costs against hand-computed values ------===//

#include "TestUtils.h"
#include "chipmesh/Analysis/ModelSummary.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace chipmesh;
using namespace chipmesh::graph;
using chipmesh::test::IRTest;

namespace {
class CostTest : public IRTest {
protected:
  /// Parses `body` into a function with the given signature and returns
  /// the cost interface of the op of type OpTy.
  template <typename OpTy>
  CostOpInterface costOf(OwningOpRef<ModuleOp> &module) {
    return cast<CostOpInterface>(first<OpTy>(*module).getOperation());
  }
};
} // namespace

TEST_F(CostTest, Matmul) {
  // [2,3,4] x [4,5]: 2 * (2*3*5) * 4 = 240 FLOPs; f32 reads 24+20 elements.
  auto m = parse(R"(
    func.func @f(%a: tensor<2x3x4xf32>, %b: tensor<4x5xf32>) -> tensor<2x3x5xf32> {
      %y = graph.matmul %a, %b : tensor<2x3x4xf32>, tensor<4x5xf32>
      return %y : tensor<2x3x5xf32>
    })");
  auto cost = costOf<MatmulOp>(m);
  EXPECT_DOUBLE_EQ(cost.getForwardFlops(), 240);
  EXPECT_DOUBLE_EQ(cost.getBackwardFlops(), 480);
  EXPECT_DOUBLE_EQ(cost.getBytesRead(), (24 + 20) * 4);
  EXPECT_DOUBLE_EQ(cost.getBytesWritten(), 30 * 4);
  SmallVector<Value> saved;
  cost.getSavedValues(saved);
  EXPECT_EQ(saved.size(), 2u); // both operands are activations
}

TEST_F(CostTest, MatmulTransposedBroadcast) {
  // [4,1,8,16] x [3,32,16]^T -> [4,3,8,32]: 2 * 4*3*8*32 * 16 FLOPs.
  auto m = parse(R"(
    func.func @f(%a: tensor<4x1x8x16xbf16>, %b: tensor<3x32x16xbf16>) -> tensor<4x3x8x32xbf16> {
      %y = graph.matmul %a, %b {transpose_rhs} : tensor<4x1x8x16xbf16>, tensor<3x32x16xbf16>
      return %y : tensor<4x3x8x32xbf16>
    })");
  EXPECT_DOUBLE_EQ(costOf<MatmulOp>(m).getForwardFlops(), 2.0 * 4 * 3 * 8 * 32 * 16);
}

TEST_F(CostTest, LinearWithBias) {
  // 2 * 8*32 * 16 + 8*32 (bias) = 8448; params are not saved activations.
  auto m = parse(R"(
    func.func @f(%x: tensor<8x16xbf16>) -> tensor<8x32xbf16> {
      %w = graph.param "w" : tensor<16x32xbf16>
      %b = graph.param "b" : tensor<32xbf16>
      %y = graph.linear %x, %w, %b : tensor<8x16xbf16>, tensor<16x32xbf16>, tensor<32xbf16>
      return %y : tensor<8x32xbf16>
    })");
  auto cost = costOf<LinearOp>(m);
  EXPECT_DOUBLE_EQ(cost.getForwardFlops(), 8448);
  EXPECT_DOUBLE_EQ(cost.getBytesRead(), (128 + 512 + 32) * 2);
  SmallVector<Value> saved;
  cost.getSavedValues(saved);
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_TRUE(isa<BlockArgument>(saved[0]));
  auto param = costOf<ParamOp>(m);
  EXPECT_EQ(param.getParameterCount(), 512u);
  EXPECT_DOUBLE_EQ(param.getParameterBytes(), 1024);
}

TEST_F(CostTest, Conv2d) {
  // x [1,3,8,8], w [4,3,3,3], padding 1 -> [1,4,8,8];
  // 2 * (4*8*8) * (3*3*3) = 13824 FLOPs.
  auto m = parse(R"(
    func.func @f(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32> {
      %y = graph.conv2d %x, %w {padding = array<i64: 1, 1>} : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>
      return %y : tensor<1x4x8x8xf32>
    })");
  EXPECT_DOUBLE_EQ(costOf<Conv2dOp>(m).getForwardFlops(), 13824);
  // Stride 2, groups 3 (depthwise-like): x [2,6,9,9], w [6,2,3,3] -> [2,6,4,4]
  // 2 * (2*6*4*4) * (2*3*3) = 6912.
  auto g = parse(R"(
    func.func @f(%x: tensor<2x6x9x9xf32>, %w: tensor<6x2x3x3xf32>) -> tensor<2x6x4x4xf32> {
      %y = graph.conv2d %x, %w {strides = array<i64: 2, 2>, groups = 3 : i64} : tensor<2x6x9x9xf32>, tensor<6x2x3x3xf32>
      return %y : tensor<2x6x4x4xf32>
    })");
  EXPECT_DOUBLE_EQ(costOf<Conv2dOp>(g).getForwardFlops(), 6912);
}

TEST_F(CostTest, AttentionPairsAndFlops) {
  // B=2, Sq=Skv=4, Hq=8, Hkv=2, D=16: full attention has 16 pairs per head;
  // (4D + 5) = 69 FLOPs per pair per head -> 2*8*16*69.
  const char *shapes = "tensor<2x4x8x16xbf16>, tensor<2x4x2x16xbf16>, tensor<2x4x2x16xbf16>";
  auto build = [&](StringRef attrs) {
    return parse(llvm::formatv(R"(
      func.func @f(%q: tensor<2x4x8x16xbf16>, %k: tensor<2x4x2x16xbf16>, %v: tensor<2x4x2x16xbf16>) -> tensor<2x4x8x16xbf16> {{
        %y = graph.attention %q, %k, %v {0} : {1}
        return %y : tensor<2x4x8x16xbf16>
      })", attrs, shapes).str());
  };
  auto full = build("");
  EXPECT_DOUBLE_EQ(first<AttentionOp>(*full).getScorePairs(), 16);
  EXPECT_DOUBLE_EQ(costOf<AttentionOp>(full).getForwardFlops(), 2.0 * 8 * 16 * 69);
  // Causal: 1+2+3+4 = 10 pairs.
  auto causal = build("{causal}");
  EXPECT_DOUBLE_EQ(first<AttentionOp>(*causal).getScorePairs(), 10);
  // Decode with 6 cached positions, causal: 4*6 + 10 = 34 pairs.
  auto cached = build("{causal, kv_cache = 6 : i64}");
  EXPECT_DOUBLE_EQ(first<AttentionOp>(*cached).getScorePairs(), 34);
  // Reads the cache: 2 (K and V) * B * cache * Hkv * D elements of 2 bytes.
  EXPECT_DOUBLE_EQ(costOf<AttentionOp>(cached).getBytesRead(),
                   (2 * 4 * 8 * 16 + 2 * 2 * 4 * 2 * 16) * 2 + 2.0 * 2 * 6 * 2 * 16 * 2);
  // Flash attention: 2.5x backward, keeps only the fp32 log-sum-exp.
  auto flash = build("{causal, flash}");
  auto fc = costOf<AttentionOp>(flash);
  EXPECT_DOUBLE_EQ(fc.getBackwardFlops(), 2.5 * fc.getForwardFlops());
  EXPECT_DOUBLE_EQ(fc.getInternalSavedBytes(), 2 * 8 * 4 * 4.0);
  // Naive attention keeps B*Hq*Sq*Skv probabilities (2 bytes each).
  EXPECT_DOUBLE_EQ(costOf<AttentionOp>(full).getInternalSavedBytes(), 2 * 8 * 4 * 4 * 2.0);
}

TEST_F(CostTest, MixtureOfExperts) {
  // T = 2*3 tokens, D=8, E=4, F=16, top-2, gated SiLU.
  // router 2*T*D*E = 384; per token and expert: 2*D*F*3 + F*(5+1) + 2*D
  // = 768 + 96 + 16 = 880; 2 * 6 * 880 = 10560. Total 10944.
  auto m = parse(R"(
    func.func @f(%x: tensor<2x3x8xf32>) -> tensor<2x3x8xf32> {
      %r = graph.param "router" : tensor<8x4xf32>
      %u = graph.param "up" : tensor<4x8x16xf32>
      %d = graph.param "down" : tensor<4x16x8xf32>
      %g = graph.param "gate" : tensor<4x8x16xf32>
      %y = graph.moe %x, %r, %u, %d gate %g {top_k = 2 : i64, activation = #graph.activation<silu>} : tensor<2x3x8xf32>, tensor<8x4xf32>, tensor<4x8x16xf32>, tensor<4x16x8xf32>, tensor<4x8x16xf32>
      return %y : tensor<2x3x8xf32>
    })");
  if (!m)
    return;
  EXPECT_DOUBLE_EQ(costOf<MoeOp>(m).getForwardFlops(), 10944);
  ModelSummary summary = summarizeModel(first<func::FuncOp>(*m));
  EXPECT_EQ(summary.totals.parameters, 32u + 3 * 512u);
}

TEST_F(CostTest, ElementwiseAndShapeOps) {
  auto m = parse(R"(
    func.func @f(%x: tensor<4x6xf16>, %y: tensor<6xf16>) -> tensor<6x4xf16> {
      %a = graph.add %x, %y : tensor<4x6xf16>, tensor<6xf16>
      %g = graph.gelu %a : tensor<4x6xf16>
      %s = graph.silu %g : tensor<4x6xf16>
      %r = graph.reshape %s : tensor<4x6xf16> -> tensor<24xf16>
      %b = graph.reshape %r : tensor<24xf16> -> tensor<4x6xf16>
      %t = graph.transpose %b {permutation = array<i64: 1, 0>} : tensor<4x6xf16>
      return %t : tensor<6x4xf16>
    })");
  EXPECT_DOUBLE_EQ(costOf<AddOp>(m).getForwardFlops(), 24);
  EXPECT_DOUBLE_EQ(costOf<GeluOp>(m).getForwardFlops(), 8 * 24);
  EXPECT_DOUBLE_EQ(costOf<SiluOp>(m).getForwardFlops(), 5 * 24);
  EXPECT_DOUBLE_EQ(costOf<ReshapeOp>(m).getBytesRead(), 0); // a view
  EXPECT_DOUBLE_EQ(costOf<TransposeOp>(m).getBytesRead(), 48);
  EXPECT_DOUBLE_EQ(costOf<TransposeOp>(m).getBytesWritten(), 48);
}

TEST_F(CostTest, EmbeddingAndLoss) {
  // Gather of 2*5 rows of 8 f32: reads ids (80 B) + rows (320 B); backward
  // scatter-adds 80 FLOPs. Cross-entropy: 5 FLOPs per logit.
  auto m = parse(R"(
    func.func @f(%ids: tensor<2x5xi64>, %labels: tensor<2x5xi64>) -> tensor<f32> {
      %t = graph.param "table" : tensor<100x8xf32>
      %e = graph.embedding %ids, %t : tensor<2x5xi64>, tensor<100x8xf32>
      %l = graph.matmul %e, %t {transpose_rhs} : tensor<2x5x8xf32>, tensor<100x8xf32>
      %loss = graph.cross_entropy %l, %labels : tensor<2x5x100xf32>, tensor<2x5xi64>
      return %loss : tensor<f32>
    })");
  auto e = costOf<EmbeddingOp>(m);
  EXPECT_DOUBLE_EQ(e.getForwardFlops(), 0);
  EXPECT_DOUBLE_EQ(e.getBackwardFlops(), 80);
  EXPECT_DOUBLE_EQ(e.getBytesRead(), 80 + 320);
  EXPECT_DOUBLE_EQ(costOf<CrossEntropyOp>(m).getForwardFlops(), 5 * 1000);
  // Tied table: one parameter tensor, counted once.
  EXPECT_EQ(summarizeModel(first<func::FuncOp>(*m)).totals.parameters, 800u);
}

TEST_F(CostTest, LayerRepeatMultipliesCosts) {
  auto m = parse(R"(
    func.func @f(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
      %y = graph.layer "blocks" repeat 3 (%x) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
      ^bb0(%in: tensor<4x8xf32>):
        %w = graph.param "w" : tensor<8x8xf32>
        %h = graph.linear %in, %w : tensor<4x8xf32>, tensor<8x8xf32>
        %r = graph.relu %h : tensor<4x8xf32>
        graph.yield %r : tensor<4x8xf32>
      }
      return %y : tensor<4x8xf32>
    })");
  ModelSummary s = summarizeModel(first<func::FuncOp>(*m));
  // Per repeat: 2*4*8*8 = 512 + 32 (relu) FLOPs, 64 params; saved: the
  // linear's input (128 B) and relu's input (128 B).
  EXPECT_EQ(s.totals.parameters, 3u * 64);
  EXPECT_DOUBLE_EQ(s.totals.forwardFlops, 3 * 544.0);
  EXPECT_DOUBLE_EQ(s.totals.backwardFlops, 2 * 3 * 544.0);
  EXPECT_DOUBLE_EQ(s.totals.savedActivationBytes, 3 * 256.0);
  EXPECT_EQ(s.layers, 3u);
}

/// Korthikanti et al. 2022, "Reducing Activation Recomputation in Large
/// Transformer Models", Sec. 4.1: one GPT layer in 16-bit with dropout
/// and no tensor/sequence parallelism stores sbh(34 + 5as/h) bytes.
TEST_F(CostTest, ActivationsMatchKorthikanti2022) {
  const int64_t s = 64, b = 2, h = 128, a = 4;
  std::string ir = test::korthikantiGptLayers(s, b, h, a, /*repeat=*/0);
  auto m = parse(ir);
  ASSERT_TRUE(m);
  ModelSummary summary = summarizeModel(first<func::FuncOp>(*m));
  double sbh = double(s) * b * h;
  double expected = sbh * (34.0 + 5.0 * a * s / h);
  EXPECT_DOUBLE_EQ(summary.totals.savedActivationBytes, expected);
}
