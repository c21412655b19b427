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
    # twice the predicted compute and exactly the predicted comm + idle;
    # rank 1 half its compute and none of its waiting.
    d0, d1 = by_stage[0], by_stage[1]
    timings = [
        ct.Timing(2 * d0.compute_s + d0.comm_s + d0.idle_s, d0.comm_s + d0.idle_s,
                  2 * d0.compute_s),
        ct.Timing(0.5 * d1.compute_s, 0.0, 0.5 * d1.compute_s),
    ]
    lines = ct.timing_table(tplan, timings).splitlines()
    assert lines[0].split()[:4] == ["rank", "device", "stage", "tp"]
    row0, row1 = lines[1].split(), lines[2].split()
    assert row0[0] == "0" and row0[2] == "0"
    assert float(row0[5]) == round(2 * d0.compute_s * 1e3, 3)
    assert float(row0[6]) == round(d0.compute_s * 1e3, 3)
    assert row0[7] == "+100%"
    assert row0[11] == "+0%"
    assert row1[7] == "-50%"
    assert row1[11] == "-100%"
    measured_step = 2 * d0.compute_s + d0.comm_s + d0.idle_s
    expected = (measured_step - plan.step_time_s) / plan.step_time_s * 100
    assert lines[3] == "step: measured %.3f ms, predicted %.3f ms (%+.0f%%)" % (
        measured_step * 1e3, plan.step_time_s * 1e3, expected)
