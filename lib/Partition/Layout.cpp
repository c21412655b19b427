//===- Layout.cpp - Replicas, stages and tensor groups over chips ---------===//

#include "Search.h"
#include "chipmesh/Support/Apportion.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include <algorithm>
#include <cmath>
#include <set>

using namespace mlir;

namespace chipmesh::search {

std::vector<std::vector<unsigned>>
replicaChips(unsigned n, unsigned dp, unsigned tp, ReplicaLayout layout) {
  std::vector<std::vector<unsigned>> replicas(dp);
  unsigned per = n / dp;
  for (unsigned i = 0; i < n; ++i) {
    unsigned r = layout == ReplicaLayout::Blocked ? i / per : (i / tp) % dp;
    replicas[r].push_back(i);
  }
  return replicas;
}

unsigned largestNode(const MeshView &mesh) {
  unsigned largest = 1;
  llvm::DenseMap<int, unsigned> perGroup;
  for (const ChipInstance &chip : mesh.chips())
    largest = std::max(largest, ++perGroup[chip.group]);
  return largest;
}

unsigned largestNode(const MeshView &mesh, llvm::ArrayRef<unsigned> chips) {
  unsigned largest = 1;
  llvm::DenseMap<int, unsigned> perGroup;
  for (unsigned c : chips)
    largest = std::max(largest, ++perGroup[mesh.chips()[c].group]);
  return largest;
}

std::vector<std::vector<unsigned>>
chipSubsets(const MeshView &mesh, const PartitionOptions &options) {
  unsigned n = mesh.numChips();
  std::vector<unsigned> all(n);
  for (unsigned c = 0; c < n; ++c)
    all[c] = c;
  std::vector<std::vector<unsigned>> sets = {all};
  if (options.useAllChips || options.fixed)
    return sets;
  auto nodeOf = [&](unsigned c) -> int64_t {
    int group = mesh.chips()[c].group;
    return group >= 0 ? group : -1 - static_cast<int64_t>(c);
  };
  // Kinds that have chips, in the mesh's order.
  std::vector<unsigned> present;
  for (const ChipInstance &chip : mesh.chips())
    if (!llvm::is_contained(present, chip.kind))
      present.push_back(chip.kind);
  std::vector<std::vector<bool>> kindSets; // over `present`
  size_t k = present.size();
  if (k <= 6) {
    for (uint64_t mask = (uint64_t(1) << k) - 1; mask >= 1; --mask) {
      std::vector<bool> keep(k);
      for (size_t i = 0; i < k; ++i)
        keep[i] = (mask >> i) & 1;
      kindSets.push_back(std::move(keep));
    }
  } else {
    kindSets.push_back(std::vector<bool>(k, true));
    for (size_t i = 0; i < k; ++i) {
      std::vector<bool> without(k, true), alone(k, false);
      without[i] = false;
      alone[i] = true;
      kindSets.push_back(std::move(without));
      kindSets.push_back(std::move(alone));
    }
  }
  std::set<std::vector<unsigned>> seen = {all};
  for (const std::vector<bool> &keep : kindSets) {
    std::vector<unsigned> chips;
    for (unsigned c = 0; c < n; ++c) {
      size_t at = llvm::find(present, mesh.chips()[c].kind) - present.begin();
      if (keep[at])
        chips.push_back(c);
    }
    std::map<int64_t, unsigned> perNode;
    for (unsigned c : chips)
      ++perNode[nodeOf(c)];
    std::set<unsigned, std::greater<unsigned>> counts;
    for (auto &[node, count] : perNode)
      counts.insert(count);
    // Fullest nodes first, then down to every node of the set.
    for (unsigned least : counts) {
      std::vector<unsigned> cut;
      for (unsigned c : chips)
        if (perNode[nodeOf(c)] >= least)
          cut.push_back(c);
      if (!cut.empty() && seen.insert(cut).second)
        sets.push_back(std::move(cut));
    }
    // One node left out, for each class of interchangeable nodes (same
    // chips of the set, same parent group and link): the last of its class.
    // Nodes of one class give equal plans whichever is dropped, so one
    // per class covers them all, and a node appended to a mesh is the last
    // of its class.
    std::map<int64_t, std::string> classOf; // node -> its chips' kinds
    std::map<int64_t, unsigned> firstChip;  // node -> where it starts
    for (unsigned c : chips) {
      classOf[nodeOf(c)] += std::to_string(mesh.chips()[c].kind) + ",";
      firstChip.try_emplace(nodeOf(c), c);
    }
    std::map<std::string, int64_t> lastOfClass;
    for (auto &[node, kinds] : classOf) {
      std::string key = kinds;
      if (node >= 0) {
        // The parent by its template (its path without instance indices),
        // not its instance: the nodes of identical racks are
        // interchangeable too, and one subset per rack would multiply the
        // search by the racks.
        const GroupInstance &group = mesh.groups()[node];
        std::string parent = "root";
        if (group.parent >= 0) {
          parent.clear();
          bool inIndex = false;
          for (char ch : mesh.groups()[group.parent].path) {
            if (ch == '[')
              inIndex = true;
            else if (ch == ']')
              inIndex = false;
            else if (!inIndex)
              parent += ch;
          }
          parent +=
              llvm::formatv("|{0}", mesh.groups()[group.parent].linkKind).str();
        }
        key += llvm::formatv("|{0}|{1}|{2}", parent, group.linkKind,
                             group.numChips)
                   .str();
      }
      auto [it, inserted] = lastOfClass.try_emplace(key, node);
      if (!inserted && firstChip[node] > firstChip[it->second])
        it->second = node;
    }
    for (auto &[key, dropped] : lastOfClass) {
      std::vector<unsigned> rest;
      for (unsigned c : chips)
        if (nodeOf(c) != dropped)
          rest.push_back(c);
      if (!rest.empty() && seen.insert(rest).second)
        sets.push_back(std::move(rest));
    }
  }
  return sets;
}

bool withinOneNode(const MeshView &mesh, llvm::ArrayRef<unsigned> chips) {
  for (unsigned c : chips)
    if (mesh.chips()[c].group != mesh.chips()[chips.front()].group)
      return false;
  return true;
}

std::optional<Layout> makeLayout(const Context &ctx, const Level &level,
                                 Strategy strategy, ReplicaLayout kind,
                                 uint64_t microBatchesTotal,
                                 llvm::ArrayRef<unsigned> active,
                                 bool reversedStages) {
  unsigned n = active.size();
  if (strategy.dp * strategy.pp * strategy.tp != n)
    return std::nullopt;
  Layout layout;
  layout.strategy = strategy;
  layout.layout = kind;
  layout.reversedStages = reversedStages;
  auto replicas = replicaChips(n, strategy.dp, strategy.tp, kind);
  for (auto &chips : replicas)
    for (unsigned &position : chips)
      position = active[position];
  // A tensor group crosses a node only when no node holds it (a fixed
  // strategy with tp above the largest node asks for that explicitly).
  bool groupsMayCrossNodes = strategy.tp > ctx.maxTensor;
  std::vector<double> replicaSpeed;
  for (auto &chips : replicas) {
    std::vector<std::vector<unsigned>> stages;
    std::vector<std::vector<double>> shares;
    double speed = 0;
    for (unsigned s = 0; s < strategy.pp; ++s) {
      std::vector<unsigned> group(chips.begin() + s * strategy.tp,
                                  chips.begin() + (s + 1) * strategy.tp);
      if (!groupsMayCrossNodes && !withinOneNode(ctx.mesh, group))
        return std::nullopt;
      // Speed-proportional shares: a chip twice as fast holds twice the
      // slice, so every member finishes together.
      std::vector<double> share;
      double total = 0;
      for (unsigned c : group) {
        double t = level.modelS[ctx.mesh.chips()[c].kind];
        share.push_back(t > 0 ? 1.0 / t : 1.0);
        total += share.back();
      }
      for (double &x : share)
        x = ctx.options.homogeneous ? 1.0 / group.size() : x / total;
      speed += total;
      stages.push_back(std::move(group));
      shares.push_back(std::move(share));
    }
    // Early 1F1B stages hold more micro-batches: the search also tries the
    // chips in the opposite order, so roomier chips can take stage 0.
    if (reversedStages) {
      std::reverse(stages.begin(), stages.end());
      std::reverse(shares.begin(), shares.end());
    }
    // Interleaving: the same groups again for every further model chunk.
    unsigned chunks =
        strategy.pp > 1 ? std::max(1u, ctx.options.virtualStages) : 1;
    for (unsigned c = 1; c < chunks; ++c)
      for (unsigned st = 0; st < strategy.pp; ++st) {
        stages.push_back(stages[st]);
        shares.push_back(shares[st]);
      }
    layout.chunks = chunks;
    layout.groups.push_back(std::move(stages));
    layout.shares.push_back(std::move(shares));
    replicaSpeed.push_back(speed);
  }
  if (ctx.options.homogeneous)
    std::fill(replicaSpeed.begin(), replicaSpeed.end(), 1.0);
  auto split = apportionLargestRemainder(microBatchesTotal, replicaSpeed);
  if (!split)
    return std::nullopt;
  layout.microBatches = *split;
  // Megatron's interleaved schedule needs every replica's micro-batches
  // to be a multiple of the pipeline depth.
  if (layout.chunks > 1)
    for (uint64_t m : layout.microBatches)
      if (m % strategy.pp != 0)
        return std::nullopt;
  return layout;
}

std::optional<Layout> makeLayoutByKind(const Context &ctx, const Level &level,
                                       unsigned dp,
                                       llvm::ArrayRef<unsigned> kindTensor,
                                       uint64_t microBatchesTotal,
                                       llvm::ArrayRef<unsigned> active,
                                       bool reversedStages) {
  std::vector<unsigned> kinds;
  for (unsigned c : active)
    if (!llvm::is_contained(kinds, ctx.mesh.chips()[c].kind))
      kinds.push_back(ctx.mesh.chips()[c].kind);
  if (kinds.size() != kindTensor.size() || dp == 0)
    return std::nullopt;
  Layout layout;
  layout.layout = ReplicaLayout::ByKind;
  layout.reversedStages = reversedStages;
  layout.groups.assign(dp, {});
  layout.shares.assign(dp, {});
  unsigned widest = 1;
  std::vector<double> replicaSpeed(dp, 0.0);
  for (size_t k = 0; k < kinds.size(); ++k) {
    std::vector<unsigned> chips;
    for (unsigned c : active)
      if (ctx.mesh.chips()[c].kind == kinds[k])
        chips.push_back(c);
    unsigned tp = kindTensor[k];
    if (tp == 0 || chips.size() % (dp * tp) != 0)
      return std::nullopt;
    widest = std::max(widest, tp);
    size_t per = chips.size() / dp;
    double t = level.modelS[kinds[k]];
    double speed = t > 0 ? 1.0 / t : 1.0;
    for (unsigned r = 0; r < dp; ++r)
      for (size_t g = 0; g < per; g += tp) {
        std::vector<unsigned> group(chips.begin() + r * per + g,
                                    chips.begin() + r * per + g + tp);
        if (!withinOneNode(ctx.mesh, group))
          return std::nullopt;
        layout.groups[r].push_back(std::move(group));
        // One kind per group: equal shares.
        layout.shares[r].push_back(std::vector<double>(tp, 1.0 / tp));
        replicaSpeed[r] += tp * speed;
      }
  }
  if (reversedStages)
    for (unsigned r = 0; r < dp; ++r) {
      std::reverse(layout.groups[r].begin(), layout.groups[r].end());
      std::reverse(layout.shares[r].begin(), layout.shares[r].end());
    }
  unsigned pp = layout.groups[0].size();
  layout.strategy = {dp, pp, widest};
  auto split = apportionLargestRemainder(microBatchesTotal, replicaSpeed);
  if (!split)
    return std::nullopt;
  layout.microBatches = *split;
  return layout;
}

} // namespace chipmesh::search
