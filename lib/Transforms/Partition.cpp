//===- Partition.cpp - --chipmesh-partition -------------------------------===//
//
// Resolves options, runs the search in lib/Partition, and writes the plan
// back: placements on ops, the plan on the module, a JSON report and a
// table. Nothing is written to the IR unless a plan was found.
//
//===----------------------------------------------------------------------===//

#include "chipmesh/Analysis/ModelSummary.h"
#include "chipmesh/Support/Units.h"
#include "chipmesh/Support/Output.h"
#include "chipmesh/Support/JSON.h"
#include "chipmesh/Partition/Partitioner.h"
#include "chipmesh/Plan/HtmlReport.h"
#include "chipmesh/Transforms/MeshOption.h"
#include "chipmesh/Transforms/PassSupport.h"
#include "chipmesh/Transforms/Passes.h"
#include "mlir/IR/Builders.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/JSON.h"
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

using units::kGiB;

namespace {

double round6(double value) { return roundToSixDigits(value); }
std::string seconds(double s) { return formatSeconds(s); }

struct ChipMeshPartitionPass
    : public ListsOptionsOnError<chipmesh::impl::ChipMeshPartitionBase<ChipMeshPartitionPass>> {
  using ListsOptionsOnError::ListsOptionsOnError;
  void runOnOperation() override;

private:
  LogicalResult parseOptions(func::FuncOp func, PartitionOptions &options);
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
    return module.emitError() << "schedule must be 'gpipe' or '1f1b', got '"
                              << scheduleName << "'";
  options.schedule = *schedule;
  std::optional<Objective> objective = symbolizeObjective(objectiveName);
  if (!objective)
    return module.emitError() << "objective must be 'step-time', "
                                 "'throughput', 'cost' or 'energy', got '"
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
  FailureOr<topo::MeshOp> mesh = failure();
  if (meshName.empty()) {
    auto meshes = llvm::to_vector(module.getOps<topo::MeshOp>());
    if (meshes.size() != 1) {
      module.emitError() << (meshes.empty() ? "no topo.mesh in the module"
                                            : "several topo.mesh in the module")
                         << "; choose one with mesh=@name or mesh=<file.mlir>";
      return signalPassFailure();
    }
    mesh = meshes.front();
  } else {
    mesh = resolveMeshOption(module, meshName, meshHolder);
  }
  if (failed(mesh))
    return signalPassFailure();
  FailureOr<MeshView> view = MeshView::build(*mesh);
  if (failed(view))
    return signalPassFailure();

  std::string whyNot;
  FailureOr<PartitionResult> found = failure();
  if (!planFile.empty()) {
    // The plan as given: nothing is searched.
    if (!strategyText.empty() || virtualStages != 1 || zeroText != "0") {
      module.emitError() << "plan= prices a plan as given; strategy=, "
                            "virtual-stages= and zero= come from the plan file";
      return signalPassFailure();
    }
    auto buffer = llvm::MemoryBuffer::getFile(readablePath(planFile));
    if (!buffer) {
      module.emitError() << "cannot read plan file '" << planFile
                         << "': " << buffer.getError().message();
      return signalPassFailure();
    }
    llvm::Expected<GivenPlan> given =
        parsePlanFile((*buffer)->getBuffer(), *view);
    if (!given) {
      module.emitError() << "plan file '" << planFile
                         << "': " << llvm::toString(given.takeError());
      return signalPassFailure();
    }
    if (options.globalBatch && options.globalBatch != given->globalBatch) {
      module.emitError() << "batch=" << options.globalBatch
                         << " differs from the plan's global batch of "
                         << given->globalBatch;
      return signalPassFailure();
    }
    if (options.microBatch && options.microBatch != given->microBatch) {
      module.emitError() << "micro-batch=" << options.microBatch
                         << " differs from the plan's micro-batch of "
                         << given->microBatch;
      return signalPassFailure();
    }
    options.schedule = given->schedule;
    options.virtualStages = given->virtualStages;
    found = evaluateGivenPlan(*func, *view, calibration, options, *given, whyNot);
  } else {
    found = partitionModel(*func, *view, calibration, options, whyNot);
  }
  if (failed(found)) {
    if (!whyNot.empty())
      module.emitError() << "cannot partition @" << func->getSymName()
                         << " over @" << mesh->getSymName() << ": " << whyNot;
    return signalPassFailure();
  }
  const PartitionResult &result = *found;
  const Plan &plan = result.plan;

  // The reference chip alone, same global batch.
  ChipKindSpec refSpec = MeshView::resolve(*referenceChip);
  ComputeModel refModel(refSpec, calibration.chip(refSpec));
  refModel.setMathMode(options.math);
  CostOptions refOptions;
  refOptions.mode = options.mode;
  refOptions.recompute = options.recompute;
  refOptions.microBatch = plan.microBatch;
  refOptions.microBatches =
      static_cast<uint64_t>(result.globalBatch / plan.microBatch);
  ChipEstimate ref = estimateOnChip(result.profile, refModel, refOptions);
  double equivalent = ref.stepS / plan.stepS;
  double samplesPerS = result.globalBatch / plan.stepS;
  double tokensPerS = samplesPerS * result.tokensPerSample;
  double ratio = plan.stepS / result.lowerBoundS;

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

  // Placements on the top-level ops.
  Builder b(module.getContext());
  {
    unsigned layer = 0;
    for (const ModelUnit &unit : result.profile.units) {
      llvm::SmallVector<int64_t> stages, repeats;
      for (uint64_t r = 0; r < unit.repeat; ++r, ++layer) {
        unsigned s = 0;
        while (s + 1 < plan.stages.size() && plan.stages[s].endLayer <= layer)
          ++s;
        if (stages.empty() || stages.back() != s) {
          stages.push_back(s);
          repeats.push_back(0);
        }
        ++repeats.back();
      }
      unit.op->setAttr("chipmesh.placement",
                       b.getDictionaryAttr(
                           {b.getNamedAttr("stages", b.getDenseI64ArrayAttr(stages)),
                            b.getNamedAttr("repeats",
                                           b.getDenseI64ArrayAttr(repeats))}));
    }
  }
  SmallVector<Attribute> stageAttrs;
  // Recomputation chosen per stage: each stage says its own, and the plan
  // says "auto".
  bool perStage = !plan.stageRecompute.empty();
  for (auto [s, stage] : llvm::enumerate(plan.stages)) {
    SmallVector<Attribute> devices, shares;
    for (size_t r = 0; r < stage.devices.size(); ++r) {
      SmallVector<int64_t> chips(stage.devices[r].begin(), stage.devices[r].end());
      devices.push_back(b.getDenseI64ArrayAttr(chips));
      SmallVector<double> sh;
      for (double x : stage.shares[r])
        sh.push_back(round6(x));
      shares.push_back(b.getDenseF64ArrayAttr(sh));
    }
    NamedAttrList stageDict;
    stageDict.append("layers", b.getDenseI64ArrayAttr({stage.firstLayer, stage.endLayer}));
    stageDict.append("devices", b.getArrayAttr(devices));
    stageDict.append("shares", b.getArrayAttr(shares));
    if (perStage)
      stageDict.append("recompute",
                       b.getStringAttr(stringifyRecompute(plan.stageRecompute[s])));
    stageAttrs.push_back(stageDict.getDictionary(b.getContext()));
  }
  SmallVector<int64_t> replicaMicro(plan.replicaMicroBatches.begin(),
                                    plan.replicaMicroBatches.end());
  module->setAttr(
      "chipmesh.plan",
      b.getDictionaryAttr({
          b.getNamedAttr("mesh", FlatSymbolRefAttr::get(mesh->getSymNameAttr())),
          b.getNamedAttr("func", b.getStringAttr(func->getSymName())),
          b.getNamedAttr("mode", b.getStringAttr(stringifyMode(options.mode))),
          b.getNamedAttr("recompute",
                         b.getStringAttr(perStage ? StringRef("auto")
                                                  : stringifyRecompute(options.recompute))),
          b.getNamedAttr("dp", b.getI64IntegerAttr(plan.strategy.dp)),
          b.getNamedAttr("pp", b.getI64IntegerAttr(plan.strategy.pp)),
          b.getNamedAttr("tp", b.getI64IntegerAttr(plan.strategy.tp)),
          b.getNamedAttr("layout", b.getStringAttr(stringifyReplicaLayout(plan.layout))),
          b.getNamedAttr("schedule", b.getStringAttr(stringifySchedule(plan.schedule))),
          b.getNamedAttr("virtual_stages", b.getI64IntegerAttr(plan.virtualStages)),
          b.getNamedAttr("zero", b.getI64IntegerAttr(plan.zero)),
          b.getNamedAttr("micro_batch", b.getI64IntegerAttr(
                                            static_cast<int64_t>(plan.microBatch))),
          b.getNamedAttr("replica_micro_batches", b.getDenseI64ArrayAttr(replicaMicro)),
          b.getNamedAttr("stages", b.getArrayAttr(stageAttrs)),
          b.getNamedAttr("step_time_s", b.getF64FloatAttr(round6(plan.stepS))),
      }));
  if (!result.idleChips.empty()) {
    // The chips no stage uses: they get no program.
    SmallVector<int64_t> idle(result.idleChips.begin(), result.idleChips.end());
    auto dict = module->getAttrOfType<DictionaryAttr>("chipmesh.plan");
    NamedAttrList attrs(dict);
    attrs.set("idle_chips", b.getDenseI64ArrayAttr(idle));
    module->setAttr("chipmesh.plan", attrs.getDictionary(module.getContext()));
  }

  auto openOut = [&](StringRef path) -> std::unique_ptr<llvm::ToolOutputFile> {
    std::string error;
    auto out = openCommittedOutput(path, &error);
    if (!out)
      module.emitError() << "cannot open '" << path << "': " << error;
    return out;
  };

  if (!reportFile.empty() && llvm::StringRef(reportFile).ends_with(".html")) {
    // The same page chipmesh-plan writes: timeline, mesh, memory.
    if (auto out = openOut(reportFile)) {
      out->os() << htmlPage("Plan for @" + func->getSymName().str() + " on @" +
                                mesh->getSymName().str(),
                            planSections(result, *view));
      out->keep();
    } else {
      return signalPassFailure();
    }
  } else if (!reportFile.empty()) {
    llvm::json::Array stagesJson, devicesJson;
    for (auto [s, stage] : llvm::enumerate(plan.stages)) {
      llvm::json::Array devs, shares;
      for (size_t r = 0; r < stage.devices.size(); ++r) {
        llvm::json::Array d, sh;
        for (unsigned c : stage.devices[r])
          d.push_back(view->chips()[c].path);
        // Exact, so that plan=FILE prices the very same split.
        for (double x : stage.shares[r])
          sh.push_back(x);
        devs.push_back(std::move(d));
        shares.push_back(std::move(sh));
      }
      llvm::json::Object stageJson{
          {"stage", static_cast<int64_t>(s)},
          {"layers", llvm::json::Array{stage.firstLayer, stage.endLayer}},
          {"devices", std::move(devs)},
          {"shares", std::move(shares)},
      };
      if (perStage)
        stageJson["recompute"] = stringifyRecompute(plan.stageRecompute[s]);
      stagesJson.push_back(std::move(stageJson));
    }
    std::vector<int64_t> tpPerStage;
    for (const StagePlan &stage : plan.stages)
      tpPerStage.push_back(static_cast<int64_t>(stage.devices.front().size()));
    llvm::json::Array idleJson;
    for (unsigned c : result.idleChips)
      idleJson.push_back(llvm::json::Object{
          {"device", view->chips()[c].path},
          {"chip", static_cast<int64_t>(c)},
          {"kind", view->kindOf(c).name},
      });
    for (const DevicePlan &d : plan.devices)
      if (!d.idle)
        devicesJson.push_back(llvm::json::Object{
          {"device", view->chips()[d.chip].path},
          {"chip", static_cast<int64_t>(d.chip)},
          {"kind", view->kindOf(d.chip).name},
          {"replica", d.replica},
          {"stage", d.stage},
          {"tp_rank", d.tpRank},
          {"share", round6(d.share)},
          {"compute_s", round6(d.computeS)},
          {"comm_s", round6(d.commS)},
          {"idle_s", round6(d.idleS)},
          {"memory_bytes", std::round(d.memoryBytes)},
          {"memory_capacity_bytes", std::round(d.capacityBytes)},
      });
    llvm::json::Object refJson{
        {"chip", reference.getValue()},
        {"step_time_s", round6(ref.stepS)},
        {"fits", ref.fits()},
        {"memory_bytes", std::round(ref.memory.total())},
        {"mesh_equivalent_chips", round6(equivalent)},
    };
    if (!ref.fits())
      refJson["does_not_fit_by_bytes"] = std::round(ref.shortfallBytes());
    llvm::json::Object root{
        {"func", func->getSymName()},
        {"mesh", mesh->getSymName()},
        {"mode", stringifyMode(options.mode)},
        {"objective", stringifyObjective(options.objective)},
        {"strategy",
         llvm::json::Object{{"dp", plan.strategy.dp},
                            {"pp", plan.strategy.pp},
                            {"tp", plan.strategy.tp},
                            {"tp_per_stage", llvm::json::Array(tpPerStage)},
                            {"layout", stringifyReplicaLayout(plan.layout)},
                            {"stage_order",
                             plan.reversedStages ? "reversed" : "mesh"}}},
        {"schedule", stringifySchedule(plan.schedule)},
        {"virtual_stages", static_cast<int64_t>(plan.virtualStages)},
        {"zero", static_cast<int64_t>(plan.zero)},
        {"global_batch", static_cast<int64_t>(result.globalBatch)},
        {"micro_batch", round6(plan.microBatch)},
        {"replica_micro_batches",
         llvm::json::Array(std::vector<int64_t>(plan.replicaMicroBatches.begin(),
                                                plan.replicaMicroBatches.end()))},
        {"stages", std::move(stagesJson)},
        {"devices", std::move(devicesJson)},
        {"idle_chips", std::move(idleJson)},
        {"step_time_s", round6(plan.stepS)},
        {"pipeline_s", round6(plan.pipelineS)},
        {"gradient_sync_s", round6(plan.gradientSyncS)},
        {"optimizer_s", round6(plan.optimizerS)},
        {"throughput",
         llvm::json::Object{{"samples_per_s", round6(samplesPerS)},
                            {"tokens_per_s", round6(tokensPerS)}}},
        {"lower_bound_s", round6(result.lowerBoundS)},
        {"ratio_to_lower_bound", round6(ratio)},
        {"reference", std::move(refJson)},
        {"search",
         llvm::json::Object{{"candidates", result.candidates},
                            {"feasible", result.feasible},
                            {"pruned", result.pruned}}},
    };
    if (!result.idleChips.empty())
      root["idle_reason"] = describeIdleChips(result, options.objective, view->numChips());
    auto out = openOut(reportFile);
    if (!out)
      return signalPassFailure();
    out->os() << llvm::formatv("{0:2}", finiteJSON(llvm::json::Value(std::move(root))))
              << "\n";
    out->keep();
  }

  if (table) {
    llvm::raw_ostream &os = llvm::outs();
    // tp per stage where stages differ (by-kind plans): "4/1/1".
    std::string tpText = std::to_string(plan.strategy.tp);
    if (llvm::any_of(plan.stages, [&](const StagePlan &stage) {
          return stage.devices.front().size() != plan.strategy.tp;
        }))
      tpText = llvm::join(llvm::map_range(plan.stages,
                                          [](const StagePlan &stage) {
                                            return std::to_string(
                                                stage.devices.front().size());
                                          }),
                          "/");
    os << llvm::formatv("plan for @{0} on @{1} ({2} chips): dp={3} pp={4} "
                        "tp={5} ({6} replicas), {7}, micro-batch {8}, "
                        "{9} micro-batches per replica{10}\n",
                        func->getSymName(), mesh->getSymName(),
                        view->numChips(), plan.strategy.dp, plan.strategy.pp,
                        tpText, stringifyReplicaLayout(plan.layout),
                        stringifySchedule(plan.schedule),
                        formatCount(plan.microBatch),
                        llvm::join(llvm::map_range(plan.replicaMicroBatches,
                                                   [](uint64_t m) {
                                                     return std::to_string(m);
                                                   }),
                                   "/"),
                        (plan.virtualStages > 1
                             ? llvm::formatv(", {0} model chunks per device "
                                             "(interleaved)",
                                             plan.virtualStages)
                                   .str()
                             : std::string()) +
                            (plan.zero ? llvm::formatv(", ZeRO-{0}", plan.zero).str()
                                       : std::string()) +
                            (sequenceParallel && plan.strategy.tp > 1
                                 ? ", sequence parallel"
                                 : ""));
    // Large meshes: the first replica's group per stage, and devices
    // summarised per (stage, kind); the JSON report has every device.
    bool summarise = plan.devices.size() > 16;
    for (auto [s, stage] : llvm::enumerate(plan.stages)) {
      os << llvm::formatv("  stage {0}: layers [{1}, {2})", s, stage.firstLayer,
                          stage.endLayer);
      size_t replicas = summarise ? 1 : stage.devices.size();
      for (size_t r = 0; r < replicas; ++r) {
        os << (r ? "; " : "  on ");
        for (size_t k = 0; k < stage.devices[r].size(); ++k)
          os << (k ? ", " : "") << view->chips()[stage.devices[r][k]].path
             << llvm::formatv(" ({0:P0})", stage.shares[r][k]);
      }
      if (replicas < stage.devices.size())
        os << llvm::formatv(" and {0} more replicas", stage.devices.size() - replicas);
      if (perStage)
        os << ", recompute " << stringifyRecompute(plan.stageRecompute[s]);
      os << "\n";
    }
    os << llvm::formatv("{0,-28} {1,10} {2,10} {3,10} {4,9} {5,9}\n",
                        summarise ? "stage/kind (chips)" : "device", "compute",
                        "comm", "idle", "mem GiB", "cap GiB");
    if (!summarise) {
      for (const DevicePlan &d : plan.devices)
        if (!d.idle)
        os << llvm::formatv("{0,-28} {1,10} {2,10} {3,10} {4,9:F1} {5,9:F1}\n",
                            view->chips()[d.chip].path, seconds(d.computeS),
                            seconds(d.commS), seconds(d.idleS),
                            d.memoryBytes / kGiB, d.capacityBytes / kGiB);
    } else {
      // The worst (largest) figure of each (stage, kind).
      std::map<std::pair<unsigned, std::string>, std::pair<unsigned, DevicePlan>> rows;
      for (const DevicePlan &d : plan.devices) {
        if (d.idle)
          continue;
        auto &[count, worst] = rows[{d.stage, view->kindOf(d.chip).name}];
        if (count++ == 0) {
          worst = d;
          continue;
        }
        worst.computeS = std::max(worst.computeS, d.computeS);
        worst.commS = std::max(worst.commS, d.commS);
        worst.idleS = std::max(worst.idleS, d.idleS);
        worst.memoryBytes = std::max(worst.memoryBytes, d.memoryBytes);
      }
      for (auto &[key, row] : rows)
        os << llvm::formatv("{0,-28} {1,10} {2,10} {3,10} {4,9:F1} {5,9:F1}\n",
                            llvm::formatv("{0}/{1} ({2})", key.first, key.second,
                                          row.first)
                                .str(),
                            seconds(row.second.computeS), seconds(row.second.commS),
                            seconds(row.second.idleS),
                            row.second.memoryBytes / kGiB,
                            row.second.capacityBytes / kGiB);
    }
    if (!result.idleChips.empty()) {
      // Every idle chip on a small mesh; the first few on a large one.
      size_t shown = std::min<size_t>(result.idleChips.size(), summarise ? 4 : 16);
      os << "idle:";
      for (size_t i = 0; i < shown; ++i)
        os << (i ? ", " : " ") << view->chips()[result.idleChips[i]].path;
      if (shown < result.idleChips.size())
        os << llvm::formatv(" and {0} more", result.idleChips.size() - shown);
      os << " (" << describeIdleChips(result, options.objective, view->numChips())
         << ")\n";
    }
    os << llvm::formatv("step {0} (pipeline {1}, gradient sync {2}, optimizer "
                        "{3}); {4:F2} samples/s, {5:F0} tokens/s\n",
                        seconds(plan.stepS), seconds(plan.pipelineS),
                        seconds(plan.gradientSyncS), seconds(plan.optimizerS),
                        samplesPerS, tokensPerS);
    os << llvm::formatv("lower bound {0} (aggregate compute): plan is {1:F2}x "
                        "the bound\n",
                        seconds(result.lowerBoundS), ratio);
    if (ref.fits())
      os << llvm::formatv("reference {0}: one chip takes {1} per step; this "
                          "mesh ~ {2:F2} x {0}\n",
                          reference.getValue(), seconds(ref.stepS), equivalent);
    else
      os << llvm::formatv("reference {0}: one chip does not fit (by {1:F1} "
                          "GiB); by compute alone it would take {2}, so this "
                          "mesh ~ {3:F2} x {0}\n",
                          reference.getValue(), ref.shortfallBytes() / kGiB,
                          seconds(ref.stepS), equivalent);
    os << llvm::formatv("search: {0} candidates, {1} feasible, {2} pruned by "
                        "the lower bound\n",
                        result.candidates, result.feasible, result.pruned);
  }
  markAllAnalysesPreserved();
}
