"""The framework backend: partition an nn.Module, get it back in stages.

    plan = chipmesh.torch.partition(net, (x,), chipmesh.Mesh.node("h100-sxm", 4))
    plan.node_stage["fc"]         # the pipeline stage of FX node 'fc'
    plan.module_stage["layer3"]   # the stages a submodule runs on
    y = plan(x)                   # the stages one after another, on CPU

The model is imported through FX (chipmesh.importers.fx), partitioned by
--chipmesh-partition with the given options (mode defaults to infer), and
the traced GraphModule is split with torch.fx's split_module at the
plan's stage boundaries: submodule i is stage i.
"""

from .partition import TorchPlan, partition
from .runtime import RankResult, init_process_group, run, verify_store
from .tensor_parallel import _megatron_pairs
from .timing import Timing, gather_timings, timing_table

__all__ = ["TorchPlan", "partition", "run", "RankResult", "Timing",
           "init_process_group", "verify_store", "gather_timings",
           "timing_table"]
