"""The framework backend: partition an nn.Module, get it back in stages.

    plan = chipmesh.torch.partition(net, (x,), chipmesh.Mesh.node("h100-sxm", 4))
    plan.node_stage["fc"]         # the pipeline stage of FX node 'fc'
    plan.module_stage["layer3"]   # the stages a submodule runs on
    y = plan(x)                   # the stages one after another, on CPU

The model is imported through FX (chipmesh.fx), partitioned by
--chipmesh-partition with the given options (mode defaults to infer), and
the traced GraphModule is split with torch.fx's split_module at the
plan's stage boundaries: submodule i is stage i.
"""

import torch
from torch.fx.passes.split_module import split_module

from . import _chipmesh as _native
from . import fx as _fx
from .core import Error
from .plan import partition as _partition


class TorchPlan:
    """A plan mapped back to an nn.Module."""

    def __init__(self, plan, graph_module, split, node_stage, module_stage):
        self.plan = plan                  # chipmesh.Plan (report, devices, ...)
        self.graph_module = graph_module  # the traced module
        self.split = split                # GraphModule calling submod_0, submod_1, ...
        self.node_stage = node_stage      # FX node name -> stage
        self.module_stage = module_stage  # module path -> sorted stages
        self.stages = [getattr(split, name) for name, _ in split.named_children()
                       if name.startswith("submod_")]

    def __call__(self, *inputs):
        return self.split(*inputs)

    def __repr__(self):
        return "<chipmesh.torch.TorchPlan %s, %d stages>" % (self.plan.strategy, len(self.stages))


def _stages_of_nodes(graph_module, plan):
    """Each FX node's stage: the stage of the last op located at it; nodes
    without ops (views, dropout) follow their inputs, and no node runs
    before an input it needs."""
    placed = {}
    for name, placement in plan.placements:
        if name and placement:
            placed[name] = placement["stages"][-1]
    stage = {}
    for node in graph_module.graph.nodes:
        if node.op in ("placeholder", "get_attr", "output"):
            continue
        inputs = [stage[n] for n in node.all_input_nodes if n in stage]
        earliest = max(inputs) if inputs else 0
        stage[node] = max(placed.get(node.name, earliest), earliest)
    return stage


def partition(module, example_inputs, mesh, **options):
    """Imports `module` at `example_inputs`, partitions it over `mesh` with
    the --chipmesh-partition options, and splits it into stages."""
    if not isinstance(example_inputs, (tuple, list)):
        example_inputs = (example_inputs,)
    model, graph_module = _fx.import_module(module, example_inputs)
    options.setdefault("mode", "infer")
    plan = _partition(model, mesh, **options)
    stage = _stages_of_nodes(graph_module, plan)
    if not stage:
        raise Error("the module has no operations to place")
    # split_module names partitions by the callback's value; keep them dense.
    used = sorted(set(stage.values()))
    dense = {s: i for i, s in enumerate(used)}
    split = split_module(graph_module, module, lambda node: dense[stage[node]])
    node_stage = {node.name: s for node, s in stage.items()}
    module_stage = {}
    for node, s in stage.items():
        path = node.target if node.op == "call_module" else node.meta.get("chipmesh_module", "")
        while path:
            module_stage.setdefault(path, set()).add(s)
            path = path.rpartition(".")[0]
    module_stage = {k: sorted(v) for k, v in module_stage.items()}
    return TorchPlan(plan, graph_module, split, node_stage, module_stage)


# ---------------------------------------------------------------------------
# Running a plan on torch.distributed (one process per device)
# ---------------------------------------------------------------------------

import operator as _operator

import torch.distributed as _dist

import datetime as _datetime
import hmac as _hmac
import math as _math
import os as _os

# The store token chipmesh.launch gives every rank (launch.TOKEN_ENV) and
# writes to its store (launch.TOKEN_KEY).
_TOKEN_ENV, _TOKEN_KEY = "CHIPMESH_STORE_TOKEN", "chipmesh/token"
_verified_store = None


def verify_store(timeout=30.0):
    """Checks that the rendezvous store at MASTER_ADDR:MASTER_PORT is this
    job's chipmesh.launch store: it must hold "chipmesh/token" equal to
    $CHIPMESH_STORE_TOKEN. Returns True when checked (once per process),
    False when this process was not started by chipmesh.launch (no token in
    its environment: nothing to check); raises Error, naming the store,
    otherwise. torch 1.13's TCPStore has no authentication: this proves the
    store is the launcher's, it cannot keep other clients of that store out
    (docs/robustness.md)."""
    global _verified_store
    token = _os.environ.get(_TOKEN_ENV)
    if token is None:
        return False
    addr, port = _os.environ.get("MASTER_ADDR"), _os.environ.get("MASTER_PORT")
    where = "%s:%s" % (addr, port)
    if _verified_store == (addr, port, token):
        return True
    if not addr or not port or not port.isdigit():
        raise Error("%s is set but MASTER_ADDR/MASTER_PORT do not name a store (%s)"
                    % (_TOKEN_ENV, where))
    wait = _datetime.timedelta(seconds=timeout)
    try:
        store = _dist.TCPStore(addr, int(port), None, False, wait, wait_for_workers=False)
    except RuntimeError as e:
        raise Error("cannot reach the rendezvous store at %s: %s" % (where, e)) from None
    try:
        store.wait([_TOKEN_KEY], wait)
        held = store.get(_TOKEN_KEY)
    except RuntimeError:
        raise Error("the rendezvous store at %s holds no %s within %g s: it is not this "
                    "job's chipmesh.launch store; refusing to trust it"
                    % (where, _TOKEN_KEY, timeout)) from None
    finally:
        del store
    if not _hmac.compare_digest(bytes(held), token.encode()):
        raise Error("the rendezvous store at %s holds another job's %s (not this rank's "
                    "%s): it is not this job's chipmesh.launch store; refusing to trust it"
                    % (where, _TOKEN_KEY, _TOKEN_ENV))
    _verified_store = (addr, port, token)
    return True


def init_process_group(backend="gloo", **kwargs):
    """torch.distributed.init_process_group (env://), after verify_store:
    under chipmesh.launch a rank checks the store's token before it trusts
    any key the rendezvous reads."""
    verify_store()
    _dist.init_process_group(backend, **kwargs)

_BUCKET_BYTES = 25 * 2**20  # DDP's default gradient bucket

import collections as _collections
import time as _time

#: What run() returns on one rank: the model output (last stage, else
#: None), this rank's weights by name, and for tensor-parallel shards
#: {name: (dim, offset, whole extent)}.
RankResult = _collections.namedtuple("RankResult",
                                     ["output", "weights", "shards", "timing"])
# Measured seconds of this rank's last step: `step_s` (wall time from a
# common start); `idle_s`, waiting for a pipeline peer to reach its send
# (a one-element ready message goes ahead of every activation and
# gradient, and the wait for it is the idle time); `comm_s`, the rest of
# the time inside send/recv/collectives (a collective's wait for a late
# member included); `compute_s`, everything else.
Timing = _collections.namedtuple("Timing", ["step_s", "comm_s", "idle_s", "compute_s"])

# Tags of the ready messages: above the activations' (micro-batch index)
# and the gradients' (_GRAD_TAG + index).
_GRAD_TAG, _READY_TAG = 10_000_000, 20_000_000


class _CommClock:
    """Seconds spent inside communication calls, and waiting for peers."""

    def __init__(self):
        self.seconds = 0.0
        self.idle = 0.0
        self._token = torch.zeros(1)

    def __call__(self, fn, *args, **kwargs):
        start = _time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.seconds += _time.perf_counter() - start

    def announce(self, dst, tag):
        """Sends the ready message that precedes a payload to `dst`."""
        return _dist.isend(self._token, dst=dst, tag=_READY_TAG + tag)

    def await_peer(self, src, tag):
        """Waits for `src`'s ready message: the time is idle, not transfer."""
        start = _time.perf_counter()
        _dist.recv(torch.empty(1), src=src, tag=_READY_TAG + tag)
        self.idle += _time.perf_counter() - start


_clock = _CommClock()


class _Flow:
    """Which values of the split module go from which stage to which."""

    def __init__(self, split):
        self.graph = split.graph
        self.stage_of = {}       # node -> producing stage (-1: model input, -2: attribute)
        self.calls = {}          # stage -> call_module node
        for node in self.graph.nodes:
            if node.op == "placeholder":
                self.stage_of[node] = -1
            elif node.op == "get_attr":  # a weight or buffer read at the top level
                self.stage_of[node] = -2
            elif node.op == "call_module" and node.target.startswith("submod_"):
                stage = int(node.target[len("submod_"):])
                self.stage_of[node] = stage
                self.calls[stage] = node
            elif node.op == "call_function" and node.target is _operator.getitem:
                self.stage_of[node] = self.stage_of[node.args[0]]
            elif node.op == "output":
                self.output = node.args[0]
            else:
                raise Error("unexpected node %s in the split module" % node.format_node())
        self.stages = len(self.calls)
        # Transfers in one global order: (value, producer, consumer).
        self.transfers = []
        for stage in range(self.stages):
            for arg in self.calls[stage].args:
                producer = self.stage_of[arg]
                if producer not in (-1, -2, stage):
                    self.transfers.append((arg, producer, stage))


def _value(env, node):
    if node in env:  # produced here, or received
        return env[node]
    if node.op == "call_function":  # getitem of a stage's tuple
        return env[node.args[0]][node.args[1]]
    return env[node]


def _attribute(module, target):
    for part in target.split("."):
        module = getattr(module, part)
    return module


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


def run(tplan, inputs, targets=None, loss_fn=None, steps=1,
        optimizer=lambda params: torch.optim.SGD(params, lr=0.1), schedule=None):
    """Runs `tplan` in this process as one device of a torch.distributed job
    (started by chipmesh.launch; the process group must be initialized,
    gloo on CPU). Rank r*pp + s is replica r, stage s.

    Inference (`loss_fn` None): forward only; returns the model output on
    the rank of the last stage of each replica (its samples), else None.
    Training: `steps` steps of forward, backward (pipelined in the plan's
    schedule, several micro-batches), gradient all-reduce across replicas
    in 25 MiB buckets (as DDP) and `optimizer`. `loss_fn(output, target)`
    must sum over the micro-batch (reduction='sum'); the total is divided by
    the global batch, so gradients equal one process's mean loss.
    Tensor parallelism (tp > 1), in the plan's uneven shares: a Linear
    followed, through per-feature ops only, by a Linear that takes all its
    features is split column then row (Megatron-LM: one all-reduce forward,
    one backward); any other Linear is split by output features, gathered
    after, its input gradient summed over the group. Ranks are
    ((replica * pp) + stage) * tp + tp_rank. Returns a RankResult
    (output or None, weights by name, shards, Timing of the last step).
    """
    plan = tplan.plan
    if plan.virtual_stages != 1:
        raise Error("the plan interleaves %d model chunks per device "
                    "(virtual-stages); the runtime plays one stage per device: "
                    "partition with virtual-stages=1" % plan.virtual_stages)
    if plan.zero > 1:
        raise Error("the plan shards %s with ZeRO-%d; the runtime shards the "
                    "optimizer state only: partition with zero=0 or zero=1"
                    % ("gradients" if plan.zero == 2 else "gradients and weights",
                       plan.zero))
    flow = _Flow(tplan.split)
    pp, dp, tp = flow.stages, plan.dp, plan.tp
    for s_index, s_plan in enumerate(plan.stages):
        for group_devices in s_plan.devices:
            if len(group_devices) != tp:
                raise Error("stage %d has a tensor-parallel group of %d, not %d: "
                            "uneven group sizes are not supported" % (s_index, len(group_devices), tp))
        if any(sh != s_plan.shares[0] for sh in s_plan.shares):
            raise Error("replicas of stage %d split tensors differently; their "
                        "gradients cannot be summed shard by shard" % s_index)
    # A group set up by torch.distributed.init_process_group directly has
    # not checked its store yet: check before any step (once per process).
    verify_store()
    world, rank = _dist.get_world_size(), _dist.get_rank()
    if world != pp * dp * tp:
        raise Error("the plan needs %d processes (dp=%d x pp=%d x tp=%d), this job has %d"
                    % (pp * dp * tp, dp, pp, tp, world))
    micro, mb = plan.replica_micro_batches, plan.micro_batch
    batch = inputs[0].shape[0] if isinstance(inputs, (tuple, list)) else inputs.shape[0]
    if sum(micro) * mb != batch:
        raise Error("the plan's global batch is %d (%s micro-batches of %d), the inputs have %d"
                    % (sum(micro) * mb, "+".join(map(str, micro)), mb, batch))
    if not isinstance(inputs, (tuple, list)):
        inputs = (inputs,)
    replica, rest = divmod(rank, pp * tp)
    stage, trank = divmod(rest, tp)
    training = loss_fn is not None
    schedule = schedule or plan.schedule
    device = plan.stages[stage].devices[replica][trank]
    from .launch import describe_rank
    describe_rank(device, stage)
    module = tplan.stages[stage]
    names = {id(p): n for n, p in tplan.graph_module.named_parameters()}
    params = [p for p in module.parameters()]
    attribute_params = []
    # Weights the top level hands to stages (get_attr): each must belong to
    # one stage, which updates it.
    attributes = {}
    for s in range(pp):
        for arg in flow.calls[s].args:
            if flow.stage_of.get(arg) == -2:
                attributes.setdefault(arg, set()).add(s)
    for node, users in attributes.items():
        value = _attribute(tplan.split, node.target)
        if isinstance(value, torch.nn.Parameter):
            if len(users) > 1:
                raise Error("weight '%s' is used by stages %s; shared weights across "
                            "stages are not supported yet" % (node.target, sorted(users)))
            if stage in users:
                attribute_params.append(value)
    params += attribute_params
    # Every rank creates every group, in one order.
    dp_groups = {(s, t): _dist.new_group([(r * pp + s) * tp + t for r in range(dp)])
                 for s in range(pp) for t in range(tp)}
    tp_groups = {(r, s): _dist.new_group([(r * pp + s) * tp + t for t in range(tp)])
                 for r in range(dp) for s in range(pp)}
    first = sum(micro[:replica]) * mb
    placeholders = [n for n in flow.graph.nodes if n.op == "placeholder"]

    def micro_inputs(i):
        lo = first + i * mb
        env = {node: x[lo:lo + mb] for node, x in zip(placeholders, inputs)}
        for node in attributes:
            env[node] = _attribute(tplan.split, node.target)
        return env

    # Shapes of what crosses stages: one local dry run of micro-batch 0.
    with torch.no_grad():
        env = dict(micro_inputs(0))
        for s in range(pp):
            call = flow.calls[s]
            env[call] = getattr(tplan.split, call.target)(*[_value(env, a) for a in call.args])
        shapes = {v: (_value(env, v).shape, _value(env, v).dtype) for v, _, _ in flow.transfers}
        del env

    # Tensor parallelism, with the plan's uneven shares: a Megatron pair
    # (Linear, per-feature ops, Linear) splits the first by output features
    # and the second by input features in the same blocks, and sums once;
    # any other Linear keeps its block of output features and gathers.
    shards = {}
    if tp > 1:
        shares = plan.stages[stage].shares[replica]
        group = tp_groups[(replica, stage)]
        pairs = _megatron_pairs(module)
        seconds = {second: first for first, second in pairs.items()}
        for path, sub in list(module.named_modules()):
            if not isinstance(sub, torch.nn.Linear):
                continue
            if path in seconds:
                sizes = _native.apportion_shares(sub.in_features, shares)
                if sizes is None:
                    continue
                parallel = _RowParallelLinear(sub, sizes, trank, group)
                shard_dim, whole = 1, sub.in_features
            else:
                sizes = _native.apportion_shares(sub.out_features, shares)
                if sizes is None:
                    continue
                parallel = _ColumnParallelLinear(sub, sizes, trank, group,
                                                 gather=path not in pairs)
                shard_dim, whole = 0, sub.out_features
            name = names.get(id(sub.weight), path + ".weight")
            names[id(parallel.weight)] = name
            shards[name] = (shard_dim, parallel.offset, whole)
            if sub.bias is not None:
                bias_name = names.get(id(sub.bias), path + ".bias")
                names[id(parallel.bias)] = bias_name
                if shard_dim == 0:
                    shards[bias_name] = (0, parallel.offset, whole)
            parent, _, leaf = path.rpartition(".")
            setattr(module.get_submodule(parent) if parent else module, leaf, parallel)
        params = [p for p in module.parameters()] + attribute_params

    # ZeRO-1 (Megatron's distributed optimizer): each replica updates an
    # even slice of the stage's flat parameters and the replicas gather the
    # updated slices, so optimizer state exists once per data-parallel group.
    zero = None
    if training and params and plan.zero == 1 and dp > 1:
        dtypes = sorted({str(p.dtype) for p in params})
        if len(dtypes) != 1:
            raise Error("ZeRO-1 shards one flat buffer of the stage's parameters; "
                        "stage %d mixes %s" % (stage, ", ".join(dtypes)))
        total = sum(p.numel() for p in params)
        per = -(-total // dp)
        lo, hi = min(replica * per, total), min((replica + 1) * per, total)
        flat = torch.cat([p.detach().reshape(-1) for p in params])
        zero = (total, per, lo, hi, torch.nn.Parameter(flat[lo:hi].clone()))
        opt = optimizer([zero[4]])
    else:
        opt = optimizer(params) if training and params else None
    out = None
    timing = None
    for _ in range(steps):
        _dist.barrier()  # a common start, so idle time shows as waiting
        _clock.seconds = _clock.idle = 0.0
        start = _time.perf_counter()
        saved, outputs, pending = {}, [], []
        for backward, i in _native.schedule_order(schedule, training, pp, stage, micro[replica]):
            peer = lambda s: (replica * pp + s) * tp + trank
            if not backward:
                env = micro_inputs(i)
                for value, producer, consumer in flow.transfers:
                    if consumer == stage:
                        shape, dtype = shapes[value]
                        t = torch.empty(shape, dtype=dtype)
                        _clock.await_peer(peer(producer), i)
                        _clock(_dist.recv, t, src=peer(producer), tag=i)
                        if training and t.is_floating_point():
                            t.requires_grad_(True)
                        env[value] = t
                call = flow.calls[stage]
                args = [_value(env, a) for a in call.args]
                with torch.set_grad_enabled(training):
                    result = module(*args)
                env[call] = result
                for value, producer, consumer in flow.transfers:
                    if producer == stage:
                        pending.append(_clock.announce(peer(consumer), i))
                        pending.append(_dist.isend(_value(env, value).detach().contiguous(),
                                                   dst=peer(consumer), tag=i))
                final = flow.stage_of[flow.output] == stage and trank == 0
                if final:
                    outputs.append(_value(env, flow.output).detach())
                saved[i] = (env, args)
                continue
            env, args = saved.pop(i)
            roots, grads = [], []
            for value, producer, consumer in flow.transfers:
                if producer == stage:
                    g = torch.empty(shapes[value][0], dtype=shapes[value][1])
                    _clock.await_peer(peer(consumer), _GRAD_TAG + i)
                    _clock(_dist.recv, g, src=peer(consumer), tag=_GRAD_TAG + i)
                    roots.append(_value(env, value))
                    grads.append(g)
            if flow.stage_of[flow.output] == stage:
                lo = first + i * mb
                loss = loss_fn(_value(env, flow.output), targets[lo:lo + mb]) / batch
                roots.append(loss)
                grads.append(torch.ones_like(loss))
            if roots:
                torch.autograd.backward(roots, grads)
            for value, producer, consumer in flow.transfers:
                if consumer == stage:
                    t = env[value]
                    g = t.grad if t.grad is not None else torch.zeros_like(t)
                    pending.append(_clock.announce(peer(producer), _GRAD_TAG + i))
                    pending.append(_dist.isend(g.contiguous(), dst=peer(producer),
                                               tag=_GRAD_TAG + i))
        for handle in pending:
            _clock(handle.wait)
        if training and zero is not None:
            total, per, lo, hi, shard = zero
            group = dp_groups[(stage, trank)]
            flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
                              for p in params])
            # The gradients' reduce-scatter: gloo (torch 1.13) has none, so
            # all-reduce and keep this replica's slice.
            _clock(_dist.all_reduce, flat, group=group)
            shard.grad = flat[lo:hi].clone()
            opt.step()
            opt.zero_grad(set_to_none=False)
            mine = torch.zeros(per, dtype=flat.dtype)
            mine[:hi - lo] = shard.detach()
            slices = [torch.empty(per, dtype=flat.dtype) for _ in range(dp)]
            _clock(_dist.all_gather, slices, mine, group=group)
            updated = torch.cat(slices)[:total]
            offset = 0
            with torch.no_grad():
                for p in params:
                    p.copy_(updated[offset:offset + p.numel()].view_as(p))
                    offset += p.numel()
                    if p.grad is not None:
                        p.grad.zero_()
        elif training:
            if dp > 1:
                # Bucketed all-reduce of the gradients across replicas.
                bucket, size = [], 0
                grads = [p.grad if p.grad is not None else torch.zeros_like(p)
                         for p in reversed(params)]
                buckets = []
                for g in grads:
                    bucket.append(g)
                    size += g.numel() * g.element_size()
                    if size >= _BUCKET_BYTES:
                        buckets.append(bucket)
                        bucket, size = [], 0
                if bucket:
                    buckets.append(bucket)
                for b in buckets:
                    flat = torch.cat([g.reshape(-1) for g in b])
                    _clock(_dist.all_reduce, flat, group=dp_groups[(stage, trank)])
                    offset = 0
                    for g in b:
                        g.copy_(flat[offset:offset + g.numel()].view_as(g))
                        offset += g.numel()
                for p, g in zip(reversed(params), grads):
                    p.grad = g
            if opt is not None:
                opt.step()
                opt.zero_grad(set_to_none=False)
        out = torch.cat(outputs) if outputs else None
        step_s = _time.perf_counter() - start
        timing = Timing(step_s, _clock.seconds, _clock.idle,
                        step_s - _clock.seconds - _clock.idle)
    state = {names.get(id(p), "?"): p.detach().clone() for p in params}
    return RankResult(out, state, shards, timing)


def gather_timings(result):
    """Every rank's Timing, in rank order, on every rank (a collective).
    Sent as a float64 tensor (one row of len(Timing._fields) per rank, all
    NaN for a rank without a timing), not pickled: a rank never unpickles
    what a peer sends."""
    width = len(Timing._fields)
    timing = tuple(result.timing) if result.timing else None
    if timing is not None and len(timing) != width:
        raise Error("a timing has %d fields, not %d (%s)"
                    % (len(timing), width, ", ".join(Timing._fields)))
    device = torch.device("cuda", torch.cuda.current_device()) \
        if _dist.get_backend() == "nccl" else torch.device("cpu")
    row = torch.tensor([float(v) for v in timing] if timing is not None
                       else [float("nan")] * width, dtype=torch.float64, device=device)
    rows = [torch.empty(width, dtype=torch.float64, device=device)
            for _ in range(_dist.get_world_size())]
    _dist.all_gather(rows, row)
    timings = []
    for r in rows:
        values = r.tolist()
        timings.append(None if all(_math.isnan(v) for v in values) else Timing(*values))
    return timings


def timing_table(tplan, timings):
    """The cost model's per-device prediction next to the measured times of
    one step (`timings` from gather_timings): compute, communication and
    idle, each with its error, (measured - predicted) / predicted. Idle is
    counted as the model counts it: a rank's waits for its peers plus the
    time from its own end to the end of the step (the slowest rank's)."""
    plan = tplan.plan
    pp, tp = len(tplan.stages), plan.tp
    by_place = {(d.replica, d.stage, d.tp_rank): d for d in plan.devices}
    rows = ["%4s %-18s %5s %3s | %10s %10s %7s | %10s %10s %7s | %10s %10s %7s" % (
        "rank", "device", "stage", "tp", "compute ms", "predicted", "error",
        "comm ms", "predicted", "error", "idle ms", "predicted", "error")]

    def error(measured, predicted):
        # No error against a prediction that prints as zero.
        return "%+6.0f%%" % ((measured - predicted) / predicted * 100) \
            if predicted >= 0.5e-6 else "    n/a"

    def columns(measured, predicted):
        return "%10.3f %10.3f %7s" % (measured * 1e3, predicted * 1e3, error(measured, predicted))

    step = max(t.step_s for t in timings if t is not None)
    for rank, t in enumerate(timings):
        replica, rest = divmod(rank, pp * tp)
        stage, trank = divmod(rest, tp)
        d = by_place.get((replica, stage, trank))
        if t is None or d is None:
            continue
        rows.append("%4d %-18s %5d %3d | %s | %s | %s" % (
            rank, d.name, stage, trank, columns(t.compute_s, d.compute_s),
            columns(t.comm_s, d.comm_s), columns(t.idle_s + step - t.step_s, d.idle_s)))
    rows.append("step: measured %.3f ms, predicted %.3f ms (%s)" % (
        step * 1e3, plan.step_time_s * 1e3, error(step, plan.step_time_s).strip()))
    return "\n".join(rows)
