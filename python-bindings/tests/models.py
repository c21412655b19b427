"""Models shared by the distributed tests and their single-process references."""

import torch
import torch.nn as nn
import torchvision

from test_torch import SmallGPT


class TokenLoss(nn.Module):
    """Summed cross-entropy over every token (reduction='sum')."""

    def forward(self, logits, labels):
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                           labels.reshape(-1), reduction="sum")


def build(name):
    """(module, inputs, targets, summed loss, chips of the mesh)."""
    torch.manual_seed(0)
    if name == "mlp":
        net = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                            nn.Linear(64, 4))
        return net, torch.randn(16, 16), torch.randint(0, 4, (16,)), \
            nn.CrossEntropyLoss(reduction="sum"), 4
    if name == "gpt-tp":
        net = SmallGPT(vocab=64, seq=8, dim=32, heads=4, layers=2)
        ids = torch.randint(0, 64, (8, 8))
        return net, ids, torch.randint(0, 64, (8, 8)), TokenLoss(), 4
    if name == "gpt":
        net = SmallGPT(vocab=64, seq=8, dim=32, heads=4, layers=2)
        ids = torch.randint(0, 64, (8, 8))
        return net, ids, torch.randint(0, 64, (8, 8)), TokenLoss(), 2
    if name == "resnet18":
        # Frozen BatchNorm statistics (eval mode): micro-batching must not
        # change what a step computes.
        net = torchvision.models.resnet18(num_classes=10).eval()
        return net, torch.randn(4, 3, 32, 32), torch.randint(0, 10, (4,)), \
            nn.CrossEntropyLoss(reduction="sum"), 2
    raise ValueError(name)
