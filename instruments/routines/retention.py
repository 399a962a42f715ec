"""Retention: conductance reads at log-spaced times over a duration, holding a bias in between."""

from __future__ import annotations

import numpy as np

from instruments.routines._common import Progress, base_meta, check_count, check_positive, report, safe_output
from instruments.routines.limits import Limits
from instruments.routines.writer import StreamWriter
from memfit.data import Retention
from memfit.errors import LimitError

__all__ = ["retention", "read_times"]


def read_times(duration: float, points: int, first: float | None = None, log: bool = True) -> np.ndarray:
    """Nominal read times [s]: 0, then ``points - 1`` times from ``first`` to ``duration`` (log or linear)."""
    first = duration / 1000.0 if first is None else first
    if points == 1:
        return np.array([0.0])
    rest = np.geomspace(first, duration, points - 1) if log else np.linspace(first, duration, points - 1)
    return np.concatenate([[0.0], rest])


def retention(smu, *, read_v: float, duration: float, points: int = 20, first: float | None = None,
              log: bool = True, hold_v: float = 0.0, compliance: float = 1e-3, nplc: float = 1.0,
              limits: Limits | None = None, out=None, name: str = "retention", progress: Progress | None = None,
              **meta) -> Retention:
    """Read the conductance at (log-spaced) times over ``duration``; hold ``hold_v`` between reads.

    Parameters
    ----------
    smu : SMU
        The instrument.
    read_v : float
        Read voltage [V] (not 0).
    duration : float
        Time of the last read after the first [s].
    points : int
        Number of reads (the first at t = 0).
    first : float, optional
        Nominal time of the second read [s]; default ``duration / 1000``.
    log : bool
        Logarithmic spacing (default) or linear.
    hold_v : float
        Bias between reads [V] (0: unbiased retention; non-zero: read disturb / stress).
    compliance : float
        [A].
    nplc, limits, out, name, progress, **meta
        As in :func:`~instruments.routines.iv_sweep`.

    Returns
    -------
    Retention
        ``t`` [s] (instrument time since the first read), ``v`` [V], ``i``
        [A], ``g_read`` [S], ``timept`` [s] (nominal time).  Waits are timed
        by the instrument; a read that comes later than its nominal time
        (a wait shorter than the previous read) is taken at once.
    """
    limits = limits or Limits()
    if not isinstance(read_v, (int, float)) or read_v == 0:
        raise LimitError(f"read_v must be a non-zero voltage, got {read_v!r}")
    check_positive("duration", duration, "s")
    check_count("points", points)
    if first is not None:
        check_positive("first", first, "s")
        if first > duration:
            raise LimitError(f"first = {first:g} s is after duration = {duration:g} s")
    limits.check_voltage(read_v, "read_v")
    limits.check_voltage(hold_v, "hold_v")
    limits.check_compliance(compliance)
    times = read_times(duration, points, first, log)
    params = dict(read_v=read_v, duration=duration, points=points, first=first, log=log, hold_v=hold_v,
                  compliance=compliance, nplc=nplc)
    md = base_meta(smu, "retention", params, limits, compliance=compliance, read_voltage=read_v, **meta)
    writer = StreamWriter(out, name, "retention", ["t", "v", "i", "g_read", "timept"], md)
    with safe_output(smu, writer):
        smu.configure(compliance, nplc=nplc)
        smu.output(True)
        t0 = None
        for k, tn in enumerate(times):
            if t0 is not None:
                smu.set_level(hold_v)
                # the instrument time stamps the end of a read: wait what is left to the nominal time
                left = tn - (last - t0) - smu.aperture
                if left > 0:
                    smu.wait(left)
            r = smu.read(read_v)
            if t0 is None:
                t0 = r.t
            last = r.t
            writer.append(t=r.t - t0, v=r.v, i=r.i, g_read=r.i / read_v, timept=float(tn))
            report(progress, k + 1, points, f"t = {r.t - t0:.4g} s: g = {r.i / read_v:.4g} S")
    writer.close("complete")
    return writer.measurement()
