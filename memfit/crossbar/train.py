"""A small numpy trainer (Adam, softmax cross-entropy, mini-batches) and the built-in networks.

Enough to give the crossbar engine real networks without a deep-learning framework: MLPs and
small CNNs (dense, convolution, pooling, ReLU/sigmoid/tanh, residual add, flatten; batch-norm
layers are kept frozen as affine maps).  Training is seeded and deterministic for a given
machine.

* :func:`mlp`, :func:`small_cnn` -- build untrained networks (He-normal initialisation);
* :func:`train` -- train a network in place, returns the per-epoch history;
* :func:`builtin_network` -- ``"digits-mlp"`` / ``"digits-cnn"``: trained on scikit-learn's 8x8
  digits at first use (a second or two), then cached in memory and on disk.

References: D. P. Kingma, J. Ba, "Adam: A method for stochastic optimization", ICLR 2015,
arXiv:1412.6980; K. He et al., "Delving deep into rectifiers", ICCV 2015,
doi:10.1109/ICCV.2015.123 (initialisation).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Sequence

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
    ReLU,
    Reshape,
    Sigmoid,
    Softmax,
    Tanh,
    NetworkError,
    col2im,
    im2col,
)
from memfit.crossbar.network import INPUT, Network

__all__ = ["mlp", "small_cnn", "train", "softmax_cross_entropy", "backprop", "builtin_network", "BUILTINS", "cache_dir"]

_ACT = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}


# ============================================================================ builders
def mlp(sizes: Sequence[int], activation: str = "relu", seed: int = 0, softmax: bool = False) -> Network:
    """A fully connected network ``sizes[0] -> ... -> sizes[-1]`` with He-normal weights, zero biases.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths including input and output, e.g. ``(784, 256, 128, 10)``.
    activation : {"relu", "sigmoid", "tanh"}
        Between the dense layers (none after the last).
    seed : int
    softmax : bool
        End with a softmax layer (the trainer then uses the logits before it).
    """
    if activation not in _ACT:
        raise NetworkError(f"activation {activation!r} unknown; use one of {list(_ACT)}")
    if len(sizes) < 2:
        raise NetworkError(f"an MLP needs at least input and output sizes, got {list(sizes)}")
    rng = np.random.default_rng(seed)
    layers = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Dense(rng.normal(0.0, np.sqrt(2.0 / n_in), (n_out, n_in)), np.zeros(n_out), name=f"fc{k + 1}"))
        if k < len(sizes) - 2:
            layers.append(_ACT[activation](name=f"{activation}{k + 1}"))
    if softmax:
        layers.append(Softmax(name="softmax"))
    return Network.sequential(layers, input_shape=(sizes[0],))


def small_cnn(input_shape=(1, 8, 8), channels: Sequence[int] = (8, 16), n_classes: int = 10, seed: int = 0,
              kernel: int = 3) -> Network:
    """A small CNN: per entry of ``channels`` a same-padded conv + ReLU + 2x2 max-pool, then a dense layer.

    Parameters
    ----------
    input_shape : (C, H, W)
    channels : sequence of int
        Output channels of the successive convolutions.
    n_classes : int
    seed : int
    kernel : int
        Odd convolution kernel size.
    """
    rng = np.random.default_rng(seed)
    c, h, w = input_shape
    layers = []
    for k, ch in enumerate(channels):
        fan_in = c * kernel * kernel
        layers += [Conv2d(rng.normal(0, np.sqrt(2.0 / fan_in), (ch, c, kernel, kernel)), np.zeros(ch),
                          padding=kernel // 2, name=f"conv{k + 1}"),
                   ReLU(name=f"relu{k + 1}"), MaxPool2d(2, name=f"pool{k + 1}")]
        c, h, w = ch, h // 2, w // 2
    n_flat = c * h * w
    layers += [Flatten(name="flatten"),
               Dense(rng.normal(0, np.sqrt(2.0 / n_flat), (n_classes, n_flat)), np.zeros(n_classes), name="fc")]
    return Network.sequential(layers, input_shape=input_shape)


# ============================================================================ loss
def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy and its gradient with respect to the logits.

    Parameters
    ----------
    logits : ndarray (batch, classes)
    labels : ndarray (batch,) int

    Returns
    -------
    loss : float
        ``mean(-log softmax(logits)[label])`` [nats].
    grad : ndarray (batch, classes)
        ``(softmax(logits) - onehot(label)) / batch``.
    """
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = logits.shape[0]
    loss = -float(logp[np.arange(n), labels].mean())
    grad = np.exp(logp)
    grad[np.arange(n), labels] -= 1.0
    return loss, grad / n


# ============================================================================ backward pass
def _backward_layer(layer, xs, y, dy):
    """Gradients of one layer: (list of d inputs, dict of d arrays)."""
    if isinstance(layer, Dense):
        x = xs[0]
        grads = {"weight": dy.T @ x}
        if layer.bias is not None:
            grads["bias"] = dy.sum(axis=0)
        return [dy @ layer.weight], grads
    if isinstance(layer, Conv2d):
        x = xs[0]
        rows, _ = layer.to_rows(x)
        dyr = dy.transpose(0, 2, 3, 1).reshape(-1, dy.shape[1])
        grads = {"weight": (dyr.T @ rows).reshape(layer.weight.shape)}
        if layer.bias is not None:
            grads["bias"] = dyr.sum(axis=0)
        drows = dyr @ layer.matrix()
        return [col2im(drows, x.shape, layer.kernel, layer.stride, layer.padding, layer.dilation)], grads
    if isinstance(layer, ReLU):
        return [dy * (xs[0] > 0)], {}
    if isinstance(layer, Sigmoid):
        return [dy * y * (1.0 - y)], {}
    if isinstance(layer, Tanh):
        return [dy * (1.0 - y * y)], {}
    if isinstance(layer, Softmax):
        return [y * (dy - (dy * y).sum(axis=layer.axis, keepdims=True))], {}
    if isinstance(layer, (Flatten, Reshape, Identity)):
        return [dy.reshape(xs[0].shape)], {}
    if isinstance(layer, Add):
        return [_unbroadcast(dy, x.shape) for x in xs], {}
    if isinstance(layer, BatchNorm):
        a, _ = layer.affine()
        return [dy * a.reshape((1, -1) + (1,) * (dy.ndim - 2))], {}
    if isinstance(layer, GlobalAvgPool2d):
        x = xs[0]
        return [np.broadcast_to(dy / (x.shape[2] * x.shape[3]), x.shape).copy()], {}
    if isinstance(layer, (MaxPool2d, AvgPool2d)):
        x = xs[0]
        n, c, h, w = x.shape
        xr = x.reshape(n * c, 1, h, w)
        dyf = dy.reshape(-1)
        k = layer.kernel_size[0] * layer.kernel_size[1]
        if isinstance(layer, MaxPool2d):
            rows, _ = im2col(xr, layer.kernel_size, layer.stride, layer.padding, pad_value=-np.inf)
            drows = np.zeros_like(rows)
            drows[np.arange(rows.shape[0]), rows.argmax(axis=1)] = dyf
        else:
            if layer.count_include_pad or not any(layer.padding):
                cnt = np.full(dyf.size, float(k))
            else:
                ones, _ = im2col(np.ones((1, 1, h, w)), layer.kernel_size, layer.stride, layer.padding)
                cnt = np.tile(ones.sum(axis=1), n * c)
            drows = np.repeat((dyf / cnt)[:, None], k, axis=1)
        dx = col2im(drows, xr.shape, layer.kernel_size, layer.stride, layer.padding)
        return [dx.reshape(x.shape)], {}
    raise NetworkError(f"the built-in trainer cannot differentiate layer {layer.name!r} ({layer.kind})")


def _unbroadcast(g, shape):
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for ax, s in enumerate(shape):
        if s == 1 and g.shape[ax] != 1:
            g = g.sum(axis=ax, keepdims=True)
    return g


def _logits_node(net: Network) -> str:
    """The node whose output is fed to the cross-entropy: the softmax's input if the network ends in one."""
    out = net[net.output]
    return out.inputs[0] if isinstance(out, Softmax) else net.output


def backprop(net: Network, values: dict, labels: np.ndarray, layer_backward=None):
    """Cross-entropy of a forward pass and the gradients of its layers, back to front.

    Parameters
    ----------
    net : Network
    values : dict
        Every node's output of the forward pass (``Network.forward(..., return_all=True)``, or a
        hardware forward such as the HWA or in-situ one).
    labels : ndarray (batch,) int
    layer_backward : callable, optional
        ``(layer, inputs, output, d_output) -> (d_inputs, d_arrays)``; default the exact float
        gradients (straight-through for quantizers).  In-situ training reads its matrix layers'
        input gradients through the array here.

    Returns
    -------
    loss : float
        Mean cross-entropy [nats] of the logits.
    logits : ndarray (batch, classes)
    grads : dict (layer name, array name) -> ndarray
    """
    back = _backward_layer if layer_backward is None else layer_backward
    logit_node = _logits_node(net)
    logits = values[logit_node]
    loss, dlogits = softmax_cross_entropy(logits, labels)
    dval = {logit_node: dlogits}
    grads = {}
    names = [layer.name for layer in net.layers]
    for layer in reversed(net.layers[: names.index(logit_node) + 1]):
        if layer.name not in dval:
            continue
        dxs, dparams = back(layer, [values[s] for s in layer.inputs], values[layer.name], dval.pop(layer.name))
        for src, dx in zip(layer.inputs, dxs):
            if src != INPUT:
                dval[src] = dval[src] + dx if src in dval else dx
        for k, g in dparams.items():
            grads[(layer.name, k)] = g
    return loss, logits, grads


def loss_and_gradients(net: Network, x: np.ndarray, labels: np.ndarray):
    """Cross-entropy loss, the logits, and the gradient of every trainable array (see :func:`backprop`).

    Returns
    -------
    loss : float
    logits : ndarray (batch, classes)
    grads : dict (layer name, array name) -> ndarray
    """
    return backprop(net, net.forward(x, return_all=True), labels)


# ============================================================================ training
class _Adam:
    def __init__(self, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps = lr, beta1, beta2, eps
        self.m, self.v, self.t = {}, {}, 0

    def step(self, params: dict, grads: dict):
        self.t += 1
        for key, g in grads.items():
            m = self.m.get(key, 0.0) * self.b1 + (1 - self.b1) * g
            v = self.v.get(key, 0.0) * self.b2 + (1 - self.b2) * g * g
            self.m[key], self.v[key] = m, v
            mhat = m / (1 - self.b1 ** self.t)
            vhat = v / (1 - self.b2 ** self.t)
            params[key] -= self.lr * mhat / (np.sqrt(vhat) + self.eps)


class _SGD:
    """Plain stochastic gradient descent: ``p -= lr g`` (the update of in-situ training)."""

    def __init__(self, lr):
        self.lr = lr

    def step(self, params: dict, grads: dict):
        for key, g in grads.items():
            params[key] -= self.lr * g


OPTIMIZERS = {"adam": _Adam, "sgd": _SGD}


def _training_arrays(net: Network, x, y, who: str):
    """Inputs as float arrays in the network's input shape and integer labels (counts checked)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=np.int64)
    if x.shape[0] != y.shape[0]:
        raise NetworkError(f"{who}: {x.shape[0]} samples but {y.shape[0]} labels")
    if net.input_shape is not None:
        x = x.reshape((x.shape[0],) + net.input_shape)
    return x, y


def _epochs(net: Network, x, y, grad_fn, *, epochs, batch_size, lr, weight_decay, seed, lr_decay, verbose,
            x_val=None, y_val=None, who="train", optimizer="adam", progress=False):
    """The mini-batch Adam loop shared by :func:`train` and hardware-aware training.

    ``grad_fn(x_batch, y_batch, rng) -> (mean loss, logits, grads by (layer, array))``; ``rng``
    is the generator that also shuffles the batches (hardware-aware training draws its noise
    from it).  Updates the matrix layers' float64 arrays in place; returns (rows, n samples).
    ``progress``: a progress bar (:class:`memfit.crossbar.evaluate.Progress`) on stderr.
    """
    from memfit.crossbar.evaluate import Progress

    params = {(layer.name, k): a for layer in net.layers if layer.is_matrix for k, a in layer.arrays().items()}
    for key, a in params.items():  # train in place on float64 arrays owned by the layers
        if not a.flags.writeable or a.dtype != np.float64:
            raise NetworkError(f"{who}: array {key} is not a writable float64 array")
    if optimizer not in OPTIMIZERS:
        raise NetworkError(f"{who}: optimizer = {optimizer!r} is not allowed; expected one of {list(OPTIMIZERS)}")
    opt = OPTIMIZERS[optimizer](lr)
    rng = np.random.default_rng(seed)
    rows = []
    n = x.shape[0]
    bar = Progress(epochs * -(-n // batch_size), label=who, enabled=progress)
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n)
        tot, correct = 0.0, 0
        for i in range(0, n, batch_size):
            idx = order[i: i + batch_size]
            loss, logits, grads = grad_fn(x[idx], y[idx], rng)
            bar.update(1, f"epoch {epoch} loss {loss:.3f}")
            if weight_decay:
                for key in grads:
                    if key[1] == "weight":
                        grads[key] = grads[key] + weight_decay * params[key]
            opt.step(params, grads)
            tot += loss * idx.size
            correct += int((logits.argmax(axis=1) == y[idx]).sum())
        end_epoch(rows, {"epoch": epoch, "loss": tot / n, "train_accuracy": correct / n}, net, x_val, y_val,
                  verbose)
        opt.lr *= lr_decay
    bar.close()
    return rows, n


def end_epoch(rows: list, row: dict, net, x_val, y_val, verbose: bool) -> None:
    """Close one training epoch's table row: validation accuracy (when validation data is given),
    appended to ``rows`` and printed when ``verbose``.  Shared by float/hardware-aware training
    and training on the array (:mod:`memfit.crossbar.insitu`)."""
    if x_val is not None:
        row["val_accuracy"] = net.accuracy(x_val, y_val)
    rows.append(row)
    if verbose:
        print("  ".join(f"{k} {v:.4g}" for k, v in row.items()), flush=True)


def train(net: Network, x: np.ndarray, y: np.ndarray, epochs: int = 20, batch_size: int = 64, lr: float = 1e-3,
          weight_decay: float = 0.0, seed: int = 0, x_val=None, y_val=None, lr_decay: float = 1.0,
          verbose: bool = False, optimizer: str = "adam", progress: bool = False):
    """Train ``net`` in place with Adam (or plain SGD) on the softmax cross-entropy.

    Parameters
    ----------
    net : Network
        Its dense and convolution weights and biases are trained; batch-norms stay frozen.
    x : ndarray (n, *input_shape)
    y : ndarray (n,) int
        Class labels.
    epochs, batch_size : int
    lr : float
        Adam step size (SGD: learning rate).
    weight_decay : float
        L2 penalty coefficient on the weights (not the biases).
    seed : int
        Seed of the mini-batch shuffling.
    x_val, y_val : ndarray, optional
        Validation data, evaluated after every epoch.
    lr_decay : float
        Learning rate multiplied by this after every epoch.
    verbose : bool
        Print one line per epoch.
    optimizer : {"adam", "sgd"}
        Adam (Kingma & Ba 2015) or plain SGD ``w -= lr g`` (the float counterpart of in-situ
        training, :mod:`memfit.crossbar.insitu`).
    progress : bool
        A progress bar on stderr.

    Returns
    -------
    pandas.DataFrame
        One row per epoch: ``epoch``, ``loss`` (mean training loss [nats]), ``train_accuracy``
        and, with validation data, ``val_accuracy``.
    """
    import pandas as pd

    x, y = _training_arrays(net, x, y, "train")
    rows, n = _epochs(net, x, y, lambda xb, yb, rng: loss_and_gradients(net, xb, yb), epochs=epochs,
                      batch_size=batch_size, lr=lr, weight_decay=weight_decay, seed=seed, lr_decay=lr_decay,
                      verbose=verbose, x_val=x_val, y_val=y_val, who="train", optimizer=optimizer,
                      progress=progress)
    net.meta["training"] = {"optimizer": optimizer, "epochs": epochs, "batch_size": batch_size, "lr": lr,
                            "weight_decay": weight_decay,
                            "seed": seed, "lr_decay": lr_decay, "n_samples": int(n)}
    return pd.DataFrame(rows)


# ============================================================================ built-in networks
#: name -> recipe.  Changing a recipe changes its cache key.
BUILTINS = {
    "digits-mlp": {"kind": "mlp", "sizes": [64, 128, 10], "epochs": 40, "batch_size": 32, "lr": 2e-3,
                   "lr_decay": 0.95, "weight_decay": 1e-4, "seed": 0, "split_seed": 0},
    "digits-cnn": {"kind": "cnn", "channels": [8, 16], "epochs": 25, "batch_size": 32, "lr": 3e-3,
                   "lr_decay": 0.92, "weight_decay": 1e-4, "seed": 0, "split_seed": 0},
}
_MEMORY: dict[str, Network] = {}


def cache_dir() -> Path:
    """Where built-in networks are cached: ``$MEMFIT_CACHE_DIR`` or ``~/.cache/memfit``, plus ``/crossbar``."""
    return Path(os.environ.get("MEMFIT_CACHE_DIR") or Path.home() / ".cache" / "memfit") / "crossbar"


def _train_builtin(name: str) -> Network:
    from memfit.crossbar.data import load_digits

    r = BUILTINS[name]
    data = load_digits(seed=r["split_seed"], image=r["kind"] == "cnn")
    if r["kind"] == "mlp":
        net = mlp(r["sizes"], seed=r["seed"])
    else:
        net = small_cnn((1, 8, 8), r["channels"], 10, seed=r["seed"])
    train(net, data.x_train, data.y_train, epochs=r["epochs"], batch_size=r["batch_size"], lr=r["lr"],
          weight_decay=r["weight_decay"], seed=r["seed"], lr_decay=r["lr_decay"])
    net.meta.update({"name": f"builtin:{name}", "dataset": "digits", "dataset_split_seed": r["split_seed"],
                     "n_classes": 10, "test_accuracy": net.accuracy(data.x_test, data.y_test), "recipe": r})
    return net


def builtin_network(name: str = "digits-mlp", cache: bool = True) -> Network:
    """A built-in network, trained on scikit-learn's 8x8 digits at first use.

    Parameters
    ----------
    name : {"digits-mlp", "digits-cnn"}
        ``digits-mlp``: 64-128-10 MLP (ReLU), about 97 % test accuracy;
        ``digits-cnn``: two conv(3x3)+ReLU+max-pool stages (8, 16 channels) and a dense layer.
    cache : bool
        Reuse the network trained earlier in this process, or stored in :func:`cache_dir`
        (keyed by the recipe); trained networks are written there when possible.

    Returns
    -------
    Network
        A fresh copy; ``meta`` holds the recipe and the float test accuracy on
        ``load_digits(seed=0)``'s test split.
    """
    if name not in BUILTINS:
        raise NetworkError(f"unknown built-in network {name!r}; available: {['builtin:' + k for k in BUILTINS]}")
    key = hashlib.sha256(json.dumps(BUILTINS[name], sort_keys=True).encode()).hexdigest()[:12]
    if cache and key in _MEMORY:
        return _MEMORY[key].copy()
    path = cache_dir() / f"{name}-{key}.npz"
    net = None
    if cache and path.is_file():
        try:
            net = Network.load(path)
        except NetworkError:
            net = None  # a damaged cache file: retrain and overwrite it
    if net is None:
        net = _train_builtin(name)
        if cache:
            try:
                tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
                net.save(tmp)
                os.replace(tmp, path)
            except OSError:
                pass  # a read-only home is fine: the network is then trained in every process
    if cache:
        _MEMORY[key] = net
    return net.copy()
