//===- PlanFile.cpp - A plan as the report writes it, read back -----------===//
//
// `--chipmesh-partition=plan=FILE` prices the plan a user runs today, as
// given: the report's own JSON (strategy, schedule, micro-batching, every
// stage's layers, devices per replica and shares). Every field error names
// the field, e.g. "stages[2].devices[0][1]: unknown device 'cluster/x[9]'".
//
//===----------------------------------------------------------------------===//

#include "chipmesh/Partition/Partitioner.h"
#include "chipmesh/Support/JSON.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include <cmath>

using namespace chipmesh;
namespace json = llvm::json;

namespace {

llvm::Error fieldError(const llvm::Twine &field, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 (field + ": " + message).str());
}

/// A positive integer at most `limit`.
llvm::Expected<uint64_t> positive(const json::Value *value,
                                  const llvm::Twine &field,
                                  uint64_t limit = uint64_t(1) << 40) {
  if (!value)
    return fieldError(field, "is missing");
  std::optional<int64_t> n = value->getAsInteger();
  if (!n)
    return fieldError(field, "must be an integer");
  if (*n < 1 || static_cast<uint64_t>(*n) > limit)
    return fieldError(field, llvm::formatv("must be in [1, {0}], got {1}",
                                           limit, *n));
  return static_cast<uint64_t>(*n);
}

} // namespace

llvm::Expected<GivenPlan> chipmesh::parsePlanFile(llvm::StringRef text,
                                                  const MeshView &mesh) {
  // Deeply nested input is refused before the recursive parser sees it.
  unsigned deepest = jsonNestingDepth(text);
  if (deepest > kMaxJSONDepth)
    return fieldError("plan", llvm::formatv("nests {0} levels deep; a plan "
                                            "needs at most 5",
                                            deepest));
  llvm::Expected<json::Value> parsed = json::parse(text);
  if (!parsed)
    return fieldError("plan", "invalid JSON: " + llvm::toString(parsed.takeError()));
  const json::Object *root = parsed->getAsObject();
  if (!root)
    return fieldError("plan", "must be a JSON object (the partition report)");

  GivenPlan plan;
  const json::Object *strategy = root->getObject("strategy");
  if (!strategy)
    return fieldError("strategy", "is missing or not an object");
  unsigned chips = mesh.numChips();
  auto dp = positive(strategy->get("dp"), "strategy.dp", chips);
  if (!dp)
    return dp.takeError();
  auto pp = positive(strategy->get("pp"), "strategy.pp", chips);
  if (!pp)
    return pp.takeError();
  auto tp = positive(strategy->get("tp"), "strategy.tp", chips);
  if (!tp)
    return tp.takeError();
  plan.strategy = {static_cast<unsigned>(*dp), static_cast<unsigned>(*pp),
                   static_cast<unsigned>(*tp)};
  // The layout first: by-kind plans have groups narrower than tp.
  if (auto layout = strategy->getString("layout")) {
    if (*layout == "strided")
      plan.layout = ReplicaLayout::Strided;
    else if (*layout == "by-kind")
      plan.layout = ReplicaLayout::ByKind;
    else if (*layout != "blocked")
      return fieldError("strategy.layout",
                        "must be blocked, strided or by-kind, got '" + *layout + "'");
  }
  bool narrowGroups = plan.layout == ReplicaLayout::ByKind;
  if ((narrowGroups ? *dp * *pp : *dp * *pp * *tp) > chips)
    return fieldError("strategy",
                      llvm::formatv("dp x pp x tp = {0} x {1} x {2} = {3}, but "
                                    "the mesh has {4} chips (chips the plan "
                                    "does not place stay idle, but it cannot "
                                    "place more than there are)",
                                    *dp, *pp, *tp, *dp * *pp * *tp, chips));
  if (auto order = strategy->getString("stage_order")) {
    if (*order != "mesh" && *order != "reversed")
      return fieldError("strategy.stage_order",
                        "must be mesh or reversed, got '" + *order + "'");
    plan.reversedStages = *order == "reversed";
  }
  std::optional<llvm::StringRef> schedule = root->getString("schedule");
  if (!schedule)
    return fieldError("schedule", "is missing or not a string");
  std::optional<Schedule> sched = symbolizeSchedule(*schedule);
  if (!sched)
    return fieldError("schedule", "must be gpipe or 1f1b, got '" + *schedule + "'");
  plan.schedule = *sched;
  if (const json::Value *chunks = root->get("virtual_stages")) {
    auto v = positive(chunks, "virtual_stages", 1024);
    if (!v)
      return v.takeError();
    plan.virtualStages = static_cast<unsigned>(*v);
  }
  if (const json::Value *zero = root->get("zero")) {
    std::optional<int64_t> z = zero->getAsInteger();
    if (!z || *z < 0 || *z > kMaxZeroStage)
      return fieldError("zero", "must be a ZeRO stage: 0, 1, 2 or 3");
    plan.zero = static_cast<unsigned>(*z);
    if (plan.zero > 0 && plan.strategy.dp == 1)
      return fieldError("zero", llvm::formatv("is {0}, but dp = 1 has no "
                                              "data-parallel group to shard over",
                                              plan.zero));
  }
  if (plan.virtualStages > 1 && plan.schedule != Schedule::OneFOneB)
    return fieldError("virtual_stages", "needs schedule 1f1b (interleaved 1F1B)");
  if (plan.strategy.pp == 1)
    plan.virtualStages = 1;

  const json::Value *microValue = root->get("micro_batch");
  if (!microValue)
    return fieldError("micro_batch", "is missing");
  std::optional<double> micro = microValue->getAsNumber();
  if (!micro || !(*micro >= 1) || *micro > double(uint64_t(1) << 40) ||
      std::floor(*micro) != *micro)
    return fieldError("micro_batch", "must be a whole number of samples in [1, 2^40]");
  plan.microBatch = static_cast<uint64_t>(*micro);
  const json::Array *replicaMicro = root->getArray("replica_micro_batches");
  if (!replicaMicro || replicaMicro->size() != plan.strategy.dp)
    return fieldError("replica_micro_batches",
                      llvm::formatv("must list one count per replica ({0})",
                                    plan.strategy.dp));
  uint64_t totalMicro = 0;
  for (auto [r, value] : llvm::enumerate(*replicaMicro)) {
    // Pipelines are played micro-batch by micro-batch: bound the work.
    auto m = positive(&value, llvm::formatv("replica_micro_batches[{0}]", r).str(),
                      uint64_t(1) << 20);
    if (!m)
      return m.takeError();
    if (plan.virtualStages > 1 && *m % plan.strategy.pp != 0)
      return fieldError(llvm::formatv("replica_micro_batches[{0}]", r).str(),
                        llvm::formatv("{0} is not a multiple of pp = {1}, as "
                                      "interleaved 1F1B needs",
                                      *m, plan.strategy.pp));
    plan.replicaMicroBatches.push_back(*m);
    totalMicro += *m;
  }
  // ZeRO-2/3 reduce (and gather) every micro-batch across the replicas.
  if (plan.zero >= 2 && !llvm::all_equal(plan.replicaMicroBatches))
    return fieldError("replica_micro_batches",
                      llvm::formatv("must be equal with zero = {0} (its "
                                    "collectives run every micro-batch across "
                                    "the replicas)",
                                    plan.zero));
  // The search's own bound on one step's micro-batches (each is played).
  if (totalMicro > kMaxMicroBatchesPerStep)
    return fieldError("replica_micro_batches",
                      llvm::formatv("sum to {0} micro-batches, more than the "
                                    "{1} one step may play",
                                    totalMicro, kMaxMicroBatchesPerStep));
  if (__builtin_mul_overflow(totalMicro, plan.microBatch, &plan.globalBatch) ||
      plan.globalBatch > (uint64_t(1) << 40))
    return fieldError("micro_batch", llvm::formatv("x the replicas' micro-batches "
                                                   "({0} x {1}) exceeds 2^40 samples",
                                                   plan.microBatch, totalMicro));
  if (const json::Value *global = root->get("global_batch")) {
    auto g = positive(global, "global_batch");
    if (!g)
      return g.takeError();
    if (*g != plan.globalBatch)
      return fieldError("global_batch",
                        llvm::formatv("is {0}, but micro_batch x the replicas' "
                                      "micro-batches = {1} x {2} = {3}",
                                      *g, plan.microBatch, totalMicro,
                                      plan.globalBatch));
  }

  llvm::StringMap<unsigned> chipByPath;
  for (unsigned c = 0; c < chips; ++c)
    chipByPath[mesh.chips()[c].path] = c;
  const json::Array *stages = root->getArray("stages");
  unsigned numStages = plan.strategy.pp * plan.virtualStages;
  if (!stages || stages->size() != numStages)
    return fieldError("stages",
                      llvm::formatv("must list {0} stages (pp x virtual_stages)",
                                    numStages));
  plan.groups.assign(plan.strategy.dp,
                     std::vector<std::vector<unsigned>>(numStages));
  plan.shares.assign(plan.strategy.dp, std::vector<std::vector<double>>(numStages));
  std::vector<int> placed(chips, -1); // the first slot that holds each chip
  uint64_t previousEnd = 0;
  for (auto [s, value] : llvm::enumerate(*stages)) {
    std::string where = llvm::formatv("stages[{0}]", s).str();
    const json::Object *stage = value.getAsObject();
    if (!stage)
      return fieldError(where, "must be an object");
    const json::Array *layers = stage->getArray("layers");
    if (!layers || layers->size() != 2)
      return fieldError(where + ".layers", "must be [first, end)");
    // Recomputation per stage: every stage says it, or none does.
    if (const json::Value *recompute = stage->get("recompute")) {
      std::optional<llvm::StringRef> name = recompute->getAsString();
      std::optional<Recompute> policy =
          name ? symbolizeRecompute(*name) : std::nullopt;
      if (!policy)
        return fieldError(where + ".recompute", "must be none, selective or full");
      if (plan.stageRecompute.size() != s)
        return fieldError(where + ".recompute",
                          "is given, but stages[0] has none (give every stage "
                          "one, or none)");
      plan.stageRecompute.push_back(*policy);
    } else if (!plan.stageRecompute.empty()) {
      return fieldError(where + ".recompute",
                        "is missing, but stages[0] has one (give every stage "
                        "one, or none)");
    }
    // Chunks of one device share its memory, hence its recomputation.
    if (s >= plan.strategy.pp && !plan.stageRecompute.empty() &&
        plan.stageRecompute[s] != plan.stageRecompute[s % plan.strategy.pp])
      return fieldError(where + ".recompute",
                        llvm::formatv("must equal stages[{0}]'s (model chunks of "
                                      "one device share its recomputation)",
                                      s % plan.strategy.pp)
                            .str());
    std::optional<int64_t> first = (*layers)[0].getAsInteger();
    std::optional<int64_t> end = (*layers)[1].getAsInteger();
    if (!first || !end || *first < 0 || *end > (int64_t(1) << 30) || *first >= *end)
      return fieldError(where + ".layers",
                        "must be two integers with 0 <= first < end <= 2^30");
    if (static_cast<uint64_t>(*first) != previousEnd)
      return fieldError(where + ".layers",
                        llvm::formatv("starts at layer {0}, but the stage before "
                                      "ends at {1} (stages must be contiguous "
                                      "from layer 0)",
                                      *first, previousEnd));
    plan.stageStarts.push_back(static_cast<unsigned>(*first));
    previousEnd = static_cast<uint64_t>(*end);
    const json::Array *devices = stage->getArray("devices");
    const json::Array *shares = stage->getArray("shares");
    if (!devices || devices->size() != plan.strategy.dp)
      return fieldError(where + ".devices",
                        llvm::formatv("must list one group per replica ({0})",
                                      plan.strategy.dp));
    if (!shares || shares->size() != plan.strategy.dp)
      return fieldError(where + ".shares",
                        llvm::formatv("must list one group per replica ({0})",
                                      plan.strategy.dp));
    for (size_t r = 0; r < plan.strategy.dp; ++r) {
      std::string dwhere = llvm::formatv("{0}.devices[{1}]", where, r).str();
      std::string swhere = llvm::formatv("{0}.shares[{1}]", where, r).str();
      const json::Array *group = (*devices)[r].getAsArray();
      const json::Array *share = (*shares)[r].getAsArray();
      // By kind, tp is the widest group; every other layout has tp in each.
      if (!group || group->empty() || group->size() > plan.strategy.tp ||
          (!narrowGroups && group->size() != plan.strategy.tp))
        return fieldError(dwhere, narrowGroups
                                      ? llvm::formatv("must list 1 to tp = {0} devices",
                                                      plan.strategy.tp)
                                      : llvm::formatv("must list tp = {0} devices",
                                                      plan.strategy.tp));
      if (!share || share->size() != group->size())
        return fieldError(swhere, llvm::formatv("must list {0} shares, one per device",
                                                group->size()));
      double sum = 0;
      for (size_t k = 0; k < group->size(); ++k) {
        std::optional<llvm::StringRef> path = (*group)[k].getAsString();
        std::string kwhere = llvm::formatv("{0}[{1}]", dwhere, k).str();
        if (!path)
          return fieldError(kwhere, "must be a device path (a string)");
        auto it = chipByPath.find(*path);
        if (it == chipByPath.end())
          return fieldError(kwhere, "unknown device '" + *path + "' in the mesh");
        unsigned chip = it->second;
        int slot = static_cast<int>((r * plan.strategy.pp + s % plan.strategy.pp) *
                                        plan.strategy.tp + k);
        if (s < plan.strategy.pp) {
          if (placed[chip] >= 0)
            return fieldError(kwhere, "device '" + *path +
                                          "' already has a place in the plan");
          placed[chip] = slot;
        } else if (placed[chip] != slot) {
          return fieldError(kwhere,
                            llvm::formatv("device '{0}' must be the one of "
                                          "stages[{1}] (model chunks of one "
                                          "device repeat its place)",
                                          *path, s % plan.strategy.pp)
                                .str());
        }
        plan.groups[r][s].push_back(chip);
        std::optional<double> x = (*share)[k].getAsNumber();
        if (!x || !(*x > 0 && *x <= 1))
          return fieldError(llvm::formatv("{0}[{1}]", swhere, k).str(),
                            "must be a number in (0, 1]");
        if (s >= plan.strategy.pp &&
            *x != plan.shares[r][s % plan.strategy.pp][k])
          return fieldError(llvm::formatv("{0}[{1}]", swhere, k).str(),
                            llvm::formatv("must equal stages[{0}]'s share of "
                                          "the same device",
                                          s % plan.strategy.pp)
                                .str());
        plan.shares[r][s].push_back(*x);
        sum += *x;
      }
      if (std::abs(sum - 1.0) > 1e-5)
        return fieldError(swhere, "sum to " +
                                      llvm::formatv("{0:F6}", sum).str() +
                                      ", not 1");
    }
  }
  plan.stageStarts.push_back(static_cast<unsigned>(previousEnd));
  // By kind, tp names the widest group: some group must have that width.
  if (narrowGroups) {
    size_t widest = 0;
    for (const auto &replica : plan.groups)
      for (const auto &group : replica)
        widest = std::max(widest, group.size());
    if (widest != plan.strategy.tp)
      return fieldError("strategy.tp",
                        llvm::formatv("is {0}, but the widest tensor group of "
                                      "the by-kind plan has {1} devices",
                                      plan.strategy.tp, widest));
  }
  if (const json::Value *reason = root->get("idle_reason")) {
    std::optional<llvm::StringRef> text = reason->getAsString();
    if (!text)
      return fieldError("idle_reason", "must be a string");
    plan.idleReason = text->str();
  }
  if (const json::Object *search = root->getObject("search")) {
    auto count = [&](llvm::StringRef key, unsigned &out) -> llvm::Error {
      if (const json::Value *v = search->get(key)) {
        std::optional<int64_t> n = v->getAsInteger();
        if (!n || *n < 0 || *n > (int64_t(1) << 31))
          return fieldError("search." + key, "must be a count");
        out = static_cast<unsigned>(*n);
      }
      return llvm::Error::success();
    };
    if (llvm::Error e = count("candidates", plan.candidates))
      return std::move(e);
    if (llvm::Error e = count("feasible", plan.feasible))
      return std::move(e);
    if (llvm::Error e = count("pruned", plan.pruned))
      return std::move(e);
  }
  return plan;
}
