"""chipmesh.torch.runtime: a partitioned plan run on torch.distributed, one
process per device: the rendezvous store check, pipeline sends and
receives in the plan's schedule, tensor parallelism, gradient all-reduce
and ZeRO-1."""

import collections as _collections
import datetime as _datetime
import hmac as _hmac
import operator as _operator
import os as _os
import time as _time

import torch
import torch.distributed as _dist

from .. import _chipmesh as _native
from ..core import Error
from .tensor_parallel import (_ColumnParallelLinear, _RowParallelLinear,
                              _megatron_pairs)
from .timing import _GRAD_TAG, Timing, _clock

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


#: What run() returns on one rank: the model output (last stage, else
#: None), this rank's weights by name, and for tensor-parallel shards
#: {name: (dim, offset, whole extent)}.
RankResult = _collections.namedtuple("RankResult",
                                     ["output", "weights", "shards", "timing"])



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
    from ..launch import describe_rank
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
