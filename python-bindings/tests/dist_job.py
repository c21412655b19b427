"""One rank of a distributed test job (run by chipmesh.launch).

    dist_job.py OUT_DIR MODEL STRATEGY MODE STEPS SCHEDULE [FAULT]

Saves the rank's output and updated weights to OUT_DIR/rank<N>.pt.
FAULT: 'raise' (rank 1 raises after starting), 'hang' (rank 1 sleeps).
"""

import os
import sys
import time

import torch
import torch.distributed as dist
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
import chipmesh  # noqa: E402
import chipmesh.torch as ct  # noqa: E402
from models import build  # noqa: E402

out_dir, name, strategy, mode, steps, schedule = sys.argv[1:7]
# "dp=2,pp=2,tp=1;zero=1": partition options after the strategy.
strategy, _, extra = strategy.partition(";")
fault = sys.argv[7] if len(sys.argv) > 7 else ""
dist.init_process_group("gloo")
rank = dist.get_rank()
net, x, y, loss_fn, chips = build(name)
options = dict(kv.split("=", 1) for kv in extra.split(";") if kv)
if name.endswith("-tp"):
    # Nodes of a fast and a slow chip, the slow one a third of the fast in
    # every rate: tensor-parallel pairs with 3:1 speed-proportional shares.
    mesh = chipmesh.Mesh.parse("""
topo.mesh @pairs {
  topo.chip_kind @fast {fp32_flop_per_s = 6.0e13 : f64, memory_bytes = 8.0e10 : f64, memory_bytes_per_s = 3.0e12 : f64}
  topo.chip_kind @slow {fp32_flop_per_s = 2.0e13 : f64, memory_bytes = 8.0e10 : f64, memory_bytes_per_s = 1.0e12 : f64}
  topo.link_kind @nvl catalog "nvlink4"
  topo.link_kind @ib catalog "infiniband-ndr"
  topo.group "cluster" switched via @ib {
    topo.group "node" x %d switched via @nvl { topo.chips @fast x 1  topo.chips @slow x 1 }
  }
}""" % (chips // 2))
    # No fixed per-kernel cost, so the tiny model's shares are the rates'.
    # One file per rank: ranks writing one shared file race, and a rank can
    # read it half-written.
    options["calibration"] = os.path.join(out_dir, "no-overhead-calibration-rank%d.json" % rank)
    with open(options["calibration"], "w") as f:
        f.write('{"chips": {"fast": {"kernel_overhead_s": 0}, "slow": {"kernel_overhead_s": 0}}}')
else:
    mesh = chipmesh.Mesh.node("h100-sxm", chips)
plan = ct.partition(net, (x,), mesh, strategy=strategy, mode=mode, micro_batch=2,
                    schedule=schedule, **options)
if "zero" in options:
    assert plan.plan.zero == int(options["zero"]), plan.plan.zero
if fault and rank == 1:
    from chipmesh.launch import describe_rank
    describe_rank(plan.plan.stages[1 % plan.plan.pp].devices[0][0], 1 % plan.plan.pp)
    if fault == "raise":
        raise RuntimeError("injected failure")
    time.sleep(3600)
if mode == "infer":
    out, state, shards, timing = ct.run(plan, x)
else:
    out, state, shards, timing = ct.run(plan, x, y, loss_fn, steps=int(steps))
torch.save({"out": out, "state": state, "shards": shards, "timing": tuple(timing),
            "shares": [s.shares for s in plan.plan.stages]},
           os.path.join(out_dir, "rank%d.pt" % rank))
dist.destroy_process_group()
