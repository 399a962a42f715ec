"""Plots of crossbar evaluations: accuracy over time, sensitivity sweeps, per-layer sensitivity, VMM error.

Each function takes the DataFrame returned by the matching :mod:`memfit.crossbar.evaluate`
function and returns a matplotlib Figure (saved and closed when ``path`` is given).
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np


def _pyplot(headless: bool = True):
    import matplotlib

    if headless:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _finish(fig, path):
    if path is not None:
        fig.savefig(path, dpi=110)
        _pyplot().close(fig)
    return fig


def _sem(v: np.ndarray) -> float:
    return float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else 0.0


def plot_accuracy_vs_time(df, path: str | Path | None = None, value: str = "accuracy", title: str | None = None):
    """Mean accuracy ± s.e.m. against read time after programming (log time axis, t = 0 drawn at 1 s).

    Parameters
    ----------
    df : DataFrame
        From :func:`~memfit.crossbar.evaluate.evaluate_accuracy` or
        :func:`~memfit.crossbar.evaluate.evaluate_configs` (one line per ``setting``).
    path : str or Path, optional
    value : {"accuracy", "normalized_accuracy"}
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _pyplot(path is not None)
    fig, ax = plt.subplots(figsize=(6.0, 4.0), constrained_layout=True)
    groups = df.groupby("setting", sort=False) if "setting" in df.columns else [(df.attrs.get("config", ""), df)]
    for label, g in groups:
        ts = sorted(g["t"].unique())
        m = [g[g["t"] == t][value].mean() * 100 for t in ts]
        e = [_sem(g[g["t"] == t][value].to_numpy()) * 100 for t in ts]
        ax.errorbar([max(t, 1.0) for t in ts], m, yerr=e, marker="o", capsize=3, label=str(label))
    if value == "accuracy" and "accuracy_fp" in df.attrs:
        ax.axhline(df.attrs["accuracy_fp"] * 100, color="k", ls="--", lw=1, label="floating point")
    ax.set_xscale("log")
    ax.set_xlabel("time after programming [s] (0 s drawn at 1 s)")
    ax.set_ylabel(("normalized accuracy A*" if value == "normalized_accuracy" else "test accuracy") + " [%]")
    ax.set_title(title or "Accuracy over time (mean ± s.e.m.)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _finish(fig, path)


def plot_sensitivity(df, path: str | Path | None = None, value: str = "accuracy"):
    """One panel per swept field: mean accuracy ± s.e.m. against the field's value.

    Parameters
    ----------
    df : DataFrame
        From :func:`~memfit.crossbar.evaluate.sensitivity_sweep`.
    """
    plt = _pyplot(path is not None)
    fields = list(dict.fromkeys(df["field"]))
    fig, axes = plt.subplots(1, len(fields), figsize=(3.4 * len(fields), 3.2), constrained_layout=True,
                             squeeze=False)
    for ax, f in zip(axes[0], fields):
        g = df[df["field"] == f]
        vals = list(dict.fromkeys(g["value"]))
        m = [g[g["value"] == v][value].mean() * 100 for v in vals]
        e = [_sem(g[g["value"] == v][value].to_numpy()) * 100 for v in vals]
        ax.errorbar([float(v) for v in vals], m, yerr=e, marker="o", capsize=3)
        if "accuracy_fp" in df.attrs and value == "accuracy":
            ax.axhline(df.attrs["accuracy_fp"] * 100, color="k", ls="--", lw=1)
        ax.set_xlabel(f)
        ax.set_ylabel(f"{value} [%]")
        ax.grid(alpha=0.3)
    return _finish(fig, path)


def plot_layer_sensitivity(df, path: str | Path | None = None):
    """Bar chart of the accuracy change when each layer alone is moved to the other tile configuration.

    Parameters
    ----------
    df : DataFrame
        From :func:`~memfit.crossbar.evaluate.layer_sensitivity`.
    """
    plt = _pyplot(path is not None)
    d = df.iloc[1:]
    fig, ax = plt.subplots(figsize=(max(4.0, 0.6 * len(d) + 2), 3.4), constrained_layout=True)
    ax.bar(d["layer"].astype(str), d["delta"] * 100, yerr=d["sem"].fillna(0) * 100, capsize=3)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_ylabel("accuracy change [%]")
    ax.set_title(f"one layer on '{df.attrs.get('layer_config', '')}'")
    ax.tick_params(axis="x", rotation=45)
    return _finish(fig, path)


def plot_vmm_error(df, path: str | Path | None = None):
    """VMM error (mean ± s.e.m. over repeats) against read time, one line per ``setting`` if present."""
    plt = _pyplot(path is not None)
    fig, ax = plt.subplots(figsize=(5.0, 3.4), constrained_layout=True)
    groups = df.groupby("setting", sort=False) if "setting" in df.columns else [(df.attrs.get("config", ""), df)]
    for label, g in groups:
        ts = sorted(g["t"].unique())
        m = [g[g["t"] == t]["vmm_error"].mean() * 100 for t in ts]
        e = [_sem(g[g["t"] == t]["vmm_error"].to_numpy()) * 100 for t in ts]
        ax.errorbar([max(t, 1.0) for t in ts], m, yerr=e, marker="o", capsize=3, label=str(label))
    ax.set_xscale("log")
    ax.set_xlabel("time after programming [s] (0 s drawn at 1 s)")
    ax.set_ylabel("VMM error [%]")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _finish(fig, path)


def figure_to_base64(fig) -> str:
    """PNG of a figure as base64 text (for embedding in HTML); closes the figure."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    _pyplot().close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")
