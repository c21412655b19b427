//===- Pipeline.cpp - Simulated GPipe and 1F1B schedules ------------------===//
//
// The step time of a pipeline comes from playing its schedule, op by op,
// with the real per-stage times: unequal stages (unequal chips) make the
// usual (m + p - 1) x t formula wrong.
//
//===----------------------------------------------------------------------===//

#include "chipmesh/Partition/Partitioner.h"

using namespace chipmesh;

namespace {
struct PipeOp {
  bool backward;
  uint64_t microBatch;
};
} // namespace

double chipmesh::simulatePipeline(Schedule schedule,
                                  llvm::ArrayRef<double> forward,
                                  llvm::ArrayRef<double> backward,
                                  llvm::ArrayRef<double> sendForward,
                                  llvm::ArrayRef<double> sendBackward,
                                  uint64_t microBatches, bool training) {
  size_t p = forward.size();
  uint64_t m = microBatches;
  if (p == 0 || m == 0)
    return 0;
  // Per stage, the order its ops run in.
  std::vector<std::vector<PipeOp>> order(p);
  for (size_t s = 0; s < p; ++s) {
    std::vector<PipeOp> &ops = order[s];
    ops.reserve(training ? 2 * m : m);
    if (!training || schedule == Schedule::GPipe) {
      for (uint64_t k = 0; k < m; ++k)
        ops.push_back({false, k});
      if (training)
        for (uint64_t k = 0; k < m; ++k)
          ops.push_back({true, k});
      continue;
    }
    // 1F1B (PipeDream-Flush, Narayanan et al. 2021): p - s - 1 warm-up
    // forwards, then alternate one forward and one backward, then drain.
    uint64_t warmup = std::min<uint64_t>(p - s - 1, m);
    for (uint64_t k = 0; k < warmup; ++k)
      ops.push_back({false, k});
    for (uint64_t k = 0; k + warmup < m; ++k) {
      ops.push_back({false, k + warmup});
      ops.push_back({true, k});
    }
    for (uint64_t k = m - warmup; k < m; ++k)
      ops.push_back({true, k});
  }
  // End times; NaN = not yet run.
  const double unset = -1;
  std::vector<std::vector<double>> fEnd(p, std::vector<double>(m, unset)),
      bEnd(p, std::vector<double>(m, unset));
  std::vector<size_t> next(p, 0);
  std::vector<double> free(p, 0.0);
  size_t remaining = 0;
  for (auto &ops : order)
    remaining += ops.size();
  while (remaining > 0) {
    bool progressed = false;
    for (size_t s = 0; s < p; ++s) {
      while (next[s] < order[s].size()) {
        PipeOp op = order[s][next[s]];
        double ready;
        if (!op.backward) {
          if (s == 0)
            ready = 0;
          else if (fEnd[s - 1][op.microBatch] < 0)
            break;
          else
            ready = fEnd[s - 1][op.microBatch] + sendForward[s - 1];
        } else {
          if (s + 1 == p) {
            if (fEnd[s][op.microBatch] < 0)
              break;
            ready = fEnd[s][op.microBatch];
          } else if (bEnd[s + 1][op.microBatch] < 0) {
            break;
          } else {
            ready = bEnd[s + 1][op.microBatch] + sendBackward[s];
          }
        }
        double start = std::max(ready, free[s]);
        double end = start + (op.backward ? backward[s] : forward[s]);
        (op.backward ? bEnd : fEnd)[s][op.microBatch] = end;
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
  return makespan;
}
