"""ONNX to a graph model.

    model = chipmesh.onnx.import_model("net.onnx")      # or an onnx.ModelProto

Shapes come from onnx.shape_inference (the graph inputs must be static).
Initializers become graph.param ops named as in the ONNX file; every node
becomes graph ops located at the node's name. An op with no mapping raises
chipmesh.Error naming the op type, the node and its position.
"""

import onnx as _onnx
from onnx import numpy_helper, shape_inference

from ..core import Error, parse

_ELEM = {1: "f32", 10: "f16", 16: "bf16", 11: "f64", 7: "i64", 6: "i32"}


def _type(shape, elem):
    if elem not in _ELEM:
        raise Error("unsupported ONNX element type %d" % elem)
    dims = "x".join(str(d) for d in shape)
    return "tensor<%s%s>" % (dims + "x" if dims else "", _ELEM[elem])


def _float(value):
    return format(float(value), ".17e")


class _Importer:
    def __init__(self, model):
        self.model = model
        self.graph = model.graph
        self.shapes = {}
        for vi in list(self.graph.input) + list(self.graph.value_info) + list(self.graph.output):
            t = vi.type.tensor_type
            dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
            self.shapes[vi.name] = (dims, t.elem_type)
        self.inits = {i.name: numpy_helper.to_array(i) for i in self.graph.initializer}
        for name, array in self.inits.items():
            self.shapes[name] = (list(array.shape), self.graph_init_type(name))
        self.values = {}
        self.lines = []
        self.count = 0

    def graph_init_type(self, name):
        for i in self.graph.initializer:
            if i.name == name:
                return i.data_type
        raise Error("no initializer %s" % name)

    def fresh(self):
        self.count += 1
        return "%%v%d" % self.count

    def unsupported(self, node, index, what):
        raise Error("unsupported op '%s' at node '%s' (node %d of graph '%s')"
                    % (what, node.name or node.output[0], index, self.graph.name))

    def shape(self, node, index, name):
        if name not in self.shapes or any(d is None for d in self.shapes[name][0]):
            self.unsupported(node, index, "%s with a dynamic or unknown shape for '%s'"
                             % (node.op_type, name))
        return self.shapes[name]

    def value(self, node, index, name):
        if name in self.values:
            return self.values[name]
        if name in self.inits:
            shape, elem = self.shapes[name]
            if len(shape) == 0 or elem not in (1, 10, 16, 11):
                self.unsupported(node, index, "%s reading the constant '%s'" % (node.op_type, name))
            ssa = self.fresh()
            self.lines.append('    %s = graph.param "%s" : %s' % (ssa, name, _type(shape, elem)))
            self.values[name] = (ssa, shape, elem)
            return self.values[name]
        self.unsupported(node, index, "%s reading the unknown value '%s'" % (node.op_type, name))

    def emit(self, node, text, out=None):
        out = out or node.output[0]
        ssa = self.fresh()
        self.lines.append('    %s = %s loc("%s")' % (ssa, text, node.name or out))
        return ssa

    def define(self, node, index, ssa, name=None):
        name = name or node.output[0]
        shape, elem = self.shape(node, index, name)
        self.values[name] = (ssa, shape, elem)

    def run(self):
        args = []
        for inp in self.graph.input:
            if inp.name in self.inits:
                continue
            shape, elem = self.shapes[inp.name]
            if any(d is None for d in shape):
                raise Error("graph input '%s' has a dynamic shape; export with static shapes" % inp.name)
            ssa = "%%arg%d" % len(args)
            args.append('%s: %s {chipmesh.name = "%s"}' % (ssa, _type(shape, elem), inp.name))
            self.values[inp.name] = (ssa, shape, elem)
        for index, node in enumerate(self.graph.node):
            self.node(node, index)
        if len(self.graph.output) != 1:
            raise Error("graph '%s' has %d outputs; one is supported"
                        % (self.graph.name, len(self.graph.output)))
        ssa, shape, elem = self.values[self.graph.output[0].name]
        ret = _type(shape, elem)
        return "func.func @forward(%s) -> %s {\n%s\n    return %s : %s\n}\n" % (
            ", ".join(args), ret, "\n".join(self.lines), ssa, ret)

    def attrs(self, node):
        return {a.name: _onnx.helper.get_attribute_value(a) for a in node.attribute}

    def node(self, node, index):
        op, a = node.op_type, self.attrs(node)
        ins = lambda i: self.value(node, index, node.input[i])
        out_shape, out_elem = (self.shape(node, index, node.output[0])
                               if op not in ("Dropout", "Identity") else (None, None))
        t = lambda v: _type(v[1], v[2])
        unary = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Gelu": "gelu", "Exp": "exp", "Neg": "neg"}
        binary = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div"}
        if op in unary:
            x = ins(0)
            return self.define(node, index, self.emit(node, "graph.%s %s : %s" % (unary[op], x[0], t(x))))
        if op in binary:
            x, y = ins(0), ins(1)
            return self.define(node, index, self.emit(node, "graph.%s %s, %s : %s, %s" % (binary[op], x[0], y[0], t(x), t(y))))
        if op in ("Dropout", "Identity"):
            self.values[node.output[0]] = ins(0)
            return
        if op == "MatMul":
            x, y = ins(0), ins(1)
            return self.define(node, index, self.emit(node, "graph.matmul %s, %s : %s, %s" % (x[0], y[0], t(x), t(y))))
        if op == "Gemm":
            if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
                self.unsupported(node, index, "Gemm with transA, alpha or beta")
            x, w = ins(0), ins(1)
            text = "graph.matmul %s, %s%s : %s, %s" % (x[0], w[0], " {transpose_rhs}" if a.get("transB", 0) else "", t(x), t(w))
            ssa = self.emit(node, text)
            if len(node.input) > 2 and node.input[2]:
                b = ins(2)
                ssa2 = self.fresh()
                self.lines.append('    %s = graph.add %s, %s : %s, %s loc("%s")' % (
                    ssa2, ssa, b[0], _type(out_shape, out_elem), t(b), node.name or node.output[0]))
                ssa = ssa2
            return self.define(node, index, ssa)
        if op == "Conv":
            x, w = ins(0), ins(1)
            if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                self.unsupported(node, index, "Conv with auto_pad")
            pads = a.get("pads", [0, 0, 0, 0])
            if pads[0] != pads[2] or pads[1] != pads[3]:
                self.unsupported(node, index, "Conv with asymmetric padding")
            strides, dil = a.get("strides", [1, 1]), a.get("dilations", [1, 1])
            text = "graph.conv2d %s, %s" % (x[0], w[0])
            types = "%s, %s" % (t(x), t(w))
            if len(node.input) > 2 and node.input[2]:
                b = ins(2)
                text += ", %s" % b[0]
                types += ", %s" % t(b)
            text += " {strides = array<i64: %d, %d>, padding = array<i64: %d, %d>, dilation = array<i64: %d, %d>, groups = %d : i64} : %s" % (
                strides[0], strides[1], pads[0], pads[1], dil[0], dil[1], a.get("group", 1), types)
            return self.define(node, index, self.emit(node, text))
        if op in ("MaxPool", "AveragePool"):
            x = ins(0)
            pads = a.get("pads", [0, 0, 0, 0])
            if pads[0] != pads[2] or pads[1] != pads[3]:
                self.unsupported(node, index, "%s with asymmetric padding" % op)
            k, s = a["kernel_shape"], a.get("strides", [1, 1])
            attrs = "kernel = array<i64: %d, %d>, strides = array<i64: %d, %d>, padding = array<i64: %d, %d>" % (
                k[0], k[1], s[0], s[1], pads[0], pads[1])
            if a.get("ceil_mode", 0):
                attrs += ", ceil_mode"
            kind = "max" if op == "MaxPool" else "mean"
            return self.define(node, index, self.emit(node, "graph.pool2d %s %s {%s} : %s" % (kind, x[0], attrs, t(x))))
        if op == "GlobalAveragePool":
            x = ins(0)
            return self.define(node, index, self.emit(node, "graph.reduce mean %s {axes = array<i64: 2, 3>, keep_dims} : %s" % (x[0], t(x))))
        if op in ("Flatten", "Reshape", "Squeeze", "Unsqueeze"):
            x = ins(0)
            return self.define(node, index, self.emit(node, "graph.reshape %s : %s -> %s" % (x[0], t(x), _type(out_shape, out_elem))))
        if op == "Transpose":
            x = ins(0)
            perm = a.get("perm", list(reversed(range(len(x[1])))))
            return self.define(node, index, self.emit(node, "graph.transpose %s {permutation = array<i64: %s>} : %s" % (x[0], ", ".join(map(str, perm)), t(x))))
        if op == "Softmax":
            x = ins(0)
            axis = a.get("axis", -1) % len(x[1])
            return self.define(node, index, self.emit(node, "graph.softmax %s {axis = %d : i64} : %s" % (x[0], axis, t(x))))
        if op == "Concat":
            xs = [self.value(node, index, n) for n in node.input]
            axis = a["axis"] % len(out_shape)
            return self.define(node, index, self.emit(node, "graph.concat %s {axis = %d : i64} : %s" % (", ".join(v[0] for v in xs), axis, ", ".join(t(v) for v in xs))))
        if op == "BatchNormalization":
            # Inference: a per-channel scale and shift.
            x, scale, shift = ins(0), ins(1), ins(2)
            bshape = [x[1][1]] + [1] * (len(x[1]) - 2)
            out = x
            for param, kind in ((scale, "mul"), (shift, "add")):
                r = self.emit(node, "graph.reshape %s : %s -> %s" % (param[0], t(param), _type(bshape, param[2])))
                res = self.emit(node, "graph.%s %s, %s : %s, %s" % (kind, out[0], r, t(out), _type(bshape, param[2])))
                out = (res, x[1], x[2])
            return self.define(node, index, out[0])
        self.unsupported(node, index, op)


def import_model(model):
    """An ONNX model (a path or an onnx.ModelProto) as a graph model."""
    if not isinstance(model, _onnx.ModelProto):
        model = _onnx.load(str(model))
    try:
        model = shape_inference.infer_shapes(model, strict_mode=True)
    except Exception as e:
        raise Error("ONNX shape inference failed: %s" % e) from e
    text = _Importer(model).run()
    return parse(text, "<onnx:%s>" % (model.graph.name or "graph"))
