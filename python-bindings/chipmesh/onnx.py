"""Kept for existing imports: the ONNX importer is chipmesh.importers.onnx."""

from .importers.onnx import import_model

__all__ = ["import_model"]
