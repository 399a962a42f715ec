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
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
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


def _progress(done: int, total: int, t0: float, stream) -> None:
    if stream is None:
        return
    frac = done / total if total else 1.0
    rate = done / max(time.perf_counter() - t0, 1e-9)
    eta = (total - done) / rate if rate > 0 else float("inf")
    bar = "#" * int(30 * frac)
    stream.write(f"\rfitting [{bar:<30}] {done}/{total}  {rate:.1f}/s  eta {eta:.0f} s ")
    stream.flush()
    if done == total:
        stream.write("\n")


def fit_population(
    model,
    data: Sequence,
    *,
    labels: Sequence[str] | None = None,
    workers: int | None = None,
    chunk_size: int | None = None,
    progress: bool = True,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    **fit_kwargs,
) -> PopulationResult:
    """Fit ``model`` to every dataset of a population, in parallel.

    Parameters
    ----------
    model : str or DeviceModel
    data : sequence of Record
        One measurement (or simulation) per device or per cycle.
    labels : sequence of str, optional
        Row labels (default: ``meta["device"]`` / ``meta["name"]`` or the index).
    workers : int, optional
        Worker processes (default: the number of CPUs; 1 runs in this
        process, which is what tests of small populations want).
    chunk_size : int, optional
        Datasets per task (default: about four tasks per worker).
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
    data = list(data)
    if not data:
        raise FitError("fit_population() needs at least one dataset")
    if labels is None:
        labels = [str(r.meta.get("device") or r.meta.get("name") or k) for k, r in enumerate(data)]
    labels = list(labels)
    if len(labels) != len(data):
        raise FitError(f"{len(labels)} labels for {len(data)} datasets")
    workers = os.cpu_count() or 1 if workers is None else int(workers)
    if workers < 1:
        raise FitError(f"workers must be >= 1, got {workers}")
    n = len(data)
    chunk = chunk_size or max(1, math.ceil(n / (4 * workers)))
    items = list(zip(labels, data))
    chunks = [items[i:i + chunk] for i in range(0, n, chunk)]
    stream = sys.stderr if progress else None
    rows: list[dict[str, Any]] = []
    complete = True
    t0 = time.perf_counter()

    def take(new_rows):
        for r in new_rows:
            rows.append(r)
            if on_result is not None:
                on_result(r)
        _progress(len(rows), n, t0, stream)

    try:
        if workers == 1:
            for ch in chunks:
                take(_fit_chunk(name, ch, fit_kwargs))
        else:
            import multiprocessing as mp

            # spawn: numba's thread pool is not fork-safe
            with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
                futures = [pool.submit(_fit_chunk, name, ch, fit_kwargs) for ch in chunks]
                try:
                    for fut in as_completed(futures):
                        take(fut.result())
                except KeyboardInterrupt:
                    for f in futures:
                        f.cancel()
                    raise
    except KeyboardInterrupt:
        complete = False
        if stream is not None:
            stream.write(f"\ninterrupted: keeping {len(rows)} finished fits\n")
    order = {lab: k for k, lab in enumerate(labels)}
    table = pd.DataFrame(rows)
    if not table.empty:
        table = table.sort_values("label", key=lambda s: s.map(order)).reset_index(drop=True)
    varied = [c for c in table.columns if f"{c}_stderr" in table.columns]
    return PopulationResult(name, table, varied, complete, time.perf_counter() - t0,
                            {"workers": workers, "chunk_size": chunk, **{k: repr(v) for k, v in fit_kwargs.items()}})
