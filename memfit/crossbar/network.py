"""Network graph: digital forward pass, batch-norm folding, save/load, and the analog network.

A :class:`Network` is a list of layers in topological order; each layer names its inputs
(``"input"`` is the network input) and the last layer (or the one named ``output``) gives the
result.  :meth:`Network.forward` runs it in float64 numpy.  :meth:`Network.on_crossbar` maps every
matrix layer (:class:`~memfit.crossbar.layers.Dense`, :class:`~memfit.crossbar.layers.Conv2d`) onto
an analog matrix of devices (:class:`memfit.crossbar.tile.AnalogMatrix`), programs it, and returns
an :class:`AnalogNetwork` whose ``forward(x, t)`` runs every matrix product through the tiles
(at time ``t`` after programming) and everything else digitally.

Networks are saved as plain ``.npz`` files: one array per layer parameter (``"<layer>/<array>"``)
and a JSON description of the graph under the key ``"__graph__"``.

>>> from memfit.crossbar.layers import Dense, ReLU
>>> import numpy as np
>>> net = Network.sequential([Dense(np.eye(3)), ReLU()], input_shape=(3,))
>>> net.forward(np.array([[1.0, -2.0, 3.0]]))
array([[1., 0., 3.]])
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from memfit.crossbar.layers import LAYER_TYPES, BatchNorm, Layer, MatrixLayer, NetworkError

__all__ = ["Network", "AnalogNetwork", "NetworkError", "load_network", "FORMAT_VERSION"]

#: Version of the saved-network format (``.npz`` + JSON graph).
FORMAT_VERSION = "1.0"
INPUT = "input"


class Network:
    """A graph of layers run in numpy.

    Parameters
    ----------
    layers : sequence of Layer
        In topological order; every layer has a unique ``name`` and names its ``inputs``.
    input_shape : tuple of int, optional
        Shape of one sample (without the batch axis), e.g. ``(784,)`` or ``(1, 28, 28)``.
    output : str, optional
        Name of the layer whose output is the network output (default: the last layer).
    meta : dict, optional
        Free JSON-able information (training data, accuracy, provenance).
    """

    def __init__(self, layers: Sequence[Layer], input_shape: Sequence[int] | None = None,
                 output: str | None = None, meta: dict | None = None):
        self.layers = list(layers)
        self.input_shape = None if input_shape is None else tuple(int(s) for s in input_shape)
        self.meta = dict(meta or {})
        if not self.layers:
            raise NetworkError("a network needs at least one layer")
        seen = {INPUT}
        for i, layer in enumerate(self.layers):
            if not layer.name:
                raise NetworkError(f"layer {i} ({type(layer).__name__}) has no name")
            if layer.name in seen:
                raise NetworkError(f"layer name {layer.name!r} is used twice (or is the reserved name 'input')")
            if not layer.inputs:
                raise NetworkError(f"layer {layer.name!r} names no inputs")
            for src in layer.inputs:
                if src not in seen:
                    raise NetworkError(f"layer {layer.name!r} reads {src!r}, which is not an earlier layer "
                                       "or 'input' (layers must be in topological order)")
            seen.add(layer.name)
        self.output = output or self.layers[-1].name
        if self.output not in seen:
            raise NetworkError(f"output {self.output!r} is not a layer of the network")

    # ------------------------------------------------------------------ construction
    @classmethod
    def sequential(cls, layers: Sequence[Layer], input_shape=None, meta=None) -> "Network":
        """Chain layers one after the other, naming unnamed layers ``<kind><index>``.

        Parameters
        ----------
        layers : sequence of Layer
            Layers without ``inputs`` read the previous layer (the first reads ``"input"``).
        input_shape : tuple of int, optional
            Shape of one sample.
        """
        prev = INPUT
        out = []
        for i, layer in enumerate(layers):
            if not layer.name:
                layer.name = f"{layer.kind}{i}"
            if not layer.inputs:
                layer.inputs = (prev,)
            prev = layer.name
            out.append(layer)
        return cls(out, input_shape=input_shape, meta=meta)

    def copy(self) -> "Network":
        """A deep copy (arrays copied)."""
        return Network([layer.copy() for layer in self.layers], self.input_shape, self.output, json.loads(
            json.dumps(self.meta)))

    def __getitem__(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def matrix_layers(self) -> list[MatrixLayer]:
        """The layers that a crossbar computes (dense and convolution), in order."""
        return [layer for layer in self.layers if layer.is_matrix]

    @property
    def n_parameters(self) -> int:
        """Number of stored parameters (weights, biases, batch-norm statistics)."""
        return int(sum(a.size for layer in self.layers for a in layer.arrays().values()))

    def __repr__(self) -> str:
        lines = [f"Network(input_shape={self.input_shape}, output={self.output!r}, {self.n_parameters} parameters)"]
        lines += [f"  {layer!r} <- {', '.join(layer.inputs)}" for layer in self.layers]
        return "\n".join(lines)

    # ------------------------------------------------------------------ running
    def forward(self, x: np.ndarray, mvm: Mapping[str, Callable] | None = None, batch_size: int | None = None,
                return_all: bool = False):
        """Run the network.

        Parameters
        ----------
        x : ndarray (batch, *input_shape)
            Inputs (any float dtype; computed in float64).
        mvm : mapping layer name -> callable, optional
            Replacement for the matrix product of those matrix layers (``rows -> rows @ W.T``);
            this is how :class:`AnalogNetwork` runs layers on tiles.
        batch_size : int, optional
            Process the inputs in chunks of this many samples (limits im2col memory).
        return_all : bool
            Return every node's output as a dict (only without ``batch_size``).

        Returns
        -------
        ndarray (batch, ...) or dict
        """
        x = np.asarray(x, dtype=float)
        if self.input_shape is not None and tuple(x.shape[1:]) != self.input_shape:
            if x.ndim >= 1 and int(np.prod(x.shape[1:])) == int(np.prod(self.input_shape)):
                x = x.reshape((x.shape[0],) + self.input_shape)
            else:
                raise NetworkError(f"input of shape {x.shape} does not match the network's input shape "
                                   f"(batch, {', '.join(map(str, self.input_shape))})")
        if batch_size and x.shape[0] > batch_size and not return_all:
            return np.concatenate([self.forward(x[i: i + batch_size], mvm=mvm)
                                   for i in range(0, x.shape[0], batch_size)])
        mvm = mvm or {}
        values = {INPUT: x}
        for layer in self.layers:
            args = [values[s] for s in layer.inputs]
            if layer.is_matrix:
                values[layer.name] = layer.forward(*args, mvm=mvm.get(layer.name))
            else:
                values[layer.name] = layer.forward(*args)
        return values if return_all else values[self.output]

    __call__ = forward

    def predict(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Class index (argmax of the output) for every sample."""
        return np.argmax(self.forward(x, batch_size=batch_size), axis=-1)

    def accuracy(self, x: np.ndarray, labels: np.ndarray, batch_size: int = 1024) -> float:
        """Fraction of samples whose argmax output equals the label (digital, float64)."""
        return float(np.mean(self.predict(x, batch_size) == np.asarray(labels)))

    # ------------------------------------------------------------------ transformations
    def consumers(self, name: str) -> list[Layer]:
        """Layers that read the output of ``name``."""
        return [layer for layer in self.layers if name in layer.inputs]

    def fold_batchnorm(self) -> "Network":
        """A copy with every batch-norm that directly follows a matrix layer folded into it.

        ``BN(W x + b) = a * (W x + b) + c`` becomes ``W' = a[:, None] * W`` and ``b' = a b + c``
        (exact up to rounding).  A batch-norm after anything else (or after a matrix layer whose
        output is also used elsewhere) stays as a digital layer.
        """
        net = self.copy()
        layers = {layer.name: layer for layer in net.layers}
        removed = {}
        for layer in list(net.layers):
            if not isinstance(layer, BatchNorm):
                continue
            src = layers[layer.inputs[0]]
            if not (isinstance(src, MatrixLayer) and len(net.consumers(src.name)) == 1 and src.name != net.output):
                continue
            a, c = layer.affine()
            if a.size != src.matrix().shape[0]:
                raise NetworkError(f"batch-norm {layer.name!r} has {a.size} channels but {src.name!r} "
                                   f"produces {src.matrix().shape[0]}")
            src.set_matrix(src.matrix() * a[:, None])
            b = src.bias if src.bias is not None else np.zeros(a.size)
            src.bias = a * b + c
            removed[layer.name] = src.name
        if not removed:
            return net
        kept = []
        for layer in net.layers:
            if layer.name in removed:
                continue
            layer.inputs = tuple(removed.get(s, s) for s in layer.inputs)
            kept.append(layer)
        output = removed.get(net.output, net.output)
        return Network(kept, net.input_shape, output, net.meta)

    # ------------------------------------------------------------------ save / load
    def to_arrays(self) -> dict[str, np.ndarray]:
        """Every parameter array as ``{"<layer>/<name>": array}`` plus ``"__graph__"`` (JSON text)."""
        graph = {
            "format": "memfit-network",
            "version": FORMAT_VERSION,
            "input_shape": None if self.input_shape is None else list(self.input_shape),
            "output": self.output,
            "meta": self.meta,
            "layers": [{"name": layer.name, "kind": layer.kind, "inputs": list(layer.inputs), "spec": layer.spec()}
                       for layer in self.layers],
        }
        arrays = {"__graph__": np.array(json.dumps(graph))}
        for layer in self.layers:
            for k, v in layer.arrays().items():
                arrays[f"{layer.name}/{k}"] = np.asarray(v)
        return arrays

    def save(self, path: str | Path) -> Path:
        """Write the network to a ``.npz`` file (numpy arrays + a JSON graph; no pickle).

        Returns
        -------
        Path
        """
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **self.to_arrays())
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Network":
        """Read a network written by :meth:`save`.

        Raises
        ------
        NetworkError
            Naming the file and what is wrong with it.
        """
        path = Path(path)
        if not path.is_file():
            raise NetworkError(f"network file {path} does not exist")
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise NetworkError(f"network file {path}: not a readable .npz file ({exc})") from None
        return cls.from_arrays(data, source=str(path))

    @classmethod
    def from_arrays(cls, data: Mapping[str, np.ndarray], source: str = "<arrays>") -> "Network":
        """Build a network from the dict written by :meth:`to_arrays`."""
        if "__graph__" not in data:
            raise NetworkError(f"network file {source}: no '__graph__' entry (not written by memfit's Network.save)")
        try:
            graph = json.loads(str(data["__graph__"]))
        except json.JSONDecodeError as exc:
            raise NetworkError(f"network file {source}: '__graph__' is not valid JSON ({exc})") from None
        if graph.get("format") != "memfit-network":
            raise NetworkError(f"network file {source}: '__graph__' format is {graph.get('format')!r}, "
                               "expected 'memfit-network'")
        layers = []
        for entry in graph.get("layers", []):
            kind = entry.get("kind")
            if kind not in LAYER_TYPES:
                raise NetworkError(f"network file {source}: layer {entry.get('name')!r} has unknown kind {kind!r}; "
                                   f"known: {sorted(LAYER_TYPES)}")
            prefix = f"{entry['name']}/"
            arrays = {k[len(prefix):]: np.asarray(v) for k, v in data.items() if k.startswith(prefix)}
            try:
                layers.append(LAYER_TYPES[kind].from_spec(entry["name"], entry["inputs"], entry.get("spec", {}),
                                                          arrays))
            except TypeError as exc:
                raise NetworkError(f"network file {source}: layer {entry['name']!r} ({kind}): {exc}") from None
        return cls(layers, graph.get("input_shape"), graph.get("output"), graph.get("meta"))

    # ------------------------------------------------------------------ analog
    def on_crossbar(self, device, config="baseline-ftj", rng=None, layer_configs=None, program: bool = True,
                    matrix_factory: Callable | None = None) -> "AnalogNetwork":
        """Map every matrix layer onto analog tiles of ``device`` and program them.

        See :class:`AnalogNetwork` for the parameters.
        """
        return AnalogNetwork(self, device, config, rng=rng, layer_configs=layer_configs, program=program,
                             matrix_factory=matrix_factory)


# ============================================================================ analog network
def _resolve_device(device):
    """A CrossbarDevice from a device, a Preset, or a preset name/path."""
    from memfit.crossbar.device import CrossbarDevice

    if isinstance(device, CrossbarDevice):
        return device
    return CrossbarDevice.from_preset(device)


def _resolve_config(config):
    """A CrossbarConfig from a config or a config name."""
    if isinstance(config, str):
        from memfit.crossbar.config import get_config

        return get_config(config)
    return config


def _default_factory(weight, device, config, rng):
    from memfit.crossbar.tile import AnalogMatrix

    return AnalogMatrix(weight, device=device, config=config, rng=rng)


def child_rngs(rng, n: int) -> list[np.random.Generator]:
    """``n`` independent generators derived from ``rng`` (a Generator, a seed, or None)."""
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    seeds = rng.integers(0, 2**63 - 1, size=n)
    return [np.random.default_rng(int(s)) for s in seeds]


class AnalogNetwork:
    """A network whose matrix layers run on programmed analog tiles.

    Batch-norms after matrix layers are folded first (:meth:`Network.fold_batchnorm`); biases
    are added digitally.

    Parameters
    ----------
    network : Network
    device : CrossbarDevice, Preset or str
        The device the tiles are made of (a preset name or file is turned into a device with
        :meth:`memfit.crossbar.device.CrossbarDevice.from_preset`).
    config : CrossbarConfig or str
        Mapping and non-ideality settings (a name such as ``"baseline-ftj"`` is looked up).
    rng : numpy.random.Generator or int, optional
        Randomness of programming and of the forward noise; each layer gets its own child stream.
    layer_configs : mapping layer name -> CrossbarConfig or None, optional
        Per-layer overrides of ``config``; ``None`` keeps that layer digital (exact float).
    program : bool
        Program the tiles now (default).  Otherwise call :meth:`program`.
    matrix_factory : callable, optional
        ``factory(weight, device, config, rng)`` returning an object with ``program()``,
        ``forward(x, t)`` and ``effective_weight(t)``; default
        :class:`memfit.crossbar.tile.AnalogMatrix`.

    Attributes
    ----------
    tiles : dict layer name -> AnalogMatrix
    reports : dict layer name -> ProgrammingReport or None
    """

    def __init__(self, network: Network, device, config="baseline-ftj", rng=None, layer_configs=None,
                 program: bool = True, matrix_factory: Callable | None = None):
        self.network = network.fold_batchnorm()
        self.device = _resolve_device(device) if matrix_factory is None else device
        self.config = _resolve_config(config)
        factory = matrix_factory or _default_factory
        layer_configs = dict(layer_configs or {})
        names = [layer.name for layer in self.network.matrix_layers()]
        unknown = set(layer_configs) - set(names)
        if unknown:
            raise NetworkError(f"layer_configs names {sorted(unknown)}, which are not matrix layers; "
                               f"matrix layers: {names}")
        self.layer_configs = {}
        self.tiles = {}
        self.reports: dict = {}
        for layer, r in zip(self.network.matrix_layers(), child_rngs(rng, len(names))):
            cfg = _resolve_config(layer_configs[layer.name]) if layer.name in layer_configs else self.config
            self.layer_configs[layer.name] = cfg
            if cfg is not None:
                self.tiles[layer.name] = factory(layer.matrix(), self.device, cfg, r)
        if program:
            self.program()

    def program(self) -> dict:
        """Program every tile (per its config's programming scheme); returns the reports by layer."""
        self.reports = {name: tile.program() for name, tile in self.tiles.items()}
        return self.reports

    def forward(self, x: np.ndarray, t: float = 0.0, batch_size: int | None = 1024) -> np.ndarray:
        """Run the network with the matrix layers on the tiles.

        Parameters
        ----------
        x : ndarray (batch, *input_shape)
        t : float
            Time since programming [s] (drift).
        batch_size : int, optional
            Samples per chunk.
        """
        mvm = {name: (lambda rows, tile=tile: tile.forward(rows, t=t)) for name, tile in self.tiles.items()}
        return self.network.forward(x, mvm=mvm, batch_size=batch_size)

    __call__ = forward

    def predict(self, x, t: float = 0.0, batch_size: int | None = 1024) -> np.ndarray:
        """Class index for every sample at time ``t`` [s] after programming."""
        return np.argmax(self.forward(x, t=t, batch_size=batch_size), axis=-1)

    def accuracy(self, x, labels, t: float = 0.0, batch_size: int | None = 1024) -> float:
        """Classification accuracy at time ``t`` [s] after programming."""
        return float(np.mean(self.predict(x, t, batch_size) == np.asarray(labels)))

    def effective_network(self, t: float = 0.0) -> Network:
        """A digital network holding the weights the hardware really holds at time ``t`` [s]."""
        net = self.network.copy()
        for name, tile in self.tiles.items():
            net[name].set_matrix(tile.effective_weight(t=t))
        return net


# ============================================================================ loading by name
def load_network(spec: str | Path | Network) -> Network:
    """A network from a name or a file.

    Parameters
    ----------
    spec : str, Path or Network
        ``"builtin:digits-mlp"`` (trained at first use, see :func:`memfit.crossbar.train.builtin_network`),
        a ``.onnx`` file (needs the ``onnx`` package) or a ``.npz`` file written by
        :meth:`Network.save`.

    Raises
    ------
    NetworkError
        Unknown built-in, missing file or unknown file type, naming it.
    """
    if isinstance(spec, Network):
        return spec
    text = str(spec)
    if text.startswith("builtin:"):
        from memfit.crossbar.train import builtin_network

        return builtin_network(text.split(":", 1)[1])
    path = Path(text)
    if path.suffix.lower() == ".onnx":
        if not path.is_file():
            raise NetworkError(f"network file {path} does not exist")
        from memfit.crossbar.onnx_import import load_onnx

        return load_onnx(path)
    if path.suffix.lower() == ".npz":
        return Network.load(path)
    raise NetworkError(f"network {text!r}: expected 'builtin:NAME', a .onnx file or a .npz weight file")
