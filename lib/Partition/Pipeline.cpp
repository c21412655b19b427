//===- Pipeline.cpp - Simulated GPipe and 1F1B schedules ------------------===//
//
// The step time of a pipeline comes from playing its schedule, op by op,
// with the real per-stage times: unequal stages (unequal chips) make the
// usual (m + p - 1) x t formula wrong.
//
//===----------------------------------------------------------------------===//

#include "chipmesh/Partition/Partitioner.h"
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

double chipmesh::simulatePipeline(Schedule schedule,
                                  llvm::ArrayRef<double> forward,
                                  llvm::ArrayRef<double> backward,
                                  llvm::ArrayRef<double> sendForward,
                                  llvm::ArrayRef<double> sendBackward,
                                  uint64_t microBatches, bool training,
                                  std::vector<PipeEvent> *events,
                                  std::vector<double> *stageEnd) {
  size_t p = forward.size();
  uint64_t m = microBatches;
  if (p == 0 || m == 0)
    return 0;
  uint64_t opsPerStage = training ? 2 * m : m;
  // End times of forward and backward (s, k) at [s * m + k]; -1 = not run.
  std::vector<double> fEnd(p * m, -1.0), bEnd(training ? p * m : 0, -1.0);
  std::vector<uint64_t> next(p, 0);
  std::vector<double> free(p, 0.0);
  uint64_t remaining = p * opsPerStage;
  while (remaining > 0) {
    bool progressed = false;
    for (size_t s = 0; s < p; ++s) {
      while (next[s] < opsPerStage) {
        PipeOp op = pipelineOpAt(schedule, training, p, s, m, next[s]);
        size_t at = s * m + op.microBatch;
        double ready;
        if (!op.backward) {
          if (s == 0)
            ready = 0;
          else if (fEnd[at - m] < 0)
            break;
          else
            ready = fEnd[at - m] + sendForward[s - 1];
        } else if (s + 1 == p) {
          if (fEnd[at] < 0)
            break;
          ready = fEnd[at];
        } else if (bEnd[at + m] < 0) {
          break;
        } else {
          ready = bEnd[at + m] + sendBackward[s];
        }
        double start = std::max(ready, free[s]);
        double end = start + (op.backward ? backward[s] : forward[s]);
        (op.backward ? bEnd : fEnd)[at] = end;
        if (events)
          events->push_back({static_cast<unsigned>(s), op.microBatch,
                             op.backward, start, end});
        free[s] = end;
        ++next[s];
        --remaining;
        progressed = true;
      }
    }
    if (!progressed) // cannot happen for GPipe/1F1B; never loop forever
      return std::numeric_limits<double>::infinity();
  }
  double makespan = 0;
  for (double f : free)
    makespan = std::max(makespan, f);
  if (stageEnd)
    *stageEnd = free;
  return makespan;
}
