"""chipmesh.torch.timing_table: the plan's per-device prediction next to
measured times, with the error, checked by hand."""

import torch
import torch.nn as nn

import chipmesh
import chipmesh.torch as ct


def test_timing_table_by_hand():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 16))
    x = torch.randn(8, 16)
    tplan = ct.partition(net, (x,), chipmesh.Mesh.node("h100-sxm", 2),
                         strategy="dp=1,pp=2,tp=1", mode="infer", micro_batch=4)
    plan = tplan.plan
    by_stage = {d.stage: d for d in plan.devices}
    # Rank s is stage s (one replica, no tensor parallelism). Rank 0 took
    # twice the predicted compute, the predicted comm and 1.5 times the
    # predicted idle, and is the slowest; rank 1 half its compute and no
    # communication at all.
    d0, d1 = by_stage[0], by_stage[1]
    step0 = 2 * d0.compute_s + d0.comm_s + 1.5 * d0.idle_s
    timings = [
        ct.Timing(step0, d0.comm_s, 1.5 * d0.idle_s, 2 * d0.compute_s),
        ct.Timing(0.5 * d1.compute_s, 0.0, 0.0, 0.5 * d1.compute_s),
    ]
    lines = ct.timing_table(tplan, timings).splitlines()
    assert lines[0].split()[:4] == ["rank", "device", "stage", "tp"]
    row0, row1 = lines[1].split(), lines[2].split()
    assert row0[0] == "0" and row0[2] == "0"
    # Columns after the device: stage tp | compute predicted error | comm
    # predicted error | idle predicted error.
    assert float(row0[5]) == round(2 * d0.compute_s * 1e3, 3)
    assert float(row0[6]) == round(d0.compute_s * 1e3, 3)
    assert row0[7] == "+100%"
    assert float(row0[9]) == round(d0.comm_s * 1e3, 3)
    # The first stage sends (comm) and waits for the second's drain (idle);
    # the last sends nothing, so it has no comm error to give.
    assert d0.comm_s > 0 and d0.idle_s > 0 and d1.comm_s == 0 and d1.idle_s > 0
    assert row0[11] == "+0%"
    assert row0[15] == "+50%"
    assert row1[7] == "-50%"
    assert row1[11] == "n/a"
    # Rank 1 never waited, but it finished early: the rest of the step is
    # idle, as the model counts it.
    tail = step0 - 0.5 * d1.compute_s
    assert float(row1[13]) == round(tail * 1e3, 3)
    assert row1[15] == "%+.0f%%" % ((tail - d1.idle_s) / d1.idle_s * 100)
    expected = (step0 - plan.step_time_s) / plan.step_time_s * 100
    assert lines[3] == "step: measured %.3f ms, predicted %.3f ms (%+.0f%%)" % (
        step0 * 1e3, plan.step_time_s * 1e3, expected)
