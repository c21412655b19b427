"""Run a partitioned model on several processes (torch.distributed, gloo).

    python3 -m chipmesh.launch --nproc 4 examples/python/run_distributed.py

Every process builds the same model (same seed), gets the same plan, and
runs its own stage of its own replica; the last stage of each replica
prints how far its outputs are from the single-process model's.
"""

import torch
import torch.distributed as dist
import torch.nn as nn

import chipmesh
import chipmesh.torch

dist.init_process_group("gloo")
torch.manual_seed(0)
net = nn.Sequential(nn.Linear(32, 128), nn.GELU(), nn.Linear(128, 128), nn.GELU(),
                    nn.Linear(128, 10))
x, y = torch.randn(32, 32), torch.randint(0, 10, (32,))
mesh = chipmesh.Mesh.cluster([("h100-sxm", 2), ("a100-sxm-80gb", 2)], network="roce-200g")
plan = chipmesh.torch.partition(net, (x,), mesh, strategy="dp=2,pp=2,tp=1", micro_batch=4)
rank = dist.get_rank()


def say(text):
    """Print in rank order (processes share one terminal)."""
    for r in range(dist.get_world_size()):
        dist.barrier()
        if r == rank and text:
            print(text, flush=True)


if rank == 0:
    print("plan:", plan.plan.strategy, plan.plan.schedule, "micro-batches per replica",
          plan.plan.replica_micro_batches, flush=True)
with torch.no_grad():
    expected = net(x)  # before training, for the inference check
out, _, _, _ = chipmesh.torch.run(plan, x)
line = ""
if out is not None:
    replica = rank // len(plan.stages)
    lo = sum(plan.plan.replica_micro_batches[:replica]) * plan.plan.micro_batch
    diff = (out - expected[lo:lo + out.shape[0]]).abs().max().item()
    line = "rank %d (replica %d, last stage): %d samples, max |difference| %.1e" % (
        rank, replica, out.shape[0], diff)
say(line)
# One training step: pipelined forward and backward, gradients all-reduced
# across the two replicas, SGD.
_, weights, _, _ = chipmesh.torch.run(plan, x, y, nn.CrossEntropyLoss(reduction="sum"), steps=1)
say("rank %d updated %s" % (rank, ", ".join(sorted(weights))))
dist.destroy_process_group()
