"""chipmesh.torch.partition: an nn.Module partitioned by ChipMesh and split
into its stages with torch.fx's split_module."""

from torch.fx.passes.split_module import split_module

from ..core import Error
from ..importers import fx as _fx
from ..plan import partition as _partition


class TorchPlan:
    """A plan mapped back to an nn.Module."""

    def __init__(self, plan, graph_module, split, node_stage, module_stage):
        self.plan = plan                  # chipmesh.Plan (report, devices, ...)
        self.graph_module = graph_module  # the traced module
        self.split = split                # GraphModule calling submod_0, submod_1, ...
        self.node_stage = node_stage      # FX node name -> stage
        self.module_stage = module_stage  # module path -> sorted stages
        self.stages = [getattr(split, name) for name, _ in split.named_children()
                       if name.startswith("submod_")]

    def __call__(self, *inputs):
        return self.split(*inputs)

    def __repr__(self):
        return "<chipmesh.torch.TorchPlan %s, %d stages>" % (self.plan.strategy, len(self.stages))


def _stages_of_nodes(graph_module, plan):
    """Each FX node's stage: the stage of the last op located at it; nodes
    without ops (views, dropout) follow their inputs, and no node runs
    before an input it needs."""
    placed = {}
    for name, placement in plan.placements:
        if name and placement:
            placed[name] = placement["stages"][-1]
    stage = {}
    for node in graph_module.graph.nodes:
        if node.op in ("placeholder", "get_attr", "output"):
            continue
        inputs = [stage[n] for n in node.all_input_nodes if n in stage]
        earliest = max(inputs) if inputs else 0
        stage[node] = max(placed.get(node.name, earliest), earliest)
    return stage


def partition(module, example_inputs, mesh, **options):
    """Imports `module` at `example_inputs`, partitions it over `mesh` with
    the --chipmesh-partition options, and splits it into stages."""
    if not isinstance(example_inputs, (tuple, list)):
        example_inputs = (example_inputs,)
    model, graph_module = _fx.import_module(module, example_inputs)
    options.setdefault("mode", "infer")
    plan = _partition(model, mesh, **options)
    stage = _stages_of_nodes(graph_module, plan)
    if not stage:
        raise Error("the module has no operations to place")
    # split_module names partitions by the callback's value; keep them dense.
    used = sorted(set(stage.values()))
    dense = {s: i for i, s in enumerate(used)}
    split = split_module(graph_module, module, lambda node: dense[stage[node]])
    node_stage = {node.name: s for node, s in stage.items()}
    module_stage = {}
    for node, s in stage.items():
        path = node.target if node.op == "call_module" else node.meta.get("chipmesh_module", "")
        while path:
            module_stage.setdefault(path, set()).add(s)
            path = path.rpartition(".")[0]
    module_stage = {k: sorted(v) for k, v in module_stage.items()}
    return TorchPlan(plan, graph_module, split, node_stage, module_stage)


# ---------------------------------------------------------------------------
# Running a plan on torch.distributed (one process per device)
# ---------------------------------------------------------------------------
