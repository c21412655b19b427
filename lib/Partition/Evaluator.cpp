//===- Evaluator.cpp - One layout's link costs, memory and stage costs ----===//

#include "Search.h"
#include <algorithm>
#include <cmath>

using namespace mlir;

namespace chipmesh::search {

void Evaluator::prepare() {
  // Pipeline sends between consecutive stages: an alone-on-the-mesh
  // transfer is affine in its bytes.
  sendCost.resize(layout.groups.size());
  for (size_t r = 0; r < layout.groups.size(); ++r)
    for (size_t st = 0; st + 1 < layout.groups[r].size(); ++st) {
      unsigned from = layout.groups[r][st][0], to = layout.groups[r][st + 1][0];
      double one = ctx.comm.transferTime(from, to, 1.0);
      double two = ctx.comm.transferTime(from, to, 2.0);
      sendCost[r].push_back({2 * one - two, two - one});
    }
  // Tensor-parallel all-reduce seconds per group, as prefix sums over
  // layers (empty for single-chip groups).
  tensorComm.resize(layout.groups.size());
  size_t n = level.layers.size();
  for (size_t r = 0; r < layout.groups.size(); ++r)
    for (auto &group : layout.groups[r]) {
      std::vector<double> prefix;
      if (group.size() > 1) {
        std::vector<double> perUnit(level.units.size(), 0.0);
        for (size_t u = 0; u < level.units.size(); ++u) {
          const UnitCosts &c = level.units[u];
          if (!c.tensorCollectives)
            continue;
          double once;
          if (ctx.options.sequenceParallel) {
            // Sequence parallelism: the all-reduce becomes a reduce-
            // scatter into sequence shards and, before the next region,
            // an all-gather of them (Korthikanti et al. 2022, sec. 4.2.2).
            std::vector<double> shards;
            for (double part :
                 layout.shares[r][&group - layout.groups[r].data()])
              shards.push_back(c.outputBytes * part);
            once = ctx.comm
                       .collective(CollectiveKind::ReduceScatter, group, shards)
                       .seconds +
                   ctx.comm.collective(CollectiveKind::AllGather, group, shards)
                       .seconds;
          } else {
            once =
                ctx.comm
                    .collective(CollectiveKind::AllReduce, group, c.outputBytes)
                    .seconds;
          }
          perUnit[u] = c.tensorCollectives * once;
        }
        prefix.assign(n + 1, 0.0);
        for (size_t l = 0; l < n; ++l)
          prefix[l + 1] = prefix[l] + perUnit[level.layers[l].unit];
      }
      tensorComm[r].push_back(std::move(prefix));
    }
  // ZeRO-2 reduce-scatters every micro-batch's gradients, ZeRO-3 also
  // gathers the weights for its forward and its backward: one collective
  // per layer (FSDP's per-block units; DeepSpeed's buckets), prefix sums
  // over layers of the slowest tensor rank's seconds.
  if (ctx.training() && layout.zero >= 2) {
    zeroGather.resize(layout.numStages());
    zeroScatter.resize(layout.numStages());
    for (size_t st = 0; st < layout.numStages(); ++st) {
      std::vector<double> gather(level.units.size(), 0.0),
          scatter(level.units.size(), 0.0);
      for (size_t u = 0; u < level.units.size(); ++u) {
        const UnitCosts &c = level.units[u];
        if (c.parameterBytes <= 0)
          continue;
        double grads = gradientBytes(c.parameters, c.parameterBytes);
        scatter[u] =
            dataGroupsTogether(st, CollectiveKind::ReduceScatter, grads);
        if (layout.zero >= 3)
          gather[u] = dataGroupsTogether(st, CollectiveKind::AllGather,
                                         c.parameterBytes);
      }
      zeroGather[st].assign(n + 1, 0.0);
      zeroScatter[st].assign(n + 1, 0.0);
      for (size_t l = 0; l < n; ++l) {
        zeroGather[st][l + 1] =
            zeroGather[st][l] + gather[level.layers[l].unit];
        zeroScatter[st][l + 1] =
            zeroScatter[st][l] + scatter[level.layers[l].unit];
      }
    }
  }
  // Replicas that price alike (same micro-batches, and per stage the
  // same member kinds, shares, sends and tensor-parallel times) give the
  // same stage weights and memory: the split search looks at one of each
  // (a homogeneous mesh has hundreds of identical replicas).
  for (unsigned r = 0; r < layout.groups.size(); ++r) {
    bool seen = false;
    for (unsigned q : distinct)
      if (pricesAlike(q, r)) {
        seen = true;
        break;
      }
    if (!seen)
      distinct.push_back(r);
  }
}

void Evaluator::shardGroups() {
  // Data-parallel groups: tensor rank t of stage s over the replicas that
  // have one (by-kind groups may be narrower than tp).
  dataGroups.resize(layout.numStages());
  for (size_t st = 0; st < layout.numStages(); ++st) {
    size_t width = 0;
    for (const auto &replica : layout.groups)
      width = std::max(width, replica[st].size());
    for (size_t t = 0; t < width; ++t) {
      DataGroup g;
      double room = 0;
      for (size_t r = 0; r < layout.groups.size(); ++r)
        if (t < layout.groups[r][st].size()) {
          unsigned chip = layout.groups[r][st][t];
          g.chips.push_back(chip);
          g.share = std::max(g.share, layout.shares[r][st][t]);
          g.fractions.push_back(std::max(0.0, usable(chip) - reservedOf(chip)));
          room += g.fractions.back();
        }
      // ZeRO shards in proportion to each member's memory (even shards
      // on chips alike, or when heterogeneity is ignored).
      for (double &f : g.fractions)
        f = ctx.options.homogeneous || !(room > 0) ? 1.0 / g.chips.size()
                                                   : f / room;
      dataGroups[st].push_back(std::move(g));
    }
  }
  dataGroupChips.resize(layout.numStages());
  for (size_t st = 0; st < layout.numStages(); ++st)
    for (const DataGroup &g : dataGroups[st])
      dataGroupChips[st].push_back(g.chips);
  memberFraction.resize(layout.groups.size());
  for (size_t r = 0; r < layout.groups.size(); ++r)
    for (size_t st = 0; st < layout.numStages(); ++st) {
      std::vector<double> fractions;
      for (size_t t = 0; t < layout.groups[r][st].size(); ++t) {
        const DataGroup &g = dataGroups[st][t];
        auto at = llvm::find(g.chips, layout.groups[r][st][t]);
        fractions.push_back(g.fractions[at - g.chips.begin()]);
      }
      memberFraction[r].push_back(std::move(fractions));
    }
}

bool Evaluator::pricesAlike(unsigned a, unsigned b) const {
  if (layout.microBatches[a] != layout.microBatches[b] ||
      layout.groups[a].size() != layout.groups[b].size())
    return false;
  for (size_t s = 0; s < layout.groups[a].size(); ++s) {
    const auto &ga = layout.groups[a][s], &gb = layout.groups[b][s];
    if (ga.size() != gb.size() || layout.shares[a][s] != layout.shares[b][s])
      return false;
    for (size_t m = 0; m < ga.size(); ++m)
      if (ctx.mesh.chips()[ga[m]].kind != ctx.mesh.chips()[gb[m]].kind)
        return false;
    if (s < sendCost[a].size() && sendCost[a][s] != sendCost[b][s])
      return false;
    if (tensorComm[a][s] != tensorComm[b][s])
      return false;
  }
  return true;
}

StageCost Evaluator::stage(unsigned r, unsigned s, unsigned i, unsigned j,
                           bool wantMemory, unsigned policy) const {
  const Level &level = *policies[policy];
  StageCost cost;
  const auto &group = layout.groups[r][s];
  const auto &share = layout.shares[r][s];
  bool training = ctx.training();
  double compute = 0, forwardFraction = 0;
  bool whole = replicatesOutsideRegions(group.size());
  // A member's share of the split work, plus the replicated work whole
  // (or its share of it under sequence parallelism).
  auto work = [&](const std::vector<std::vector<double>> &all,
                  const std::vector<std::vector<double>> &replicated,
                  unsigned k, double part) {
    double total = all[k][j] - all[k][i];
    double repl = replicated[k][j] - replicated[k][i];
    return part * (total - repl) + (whole ? repl : part * repl);
  };
  for (size_t m = 0; m < group.size(); ++m) {
    unsigned k = ctx.mesh.chips()[group[m]].kind;
    compute = std::max(compute,
                       work(level.prefix, level.prefixReplicated, k, share[m]));
  }
  // Split compute into forward and backward by the kind of member 0.
  unsigned k0 = ctx.mesh.chips()[group[0]].kind;
  double all0 = work(level.prefix, level.prefixReplicated, k0, share[0]);
  double fwd0 =
      work(level.prefixForward, level.prefixReplicatedForward, k0, share[0]);
  const std::vector<double> &tc = tensorComm[r][s];
  double comm = tc.empty() ? 0.0 : tc[j] - tc[i];
  forwardFraction = all0 > 0 ? fwd0 / all0 : 1.0;
  double forward = compute * forwardFraction,
         backward = compute * (1 - forwardFraction);
  if (ctx.options.overlapTensorComm) {
    // Chunked GEMMs exchange their slices while computing (Transformer
    // Engine userbuffers, Megatron --tp-comm-overlap): the longer of the
    // two sets the pass.
    cost.forwardS = std::max(forward, comm);
    cost.backwardS = training ? std::max(backward, comm) : 0.0;
  } else {
    cost.forwardS = forward + comm;
    cost.backwardS = training ? backward + comm : 0.0;
  }
  cost.tensorCommS = training ? 2 * comm : comm;
  if (!zeroScatter.empty()) {
    // ZeRO-3 prefetches the next layer's weights while one computes and
    // reduces gradients on their own stream (FSDP's default
    // backward_prefetch, DeepSpeed's prefetch and overlap_comm), so a
    // pass takes the longer of its compute and its gathers; ZeRO-2's
    // reduce-scatters overlap the backward only with overlap-grad-reduce.
    double gather = zeroGather[s][j] - zeroGather[s][i];
    double scatter = zeroScatter[s][j] - zeroScatter[s][i];
    if (layout.zero >= 3) {
      cost.forwardS = std::max(cost.forwardS, gather);
      cost.backwardS = std::max(cost.backwardS, gather + scatter);
    } else if (ctx.options.overlapGradientReduce) {
      cost.backwardS = std::max(cost.backwardS, scatter);
    } else {
      cost.backwardS += scatter;
    }
    cost.zeroCommS = 2 * gather + scatter;
  }
  if (wantMemory)
    cost.worstMemoryOver = memoryOver(r, s, i, j, policy);
  return cost;
}

double Evaluator::interleavedPeak(unsigned r, unsigned d,
                                  llvm::ArrayRef<double> saved) const {
  uint64_t m = layout.microBatches[r], p = layout.strategy.pp,
           v = layout.chunks;
  double held = 0, peak = 0;
  // After the warm-up the steady state's forwards and backwards each
  // cycle through the chunks every p v micro-batch-chunks, so the held
  // bytes repeat every 2 p v ops, and the drain only frees: the peak is
  // within the warm-up and one period after it.
  uint64_t warmup = m == p ? m * v : 2 * (p - d - 1) + (v - 1) * p;
  uint64_t ops = std::min<uint64_t>(2 * m * v, warmup + 2 * p * v + 2);
  for (uint64_t i = 0; i < ops; ++i) {
    PipeOp op = interleavedOpAt(p, v, d, m, i);
    unsigned c = op.virtualStage / p;
    held += op.backward ? -saved[c] : saved[c];
    peak = std::max(peak, held);
  }
  return peak;
}

double Evaluator::deviceMemory(unsigned r, unsigned d,
                               llvm::ArrayRef<unsigned> starts, size_t member,
                               unsigned policy) const {
  if (layout.chunks == 1)
    return memberMemory(r, d, starts[d], starts[d + 1], member, policy);
  const Level &level = *policies[policy];
  double params = 0, weights = 0, largest = 0, rebuilt = 0, layer = 0,
         rebuiltWhole = 0;
  double share = layout.shares[r][d][member];
  bool whole =
      replicatesOutsideRegions(layout.groups[r][d].size()) && share > 0;
  std::vector<double> saved;
  for (unsigned k = d; k < layout.numStages(); k += layout.strategy.pp) {
    unsigned i = starts[k], j = starts[k + 1];
    params += level.prefixParams[j] - level.prefixParams[i];
    weights += level.prefixParamBytes[j] - level.prefixParamBytes[i];
    // Held whole, the replicated part weighs 1/share against the
    // split part (the peak is linear in the bytes, scaled by the share
    // below).
    double repl =
        level.prefixSavedReplicated[j] - level.prefixSavedReplicated[i];
    saved.push_back(level.prefixSaved[j] - level.prefixSaved[i] +
                    (whole ? repl * (1 / share - 1) : 0.0));
    largest = std::max(largest, level.largestIn(i, j));
    rebuilt = std::max(rebuilt, level.largestRebuilt.of(i, j));
    rebuiltWhole =
        std::max(rebuiltWhole, level.largestRebuiltReplicated.of(i, j));
    layer = std::max(layer, level.largestWeights.of(i, j));
  }
  // The peak depends on the replica only through its micro-batch count:
  // played once per (count, device) for one split and policy (simulate()
  // asks for every member of every replica).
  if (llvm::ArrayRef<unsigned>(peakCache.starts) != starts ||
      peakCache.policy != policy) {
    peakCache.starts.assign(starts.begin(), starts.end());
    peakCache.policy = policy;
    peakCache.peaks.clear();
  }
  auto [slot, fresh] = peakCache.peaks.try_emplace(
      {layout.microBatches[r], d, whole ? share : 1.0}, 0.0);
  if (fresh)
    slot->second = interleavedPeak(r, d, saved);
  // Training only: interleaving is a training schedule.
  double bytes = trainingState(weights, params, layer, r, d, member) +
                 slot->second + rebuilt + rebuiltWhole + 2 * largest;
  unsigned chip = layout.groups[r][d][member];
  double reserved =
      ctx.kinds[ctx.mesh.chips()[chip].kind].calibration().reservedBytes;
  return share * bytes + (whole ? (1 - share) * rebuiltWhole : 0.0) + reserved;
}

double Evaluator::memberMemory(unsigned r, unsigned s, unsigned i, unsigned j,
                               size_t member, unsigned policy) const {
  const Level &level = *policies[policy];
  double share = layout.shares[r][s][member];
  double params = level.prefixParams[j] - level.prefixParams[i];
  double weights = level.prefixParamBytes[j] - level.prefixParamBytes[i];
  double largest = level.largestIn(i, j);
  double bytes = weights;
  // Activations a tensor group holds whole on every member.
  double wholeBytes = 0;
  if (ctx.training()) {
    bytes = trainingState(weights, params, level.largestWeights.of(i, j), r, s,
                          member);
    // Interleaving: one range is one chunk of a device that holds
    // others; only its state is a sure lower bound (simulate() checks
    // the device as a whole).
    double flight = layout.chunks > 1 ? 0.0 : inFlight(r, s);
    double rebuiltWhole = level.largestRebuiltReplicated.of(i, j);
    bytes += (level.prefixSaved[j] - level.prefixSaved[i]) * flight +
             level.largestRebuilt.of(i, j) + rebuiltWhole;
    if (replicatesOutsideRegions(layout.groups[r][s].size()))
      wholeBytes =
          (level.prefixSavedReplicated[j] - level.prefixSavedReplicated[i]) *
              flight +
          rebuiltWhole;
  } else {
    bytes += level.prefixCache[j] - level.prefixCache[i];
  }
  bytes += 2 * largest;
  unsigned chip = layout.groups[r][s][member];
  double reserved =
      ctx.kinds[ctx.mesh.chips()[chip].kind].calibration().reservedBytes;
  return share * bytes + (1 - share) * wholeBytes + reserved;
}

double Evaluator::trainingState(double weights, double params, double layer,
                                unsigned r, unsigned s, size_t member) const {
  double optimizer =
      params > 0 ? adamStateBytes(static_cast<uint64_t>(params), weights) : 0.0;
  double f = memberFraction[r][s][member];
  bool sharded = f < 1;
  switch (layout.zero) {
  case 0:
    return 2 * weights + optimizer;
  case 1:
    return 2 * weights + optimizer * f;
  case 2:
    return weights + weights * f + optimizer * f + (sharded ? layer : 0.0);
  default:
    return (2 * weights + optimizer) * f + (sharded ? 3 * layer : 0.0);
  }
}

double Evaluator::dataGroupsTogether(unsigned s, CollectiveKind kind,
                                     double bytes) const {
  // A split search moves one boundary at a time: most stages ask again
  // for the bytes they asked for before.
  auto [slot, fresh] =
      togetherCache.try_emplace({s, static_cast<int>(kind), bytes}, 0.0);
  if (!fresh)
    return slot->second;
  std::vector<std::vector<double>> sizes;
  for (const DataGroup &g : dataGroups[s]) {
    std::vector<double> each;
    if (kind == CollectiveKind::AllReduce)
      each.assign(g.chips.size(), bytes * g.share);
    else
      for (double f : g.fractions)
        each.push_back(bytes * g.share * f);
    sizes.push_back(std::move(each));
  }
  return slot->second =
             ctx.comm.concurrentCollectives(kind, dataGroupChips[s], sizes)
                 .seconds;
}

} // namespace chipmesh::search
