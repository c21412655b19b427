"""Predicted against measured, per rank, for a plan on this machine.

    build/bin/chipmesh-calibrate-cpu --engine torch --chips 2 --out /tmp/cpu
    python3 -m chipmesh.launch --nproc 2 examples/python/predict_vs_measure.py /tmp/cpu [STRATEGY]

The mesh and calibration that chipmesh-calibrate-cpu measured describe
this machine's processes as `cpu` chips, so the cost model's per-device
compute and communication times can be held against what each rank
measures (chipmesh.torch.run's Timing of the last step).
"""

import sys

import torch
import torch.distributed as dist
import torch.nn as nn

import chipmesh
import chipmesh.torch as ct

prefix = sys.argv[1]
strategy = sys.argv[2] if len(sys.argv) > 2 else "dp=1,pp=2,tp=1"
dist.init_process_group("gloo")
torch.manual_seed(0)
blocks = []
for _ in range(4):
    blocks += [nn.Linear(512, 2048), nn.ReLU(), nn.Linear(2048, 512)]
net = nn.Sequential(*blocks)
x = torch.randn(256, 512)
with open(prefix + ".mlir") as f:
    mesh = chipmesh.Mesh.parse(f.read())
plan = ct.partition(net, (x,), mesh, strategy=strategy, mode="infer", micro_batch=64,
                    calibration=prefix + ".json")
with torch.no_grad():
    result = ct.run(plan, x, steps=3)  # the last step is measured
timings = ct.gather_timings(result)
if dist.get_rank() == 0:
    print("plan:", plan.plan.strategy, "micro-batches", plan.plan.replica_micro_batches)
    print(ct.timing_table(plan, timings))
dist.destroy_process_group()
