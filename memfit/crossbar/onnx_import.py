"""Import an ONNX model as a :class:`~memfit.crossbar.network.Network` (optional extra ``memfit[onnx]``).

Supported operators (inference graphs of MLPs and CNNs): ``Gemm``, ``MatMul`` (+ a following
``Add`` of a constant, fused into a dense layer's bias), ``Conv`` (group 1), ``MaxPool``,
``AveragePool``, ``GlobalAveragePool``, ``BatchNormalization`` (inference), ``Relu``, ``Sigmoid``,
``Tanh``, ``Add`` (residual or constant), ``Flatten``, ``Reshape`` (constant shape), ``Softmax``,
``Identity``, ``Dropout``.  Weights must be initializers or ``Constant`` nodes.  Anything else
raises :class:`~memfit.crossbar.layers.NetworkError` naming the operator and the node.

The ONNX operator semantics are those of https://onnx.ai/onnx/operators/ ; the digital forward
pass of the imported network matches onnxruntime to 1e-5 (tested).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from memfit.crossbar.layers import (
    Add,
    AvgPool2d,
    BatchNorm,
    Conv2d,
    Dense,
    Flatten,
    GlobalAvgPool2d,
    Identity,
    MaxPool2d,
    NetworkError,
    ReLU,
    Reshape,
    Sigmoid,
    Softmax,
    Tanh,
)
from memfit.crossbar.network import INPUT, Network

__all__ = ["load_onnx", "SUPPORTED_OPS"]

SUPPORTED_OPS = ("Gemm", "MatMul", "Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization",
                 "Relu", "Sigmoid", "Tanh", "Add", "Flatten", "Reshape", "Softmax", "Identity", "Dropout")


def _import_onnx():
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:  # pragma: no cover - depends on the environment
        raise NetworkError("reading .onnx networks needs the 'onnx' package: pip install 'memfit[onnx]'") from None
    return onnx, numpy_helper


def load_onnx(model, name: str | None = None) -> Network:
    """Convert an ONNX model to a :class:`Network`.

    Parameters
    ----------
    model : str, Path or onnx.ModelProto
        A ``.onnx`` file or a loaded model.
    name : str, optional
        Stored in ``network.meta["name"]`` (default: the file name or the graph name).

    Returns
    -------
    Network
        Layers named after the ONNX nodes (or ``<op><index>`` for unnamed nodes).

    Raises
    ------
    NetworkError
        Unreadable file, unsupported operator or attribute (naming the operator and the node),
        weights that are not constants.
    """
    onnx, numpy_helper = _import_onnx()
    if isinstance(model, (str, Path)):
        source = str(model)
        try:
            model = onnx.load(str(model))
        except Exception as exc:  # onnx raises DecodeError, OSError, ...
            raise NetworkError(f"ONNX file {source}: cannot read it ({type(exc).__name__}: {exc})") from None
    else:
        source = f"<model {model.graph.name or 'unnamed'}>"
    graph = model.graph
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=13)

    consts = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    graph_inputs = [i for i in graph.input if i.name not in consts]
    if len(graph_inputs) != 1:
        raise NetworkError(f"ONNX model {source}: expected one (non-constant) graph input, found "
                           f"{[i.name for i in graph_inputs]}")
    gin = graph_inputs[0]
    dims = [d.dim_value if d.HasField("dim_value") else None for d in gin.type.tensor_type.shape.dim]
    input_shape = tuple(dims[1:]) if len(dims) > 1 and all(d for d in dims[1:]) else None

    producer = {gin.name: INPUT}  # tensor name -> layer name
    layers: list = []
    used = set()

    def attrs(node):
        return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}

    def where(node):
        return f"ONNX model {source}: node {node.name or '(unnamed)'!r} ({node.op_type})"

    def const(node, k, what):
        if k >= len(node.input) or not node.input[k]:
            return None
        t = node.input[k]
        if t not in consts:
            raise NetworkError(f"{where(node)}: {what} {t!r} must be a constant (initializer), not a computed tensor")
        return np.asarray(consts[t], dtype=float)

    def src(node, k=0):
        t = node.input[k]
        if t not in producer:
            raise NetworkError(f"{where(node)}: input {t!r} is not produced by an earlier supported node")
        return producer[t]

    def layer_name(node, i):
        base = node.name or f"{node.op_type.lower()}{i}"
        nm, j = base.replace("/", "_"), 1
        while nm in used or nm == INPUT:
            nm, j = f"{base}_{j}", j + 1
        used.add(nm)
        return nm

    for i, node in enumerate(graph.node):
        op, a = node.op_type, attrs(node)
        if node.domain not in ("", "ai.onnx"):
            raise NetworkError(f"{where(node)}: operator domain {node.domain!r} is not supported")
        if op == "Constant":
            if "value" not in a:
                raise NetworkError(f"{where(node)}: only Constant nodes with a 'value' tensor are supported")
            consts[node.output[0]] = numpy_helper.to_array(a["value"])
            continue
        nm = layer_name(node, i)
        if op == "Gemm":
            if a.get("transA", 0):
                raise NetworkError(f"{where(node)}: transA=1 is not supported")
            b = const(node, 1, "weight B")
            w = b if a.get("transB", 0) else b.T
            w = a.get("alpha", 1.0) * w
            c = const(node, 2, "bias C")
            bias = None if c is None else np.broadcast_to(a.get("beta", 1.0) * c, (w.shape[0],)).copy()
            layer = Dense(w, bias, name=nm, inputs=[src(node)])
        elif op == "MatMul":
            b = const(node, 1, "weight B")
            if b.ndim != 2:
                raise NetworkError(f"{where(node)}: weight of {b.ndim} dimensions; "
                                   "only 2-D MatMul weights are supported")
            layer = Dense(b.T, None, name=nm, inputs=[src(node)])
        elif op == "Conv":
            if a.get("group", 1) != 1:
                raise NetworkError(f"{where(node)}: group={a['group']} (grouped/depthwise convolution) "
                                   "is not supported")
            if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
                raise NetworkError(f"{where(node)}: auto_pad={a['auto_pad']!r} is not supported; export explicit pads")
            w = const(node, 1, "weight W")
            if w.ndim != 4:
                raise NetworkError(f"{where(node)}: only 2-D convolutions are supported (weight shape {w.shape})")
            pads = a.get("pads", [0, 0, 0, 0])
            layer = Conv2d(w, const(node, 2, "bias B"), stride=a.get("strides", [1, 1]),
                           padding=(pads[0], pads[1], pads[2], pads[3]), dilation=a.get("dilations", [1, 1]),
                           name=nm, inputs=[src(node)])
        elif op in ("MaxPool", "AveragePool"):
            k = a.get("kernel_shape")
            if k is None or len(k) != 2:
                raise NetworkError(f"{where(node)}: only 2-D pooling is supported (kernel_shape {k})")
            if a.get("ceil_mode", 0):
                raise NetworkError(f"{where(node)}: ceil_mode=1 is not supported")
            if any(d != 1 for d in a.get("dilations", [1, 1])):
                raise NetworkError(f"{where(node)}: dilated pooling is not supported")
            if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
                raise NetworkError(f"{where(node)}: auto_pad={a['auto_pad']!r} is not supported; export explicit pads")
            if len(node.output) > 1 and node.output[1]:
                raise NetworkError(f"{where(node)}: the Indices output is not supported")
            pads = a.get("pads", [0, 0, 0, 0])
            kw = dict(kernel=k, stride=a.get("strides", [1, 1]), padding=(pads[0], pads[1], pads[2], pads[3]),
                      name=nm, inputs=[src(node)])
            layer = MaxPool2d(**kw) if op == "MaxPool" else AvgPool2d(count_include_pad=a.get("count_include_pad", 0),
                                                                     **kw)
        elif op == "GlobalAveragePool":
            layer = GlobalAvgPool2d(name=nm, inputs=[src(node)])
        elif op == "BatchNormalization":
            if a.get("training_mode", 0):
                raise NetworkError(f"{where(node)}: training_mode=1 is not supported (export in eval mode)")
            layer = BatchNorm(const(node, 1, "scale"), const(node, 2, "B"), const(node, 3, "mean"),
                              const(node, 4, "var"), eps=a.get("epsilon", 1e-5), name=nm, inputs=[src(node)])
        elif op in ("Relu", "Sigmoid", "Tanh", "Identity", "Dropout"):
            cls = {"Relu": ReLU, "Sigmoid": Sigmoid, "Tanh": Tanh, "Identity": Identity, "Dropout": Identity}[op]
            if op == "Dropout" and len(node.output) > 1 and node.output[1]:
                raise NetworkError(f"{where(node)}: the Dropout mask output is not supported")
            layer = cls(name=nm, inputs=[src(node)])
        elif op == "Add":
            ins = [t for t in node.input]
            cst = [t for t in ins if t in consts]
            if len(cst) == 2:
                raise NetworkError(f"{where(node)}: adding two constants is not supported")
            if cst:
                other = 1 - ins.index(cst[0])
                layer = Add(constant=np.asarray(consts[cst[0]], dtype=float), name=nm, inputs=[src(node, other)])
            else:
                layer = Add(name=nm, inputs=[src(node, 0), src(node, 1)])
        elif op == "Flatten":
            layer = Flatten(axis=a.get("axis", 1), name=nm, inputs=[src(node)])
        elif op == "Reshape":
            if a.get("allowzero", 0):
                raise NetworkError(f"{where(node)}: allowzero=1 is not supported")
            shape = const(node, 1, "shape")
            layer = Reshape([int(s) for s in shape.reshape(-1)], name=nm, inputs=[src(node)])
        elif op == "Softmax":
            axis = a.get("axis", -1 if opset >= 13 else 1)
            layer = Softmax(axis=axis, name=nm, inputs=[src(node)])
        else:
            raise NetworkError(f"{where(node)}: operator {op!r} is not supported; "
                               f"supported: {', '.join(SUPPORTED_OPS)}")
        layers.append(layer)
        producer[node.output[0]] = nm

    out_t = graph.output[0].name
    if out_t not in producer:
        raise NetworkError(f"ONNX model {source}: graph output {out_t!r} is not produced by a supported node")
    layers, output = _fuse_matmul_add(layers, producer[out_t])
    meta = {"name": name or (Path(source).name if not source.startswith("<") else graph.name), "source": source,
            "onnx_opset": int(opset), "producer": model.producer_name}
    return Network(layers, input_shape=input_shape, output=output, meta=meta)


def _fuse_matmul_add(layers, output):
    """Fold ``MatMul -> Add(constant)`` into the dense layer's bias when the constant is one bias vector."""
    by_name = {layer.name: layer for layer in layers}
    consumers: dict[str, int] = {}
    for layer in layers:
        for s in layer.inputs:
            consumers[s] = consumers.get(s, 0) + 1
    rename = {}
    kept = []
    for layer in layers:
        if isinstance(layer, Add) and layer.constant is not None and len(layer.inputs) == 1:
            src = by_name.get(layer.inputs[0])
            if (isinstance(src, Dense) and src.bias is None and consumers.get(src.name) == 1
                    and src.name != output and layer.constant.size == src.out_features
                    and (layer.constant.ndim == 1 or layer.constant.shape[-1] == layer.constant.size)):
                src.bias = layer.constant.reshape(-1).astype(float)
                rename[layer.name] = src.name
                continue
        kept.append(layer)
    for layer in kept:
        layer.inputs = tuple(rename.get(s, s) for s in layer.inputs)
    return kept, rename.get(output, output)
