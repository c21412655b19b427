//===- HFImportTest.cpp - Hugging Face configs to graph models ------------===//

#include "TestUtils.h"
#include "chipmesh/Analysis/ModelSummary.h"
#include "chipmesh/Import/HFConfig.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace mlir;
using namespace chipmesh;
using chipmesh::test::IRTest;

namespace {
class HFImportTest : public IRTest {
protected:
  OwningOpRef<ModuleOp> import(StringRef text, HFImportOptions options = {}) {
    return importHFConfig(text, "config.json", options, &context);
  }
  std::string errorOf(StringRef text, HFImportOptions options = {}) {
    std::string message;
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      message = diag.str();
      return success();
    });
    EXPECT_FALSE(import(text, options));
    return message;
  }
};
} // namespace

/// Every config in examples/models against the exact count in params.tsv.
TEST_F(HFImportTest, ExactParameterCounts) {
  auto table = llvm::MemoryBuffer::getFile(CHIPMESH_EXAMPLES_DIR "/models/params.tsv");
  ASSERT_TRUE(bool(table));
  SmallVector<StringRef> lines;
  (*table)->getBuffer().split(lines, '\n', -1, false);
  unsigned checked = 0;
  for (StringRef line : lines) {
    if (line.starts_with("#"))
      continue;
    auto [file, count] = line.split('\t');
    uint64_t expected = 0;
    ASSERT_FALSE(count.trim().getAsInteger(10, expected)) << line.str();
    auto config = llvm::MemoryBuffer::getFile(
        (CHIPMESH_EXAMPLES_DIR "/models/" + file).str());
    ASSERT_TRUE(bool(config)) << file.str();
    HFImportOptions options;
    options.seqLen = 16;
    options.training = !file.starts_with("bert"); // BertModel = inference
    auto module = import((*config)->getBuffer(), options);
    ASSERT_TRUE(module) << file.str();
    ASSERT_TRUE(succeeded(mlir::verify(*module))) << file.str();
    ModelSummary s = summarizeModel(first<func::FuncOp>(*module));
    EXPECT_EQ(s.totals.parameters, expected) << file.str();
    ++checked;
  }
  EXPECT_GE(checked, 11u);
}

TEST_F(HFImportTest, Gpt2TrainingFlopsFollowSixND) {
  // GPT-2 small, b=1, s=1024: forward is close to 2*N*T plus attention;
  // (Kaplan et al. 2020: C_fwd ~ 2N + 2 n_layer n_ctx d_model per token).
  auto config = llvm::MemoryBuffer::getFile(CHIPMESH_EXAMPLES_DIR "/models/gpt2.json");
  ASSERT_TRUE(bool(config));
  HFImportOptions options;
  options.seqLen = 1024;
  auto module = import((*config)->getBuffer(), options);
  ASSERT_TRUE(module);
  ModelSummary s = summarizeModel(first<func::FuncOp>(*module));
  double tokens = 1024, n = 124439808;
  // Non-embedding matmuls + tied head: 2 * (85M + 38.6M) per token, plus
  // causal attention; the estimate must sit within 10% of 2*N*T + attention.
  double kaplan = 2 * n * tokens + 2.0 * 12 * 1024 * 768 * tokens;
  EXPECT_NEAR(s.totals.forwardFlops / kaplan, 1.0, 0.1);
  EXPECT_NEAR(s.totals.backwardFlops / s.totals.forwardFlops, 2.0, 0.1);
}

TEST_F(HFImportTest, UnknownArchitectureIsNamed) {
  EXPECT_EQ(errorOf(R"({"model_type": "falcon", "hidden_size": 8})"),
            "unsupported model_type 'falcon'; supported: gpt2, llama, "
            "mistral, qwen2, mixtral, bert");
}

TEST_F(HFImportTest, MissingFieldIsNamed) {
  EXPECT_EQ(errorOf(R"({"model_type": "llama", "vocab_size": 10, "hidden_size": 8})"),
            "config is missing required field 'num_hidden_layers' "
            "(model_type 'llama')");
}

TEST_F(HFImportTest, BadValuesAreLocated) {
  std::string message;
  Location where = UnknownLoc::get(&context);
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    message = diag.str();
    where = diag.getLocation();
    return success();
  });
  EXPECT_FALSE(import("{\n  \"model_type\": \"gpt2\",\n  \"vocab_size\": -5\n}"));
  EXPECT_EQ(message, "field 'vocab_size' must be in [1, 2^40], got -5");
  auto file = dyn_cast<FileLineColLoc>(where);
  ASSERT_TRUE(file);
  EXPECT_EQ(file.getLine(), 3u);
}

TEST_F(HFImportTest, InvalidJson) {
  EXPECT_NE(errorOf("{ not json").find("invalid JSON"), std::string::npos);
  EXPECT_EQ(errorOf("[1, 2]"), "config must be a JSON object");
}

TEST_F(HFImportTest, GroupedQueryHeadsMustDivide) {
  EXPECT_EQ(errorOf(R"({"model_type": "mistral", "vocab_size": 10, "hidden_size": 64,
    "num_hidden_layers": 1, "num_attention_heads": 8, "num_key_value_heads": 3,
    "intermediate_size": 32})"),
            "8 attention heads are not a multiple of 3 key/value heads");
}

TEST_F(HFImportTest, InferenceWithKvCache) {
  auto config = llvm::MemoryBuffer::getFile(CHIPMESH_EXAMPLES_DIR "/models/llama-2-7b.json");
  ASSERT_TRUE(bool(config));
  HFImportOptions options;
  options.training = false;
  options.seqLen = 1;
  options.kvCache = 1023;
  auto module = import((*config)->getBuffer(), options);
  ASSERT_TRUE(module);
  auto attention = first<graph::AttentionOp>(*module);
  EXPECT_EQ(attention.getKvCache(), 1023u);
  // One new token attends to 1023 cached and itself.
  EXPECT_DOUBLE_EQ(attention.getScorePairs(), 1024);
  auto func = first<func::FuncOp>(*module);
  EXPECT_EQ(func.getFunctionType().getNumResults(), 1u);
  EXPECT_EQ(cast<RankedTensorType>(func.getFunctionType().getResult(0)).getShape(),
            ArrayRef<int64_t>({1, 1, 32000}));
}
