"""Population fits: one model fitted to many devices (or many cycles), in parallel.

:func:`fit_population` fits every dataset on its own (same model, same
settings), in worker processes, chunked so that each task amortizes the
workers' start-up, and returns a :class:`PopulationResult`: a parameter
table (one row per device) and the device-to-device (or cycle-to-cycle)
statistics a preset needs -- mean, standard deviation, correlation matrix and
the better of a normal and a log-normal description of each parameter.

Fits that fail are kept in the table with their error message (they do not
stop the others).  Ctrl-C (KeyboardInterrupt) stops the run and returns the
fits finished so far, marked ``complete = False``.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from memfit.errors import FitError, MemfitError


@dataclass
class PopulationResult:
    """Outcome of :func:`fit_population`.

    Attributes
    ----------
    model : str
    table : pandas.DataFrame
        One row per dataset: ``label``, ``success``, ``error``, each varied
        parameter and its ``<name>_stderr``, ``r2``, ``nrmse``, ``log_rmse``.
    varied : list of str
    complete : bool
        False when the run was interrupted.
    wall_time : float
        [s].
    """

    model: str
    table: pd.DataFrame
    varied: list[str]
    complete: bool
    wall_time: float
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> pd.DataFrame:
        """Rows of the fits that succeeded."""
        return self.table[self.table["success"]]

    def statistics(self) -> pd.DataFrame:
        """Per parameter: n, mean, std, relative std, median, and the better of normal / log-normal (by AIC)."""
        rows = []
        for name in self.varied:
            x = self.ok[name].to_numpy(dtype=float)
            x = x[np.isfinite(x)]
            row = {"parameter": name, "n": x.size, "mean": np.mean(x) if x.size else math.nan,
                   "std": np.std(x, ddof=1) if x.size > 1 else math.nan,
                   "median": np.median(x) if x.size else math.nan}
            row["rel_std"] = row["std"] / abs(row["mean"]) if row["mean"] else math.nan
            row.update(_best_distribution(x))
            rows.append(row)
        return pd.DataFrame(rows).set_index("parameter")

    def correlation(self) -> pd.DataFrame:
        """Correlation matrix of the fitted parameters across the population (Pearson, on logs for
        parameters better described as log-normal)."""
        stats = self.statistics()
        cols = {}
        for name in self.varied:
            x = self.ok[name].to_numpy(dtype=float)
            cols[name] = np.log(x) if stats.loc[name, "distribution"] == "lognormal" else x
        return pd.DataFrame(cols).corr()

    def summary(self) -> str:
        """Printable summary: fits that succeeded, wall time [s] and the :meth:`statistics` table."""
        n_ok = int(self.table["success"].sum())
        lines = [f"population fit of {self.model!r}: {n_ok} of {len(self.table)} fits succeeded"
                 + ("" if self.complete else " (INTERRUPTED: partial result)")
                 + f", {self.wall_time:.1f} s", self.statistics().to_string(float_format=lambda v: f"{v:.4g}")]
        return "\n".join(lines)

    def to_csv(self, path) -> None:
        """Write the parameter table."""
        self.table.to_csv(path, index=False)


def _best_distribution(x: np.ndarray) -> dict[str, Any]:
    """Normal or log-normal, whichever has the lower AIC (log-normal only for positive data)."""
    if x.size < 3:
        return {"distribution": "normal", "loc": float(np.mean(x)) if x.size else math.nan,
                "scale": float(np.std(x)) if x.size else math.nan}
    mu, sd = float(np.mean(x)), float(np.std(x))
    sd = sd if sd > 0 else 1e-300
    ll_norm = float(np.sum(-0.5 * ((x - mu) / sd) ** 2 - math.log(sd * math.sqrt(2 * math.pi))))
    best = {"distribution": "normal", "loc": mu, "scale": sd, "aic": 4 - 2 * ll_norm}
    if np.all(x > 0):
        lx = np.log(x)
        lm, ls = float(np.mean(lx)), float(np.std(lx)) or 1e-300
        ll_log = float(np.sum(-0.5 * ((lx - lm) / ls) ** 2 - np.log(x * ls * math.sqrt(2 * math.pi))))
        if 4 - 2 * ll_log < best["aic"]:
            best = {"distribution": "lognormal", "loc": lm, "scale": ls, "aic": 4 - 2 * ll_log}
    return best


def _fit_one(model, record, label, kwargs) -> dict[str, Any]:
    from memfit.fitting.core import fit

    row: dict[str, Any] = {"label": label}
    try:
        res = fit(model, record, labels=[label], **kwargs)
    except MemfitError as exc:
        row.update(success=False, error=str(exc).splitlines()[0])
        return row
    row.update(success=True, error="")
    for n in res.varied:
        row[n] = res.values[n]
        row[f"{n}_stderr"] = res.stderr[n]
    st = res.datasets.iloc[0]
    row.update(r2=float(st["r2"]), nrmse=float(st["nrmse"]), log_rmse=float(st["log_rmse"]),
               nfev=res.info["nfev"])
    return row


def _fit_chunk(model, items, kwargs) -> list[dict[str, Any]]:
    return [_fit_one(model, rec, label, kwargs) for label, rec in items]


def _fit_chunk_task(shared, items) -> list[dict[str, Any]]:
    """One task of :func:`memfit.parallel.run_tasks`: fit a chunk of datasets."""
    return _fit_chunk(shared["model"], items, shared["kwargs"])


_SUFFIXES = (".csv", ".txt", ".dat", ".tsv", ".parquet", ".pq")


def _split_devices(m) -> list:
    """A multi-device/multi-cycle measurement -> one dataset per device (or per cycle)."""
    for col in ("device", "cell", "cycle"):
        if col in m.frame.columns and m.frame[col].nunique() > 1:
            out = []
            for value in pd.unique(m.frame[col]):
                part = m.where(**{col: value})
                part.meta["device"] = f"{m.meta.get('device') or col}-{value}" if col != "device" else str(value)
                out.append(part)
            return out
    return [m]


def _collect(data) -> list:
    """Datasets from a list of records/paths, a folder, or one (multi-device) file."""
    from pathlib import Path

    from memfit.data import read
    from memfit.data.record import Record

    if isinstance(data, (str, Path)):
        p = Path(data)
        if p.is_dir():
            files = sorted(f for f in p.iterdir() if f.suffix.lower() in _SUFFIXES)
            if not files:
                raise FitError(f"{p}: no measurement files ({', '.join(_SUFFIXES)}) in this folder")
            data = files
        elif p.exists():
            return _split_devices(read(p))
        else:
            raise FitError(f"{p}: no such file or folder")
    out = []
    for k, item in enumerate(data):
        if isinstance(item, (str, Path)):
            out.extend(_split_devices(read(item)))
        elif isinstance(item, Record):
            out.append(item)
        else:
            raise FitError(f"dataset {k} is a {type(item).__name__}; fit_population() takes measurements, "
                           f"simulations, file paths or a folder")
    return out


def fit_population(
    model,
    data: Sequence,
    *,
    labels: Sequence[str] | None = None,
    workers: int | None = None,
    chunk_size: int | None = None,
    progress: bool = True,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    backend=None,
    store=None,
    **fit_kwargs,
) -> PopulationResult:
    """Fit ``model`` to every dataset of a population, in parallel.

    Parameters
    ----------
    model : str or DeviceModel
    data : sequence of Record or paths, a folder, or one file
        One measurement (or simulation) per device or per cycle; a folder
        means every measurement file in it; a file with a ``device``,
        ``cell`` or ``cycle`` column holding several values is split into one
        dataset per value.
    labels : sequence of str, optional
        Row labels (default: ``meta["device"]`` / ``meta["name"]`` or the index).
    workers : int, optional
        Worker processes of the local backend (default: the number of CPUs;
        1 runs in this process, which is what tests of small populations want).
    chunk_size : int, optional
        Datasets per task (default: about four tasks per worker, at most 50
        datasets per task).
    backend : None, "local", "dask", "tcp://host:port" or distributed.Client
        Where the fits run (see :mod:`memfit.parallel`); the same results on
        every backend.
    store : path, optional
        Folder that keeps finished chunks; a rerun with the same folder (and
        the same data and chunking) fits only what is missing.
    progress : bool
        Print a progress bar on stderr.
    on_result : callable, optional
        Called with each finished row (e.g. to append it to a file), so an
        interrupted run loses nothing already fitted.
    **fit_kwargs
        Passed to :func:`memfit.fitting.fit` (``vary``, ``initial``, ``fix``...).

    Returns
    -------
    PopulationResult
    """
    from memfit.models.registry import get_model

    name = get_model(model).name
    data = _collect(data)
    if not data:
        raise FitError("fit_population() needs at least one dataset")
    if labels is None:
        labels = [str(r.meta.get("device") or r.meta.get("name") or k) for k, r in enumerate(data)]
    labels = list(labels)
    if len(labels) != len(data):
        raise FitError(f"{len(labels)} labels for {len(data)} datasets")
    from memfit.parallel import ParallelError, get_backend, run_tasks

    try:
        be = get_backend(backend, workers)
    except ParallelError as exc:
        raise FitError(str(exc)) from None
    nw = be.n_workers
    n = len(data)
    chunk = chunk_size or max(1, min(50, math.ceil(n / (4 * nw))))
    items = list(zip(labels, data))
    tasks = [(f"chunk{i // chunk:06d}", (items[i:i + chunk],)) for i in range(0, n, chunk)]
    rows: list[dict[str, Any]] = []
    complete = True
    t0 = time.perf_counter()

    def take(key, new_rows):
        for r in new_rows:
            rows.append(r)
            if on_result is not None:
                on_result(r)

    try:
        done = run_tasks(_fit_chunk_task, tasks, shared={"model": name, "kwargs": fit_kwargs}, backend=be,
                         store=store, on_result=take, progress="fitting" if progress else False)
        if store is not None:  # chunks restored from the store did not pass through take()
            seen = {r["label"] for r in rows}
            for new_rows in done.values():
                rows.extend(r for r in new_rows if r["label"] not in seen)
    except KeyboardInterrupt:
        complete = False
        if progress:
            sys.stderr.write(f"\ninterrupted: keeping {len(rows)} finished fits\n")
    finally:
        if be is not backend and hasattr(be, "close"):
            be.close()
    order = {lab: k for k, lab in enumerate(labels)}
    table = pd.DataFrame(rows)
    if not table.empty:
        table = table.sort_values("label", key=lambda s: s.map(order)).reset_index(drop=True)
    varied = [c for c in table.columns if f"{c}_stderr" in table.columns]
    return PopulationResult(name, table, varied, complete, time.perf_counter() - t0,
                            {"backend": be.name, "workers": nw, "chunk_size": chunk, **{k: repr(v) for k, v in fit_kwargs.items()}})
