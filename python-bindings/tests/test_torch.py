"""FX import and the torch backend: plans map back to nodes and modules,
and the split stages compute what the module computes."""

import math

import pytest
import torch
import torch.nn as nn
import torchvision

import chipmesh
import chipmesh.importers.fx
import chipmesh.torch

torch.manual_seed(0)

MIXED = chipmesh.Mesh.cluster([("h100-sxm", 2), ("a100-sxm-80gb", 2)], network="roce-200g")

# fp32 CPU; the same ops in the same order, so only reassociation inside
# split boundaries could differ (it does not): tight tolerances.
ATOL, RTOL = 1e-5, 1e-5


class SmallGPT(nn.Module):
    """A decoder-only transformer with the ops real ones use: embeddings,
    pre-norm attention with a causal additive mask, GELU MLP, tied head."""

    def __init__(self, vocab=96, seq=16, dim=64, heads=4, layers=3):
        super().__init__()
        self.heads, self.dim, self.seq = heads, dim, seq
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.randn(seq, dim) * 0.02)
        mask = torch.full((seq, seq), float("-inf")).triu(1)
        self.register_buffer("mask", mask)
        self.blocks = nn.ModuleList()
        for _ in range(layers):
            self.blocks.append(nn.ModuleDict({
                "ln1": nn.LayerNorm(dim), "q": nn.Linear(dim, dim),
                "k": nn.Linear(dim, dim), "v": nn.Linear(dim, dim),
                "proj": nn.Linear(dim, dim), "ln2": nn.LayerNorm(dim),
                "up": nn.Linear(dim, 4 * dim), "act": nn.GELU(),
                "down": nn.Linear(4 * dim, dim)}))
        self.ln_f = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab, bias=False)

    def forward(self, ids):
        s, h, d = self.seq, self.heads, self.dim // self.heads
        x = self.tok(ids) + self.pos
        for blk in self.blocks:
            n = blk["ln1"](x)
            q = blk["q"](n).view(-1, s, h, d).transpose(1, 2)
            k = blk["k"](n).view(-1, s, h, d).transpose(1, 2)
            v = blk["v"](n).view(-1, s, h, d).transpose(1, 2)
            att = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(d))
            att = torch.softmax(att + self.mask, dim=-1)
            y = torch.matmul(att, v).transpose(1, 2).reshape(-1, s, self.dim)
            x = x + blk["proj"](y)
            x = x + blk["down"](blk["act"](blk["up"](blk["ln2"](x))))
        return self.head(self.ln_f(x))


def mlp():
    return nn.Sequential(nn.Linear(32, 128), nn.ReLU(), nn.Linear(128, 128),
                         nn.ReLU(), nn.Linear(128, 10))


def mixed_mesh(chips):
    """H100s and A100s (the A100s slower), half each, on 200 Gb/s RoCE."""
    nodes = [("h100-sxm", (chips + 1) // 2)]
    if chips > 1:
        nodes.append(("a100-sxm-80gb", chips // 2))
    return chipmesh.Mesh.cluster(nodes, network="roce-200g")


def check_split(net, x, stages):
    mesh = mixed_mesh(stages)
    net = net.eval()
    plan = chipmesh.torch.partition(net, (x,), mesh,
                                    strategy="dp=1,pp=%d,tp=1" % stages)
    assert len(plan.stages) == stages, plan
    with torch.no_grad():
        expected, got = net(x), plan(x)
    assert torch.allclose(got, expected, atol=ATOL, rtol=RTOL), \
        (got - expected).abs().max()
    return plan


def test_mlp_splits_into_pipeline_stages():
    plan = check_split(mlp(), torch.randn(8, 32), stages=3)
    # Every FX node has a stage, stages never go backwards.
    order = [plan.node_stage[n.name] for n in plan.graph_module.graph.nodes
             if n.name in plan.node_stage]
    assert order == sorted(order)
    assert plan.plan.pp == 3


def test_small_gpt_splits_and_maps_back():
    net = SmallGPT()
    ids = torch.randint(0, 96, (4, 16))
    plan = check_split(net, ids, stages=4)
    # The plan names FX nodes and module paths.
    assert plan.node_stage["tok"] == 0
    assert plan.node_stage["head"] == 3
    assert plan.module_stage["blocks"] == sorted(set(plan.module_stage["blocks"]))
    # The graph model carries the framework's weight names.
    model, _ = chipmesh.importers.fx.import_module(net, (ids,))
    assert 'graph.param "blocks.0.q.weight" : tensor<64x64xf32>' in model.text
    assert 'graph.param "mask"' in model.text


@pytest.mark.parametrize("name,size", [
    ("resnet18", 64), ("resnet50", 64), ("alexnet", 224), ("squeezenet1_0", 96),
    ("densenet121", 64), ("googlenet", 64), ("regnet_x_400mf", 64),
    ("mnasnet0_5", 64)])
def test_torchvision_models(name, size):
    net = getattr(torchvision.models, name)()
    check_split(net, torch.randn(2, 3, size, size), stages=4)


def test_unsupported_op_names_op_node_and_module():
    net = torchvision.models.mobilenet_v2()
    with pytest.raises(chipmesh.Error,
                       match=r"unsupported op 'ReLU6' at node 'features_0_2' \(module path 'features.0.2'\)"):
        chipmesh.importers.fx.import_module(net, (torch.randn(1, 3, 64, 64),))


def test_untraceable_module_is_an_error():
    class Branchy(nn.Module):
        def forward(self, x):
            return x if x.sum() > 0 else -x
    with pytest.raises(chipmesh.Error, match="torch.fx cannot trace Branchy"):
        chipmesh.importers.fx.import_module(Branchy(), (torch.randn(2, 2),))


def test_plan_is_deterministic():
    net, x = mlp(), torch.randn(8, 32)
    a = chipmesh.torch.partition(net, (x,), MIXED)
    b = chipmesh.torch.partition(net, (x,), MIXED)
    assert a.plan.report == b.plan.report and a.node_stage == b.node_stage
