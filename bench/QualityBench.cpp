//===- QualityBench.cpp - Plan quality against three baselines -----------===//
//
// For each mesh and model, the step time of ChipMesh's plan against:
//  - uniform:    the best plan whose stages hold equal numbers of layers;
//  - parameters: the best plan whose stages hold equal parameter counts
//                (DeepSpeed's partition_method="parameters");
//  - homogeneous: the best Megatron-style plan that treats every chip alike
//                (equal tensor shares, equal micro-batches per replica,
//                uniform layers), priced on the real mesh.
// Every baseline searches strategies, layouts and micro-batches with the
// same cost model and schedule simulator; only the split rule differs.
// Prints a Markdown table; run: build/bench/chipmesh-bench-quality
//
//===----------------------------------------------------------------------===//

#include "chipmesh/Dialect/Graph/IR/GraphOps.h"
#include "chipmesh/Dialect/Topo/IR/TopoOps.h"
#include "chipmesh/Import/HFConfig.h"
#include "chipmesh/Partition/Partitioner.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"
#include <cmath>

using namespace mlir;
using namespace chipmesh;

namespace {

struct ModelCase {
  const char *name;
  std::string config; ///< config.json text
  int64_t seqLen;
};

std::string readExample(llvm::StringRef name) {
  auto buffer = llvm::MemoryBuffer::getFile(
      (llvm::Twine(CHIPMESH_EXAMPLES_DIR) + "/models/" + name).str());
  return buffer ? (*buffer)->getBuffer().str() : std::string();
}

// Public Hugging Face configs not bundled in examples/ (architecture fields).
const char *kGpt2XL = R"({"model_type": "gpt2", "n_embd": 1600, "n_layer": 48,
  "n_head": 25, "vocab_size": 50257, "n_positions": 1024})";
const char *kLlama2_70B = R"({"model_type": "llama", "hidden_size": 8192,
  "intermediate_size": 28672, "num_hidden_layers": 80,
  "num_attention_heads": 64, "num_key_value_heads": 8, "vocab_size": 32000,
  "max_position_embeddings": 4096, "rms_norm_eps": 1e-05})";

struct MeshCase {
  const char *name;
  const char *ir;
};

const MeshCase kMeshes[] = {
    {"2xA100 + 2xV100 (PCIe box)", R"(
      topo.mesh @m {
        topo.chip_kind @a100 catalog "a100-sxm-80gb"
        topo.chip_kind @v100 catalog "v100-sxm2-32gb"
        topo.link_kind @pcie catalog "pcie4-x16"
        topo.group "box" switched via @pcie {
          topo.chips @a100 x 2
          topo.chips @v100 x 2
        }
      })"},
    {"4x910B + 4xS4000 (examples/meshes/mixed.mlir)", R"(
      topo.mesh @m {
        topo.chip_kind @ascend catalog "ascend-910b"
        topo.chip_kind @mtt catalog "mtt-s4000"
        topo.link_kind @hccs catalog "hccs-910b"
        topo.link_kind @mtlink catalog "mtlink"
        topo.link_kind @roce catalog "roce-200g"
        topo.group "cluster" switched via @roce {
          topo.group "ascend" full_mesh via @hccs { topo.chips @ascend x 4 }
          topo.group "mtt" switched via @mtlink { topo.chips @mtt x 4 }
        }
      })"},
    {"4 x 8 H800 (NVLink 200 GB/s, 8 x 400G IB)", R"(
      topo.mesh @m {
        topo.chip_kind @h800 catalog "h800-sxm"
        topo.link_kind @nvl catalog "nvlink4-h800"
        topo.link_kind @ib catalog "infiniband-ndr"
        topo.group "cluster" switched via @ib {
          topo.group "node" x 4 switched via @nvl { topo.chips @h800 x 8 }
        }
      })"},
    {"4 x 8 H100 (NVLink 450 GB/s, 8 x 400G IB)", R"(
      topo.mesh @m {
        topo.chip_kind @h100 catalog "h100-sxm"
        topo.link_kind @nvl catalog "nvlink4"
        topo.link_kind @ib catalog "infiniband-ndr"
        topo.group "cluster" switched via @ib {
          topo.group "node" x 4 switched via @nvl { topo.chips @h100 x 8 }
        }
      })"},
};

enum class Split { Uniform, Parameters };

/// The best plan over strategies, layouts and micro-batches with stage
/// boundaries from `split`.
double baseline(func::FuncOp func, const MeshView &mesh, const CommModel &comm,
                const std::vector<ComputeModel> &kinds, PartitionOptions options,
                Split split, uint64_t globalBatch) {
  double best = INFINITY;
  unsigned n = mesh.numChips();
  unsigned maxTensor = 1;
  {
    llvm::DenseMap<int, unsigned> perGroup;
    for (const ChipInstance &chip : mesh.chips())
      maxTensor = std::max(maxTensor, ++perGroup[chip.group]);
  }
  for (uint64_t mb = 1; mb <= std::min<uint64_t>(globalBatch, 64); mb *= 2) {
    if (globalBatch % mb)
      continue;
    CostOptions cost;
    cost.mode = options.mode;
    cost.recompute = options.recompute;
    cost.microBatch = static_cast<double>(mb);
    FailureOr<ModelProfile> profile = profileModel(func, cost);
    if (failed(profile))
      continue;
    // Expanded layers and their parameter counts.
    std::vector<double> params;
    for (const ModelUnit &unit : profile->units)
      for (uint64_t r = 0; r < unit.repeat; ++r)
        params.push_back(static_cast<double>(unit.parameters));
    unsigned layers = params.size();
    for (unsigned dp = 1; dp <= n; ++dp)
      for (unsigned tp = 1; tp <= maxTensor && dp * tp <= n; ++tp) {
        if (n % (dp * tp) || globalBatch / mb < dp)
          continue;
        unsigned pp = n / (dp * tp);
        if (pp > layers)
          continue;
        std::vector<unsigned> bounds;
        if (split == Split::Uniform) {
          for (unsigned s = 1; s < pp; ++s)
            bounds.push_back(static_cast<unsigned>(
                std::llround(static_cast<double>(s) * layers / pp)));
        } else {
          double total = 0;
          for (double p : params)
            total += p;
          double running = 0;
          unsigned s = 1;
          for (unsigned l = 0; l < layers && s < pp; ++l) {
            running += params[l];
            if (running >= total * s / pp) {
              bounds.push_back(l + 1);
              ++s;
            }
          }
          while (bounds.size() + 1 < pp)
            bounds.push_back(bounds.empty() ? 1 : bounds.back() + 1);
        }
        // Boundaries must be strictly increasing inside (0, layers).
        bool valid = true;
        for (size_t k = 0; k < bounds.size(); ++k)
          if (bounds[k] == 0 || bounds[k] >= layers ||
              (k && bounds[k] <= bounds[k - 1]))
            valid = false;
        if (!valid)
          continue;
        for (ReplicaLayout layout : {ReplicaLayout::Blocked, ReplicaLayout::Strided}) {
          if (layout == ReplicaLayout::Strided && (dp == 1 || dp == n))
            continue;
          std::optional<Plan> plan =
              evaluatePlan(*profile, mesh, comm, kinds, options, {dp, pp, tp},
                           layout, bounds, globalBatch);
          if (plan)
            best = std::min(best, plan->stepS);
        }
      }
  }
  return best;
}

std::string cell(double ours, double theirs) {
  if (!std::isfinite(theirs))
    return "no fit";
  return llvm::formatv("{0:F2} s ({1:F2}x)", theirs, theirs / ours).str();
}

const char *kDgxH100 = R"(
  topo.mesh @m {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.link_kind @nvl catalog "nvlink4"
    topo.group "node" switched via @nvl { topo.chips @h100 x 8 }
  })";

/// The search with and without ZeRO against a practitioner's plan: the best
/// Megatron-style plan (chips treated alike) with the distributed optimizer
/// (ZeRO-1), plain or interleaved 1F1B (2 chunks).
int planSpace(MLIRContext &context, const std::vector<ModelCase> &models,
              uint64_t globalBatch) {
  llvm::outs() << "\nPlan space (issue 19): the search with ZeRO stages 0-3 "
                  "and 1, 2 or 4 model chunks per device (zero=auto "
                  "virtual-stages=0) against the search without them "
                  "(zero=0 virtual-stages=1) and "
                  "a practitioner's plan (Megatron-style, chips alike, "
                  "ZeRO-1, plain or interleaved 1F1B). Each cell: step time "
                  "(ratio to the full search).\n\n"
               << "| Mesh | Model | full search's plan | step | zero=0, plain 1F1B | "
                  "Megatron + ZeRO-1 |\n"
               << "|---|---|---|---|---|---|\n";
  struct Case {
    const char *mesh;
    const char *ir;
    size_t model;
  };
  // Models by index into `models`: 2 LLaMA-2-13B, 3 LLaMA-2-70B,
  // 4 Mixtral-8x7B.
  std::vector<Case> cases = {
      {"8 x H100 (one DGX)", kDgxH100, 2},        {"8 x H100 (one DGX)", kDgxH100, 3},
      {kMeshes[2].name, kMeshes[2].ir, 2},        {kMeshes[2].name, kMeshes[2].ir, 3},
      {kMeshes[2].name, kMeshes[2].ir, 4},        {kMeshes[1].name, kMeshes[1].ir, 2},
      {kMeshes[1].name, kMeshes[1].ir, 4},
  };
  for (const Case &c : cases) {
    auto meshModule = parseSourceString<ModuleOp>(c.ir, &context);
    if (!meshModule)
      return 1;
    FailureOr<MeshView> mesh = MeshView::build(*meshModule->getOps<topo::MeshOp>().begin());
    if (failed(mesh))
      return 1;
    const ModelCase &modelCase = models[c.model];
    HFImportOptions opts;
    opts.batch = 1;
    opts.seqLen = modelCase.seqLen;
    opts.dtype = "bf16";
    auto model = importHFConfig(modelCase.config, modelCase.name, opts, &context);
    if (!model)
      return 1;
    func::FuncOp func = *model->getOps<func::FuncOp>().begin();
    Calibration calibration;
    auto best = [&](PartitionOptions options) -> std::optional<Plan> {
      std::string why;
      FailureOr<PartitionResult> found =
          partitionModel(func, *mesh, calibration, options, why);
      if (failed(found))
        return std::nullopt;
      return found->plan;
    };
    PartitionOptions options;
    options.globalBatch = globalBatch;
    options.zeroStages = kAllZeroStages;
    options.virtualStages = 0;
    std::optional<Plan> ours = best(options);
    options.virtualStages = 1;
    if (!ours) {
      llvm::outs() << "| " << c.mesh << " | " << modelCase.name
                   << " | does not fit | | | |\n";
      continue;
    }
    options.zeroStages = 1u << 0;
    std::optional<Plan> without = best(options);
    PartitionOptions megatron = options;
    megatron.homogeneous = true;
    megatron.zeroStages = 1u << 1;
    std::optional<Plan> practitioner = best(megatron);
    megatron.virtualStages = 2;
    if (std::optional<Plan> interleaved = best(megatron))
      if (!practitioner || interleaved->stepS < practitioner->stepS)
        practitioner = interleaved;
    auto extras = [](const Plan &plan) {
      std::string text;
      if (plan.virtualStages > 1)
        text += llvm::formatv(" v={0}", plan.virtualStages).str();
      if (plan.zero)
        text += llvm::formatv(" ZeRO-{0}", plan.zero).str();
      return text;
    };
    auto show = [&](const std::optional<Plan> &plan) {
      if (!plan)
        return std::string("no fit");
      return llvm::formatv("{0:F2} s ({1:F2}x; dp={2} pp={3} tp={4}{5})", plan->stepS,
                           plan->stepS / ours->stepS, plan->strategy.dp,
                           plan->strategy.pp, plan->strategy.tp, extras(*plan))
          .str();
    };
    llvm::outs() << llvm::formatv(
        "| {0} | {1} | dp={2} pp={3} tp={4} mb={5}{6} | {7:F2} s | {8} | {9} |\n",
        c.mesh, modelCase.name, ours->strategy.dp, ours->strategy.pp,
        ours->strategy.tp, ours->microBatch, extras(*ours),
        ours->stepS, show(without), show(practitioner));
    llvm::outs().flush();
  }
  return 0;
}

} // namespace

int main() {
  MLIRContext context;
  context.loadDialect<graph::GraphDialect, topo::TopoDialect, func::FuncDialect>();
  std::vector<ModelCase> models = {
      {"GPT-2 XL", kGpt2XL, 1024},
      {"LLaMA-2-7B", readExample("llama-2-7b.json"), 2048},
      {"LLaMA-2-13B", readExample("llama-2-13b.json"), 2048},
      {"LLaMA-2-70B", kLlama2_70B, 2048},
      {"Mixtral-8x7B", readExample("mixtral-8x7b.json"), 2048},
  };
  const uint64_t globalBatch = 64;
  llvm::outs() << "Training, global batch " << globalBatch
               << " sequences of 2048 tokens (GPT-2 XL: 1024), BF16, 1F1B, no "
                  "recomputation.\n"
                  "Each baseline cell: its step time (its ratio to ChipMesh's).\n\n"
               << "| Mesh | Model | ChipMesh plan | step | uniform layers | "
                  "parameter-balanced | homogeneous (Megatron-style) |\n"
               << "|---|---|---|---|---|---|---|\n";
  for (const MeshCase &meshCase : kMeshes) {
    auto meshModule = parseSourceString<ModuleOp>(meshCase.ir, &context);
    if (!meshModule)
      return 1;
    FailureOr<MeshView> mesh = MeshView::build(*meshModule->getOps<topo::MeshOp>().begin());
    if (failed(mesh))
      return 1;
    Calibration calibration;
    CommModel comm(*mesh, calibration);
    std::vector<ComputeModel> kinds;
    for (const ChipKindSpec &kind : mesh->chipKinds())
      kinds.emplace_back(kind, calibration.chip(kind));
    for (const ModelCase &modelCase : models) {
      HFImportOptions opts;
      opts.batch = 1;
      opts.seqLen = modelCase.seqLen;
      opts.dtype = "bf16";
      auto model = importHFConfig(modelCase.config, modelCase.name, opts, &context);
      if (!model)
        return 1;
      func::FuncOp func = *model->getOps<func::FuncOp>().begin();
      PartitionOptions options;
      options.globalBatch = globalBatch;
      std::string why;
      FailureOr<PartitionResult> ours =
          partitionModel(func, *mesh, calibration, options, why);
      if (failed(ours)) {
        llvm::outs() << "| " << meshCase.name << " | " << modelCase.name
                     << " | does not fit | | | | |\n";
        continue;
      }
      const Plan &plan = ours->plan;
      double uniform = baseline(func, *mesh, comm, kinds, options,
                                Split::Uniform, globalBatch);
      double params = baseline(func, *mesh, comm, kinds, options,
                               Split::Parameters, globalBatch);
      PartitionOptions homogeneous = options;
      homogeneous.homogeneous = true;
      double megatron = baseline(func, *mesh, comm, kinds, homogeneous,
                                 Split::Uniform, globalBatch);
      llvm::outs() << llvm::formatv(
          "| {0} | {1} | dp={2} pp={3} tp={4} mb={5} | {6:F2} s | {7} | {8} | {9} |\n",
          meshCase.name, modelCase.name, plan.strategy.dp, plan.strategy.pp,
          plan.strategy.tp, plan.microBatch, plan.stepS,
          cell(plan.stepS, uniform), cell(plan.stepS, params),
          cell(plan.stepS, megatron));
      llvm::outs().flush();
    }
  }
  return planSpace(context, models, globalBatch);
}
