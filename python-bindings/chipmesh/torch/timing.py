"""chipmesh.torch.timing: what a rank measures of its step (compute,
communication, idle) and the cost model's prediction beside it."""

import collections as _collections
import math as _math
import time as _time

import torch
import torch.distributed as _dist

from ..core import Error

# Measured seconds of this rank's last step: `step_s` (wall time from a
# common start); `idle_s`, waiting for a pipeline peer to reach its send
# (a one-element ready message goes ahead of every activation and
# gradient, and the wait for it is the idle time); `comm_s`, the rest of
# the time inside send/recv/collectives (a collective's wait for a late
# member included); `compute_s`, everything else.
Timing = _collections.namedtuple("Timing", ["step_s", "comm_s", "idle_s", "compute_s"])


# Tags of the ready messages: above the activations' (micro-batch index)
# and the gradients' (_GRAD_TAG + index).
_GRAD_TAG, _READY_TAG = 10_000_000, 20_000_000


class _CommClock:
    """Seconds spent inside communication calls, and waiting for peers."""

    def __init__(self):
        self.seconds = 0.0
        self.idle = 0.0
        self._token = torch.zeros(1)

    def __call__(self, fn, *args, **kwargs):
        start = _time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.seconds += _time.perf_counter() - start

    def announce(self, dst, tag):
        """Sends the ready message that precedes a payload to `dst`."""
        return _dist.isend(self._token, dst=dst, tag=_READY_TAG + tag)

    def await_peer(self, src, tag):
        """Waits for `src`'s ready message: the time is idle, not transfer."""
        start = _time.perf_counter()
        _dist.recv(torch.empty(1), src=src, tag=_READY_TAG + tag)
        self.idle += _time.perf_counter() - start


_clock = _CommClock()


def gather_timings(result):
    """Every rank's Timing, in rank order, on every rank (a collective).
    Sent as a float64 tensor (one row of len(Timing._fields) per rank, all
    NaN for a rank without a timing), not pickled: a rank never unpickles
    what a peer sends."""
    width = len(Timing._fields)
    timing = tuple(result.timing) if result.timing else None
    if timing is not None and len(timing) != width:
        raise Error("a timing has %d fields, not %d (%s)"
                    % (len(timing), width, ", ".join(Timing._fields)))
    device = torch.device("cuda", torch.cuda.current_device()) \
        if _dist.get_backend() == "nccl" else torch.device("cpu")
    row = torch.tensor([float(v) for v in timing] if timing is not None
                       else [float("nan")] * width, dtype=torch.float64, device=device)
    rows = [torch.empty(width, dtype=torch.float64, device=device)
            for _ in range(_dist.get_world_size())]
    _dist.all_gather(rows, row)
    timings = []
    for r in rows:
        values = r.tolist()
        timings.append(None if all(_math.isnan(v) for v in values) else Timing(*values))
    return timings


def timing_table(tplan, timings):
    """The cost model's per-device prediction next to the measured times of
    one step (`timings` from gather_timings): compute, communication and
    idle, each with its error, (measured - predicted) / predicted. Idle is
    counted as the model counts it: a rank's waits for its peers plus the
    time from its own end to the end of the step (the slowest rank's)."""
    plan = tplan.plan
    pp, tp = len(tplan.stages), plan.tp
    by_place = {(d.replica, d.stage, d.tp_rank): d for d in plan.devices}
    rows = ["%4s %-18s %5s %3s | %10s %10s %7s | %10s %10s %7s | %10s %10s %7s" % (
        "rank", "device", "stage", "tp", "compute ms", "predicted", "error",
        "comm ms", "predicted", "error", "idle ms", "predicted", "error")]

    def error(measured, predicted):
        # No error against a prediction that prints as zero.
        return "%+6.0f%%" % ((measured - predicted) / predicted * 100) \
            if predicted >= 0.5e-6 else "    n/a"

    def columns(measured, predicted):
        return "%10.3f %10.3f %7s" % (measured * 1e3, predicted * 1e3, error(measured, predicted))

    step = max(t.step_s for t in timings if t is not None)
    for rank, t in enumerate(timings):
        replica, rest = divmod(rank, pp * tp)
        stage, trank = divmod(rest, tp)
        d = by_place.get((replica, stage, trank))
        if t is None or d is None:
            continue
        rows.append("%4d %-18s %5d %3d | %s | %s | %s" % (
            rank, d.name, stage, trank, columns(t.compute_s, d.compute_s),
            columns(t.comm_s, d.comm_s), columns(t.idle_s + step - t.step_s, d.idle_s)))
    rows.append("step: measured %.3f ms, predicted %.3f ms (%s)" % (
        step * 1e3, plan.step_time_s * 1e3, error(step, plan.step_time_s).strip()))
    return "\n".join(rows)
