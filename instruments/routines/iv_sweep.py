"""Bipolar I-V sweeps with a separate compliance per polarity."""

from __future__ import annotations

import numpy as np

from instruments.routines._common import Progress, base_meta, check_count, check_positive, report, safe_output
from instruments.routines.limits import Limits
from instruments.routines.writer import StreamWriter
from memfit.data import IVSweep
from memfit.errors import LimitError

__all__ = ["iv_sweep", "branch_levels"]


def branch_levels(v_end: float, step: float) -> np.ndarray:
    """Levels of one branch 0 -> v_end -> 0 [V] in steps of ``step`` [V] (0 V at neither end)."""
    n = max(1, int(round(abs(v_end) / step)))
    up = np.linspace(0.0, v_end, n + 1)[1:]
    return np.concatenate([up, up[-2::-1], [0.0]])


def iv_sweep(smu, *, v_max: float, v_min: float | None = None, step: float = 0.02, rate: float = 1.0,
             compliance: float = 1e-3, compliance_neg: float | None = None, cycles: int = 1,
             start: str = "positive", nplc: float = 0.1, limits: Limits | None = None, out=None,
             name: str = "iv", progress: Progress | None = None, **meta) -> IVSweep:
    """Bipolar staircase I-V sweep: 0 -> v_max -> 0 -> v_min -> 0, ``cycles`` times.

    Parameters
    ----------
    smu : SMU
        An instrument implementing :class:`~instruments.routines.smu.SMU`.
    v_max : float
        Positive turning point [V] (> 0).
    v_min : float, optional
        Negative turning point [V] (< 0); default ``-v_max``.
    step : float
        Voltage step [V].
    rate : float
        Sweep rate [V/s]; each point lasts ``step / rate`` [s].
    compliance : float
        Current compliance of the positive branch [A].
    compliance_neg : float, optional
        Compliance of the negative branch [A]; default ``compliance``.
    cycles : int
        Number of full cycles.
    start : {"positive", "negative"}
        Branch swept first.
    nplc : float
        Aperture [power-line cycles]; must fit in one point.
    limits : Limits
        User limits, checked before anything is sent.
    out : str or Path, optional
        Directory to stream ``<name>.csv`` / ``<name>.json`` into.
    name : str
        File stem.
    progress : callable, optional
        ``progress(done, total, message)``.
    **meta
        Extra metadata (device, area [m^2], temperature [K], series_resistance [Ohm] ...).

    Returns
    -------
    IVSweep
        Columns ``t`` [s] (instrument time), ``v`` [V], ``i`` [A], ``cycle``,
        ``compliance`` (|i| at the compliance).  Points are streamed per list
        chunk (<= 100 points) as the instrument returns them.
    """
    limits = limits or Limits()
    v_min = -v_max if v_min is None else v_min
    compliance_neg = compliance if compliance_neg is None else compliance_neg
    check_positive("v_max", v_max, "V")
    if not (isinstance(v_min, (int, float)) and v_min < 0):
        raise LimitError(f"v_min must be a voltage < 0 V, got {v_min!r}")
    check_positive("step", step, "V")
    check_positive("rate", rate, "V/s")
    check_count("cycles", cycles)
    if start not in ("positive", "negative"):
        raise LimitError(f"start must be 'positive' or 'negative', got {start!r}")
    limits.check_voltage(v_max, "v_max")
    limits.check_voltage(v_min, "v_min")
    limits.check_compliance(compliance, "compliance (positive branch)")
    limits.check_compliance(compliance_neg, "compliance_neg (negative branch)")

    branches = [(branch_levels(v_max, step), compliance), (branch_levels(v_min, step), compliance_neg)]
    if start == "negative":
        branches.reverse()
    point_time = step / rate
    params = dict(v_max=v_max, v_min=v_min, step=step, rate=rate, compliance=compliance,
                  compliance_neg=compliance_neg, cycles=cycles, start=start, nplc=nplc, point_time=point_time)
    md = base_meta(smu, "iv_sweep", params, limits, compliance=max(compliance, compliance_neg), **meta)
    writer = StreamWriter(out, name, "iv", ["t", "v", "i", "cycle", "compliance"], md)
    total = cycles * sum(len(b[0]) for b in branches)
    done = 0
    chunk = smu.capabilities.list_chunk if hasattr(smu, "capabilities") else 100
    with safe_output(smu, writer):
        smu.configure(max(compliance, compliance_neg), nplc=nplc)
        smu.output(True)
        for c in range(cycles):
            for levels, comp in branches:
                smu.set_compliance(comp)
                for k in range(0, len(levels), chunk):
                    for r in smu.sweep(levels[k:k + chunk], point_time):
                        writer.append(t=r.t, v=r.v, i=r.i, cycle=c, compliance=bool(abs(r.i) >= 0.999 * comp))
                    done += len(levels[k:k + chunk])
                    report(progress, done, total, f"cycle {c + 1}/{cycles}")
    writer.close("complete")
    return writer.measurement()
