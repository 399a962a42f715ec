"""Layers of the numpy network runtime.

Every layer is a small object with a ``name``, the names of its ``inputs`` (other layers' names
or the network input), a ``forward`` method on numpy arrays, and a JSON-able ``spec`` plus a dict
of numpy ``arrays`` so that a network saves to a plain ``.npz`` file.

Tensors follow the ONNX/PyTorch layout: dense activations are ``(batch, features)``, images are
``(batch, channels, height, width)`` ("NCHW"), and a dense weight is ``(out, in)``.

*Matrix layers* (:class:`Dense`, :class:`Conv2d`) do their work as one matrix product
``rows @ W.T`` with ``W`` of shape ``(out, in)``: for a convolution the rows are the image
patches (im2col).  That product is what an analog crossbar computes; the layer takes an optional
``mvm`` callable that replaces it (``mvm(rows) -> rows @ W.T``), and adds its bias digitally.
Everything else runs digitally in float64 numpy.
"""

from __future__ import annotations

from typing import Callable, ClassVar, Sequence

import numpy as np

from memfit.errors import MemfitError

__all__ = [
    "NetworkError",
    "Layer",
    "MatrixLayer",
    "Dense",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "GlobalAvgPool2d",
    "BatchNorm",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "Flatten",
    "Reshape",
    "Add",
    "Identity",
    "LAYER_TYPES",
    "im2col",
    "col2im",
]


class NetworkError(MemfitError, ValueError):
    """A network that cannot be built, loaded or run: bad graph, unsupported operator, wrong shapes."""


def _pair(v, what: str) -> tuple[int, int]:
    if np.isscalar(v):
        v = (int(v), int(v))
    v = tuple(int(a) for a in v)
    if len(v) != 2:
        raise NetworkError(f"{what} must be one int or two ints, got {v}")
    return v


def _pads(v) -> tuple[int, int, int, int]:
    """Padding as (top, left, bottom, right) from an int, (ph, pw) or the ONNX 4-tuple."""
    if np.isscalar(v):
        p = int(v)
        return (p, p, p, p)
    v = tuple(int(a) for a in v)
    if len(v) == 2:
        return (v[0], v[1], v[0], v[1])
    if len(v) == 4:
        return v
    raise NetworkError(f"padding must be an int, (ph, pw) or (top, left, bottom, right), got {v}")


# ----------------------------------------------------------------------------- im2col
def _out_size(n: int, k: int, s: int, d: int, p0: int, p1: int) -> int:
    return (n + p0 + p1 - d * (k - 1) - 1) // s + 1


def im2col(x: np.ndarray, kernel: tuple[int, int], stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1),
           pad_value: float = 0.0) -> tuple[np.ndarray, tuple[int, int]]:
    """Image patches as rows: ``(N, C, H, W)`` -> ``(N*Ho*Wo, C*kh*kw)``.

    Parameters
    ----------
    x : ndarray (N, C, H, W)
    kernel, stride, dilation : (int, int)
    pads : (top, left, bottom, right)
    pad_value : float
        Value of the padding (0 for convolution, -inf for max pooling).

    Returns
    -------
    rows : ndarray (N*Ho*Wo, C*kh*kw)
        Row ``n*Ho*Wo + i*Wo + j`` holds the patch of output pixel (i, j) of image n, ordered
        channel-major like a flattened ``(C, kh, kw)`` weight.
    (Ho, Wo) : output height and width.
    """
    n, c, h, w = x.shape
    kh, kw = kernel
    sh, sw = stride
    dh, dw = dilation
    pt, pl, pb, pr = pads
    ho, wo = _out_size(h, kh, sh, dh, pt, pb), _out_size(w, kw, sw, dw, pl, pr)
    if ho < 1 or wo < 1:
        raise NetworkError(f"kernel {kernel} does not fit the {h}x{w} input with padding {pads}")
    if any(pads):
        x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=pad_value)
    cols = np.empty((n, ho, wo, c, kh, kw), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            sl = x[:, :, i * dh: i * dh + sh * (ho - 1) + 1: sh, j * dw: j * dw + sw * (wo - 1) + 1: sw]
            cols[:, :, :, :, i, j] = sl.transpose(0, 2, 3, 1)
    return cols.reshape(n * ho * wo, c * kh * kw), (ho, wo)


def col2im(rows: np.ndarray, x_shape, kernel, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1)) -> np.ndarray:
    """Adjoint of :func:`im2col`: scatter-add patch rows back onto an ``x_shape`` image (for gradients)."""
    n, c, h, w = x_shape
    kh, kw = kernel
    sh, sw = stride
    dh, dw = dilation
    pt, pl, pb, pr = pads
    ho, wo = _out_size(h, kh, sh, dh, pt, pb), _out_size(w, kw, sw, dw, pl, pr)
    cols = rows.reshape(n, ho, wo, c, kh, kw)
    xp = np.zeros((n, c, h + pt + pb, w + pl + pr), dtype=rows.dtype)
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i * dh: i * dh + sh * (ho - 1) + 1: sh, j * dw: j * dw + sw * (wo - 1) + 1: sw] += \
                cols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return xp[:, :, pt: pt + h, pl: pl + w]


# ----------------------------------------------------------------------------- base classes
class Layer:
    """Base class: a named node of the network graph.

    Parameters
    ----------
    name : str
        Unique name in the network.
    inputs : sequence of str, optional
        Names of the nodes whose outputs feed this layer (``"input"`` is the network input).
        Left empty, :meth:`Network.sequential` chains the layer to the previous one.
    """

    kind: ClassVar[str] = "layer"
    n_inputs: ClassVar[int] = 1
    is_matrix: ClassVar[bool] = False

    def __init__(self, name: str | None = None, inputs: Sequence[str] | None = None):
        self.name = name
        self.inputs = tuple(inputs) if inputs else ()

    # serialisation ---------------------------------------------------------------
    def spec(self) -> dict:
        """JSON-able hyper-parameters (no arrays)."""
        return {}

    def arrays(self) -> dict[str, np.ndarray]:
        """The layer's parameter arrays by name."""
        return {}

    @classmethod
    def from_spec(cls, name: str, inputs, spec: dict, arrays: dict[str, np.ndarray]) -> "Layer":
        """Rebuild a layer from its name, input names, :meth:`spec` dict and :meth:`arrays` dict (as saved)."""
        return cls(name=name, inputs=inputs, **spec, **arrays)

    def copy(self) -> "Layer":
        """An independent copy (same spec, copied arrays)."""
        return type(self).from_spec(self.name, self.inputs, dict(self.spec()),
                                    {k: np.array(v, copy=True) for k, v in self.arrays().items()})

    def forward(self, *xs: np.ndarray, mvm: Callable | None = None) -> np.ndarray:  # pragma: no cover
        """Layer output for the input arrays ``xs`` (one per ``inputs`` entry); only matrix layers use ``mvm``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        extra = ", ".join(f"{k}={v}" for k, v in self.spec().items())
        shapes = ", ".join(f"{k}{tuple(v.shape)}" for k, v in self.arrays().items())
        return f"{type(self).__name__}({self.name!r}{', ' + extra if extra else ''}{', ' + shapes if shapes else ''})"


class MatrixLayer(Layer):
    """A layer whose work is one matrix product ``rows @ W.T`` (+ a digital bias).

    Subclasses define :meth:`matrix` (the ``(out, in)`` weight matrix), :meth:`to_rows` and
    :meth:`from_rows`.
    """

    is_matrix = True
    weight: np.ndarray
    bias: np.ndarray | None

    def matrix(self) -> np.ndarray:
        """The ``(out, in)`` matrix that a crossbar holds for this layer."""
        raise NotImplementedError  # pragma: no cover

    def set_matrix(self, m: np.ndarray) -> None:
        """Replace the weights from an ``(out, in)`` matrix (inverse of :meth:`matrix`)."""
        raise NotImplementedError  # pragma: no cover

    def to_rows(self, x: np.ndarray):
        """Input ``x`` as the ``(rows, in)`` matrix to multiply, plus a context for :meth:`from_rows`."""
        raise NotImplementedError  # pragma: no cover

    def from_rows(self, y: np.ndarray, ctx) -> np.ndarray:
        """Layer output from the ``(rows, out)`` product ``y`` (bias added) and the :meth:`to_rows` context."""
        raise NotImplementedError  # pragma: no cover

    def forward(self, x: np.ndarray, mvm: Callable | None = None) -> np.ndarray:
        """Digital ``rows @ W.T`` (or ``mvm(rows)`` when given, e.g. an analog tile) plus the bias."""
        rows, ctx = self.to_rows(x)
        y = mvm(rows) if mvm is not None else rows @ self.matrix().T
        if self.bias is not None:
            y = y + self.bias
        return self.from_rows(y, ctx)


# ----------------------------------------------------------------------------- matrix layers
class Dense(MatrixLayer):
    """Fully connected layer ``y = x @ W.T + b``.

    Parameters
    ----------
    weight : ndarray (out, in)
    bias : ndarray (out,), optional
    """

    kind = "dense"

    def __init__(self, weight, bias=None, name=None, inputs=None):
        super().__init__(name, inputs)
        self.weight = np.asarray(weight, dtype=float)
        if self.weight.ndim != 2:
            raise NetworkError(f"dense layer {name!r}: weight must be 2-D (out, in), got shape {self.weight.shape}")
        self.bias = None if bias is None else np.asarray(bias, dtype=float).reshape(-1)
        if self.bias is not None and self.bias.shape != (self.weight.shape[0],):
            raise NetworkError(f"dense layer {name!r}: bias has {self.bias.size} entries for "
                               f"{self.weight.shape[0]} outputs")

    @property
    def in_features(self) -> int:
        return self.weight.shape[1]

    @property
    def out_features(self) -> int:
        return self.weight.shape[0]

    def arrays(self):
        """``{"weight": (out, in)}`` plus ``"bias": (out,)`` when there is one."""
        return {"weight": self.weight} | ({} if self.bias is None else {"bias": self.bias})

    def matrix(self):
        """The ``(out, in)`` weight matrix itself."""
        return self.weight

    def set_matrix(self, m):
        """Replace the weights by ``m``, shape ``(out, in)``."""
        self.weight = np.asarray(m, dtype=float).reshape(self.weight.shape)

    def to_rows(self, x):
        """Check ``x`` is ``(batch, in)`` and return it as the rows (no context)."""
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise NetworkError(f"dense layer {self.name!r} expects (batch, {self.in_features}) input, got {x.shape}")
        return x, None

    def from_rows(self, y, ctx):
        """The ``(batch, out)`` product is the output."""
        return y


class Conv2d(MatrixLayer):
    """2-D convolution (cross-correlation, as in ONNX/PyTorch) computed as im2col + one matrix product.

    Parameters
    ----------
    weight : ndarray (out_channels, in_channels, kh, kw)
    bias : ndarray (out_channels,), optional
    stride, dilation : int or (int, int)
    padding : int, (ph, pw) or (top, left, bottom, right)
    """

    kind = "conv2d"

    def __init__(self, weight, bias=None, stride=1, padding=0, dilation=1, name=None, inputs=None):
        super().__init__(name, inputs)
        self.weight = np.asarray(weight, dtype=float)
        if self.weight.ndim != 4:
            raise NetworkError(f"conv layer {name!r}: weight must be 4-D (out, in, kh, kw), got {self.weight.shape}")
        self.bias = None if bias is None else np.asarray(bias, dtype=float).reshape(-1)
        if self.bias is not None and self.bias.shape != (self.weight.shape[0],):
            raise NetworkError(f"conv layer {name!r}: bias has {self.bias.size} entries for {self.weight.shape[0]} "
                               "output channels")
        self.stride = _pair(stride, "stride")
        self.padding = _pads(padding)
        self.dilation = _pair(dilation, "dilation")

    @property
    def kernel(self) -> tuple[int, int]:
        return tuple(self.weight.shape[2:])

    def spec(self):
        """``stride``, ``padding`` (top, left, bottom, right) and ``dilation`` as lists."""
        return {"stride": list(self.stride), "padding": list(self.padding), "dilation": list(self.dilation)}

    def arrays(self):
        """``{"weight": (out_channels, in_channels, kh, kw)}`` plus ``"bias": (out_channels,)`` when there is one."""
        return {"weight": self.weight} | ({} if self.bias is None else {"bias": self.bias})

    def matrix(self):
        """The weights flattened to ``(out_channels, in_channels*kh*kw)``."""
        return self.weight.reshape(self.weight.shape[0], -1)

    def set_matrix(self, m):
        """Replace the weights from an ``(out_channels, in_channels*kh*kw)`` matrix."""
        self.weight = np.asarray(m, dtype=float).reshape(self.weight.shape)

    def to_rows(self, x):
        """Patches of ``x`` (N, C, H, W) as ``(N*Ho*Wo, C*kh*kw)`` rows (:func:`im2col`); context ``(N, Ho, Wo)``."""
        if x.ndim != 4 or x.shape[1] != self.weight.shape[1]:
            raise NetworkError(f"conv layer {self.name!r} expects (batch, {self.weight.shape[1]}, H, W) input, "
                               f"got {x.shape}")
        rows, (ho, wo) = im2col(x, self.kernel, self.stride, self.padding, self.dilation)
        return rows, (x.shape[0], ho, wo)

    def from_rows(self, y, ctx):
        """Reshape the ``(N*Ho*Wo, out_channels)`` product to ``(N, out_channels, Ho, Wo)``."""
        n, ho, wo = ctx
        return y.reshape(n, ho, wo, -1).transpose(0, 3, 1, 2)


# ----------------------------------------------------------------------------- pooling
class _Pool(Layer):
    def __init__(self, kernel, stride=None, padding=0, name=None, inputs=None):
        super().__init__(name, inputs)
        self.kernel_size = _pair(kernel, "kernel")
        self.stride = _pair(stride if stride is not None else kernel, "stride")
        self.padding = _pads(padding)

    def spec(self):
        return {"kernel": list(self.kernel_size), "stride": list(self.stride), "padding": list(self.padding)}

    def _windows(self, x, pad_value):
        n, c = x.shape[:2]
        # pool each channel independently: treat channels as images of one channel
        rows, (ho, wo) = im2col(x.reshape(n * c, 1, *x.shape[2:]), self.kernel_size, self.stride, self.padding,
                                pad_value=pad_value)
        return rows, (n, c, ho, wo)


class MaxPool2d(_Pool):
    """Max pooling over ``kernel`` windows (padding counts as -inf, as in ONNX)."""

    kind = "maxpool2d"

    def forward(self, x, mvm=None):
        """``x`` (N, C, H, W) -> (N, C, Ho, Wo): maximum of each window."""
        rows, (n, c, ho, wo) = self._windows(x, -np.inf)
        return rows.max(axis=1).reshape(n, c, ho, wo)


class AvgPool2d(_Pool):
    """Average pooling; ``count_include_pad`` as in ONNX AveragePool (default: padding not counted)."""

    kind = "avgpool2d"

    def __init__(self, kernel, stride=None, padding=0, count_include_pad=False, name=None, inputs=None):
        super().__init__(kernel, stride, padding, name, inputs)
        self.count_include_pad = bool(count_include_pad)

    def spec(self):
        """Pooling spec (kernel, stride, padding) plus ``count_include_pad``."""
        return super().spec() | {"count_include_pad": self.count_include_pad}

    def forward(self, x, mvm=None):
        """``x`` (N, C, H, W) -> (N, C, Ho, Wo): mean of each window."""
        rows, (n, c, ho, wo) = self._windows(x, 0.0)
        s = rows.sum(axis=1)
        if self.count_include_pad or not any(self.padding):
            s = s / (self.kernel_size[0] * self.kernel_size[1])
        else:
            ones = np.ones((1, 1, *x.shape[2:]))
            cnt, _ = im2col(ones, self.kernel_size, self.stride, self.padding)
            s = (s.reshape(n * c, ho * wo) / cnt.sum(axis=1)).reshape(-1)
        return s.reshape(n, c, ho, wo)


class GlobalAvgPool2d(Layer):
    """Mean over height and width, keeping them as size-1 axes: ``(N, C, H, W) -> (N, C, 1, 1)``."""

    kind = "globalavgpool2d"

    def forward(self, x, mvm=None):
        """``x`` (N, C, H, W) -> (N, C, 1, 1)."""
        return x.mean(axis=(2, 3), keepdims=True)


# ----------------------------------------------------------------------------- normalisation
class BatchNorm(Layer):
    """Inference batch normalisation on axis 1: ``y = (x - mean) / sqrt(var + eps) * scale + shift``.

    On the analog path a batch-norm that directly follows a matrix layer is folded into that
    layer's weights and bias (:meth:`Network.fold_batchnorm`).
    """

    kind = "batchnorm"

    def __init__(self, scale, shift, mean, var, eps=1e-5, name=None, inputs=None):
        super().__init__(name, inputs)
        self.scale = np.asarray(scale, dtype=float).reshape(-1)
        self.shift = np.asarray(shift, dtype=float).reshape(-1)
        self.mean = np.asarray(mean, dtype=float).reshape(-1)
        self.var = np.asarray(var, dtype=float).reshape(-1)
        self.eps = float(eps)
        sizes = {a.size for a in (self.scale, self.shift, self.mean, self.var)}
        if len(sizes) != 1:
            raise NetworkError(f"batch-norm {name!r}: scale, shift, mean and var differ in length")
        if np.any(self.var + self.eps <= 0):
            raise NetworkError(f"batch-norm {name!r}: var + eps must be > 0")

    def spec(self):
        """``{"eps": eps}``."""
        return {"eps": self.eps}

    def arrays(self):
        """Per-channel ``scale``, ``shift``, ``mean`` and ``var``, each ``(C,)``."""
        return {"scale": self.scale, "shift": self.shift, "mean": self.mean, "var": self.var}

    def affine(self) -> tuple[np.ndarray, np.ndarray]:
        """``(a, b)`` with ``y = a * x + b`` per channel."""
        a = self.scale / np.sqrt(self.var + self.eps)
        return a, self.shift - a * self.mean

    def forward(self, x, mvm=None):
        """Normalise ``x`` (N, C, ...) per channel (axis 1); same shape out."""
        shape = (1, -1) + (1,) * (x.ndim - 2)
        return (x - self.mean.reshape(shape)) / np.sqrt(self.var.reshape(shape) + self.eps) \
            * self.scale.reshape(shape) + self.shift.reshape(shape)


# ----------------------------------------------------------------------------- element-wise
class ReLU(Layer):
    """``max(x, 0)``."""

    kind = "relu"

    def forward(self, x, mvm=None):
        """``max(x, 0)`` element-wise; same shape out."""
        return np.maximum(x, 0.0)


class Sigmoid(Layer):
    """Logistic function ``1 / (1 + exp(-x))`` (computed without overflow)."""

    kind = "sigmoid"

    def forward(self, x, mvm=None):
        """``1 / (1 + exp(-x))`` element-wise; same shape out."""
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class Tanh(Layer):
    """Hyperbolic tangent."""

    kind = "tanh"

    def forward(self, x, mvm=None):
        """``tanh(x)`` element-wise; same shape out."""
        return np.tanh(x)


class Softmax(Layer):
    """Softmax along ``axis`` (default the last), shifted by the maximum for stability."""

    kind = "softmax"

    def __init__(self, axis=-1, name=None, inputs=None):
        super().__init__(name, inputs)
        self.axis = int(axis)

    def spec(self):
        """``{"axis": axis}``."""
        return {"axis": self.axis}

    def forward(self, x, mvm=None):
        """Softmax of ``x`` along ``axis``; same shape out, sums to 1 along ``axis``."""
        z = x - x.max(axis=self.axis, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=self.axis, keepdims=True)


class Flatten(Layer):
    """Reshape to 2-D: ``(prod(shape[:axis]), prod(shape[axis:]))`` (ONNX Flatten; default axis 1)."""

    kind = "flatten"

    def __init__(self, axis=1, name=None, inputs=None):
        super().__init__(name, inputs)
        self.axis = int(axis)

    def spec(self):
        """``{"axis": axis}``."""
        return {"axis": self.axis}

    def forward(self, x, mvm=None):
        """``x`` -> 2-D ``(prod(shape[:axis]), prod(shape[axis:]))``."""
        ax = self.axis if self.axis >= 0 else x.ndim + self.axis
        return x.reshape(int(np.prod(x.shape[:ax], dtype=int)), -1)


class Reshape(Layer):
    """Reshape with ONNX semantics: ``0`` copies the input's dimension, ``-1`` is inferred."""

    kind = "reshape"

    def __init__(self, shape, name=None, inputs=None):
        super().__init__(name, inputs)
        self.shape = [int(s) for s in shape]

    def spec(self):
        """``{"shape": shape}`` (ONNX semantics: 0 copies, -1 inferred)."""
        return {"shape": list(self.shape)}

    def forward(self, x, mvm=None):
        """``x`` reshaped to ``shape``; raises :class:`NetworkError` when the sizes do not match."""
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(self.shape)]
        try:
            return x.reshape(shape)
        except ValueError:
            raise NetworkError(f"reshape {self.name!r}: cannot reshape {x.shape} to {self.shape}") from None


class Add(Layer):
    """Element-wise sum (residual connection) of two inputs, or of one input and a constant."""

    kind = "add"
    n_inputs = 2

    def __init__(self, constant=None, name=None, inputs=None):
        super().__init__(name, inputs)
        self.constant = None if constant is None else np.asarray(constant, dtype=float)

    def arrays(self):
        """``{"constant": array}`` when the layer adds a constant, else empty."""
        return {} if self.constant is None else {"constant": self.constant}

    def forward(self, *xs, mvm=None):
        """Element-wise (broadcast) sum of the inputs ``xs`` and the constant, if any."""
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        if self.constant is not None:
            out = out + self.constant
        return out


class Identity(Layer):
    """Passes its input through (ONNX Identity, Dropout at inference)."""

    kind = "identity"

    def forward(self, x, mvm=None):
        """``x`` unchanged."""
        return x


#: kind -> layer class, for loading saved networks.
LAYER_TYPES: dict[str, type[Layer]] = {
    c.kind: c
    for c in (Dense, Conv2d, MaxPool2d, AvgPool2d, GlobalAvgPool2d, BatchNorm, ReLU, Sigmoid, Tanh, Softmax,
              Flatten, Reshape, Add, Identity)
}
