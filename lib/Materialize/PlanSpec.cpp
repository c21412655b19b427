//===- PlanSpec.cpp - The chipmesh.plan attribute, read back --------------===//

#include "chipmesh/Materialize/PlanSpec.h"
#include "chipmesh/Support/Apportion.h"
#include "chipmesh/Support/Units.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseSet.h"
#include <cmath>

using namespace mlir;
using namespace chipmesh;

FailureOr<PlanSpec> chipmesh::readPlanSpec(ModuleOp module) {
  auto dict = module->getAttrOfType<DictionaryAttr>("chipmesh.plan");
  if (!dict)
    return module.emitError()
           << "the module has no 'chipmesh.plan' dictionary; run "
              "--chipmesh-partition first";
  auto bad = [&](StringRef field, StringRef what) {
    return module.emitError() << "chipmesh.plan: '" << field << "' " << what;
  };
  PlanSpec plan;
  auto intField = [&](StringRef name, int64_t &out) -> LogicalResult {
    auto attr = dict.getAs<IntegerAttr>(name);
    if (!attr)
      return bad(name, "is missing or not an integer");
    out = attr.getInt();
    if (out < 1)
      return bad(name, "must be at least 1");
    return success();
  };
  auto strField = [&](StringRef name, std::string &out) -> LogicalResult {
    auto attr = dict.getAs<StringAttr>(name);
    if (!attr)
      return bad(name, "is missing or not a string");
    out = attr.str();
    return success();
  };
  plan.mesh = dict.getAs<FlatSymbolRefAttr>("mesh");
  if (!plan.mesh)
    return bad("mesh", "is missing or not a symbol reference");
  plan.meshOp =
      SymbolTable::lookupNearestSymbolFrom<topo::MeshOp>(module, plan.mesh);
  if (!plan.meshOp)
    return module.emitError() << "chipmesh.plan names mesh " << plan.mesh
                              << ", which is not a topo.mesh in this module";
  int64_t numChips = plan.meshOp.getNumChips();
  std::string mode, schedule;
  if (failed(strField("func", plan.func)) || failed(strField("mode", mode)) ||
      failed(strField("schedule", schedule)) ||
      failed(intField("dp", plan.dp)) || failed(intField("pp", plan.pp)) ||
      failed(intField("tp", plan.tp)) ||
      failed(intField("micro_batch", plan.microBatch)))
    return failure();
  std::optional<Mode> parsedMode = symbolizeMode(mode);
  if (!parsedMode)
    return bad("mode", "must be " + spellingsOf<Mode>(false));
  plan.training = *parsedMode == Mode::Train;
  // Bounds: the programs hold one loop trip per micro-batch and one
  // message per boundary, so counts stay within what a search can emit.
  if (plan.microBatch > (int64_t(1) << 40))
    return bad("micro_batch", "must be at most 2^40");
  if (plan.tp > numChips)
    return bad("tp", "is larger than the mesh's " + std::to_string(numChips) + " chips");
  if (auto recompute = dict.get("recompute")) {
    auto text = dyn_cast<StringAttr>(recompute);
    if (!text || (!symbolizeRecompute(text.getValue()) && text.getValue() != "auto"))
      return bad("recompute", "must be " +
                                  spellingsOf<Recompute>(false, "auto") +
                                  " (per stage)");
    plan.recompute = text.str();
  }
  if (auto layout = dict.get("layout")) {
    auto text = dyn_cast<StringAttr>(layout);
    if (!text || !symbolizeReplicaLayout(text.getValue()))
      return bad("layout", "must be " + spellingsOf<ReplicaLayout>(false));
  }
  std::optional<Schedule> sched = symbolizeSchedule(schedule);
  if (!sched)
    return bad("schedule", "must be " + spellingsOf<Schedule>(false));
  plan.schedule = *sched;
  if (auto chunks = dict.getAs<IntegerAttr>("virtual_stages"))
    if (chunks.getInt() != 1)
      return bad("virtual_stages",
                 "is " + std::to_string(chunks.getInt()) +
                     ": interleaved plans are priced but not materialized yet "
                     "(partition with virtual-stages=1)");
  if (auto zero = dict.getAs<IntegerAttr>("zero"))
    if (zero.getInt() != 0)
      return bad("zero",
                 "is " + std::to_string(zero.getInt()) +
                     ": ZeRO-sharded plans are priced but not materialized yet "
                     "(partition with zero=0)");
  auto micro = dict.getAs<DenseI64ArrayAttr>("replica_micro_batches");
  if (!micro || static_cast<int64_t>(micro.size()) != plan.dp)
    return bad("replica_micro_batches", "must list one count per replica (dp)");
  int64_t totalMicro = 0;
  for (int64_t m : micro.asArrayRef()) {
    if (m < 1 || m > static_cast<int64_t>(kMaxMicroBatchesPerStep))
      return bad("replica_micro_batches", "must each be in [1, 2^20]");
    totalMicro += m;
  }
  if (totalMicro > static_cast<int64_t>(kMaxMicroBatchesPerStep))
    return bad("replica_micro_batches", "must sum to at most 2^20 micro-batches per step");
  plan.replicaMicroBatches.assign(micro.asArrayRef().begin(),
                                  micro.asArrayRef().end());
  auto stages = dict.getAs<ArrayAttr>("stages");
  if (!stages || static_cast<int64_t>(stages.size()) != plan.pp)
    return bad("stages", "must list one entry per pipeline stage (pp)");
  llvm::DenseSet<int64_t> used;
  int64_t previousEnd = 0;
  for (auto [s, attr] : llvm::enumerate(stages)) {
    auto stage = dyn_cast<DictionaryAttr>(attr);
    auto layers = stage ? stage.getAs<DenseI64ArrayAttr>("layers") : nullptr;
    auto devices = stage ? stage.getAs<ArrayAttr>("devices") : nullptr;
    auto shares = stage ? stage.getAs<ArrayAttr>("shares") : nullptr;
    std::string where = "stages[" + std::to_string(s) + "]";
    if (!layers || layers.size() != 2 || !devices || !shares)
      return bad(where, "needs 'layers' [first, end), 'devices' and 'shares'");
    StageSpec spec;
    spec.recompute = plan.recompute;
    if (auto own = stage.get("recompute")) {
      auto text = dyn_cast<StringAttr>(own);
      if (!text || !symbolizeRecompute(text.getValue()))
        return bad(where, "'recompute' must be none, selective or full");
      spec.recompute = text.str();
    } else if (plan.recompute == "auto") {
      return bad(where, "needs its own 'recompute' (the plan's is auto)");
    }
    spec.firstLayer = layers[0];
    spec.endLayer = layers[1];
    if (spec.firstLayer != previousEnd || spec.endLayer <= spec.firstLayer)
      return bad(where, "layers must continue the previous stage and be non-empty");
    previousEnd = spec.endLayer;
    if (static_cast<int64_t>(devices.size()) != plan.dp ||
        devices.size() != shares.size())
      return bad(where, "needs one device list and one share list per replica");
    for (auto [devAttr, shareAttr] : llvm::zip(devices, shares)) {
      auto devs = dyn_cast<DenseI64ArrayAttr>(devAttr);
      auto sh = dyn_cast<DenseF64ArrayAttr>(shareAttr);
      if (!devs || !sh || devs.size() != sh.size() || devs.empty())
        return bad(where, "device and share lists must be non-empty and equal in length");
      // tp is the widest group (hand-written plans may narrow a stage).
      if (static_cast<int64_t>(devs.size()) > plan.tp)
        return bad(where, "lists a tensor group of " + std::to_string(devs.size()) +
                              " devices, but tp = " + std::to_string(plan.tp));
      double sum = 0;
      for (double x : sh.asArrayRef())
        sum += x;
      // The plan writes shares rounded to six digits.
      if (!(std::abs(sum - 1.0) <= 1e-4))
        return bad(where, "shares of a tensor group must sum to 1, got " +
                              std::to_string(sum));
      for (int64_t d : devs.asArrayRef()) {
        if (d < 0 || d >= numChips)
          return bad(where, "names device " + std::to_string(d) +
                                ", which is not in the mesh");
        if (!used.insert(d).second)
          return bad(where, "places device " + std::to_string(d) +
                                " a second time");
      }
      for (double x : sh.asArrayRef())
        if (!(x > 0 && x <= 1))
          return bad(where, "shares must be in (0, 1]");
      spec.devices.emplace_back(devs.asArrayRef().begin(), devs.asArrayRef().end());
      spec.shares.emplace_back(sh.asArrayRef().begin(), sh.asArrayRef().end());
    }
    plan.stages.push_back(std::move(spec));
  }
  plan.model = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
      module, StringAttr::get(module.getContext(), plan.func));
  if (!plan.model || plan.model.isExternal())
    return module.emitError() << "chipmesh.plan names function @" << plan.func
                              << ", which is not a function with a body here";
  return plan;
}

std::optional<SmallVector<int64_t>>
chipmesh::apportionShares(int64_t total, int64_t granule,
                          ArrayRef<double> shares) {
  if (shares.empty() || granule <= 0 || total < 0 || total % granule != 0)
    return std::nullopt;
  auto parts = apportionLargestRemainder(total / granule, shares);
  if (!parts)
    return std::nullopt;
  SmallVector<int64_t> sizes;
  for (uint64_t p : *parts)
    sizes.push_back(static_cast<int64_t>(p) * granule);
  return sizes;
}

void chipmesh::writePlanAttributes(ModuleOp module, topo::MeshOp mesh,
                                   func::FuncOp func,
                                   const PartitionResult &result,
                                   const PartitionOptions &options) {
  const Plan &plan = result.plan;
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
      unit.op->setAttr(
          "chipmesh.placement",
          b.getDictionaryAttr(
              {b.getNamedAttr("stages", b.getDenseI64ArrayAttr(stages)),
               b.getNamedAttr("repeats", b.getDenseI64ArrayAttr(repeats))}));
    }
  }
  // Recomputation chosen per stage: each stage says its own, and the plan
  // says "auto".
  bool perStage = !plan.stageRecompute.empty();
  SmallVector<Attribute> stageAttrs;
  for (auto [s, stage] : llvm::enumerate(plan.stages)) {
    SmallVector<Attribute> devices, shares;
    for (size_t r = 0; r < stage.devices.size(); ++r) {
      SmallVector<int64_t> chips(stage.devices[r].begin(),
                                 stage.devices[r].end());
      devices.push_back(b.getDenseI64ArrayAttr(chips));
      SmallVector<double> sh;
      for (double x : stage.shares[r])
        sh.push_back(roundToSixDigits(x));
      shares.push_back(b.getDenseF64ArrayAttr(sh));
    }
    NamedAttrList stageDict;
    stageDict.append(
        "layers", b.getDenseI64ArrayAttr({stage.firstLayer, stage.endLayer}));
    stageDict.append("devices", b.getArrayAttr(devices));
    stageDict.append("shares", b.getArrayAttr(shares));
    if (perStage)
      stageDict.append("recompute", b.getStringAttr(stringifyRecompute(
                                        plan.stageRecompute[s])));
    stageAttrs.push_back(stageDict.getDictionary(b.getContext()));
  }
  SmallVector<int64_t> replicaMicro(plan.replicaMicroBatches.begin(),
                                    plan.replicaMicroBatches.end());
  module->setAttr(
      "chipmesh.plan",
      b.getDictionaryAttr({
          b.getNamedAttr("mesh", FlatSymbolRefAttr::get(mesh.getSymNameAttr())),
          b.getNamedAttr("func", b.getStringAttr(func.getSymName())),
          b.getNamedAttr("mode", b.getStringAttr(stringifyMode(options.mode))),
          b.getNamedAttr("recompute",
                         b.getStringAttr(
                             perStage ? StringRef("auto")
                                      : stringifyRecompute(options.recompute))),
          b.getNamedAttr("dp", b.getI64IntegerAttr(plan.strategy.dp)),
          b.getNamedAttr("pp", b.getI64IntegerAttr(plan.strategy.pp)),
          b.getNamedAttr("tp", b.getI64IntegerAttr(plan.strategy.tp)),
          b.getNamedAttr("layout",
                         b.getStringAttr(stringifyReplicaLayout(plan.layout))),
          b.getNamedAttr("schedule",
                         b.getStringAttr(stringifySchedule(plan.schedule))),
          b.getNamedAttr("virtual_stages",
                         b.getI64IntegerAttr(plan.virtualStages)),
          b.getNamedAttr("zero", b.getI64IntegerAttr(plan.zero)),
          b.getNamedAttr(
              "micro_batch",
              b.getI64IntegerAttr(static_cast<int64_t>(plan.microBatch))),
          b.getNamedAttr("replica_micro_batches",
                         b.getDenseI64ArrayAttr(replicaMicro)),
          b.getNamedAttr("stages", b.getArrayAttr(stageAttrs)),
          b.getNamedAttr("step_time_s",
                         b.getF64FloatAttr(roundToSixDigits(plan.stepS))),
      }));
  if (!result.idleChips.empty()) {
    // The chips no stage uses: they get no program.
    SmallVector<int64_t> idle(result.idleChips.begin(), result.idleChips.end());
    auto dict = module->getAttrOfType<DictionaryAttr>("chipmesh.plan");
    NamedAttrList attrs(dict);
    attrs.set("idle_chips", b.getDenseI64ArrayAttr(idle));
    module->setAttr("chipmesh.plan", attrs.getDictionary(module.getContext()));
  }
}
