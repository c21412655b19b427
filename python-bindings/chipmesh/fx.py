"""Kept for existing imports: the FX importer is chipmesh.importers.fx."""

from .importers.fx import import_module, trace

__all__ = ["import_module", "trace"]
