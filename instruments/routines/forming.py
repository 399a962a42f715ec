"""Forming: a compliance-limited voltage ramp that stops on the current jump."""

from __future__ import annotations

import numpy as np

from instruments.routines._common import Progress, base_meta, check_positive, report, safe_output
from instruments.routines.limits import Limits
from instruments.routines.writer import StreamWriter
from memfit.data import IVSweep
from memfit.errors import LimitError

__all__ = ["forming"]


def forming(smu, *, v_max: float, step: float = 0.05, rate: float = 0.5, compliance: float = 1e-4,
            jump: float = 10.0, i_min: float = 1e-9, nplc: float = 0.1, limits: Limits | None = None, out=None,
            name: str = "forming", progress: Progress | None = None, **meta) -> IVSweep:
    """Ramp from 0 towards ``v_max`` point by point; stop at the current jump or the compliance.

    Parameters
    ----------
    smu : SMU
        The instrument.
    v_max : float
        Ramp end [V] (positive or negative); the ramp stops earlier on forming.
    step : float
        Voltage step [V] (> 0).
    rate : float
        Ramp rate [V/s]; each point lasts ``step / rate``.
    compliance : float
        Current compliance [A] (protects the freshly formed filament).
    jump : float
        Forming is detected when ``|i|`` rises by this factor from one point
        to the next (and exceeds ``i_min``) ...
    i_min : float
        ... [A], or when the current reaches 99.9 % of the compliance.
    nplc, limits, out, name, progress, **meta
        As in :func:`~instruments.routines.iv_sweep`.

    Returns
    -------
    IVSweep
        The ramp up to the stop; ``meta["result"]``: ``formed`` (bool),
        ``v_form`` [V] (level of the stop point, or None), ``reason``.
        Each point is measured and checked before the next level is sent,
        so no level beyond the stop point is ever applied.
    """
    limits = limits or Limits()
    if not isinstance(v_max, (int, float)) or v_max == 0:
        raise LimitError(f"v_max must be a non-zero voltage, got {v_max!r}")
    check_positive("step", step, "V")
    check_positive("rate", rate, "V/s")
    check_positive("jump", jump, "")
    check_positive("i_min", i_min, "A")
    limits.check_voltage(v_max, "v_max")
    limits.check_compliance(compliance)
    n = max(1, int(round(abs(v_max) / step)))
    levels = np.linspace(0.0, v_max, n + 1)[1:]
    point_time = step / rate
    params = dict(v_max=v_max, step=step, rate=rate, compliance=compliance, jump=jump, i_min=i_min, nplc=nplc)
    md = base_meta(smu, "forming", params, limits, compliance=compliance, **meta)
    writer = StreamWriter(out, name, "iv", ["t", "v", "i", "compliance"], md)
    result = {"formed": False, "v_form": None, "reason": f"reached v_max = {v_max:g} V without a jump"}
    with safe_output(smu, writer):
        smu.configure(compliance, nplc=nplc)
        smu.output(True)
        prev = None
        for k, v in enumerate(levels):
            r = smu.sweep([float(v)], point_time)[0]
            limited = abs(r.i) >= 0.999 * compliance
            writer.append(t=r.t, v=r.v, i=r.i, compliance=bool(limited))
            report(progress, k + 1, len(levels), f"{v:+.3f} V: {r.i:.3e} A")
            jumped = prev is not None and abs(r.i) > i_min and abs(r.i) >= jump * max(abs(prev), 1e-30)
            if limited or jumped:
                result = {"formed": True, "v_form": float(v),
                          "reason": "compliance reached" if limited else f"current jump x{abs(r.i) / abs(prev):.3g}"}
                break
            prev = r.i
    writer.close("complete", result=result)
    return writer.measurement(result=result)
