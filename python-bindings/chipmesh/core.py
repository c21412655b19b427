"""Modules: parse, load, import, print; the catalog."""

import json
import os

from . import _chipmesh
from ._chipmesh import Error


class Module:
    """An MLIR module (a model, a mesh, a partitioned or materialized
    program) in ChipMesh's context."""

    def __init__(self, native):
        self._native = native

    @property
    def text(self):
        return str(self._native)

    def __str__(self):
        return self.text

    def __repr__(self):
        return "<chipmesh.Module functions=%s>" % self.functions

    @property
    def functions(self):
        return list(self._native.functions())

    def attribute(self, name):
        """A module attribute (such as 'chipmesh.plan') as Python data."""
        return self._native.attribute(name)

    def clone(self):
        return Module(self._native.clone())

    def run(self, pipeline):
        """Runs a pass pipeline in place, e.g.
        'chipmesh-partition{mesh=@m},chipmesh-materialize'. Returns the
        warnings it printed; raises Error on failure."""
        return self._native.run(pipeline)

    def placements(self, func):
        """(name, placement) per top-level op of `func`."""
        return list(self._native.placements(func))


def parse(text, name="<string>"):
    """Parses MLIR text; raises Error with located diagnostics."""
    return Module(_chipmesh.Module.parse(text, name))


def load(path):
    """Parses an .mlir file."""
    with open(path) as f:
        return parse(f.read(), os.fspath(path))


def import_hf_config(config, batch=1, seq_len=0, mode="train", kv_cache=0,
                     flash_attention=True, dtype=""):
    """A Hugging Face config.json (a path or a dict) as a graph model, as
    chipmesh-translate --import-hf-config does."""
    if isinstance(config, dict):
        text, name = json.dumps(config), "<config>"
    else:
        with open(config) as f:
            text, name = f.read(), os.fspath(config)
    return Module(_chipmesh.Module.import_hf_config(
        text, name, int(batch), int(seq_len), mode, int(kv_cache),
        bool(flash_attention), dtype))


def catalog_chips():
    """The built-in chips: id, name, vendor, peaks per data type, memory,
    bandwidth, scale-up link, TDP and sources."""
    return list(_chipmesh.catalog_chips())


def catalog_links():
    """The built-in links: id, technology, bytes/s per direction, latency."""
    return list(_chipmesh.catalog_links())
