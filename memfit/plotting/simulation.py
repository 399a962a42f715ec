"""Plot a simulation (or any record with t, v, i and state columns)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot(headless: bool):
    import matplotlib

    if headless:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_simulation(sim, path: str | Path | None = None, title: str | None = None):
    """Three panels: the characteristic loop, a second view, and the states vs time.

    The loop is I-V for conductive devices, V-I for current-driven ones, q-V
    for memcapacitors and phi-I for meminductors.  The second panel is
    log|I| vs V, or V and I against time for reactive elements and circuits
    with a parallel capacitor (oscillators).

    Parameters
    ----------
    sim : Simulation
        Result of :func:`memfit.simulate.simulate`.
    path : str or Path, optional
        Save the figure there (PNG, PDF or SVG by extension) and close it.
    title : str, optional
        Figure title (default: model name and stimulus).

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _pyplot(headless=path is not None)
    frame = sim.frame
    states = list(sim.model.state_names) if hasattr(sim, "model") else []
    mode_current = hasattr(sim, "stimulus") and "current" in sim.stimulus.modes
    v = frame["v"].to_numpy()
    i = frame["i"].to_numpy()
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), constrained_layout=True)
    ax = axes[0]
    cols = frame.columns
    port = getattr(getattr(sim, "model", None), "port", "i(v)")
    if port == "q(v)" and "q" in cols:  # memcapacitive element: the pinched q-V loop
        ax.plot(frame["v_dev"].to_numpy(), frame["q"].to_numpy(), lw=1)
        ax.set_xlabel("voltage V [V]")
        ax.set_ylabel("charge q [C]")
        ax.set_title("q-V loop")
    elif port == "phi(i)" and "phi" in cols:  # meminductive element: the pinched phi-I loop
        ax.plot(i, frame["phi"].to_numpy(), lw=1)
        ax.set_xlabel("current I [A]")
        ax.set_ylabel("flux phi [Wb]")
        ax.set_title("phi-I loop")
    elif _is_pulse_train(frame):  # pulses with reads: the read conductance after each pulse
        g = _read_conductance(frame)
        ax.plot(np.arange(1, g.size + 1), g, "o-", ms=3, lw=1)
        ax.set_xlabel("read #")
        ax.set_ylabel("read conductance G [S]")
        ax.set_title("G after each pulse")
    elif mode_current:
        ax.plot(i, v, lw=1)
        ax.set_xlabel("current I [A]")
        ax.set_ylabel("voltage V [V]")
        ax.set_title("V-I (current-driven)")
    else:
        ax.plot(v, i, lw=1)
        ax.set_xlabel("voltage V [V]")
        ax.set_ylabel("current I [A]")
        ax.set_title("I-V loop")
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    ax.grid(alpha=0.3)
    ax = axes[1]
    t = frame["t"].to_numpy()
    if port != "i(v)" or "i_dev" in cols:
        # reactive elements and oscillators: the waveforms tell more than log|I|
        ax.plot(t, v, lw=1, label="V [V]")
        ax.set_xlabel("time t [s]")
        ax.set_ylabel("voltage V [V]")
        ax2 = ax.twinx()
        ax2.plot(t, i, lw=1, color="tab:red", label="I [A]")
        ax2.set_ylabel("current I [A]", color="tab:red")
        ax.set_title("V and I vs time")
    else:
        ai = np.abs(i)
        top = float(np.nanmax(ai)) if ai.size and np.nanmax(ai) > 0 else 1.0
        ax.semilogy(v, np.where(ai > 0, ai, np.nan), lw=1)
        ax.set_ylim(top * 1e-7, top * 2)  # the dip at V = 0 would otherwise squash the loop
        ax.set_xlabel("voltage V [V]")
        ax.set_ylabel("|I| [A]")
        ax.set_title("log|I| - V")
    ax.grid(alpha=0.3)
    ax = axes[2]
    units = sim.meta.get("units", {})
    if states:
        for name in states:
            ax.plot(t, frame[name].to_numpy(), lw=1, label=f"{name} [{units.get(name, '')}]")
        if len(states) <= 6:
            ax.legend(loc="best", fontsize=8)
        ax.set_ylabel("state" if len(states) <= 6 else f"{len(states)} states")
    ax.set_xlabel("time t [s]")
    ax.set_title("state vs time")
    ax.grid(alpha=0.3)
    if title is None:
        title = f"{sim.meta.get('model', '')}: {sim.meta.get('stimulus', '')}"
    fig.suptitle(title)
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return fig


def _is_pulse_train(frame) -> bool:
    if "role" not in frame.columns:
        return False
    roles = set(frame["role"].astype(str))
    return "write" in roles and "read" in roles


def _read_conductance(frame) -> np.ndarray:
    """mean(i) / mean(v) over each run of consecutive read samples."""
    is_read = (frame["role"].astype(str) == "read").to_numpy()
    idx = np.nonzero(is_read)[0]
    runs = np.split(idx, np.nonzero(np.diff(idx) > 1)[0] + 1)
    v, i = frame["v"].to_numpy(), frame["i"].to_numpy()
    return np.array([np.mean(i[r]) / np.mean(v[r]) for r in runs if r.size])
