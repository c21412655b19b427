//===- EvaluatorSearch.cpp - Stage boundaries, simulation and bounds ------===//

#include "Search.h"
#include <algorithm>
#include <cmath>

using namespace mlir;

namespace chipmesh::search {

std::optional<std::vector<unsigned>> Evaluator::bestBoundaries() const {
  unsigned p = layout.numStages(), n = numLayers();
  if (p > n)
    return std::nullopt;
  // best[s][j]: heaviest stage when stages 0..s hold layers [0, j).
  std::vector<std::vector<double>> best(p, std::vector<double>(n + 1, kInf));
  std::vector<std::vector<unsigned>> from(p, std::vector<unsigned>(n + 1, 0));
  for (unsigned j = 1; j <= n; ++j)
    if (fits(0, 0, j))
      best[0][j] = weight(0, 0, j);
  for (unsigned s = 1; s < p; ++s) {
    for (unsigned j = s + 1; j <= n; ++j) {
      // Candidates i in [s, j - 1]; memory fits for i >= lo.
      unsigned lo = s, hi = j - 1;
      if (!fits(s, hi, j))
        continue;
      // Smallest i that fits (memory shrinks as i grows).
      unsigned a = lo, b = hi;
      while (a < b) {
        unsigned mid = a + (b - a) / 2;
        if (fits(s, mid, j))
          b = mid;
        else
          a = mid + 1;
      }
      lo = a;
      // best[s-1][i] grows with i, weight(s, i, j) shrinks: find the
      // crossing, then check its neighbours.
      unsigned x = lo, y = hi;
      while (x < y) {
        unsigned mid = x + (y - x) / 2;
        if (best[s - 1][mid] >= weight(s, mid, j))
          y = mid;
        else
          x = mid + 1;
      }
      for (unsigned i : {x > lo ? x - 1 : x, x}) {
        if (i < lo || i > hi)
          continue;
        double v = std::max(best[s - 1][i], weight(s, i, j));
        if (v < best[s][j]) {
          best[s][j] = v;
          from[s][j] = i;
        }
      }
    }
  }
  if (!(best[p - 1][n] < kInf))
    return std::nullopt;
  std::vector<unsigned> bounds(p - 1);
  unsigned j = n;
  for (unsigned s = p - 1; s > 0; --s) {
    j = from[s][j];
    bounds[s - 1] = j;
  }
  return bounds;
}

std::optional<Plan> Evaluator::simulate(llvm::ArrayRef<unsigned> bounds,
                                        double cutoff) const {
  unsigned p = layout.numStages(), n = numLayers();
  std::vector<unsigned> starts = {0};
  starts.insert(starts.end(), bounds.begin(), bounds.end());
  starts.push_back(n);
  for (unsigned s = 0; s < p; ++s)
    if (starts[s] >= starts[s + 1])
      return std::nullopt;
  // Each stage's recomputation: as given, else the fastest policy under
  // which every member of every replica fits (per device when
  // interleaving: its chunks share its memory).
  std::vector<unsigned> stagePolicy(p, 0);
  if (!forcedPolicy.empty()) {
    stagePolicy = forcedPolicy;
  } else if (policies.size() > 1) {
    unsigned depthHere = layout.strategy.pp;
    for (unsigned d = 0; d < (layout.chunks > 1 ? depthHere : p); ++d) {
      unsigned chosen = numPolicies();
      for (unsigned policy = 0;
           policy < numPolicies() && chosen == numPolicies(); ++policy) {
        bool ok = true;
        for (unsigned r = 0; r < layout.groups.size() && ok; ++r)
          for (size_t k = 0; k < layout.groups[r][d].size() && ok; ++k)
            ok = deviceMemory(r, d, starts, k, policy) <=
                 usable(layout.groups[r][d][k]);
        if (ok)
          chosen = policy;
      }
      if (chosen == numPolicies())
        return std::nullopt;
      for (unsigned k = d; k < p; k += (layout.chunks > 1 ? depthHere : p))
        stagePolicy[k] = chosen;
    }
  }
  Plan plan;
  plan.strategy = layout.strategy;
  plan.layout = layout.layout;
  plan.reversedStages = layout.reversedStages;
  plan.schedule = ctx.options.schedule;
  plan.microBatch = level.profile.microBatch;
  plan.replicaMicroBatches = layout.microBatches;
  plan.virtualStages = layout.chunks;
  plan.zero = layout.zero;
  if (policies.size() > 1 || !forcedPolicy.empty())
    for (unsigned s = 0; s < p; ++s)
      plan.stageRecompute.push_back(policies[stagePolicy[s]]->recompute);
  // Every chip starts idle; the stages below claim theirs.
  plan.devices.resize(ctx.mesh.numChips());
  for (unsigned c = 0; c < ctx.mesh.numChips(); ++c) {
    plan.devices[c].chip = c;
    plan.devices[c].idle = true;
    plan.devices[c].capacityBytes = ctx.mesh.kindOf(c).memoryBytes;
  }
  for (unsigned s = 0; s < p; ++s) {
    StagePlan stage;
    stage.firstLayer = starts[s];
    stage.endLayer = starts[s + 1];
    for (unsigned r = 0; r < layout.groups.size(); ++r) {
      stage.devices.push_back(layout.groups[r][s]);
      stage.shares.push_back(layout.shares[r][s]);
    }
    plan.stages.push_back(std::move(stage));
  }
  bool training = ctx.training();
  // p virtual stages over `depth` devices per replica (equal without
  // interleaving).
  unsigned depth = layout.strategy.pp;
  double pipeline = 0;
  struct SimulatedReplica {
    uint64_t microBatches;
    std::vector<double> forward, backward, sendForward, sendBackward;
    double makespan;
    std::vector<double> stageEnd;
  };
  std::vector<SimulatedReplica> simulated;
  // When each device's gradients are complete: its slowest replica's end.
  std::vector<double> stageDone(depth, 0.0);
  for (unsigned r = 0; r < layout.groups.size(); ++r) {
    std::vector<double> fwd, bwd, sendF, sendB;
    for (unsigned s = 0; s < p; ++s) {
      StageCost c =
          stage(r, s, starts[s], starts[s + 1], false, stagePolicy[s]);
      fwd.push_back(c.forwardS);
      bwd.push_back(c.backwardS);
      if (s + 1 < p) {
        double t = send(r, s, starts[s + 1] - 1);
        sendF.push_back(t);
        sendB.push_back(training ? t : 0.0);
      }
      uint64_t m = layout.microBatches[r];
      bool firstChunk = s < depth;
      for (size_t k = 0; k < layout.groups[r][s].size(); ++k) {
        unsigned chip = layout.groups[r][s][k];
        DevicePlan &d = plan.devices[chip];
        if (firstChunk) {
          d.chip = chip;
          d.idle = false;
          d.replica = r;
          d.stage = s;
          d.tpRank = k;
          d.share = layout.shares[r][s][k];
          d.computeS = d.commS = 0;
          d.memoryBytes = deviceMemory(r, s, starts, k, stagePolicy[s]);
          d.capacityBytes = ctx.mesh.kindOf(chip).memoryBytes;
          if (d.memoryBytes > usable(chip))
            return std::nullopt;
        }
        unsigned kind = ctx.mesh.chips()[chip].kind;
        const Level &costs = *policies[stagePolicy[s]];
        unsigned i = starts[s], j = starts[s + 1];
        double all = costs.prefix[kind][j] - costs.prefix[kind][i];
        double repl =
            costs.prefixReplicated[kind][j] - costs.prefixReplicated[kind][i];
        d.computeS += m * (d.share * (all - repl) +
                           (replicatesOutsideRegions(layout.groups[r][s].size())
                                ? repl
                                : d.share * repl));
        d.commS += m * (c.tensorCommS + c.zeroCommS);
        if (s + 1 < p)
          d.commS += m * sendF.back() * (training ? 2 : 1) /
                     layout.groups[r][s].size();
      }
    }
    // No schedule beats the busiest stage running all its micro-batches
    // back to back: skip playing one that cannot win.
    std::vector<double> perDevice(depth, 0.0);
    for (unsigned s = 0; s < p; ++s)
      perDevice[s % depth] += fwd[s] + bwd[s];
    double busiest = 0;
    for (double t : perDevice)
      busiest = std::max(busiest, layout.microBatches[r] * t);
    if (layout.chunks == 1) {
      // Nor can stage s start before micro-batch 0 reaches it, or the
      // step end before its last backward returns through the stages
      // before it (GPipe and 1F1B alike); inference: the last forward
      // still has the stages after s to pass.
      double before = 0, after = 0;
      if (!training)
        for (unsigned s = 0; s < p; ++s)
          after += fwd[s] + (s + 1 < p ? sendF[s] : 0.0);
      for (unsigned s = 0; s < p; ++s) {
        double own = layout.microBatches[r] * (fwd[s] + bwd[s]);
        busiest =
            std::max(busiest, training ? before + own : after - fwd[s] + own);
        before += fwd[s] + bwd[s] + (s + 1 < p ? sendF[s] + sendB[s] : 0.0);
      }
    }
    if (busiest * scoreFactor() > cutoff)
      return std::nullopt;
    // Replicas of the same kinds have the same pipeline: play it once.
    const SimulatedReplica *played = nullptr;
    for (const SimulatedReplica &seen : simulated)
      if (seen.microBatches == layout.microBatches[r] && seen.forward == fwd &&
          seen.backward == bwd && seen.sendForward == sendF &&
          seen.sendBackward == sendB)
        played = &seen;
    if (!played) {
      std::vector<double> ends;
      double makespan = simulatePipeline(
          ctx.options.schedule, fwd, bwd, sendF, sendB, layout.microBatches[r],
          training, nullptr, &ends, layout.chunks);
      simulated.push_back({layout.microBatches[r], fwd, bwd, sendF, sendB,
                           makespan, std::move(ends)});
      played = &simulated.back();
    }
    pipeline = std::max(pipeline, played->makespan);
    for (unsigned s = 0; s < depth; ++s)
      stageDone[s] = std::max(stageDone[s], played->stageEnd[s]);
    plan.pipelines.push_back({layout.microBatches[r], fwd, bwd, sendF, sendB});
  }
  if (pipeline * scoreFactor() > cutoff)
    return std::nullopt;
  // Gradient all-reduce across replicas, per stage and tensor rank: a
  // stage's groups start when its gradients are complete (its last
  // backward on every replica), or with overlap while that backward
  // runs; the step waits for the last to finish, then one optimizer
  // update.
  double sync = 0, optimizer = 0, synced = pipeline;
  if (training) {
    for (unsigned s = 0; s < depth; ++s) {
      // Every chunk the device holds (one without interleaving).
      double weights = 0, params = 0;
      for (unsigned k = s; k < p; k += depth) {
        weights += level.prefixParamBytes[starts[k + 1]] -
                   level.prefixParamBytes[starts[k]];
        params +=
            level.prefixParams[starts[k + 1]] - level.prefixParams[starts[k]];
      }
      double grads = gradientBytes(params, weights);
      double stageSync = 0;
      // Per tensor rank: the step's reduction of the stage's gradients.
      // Stage 0 all-reduces them; stage 1 reduce-scatters them and, after
      // each member's update of its shard, all-gathers the weights
      // (Megatron's distributed optimizer); stage 2 has reduce-scattered
      // them micro-batch by micro-batch and gathers the updated weights;
      // stage 3 keeps the weights sharded and has nothing left to do.
      // The tensor ranks' groups reduce at once and share whatever links
      // they have in common (a node's NICs): priced together.
      if (layout.zero == 0)
        stageSync = dataGroupsTogether(s, CollectiveKind::AllReduce, grads);
      else if (layout.zero == 1)
        stageSync =
            dataGroupsTogether(s, CollectiveKind::ReduceScatter, grads) +
            dataGroupsTogether(s, CollectiveKind::AllGather, weights);
      else if (layout.zero == 2)
        stageSync = dataGroupsTogether(s, CollectiveKind::AllGather, weights);
      for (const DataGroup &g : dataGroups[s]) {
        const std::vector<unsigned> &group = g.chips;
        double seconds = group.size() > 1 ? stageSync : 0.0;
        for (auto [m, chip] : llvm::enumerate(group)) {
          DevicePlan &d = plan.devices[chip];
          d.commS += seconds;
          // A sharded optimizer updates the member's shard only.
          double part = layout.zero >= 1 ? g.fractions[m] : 1.0;
          double o = optimizerSeconds(
              static_cast<uint64_t>(params * d.share * part),
              weights * d.share * part, ctx.kinds[ctx.mesh.chips()[chip].kind]);
          d.computeS += o;
          optimizer = std::max(optimizer, o);
        }
      }
      double start = stageDone[s];
      if (ctx.options.overlapGradientReduce) {
        // Buckets are reduced as the last backward produces them; the
        // reduction cannot start before that backward does.
        double lastBackward = 0;
        for (const ReplicaPipeline &rp : plan.pipelines)
          lastBackward = std::max(lastBackward, rp.backward[s]);
        start = std::max(0.0, start - lastBackward);
        synced = std::max(synced, std::max(stageDone[s], start + stageSync));
      } else {
        synced = std::max(synced, start + stageSync);
      }
    }
    sync = synced - pipeline;
  }
  plan.pipelineS = pipeline;
  plan.gradientSyncS = sync;
  plan.optimizerS = optimizer;
  plan.stepS = pipeline + sync + optimizer;
  for (DevicePlan &d : plan.devices)
    d.idleS = std::max(0.0, plan.stepS - d.computeS - d.commS);
  plan.score = plan.stepS * scoreFactor();
  return plan;
}

std::optional<Plan> Evaluator::bestPlan(uint64_t limit) const {
  unsigned p = layout.numStages(), n = numLayers();
  if (p > n || !memoryCanFit())
    return std::nullopt;
  // C(n - 1, p - 1), saturating at limit + 1.
  uint64_t count = 1;
  for (unsigned k = 1; k < p && count <= limit; ++k)
    count = count * (n - p + k) / k;
  if (count <= limit) {
    std::optional<Plan> best;
    std::vector<unsigned> bounds(p - 1);
    for (unsigned k = 0; k + 1 < p; ++k)
      bounds[k] = k + 1;
    while (true) {
      std::optional<Plan> plan = simulate(bounds, best ? best->score : kInf);
      if (plan && (!best || plan->score < best->score))
        best = std::move(plan);
      // Next combination in lexicographic order.
      int k = static_cast<int>(p) - 2;
      while (k >= 0 && bounds[k] == n - (p - 1 - k))
        --k;
      if (k < 0)
        break;
      ++bounds[k];
      for (unsigned q = k + 1; q + 1 < p; ++q)
        bounds[q] = bounds[q - 1] + 1;
    }
    return best;
  }
  std::optional<std::vector<unsigned>> bounds = bestBoundaries();
  std::optional<Plan> best;
  if (bounds)
    best = simulate(*bounds);
  if (layout.chunks > 1) {
    // The DP balances every virtual stage as if it had chips of its own;
    // a device runs all its chunks, so also start from chunks sized by
    // their device's speed (Megatron's equal chunks on equal chips).
    std::vector<unsigned> even = proportionalBoundaries();
    std::optional<Plan> plan = simulate(even);
    if (plan && (!best || plan->score < best->score)) {
      best = std::move(plan);
      bounds = even;
    }
  }
  if (!best)
    return std::nullopt;
  for (unsigned round = 0; round < 4 * p; ++round) {
    bool improved = false;
    for (unsigned k = 0; k + 1 < p; ++k)
      for (int delta : {-1, 1}) {
        std::vector<unsigned> trial = *bounds;
        int moved = static_cast<int>(trial[k]) + delta;
        int lower = k == 0 ? 1 : static_cast<int>(trial[k - 1]) + 1;
        int upper = k + 2 < p ? static_cast<int>(trial[k + 1]) - 1
                              : static_cast<int>(n) - 1;
        if (moved < lower || moved > upper)
          continue;
        trial[k] = static_cast<unsigned>(moved);
        std::optional<Plan> plan = simulate(trial, best->score);
        if (plan && plan->score < best->score) {
          best = std::move(plan);
          *bounds = trial;
          improved = true;
        }
      }
    if (!improved)
      break;
  }
  return best;
}

double Evaluator::workBound() const {
  if (!ctx.training())
    return 0;
  const Level &fastest = *policies[0];
  size_t n = numLayers();
  unsigned depth = layout.strategy.pp;
  double worst = 0;
  std::vector<std::vector<double>> cost(depth, std::vector<double>(n, 0.0));
  for (unsigned r : distinct) {
    std::vector<double> whole(depth, 0.0);
    for (unsigned d = 0; d < depth; ++d) {
      const auto &group = layout.groups[r][d];
      const auto &share = layout.shares[r][d];
      bool repl = replicatesOutsideRegions(group.size());
      const std::vector<double> &tc = tensorComm[r][d];
      for (size_t l = 0; l < n; ++l) {
        double mean = 0;
        for (size_t m = 0; m < group.size(); ++m) {
          unsigned k = ctx.mesh.chips()[group[m]].kind;
          double all = fastest.prefix[k][l + 1] - fastest.prefix[k][l];
          double rep = fastest.prefixReplicated[k][l + 1] -
                       fastest.prefixReplicated[k][l];
          mean += share[m] * (all - rep) + (repl ? rep : share[m] * rep);
        }
        mean /= static_cast<double>(group.size());
        double comm = tc.empty() || ctx.options.overlapTensorComm
                          ? 0.0
                          : 2 * (tc[l + 1] - tc[l]);
        cost[d][l] = mean + comm;
        whole[d] += cost[d][l];
      }
    }
    double inverse = 0;
    for (double g : whole)
      inverse += g > 0 ? 1 / g : kInf;
    if (!(inverse < kInf))
      continue; // a device that costs nothing: no bound from this replica
    double perMicroBatch = 0;
    for (size_t l = 0; l < n; ++l) {
      double least = kInf;
      for (unsigned d = 0; d < depth; ++d)
        least = std::min(least, cost[d][l] / (whole[d] * inverse));
      perMicroBatch += least;
    }
    // Layers are whole: among the (j - 1) depth + 1 layers that cost
    // most on their cheapest device, some device holds j, and takes at
    // least the j cheapest of them.
    std::vector<double> cheapest(n, kInf);
    for (size_t l = 0; l < n; ++l)
      for (unsigned d = 0; d < depth; ++d)
        cheapest[l] = std::min(cheapest[l], cost[d][l]);
    llvm::sort(cheapest, std::greater<double>());
    double granular = 0;
    for (size_t j = 1; (j - 1) * depth + 1 <= n; ++j) {
      size_t top = (j - 1) * depth + 1;
      double sum = 0;
      for (size_t l = top - j; l < top; ++l)
        sum += cheapest[l];
      granular = std::max(granular, sum);
    }
    perMicroBatch = std::max(perMicroBatch, granular);
    worst = std::max(worst, layout.microBatches[r] * perMicroBatch);
  }
  // Summed in another order than stage() sums: keep clear of rounding.
  return worst * (1 - 1e-9);
}

bool Evaluator::memoryCanFit() const {
  size_t nl = numLayers();
  unsigned depth = layout.strategy.pp;
  bool training = ctx.training();
  // Adam bytes per weight byte, at least: n (master + 8) over the
  // range's bytes, smallest where parameters are widest.
  double widest = 0;
  for (size_t l = 0; l < nl; ++l) {
    double params = level.prefixParams[l + 1] - level.prefixParams[l];
    double bytes = level.prefixParamBytes[l + 1] - level.prefixParamBytes[l];
    if (params > 0 && bytes > 0)
      widest = std::max(widest, bytes / params);
  }
  double adam =
      training && widest > 0 ? (widest < 4.0 ? 12.0 : 8.0) / widest : 0.0;
  auto delta = [](const std::vector<double> &prefix, size_t l) {
    return prefix[l + 1] - prefix[l];
  };
  std::vector<std::vector<double>> need(depth, std::vector<double>(nl, 0.0));
  for (unsigned r = 0; r < layout.groups.size(); ++r) {
    std::vector<double> whole(depth, 0.0);
    for (unsigned d = 0; d < depth; ++d) {
      const auto &group = layout.groups[r][d];
      bool repl = replicatesOutsideRegions(group.size());
      double flight = training && layout.chunks == 1 ? inFlight(r, d) : 0.0;
      std::fill(need[d].begin(), need[d].end(), 0.0);
      for (size_t k = 0; k < group.size(); ++k) {
        double share = layout.shares[r][d][k], f = memberFraction[r][d][k];
        double perByte = 1;
        if (training)
          switch (layout.zero) {
          case 0:
            perByte = 2 + adam;
            break;
          case 1:
            perByte = 2 + adam * f;
            break;
          case 2:
            perByte = 1 + f + adam * f;
            break;
          default:
            perByte = (2 + adam) * f;
            break;
          }
        double room = std::max(0.0, usable(group[k]) - reservedOf(group[k]));
        for (size_t l = 0; l < nl; ++l) {
          double kept = kInf;
          if (training) {
            for (const Level *policy : policies)
              kept = std::min(
                  kept, share * delta(policy->prefixSaved, l) +
                            (repl ? (1 - share) *
                                        delta(policy->prefixSavedReplicated, l)
                                  : 0.0));
            kept *= flight;
          } else {
            kept = share * delta(level.prefixCache, l);
          }
          double bytes =
              share * perByte * delta(level.prefixParamBytes, l) + kept;
          double fraction = bytes <= 0 ? 0.0 : room > 0 ? bytes / room : kInf;
          need[d][l] = std::max(need[d][l], fraction);
        }
      }
      for (double a : need[d])
        whole[d] += a;
    }
    double budget = 0;
    for (double a : whole)
      budget += a > 0 ? 1 / a : kInf;
    if (!(budget < kInf))
      continue; // a device that holds anything for free
    double used = 0;
    for (size_t l = 0; l < nl; ++l) {
      double least = kInf;
      for (unsigned d = 0; d < depth; ++d)
        least = std::min(least, need[d][l] / whole[d]);
      used += least;
    }
    // Summed in another order than memberMemory() sums: keep clear of
    // rounding.
    if (used > budget * (1 + 1e-9))
      return false;
  }
  return true;
}

std::vector<unsigned> Evaluator::proportionalBoundaries() const {
  unsigned stages = layout.numStages(), n = numLayers(), p = layout.strategy.pp;
  std::vector<double> speed(p, 0.0);
  double total = 0;
  for (unsigned d = 0; d < p; ++d) {
    for (unsigned c : layout.groups[0][d]) {
      double t = level.modelS[ctx.mesh.chips()[c].kind];
      speed[d] += t > 0 ? 1 / t : 0;
    }
    total += speed[d];
  }
  std::vector<unsigned> bounds;
  double cumulative = 0;
  unsigned previous = 0;
  for (unsigned k = 0; k + 1 < stages; ++k) {
    // Chips of no measurable speed: equal chunks.
    cumulative +=
        total > 0 ? speed[k % p] / (total * layout.chunks) : 1.0 / stages;
    unsigned at = static_cast<unsigned>(std::lround(cumulative * n));
    // Leave at least one layer to this and every later stage.
    at = std::clamp(at, previous + 1, n - (stages - 1 - k));
    bounds.push_back(at);
    previous = at;
  }
  return bounds;
}

double Evaluator::lowerBound(const Context &ctx, const Level &level,
                             const Layout &layout) {
  double worst = 0;
  for (unsigned r = 0; r < layout.groups.size(); ++r) {
    double speed = 0;
    // The first pp groups: further model chunks repeat the same chips.
    size_t narrowest = SIZE_MAX;
    int kind = -1;
    bool oneKind = true;
    for (unsigned st = 0; st < layout.strategy.pp; ++st) {
      narrowest = std::min(narrowest, layout.groups[r][st].size());
      for (unsigned c : layout.groups[r][st]) {
        int k = static_cast<int>(ctx.mesh.chips()[c].kind);
        oneKind &= kind < 0 || kind == k;
        kind = k;
        double t = level.modelS[k];
        speed += t > 0 ? 1 / t : 0;
      }
    }
    // A replica of one kind whose tensor groups run the ops between
    // their regions whole does that work once per member: at least
    // (narrowest - 1) times more of it in all.
    double work = 1;
    if (oneKind && kind >= 0 && narrowest > 1 &&
        !ctx.options.sequenceParallel && level.modelS[kind] > 0)
      work += (static_cast<double>(narrowest) - 1) *
              level.modelReplicatedS[kind] / level.modelS[kind];
    worst = std::max(worst, layout.microBatches[r] * work / speed);
  }
  return worst;
}

} // namespace chipmesh::search
