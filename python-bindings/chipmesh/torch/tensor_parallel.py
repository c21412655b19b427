"""chipmesh.torch.tensor_parallel: Megatron-LM's column and row parallel
linears in the plan's uneven shares, and the pairs of linears that split
column then row."""

import torch
import torch.distributed as _dist

from .timing import _clock


class _CopyToGroup(torch.autograd.Function):
    """Identity forward; backward sums the input gradient over the group
    (each member's columns contributed a part of it)."""

    @staticmethod
    def forward(ctx, x, group):
        ctx.group = group
        return x

    @staticmethod
    def backward(ctx, grad):
        grad = grad.contiguous().clone()
        _clock(_dist.all_reduce, grad, group=ctx.group)
        return grad, None


class _GatherColumns(torch.autograd.Function):
    """All-gather of uneven column blocks along the last dimension (padded
    to the largest, as gloo gathers equal sizes); backward keeps this
    member's block of the (replicated) gradient."""

    @staticmethod
    def forward(ctx, y, sizes, rank, group):
        ctx.lo, ctx.n = sum(sizes[:rank]), sizes[rank]
        width = max(sizes)
        padded = torch.nn.functional.pad(y, (0, width - y.shape[-1])).contiguous()
        parts = [torch.empty_like(padded) for _ in sizes]
        _clock(_dist.all_gather, parts, padded, group=group)
        return torch.cat([p[..., :n] for p, n in zip(parts, sizes)], dim=-1)

    @staticmethod
    def backward(ctx, grad):
        return grad[..., ctx.lo:ctx.lo + ctx.n].contiguous(), None, None, None


class _SumOverGroup(torch.autograd.Function):
    """All-reduce (sum) of the members' partial results; backward is the
    identity (every member's part gets the whole, replicated gradient)."""

    @staticmethod
    def forward(ctx, y, group):
        y = y.contiguous().clone()
        _clock(_dist.all_reduce, y, group=group)
        return y

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class _ColumnParallelLinear(torch.nn.Module):
    """A Linear whose output features are split over a tensor-parallel group
    in uneven, speed-proportional blocks. Alone, it gathers the full output;
    as the first of a Megatron pair (`gather=False`), it keeps its block."""

    def __init__(self, linear, sizes, rank, group, gather=True):
        super().__init__()
        lo, n = sum(sizes[:rank]), sizes[rank]
        self.sizes, self.rank, self.group, self.gather = sizes, rank, group, gather
        self.offset = lo
        self.weight = torch.nn.Parameter(linear.weight.detach()[lo:lo + n].clone())
        self.bias = (torch.nn.Parameter(linear.bias.detach()[lo:lo + n].clone())
                     if linear.bias is not None else None)

    def forward(self, x):
        x = _CopyToGroup.apply(x, self.group)
        y = torch.nn.functional.linear(x, self.weight, self.bias)
        return _GatherColumns.apply(y, self.sizes, self.rank, self.group) if self.gather else y


class _RowParallelLinear(torch.nn.Module):
    """The second Linear of a Megatron pair: its input features are split in
    the same blocks as the first one's outputs, each member multiplies its
    block, and one all-reduce sums the parts. The bias is whole on every
    member and added once, after the sum."""

    def __init__(self, linear, sizes, rank, group):
        super().__init__()
        lo, n = sum(sizes[:rank]), sizes[rank]
        self.group, self.offset = group, lo
        self.weight = torch.nn.Parameter(linear.weight.detach()[:, lo:lo + n].clone())
        self.bias = (torch.nn.Parameter(linear.bias.detach().clone())
                     if linear.bias is not None else None)

    def forward(self, x):
        y = _SumOverGroup.apply(torch.nn.functional.linear(x, self.weight), self.group)
        return y + self.bias if self.bias is not None else y


# Ops that act on each feature alone, so a block of columns passes through
# them unchanged in layout: what may sit between the two Linears of a pair.
_COLUMNWISE_MODULES = (torch.nn.ReLU, torch.nn.GELU, torch.nn.SiLU, torch.nn.Tanh,
                       torch.nn.Sigmoid, torch.nn.LeakyReLU, torch.nn.ELU, torch.nn.Identity)
_COLUMNWISE_FUNCTIONS = {torch.relu, torch.tanh, torch.sigmoid, torch.nn.functional.relu,
                         torch.nn.functional.gelu, torch.nn.functional.silu,
                         torch.nn.functional.leaky_relu, torch.nn.functional.elu}
_COLUMNWISE_METHODS = {"relu", "tanh", "sigmoid"}


def _columnwise(module, node, source):
    """Whether `node` applies a per-feature op to `source` and nothing else."""
    if not node.args or node.args[0] is not source:
        return False
    others = list(node.args[1:]) + list(node.kwargs.values())
    if any(isinstance(a, torch.fx.Node) for a in others):
        return False
    if node.op == "call_module":
        return isinstance(module.get_submodule(node.target), _COLUMNWISE_MODULES)
    if node.op == "call_function":
        return node.target in _COLUMNWISE_FUNCTIONS
    return node.op == "call_method" and node.target in _COLUMNWISE_METHODS


def _megatron_pairs(module):
    """{first Linear path: second Linear path} for every Linear whose output
    feeds, only through per-feature ops and used nowhere else, exactly one
    Linear that takes all of its features: the column-then-row pairing of
    Megatron-LM (a transformer's MLP), one all-reduce instead of gathers."""
    if not isinstance(module, torch.fx.GraphModule):
        return {}

    def linear(node):
        return node.op == "call_module" and \
            isinstance(module.get_submodule(node.target), torch.nn.Linear)

    pairs, taken = {}, set()
    for node in module.graph.nodes:
        if not linear(node) or node.target in taken:
            continue
        current = node
        while len(current.users) == 1:
            user = next(iter(current.users))
            if linear(user) and user.args == (current,) and not user.kwargs:
                first, second = (module.get_submodule(n.target) for n in (node, user))
                if second.in_features == first.out_features and user.target not in taken:
                    pairs[node.target] = user.target
                    taken.update((node.target, user.target))
                break
            if not _columnwise(module, user, current):
                break
            current = user
    return pairs
