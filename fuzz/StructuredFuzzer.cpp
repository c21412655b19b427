//===- StructuredFuzzer.cpp - Random valid models and meshes --------------===//
//
// libFuzzer target: the bytes choose a valid model (a chain of linear,
// activation and repeated layers with random widths, batch and dtype) and a
// valid mesh (1-3 groups of catalog chips, switched, ring or full mesh,
// joined by a network), then partition it and check invariants of the plan:
// every layer is placed exactly once in order, every chip has a role, no
// chip is over its memory, shares of a group sum to 1, the step is at
// least the lower bound, and the same input gives the same plan twice.
//
//===----------------------------------------------------------------------===//

#include "chipmesh/Dialect/Graph/IR/GraphOps.h"
#include "chipmesh/Dialect/Topo/IR/TopoOps.h"
#include "chipmesh/InitAllDialects.h"
#include "chipmesh/Partition/Partitioner.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FormatVariadic.h"
#include <cmath>
#include <fuzzer/FuzzedDataProvider.h>

using namespace mlir;
using namespace chipmesh;

#define CHECK_OR_TRAP(cond)                                                    \
  do {                                                                         \
    if (!(cond))                                                               \
      __builtin_trap();                                                        \
  } while (0)

namespace {

std::string randomModel(FuzzedDataProvider &in) {
  static const char *types[] = {"bf16", "f16", "f32"};
  const char *t = types[in.ConsumeIntegralInRange<int>(0, 2)];
  int64_t batch = in.ConsumeIntegralInRange<int64_t>(1, 16);
  int64_t width = 64 * in.ConsumeIntegralInRange<int64_t>(1, 64);
  std::string body;
  std::string cur = "%x";
  int values = 0;
  auto tensor = [&](int64_t w) {
    return llvm::formatv("tensor<{0}x{1}x{2}>", batch, w, t).str();
  };
  int64_t curWidth = width;
  unsigned ops = in.ConsumeIntegralInRange<unsigned>(1, 8);
  for (unsigned i = 0; i < ops; ++i) {
    std::string v = "%v" + std::to_string(values++);
    switch (in.ConsumeIntegralInRange<int>(0, 2)) {
    case 0: {
      int64_t out = 64 * in.ConsumeIntegralInRange<int64_t>(1, 64);
      std::string w = "%w" + std::to_string(values++);
      body += llvm::formatv("  {0} = graph.param \"p{1}\" : tensor<{2}x{3}x{4}>\n",
                            w, i, curWidth, out, t);
      body += llvm::formatv("  {0} = graph.linear {1}, {2} : {3}, tensor<{4}x{5}x{6}>\n",
                            v, cur, w, tensor(curWidth), curWidth, out, t);
      curWidth = out;
      break;
    }
    case 1:
      body += llvm::formatv("  {0} = graph.gelu {1} : {2}\n", v, cur, tensor(curWidth));
      break;
    default: {
      unsigned repeat = in.ConsumeIntegralInRange<unsigned>(1, 24);
      body += llvm::formatv(
          "  {0} = graph.layer \"blk{1}\" repeat {2} ({3}) : ({4}) -> {4} {{\n"
          "  ^bb0(%in{1}: {4}):\n"
          "    %lw{1} = graph.param \"w\" : tensor<{5}x{5}x{6}>\n"
          "    %ly{1} = graph.linear %in{1}, %lw{1} : {4}, tensor<{5}x{5}x{6}>\n"
          "    %lr{1} = graph.relu %ly{1} : {4}\n"
          "    graph.yield %lr{1} : {4}\n"
          "  }\n",
          v, i, repeat, cur, tensor(curWidth), curWidth, t);
      break;
    }
    }
    cur = v;
  }
  return llvm::formatv("func.func @forward(%x: {0}) -> {1} {{\n{2}  return {3} : {1}\n}\n",
                       tensor(width), tensor(curWidth), body, cur)
      .str();
}

std::string randomMesh(FuzzedDataProvider &in) {
  static const char *chips[] = {"h100-sxm", "a100-sxm-80gb", "v100-sxm2-32gb",
                                "ascend-910b", "mtt-s4000", "rtx-4090",
                                "mi300x", "gaudi2", "h20"};
  static const char *links[] = {"nvlink4", "nvlink3", "hccs-910b", "pcie4-x16",
                                "mtlink", "xgmi"};
  static const char *nets[] = {"infiniband-ndr", "roce-200g", "ethernet-25g"};
  static const char *shapes[] = {"switched", "ring", "full_mesh"};
  std::string mesh = "topo.mesh @m {\n";
  unsigned kinds = std::size(chips);
  for (unsigned k = 0; k < kinds; ++k)
    mesh += llvm::formatv("  topo.chip_kind @c{0} catalog \"{1}\"\n", k, chips[k]);
  for (unsigned l = 0; l < std::size(links); ++l)
    mesh += llvm::formatv("  topo.link_kind @l{0} catalog \"{1}\"\n", l, links[l]);
  mesh += llvm::formatv("  topo.link_kind @net catalog \"{0}\"\n",
                        nets[in.ConsumeIntegralInRange<int>(0, 2)]);
  mesh += "  topo.group \"cluster\" switched via @net {\n";
  unsigned groups = in.ConsumeIntegralInRange<unsigned>(1, 3);
  for (unsigned g = 0; g < groups; ++g) {
    mesh += llvm::formatv(
        "    topo.group \"g{0}\" x {1} {2} via @l{3} {{ topo.chips @c{4} x {5} }\n",
        g, in.ConsumeIntegralInRange<unsigned>(1, 2),
        shapes[in.ConsumeIntegralInRange<int>(0, 2)],
        in.ConsumeIntegralInRange<unsigned>(0, std::size(links) - 1),
        in.ConsumeIntegralInRange<unsigned>(0, kinds - 1),
        in.ConsumeIntegralInRange<unsigned>(1, 4));
  }
  mesh += "  }\n}\n";
  return mesh;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzedDataProvider in(data, size);
  DialectRegistry registry;
  chipmesh::registerChipMeshDialects(registry);
  MLIRContext context(registry, MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  ScopedDiagnosticHandler quiet(&context, [](Diagnostic &) { return success(); });
  std::string text = randomMesh(in) + randomModel(in);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &context);
  CHECK_OR_TRAP(module);                    // generated text is valid...
  CHECK_OR_TRAP(succeeded(verify(*module))); // ...and verifies
  FailureOr<MeshView> mesh = MeshView::build(*module->getOps<topo::MeshOp>().begin());
  CHECK_OR_TRAP(succeeded(mesh));
  func::FuncOp func = *module->getOps<func::FuncOp>().begin();
  PartitionOptions options;
  options.mode = in.ConsumeBool() ? Mode::Train : Mode::Infer;
  options.schedule = in.ConsumeBool() ? Schedule::OneFOneB : Schedule::GPipe;
  options.globalBatch = in.ConsumeIntegralInRange<uint64_t>(0, 64);
  // The plan space of issue 19: ZeRO stages, searched interleaving,
  // recomputation per stage.
  options.zeroStages = in.ConsumeIntegralInRange<unsigned>(1, kAllZeroStages);
  options.virtualStages = in.ConsumeIntegralInRange<unsigned>(0, 2);
  if (options.virtualStages > 1 &&
      (options.mode != Mode::Train || options.schedule != Schedule::OneFOneB))
    options.virtualStages = 1; // the pass refuses it there
  options.recomputePerStage = in.ConsumeBool();
  options.threads = 1;
  std::string why;
  FailureOr<PartitionResult> result =
      partitionModel(func, *mesh, Calibration(), options, why);
  if (failed(result)) {
    CHECK_OR_TRAP(!why.empty()); // every refusal says why
    return 0;
  }
  const Plan &plan = result->plan;
  // Layers placed once, in order, every stage non-empty.
  unsigned next = 0;
  for (const StagePlan &stage : plan.stages) {
    CHECK_OR_TRAP(stage.firstLayer == next && stage.endLayer > stage.firstLayer);
    next = stage.endLayer;
    for (const auto &shares : stage.shares) {
      double sum = 0;
      for (double s : shares)
        sum += s;
      CHECK_OR_TRAP(std::abs(sum - 1) < 1e-9);
    }
  }
  CHECK_OR_TRAP(next == result->layers.size());
  CHECK_OR_TRAP(plan.devices.size() == mesh->numChips());
  for (const DevicePlan &d : plan.devices) {
    CHECK_OR_TRAP(d.memoryBytes <= d.capacityBytes);
    CHECK_OR_TRAP(std::isfinite(d.computeS) && d.computeS >= 0);
  }
  CHECK_OR_TRAP(plan.zero <= kMaxZeroStage && (plan.zero == 0 || plan.strategy.dp > 1));
  CHECK_OR_TRAP(plan.stageRecompute.empty() ||
                plan.stageRecompute.size() == plan.stages.size());
  CHECK_OR_TRAP(std::isfinite(plan.stepS));
  CHECK_OR_TRAP(plan.stepS >= result->lowerBoundS * (1 - 1e-9));
  // Deterministic: the same search again gives the same plan.
  FailureOr<PartitionResult> again =
      partitionModel(func, *mesh, Calibration(), options, why);
  CHECK_OR_TRAP(succeeded(again) && again->plan.stepS == plan.stepS);
  return 0;
}
