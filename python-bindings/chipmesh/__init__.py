"""ChipMesh from Python: models and meshes, estimate, partition, materialize.

    import chipmesh
    model = chipmesh.import_hf_config("examples/models/gpt2.json", batch=8, seq_len=1024)
    mesh = chipmesh.Mesh.node("h100-sxm", 8)
    plan = chipmesh.partition(model, mesh, batch=32)
    print(plan.strategy, plan.step_time_s)
    programs = chipmesh.materialize(plan)

Every call runs the same passes as chipmesh-opt with the same options;
a failure raises chipmesh.Error with the diagnostics chipmesh-opt would
print.
"""

from ._chipmesh import Error
from .core import Module, load, parse, import_hf_config, catalog_chips, catalog_links
from .mesh import Mesh
from .plan import (Plan, Stage, Device, estimate, partition, materialize,
                   verify_plan, export_shard)

__all__ = [
    "Error", "Module", "load", "parse", "import_hf_config", "catalog_chips",
    "catalog_links", "Mesh", "Plan", "Stage", "Device", "estimate",
    "partition", "materialize", "verify_plan", "export_shard",
]
