//===- Estimate.cpp - --chipmesh-estimate ---------------------------------===//
//
// Prices the model on every chip kind of a mesh (or of the catalog) with
// the cost-model library, annotates ops, attaches a module summary and
// optionally prints it. All the numbers come from lib/CostModel; this file
// only resolves options, walks the IR and formats.
//
//===----------------------------------------------------------------------===//

#include "chipmesh/Analysis/ModelSummary.h"
#include "chipmesh/CostModel/ModelCost.h"
#include "chipmesh/Support/JSON.h"
#include "chipmesh/Support/Output.h"
#include "chipmesh/Support/Units.h"
#include "chipmesh/Transforms/MeshOption.h"
#include "chipmesh/Transforms/PassSupport.h"
#include "chipmesh/Transforms/Passes.h"
#include "mlir/IR/Builders.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/ToolOutputFile.h"
#include <cmath>
#include <cstdlib>

namespace chipmesh {
#define GEN_PASS_DEF_CHIPMESHESTIMATE
#include "chipmesh/Transforms/Passes.h.inc"
} // namespace chipmesh

using namespace mlir;
using namespace chipmesh;

using units::kGiB;

namespace {
/// What the attribute and the report say.
struct EstimateFacts {
  llvm::StringRef func;
  std::string meshLabel;
  const CostOptions &options;
  const ModelProfile &profile;
  llvm::ArrayRef<ChipEstimate> estimates;
  double stepFlops;
};

struct ChipMeshEstimatePass
    : public ListsOptionsOnError<chipmesh::impl::ChipMeshEstimateBase<ChipMeshEstimatePass>> {
  using ListsOptionsOnError::ListsOptionsOnError;

  void runOnOperation() override;

private:
  LogicalResult parseOptions(func::FuncOp func, CostOptions &options);
  /// mesh=: the mesh's chip kinds; else every catalog chip.
  LogicalResult chipKindsToPrice(std::vector<ChipKindSpec> &kinds,
                                 std::string &meshLabel);
  /// `chipmesh.estimate` on the module.
  void writeEstimateAttribute(const EstimateFacts &facts);
  /// output=FILE: the JSON report or the table.
  LogicalResult writeEstimateReport(const EstimateFacts &facts);
  void annotateOps(func::FuncOp func, const ModelProfile &profile,
                ArrayRef<ComputeModel> chips, double scale);
};
} // namespace

LogicalResult ChipMeshEstimatePass::parseOptions(func::FuncOp func,
                                                 CostOptions &options) {
  ModuleOp module = getOperation();
  if (failed(resolveWorkloadOptions(module, func, modeName, recomputeName,
                                    options)))
    return failure();
  if (microBatch < 0)
    return module.emitError() << "micro-batch must be positive (or 0 for the "
                                 "traced batch), got "
                              << static_cast<int64_t>(microBatch);
  options.microBatch = static_cast<double>(microBatch);
  if (microBatches < 1 || microBatches > (int64_t(1) << 32))
    return module.emitError() << "micro-batches must be in [1, 2^32], got "
                              << static_cast<int64_t>(microBatches);
  options.microBatches = static_cast<uint64_t>(microBatches);
  if (format != "table" && format != "json")
    return module.emitError() << "format must be 'table' or 'json', got '"
                              << format << "'";
  return success();
}

/// Six significant digits: readable attributes (an exact double would
/// print as hex) and no spurious differences from summation order.
static FloatAttr rounded(Builder &b, double value) {
  return b.getF64FloatAttr(roundToSixDigits(value));
}

static DictionaryAttr perChip(Builder &b, ArrayRef<ComputeModel> chips,
                              ArrayRef<double> seconds) {
  SmallVector<NamedAttribute> entries;
  for (auto [chip, s] : llvm::zip(chips, seconds))
    entries.push_back(b.getNamedAttr(chip.chip().name, rounded(b, s)));
  return b.getDictionaryAttr(entries);
}

void ChipMeshEstimatePass::annotateOps(func::FuncOp func,
                                    const ModelProfile &profile,
                                    ArrayRef<ComputeModel> chips,
                                    double scale) {
  Builder b(func.getContext());
  auto attach = [&](Operation *op, double fwdFlops, double bwdFlops,
                    double bytes, ArrayRef<double> fwd, ArrayRef<double> bwd) {
    op->setAttr("chipmesh.cost",
                b.getDictionaryAttr({
                    b.getNamedAttr("flops", rounded(b, fwdFlops)),
                    b.getNamedAttr("bwd_flops", rounded(b, bwdFlops)),
                    b.getNamedAttr("bytes", rounded(b, bytes)),
                    b.getNamedAttr("fwd_s", perChip(b, chips, fwd)),
                    b.getNamedAttr("bwd_s", perChip(b, chips, bwd)),
                }));
  };
  // Leaf ops: one kernel each (per repetition inside a layer).
  func.walk([&](CostOpInterface op) {
    if (op.getBodyRepeat() || isa<graph::ParamOp>(op))
      return;
    KernelCost kernel = KernelCost::of(op).scaled(scale);
    SmallVector<double> fwd, bwd;
    for (const ComputeModel &chip : chips) {
      KernelTime t = chip.time(kernel);
      fwd.push_back(t.forwardS);
      bwd.push_back(t.backwardS);
    }
    attach(op, kernel.forwardFlops, kernel.backwardFlops,
           kernel.parameterBytes + kernel.activationBytes, fwd, bwd);
  });
  // Top-level layers: the sum over their repetitions.
  for (const ModelUnit &unit : profile.units) {
    if (unit.kernels.size() == 1 && unit.repeat == 1 &&
        !cast<CostOpInterface>(unit.op).getBodyRepeat())
      continue;
    SmallVector<double> fwd, bwd;
    double bytes = 0;
    for (const auto &[kernel, times, replicated] : unit.kernels)
      bytes += (kernel.parameterBytes + kernel.activationBytes) * times;
    for (const ComputeModel &chip : chips) {
      UnitTime t = unitTime(unit, chip, Recompute::None);
      fwd.push_back(t.forwardS * unit.repeat);
      bwd.push_back(t.backwardS * unit.repeat);
    }
    attach(unit.op, unit.forwardFlops * unit.repeat,
           unit.backwardFlops * unit.repeat, bytes * unit.repeat, fwd, bwd);
  }
}

static std::string gib(double bytes) {
  return llvm::formatv("{0:F1}", bytes / kGiB).str();
}

LogicalResult
ChipMeshEstimatePass::chipKindsToPrice(std::vector<ChipKindSpec> &kinds,
                                       std::string &meshLabel) {
  ModuleOp module = getOperation();
  OwningOpRef<ModuleOp> meshHolder;
  if (!meshName.empty()) {
    FailureOr<topo::MeshOp> mesh =
        resolveMeshOption(module, meshName, meshHolder);
    if (failed(mesh))
      return failure();
    FailureOr<MeshView> view = MeshView::build(*mesh);
    if (failed(view))
      return failure();
    kinds.assign(view->chipKinds().begin(), view->chipKinds().end());
    meshLabel = ("@" + mesh->getSymName()).str();
  } else {
    for (const CatalogChip &chip : catalogChips())
      kinds.push_back(MeshView::resolve(chip));
  }
  return success();
}

void ChipMeshEstimatePass::writeEstimateAttribute(const EstimateFacts &f) {
  ModuleOp module = getOperation();
  Builder b(module.getContext());
  SmallVector<Attribute> chipAttrs;
  for (const ChipEstimate &e : f.estimates) {
    const MemoryBreakdown &m = e.memory;
    chipAttrs.push_back(b.getDictionaryAttr({
        b.getNamedAttr("kind", b.getStringAttr(e.kind)),
        b.getNamedAttr("catalog", b.getStringAttr(e.catalogId)),
        b.getNamedAttr("step_s", rounded(b, e.stepS)),
        b.getNamedAttr("forward_s", rounded(b, e.forwardS)),
        b.getNamedAttr("backward_s", rounded(b, e.backwardS)),
        b.getNamedAttr("optimizer_s", rounded(b, e.optimizerS)),
        b.getNamedAttr("mfu", rounded(b, e.mfu)),
        b.getNamedAttr("memory_bytes", rounded(b, m.total())),
        b.getNamedAttr("capacity_bytes", rounded(b, e.capacityBytes)),
        b.getNamedAttr("fits", b.getBoolAttr(e.fits())),
    }));
  }
  module->setAttr(
      "chipmesh.estimate",
      b.getDictionaryAttr({
          b.getNamedAttr("func", b.getStringAttr(f.func)),
          b.getNamedAttr("mesh", b.getStringAttr(f.meshLabel)),
          b.getNamedAttr("mode",
                         b.getStringAttr(stringifyMode(f.options.mode))),
          b.getNamedAttr("micro_batch", rounded(b, f.profile.microBatch)),
          b.getNamedAttr("micro_batches",
                         b.getI64IntegerAttr(f.options.microBatches)),
          b.getNamedAttr(
              "parameters",
              b.getI64IntegerAttr(static_cast<int64_t>(
                  std::min<uint64_t>(f.profile.parameters, INT64_MAX)))),
          b.getNamedAttr("flops_per_step", rounded(b, f.stepFlops)),
          b.getNamedAttr("chips", b.getArrayAttr(chipAttrs)),
      }));
}

/// The report's per-chip entries.
static llvm::json::Array
estimateChipsJSON(llvm::ArrayRef<ChipEstimate> estimates) {
  llvm::json::Array chipJson;
  for (const ChipEstimate &e : estimates) {
    const MemoryBreakdown &m = e.memory;
    chipJson.push_back(llvm::json::Object{
        {"kind", e.kind},
        {"catalog", e.catalogId},
        {"step_s", e.stepS},
        {"forward_s", e.forwardS},
        {"backward_s", e.backwardS},
        {"optimizer_s", e.optimizerS},
        {"mfu", e.mfu},
        {"memory_bytes", m.total()},
        {"memory",
         llvm::json::Object{{"weights", m.weights},
                            {"gradients", m.gradients},
                            {"optimizer_states", m.optimizerStates},
                            {"activations", m.activations},
                            {"kv_cache", m.kvCache},
                            {"workspace", m.workspace},
                            {"reserved", m.reserved}}},
        {"capacity_bytes", e.capacityBytes},
        {"fits", e.fits()},
        {"shortfall_bytes", e.shortfallBytes()},
    });
  }
  return chipJson;
}

LogicalResult
ChipMeshEstimatePass::writeEstimateReport(const EstimateFacts &f) {
  ModuleOp module = getOperation();
  std::string error;
  std::unique_ptr<llvm::ToolOutputFile> out = openCommittedOutput(outputFile, &error);
  if (!out) {
    module.emitError() << "cannot open '" << outputFile << "': " << error;
    return failure();
  }
  llvm::raw_ostream &os = out->os();
  if (format == "json") {
    llvm::json::Object root{
        {"func", f.func},
        {"mesh", f.meshLabel},
        {"mode", stringifyMode(f.options.mode)},
        {"recompute", stringifyRecompute(f.options.recompute)},
        {"micro_batch", f.profile.microBatch},
        {"micro_batches", static_cast<int64_t>(f.options.microBatches)},
        {"parameters", static_cast<int64_t>(std::min<uint64_t>(
                           f.profile.parameters, INT64_MAX))},
        {"flops_per_step", f.stepFlops},
        {"chips", estimateChipsJSON(f.estimates)},
    };
    os << llvm::formatv("{0:2}", finiteJSON(llvm::json::Value(std::move(root)))) << "\n";
  } else {
    os << llvm::formatv(
        "@{0} on {1}: {2} parameters, {3:E2} FLOPs per step ({4}, "
        "micro-batch {5} x {6}, recompute {7})\n",
        f.func, f.meshLabel, f.profile.parameters, f.stepFlops,
        stringifyMode(f.options.mode), formatCount(f.profile.microBatch),
        f.options.microBatches, stringifyRecompute(f.options.recompute));
    os << llvm::formatv("{0,-22} {1,-20} {2,10} {3,10} {4,10} {5,10} {6,6} "
                        "{7,9} {8,9}  {9}\n",
                        "chip", "catalog", "step", "forward", "backward",
                        "optimizer", "MFU", "mem GiB", "cap GiB", "fits");
    for (const ChipEstimate &e : f.estimates) {
      std::string fits =
          e.fits() ? "yes"
                   : ("does not fit by " + gib(e.shortfallBytes()) + " GiB");
      os << llvm::formatv("{0,-22} {1,-20} {2,10} {3,10} {4,10} {5,10} "
                          "{6,5:F1}% {7,9} {8,9}  {9}\n",
                          e.kind, e.catalogId.empty() ? "-" : e.catalogId,
                          formatSeconds(e.stepS), formatSeconds(e.forwardS),
                          formatSeconds(e.backwardS), formatSeconds(e.optimizerS),
                          e.mfu * 100, gib(e.memory.total()),
                          gib(e.capacityBytes), fits);
    }
  }
  out->keep();
  return success();
}

void ChipMeshEstimatePass::runOnOperation() {
  ModuleOp module = getOperation();
  FailureOr<func::FuncOp> func = findModelFunction(module, funcName);
  if (failed(func))
    return signalPassFailure();
  CostOptions options;
  if (failed(parseOptions(*func, options)))
    return signalPassFailure();

  FailureOr<Calibration> loaded =
      loadCalibrationOption(module, calibrationFile);
  if (failed(loaded))
    return signalPassFailure();
  Calibration calibration = std::move(*loaded);

  // The chip kinds to price: the mesh's, or the whole catalog.
  std::vector<ChipKindSpec> kinds;
  std::string meshLabel = "catalog";
  if (failed(chipKindsToPrice(kinds, meshLabel)))
    return signalPassFailure();

  FailureOr<ModelProfile> profile = profileModel(*func, options);
  if (failed(profile))
    return signalPassFailure();
  std::vector<ComputeModel> chips;
  for (const ChipKindSpec &kind : kinds) {
    chips.emplace_back(kind, calibration.chip(kind));
    chips.back().setMathMode(mathMode);
  }
  std::vector<ChipEstimate> estimates;
  for (const ComputeModel &chip : chips)
    estimates.push_back(estimateOnChip(*profile, chip, options));

  double scale = profile->microBatch / profile->tracedBatch;
  if (annotate)
    annotateOps(*func, *profile, chips, scale);

  double micro = static_cast<double>(options.microBatches);
  double stepFlops =
      micro * (profile->forwardFlops +
               (options.mode == Mode::Train ? profile->backwardFlops : 0.0));
  EstimateFacts facts{func->getSymName(), meshLabel, options,
                      *profile,           estimates, stepFlops};
  writeEstimateAttribute(facts);
  if (outputFile.empty())
    return markAllAnalysesPreserved();
  if (failed(writeEstimateReport(facts)))
    return signalPassFailure();
  markAllAnalysesPreserved();
}
