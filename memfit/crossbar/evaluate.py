r"""Evaluation of networks on crossbars: accuracy over time, normalized accuracy, Monte Carlo, sweeps, VMM error.

Every function returns a pandas DataFrame with one row per (repeat, time, setting), so results
can be summarised (:func:`summarize`), plotted (:mod:`memfit.plotting.crossbar`) and written to a
report (:mod:`memfit.crossbar.report`) the same way.

* :func:`evaluate_accuracy` -- Monte Carlo repeats (the tiles are re-programmed with a fresh,
  seeded draw each repeat) x read times after programming (default 0 s, 1 h, 1 day, 1 year);
* :func:`normalized_accuracy` -- :math:`A^* = 1 - (\epsilon - \epsilon_{FP}) / (\epsilon_{chance} - \epsilon_{FP})`;
* :func:`evaluate_configs` -- the same for several named configurations (e.g. direct mapping,
  write-verify, two devices per weight), with common random numbers;
* :func:`sensitivity_sweep` -- one configuration field swept at a time (ADC/DAC bits, output and
  weight noise);
* :func:`layer_sensitivity` -- one layer at a time moved to another tile configuration (by default
  an ideal, noise-free one), layers ranked by how much accuracy that recovers;
* :func:`vmm_error` -- :math:`\lVert y - y_{ideal}\rVert / \lVert y_{ideal}\rVert` on a Gaussian
  matrix with uniform inputs;
* :func:`compare_crossbar_kinds` -- the same network on a memristive and on a memcapacitive
  crossbar (:mod:`memfit.crossbar.memcap`): accuracy and energy/latency per inference side by side.

Long runs print a progress bar on stderr (:class:`Progress`) and can be stopped with Ctrl-C: the
repeats finished so far are returned (``df.attrs["interrupted"]`` is then True).

References: normalized accuracy and VMM error as in M. J. Rasch et al., "Hardware-aware training
for large-scale and diverse deep learning inference workloads using in-memory computing-based
accelerators", Nat. Commun. 14, 5282 (2023), doi:10.1038/s41467-023-40770-4, and the Lund/Ericsson
FTJ thesis (seed 001, section 3 and Tables 4.1-4.2).
"""

from __future__ import annotations

import sys
import time
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from memfit.crossbar.network import AnalogNetwork, NetworkError, load_network

__all__ = [
    "DEFAULT_TIMES",
    "TIME_LABELS",
    "DEFAULT_SWEEPS",
    "Progress",
    "normalized_accuracy",
    "evaluate_accuracy",
    "evaluate_configs",
    "sensitivity_sweep",
    "layer_sensitivity",
    "vmm_error",
    "summarize",
    "time_label",
    "compare_crossbar_kinds",
]

#: Read times after programming [s]: 0, 1 hour, 1 day, 1 year.
DEFAULT_TIMES = (0.0, 3600.0, 86400.0, 3.15e7)
TIME_LABELS = {0.0: "0 s", 1.0: "1 s", 60.0: "1 min", 3600.0: "1 h", 86400.0: "1 day", 604800.0: "1 week",
               2.592e6: "30 days", 3.15e7: "1 year", 3.1536e7: "1 year", 3.15576e7: "1 year"}
#: The sensitivity sweeps of the thesis: converters 4-8 bits, output and weight noise 0-40 %.
DEFAULT_SWEEPS = {
    "adc_bits": [4, 5, 6, 7, 8],
    "dac_bits": [4, 5, 6, 7, 8],
    "out_noise": [0.0, 0.05, 0.1, 0.2, 0.3, 0.4],
    "w_noise": [0.0, 0.05, 0.1, 0.2, 0.3, 0.4],
}


def time_label(t: float) -> str:
    """A readable name for a read time [s] (``3600 -> "1 h"``)."""
    t = float(t)
    if t in TIME_LABELS:
        return TIME_LABELS[t]
    for unit, s in (("year", 3.15e7), ("day", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if t >= s:
            return f"{t / s:.3g} {unit}"
    return f"{t:.3g} s"


# ============================================================================ progress
class Progress:
    """A tiny progress bar on stderr (no dependency): ``label [#####.....] 5/10  3.1 s, ~3.1 s left``.

    On a terminal the bar is redrawn in place; otherwise a line is printed at most every
    ``min_interval`` seconds and at the end.

    Parameters
    ----------
    total : int
        Number of steps.
    label : str
    enabled : bool
        False prints nothing.
    stream : file, optional
        Default ``sys.stderr``.
    min_interval : float
        Seconds between lines when the stream is not a terminal.
    """

    def __init__(self, total: int, label: str = "", enabled: bool = True, stream=None, min_interval: float = 5.0):
        self.total, self.label, self.enabled = max(int(total), 1), label, enabled
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.min_interval = min_interval
        self.n = 0
        self.t0 = time.perf_counter()
        self._last = -np.inf

    def _line(self, info: str) -> str:
        el = time.perf_counter() - self.t0
        width = 20
        fill = int(width * self.n / self.total)
        eta = el / self.n * (self.total - self.n) if self.n else float("nan")
        left = f", ~{eta:.1f} s left" if self.n and self.n < self.total else ""
        return f"{self.label} [{'#' * fill}{'.' * (width - fill)}] {self.n}/{self.total}  {el:.1f} s{left}" + \
            (f"  {info}" if info else "")

    def update(self, n: int = 1, info: str = "") -> None:
        """Advance by ``n`` steps and redraw."""
        self.n += n
        if not self.enabled:
            return
        now = time.perf_counter()
        if self.tty:
            self.stream.write("\r" + self._line(info) + "\x1b[K")
            self.stream.flush()
        elif now - self._last >= self.min_interval or self.n >= self.total:
            self.stream.write(self._line(info) + "\n")
            self.stream.flush()
            self._last = now

    def close(self, note: str = "") -> None:
        """Finish the bar (newline on a terminal), optionally with a note."""
        if self.enabled:
            if self.tty:
                self.stream.write("\n")
            if note:
                self.stream.write(f"{self.label}: {note}\n")
            self.stream.flush()


# ============================================================================ metrics
def normalized_accuracy(accuracy, accuracy_fp, n_classes: int = 10):
    r"""Normalized accuracy :math:`A^* = 1 - (\epsilon - \epsilon_{FP}) / (\epsilon_{chance} - \epsilon_{FP})`.

    1 means the analog network is as good as the floating-point one, 0 that it is as good as
    guessing.

    Parameters
    ----------
    accuracy : float or array
        Accuracy of the analog network [fraction]; :math:`\epsilon = 1 - accuracy`.
    accuracy_fp : float
        Accuracy of the floating-point network [fraction].
    n_classes : int
        Number of (balanced) classes: :math:`\epsilon_{chance} = 1 - 1/n_{classes}`.

    Returns
    -------
    float or ndarray [fraction]

    Raises
    ------
    ValueError
        If the floating-point network is not better than chance (the scale is then undefined).
    """
    eps, eps_fp = 1.0 - np.asarray(accuracy, dtype=float), 1.0 - float(accuracy_fp)
    eps_chance = 1.0 - 1.0 / int(n_classes)
    if not eps_chance > eps_fp:
        raise ValueError(f"normalized accuracy needs a floating-point accuracy above chance (1/{n_classes}), "
                         f"got {accuracy_fp}")
    a = 1.0 - (eps - eps_fp) / (eps_chance - eps_fp)
    return float(a) if a.ndim == 0 else a


def _prepare(network, x, y, n_classes):
    net = load_network(network)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y).astype(np.int64)
    if x.shape[0] != y.shape[0]:
        raise NetworkError(f"{x.shape[0]} samples but {y.shape[0]} labels")
    logits = net.forward(x, batch_size=1024)
    acc_fp = float(np.mean(np.argmax(logits, axis=-1) == y))
    n_classes = int(n_classes or logits.shape[-1])
    return net, x, y, acc_fp, n_classes


def _resolve(device, config, matrix_factory):
    from memfit.crossbar.network import _resolve_config, _resolve_device

    dev = device if matrix_factory is not None else _resolve_device(device)
    return dev, _resolve_config(config)


def _cfg_name(cfg) -> str:
    return str(getattr(cfg, "name", cfg))


def _repeat(net, x, y, dev, cfg, times, r, seed, layer_configs, batch_size, acc_fp, n_classes, matrix_factory,
            extra, progress=None):
    """One Monte Carlo repeat: program fresh tiles (seed ``[seed, r]``) and read them at every time."""
    rng = np.random.default_rng([int(seed), r])
    anet = AnalogNetwork(net, dev, cfg, rng=rng, layer_configs=layer_configs, matrix_factory=matrix_factory)
    reports = [rep for rep in anet.reports.values() if rep is not None]
    n_dev = sum(getattr(rep, "n_devices", 0) for rep in reports)
    within = sum(getattr(rep, "n_within", 0) for rep in reports) / n_dev if n_dev else np.nan
    block = []
    for t in times:
        pred = anet.predict(x, t=float(t), batch_size=batch_size)
        acc = float(np.mean(pred == y))
        block.append({**(extra or {}), "repeat": r, "t": float(t), "time": time_label(t), "accuracy": acc,
                      "error": 1.0 - acc, "accuracy_fp": acc_fp,
                      "normalized_accuracy": normalized_accuracy(acc, acc_fp, n_classes),
                      "fraction_within_tolerance": within})
        if progress is not None:
            progress.update(1, f"last {100 * acc:.2f} %")
    return block


def _repeat_task(shared, i, r):
    """A task of :func:`memfit.parallel.run_tasks`: repeat ``r`` of setting ``i``; the rest is in ``shared``."""
    s = shared
    extra, cfg = s["settings"][i]
    return _repeat(s["net"], s["x"], s["y"], s["dev"], cfg, s["times"], r, s["seed"], s["layer_configs"],
                   s["batch_size"], s["acc_fp"], s["n_classes"], None, extra)


def _mc(net, x, y, dev, cfg, times, repeats, seed, layer_configs, batch_size, acc_fp, n_classes, matrix_factory,
        progress, extra=None, backend=None, store=None, settings=None):
    """Core Monte Carlo loop: list of rows (only whole repeats) and whether Ctrl-C stopped it.

    ``settings`` (a list of ``(extra columns, config)``) runs several configurations; else
    ``cfg`` with ``extra``.  With ``backend`` (see :mod:`memfit.parallel`: ``"local"``,
    ``"dask"``, an address, a ``distributed.Client``) every (setting, repeat) is a task on worker
    processes; the network, data and device are sent once per worker.  Results equal the
    in-process run: repeat ``r`` always uses the seed ``[seed, r]``.
    """
    settings = list(settings) if settings is not None else [(extra, cfg)]
    rows = []
    interrupted = False
    if backend is None and store is None:
        try:
            for ex, c in settings:
                for r in range(repeats):
                    rows += _repeat(net, x, y, dev, c, times, r, seed, layer_configs, batch_size, acc_fp, n_classes,
                                    matrix_factory, ex, progress)
        except KeyboardInterrupt:
            interrupted = True
        return rows, interrupted
    if matrix_factory is not None:
        raise NetworkError("matrix_factory cannot be used with a parallel backend (it is not sent to workers)")
    from memfit.parallel import run_tasks

    shared = {"net": net, "x": x, "y": y, "dev": dev, "settings": settings, "times": list(times), "seed": seed,
              "layer_configs": layer_configs, "batch_size": batch_size, "acc_fp": acc_fp, "n_classes": n_classes}
    def label(extra):  # a file-name-safe key part that names the setting (store keys must not collide)
        text = "_".join(f"{k}-{v}" for k, v in (extra or {}).items())
        return "".join(c if c.isalnum() or c in "-_.=" else "_" for c in text)[:60]

    tasks = [(f"s{i:03d}-{label(ex)}-r{r:04d}", (i, r)) for i, (ex, _) in enumerate(settings) for r in range(repeats)]

    def done(key, block):
        if progress is not None:
            progress.update(len(block), f"last {100 * block[-1]['accuracy']:.2f} %")

    try:
        res = run_tasks(_repeat_task, tasks, shared=shared, backend=backend, store=store, on_result=done)
        for block in res.values():
            rows += block
    except KeyboardInterrupt:
        interrupted = True
    return rows, interrupted


def _frame(rows, attrs):
    df = pd.DataFrame(rows)
    df.attrs.update(attrs)
    return df


def evaluate_accuracy(network, x, y, device, config="baseline-ftj", times: Sequence[float] = DEFAULT_TIMES,
                      repeats: int = 10, seed: int = 0, layer_configs: Mapping | None = None,
                      batch_size: int = 1024, n_classes: int | None = None, progress: bool = True,
                      matrix_factory: Callable | None = None, backend=None, store=None) -> pd.DataFrame:
    """Accuracy of ``network`` on crossbars of ``device``, over read times and Monte Carlo repeats.

    Each repeat programs fresh tiles (seed ``[seed, repeat]``, so a repeat is reproducible on
    its own) and reads them at every time in ``times``.

    Parameters
    ----------
    network : Network or str
        A network or anything :func:`~memfit.crossbar.network.load_network` accepts.
    x : ndarray (n, ...)
        Test inputs.
    y : ndarray (n,) int
        Test labels.
    device : CrossbarDevice, Preset or str
        Device of the tiles (a preset name/file is converted).
    config : CrossbarConfig or str
        Tile configuration (default ``"baseline-ftj"``).
    times : sequence of float
        Read times after programming [s].
    repeats : int
        Monte Carlo repeats (re-programming).
    seed : int
    layer_configs : mapping, optional
        Per-layer configuration overrides (see :class:`~memfit.crossbar.network.AnalogNetwork`).
    batch_size : int
        Samples per forward chunk.
    n_classes : int, optional
        For the chance level of the normalized accuracy (default: the network's output width).
    progress : bool
        Progress bar on stderr.
    matrix_factory : callable, optional
        Replaces :class:`~memfit.crossbar.tile.AnalogMatrix` (testing, other back ends).
    backend : None, "local", "dask", "tcp://host:port" or distributed.Client
        Run the repeats on worker processes or a Dask cluster (:mod:`memfit.parallel`); the
        results are identical to the in-process run (default ``None``).
    store : path, optional
        Keep finished repeats in this folder; a rerun resumes (needs the same settings).

    Returns
    -------
    pandas.DataFrame
        Columns ``repeat``, ``t`` [s], ``time`` (label), ``accuracy``, ``error``, ``accuracy_fp``,
        ``normalized_accuracy`` and ``fraction_within_tolerance`` (programming report; NaN for
        ideal programming).  ``attrs``: ``accuracy_fp``, ``n_classes``, ``config``, ``seed``,
        ``interrupted``.
    """
    net, x, y, acc_fp, n_classes = _prepare(network, x, y, n_classes)
    dev, cfg = _resolve(device, config, matrix_factory)
    times = [float(t) for t in times]
    bar = Progress(repeats * len(times), f"accuracy ({_cfg_name(cfg)})", enabled=progress)
    rows, interrupted = _mc(net, x, y, dev, cfg, times, repeats, seed, layer_configs, batch_size, acc_fp, n_classes,
                            matrix_factory, bar, backend=backend, store=store)
    bar.close("interrupted: keeping the finished repeats" if interrupted else "")
    return _frame(rows, {"accuracy_fp": acc_fp, "n_classes": n_classes, "config": _cfg_name(cfg), "seed": seed,
                         "interrupted": interrupted, "times": times})


def evaluate_configs(network, x, y, device, configs: Mapping[str, object], times: Sequence[float] = DEFAULT_TIMES,
                     repeats: int = 10, seed: int = 0, batch_size: int = 1024, n_classes: int | None = None,
                     progress: bool = True, matrix_factory: Callable | None = None, backend=None,
                     store=None) -> pd.DataFrame:
    """:func:`evaluate_accuracy` for several named configurations (same seeds for all: common random numbers).

    Parameters
    ----------
    configs : mapping label -> CrossbarConfig or str
        E.g. ``{"direct": cfg, "write-verify": cfg.replace(programming="write_verify"),
        "2 devices": cfg.replace(devices_per_weight=2)}``.
    backend, store
        As in :func:`evaluate_accuracy`; every (configuration, repeat) is one task.

    Returns
    -------
    pandas.DataFrame
        As :func:`evaluate_accuracy`, plus a ``setting`` column with the label.
    """
    net, x, y, acc_fp, n_classes = _prepare(network, x, y, n_classes)
    times = [float(t) for t in times]
    bar = Progress(len(configs) * repeats * len(times), "configurations", enabled=progress)
    resolved = [(label, _resolve(device, config, matrix_factory)) for label, config in configs.items()]
    dev = resolved[0][1][0] if resolved else None  # one device for every setting
    rows, interrupted = _mc(net, x, y, dev, None, times, repeats, seed, None, batch_size, acc_fp, n_classes,
                            matrix_factory, bar, backend=backend, store=store,
                            settings=[({"setting": label}, cfg) for label, (_, cfg) in resolved])
    bar.close("interrupted: keeping the finished repeats" if interrupted else "")
    return _frame(rows, {"accuracy_fp": acc_fp, "n_classes": n_classes, "seed": seed, "interrupted": interrupted,
                         "times": times})


def sensitivity_sweep(network, x, y, device, config="baseline-ftj", sweeps: Mapping[str, Sequence] | None = None,
                      times: Sequence[float] = (0.0,), repeats: int = 3, seed: int = 0, batch_size: int = 1024,
                      n_classes: int | None = None, progress: bool = True,
                      matrix_factory: Callable | None = None, backend=None, store=None) -> pd.DataFrame:
    """Accuracy while one configuration field at a time takes each of a list of values.

    Parameters
    ----------
    sweeps : mapping field -> values, optional
        Default :data:`DEFAULT_SWEEPS` (ADC and DAC 4-8 bits, out_noise and w_noise 0-0.4).
        Every other field keeps its value in ``config``.
    times, repeats, seed, batch_size, n_classes, progress, matrix_factory, backend, store
        As in :func:`evaluate_accuracy` (with a backend, every (setting, repeat) is one task).

    Returns
    -------
    pandas.DataFrame
        Columns ``field``, ``value`` and those of :func:`evaluate_accuracy`.
    """
    net, x, y, acc_fp, n_classes = _prepare(network, x, y, n_classes)
    dev, base = _resolve(device, config, matrix_factory)
    sweeps = dict(DEFAULT_SWEEPS if sweeps is None else sweeps)
    cfgs = [(f, v, base.replace(**{f: v})) for f, values in sweeps.items() for v in values]  # validate first
    times = [float(t) for t in times]
    bar = Progress(len(cfgs) * repeats * len(times), "sensitivity sweep", enabled=progress)
    rows, interrupted = _mc(net, x, y, dev, None, times, repeats, seed, None, batch_size, acc_fp, n_classes,
                            matrix_factory, bar, backend=backend, store=store,
                            settings=[({"field": f, "value": v}, cfg) for f, v, cfg in cfgs])
    bar.close("interrupted: keeping the finished repeats" if interrupted else "")
    return _frame(rows, {"accuracy_fp": acc_fp, "n_classes": n_classes, "config": _cfg_name(base), "seed": seed,
                         "interrupted": interrupted, "times": times})


def layer_sensitivity(network, x, y, device, config="baseline-ftj", layer_config=None, t: float = 0.0,
                      repeats: int = 3, seed: int = 0, batch_size: int = 1024, n_classes: int | None = None,
                      progress: bool = True, matrix_factory: Callable | None = None) -> pd.DataFrame:
    """Rank the matrix layers by how much accuracy moving each one alone to ``layer_config`` changes.

    All layers run on ``config``; then, one layer at a time, that layer runs on ``layer_config``
    (default ``config.ideal()``, a noise-free tile) -- with the same seeds, so differences are
    not Monte Carlo noise.  With a *worse* ``layer_config`` (e.g. ``out_noise=1``, as in the
    thesis) the largest losses mark the most sensitive layers.

    Parameters
    ----------
    layer_config : CrossbarConfig, str or None
        Configuration of the moved layer; None means ``config.ideal()``.
    t : float
        Read time after programming [s].

    Returns
    -------
    pandas.DataFrame
        One row per layer plus a first row ``layer="(none)"`` (all on ``config``): ``layer``,
        ``accuracy`` (mean over repeats), ``sem``, ``delta`` (change against all-analog, the
        recovered accuracy), ``normalized_accuracy`` and ``rank`` (1 = most sensitive, i.e. the
        largest ``|delta|``).
    """
    net, x, y, acc_fp, n_classes = _prepare(network, x, y, n_classes)
    dev, cfg = _resolve(device, config, matrix_factory)
    lcfg = cfg.ideal() if layer_config is None else _resolve(device, layer_config, matrix_factory)[1]
    names = [m.name for m in net.fold_batchnorm().matrix_layers()]
    bar = Progress((len(names) + 1) * repeats, "layer sensitivity", enabled=progress)
    results, interrupted = [], False
    for name in [None] + names:
        lc = None if name is None else {name: lcfg}
        r, interrupted = _mc(net, x, y, dev, cfg, [t], repeats, seed, lc, batch_size, acc_fp, n_classes,
                             matrix_factory, bar)
        if r:
            acc = np.array([row["accuracy"] for row in r])
            sem = float(acc.std(ddof=1) / np.sqrt(acc.size)) if acc.size > 1 else np.nan
            results.append({"layer": name or "(none)", "accuracy": float(acc.mean()), "sem": sem, "repeats": acc.size,
                            "normalized_accuracy": normalized_accuracy(float(acc.mean()), acc_fp, n_classes)})
        if interrupted:
            break
    bar.close("interrupted: keeping the finished layers" if interrupted else "")
    df = pd.DataFrame(results)
    if len(df):
        df["delta"] = df["accuracy"] - df["accuracy"].iloc[0]
        order = df.iloc[1:]["delta"].abs().rank(ascending=False, method="min")
        df["rank"] = pd.array([pd.NA] + [int(v) for v in order], dtype="Int64")
    df.attrs.update({"accuracy_fp": acc_fp, "n_classes": n_classes, "config": _cfg_name(cfg),
                     "layer_config": _cfg_name(lcfg), "t": float(t), "interrupted": interrupted})
    return df


def vmm_error(device, config="baseline-ftj", n: int = 512, batch: int = 256, times: Sequence[float] = (0.0,),
              repeats: int = 3, seed: int = 0, progress: bool = False,
              matrix_factory: Callable | None = None) -> pd.DataFrame:
    r"""Relative error of analog matrix-vector products, :math:`\lVert y - y_{ideal}\rVert / \lVert y_{ideal}\rVert`.

    The matrix is ``n x n`` standard-normal, the inputs uniform in [-1, 1]; norms are taken over
    the whole batch (Frobenius).  Each repeat draws a new matrix and programs it afresh.

    Parameters
    ----------
    device : CrossbarDevice, Preset or str
    config : CrossbarConfig or str
    n : int
        Matrix size (512 in the thesis).
    batch : int
        Input vectors per repeat.
    times : sequence of float
        Read times after programming [s].
    repeats, seed, progress, matrix_factory
        As in :func:`evaluate_accuracy`.

    Returns
    -------
    pandas.DataFrame
        Columns ``repeat``, ``t`` [s], ``time``, ``vmm_error`` [fraction].
    """
    dev, cfg = _resolve(device, config, matrix_factory)
    factory = matrix_factory
    if factory is None:
        from memfit.crossbar.network import _default_factory as factory
    bar = Progress(repeats * len(times), "VMM error", enabled=progress)
    rows, interrupted = [], False
    try:
        for r in range(repeats):
            rng = np.random.default_rng([int(seed), r])
            w = rng.standard_normal((n, n))
            x = rng.uniform(-1.0, 1.0, (batch, n))
            y_ideal = x @ w.T
            tile = factory(w, dev, cfg, np.random.default_rng([int(seed), r, 1]))
            tile.program()
            block = []
            for t in times:
                y = np.asarray(tile.forward(x, t=float(t)), dtype=float)
                block.append({"repeat": r, "t": float(t), "time": time_label(t),
                              "vmm_error": float(np.linalg.norm(y - y_ideal) / np.linalg.norm(y_ideal))})
                bar.update()
            rows += block
    except KeyboardInterrupt:
        interrupted = True
    bar.close("interrupted" if interrupted else "")
    return _frame(rows, {"config": _cfg_name(cfg), "n": n, "batch": batch, "interrupted": interrupted})


def summarize(df: pd.DataFrame, by: Sequence[str] | None = None,
              values: Sequence[str] = ("accuracy", "normalized_accuracy")) -> pd.DataFrame:
    """Mean, standard error of the mean and count over repeats.

    Parameters
    ----------
    df : DataFrame
        From one of the evaluation functions.
    by : sequence of str, optional
        Grouping columns (default: whichever of ``setting``, ``field``, ``value``, ``t``, ``time``
        are present).
    values : sequence of str
        Columns to summarise (those present).

    Returns
    -------
    pandas.DataFrame
        One row per group with ``<value>_mean``, ``<value>_sem`` (``std(ddof=1)/sqrt(n)``, NaN for
        one repeat) and ``n``.
    """
    if by is None:
        by = [c for c in ("setting", "field", "value", "t", "time") if c in df.columns]
    values = [v for v in values if v in df.columns]
    g = df.groupby(list(by), sort=False)
    out = g[values].mean().add_suffix("_mean")
    sem = g[values].std(ddof=1) / np.sqrt(g.size().to_numpy()[:, None])
    out = out.join(sem.add_suffix("_sem"))
    out["n"] = g.size()
    out = out[[c for v in values for c in (f"{v}_mean", f"{v}_sem")] + ["n"]].reset_index()
    out.attrs.update(df.attrs)
    return out


# ============================================================================ memristive vs memcapacitive
def compare_crossbar_kinds(network, x, y, resistive_device, resistive_config="baseline-ftj", memcap_spec=None,
                           repeats: int = 10, seed: int = 0, t: float = 0.0, capacitive_config=None,
                           periphery=None, n_energy: int | None = 32, batch_size: int = 1024,
                           n_classes: int | None = None, progress: bool = True,
                           kinds: Sequence[str] = ("resistive", "capacitive")) -> pd.DataFrame:
    """The same network on a memristive (resistive) and on a memcapacitive crossbar, side by side.

    Accuracy: :func:`evaluate_accuracy` at read time ``t`` with ``repeats`` programming repeats
    (same seeds ``[seed, repeat]`` for both kinds).  Energy and latency per inference:
    :func:`memfit.crossbar.energy.network_cost` on the network programmed with repeat 0's seed,
    averaged over the first ``n_energy`` test inputs (32 by default: the mean energy per inference
    converges quickly, as it only depends on the input statistics); resistive tiles are costed with
    :func:`~memfit.crossbar.energy.analog_matrix_cost`, capacitive ones with
    ``tile_cost(kind="capacitive")``, layers summed with
    :func:`~memfit.crossbar.energy.inference_cost`.

    Parameters
    ----------
    network : Network or str
    x, y : ndarray
        Test inputs and labels.
    resistive_device : CrossbarDevice, Preset or str
        Device of the resistive crossbar (e.g. ``"ftj-balanced"``).
    resistive_config : CrossbarConfig or str
        Its configuration (e.g. ``"baseline-ftj"``).
    memcap_spec : CapacitiveFactory or mapping, optional
        The memcapacitive crossbar: a :func:`memfit.crossbar.memcap.capacitive_factory` result, or
        the keyword arguments of one (``device``, ``params``, ``d2d_std``, ``c2c_std``,
        ``c_parasitic`` [F], ``adc_bits``, ``read_voltage`` [V], ...); default: the default
        memcapacitor, no variation, the config's converters.
    repeats, seed : int
        Monte Carlo programming repeats and seed.
    t : float
        Read time after programming [s] (the memcapacitive crossbar does not drift).
    capacitive_config : CrossbarConfig or str, optional
        Tile size, DAC and noise/bound management of the capacitive tiles (default:
        ``resistive_config``).
    periphery : Periphery, optional
        Converter models of the energy estimate (default ``Periphery()``).
    n_energy : int or None
        Test inputs averaged for the energy (None: all).
    batch_size, n_classes, progress
        As in :func:`evaluate_accuracy`.
    kinds : sequence of {"resistive", "capacitive"}
        Which crossbar kinds to evaluate.

    Returns
    -------
    pandas.DataFrame
        One row per kind: ``kind``, ``device``, ``accuracy_mean``, ``accuracy_sem``,
        ``normalized_accuracy_mean``, ``normalized_accuracy_sem``, ``n`` (repeats), ``accuracy_fp``,
        then ``energy [J]`` and ``latency [s]`` per inference and the energy parts (``array [J]``,
        ``DAC [J]``, ``ADC [J]``, ``integrator [J]``).  ``attrs["energy_layers"]``: the per-layer
        rows of :func:`~memfit.crossbar.energy.network_cost` for every kind (list of dicts);
        ``attrs["n_energy"]``, ``attrs["t"]``, ``attrs["seed"]``, ``attrs["interrupted"]``.
    """
    from memfit.crossbar.energy import COST_COLUMNS, network_cost
    from memfit.crossbar.memcap import CapacitiveFactory, capacitive_factory

    unknown = [k for k in kinds if k not in ("resistive", "capacitive")]
    if unknown or not kinds:
        raise NetworkError(f"compare_crossbar_kinds: kinds {list(kinds)} not allowed; expected 'resistive' and/or "
                           "'capacitive'")
    if int(repeats) < 1:
        raise NetworkError(f"compare_crossbar_kinds: repeats must be >= 1, got {repeats}")
    net = load_network(network)
    if isinstance(memcap_spec, CapacitiveFactory):
        factory = memcap_spec
    else:
        factory = capacitive_factory(**dict(memcap_spec or {}))
    setups = {}
    if "resistive" in kinds:
        dev, cfg = _resolve(resistive_device, resistive_config, None)
        setups["resistive"] = (dev, cfg, None, str(getattr(dev, "name", resistive_device)))
    if "capacitive" in kinds:
        ccfg = _resolve(None, capacitive_config if capacitive_config is not None else resistive_config, factory)[1]
        desc = factory.describe()
        setups["capacitive"] = (None, ccfg, factory, desc["model"])
    rows, layer_rows, interrupted = [], [], False
    for kind, (dev, cfg, fac, dev_name) in setups.items():
        df = evaluate_accuracy(net, x, y, dev, cfg, times=[float(t)], repeats=int(repeats), seed=seed,
                               batch_size=batch_size, n_classes=n_classes, progress=progress, matrix_factory=fac)
        s = summarize(df)
        row = {"kind": kind, "device": dev_name, "config": _cfg_name(cfg)}
        for v in ("accuracy", "normalized_accuracy"):
            row[f"{v}_mean"] = float(s[f"{v}_mean"].iloc[0]) if len(s) else np.nan
            row[f"{v}_sem"] = float(s[f"{v}_sem"].iloc[0]) if len(s) else np.nan
        row["n"] = int(s["n"].iloc[0]) if len(s) else 0
        row["accuracy_fp"] = df.attrs["accuracy_fp"]
        anet = AnalogNetwork(net, dev, cfg, rng=np.random.default_rng([int(seed), 0]), matrix_factory=fac)
        cost = network_cost(anet, x, periphery, t=float(t), n_samples=n_energy)
        total = cost.iloc[-1]
        row.update({c: float(total[c]) for c in ("energy [J]", "latency [s]")})
        row.update({c: float(total[c]) for c in COST_COLUMNS if c not in ("energy [J]", "latency [s]")})
        rows.append(row)
        layer_rows += cost.to_dict("records")
        if df.attrs["interrupted"]:
            interrupted = True
            break
    out = pd.DataFrame(rows)
    out.attrs.update({"energy_layers": layer_rows, "n_energy": int(cost.attrs["n_samples"]), "t": float(t),
                      "seed": seed, "interrupted": interrupted, "memcap": factory.describe()})
    return out
