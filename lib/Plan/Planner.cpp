//===- Planner.cpp - Flagship matching over an inventory ------------------===//

#include "chipmesh/Plan/Planner.h"
#include "chipmesh/Support/JSON.h"
#include "chipmesh/Dialect/Topo/Catalog.h"
#include "chipmesh/Dialect/Topo/IR/TopoOps.h"
#include "chipmesh/Dialect/Topo/MeshView.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include <algorithm>
#include <cmath>
#include <numeric>
#include <queue>

using namespace mlir;
using namespace chipmesh;

namespace {

llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::string symbolFor(llvm::StringRef id) {
  std::string s;
  for (char c : id)
    s += llvm::isAlnum(c) ? c : '_';
  return s;
}

std::string number(double x) { return llvm::formatv("{0:e}", x).str(); }

} // namespace

llvm::Expected<Inventory> chipmesh::parseInventory(llvm::StringRef text,
                                                   llvm::StringRef fileName) {
  llvm::Expected<llvm::json::Value> parsed = parseBoundedJSON(text);
  if (!parsed)
    return fail(fileName + ": invalid JSON: " + llvm::toString(parsed.takeError()));
  const llvm::json::Object *root = parsed->getAsObject();
  if (!root)
    return fail(fileName + ": expected a JSON object with \"chips\"");
  Inventory inventory;
  for (const auto &[key, value] : *root)
    if (key != "chips" && key != "network")
      return fail(fileName + ": unknown key \"" + key.str() +
                  "\" (expected \"chips\" and \"network\")");
  if (const llvm::json::Value *network = root->get("network")) {
    std::optional<llvm::StringRef> id = network->getAsString();
    if (!id || !lookupCatalogLink(*id))
      return fail(fileName + ": network: unknown link (expected one of " +
                  catalogLinkIds() + ")");
    inventory.network = id->str();
  }
  const llvm::json::Array *chips = root->getArray("chips");
  if (!chips || chips->empty())
    return fail(fileName + ": \"chips\" must be a non-empty array");
  for (auto [i, entry] : llvm::enumerate(*chips)) {
    std::string where = (fileName + ": chips[" + llvm::Twine(i) + "]").str();
    const llvm::json::Object *object = entry.getAsObject();
    if (!object)
      return fail(where + ": expected an object");
    InventoryItem item;
    for (const auto &[key, value] : *object) {
      std::string field = where + "." + key.str();
      auto integer = [&](int64_t &out, int64_t min) -> llvm::Error {
        std::optional<int64_t> v = value.getAsInteger();
        if (!v || *v < min || *v > (int64_t(1) << 20))
          return fail(field + ": expected an integer in [" + llvm::Twine(min) +
                      ", 1048576]");
        out = *v;
        return llvm::Error::success();
      };
      auto real = [&](double &out) -> llvm::Error {
        std::optional<double> v = value.getAsNumber();
        if (!v || !(*v >= 0) || !std::isfinite(*v))
          return fail(field + ": expected a non-negative number");
        out = *v;
        return llvm::Error::success();
      };
      if (key == "kind") {
        std::optional<llvm::StringRef> id = value.getAsString();
        if (!id || !lookupCatalogChip(*id))
          return fail(field + ": unknown chip" +
                      (id ? " '" + id->str() + "'" : std::string()) +
                      " (expected one of " + catalogChipIds() + ")");
        item.kind = id->str();
      } else if (key == "max" || key == "count") {
        if (llvm::Error e = integer(item.max, 0))
          return std::move(e);
      } else if (key == "per_node") {
        if (llvm::Error e = integer(item.perNode, 1))
          return std::move(e);
      } else if (key == "step") {
        if (llvm::Error e = integer(item.step, 1))
          return std::move(e);
      } else if (key == "price_usd") {
        if (llvm::Error e = real(item.priceUsd))
          return std::move(e);
      } else if (key == "tdp_watts") {
        if (llvm::Error e = real(item.tdpWatts))
          return std::move(e);
      } else if (key == "scaleup") {
        std::optional<llvm::StringRef> id = value.getAsString();
        if (!id || !lookupCatalogLink(*id))
          return fail(field + ": unknown link (expected one of " +
                      catalogLinkIds() + ")");
        item.scaleup = id->str();
      } else {
        return fail(field + ": unknown key (expected kind, max, per_node, "
                            "step, price_usd, tdp_watts, scaleup)");
      }
    }
    if (item.kind.empty())
      return fail(where + ": needs \"kind\"");
    if (!object->get("max") && !object->get("count"))
      return fail(where + ": needs \"max\", how many are available");
    if (item.step == 0)
      item.step = std::min<int64_t>(item.perNode, std::max<int64_t>(item.max, 1));
    if (item.scaleup.empty())
      item.scaleup = lookupCatalogChip(item.kind)->scaleupLink.str();
    inventory.items.push_back(std::move(item));
  }
  return inventory;
}

llvm::Expected<Inventory> chipmesh::parseMeshSpec(llvm::StringRef spec,
                                                  llvm::StringRef network) {
  llvm::SmallVector<llvm::StringRef> parts;
  spec.split(parts, ':');
  InventoryItem item;
  int64_t count = 0, perNode = 8;
  if (parts.size() < 2 || parts.size() > 3 || parts[1].getAsInteger(10, count) ||
      count < 1 || (parts.size() == 3 && (parts[2].getAsInteger(10, perNode) || perNode < 1)))
    return fail("mesh '" + spec + "': expected kind:count[:per_node] (h100-sxm:64)");
  if (!lookupCatalogChip(parts[0]))
    return fail("mesh '" + spec + "': unknown chip '" + parts[0] +
                "' (expected one of " + catalogChipIds() + ")");
  if (!lookupCatalogLink(network))
    return fail("unknown network link '" + network + "' (expected one of " +
                catalogLinkIds() + ")");
  item.kind = parts[0].str();
  item.max = count;
  item.perNode = std::min(perNode, count);
  item.step = item.perNode;
  item.scaleup = lookupCatalogChip(item.kind)->scaleupLink.str();
  Inventory inventory;
  inventory.items.push_back(item);
  inventory.network = network.str();
  return inventory;
}

std::string chipmesh::meshText(const Inventory &inventory,
                               llvm::ArrayRef<int64_t> counts,
                               llvm::StringRef name) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "topo.mesh @" << name << " {\n";
  std::vector<std::string> kindSyms(inventory.items.size());
  std::vector<std::string> linkIds = {inventory.network};
  for (auto [i, item] : llvm::enumerate(inventory.items)) {
    kindSyms[i] = symbolFor(item.kind);
    for (size_t j = 0; j < i; ++j)
      if (kindSyms[j] == kindSyms[i])
        kindSyms[i] += "_" + std::to_string(i);
    os << "  topo.chip_kind @" << kindSyms[i] << " catalog \"" << item.kind << "\"";
    std::vector<std::string> attrs;
    if (item.priceUsd >= 0)
      attrs.push_back("price_usd = " + number(item.priceUsd) + " : f64");
    if (item.tdpWatts > 0)
      attrs.push_back("tdp_watts = " + number(item.tdpWatts) + " : f64");
    if (!attrs.empty())
      os << " {" << llvm::join(attrs, ", ") << "}";
    os << "\n";
    if (!llvm::is_contained(linkIds, item.scaleup))
      linkIds.push_back(item.scaleup);
  }
  for (const std::string &link : linkIds)
    os << "  topo.link_kind @l_" << symbolFor(link) << " catalog \"" << link
       << "\"\n";
  os << "  topo.group \"cluster\" switched via @l_" << symbolFor(inventory.network)
     << " {\n";
  for (auto [i, item] : llvm::enumerate(inventory.items)) {
    int64_t count = i < counts.size() ? counts[i] : 0;
    if (count <= 0)
      continue;
    int64_t full = count / item.perNode, rest = count % item.perNode;
    std::string via = "@l_" + symbolFor(item.scaleup);
    if (full > 0)
      os << "    topo.group \"" << kindSyms[i] << "\" x " << full
         << " switched via " << via << " { topo.chips @" << kindSyms[i] << " x "
         << item.perNode << " }\n";
    if (rest > 0)
      os << "    topo.group \"" << kindSyms[i] << "_part\" switched via " << via
         << " { topo.chips @" << kindSyms[i] << " x " << rest << " }\n";
  }
  os << "  }\n}\n";
  return text;
}

llvm::Expected<Outcome> Planner::evaluate(llvm::StringRef meshSource) {
  MLIRContext *context = model->getContext();
  std::string diagnostics;
  ScopedDiagnosticHandler handler(context, [&](Diagnostic &diag) {
    if (diag.getSeverity() == DiagnosticSeverity::Error)
      diagnostics += diag.str() + "\n";
    return success();
  });
  OwningOpRef<ModuleOp> holder =
      parseSourceString<ModuleOp>(meshSource, context, "<mesh>");
  topo::MeshOp meshOp;
  if (holder)
    holder->walk([&](topo::MeshOp op) {
      if (!meshOp)
        meshOp = op;
    });
  if (!meshOp)
    return fail("invalid mesh: " + (diagnostics.empty() ? std::string("no topo.mesh")
                                                        : diagnostics));
  FailureOr<MeshView> view = MeshView::build(meshOp);
  if (failed(view))
    return fail("invalid mesh: " + diagnostics);
  Outcome outcome;
  outcome.meshName = meshOp.getSymName().str();
  outcome.chips = view->numChips();
  std::string whyNot;
  FailureOr<PartitionResult> found =
      partitionModel(model, *view, calibration, options, whyNot);
  if (failed(found)) {
    outcome.whyNot = !whyNot.empty() ? whyNot : diagnostics;
    return outcome;
  }
  outcome.feasible = true;
  outcome.result = std::move(*found);
  // Idle chips need not be bought or powered: only the chips the plan
  // uses count.
  for (unsigned c = 0; c < view->numChips(); ++c) {
    if (outcome.result.plan.devices[c].idle)
      continue;
    const ChipKindSpec &kind = view->kindOf(c);
    outcome.priceUsd += kind.priceUsd;
    outcome.energyJ += kind.tdpWatts * outcome.result.plan.stepS;
  }
  return outcome;
}

llvm::Expected<Planner::KindBound>
Planner::kindBound(const InventoryItem &item) {
  const CatalogChip *entry = lookupCatalogChip(item.kind);
  if (!entry)
    return fail("unknown chip '" + item.kind + "'");
  ChipKindSpec spec = MeshView::resolve(*entry);
  ComputeModel chip(spec, calibration.chip(spec));
  CostOptions cost;
  cost.mode = options.mode;
  cost.recompute = options.recompute;
  if (!profile) {
    FailureOr<ModelProfile> built = profileModel(model, cost);
    if (failed(built))
      return fail("cannot profile the model");
    profile = std::move(*built);
  }
  double traced = profile->tracedBatch;
  double global = options.globalBatch ? double(options.globalBatch) : traced;
  cost.microBatches = std::max<uint64_t>(1, uint64_t(std::llround(global / traced)));
  ChipEstimate estimate = estimateOnChip(*profile, chip, cost);
  modelStateBytes = estimate.memory.weights + estimate.memory.gradients +
                    estimate.memory.optimizerStates + estimate.memory.kvCache;
  return KindBound{estimate.stepS, spec.memoryBytes};
}

namespace {
struct MixState {
  double key;     ///< price, or chips when prices are unknown
  int64_t chips;
  std::vector<int64_t> counts;
  size_t last;    ///< increments only at this index or later (no repeats)
  bool operator>(const MixState &o) const {
    if (key != o.key)
      return key > o.key;
    if (chips != o.chips)
      return chips > o.chips;
    return counts > o.counts;
  }
};
} // namespace

llvm::Expected<MatchResult> chipmesh::match(Planner &planner,
                                            const Inventory &inventory,
                                            double targetS,
                                            const MatchOptions &matchOptions) {
  unsigned maxEvaluations = matchOptions.maxEvaluations;
  MatchResult result;
  result.targetS = targetS;
  size_t n = inventory.items.size();
  if (n == 0)
    return fail("the inventory is empty");
  bool priced = llvm::all_of(inventory.items, [](const InventoryItem &item) {
    return item.priceUsd >= 0;
  });
  std::vector<double> rate(n), capacity(n);
  for (auto [i, item] : llvm::enumerate(inventory.items)) {
    llvm::Expected<Planner::KindBound> bound = planner.kindBound(item);
    if (!bound)
      return bound.takeError();
    rate[i] = bound->stepS > 0 ? 1.0 / bound->stepS : 0;
    capacity[i] = bound->capacityBytes;
  }
  double needBytes = planner.stateBytes();
  // The most chips of each kind worth considering: maxOverBound x the
  // fewest whose compute at the single-chip rate, or whose memory, could
  // reach the target alone (in whole node steps). Larger inventories than
  // that give the same search.
  std::vector<int64_t> limit(n);
  for (auto [i, item] : llvm::enumerate(inventory.items)) {
    limit[i] = item.max;
    if (!(rate[i] > 0) || !(capacity[i] > 0) || !(targetS > 0))
      continue;
    double fewest = std::max(1.0 / (targetS * rate[i]), needBytes / capacity[i]);
    double most = std::ceil(matchOptions.maxOverBound * fewest / item.step) * item.step;
    if (most < static_cast<double>(item.max))
      limit[i] = std::max<int64_t>(item.step, static_cast<int64_t>(most));
  }
  // How many mixes there are decides exact search or measured pruning.
  double mixes = 1;
  for (auto [i, item] : llvm::enumerate(inventory.items))
    mixes *= double(limit[i] / item.step + 1);
  result.exact = mixes <= double(matchOptions.exactUpTo);
  std::vector<double> achieved(n, 0);
  double priceCap = -1; // large inventories: no mix above the best one-kind match
  if (!result.exact) {
    // Each kind alone: the fewest chips (bisection over node steps) whose
    // best plan meets the target, and the rate per chip achieved there.
    // The cheapest of these caps the price-ordered search below.
    for (auto [i, item] : llvm::enumerate(inventory.items)) {
      auto alone = [&](int64_t units) -> llvm::Expected<Outcome> {
        std::vector<int64_t> counts(n, 0);
        counts[i] = units * item.step;
        llvm::Expected<Outcome> o = planner.evaluate(meshText(inventory, counts));
        if (o && o->feasible)
          achieved[i] = std::max(achieved[i], 1.0 / (o->stepS() * counts[i]));
        return o;
      };
      int64_t lo = 1, hi = limit[i] / item.step;
      if (hi < 1)
        continue;
      llvm::Expected<Outcome> top = alone(hi);
      if (!top)
        return top.takeError();
      if (!top->feasible || top->stepS() > targetS * (1 + 1e-9))
        continue;
      std::vector<int64_t> bestCounts(n, 0);
      bestCounts[i] = hi * item.step;
      Outcome best = std::move(*top);
      while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        llvm::Expected<Outcome> o = alone(mid);
        if (!o)
          return o.takeError();
        if (o->feasible && o->stepS() <= targetS * (1 + 1e-9)) {
          hi = mid;
          bestCounts[i] = mid * item.step;
          best = std::move(*o);
        } else {
          lo = mid + 1;
        }
      }
      MatchCandidate candidate{bestCounts, std::move(best), true};
      double key = priced ? candidate.outcome.priceUsd : double(bestCounts[i]);
      if (priceCap < 0 || key < priceCap)
        priceCap = key;
      result.evaluated.push_back(std::move(candidate));
      const MatchCandidate &last = result.evaluated.back();
      if (result.winner < 0 ||
          (priced ? last.outcome.priceUsd < result.evaluated[result.winner].outcome.priceUsd
                  : last.outcome.chips < result.evaluated[result.winner].outcome.chips))
        result.winner = static_cast<int>(result.evaluated.size()) - 1;
    }
  }
  auto keyOf = [&](const std::vector<int64_t> &counts, int64_t chips) {
    double price = 0;
    for (size_t i = 0; i < n; ++i)
      price += counts[i] * std::max(0.0, inventory.items[i].priceUsd);
    return priced ? price : double(chips);
  };
  std::priority_queue<MixState, std::vector<MixState>, std::greater<MixState>> queue;
  queue.push({0, 0, std::vector<int64_t>(n, 0), 0});
  double winnerKey = -1;
  while (!queue.empty()) {
    MixState state = queue.top();
    queue.pop();
    if (winnerKey >= 0 && state.key > winnerKey)
      break; // every mix at the winner's price has been looked at
    if (priceCap >= 0 && state.key >= priceCap)
      break; // nothing here is cheaper than the best one-kind match
    for (size_t j = state.last; j < n; ++j) {
      const InventoryItem &item = inventory.items[j];
      if (state.counts[j] + item.step > limit[j])
        continue;
      MixState child = state;
      child.counts[j] += item.step;
      child.chips += item.step;
      child.last = j;
      child.key = keyOf(child.counts, child.chips);
      queue.push(std::move(child));
    }
    if (state.chips == 0)
      continue;
    ++result.considered;
    double aggregate = 0, bytes = 0;
    for (size_t i = 0; i < n; ++i) {
      aggregate += state.counts[i] * rate[i];
      bytes += state.counts[i] * capacity[i];
    }
    // Necessary: the compute of all chips at their best, and room for the
    // weights and optimizer state, reach the target.
    if (aggregate <= 0 || 1.0 / aggregate > targetS * (1 + 1e-9) || bytes < needBytes) {
      ++result.ruledOut;
      continue;
    }
    if (!result.exact) {
      double estimate = 0;
      for (size_t i = 0; i < n; ++i)
        estimate += state.counts[i] * (achieved[i] > 0 ? achieved[i] : rate[i]);
      if (estimate <= 0 || 1.0 / estimate > targetS * matchOptions.slack) {
        ++result.heuristicallySkipped;
        continue;
      }
    }
    if (result.evaluated.size() >= maxEvaluations)
      break;
    llvm::Expected<Outcome> outcome =
        planner.evaluate(meshText(inventory, state.counts));
    if (!outcome)
      return outcome.takeError();
    MatchCandidate candidate{state.counts, std::move(*outcome), false};
    candidate.meetsTarget = candidate.outcome.feasible &&
                            candidate.outcome.stepS() <= targetS * (1 + 1e-9);
    result.evaluated.push_back(std::move(candidate));
    const MatchCandidate &last = result.evaluated.back();
    if (last.meetsTarget &&
        (result.winner < 0 || winnerKey < 0 || state.key < winnerKey ||
         last.outcome.stepS() < result.evaluated[result.winner].outcome.stepS())) {
      result.winner = static_cast<int>(result.evaluated.size()) - 1;
      winnerKey = state.key;
    }
  }
  result.exhausted = queue.empty();
  if (result.winner >= 0)
    return result;
  // Nothing matched: how close, and what binds.
  std::vector<int64_t> all(n);
  double aggregate = 0, bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    all[i] = limit[i]; // what the search considered, not a million chips
    aggregate += all[i] * rate[i];
    bytes += all[i] * capacity[i];
  }
  double best = 0;
  for (const MatchCandidate &c : result.evaluated)
    if (c.outcome.feasible && (best == 0 || c.outcome.stepS() < best))
      best = c.outcome.stepS();
  if (bytes < needBytes) {
    result.binding = llvm::formatv("memory: the whole inventory holds {0:f1} GiB; "
                                   "the model's weights, gradients and optimizer "
                                   "state need {1:f1} GiB",
                                   bytes / (1 << 30), needBytes / (1 << 30));
  } else {
    if (best == 0) {
      llvm::Expected<Outcome> whole = planner.evaluate(meshText(inventory, all));
      if (!whole)
        return whole.takeError();
      if (whole->feasible)
        best = whole->stepS();
      result.evaluated.push_back({all, std::move(*whole), false});
    }
    double computeBound = aggregate > 0 ? 1.0 / aggregate : 0;
    if (computeBound > targetS)
      result.binding = llvm::formatv(
          "compute: even all {0} chips at their best take {1:f3} s per step "
          "against the target's {2:f3} s",
          std::accumulate(all.begin(), all.end(), int64_t(0)), computeBound, targetS);
    else
      result.binding = llvm::formatv(
          "communication and pipeline bubbles: compute alone would allow "
          "{0:f3} s, but the best plan found takes {1:f3} s",
          computeBound, best);
  }
  result.bestFraction = best > 0 ? targetS / best : 0;
  return result;
}

std::vector<int> chipmesh::paretoFront(const MatchResult &result) {
  std::vector<int> order;
  for (auto [i, c] : llvm::enumerate(result.evaluated))
    if (c.outcome.feasible)
      order.push_back(static_cast<int>(i));
  llvm::stable_sort(order, [&](int a, int b) {
    const Outcome &x = result.evaluated[a].outcome, &y = result.evaluated[b].outcome;
    if (x.priceUsd != y.priceUsd)
      return x.priceUsd < y.priceUsd;
    return x.stepS() < y.stepS();
  });
  std::vector<int> front;
  double best = 0;
  for (int i : order) {
    double step = result.evaluated[i].outcome.stepS();
    if (front.empty() || step < best) {
      front.push_back(i);
      best = step;
    }
  }
  return front;
}
