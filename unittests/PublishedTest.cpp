//===- PublishedTest.cpp - The cost model against published measurements --===//
//
// Each case prices a published measurement's exact configuration and
// prints predicted against measured; it fails if the error leaves the band
// stated for it, so a change that makes the model worse is seen. None of
// these measurements was used to set a constant (docs/cost-model.md says
// which numbers each constant came from). The table is quoted in
// docs/cost-model.md; regenerate it with
//   build/unittests/chipmesh-unittests --gtest_filter='Published*'
//
//===----------------------------------------------------------------------===//

#include "TestUtils.h"
#include "chipmesh/CostModel/CommModel.h"
#include "chipmesh/CostModel/ModelCost.h"
#include "chipmesh/Import/HFConfig.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace chipmesh;
using chipmesh::test::IRTest;

namespace {
constexpr double GiB = 1024.0 * 1024.0 * 1024.0;

class PublishedTest : public IRTest {
protected:
  /// Prints one row and checks |predicted / measured - 1| <= band.
  static void compare(StringRef what, StringRef unit, double predicted,
                      double measured, double band, StringRef source) {
    double error = predicted / measured - 1;
    llvm::outs() << llvm::formatv("| {0} | {1:F1} {2} | {3:F1} {2} | {4:+0;-0}% "
                                  "| {5} |\n",
                                  what, predicted, unit, measured,
                                  llvm::formatv("{0:F1}", error * 100), source);
    EXPECT_LE(std::abs(error), band) << what.str();
  }
  MeshView mesh(StringRef source) {
    module = parse(source);
    FailureOr<MeshView> built = MeshView::build(first<topo::MeshOp>(*module));
    EXPECT_TRUE(succeeded(built));
    return *built;
  }
  static ComputeModel chip(StringRef id) {
    ChipKindSpec spec = MeshView::resolve(*lookupCatalogChip(id));
    return ComputeModel(spec, Calibration().chip(spec));
  }
  /// Tokens per second of one chip training `config` with `microBatch`
  /// sequences of `seq` tokens (compute only: data-parallel communication
  /// assumed overlapped, as FSDP does).
  double trainingTokensPerS(StringRef config, int64_t microBatch, int64_t seq,
                            Recompute recompute, StringRef chipId) {
    HFImportOptions opts;
    opts.batch = microBatch;
    opts.seqLen = seq;
    opts.dtype = "bf16";
    opts.flashAttention = true;
    auto m = importHFConfig(config, "config.json", opts, &context);
    EXPECT_TRUE(m);
    if (!m)
      return 0;
    CostOptions options;
    options.recompute = recompute;
    FailureOr<ModelProfile> p = profileModel(first<func::FuncOp>(*m), options);
    EXPECT_TRUE(succeeded(p));
    ChipEstimate e = estimateOnChip(*p, chip(chipId), options);
    return microBatch * seq / e.stepS;
  }
  OwningOpRef<ModuleOp> module;
};

// MPT-7B (MosaicML): d 4096, 32 layers, 32 heads, vocab 50432, 2048 tokens,
// GELU MLP of 4d. GPT-2's architecture adds biases and a learned position
// table (+0.2% parameters); MPT uses ALiBi.
constexpr const char *kMpt7B = R"({"model_type": "gpt2", "n_embd": 4096,
  "n_layer": 32, "n_head": 32, "vocab_size": 50432, "n_positions": 2048})";
} // namespace

TEST_F(PublishedTest, MatmulThroughput) {
  auto m = parse(R"(
    func.func @mm(%a: tensor<8192x8192xf16>, %b: tensor<8192x8192xf16>) -> tensor<8192x8192xf16> {
      %c = graph.matmul %a, %b : tensor<8192x8192xf16>, tensor<8192x8192xf16>
      return %c : tensor<8192x8192xf16>
    }
    func.func @mm4(%a: tensor<4096x4096xbf16>, %b: tensor<4096x4096xbf16>) -> tensor<4096x4096xbf16> {
      %c = graph.matmul %a, %b : tensor<4096x4096xbf16>, tensor<4096x4096xbf16>
      return %c : tensor<4096x4096xbf16>
    }
    func.func @mm2(%a: tensor<2048x2048xf16>, %b: tensor<2048x2048xf16>) -> tensor<2048x2048xf16> {
      %c = graph.matmul %a, %b : tensor<2048x2048xf16>, tensor<2048x2048xf16>
      return %c : tensor<2048x2048xf16>
    })");
  SmallVector<graph::MatmulOp> ops;
  m->walk([&](graph::MatmulOp op) { ops.push_back(op); });
  ASSERT_EQ(ops.size(), 3u);
  auto tflops = [&](graph::MatmulOp op, StringRef id) {
    KernelCost k = KernelCost::of(op);
    return k.forwardFlops / chip(id).time(k).forwardS / 1e12;
  };
  compare("A100 SXM, FP16 GEMM 8192^3", "TFLOP/s",
          tflops(ops[0], "a100-sxm-80gb"), 253.7, 0.15,
          "Azure AI-benchmarking-guide, ND A100 v4");
  compare("A100 SXM, FP16 GEMM 2048^3", "TFLOP/s",
          tflops(ops[2], "a100-sxm-80gb"), 221.8, 0.15,
          "Azure AI-benchmarking-guide, ND A100 v4");
  compare("H100 SXM, BF16 GEMM 4096^3", "TFLOP/s",
          tflops(ops[1], "h100-sxm"), 788.7, 0.15,
          "zzc0721/torch-performance-test-data #79");
  compare("H100 PCIe, BF16 GEMM 4096^3", "TFLOP/s",
          tflops(ops[1], "h100-pcie"), 495.9, 0.15,
          "zzc0721/torch-performance-test-data #95");
}

TEST_F(PublishedTest, CollectiveBandwidth) {
  // Bus bandwidth as nccl-tests defines it for all-reduce: 2(n-1)/n S / t.
  auto busbw = [](double bytes, unsigned n, double seconds) {
    return 2.0 * (n - 1) / n * bytes / seconds / 1e9;
  };
  std::vector<unsigned> sixteen(16), eight(8);
  for (unsigned i = 0; i < 16; ++i)
    sixteen[i] = i;
  for (unsigned i = 0; i < 8; ++i)
    eight[i] = i;
  {
    // DGX A100: 8 GPUs on NVSwitch, 8 HDR 200 Gb/s NICs per node.
    MeshView v = mesh(R"(
      topo.mesh @dgx {
        topo.chip_kind @a100 catalog "a100-sxm-80gb"
        topo.link_kind @nvl catalog "nvlink3"
        topo.link_kind @ib catalog "infiniband-hdr"
        topo.group "cluster" switched via @ib {
          topo.group "node" x 2 switched via @nvl { topo.chips @a100 x 8 }
        }
      })");
    CommModel comm(v, Calibration());
    double s = 8 * GiB;
    compare("2 x DGX-A100 (8 x HDR), all-reduce 8 GiB", "GB/s busbw",
            busbw(s, 16, comm.collective(CollectiveKind::AllReduce, sixteen, s)
                             .seconds),
            192, 0.25, "NVIDIA/nccl issue 812 (maintainer)");
  }
  {
    // OCI BM.GPU4.8: 8 A100 40GB, 16 x 100 GbE RoCE per node = 25 GB/s
    // per GPU.
    MeshView v = mesh(R"(
      topo.mesh @oci {
        topo.chip_kind @a100 catalog "a100-sxm-80gb"
        topo.link_kind @nvl catalog "nvlink3"
        topo.link_kind @roce {bytes_per_s = 2.5e10, latency_s = 5.0e-6, technology = #topo.technology<roce>}
        topo.group "cluster" switched via @roce {
          topo.group "node" x 2 switched via @nvl { topo.chips @a100 x 8 }
        }
      })");
    CommModel comm(v, Calibration());
    double s = 8 * GiB;
    compare("2 x 8 A100, 16 x 100G RoCE, all-reduce 8 GiB", "GB/s busbw",
            busbw(s, 16, comm.collective(CollectiveKind::AllReduce, sixteen, s)
                             .seconds),
            237.9, 0.3, "oracle-quickstart/oci-hpc-oke NCCL test");
    compare("2 x 8 A100, 16 x 100G RoCE, all-reduce 8 B", "us",
            comm.collective(CollectiveKind::AllReduce, sixteen, 8.0).seconds *
                1e6,
            36.47, 0.6, "oracle-quickstart/oci-hpc-oke NCCL test");
  }
  {
    MeshView v = mesh(R"(
      topo.mesh @hgx {
        topo.chip_kind @h100 catalog "h100-sxm"
        topo.link_kind @nvl catalog "nvlink4"
        topo.group "node" switched via @nvl { topo.chips @h100 x 8 }
      })");
    CommModel comm(v, Calibration());
    double s = 8 * GiB;
    // NCCL reduces inside the NVSwitch (NVLS) here, which the model does
    // not: a known gap of about a quarter.
    compare("8 x H100 SXM (NVLS), all-reduce 8 GiB", "GB/s busbw",
            busbw(s, 8, comm.collective(CollectiveKind::AllReduce, eight, s)
                            .seconds),
            478.9, 0.3, "Azure AI-benchmarking-guide, ND H100 v5");
  }
}

TEST_F(PublishedTest, TrainingThroughput) {
  // MosaicML llm-foundry benchmarks (FSDP, BF16, seq 2048), tokens/s/GPU.
  compare("MPT-7B, H100 80GB, micro-batch 6", "tok/s/GPU",
          trainingTokensPerS(kMpt7B, 6, 2048, Recompute::None, "h100-sxm"),
          10643, 0.4, "mosaicml/llm-foundry benchmarking README");
  compare("MPT-7B, A100 80GB, micro-batch 6", "tok/s/GPU",
          trainingTokensPerS(kMpt7B, 6, 2048, Recompute::None, "a100-sxm-80gb"),
          4641, 0.25, "mosaicml/llm-foundry benchmarking README");
  compare("MPT-7B, A100 40GB x 128, micro-batch 18, act. ckpt", "tok/s/GPU",
          trainingTokensPerS(kMpt7B, 18, 2048, Recompute::Full, "a100-sxm-80gb"),
          3623, 0.25, "mosaicml/llm-foundry benchmarking README");
}
