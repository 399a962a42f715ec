"""Plots of a fit: data vs model, residuals, simulated state."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_fit(result, path: str | Path | None = None):
    """One row per dataset: data and model overlaid, residuals, and the model state vs time.

    Parameters
    ----------
    result : FitResult
    path : str or Path, optional
        Save there and close the figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    problem = result._problem
    if problem is None:
        raise ValueError("plot() needs a FitResult from fit(), not one loaded from a file")
    n = len(problem.data)
    fig, axes = plt.subplots(n, 3, figsize=(13, 3.6 * n), constrained_layout=True, squeeze=False)
    for d, fd in enumerate(problem.data):
        sim = result.simulated(d)
        out = np.column_stack([sim["v_dev"], sim["i"], sim["v"], sim["compliance"], sim["i"]])
        meas = fd.measured()
        mod = fd.observable(out)
        ax = axes[d, 0]
        f = fd.record.frame
        if fd.kind == "iv":
            ax.plot(f["v"], meas, ".", ms=2, label="data")
            ax.plot(sim["v"], mod, "-", lw=1, label="model")
            ax.set_xlabel("V [V]")
            ax.set_ylabel("I [A]")
            x = np.arange(meas.size)
        elif fd.kind == "pulse":
            x = np.arange(1, meas.size + 1)
            ax.plot(x, meas, "o", ms=3, label="data")
            ax.plot(x, mod, "-", lw=1, label="model")
            ax.set_xlabel("pulse #")
            ax.set_ylabel("G read [S]")
        else:
            x = f["t"].to_numpy()[np.concatenate(fd.events)]
            ax.semilogx(np.maximum(x, x[x > 0].min() if (x > 0).any() else 1e-9), meas, "o", ms=3, label="data")
            ax.semilogx(np.maximum(x, x[x > 0].min() if (x > 0).any() else 1e-9), mod, "-", lw=1, label="model")
            ax.set_xlabel("t [s]")
            ax.set_ylabel("G read [S]")
        ax.set_title(f"{fd.label} ({fd.kind})")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        ax = axes[d, 1]
        ax.plot(x if x.size == meas.size else np.arange(meas.size), fd.residual_vector(out), ".", ms=2)
        ax.axhline(0, color="k", lw=0.5)
        ax.set_title(f"residual ({fd.residual})")
        ax.grid(alpha=0.3)
        ax = axes[d, 2]
        for s in sim.model.state_names:
            ax.plot(sim.t, sim[s], lw=1, label=s)
        ax.set_xlabel("t [s]")
        ax.set_title("model state")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(f"fit of {result.model}")
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig
