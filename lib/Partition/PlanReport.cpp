//===- PlanReport.cpp - A found plan as a JSON report and a table ---------===//

#include "chipmesh/Partition/PlanReport.h"
#include "chipmesh/Support/JSON.h"
#include "chipmesh/Support/Units.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include <cmath>
#include <map>

using namespace chipmesh;
using units::kGiB;

static double round6(double value) { return roundToSixDigits(value); }
static std::string seconds(double s) { return formatSeconds(s); }

PlanReport::PlanReport(llvm::StringRef funcName, llvm::StringRef meshName,
                       const PartitionResult &result, const MeshView &view,
                       const PartitionOptions &options,
                       const CatalogChip &reference,
                       const Calibration &calibration)
    : funcName(funcName.str()), meshName(meshName.str()),
      referenceName(reference.id), result(result), plan(result.plan),
      view(view), options(options),
      perStage(!result.plan.stageRecompute.empty()) {
  // The reference chip alone, same global batch.
  ChipKindSpec refSpec = MeshView::resolve(reference);
  ComputeModel refModel(refSpec, calibration.chip(refSpec));
  refModel.setMathMode(options.math);
  CostOptions refOptions;
  refOptions.mode = options.mode;
  refOptions.recompute = options.recompute;
  refOptions.microBatch = plan.microBatch;
  refOptions.microBatches =
      static_cast<uint64_t>(result.globalBatch / plan.microBatch);
  ref = estimateOnChip(result.profile, refModel, refOptions);
  equivalent = ref.stepS / plan.stepS;
  samplesPerS = result.globalBatch / plan.stepS;
  tokensPerS = samplesPerS * result.tokensPerSample;
  ratio = plan.stepS / result.lowerBoundS;
}

llvm::json::Value PlanReport::json() const {
  llvm::json::Array stagesJson, devicesJson;
  for (auto [s, stage] : llvm::enumerate(plan.stages)) {
    llvm::json::Array devs, shares;
    for (size_t r = 0; r < stage.devices.size(); ++r) {
      llvm::json::Array d, sh;
      for (unsigned c : stage.devices[r])
        d.push_back(view.chips()[c].path);
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
        {"device", view.chips()[c].path},
        {"chip", static_cast<int64_t>(c)},
        {"kind", view.kindOf(c).name},
    });
  for (const DevicePlan &d : plan.devices)
    if (!d.idle)
      devicesJson.push_back(llvm::json::Object{
          {"device", view.chips()[d.chip].path},
          {"chip", static_cast<int64_t>(d.chip)},
          {"kind", view.kindOf(d.chip).name},
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
      {"chip", referenceName},
      {"step_time_s", round6(ref.stepS)},
      {"fits", ref.fits()},
      {"memory_bytes", std::round(ref.memory.total())},
      {"mesh_equivalent_chips", round6(equivalent)},
  };
  if (!ref.fits())
    refJson["does_not_fit_by_bytes"] = std::round(ref.shortfallBytes());
  llvm::json::Object root{
      {"func", funcName},
      {"mesh", meshName},
      {"mode", stringifyMode(options.mode)},
      {"objective", stringifyObjective(options.objective)},
      {"strategy",
       llvm::json::Object{
           {"dp", plan.strategy.dp},
           {"pp", plan.strategy.pp},
           {"tp", plan.strategy.tp},
           {"tp_per_stage", llvm::json::Array(tpPerStage)},
           {"layout", stringifyReplicaLayout(plan.layout)},
           {"stage_order", plan.reversedStages ? "reversed" : "mesh"}}},
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
      {"throughput", llvm::json::Object{{"samples_per_s", round6(samplesPerS)},
                                        {"tokens_per_s", round6(tokensPerS)}}},
      {"lower_bound_s", round6(result.lowerBoundS)},
      {"ratio_to_lower_bound", round6(ratio)},
      {"reference", std::move(refJson)},
      {"search", llvm::json::Object{{"candidates", result.candidates},
                                    {"feasible", result.feasible},
                                    {"pruned", result.pruned}}},
  };
  if (!result.idleChips.empty())
    root["idle_reason"] =
        describeIdleChips(result, options.objective, view.numChips());
  return finiteJSON(llvm::json::Value(std::move(root)));
}

void PlanReport::printTable(llvm::raw_ostream &os) const {
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
  os << llvm::formatv(
      "plan for @{0} on @{1} ({2} chips): dp={3} pp={4} "
      "tp={5} ({6} replicas), {7}, micro-batch {8}, "
      "{9} micro-batches per replica{10}\n",
      funcName, meshName, view.numChips(), plan.strategy.dp, plan.strategy.pp,
      tpText, stringifyReplicaLayout(plan.layout),
      stringifySchedule(plan.schedule), formatCount(plan.microBatch),
      llvm::join(llvm::map_range(plan.replicaMicroBatches,
                                 [](uint64_t m) { return std::to_string(m); }),
                 "/"),
      (plan.virtualStages > 1 ? llvm::formatv(", {0} model chunks per device "
                                              "(interleaved)",
                                              plan.virtualStages)
                                    .str()
                              : std::string()) +
          (plan.zero ? llvm::formatv(", ZeRO-{0}", plan.zero).str()
                     : std::string()) +
          (options.sequenceParallel && plan.strategy.tp > 1
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
        os << (k ? ", " : "") << view.chips()[stage.devices[r][k]].path
           << llvm::formatv(" ({0:P0})", stage.shares[r][k]);
    }
    if (replicas < stage.devices.size())
      os << llvm::formatv(" and {0} more replicas",
                          stage.devices.size() - replicas);
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
                            view.chips()[d.chip].path, seconds(d.computeS),
                            seconds(d.commS), seconds(d.idleS),
                            d.memoryBytes / kGiB, d.capacityBytes / kGiB);
  } else {
    // The worst (largest) figure of each (stage, kind).
    std::map<std::pair<unsigned, std::string>, std::pair<unsigned, DevicePlan>>
        rows;
    for (const DevicePlan &d : plan.devices) {
      if (d.idle)
        continue;
      auto &[count, worst] = rows[{d.stage, view.kindOf(d.chip).name}];
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
      os << llvm::formatv(
          "{0,-28} {1,10} {2,10} {3,10} {4,9:F1} {5,9:F1}\n",
          llvm::formatv("{0}/{1} ({2})", key.first, key.second, row.first)
              .str(),
          seconds(row.second.computeS), seconds(row.second.commS),
          seconds(row.second.idleS), row.second.memoryBytes / kGiB,
          row.second.capacityBytes / kGiB);
  }
  if (!result.idleChips.empty()) {
    // Every idle chip on a small mesh; the first few on a large one.
    size_t shown =
        std::min<size_t>(result.idleChips.size(), summarise ? 4 : 16);
    os << "idle:";
    for (size_t i = 0; i < shown; ++i)
      os << (i ? ", " : " ") << view.chips()[result.idleChips[i]].path;
    if (shown < result.idleChips.size())
      os << llvm::formatv(" and {0} more", result.idleChips.size() - shown);
    os << " (" << describeIdleChips(result, options.objective, view.numChips())
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
                        referenceName, seconds(ref.stepS), equivalent);
  else
    os << llvm::formatv("reference {0}: one chip does not fit (by {1:F1} "
                        "GiB); by compute alone it would take {2}, so this "
                        "mesh ~ {3:F2} x {0}\n",
                        referenceName, ref.shortfallBytes() / kGiB,
                        seconds(ref.stepS), equivalent);
  os << llvm::formatv("search: {0} candidates, {1} feasible, {2} pruned by "
                      "the lower bound\n",
                      result.candidates, result.feasible, result.pruned);
}
