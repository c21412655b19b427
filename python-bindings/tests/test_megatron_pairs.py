"""Which Linears the torch runtime pairs column-then-row (Megatron-LM) under
tensor parallelism: only where the first's output reaches the second alone,
through per-feature ops."""

import torch
import torch.fx
import torch.nn as nn

from chipmesh.torch import _megatron_pairs
from test_torch import SmallGPT


def pairs_of(module):
    return _megatron_pairs(torch.fx.symbolic_trace(module))


def test_transformer_mlp_pairs_and_attention_does_not():
    # up -> GELU -> down pairs in every block; q, k, v feed reshapes and
    # matmuls, proj feeds a residual add, head is last: none of them pairs.
    assert pairs_of(SmallGPT(vocab=16, seq=4, dim=8, heads=2, layers=2)) == {
        "blocks.0.up": "blocks.0.down", "blocks.1.up": "blocks.1.down"}


def test_a_chain_pairs_greedily_in_order():
    # fc1 -> ReLU -> fc2 pairs; fc2 is taken, so fc2 -> fc3 does not; fc3
    # -> tanh -> fc4 pairs (functional ops count as per-feature too).
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(4, 8), nn.Linear(8, 8)
            self.fc3, self.fc4 = nn.Linear(8, 6), nn.Linear(6, 2)

        def forward(self, x):
            x = self.fc2(torch.relu(self.fc1(x)))
            return self.fc4(torch.tanh(self.fc3(x)))

    assert pairs_of(Net()) == {"fc1": "fc2", "fc3": "fc4"}


def test_no_pair_when_features_mix_or_the_value_is_used_twice():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 8)
            self.norm = nn.LayerNorm(8)
            self.c, self.d = nn.Linear(8, 8), nn.Linear(8, 4)

        def forward(self, x):
            # LayerNorm mixes features: a's block cannot pass through it.
            y = self.norm(self.a(x))
            # c's output is also added to the result: it must be whole.
            z = self.c(y)
            return self.d(torch.relu(z)) + z.sum(-1, keepdim=True)

    assert pairs_of(Net()) == {}


def test_a_gated_mlp_is_not_paired():
    # relu(a(x)) * gate(x) (a SwiGLU-like gate) mixes in another tensor, so
    # the detector does not pair it; both a and gate gather instead.
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(4, 8), nn.Linear(8, 2)
            self.gate = nn.Linear(4, 8)

        def forward(self, x):
            return self.b(torch.nn.functional.relu(self.a(x)) * self.gate(x))

    assert pairs_of(Net()) == {}
