"""Estimate, partition, materialize and verify, with the passes' options.

Keyword options are the pass options with '-' written '_'
(micro_batch=4 is micro-batch=4); True/False become true/false and lists
are joined with commas.
"""

import dataclasses
import json
import os
import tempfile
from typing import List, Optional

from .core import Module, Error
from .mesh import Mesh


def _format(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_format(v) for v in value)
    text = str(value)
    if not text or any(c in text for c in " {}'\""):
        raise Error("option value %r cannot be passed to a pass" % (value,))
    return text


def _pipeline(pass_name, options):
    parts = ["%s=%s" % (k.replace("_", "-"), _format(v))
             for k, v in options.items() if v is not None]
    return "%s{%s}" % (pass_name, " ".join(parts)) if parts else pass_name


class _Scratch:
    """A temporary directory for the files passes read and write."""

    def __enter__(self):
        self._dir = tempfile.TemporaryDirectory(prefix="chipmesh-")
        return self

    def __exit__(self, *exc):
        self._dir.cleanup()

    def path(self, name):
        return os.path.join(self._dir.name, name)

    def mesh_option(self, mesh):
        """A Mesh goes to a file; a string names a mesh in the module
        ('@m') or a file."""
        if mesh is None or isinstance(mesh, str):
            return mesh
        if not isinstance(mesh, Mesh):
            raise Error("mesh must be a chipmesh.Mesh or a string, got %r" % (mesh,))
        path = self.path("mesh.mlir")
        with open(path, "w") as f:
            f.write(mesh.text)
        return path


def _model(model):
    if not isinstance(model, Module):
        raise Error("expected a chipmesh.Module, got %r" % (model,))
    return model.clone()


def estimate(model, mesh=None, **options):
    """--chipmesh-estimate: the whole model on one chip of each kind of the
    mesh (or of the catalog). Returns the JSON report as a dict."""
    work = _model(model)
    with _Scratch() as scratch:
        out = scratch.path("estimate.json")
        opts = dict(options, mesh=scratch.mesh_option(mesh), output=out,
                    format="json", annotate=options.get("annotate", False))
        work.run(_pipeline("chipmesh-estimate", opts))
        with open(out) as f:
            return json.load(f)


@dataclasses.dataclass
class Device:
    name: str
    kind: str
    stage: int
    replica: int
    tp_rank: int
    share: float
    compute_s: float
    comm_s: float
    idle_s: float
    memory_bytes: float
    memory_capacity_bytes: float


@dataclasses.dataclass
class Stage:
    index: int
    layers: List[int]          # [first, end) of the expanded layers
    devices: List[List[str]]   # per replica, the tensor-parallel group
    shares: List[List[float]]
    # Its recomputation when chosen per stage (recompute="auto"), else "".
    recompute: str = ""


@dataclasses.dataclass
class Plan:
    """What --chipmesh-partition decided, as Python data."""
    dp: int
    pp: int
    tp: int
    schedule: str
    micro_batch: int
    replica_micro_batches: List[int]
    stages: List[Stage]
    devices: List[Device]
    step_time_s: float
    samples_per_s: float
    tokens_per_s: float
    lower_bound_s: float
    report: dict                 # the full JSON report
    module: Module = dataclasses.field(repr=False)  # the partitioned module
    placements: list = dataclasses.field(default_factory=list, repr=False)
    # Chips the plan leaves out (device paths) and why; see use_all_chips.
    idle_chips: List[str] = dataclasses.field(default_factory=list)
    idle_reason: str = ""

    @property
    def strategy(self):
        return "dp=%d pp=%d tp=%d" % (self.dp, self.pp, self.tp)

    @property
    def zero(self):
        """ZeRO stage of the data-parallel groups (0: replicated state)."""
        return self.report.get("zero", 0)

    @property
    def virtual_stages(self):
        """Model chunks per pipeline device (interleaved 1F1B); 1 otherwise."""
        return self.report.get("virtual_stages", 1)


def partition(model, mesh, **options):
    """--chipmesh-partition over `mesh`. Returns a Plan; plan.module is the
    partitioned model (with the mesh in it)."""
    work = _model(model)
    with _Scratch() as scratch:
        report_path = scratch.path("report.json")
        opts = dict(options, mesh=scratch.mesh_option(mesh), report=report_path)
        work.run(_pipeline("chipmesh-partition", opts))
        with open(report_path) as f:
            report = json.load(f)
    strategy = report["strategy"]
    stages = [Stage(s["stage"], s["layers"], s["devices"], s["shares"],
                    s.get("recompute", ""))
              for s in report["stages"]]
    devices = [Device(d["device"], d["kind"], d["stage"], d["replica"],
                      d["tp_rank"], d["share"], d["compute_s"], d["comm_s"],
                      d["idle_s"], d["memory_bytes"], d["memory_capacity_bytes"])
               for d in report["devices"]]
    throughput = report.get("throughput", {})
    return Plan(dp=strategy["dp"], pp=strategy["pp"], tp=strategy["tp"],
                schedule=report["schedule"], micro_batch=report["micro_batch"],
                replica_micro_batches=report["replica_micro_batches"],
                stages=stages, devices=devices,
                step_time_s=report["step_time_s"],
                samples_per_s=throughput.get("samples_per_s", 0.0),
                tokens_per_s=throughput.get("tokens_per_s", 0.0),
                lower_bound_s=report["lower_bound_s"], report=report,
                module=work, placements=work.placements(report["func"]),
                idle_chips=[d["device"] for d in report.get("idle_chips", [])],
                idle_reason=report.get("idle_reason", ""))


def _partitioned(plan_or_module):
    if isinstance(plan_or_module, Plan):
        return plan_or_module.module.clone()
    return _model(plan_or_module)


def materialize(plan_or_module, verify=True):
    """--chipmesh-materialize (and --chipmesh-verify-plan unless
    verify=False): the module with one program per device."""
    work = _partitioned(plan_or_module)
    work.run("chipmesh-materialize" + (",chipmesh-verify-plan" if verify else ""))
    return work


def verify_plan(programs):
    """--chipmesh-verify-plan on a materialized module; raises Error with
    the violation, returns the summary line otherwise."""
    work = _model(programs)
    # The summary goes to the process's stdout from C++; run it quietly and
    # rebuild the facts from the module instead.
    work.run("chipmesh-verify-plan")
    return "verified: %d device programs" % sum(
        1 for f in work.functions if "_dev" in f and not f.endswith("_stage"))


def export_shard(plan_or_module):
    """--chipmesh-export-shard: a standalone module with a shard.grid and a
    shard-annotated linalg function per uniform tensor-parallel stage, for
    upstream shard-partition."""
    work = _partitioned(plan_or_module)
    with _Scratch() as scratch:
        out = scratch.path("shard.mlir")
        work.run(_pipeline("chipmesh-export-shard", {"output": out}))
        with open(out) as f:
            text = f.read()
    from .core import parse
    return parse(text, "<export-shard>")
