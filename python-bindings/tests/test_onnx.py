"""The ONNX importer: torch-exported models, names kept, clear errors."""

import io

import onnx
import pytest
import torch
import torch.nn as nn
import torchvision
from onnx import helper, TensorProto

import chipmesh
import chipmesh.importers.onnx


def export(net, x):
    buffer = io.BytesIO()
    torch.onnx.export(net.eval(), (x,), buffer, opset_version=13,
                      input_names=["x"], output_names=["y"])
    return onnx.load_from_string(buffer.getvalue())


def parameters(module):
    return sum(p.numel() for p in module.parameters())


def summary(model):
    import json, tempfile, os
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "s.json")
        model.clone().run("chipmesh-summary{output=%s}" % out)
        return json.load(open(out))


def test_mlp_imports_with_exact_parameters_and_partitions():
    net = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10))
    model = chipmesh.importers.onnx.import_model(export(net, torch.randn(4, 32)))
    assert summary(model)["parameters"] == parameters(net)
    plan = chipmesh.partition(model, chipmesh.Mesh.node("h100-sxm", 2),
                              mode="infer", strategy="dp=1,pp=2,tp=1")
    names = [name for name, placement in plan.placements if placement]
    assert any(name.startswith("/0/Gemm") or name.endswith("Gemm") for name in names), names


@pytest.mark.parametrize("name", ["resnet18", "alexnet", "squeezenet1_0"])
def test_torchvision_through_onnx(name):
    net = getattr(torchvision.models, name)()
    size = 224 if name == "alexnet" else 64
    model = chipmesh.importers.onnx.import_model(export(net, torch.randn(1, 3, size, size)))
    s = summary(model)
    # Batch norm folds into the convolutions on export; the weights remain.
    assert s["parameters"] <= parameters(net) and s["forward_flops"] > 0
    plan = chipmesh.partition(model, chipmesh.Mesh.node("a100-sxm-80gb", 2),
                              mode="infer", strategy="dp=1,pp=2,tp=1")
    assert plan.pp == 2


def test_unsupported_op_names_op_and_node():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])
    graph = helper.make_graph([helper.make_node("Erf", ["x"], ["y"], name="erf_1")],
                              "g", [x], [y])
    with pytest.raises(chipmesh.Error, match=r"unsupported op 'Erf' at node 'erf_1' \(node 0 of graph 'g'\)"):
        chipmesh.importers.onnx.import_model(helper.make_model(graph))


def test_dynamic_input_is_refused():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="r")], "g", [x], [y])
    with pytest.raises(chipmesh.Error, match="graph input 'x' has a dynamic shape"):
        chipmesh.importers.onnx.import_model(helper.make_model(graph))
