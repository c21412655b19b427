//===- Partition.cpp - --chipmesh-partition -------------------------------===//
//
// Resolves options, runs the search in lib/Partition, and writes the plan
// back: placements on ops, the plan on the module, a JSON report and a
// table. Nothing is written to the IR unless a plan was found.
//
//===----------------------------------------------------------------------===//

#include "chipmesh/Analysis/ModelSummary.h"
#include "chipmesh/Materialize/PlanSpec.h"
#include "chipmesh/Partition/PlanReport.h"
#include "chipmesh/Plan/HtmlReport.h"
#include "chipmesh/Support/JSON.h"
#include "chipmesh/Support/Output.h"
#include "chipmesh/Support/Units.h"
#include "chipmesh/Transforms/MeshOption.h"
#include "chipmesh/Transforms/PassSupport.h"
#include "chipmesh/Transforms/Passes.h"
#include "mlir/IR/Builders.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"
#include <cmath>
#include <cstdlib>
#include <map>

namespace chipmesh {
#define GEN_PASS_DEF_CHIPMESHPARTITION
#include "chipmesh/Transforms/Passes.h.inc"
} // namespace chipmesh

using namespace mlir;
using namespace chipmesh;

namespace {

struct ChipMeshPartitionPass
    : public ListsOptionsOnError<chipmesh::impl::ChipMeshPartitionBase<ChipMeshPartitionPass>> {
  using ListsOptionsOnError::ListsOptionsOnError;
  void runOnOperation() override;

private:
  LogicalResult parseOptions(func::FuncOp func, PartitionOptions &options);
  /// mesh=, else the module's only topo.mesh.
  FailureOr<topo::MeshOp> findMesh(OwningOpRef<ModuleOp> &holder);
  /// plan=FILE: the plan as given, priced (nothing is searched).
  FailureOr<PartitionResult> priceGivenPlan(func::FuncOp func,
                                            const MeshView &view,
                                            const Calibration &calibration,
                                            PartitionOptions &options,
                                            std::string &whyNot);
  /// report=FILE: the HTML page or the JSON report.
  LogicalResult writeReport(func::FuncOp func, topo::MeshOp mesh,
                            const PartitionResult &result, const MeshView &view,
                            const PlanReport &report);
};
} // namespace

LogicalResult ChipMeshPartitionPass::parseOptions(func::FuncOp func,
                                                  PartitionOptions &options) {
  ModuleOp module = getOperation();
  // recompute=auto: chosen per stage by the search.
  bool perStage = recomputeName == "auto";
  if (failed(resolveWorkloadOptions(module, func, modeName,
                                    perStage ? StringRef("none")
                                             : StringRef(recomputeName),
                                    options)))
    return failure();
  options.recomputePerStage = perStage;
  std::optional<Schedule> schedule = symbolizeSchedule(scheduleName);
  if (!schedule)
    return module.emitError() << "schedule must be " << spellingsOf<Schedule>()
                              << ", got '" << scheduleName << "'";
  options.schedule = *schedule;
  std::optional<Objective> objective = symbolizeObjective(objectiveName);
  if (!objective)
    return module.emitError()
           << "objective must be " << spellingsOf<Objective>() << ", got '"
           << objectiveName << "'";
  options.objective = *objective;
  if (globalBatch < 0 || globalBatch > (int64_t(1) << 40))
    return module.emitError() << "batch must be in [1, 2^40] (or 0 for the "
                                 "traced batch), got "
                              << static_cast<int64_t>(globalBatch);
  options.globalBatch = static_cast<uint64_t>(globalBatch);
  if (microBatch < 0 || microBatch > (int64_t(1) << 40))
    return module.emitError() << "micro-batch must be in [1, 2^40] (or 0 to "
                                 "search), got "
                              << static_cast<int64_t>(microBatch);
  options.microBatch = static_cast<uint64_t>(microBatch);
  if (!(headroom >= 0 && headroom < 1))
    return module.emitError() << "headroom must be in [0, 1), got "
                              << static_cast<double>(headroom);
  options.memoryHeadroom = headroom;
  options.allowData = options.allowPipeline = options.allowTensor = false;
  llvm::SmallVector<StringRef> kinds;
  StringRef(allow).split(kinds, ',', -1, false);
  for (StringRef kind : kinds) {
    kind = kind.trim();
    if (kind == "dp")
      options.allowData = true;
    else if (kind == "pp")
      options.allowPipeline = true;
    else if (kind == "tp")
      options.allowTensor = true;
    else
      return module.emitError() << "allow: unknown parallelism '" << kind
                                << "' (expected dp, pp, tp)";
  }
  if (!strategyText.empty()) {
    std::string error;
    options.fixed = parseStrategy(strategyText, error);
    if (!options.fixed)
      return module.emitError() << "strategy '" << strategyText
                                << "': " << error;
  }
  options.threads = threads;
  options.gradientReduce = gradientReduce;
  if (virtualStages < 0 || virtualStages > 1024)
    return module.emitError() << "virtual-stages must be in [1, 1024] (or 0 "
                                 "to search 1, 2 and 4), got "
                              << static_cast<int64_t>(virtualStages);
  if (virtualStages > 1 &&
      (options.mode != Mode::Train || options.schedule != Schedule::OneFOneB))
    return module.emitError()
           << "virtual-stages=" << static_cast<int64_t>(virtualStages)
           << " is Megatron's interleaved 1F1B: it needs mode=train and "
              "schedule=1f1b";
  options.virtualStages = static_cast<unsigned>(virtualStages);
  options.math = mathMode;
  options.overlapGradientReduce = overlapGradReduce;
  options.overlapTensorComm = overlapTpComm;
  options.sequenceParallel = sequenceParallel;
  options.useAllChips = useAllChips;
  std::optional<ZeroStages> zero = parseZeroStages(zeroText);
  if (!zero)
    return module.emitError() << "zero must be 0, 1, 2, 3, a comma list of "
                                 "them, or 'auto', got '"
                              << zeroText << "'";
  options.zeroStages = *zero;
  return success();
}

FailureOr<topo::MeshOp>
ChipMeshPartitionPass::findMesh(OwningOpRef<ModuleOp> &holder) {
  ModuleOp module = getOperation();
  if (!meshName.empty())
    return resolveMeshOption(module, meshName, holder);
  auto meshes = llvm::to_vector(module.getOps<topo::MeshOp>());
  if (meshes.size() != 1)
    return module.emitError()
           << (meshes.empty() ? "no topo.mesh in the module"
                              : "several topo.mesh in the module")
           << "; choose one with mesh=@name or mesh=<file.mlir>";
  return meshes.front();
}

FailureOr<PartitionResult> ChipMeshPartitionPass::priceGivenPlan(
    func::FuncOp func, const MeshView &view, const Calibration &calibration,
    PartitionOptions &options, std::string &whyNot) {
  ModuleOp module = getOperation();
  // The plan as given: nothing is searched.
  if (!strategyText.empty() || virtualStages != 1 || zeroText != "0") {
    module.emitError() << "plan= prices a plan as given; strategy=, "
                          "virtual-stages= and zero= come from the plan file";
    return failure();
  }
  auto buffer = llvm::MemoryBuffer::getFile(readablePath(planFile));
  if (!buffer) {
    module.emitError() << "cannot read plan file '" << planFile
                       << "': " << buffer.getError().message();
    return failure();
  }
  llvm::Expected<GivenPlan> given = parsePlanFile((*buffer)->getBuffer(), view);
  if (!given) {
    module.emitError() << "plan file '" << planFile
                       << "': " << llvm::toString(given.takeError());
    return failure();
  }
  if (options.globalBatch && options.globalBatch != given->globalBatch) {
    module.emitError() << "batch=" << options.globalBatch
                       << " differs from the plan's global batch of "
                       << given->globalBatch;
    return failure();
  }
  if (options.microBatch && options.microBatch != given->microBatch) {
    module.emitError() << "micro-batch=" << options.microBatch
                       << " differs from the plan's micro-batch of "
                       << given->microBatch;
    return failure();
  }
  options.schedule = given->schedule;
  options.virtualStages = given->virtualStages;
  return evaluateGivenPlan(func, view, calibration, options, *given, whyNot);
}

LogicalResult ChipMeshPartitionPass::writeReport(func::FuncOp func,
                                                 topo::MeshOp mesh,
                                                 const PartitionResult &result,
                                                 const MeshView &view,
                                                 const PlanReport &report) {
  ModuleOp module = getOperation();
  auto openOut = [&](StringRef path) -> std::unique_ptr<llvm::ToolOutputFile> {
    std::string error;
    auto out = openCommittedOutput(path, &error);
    if (!out)
      module.emitError() << "cannot open '" << path << "': " << error;
    return out;
  };

  if (llvm::StringRef(reportFile).ends_with(".html")) {
    // The same page chipmesh-plan writes: timeline, mesh, memory.
    if (auto out = openOut(reportFile)) {
      out->os() << htmlPage("Plan for @" + func.getSymName().str() + " on @" +
                                mesh.getSymName().str(),
                            planSections(result, view));
      out->keep();
    } else {
      return failure();
    }
  } else {
    auto out = openOut(reportFile);
    if (!out)
      return failure();
    out->os() << llvm::formatv("{0:2}", report.json()) << "\n";
    out->keep();
  }
  return success();
}

void ChipMeshPartitionPass::runOnOperation() {
  ModuleOp module = getOperation();
  FailureOr<func::FuncOp> func = findModelFunction(module, funcName);
  if (failed(func))
    return signalPassFailure();
  PartitionOptions options;
  if (failed(parseOptions(*func, options)))
    return signalPassFailure();

  FailureOr<Calibration> loaded = loadCalibrationOption(module, calibrationFile);
  if (failed(loaded))
    return signalPassFailure();
  Calibration calibration = std::move(*loaded);
  const CatalogChip *referenceChip = lookupCatalogChip(reference);
  if (!referenceChip) {
    module.emitError() << "unknown reference chip '" << reference
                       << "'; expected one of " << catalogChipIds();
    return signalPassFailure();
  }

  OwningOpRef<ModuleOp> meshHolder;
  FailureOr<topo::MeshOp> mesh = findMesh(meshHolder);
  if (failed(mesh))
    return signalPassFailure();
  FailureOr<MeshView> view = MeshView::build(*mesh);
  if (failed(view))
    return signalPassFailure();

  std::string whyNot;
  FailureOr<PartitionResult> found = failure();
  if (!planFile.empty())
    found = priceGivenPlan(*func, *view, calibration, options, whyNot);
  else
    found = partitionModel(*func, *view, calibration, options, whyNot);
  if (failed(found)) {
    if (!whyNot.empty())
      module.emitError() << "cannot partition @" << func->getSymName()
                         << " over @" << mesh->getSymName() << ": " << whyNot;
    return signalPassFailure();
  }
  const PartitionResult &result = *found;

  // A mesh read from a file joins the module, so that the plan (and the
  // programs materialized from it) name a mesh the module holds.
  if (mesh->getOperation()->getParentOp() != module.getOperation()) {
    if (Operation *clash = SymbolTable::lookupSymbolIn(module, mesh->getSymNameAttr())) {
      clash->emitError() << "the module already has a symbol @"
                         << mesh->getSymName()
                         << "; rename it or the mesh in '" << meshName << "'";
      return signalPassFailure();
    }
    module.getBody()->push_front(mesh->getOperation()->clone());
  }

  writePlanAttributes(module, *mesh, *func, result, options);
  PlanReport report(func->getSymName(), mesh->getSymName(), result, *view,
                    options, *referenceChip, calibration);

  if (!reportFile.empty() &&
      failed(writeReport(*func, *mesh, result, *view, report)))
    return signalPassFailure();
  if (table)
    report.printTable(llvm::outs());
  markAllAnalysesPreserved();
}
