"""PyTorch FX to a graph model.

    model, graph_module = chipmesh.fx.import_module(net, (example,))

The module is traced with torch.fx.symbolic_trace semantics and run once on
the example inputs (ShapeProp) for static shapes. Every node becomes one
or more graph ops located at the node's name (NameLoc), so a plan maps back
to the framework. Weights are graph.param ops named by their qualified
names. The graph model is for planning: numerics stay in PyTorch.

An op with no mapping raises chipmesh.Error naming the op, the node and the
module path it was called under.
"""

import operator

import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F
from torch.fx.passes.shape_prop import ShapeProp

from ..core import Error, parse

_DTYPES = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16",
           torch.float64: "f64", torch.int64: "i64", torch.int32: "i32"}


class _Tracer(torch.fx.Tracer):
    """symbolic_trace, also recording the module path each node comes from."""

    def __init__(self):
        super().__init__()
        self._paths = []

    def call_module(self, m, forward, args, kwargs):
        self._paths.append(self.path_of_module(m))
        try:
            return super().call_module(m, forward, args, kwargs)
        finally:
            self._paths.pop()

    def create_proxy(self, kind, target, args, kwargs, name=None, type_expr=None,
                     *rest, **more):
        proxy = super().create_proxy(kind, target, args, kwargs, name, type_expr,
                                     *rest, **more)
        proxy.node.meta["chipmesh_module"] = self._paths[-1] if self._paths else ""
        return proxy


def trace(module):
    tracer = _Tracer()
    graph = tracer.trace(module)
    return torch.fx.GraphModule(tracer.root, graph)


def _tensor_type(shape, dtype):
    if dtype not in _DTYPES:
        raise Error("unsupported tensor element type %s" % dtype)
    dims = "x".join(str(int(d)) for d in shape)
    return "tensor<%s%s>" % (dims + "x" if dims else "", _DTYPES[dtype])


def _float(value):
    """An MLIR float literal (which needs a mantissa with a point)."""
    return format(float(value), ".17e")


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


class _Importer:
    def __init__(self, gm):
        self.gm = gm
        self.lines = []
        self.values = {}      # fx node -> (ssa, shape, dtype)
        self.params = {}      # qualified name -> (ssa, shape, dtype)
        self.counter = 0
        self.args = []

    # -- helpers ---------------------------------------------------------
    def fresh(self):
        self.counter += 1
        return "%%v%d" % self.counter

    def unsupported(self, node, what):
        path = node.meta.get("chipmesh_module", "")
        raise Error("unsupported op '%s' at node '%s' (module path '%s')"
                    % (what, node.name, path or "<top>"))

    def meta(self, node):
        meta = node.meta.get("tensor_meta")
        if meta is None or not hasattr(meta, "shape"):
            self.unsupported(node, "%s (no single tensor result)" % _describe(node))
        return tuple(meta.shape), meta.dtype

    def value(self, node, arg):
        if isinstance(arg, torch.fx.Node):
            if arg not in self.values:
                self.unsupported(node, "%s (input %s has no value)" % (_describe(node), arg.name))
            return self.values[arg]
        if isinstance(arg, (int, float)) and not isinstance(arg, bool):
            # A Python scalar becomes a rank-0 constant of the other operand's type.
            return None
        self.unsupported(node, "%s with argument %r" % (_describe(node), arg))

    def emit(self, node, text, shape, dtype, loc=True):
        ssa = self.fresh()
        suffix = ' loc("%s")' % node.name if loc else ""
        self.lines.append("    %s = %s%s" % (ssa, text, suffix))
        return (ssa, shape, dtype)

    def param(self, qualname, tensor, shape=None):
        if qualname in self.params:
            return self.params[qualname]
        shape = tuple(tensor.shape) if shape is None else shape
        ssa = self.fresh()
        self.lines.append('    %s = graph.param "%s" : %s'
                          % (ssa, qualname, _tensor_type(shape, tensor.dtype)))
        self.params[qualname] = (ssa, shape, tensor.dtype)
        return self.params[qualname]

    def scalar(self, value, dtype):
        ssa = self.fresh()
        self.lines.append("    %s = arith.constant dense<%s> : tensor<%s>"
                          % (ssa, _float(value), _DTYPES[dtype]))
        return (ssa, (), dtype)

    # -- op emitters -----------------------------------------------------
    def unary(self, node, name, x, attrs=""):
        ssa, shape, dtype = x
        return self.emit(node, "graph.%s %s%s : %s" % (name, ssa, attrs, _tensor_type(shape, dtype)),
                         shape, dtype)

    def binary(self, node, name, a, b):
        if a is None and b is None:
            self.unsupported(node, "%s of two scalars" % _describe(node))
        a_val = a if a is not None else self.scalar(node.args[0], b[2])
        b_val = b if b is not None else self.scalar(node.args[1], a_val[2])
        shape, dtype = self.meta(node)
        return self.emit(node, "graph.%s %s, %s : %s, %s" % (
            name, a_val[0], b_val[0], _tensor_type(a_val[1], a_val[2]),
            _tensor_type(b_val[1], b_val[2])), shape, dtype)

    def reshape(self, node, x):
        shape, dtype = self.meta(node)
        if tuple(shape) == tuple(x[1]):
            return x
        return self.emit(node, "graph.reshape %s : %s -> %s" % (
            x[0], _tensor_type(x[1], x[2]), _tensor_type(shape, dtype)), shape, dtype)

    def transpose(self, node, x, perm):
        shape, dtype = self.meta(node)
        return self.emit(node, "graph.transpose %s {permutation = array<i64: %s>} : %s" % (
            x[0], ", ".join(str(p) for p in perm), _tensor_type(x[1], x[2])), shape, dtype)

    def linear(self, node, x, weight_name, weight, bias_name, bias):
        out_f, in_f = weight.shape
        w = self.param(weight_name, weight, (in_f, out_f))  # graph.linear takes [K, N]
        text = "graph.linear %s, %s" % (x[0], w[0])
        types = "%s, %s" % (_tensor_type(x[1], x[2]), _tensor_type(w[1], w[2]))
        if bias is not None:
            b = self.param(bias_name, bias)
            text += ", %s" % b[0]
            types += ", %s" % _tensor_type(b[1], b[2])
        shape, dtype = self.meta(node)
        return self.emit(node, "%s : %s" % (text, types), shape, dtype)

    def conv2d(self, node, x, path, conv):
        if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            self.unsupported(node, "conv2d with padding %r (%s)" % (conv.padding, conv.padding_mode))
        w = self.param(path + ".weight", conv.weight)
        text = "graph.conv2d %s, %s" % (x[0], w[0])
        types = "%s, %s" % (_tensor_type(x[1], x[2]), _tensor_type(w[1], w[2]))
        if conv.bias is not None:
            b = self.param(path + ".bias", conv.bias)
            text += ", %s" % b[0]
            types += ", %s" % _tensor_type(b[1], b[2])
        attrs = "{strides = array<i64: %d, %d>, padding = array<i64: %d, %d>, dilation = array<i64: %d, %d>, groups = %d : i64}" % (
            _pair(conv.stride) + _pair(conv.padding) + _pair(conv.dilation) + (conv.groups,))
        shape, dtype = self.meta(node)
        return self.emit(node, "%s %s : %s" % (text, attrs, types), shape, dtype)

    def batch_norm(self, node, x, path, bn):
        # Inference form: a per-channel scale and shift (running statistics
        # are buffers, not parameters).
        if not bn.affine:
            self.unsupported(node, "batch_norm without affine parameters")
        channels = bn.num_features
        out = x
        bshape = (channels,) + (1,) * (len(x[1]) - 2)
        for param_name, op in (("weight", "mul"), ("bias", "add")):
            p = self.param("%s.%s" % (path, param_name), getattr(bn, param_name))
            r = self.emit(node, "graph.reshape %s : %s -> %s" % (
                p[0], _tensor_type(p[1], p[2]), _tensor_type(bshape, p[2])), bshape, p[2])
            out = self.emit(node, "graph.%s %s, %s : %s, %s" % (
                op, out[0], r[0], _tensor_type(out[1], out[2]), _tensor_type(bshape, p[2])),
                out[1], out[2])
        return out

    def pool(self, node, x, kind, kernel, stride, padding, ceil_mode=False):
        shape, dtype = self.meta(node)
        stride = kernel if stride is None or stride == [] else stride
        attrs = "kernel = array<i64: %d, %d>, strides = array<i64: %d, %d>, padding = array<i64: %d, %d>" % (
            _pair(kernel) + _pair(stride) + _pair(padding))
        if ceil_mode:
            attrs += ", ceil_mode"
        return self.emit(node, "graph.pool2d %s %s {%s} : %s" % (
            kind, x[0], attrs, _tensor_type(x[1], x[2])), shape, dtype)

    def adaptive_pool(self, node, x):
        shape, dtype = self.meta(node)
        (h, w), (oh, ow) = x[1][-2:], shape[-2:]
        if h % oh or w % ow:
            self.unsupported(node, "adaptive_avg_pool2d from %dx%d to %dx%d" % (h, w, oh, ow))
        if (oh, ow) == (h, w):
            return x
        return self.pool(node, x, "mean", (h // oh, w // ow), (h // oh, w // ow), 0)

    def softmax(self, node, x, dim):
        rank = len(x[1])
        return self.unary(node, "softmax", x, " {axis = %d : i64}" % (dim % rank))

    # -- dispatch ------------------------------------------------------------
    def run(self):
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                shape, dtype = self.meta(node)
                ssa = "%%arg%d" % len(self.args)
                self.args.append('%s: %s {chipmesh.name = "%s"}' % (ssa, _tensor_type(shape, dtype), node.name))
                self.values[node] = (ssa, shape, dtype)
            elif node.op == "get_attr":
                attr = _fetch(self.gm, node.target)
                if not isinstance(attr, torch.Tensor) or not attr.is_floating_point():
                    self.unsupported(node, "get_attr of a non-float tensor %s" % node.target)
                self.values[node] = self.param(node.target, attr)
            elif node.op == "output":
                result = node.args[0]
                if not isinstance(result, torch.fx.Node):
                    self.unsupported(node, "output of %s (one tensor expected)" % type(result).__name__)
                self.result = self.values[result]
            elif node.op == "call_module":
                self.values[node] = self.module(node)
            elif node.op in ("call_function", "call_method"):
                self.values[node] = self.function(node)
            else:
                self.unsupported(node, node.op)
        ssa, shape, dtype = self.result
        ret = _tensor_type(shape, dtype)
        text = "func.func @forward(%s) -> %s {\n%s\n    return %s : %s\n}\n" % (
            ", ".join(self.args), ret, "\n".join(self.lines), ssa, ret)
        return text

    def module(self, node):
        path = node.target
        mod = self.gm.get_submodule(path)
        x = self.value(node, node.args[0]) if node.args else None
        if isinstance(mod, nn.Linear):
            return self.linear(node, x, path + ".weight", mod.weight, path + ".bias", mod.bias)
        if isinstance(mod, nn.Conv2d):
            return self.conv2d(node, x, path, mod)
        if isinstance(mod, nn.BatchNorm2d):
            return self.batch_norm(node, x, path, mod)
        if isinstance(mod, nn.ReLU):
            return self.unary(node, "relu", x)
        if isinstance(mod, nn.GELU):
            return self.unary(node, "gelu", x)
        if isinstance(mod, nn.SiLU):
            return self.unary(node, "silu", x)
        if isinstance(mod, nn.Tanh):
            return self.unary(node, "tanh", x)
        if isinstance(mod, nn.Sigmoid):
            return self.unary(node, "sigmoid", x)
        if isinstance(mod, (nn.Dropout, nn.Identity)):
            return x
        if isinstance(mod, nn.Flatten):
            return self.reshape(node, x)
        if isinstance(mod, nn.MaxPool2d):
            if _pair(mod.dilation) != (1, 1):
                self.unsupported(node, "max_pool2d with dilation")
            return self.pool(node, x, "max", mod.kernel_size, mod.stride, mod.padding, mod.ceil_mode)
        if isinstance(mod, nn.AvgPool2d):
            return self.pool(node, x, "mean", mod.kernel_size, mod.stride, mod.padding, mod.ceil_mode)
        if isinstance(mod, nn.AdaptiveAvgPool2d):
            return self.adaptive_pool(node, x)
        if isinstance(mod, nn.Softmax):
            return self.softmax(node, x, mod.dim if mod.dim is not None else -1)
        if isinstance(mod, nn.LayerNorm):
            if len(mod.normalized_shape) != 1:
                self.unsupported(node, "layer_norm over %d dimensions" % len(mod.normalized_shape))
            w = self.param(path + ".weight", mod.weight)
            b = self.param(path + ".bias", mod.bias)
            shape, dtype = self.meta(node)
            return self.emit(node, "graph.layer_norm %s, %s, %s {epsilon = %s : f64} : %s, %s, %s" % (
                x[0], w[0], b[0], _float(mod.eps), _tensor_type(x[1], x[2]),
                _tensor_type(w[1], w[2]), _tensor_type(b[1], b[2])), shape, dtype)
        if isinstance(mod, nn.Embedding):
            t = self.param(path + ".weight", mod.weight)
            shape, dtype = self.meta(node)
            return self.emit(node, "graph.embedding %s, %s : %s, %s" % (
                x[0], t[0], _tensor_type(x[1], x[2]), _tensor_type(t[1], t[2])), shape, dtype)
        self.unsupported(node, type(mod).__name__)

    def function(self, node):
        target = node.target
        name = target if isinstance(target, str) else getattr(target, "__name__", str(target))
        args = node.args
        x = self.value(node, args[0]) if args and isinstance(args[0], torch.fx.Node) else None
        binary = {operator.add: "add", torch.add: "add", operator.sub: "sub",
                  torch.sub: "sub", operator.mul: "mul", torch.mul: "mul",
                  operator.truediv: "div", torch.div: "div"}
        method_binary = {"add": "add", "sub": "sub", "mul": "mul", "div": "div"}
        if (node.op == "call_function" and target in binary) or \
           (node.op == "call_method" and target in method_binary):
            if len(args) != 2 or node.kwargs:
                self.unsupported(node, name + " with extra arguments")
            op = binary.get(target) if node.op == "call_function" else method_binary[target]
            return self.binary(node, op, self.value(node, args[0]), self.value(node, args[1]))
        unary = {torch.relu: "relu", F.relu: "relu", torch.sigmoid: "sigmoid",
                 torch.tanh: "tanh", F.gelu: "gelu", F.silu: "silu"}
        method_unary = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh"}
        if node.op == "call_function" and target in unary:
            return self.unary(node, unary[target], x)
        if node.op == "call_method" and target in method_unary:
            return self.unary(node, method_unary[target], x)
        if (node.op == "call_function" and target in (torch.flatten, torch.reshape)) or \
           (node.op == "call_method" and target in ("view", "reshape", "flatten")):
            return self.reshape(node, x)
        if node.op == "call_method" and target == "contiguous":
            return x
        if (node.op == "call_function" and target is F.dropout):
            return x
        if (node.op == "call_function" and target in (torch.transpose,)) or \
           (node.op == "call_method" and target == "transpose"):
            rank = len(x[1])
            a, b = args[1] % rank, args[2] % rank
            perm = list(range(rank))
            perm[a], perm[b] = perm[b], perm[a]
            return self.transpose(node, x, perm)
        if node.op == "call_method" and target == "permute":
            dims = args[1] if isinstance(args[1], (list, tuple)) else args[1:]
            return self.transpose(node, x, [d % len(x[1]) for d in dims])
        if (node.op == "call_function" and target in (torch.matmul, operator.matmul)):
            a, b = self.value(node, args[0]), self.value(node, args[1])
            shape, dtype = self.meta(node)
            return self.emit(node, "graph.matmul %s, %s : %s, %s" % (
                a[0], b[0], _tensor_type(a[1], a[2]), _tensor_type(b[1], b[2])), shape, dtype)
        if (node.op == "call_function" and target in (torch.softmax, F.softmax)) or \
           (node.op == "call_method" and target == "softmax"):
            dim = node.kwargs.get("dim", args[1] if len(args) > 1 else -1)
            return self.softmax(node, x, dim)
        if node.op == "call_function" and target is torch.cat:
            inputs = [self.value(node, a) for a in args[0]]
            dim = node.kwargs.get("dim", args[1] if len(args) > 1 else 0)
            shape, dtype = self.meta(node)
            return self.emit(node, "graph.concat %s {axis = %d : i64} : %s" % (
                ", ".join(i[0] for i in inputs), dim % len(shape),
                ", ".join(_tensor_type(i[1], i[2]) for i in inputs)), shape, dtype)
        if node.op == "call_function" and target is F.adaptive_avg_pool2d:
            return self.adaptive_pool(node, x)
        if (node.op == "call_method" and target in ("mean", "sum")) or \
           (node.op == "call_function" and target in (torch.mean, torch.sum)):
            kind = "mean" if target in ("mean", torch.mean) else "sum"
            dims = node.kwargs.get("dim", args[1] if len(args) > 1 else None)
            if dims is None:
                dims = list(range(len(x[1])))
            dims = [dims] if isinstance(dims, int) else list(dims)
            keep = node.kwargs.get("keepdim", args[2] if len(args) > 2 else False)
            shape, dtype = self.meta(node)
            attrs = "axes = array<i64: %s>%s" % (
                ", ".join(str(d % len(x[1])) for d in dims), ", keep_dims" if keep else "")
            return self.emit(node, "graph.reduce %s %s {%s} : %s" % (
                kind, x[0], attrs, _tensor_type(x[1], x[2])), shape, dtype)
        self.unsupported(node, name)


def _describe(node):
    t = node.target
    return t if isinstance(t, str) else getattr(t, "__name__", str(t))


def _fetch(gm, qualname):
    obj = gm
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def import_module(module, example_inputs):
    """Traces `module`, runs it once on `example_inputs` for shapes, and
    returns (graph model, traced GraphModule)."""
    if not isinstance(example_inputs, (tuple, list)):
        example_inputs = (example_inputs,)
    module = module.eval()
    try:
        gm = trace(module)
    except Exception as e:  # torch.fx's own limits (data-dependent control flow)
        raise Error("torch.fx cannot trace %s: %s" % (type(module).__name__, e)) from e
    with torch.no_grad():
        ShapeProp(gm).propagate(*example_inputs)
    text = _Importer(gm).run()
    return parse(text, "<fx:%s>" % type(module).__name__), gm
