//===- Pipeline.cpp - Simulated GPipe and 1F1B schedules ------------------===//
//
// The step time of a pipeline comes from playing its schedule, op by op,
// with the real per-stage times: unequal stages (unequal chips) make the
// usual (m + p - 1) x t formula wrong.
//
//===----------------------------------------------------------------------===//

#include "chipmesh/Partition/Partitioner.h"
#include <algorithm>
#include <limits>

using namespace chipmesh;

PipeOp chipmesh::pipelineOpAt(Schedule schedule, bool training, size_t p,
                              size_t s, uint64_t m, uint64_t i) {
  if (!training)
    return {false, i};
  if (schedule == Schedule::GPipe)
    return i < m ? PipeOp{false, i} : PipeOp{true, i - m};
  // 1F1B (PipeDream-Flush, Narayanan et al. 2021): p - s - 1 warm-up
  // forwards, then alternate one forward and one backward, then drain.
  uint64_t warmup = std::min<uint64_t>(p - s - 1, m);
  if (i < warmup)
    return {false, i};
  uint64_t steady = 2 * (m - warmup);
  if (i < warmup + steady) {
    uint64_t k = i - warmup;
    return k % 2 == 0 ? PipeOp{false, warmup + k / 2} : PipeOp{true, k / 2};
  }
  return {true, (m - warmup) + (i - warmup - steady)};
}

PipeOp chipmesh::interleavedOpAt(size_t p, size_t v, size_t s, uint64_t m,
                                 uint64_t i) {
  // Megatron's interleaved 1F1B (Narayanan et al. 2021, sec. 2.2;
  // schedules.py forward_backward_pipelining_with_interleaving): device s
  // holds chunks c = 0..v-1, virtual stage c * p + s. Its k-th forward runs
  // chunk (k / p) % v of micro-batch (k / (p v)) p + k % p; backwards take
  // the chunks in reverse. 2(p - s - 1) + (v - 1) p warm-up forwards, then
  // one forward and one backward alternately, then the remaining backwards.
  uint64_t total = m * v;
  uint64_t warmup = std::min<uint64_t>(2 * (p - s - 1) + (v - 1) * p, total);
  // With exactly p micro-batches Megatron runs every forward first.
  if (m == p)
    warmup = total;
  auto at = [&](uint64_t k, bool backward) {
    uint64_t group = k / (p * v), within = k % (p * v);
    uint64_t chunk = within / p;
    if (backward)
      chunk = v - 1 - chunk;
    return PipeOp{backward, group * p + within % p,
                  static_cast<unsigned>(chunk * p + s)};
  };
  if (i < warmup)
    return at(i, false);
  uint64_t steady = 2 * (total - warmup);
  if (i < warmup + steady) {
    uint64_t k = i - warmup;
    return k % 2 == 0 ? at(warmup + k / 2, false) : at(k / 2, true);
  }
  return at((total - warmup) + (i - warmup - steady), true);
}

/// GPipe and 1F1B without interleaving, each op computed once in an order
/// that has its two inputs (the device's previous op, the same
/// micro-batch's op on the neighbouring stage) ready: the same sums and
/// maxima as playing the devices in turn (simulatePipeline's general
/// loop), in a fraction of the time (the search plays thousands).
static double playInOrder(Schedule schedule, llvm::ArrayRef<double> forward,
                          llvm::ArrayRef<double> backward,
                          llvm::ArrayRef<double> sendForward,
                          llvm::ArrayRef<double> sendBackward, uint64_t m,
                          bool training, std::vector<double> *stageEnd) {
  size_t p = forward.size();
  // Each op's input from the neighbouring stage is that stage's latest
  // op of its direction when the order below reaches it, so one end time
  // per stage and direction is kept (and, under GPipe, the last stage's
  // forwards, which its backwards read after all of them have run).
  std::vector<double> lastForward(p, 0.0), lastBackward(p, 0.0), free(p, 0.0);
  std::vector<double> lastStageForward;
  bool keepLast = training && schedule == Schedule::GPipe;
  if (keepLast)
    lastStageForward.resize(m);
  auto runForward = [&](size_t s, uint64_t mb) {
    double ready = s == 0 ? 0.0 : lastForward[s - 1] + sendForward[s - 1];
    free[s] = lastForward[s] = std::max(ready, free[s]) + forward[s];
    if (keepLast && s + 1 == p)
      lastStageForward[mb] = free[s];
  };
  auto runBackward = [&](size_t s, uint64_t mb) {
    double ready = s + 1 < p ? lastBackward[s + 1] + sendBackward[s]
                   : keepLast ? lastStageForward[mb]
                              : lastForward[s];
    free[s] = lastBackward[s] = std::max(ready, free[s]) + backward[s];
  };
  if (!training || schedule == Schedule::GPipe) {
    // Every forward, then (training) every backward; each device in
    // micro-batch order.
    for (uint64_t mb = 0; mb < m; ++mb)
      for (size_t s = 0; s < p; ++s)
        runForward(s, mb);
    if (training)
      for (uint64_t mb = 0; mb < m; ++mb)
        for (size_t s = p; s-- > 0;)
          runBackward(s, mb);
  } else {
    // 1F1B: device s runs w_s = min(p - s - 1, m) warm-up forwards, then
    // forward w_s + k and backward k for k = 0, 1, ... while forwards
    // remain, then the remaining backwards (pipelineOpAt). Step k runs,
    // from the last stage down, forward w_s + k (its input, forward
    // w_{s-1} + k - 1 = w_s + k of stage s - 1, is that stage's latest:
    // it ran in step k - 1 or the warm-up), then, from the last stage up
    // the pipeline, backward k (its input, backward k of stage s + 1, ran
    // just before).
    // The warm-up micro-batch by micro-batch, down the pipeline (stage
    // s - 1 warms up with more than s).
    std::vector<uint64_t> warmup(p);
    for (size_t s = 0; s < p; ++s)
      warmup[s] = std::min<uint64_t>(p - s - 1, m);
    for (uint64_t mb = 0; mb < warmup[0]; ++mb)
      for (size_t s = 0; s < p && mb < warmup[s]; ++s)
        runForward(s, mb);
    for (uint64_t k = 0; k < m; ++k) {
      for (size_t s = p; s-- > 0;)
        if (warmup[s] + k < m)
          runForward(s, warmup[s] + k);
      for (size_t s = p; s-- > 0;)
        runBackward(s, k);
    }
  }
  double makespan = 0;
  for (double t : free)
    makespan = std::max(makespan, t);
  if (stageEnd)
    *stageEnd = free;
  return makespan;
}

double chipmesh::simulatePipeline(Schedule schedule,
                                  llvm::ArrayRef<double> forward,
                                  llvm::ArrayRef<double> backward,
                                  llvm::ArrayRef<double> sendForward,
                                  llvm::ArrayRef<double> sendBackward,
                                  uint64_t microBatches, bool training,
                                  std::vector<PipeEvent> *events,
                                  std::vector<double> *stageEnd,
                                  unsigned virtualStages) {
  // Virtual stage k runs on device k % p; forward[k] and backward[k] are
  // its seconds, sendForward[k] / sendBackward[k] the hop k <-> k + 1.
  constexpr double kNever = std::numeric_limits<double>::infinity();
  size_t v = std::max(1u, virtualStages);
  size_t stages = forward.size();
  size_t p = stages / v;
  uint64_t m = microBatches;
  // Whatever the outcome, every device gets an end time.
  if (stageEnd)
    stageEnd->assign(p, kNever);
  if (stages % v != 0)
    return kNever;
  if (p == 0 || m == 0) {
    if (stageEnd)
      stageEnd->assign(p, 0.0);
    return 0;
  }
  // Interleaving is a training schedule (the partition pass refuses it
  // for inference), and Megatron's needs m to be a multiple of p.
  if (v > 1 && (!training || m % p != 0))
    return kNever;
  bool interleaved = v > 1;
  if (!interleaved && !events)
    return playInOrder(schedule, forward, backward, sendForward, sendBackward,
                       m, training, stageEnd);
  uint64_t opsPerDevice = (training ? 2 : 1) * m * v;
  // End times of forward and backward (k, mb) at [k * m + mb]; -1 = not run.
  std::vector<double> fEnd(stages * m, -1.0), bEnd(training ? stages * m : 0, -1.0);
  std::vector<uint64_t> next(p, 0);
  std::vector<double> free(p, 0.0);
  uint64_t remaining = p * opsPerDevice;
  while (remaining > 0) {
    bool progressed = false;
    for (size_t s = 0; s < p; ++s) {
      while (next[s] < opsPerDevice) {
        PipeOp op;
        if (interleaved) {
          op = interleavedOpAt(p, v, s, m, next[s]);
        } else {
          op = pipelineOpAt(schedule, training, p, s, m, next[s]);
          op.virtualStage = static_cast<unsigned>(s);
        }
        size_t k = op.virtualStage;
        size_t at = k * m + op.microBatch;
        double ready;
        if (!op.backward) {
          if (k == 0)
            ready = 0;
          else if (fEnd[at - m] < 0)
            break;
          else
            ready = fEnd[at - m] + sendForward[k - 1];
        } else if (k + 1 == stages) {
          if (fEnd[at] < 0)
            break;
          ready = fEnd[at];
        } else if (bEnd[at + m] < 0) {
          break;
        } else {
          ready = bEnd[at + m] + sendBackward[k];
        }
        double start = std::max(ready, free[s]);
        double end = start + (op.backward ? backward[k] : forward[k]);
        (op.backward ? bEnd : fEnd)[at] = end;
        if (events)
          events->push_back({static_cast<unsigned>(k), op.microBatch,
                             op.backward, start, end});
        free[s] = end;
        ++next[s];
        --remaining;
        progressed = true;
      }
    }
    if (!progressed) // a schedule that cannot finish; never loop forever
      return kNever;
  }
  double makespan = 0;
  for (double f : free)
    makespan = std::max(makespan, f);
  if (stageEnd)
    *stageEnd = free;
  return makespan;
}
