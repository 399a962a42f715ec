"""Potentiation / depression pulse trains with a read after each pulse."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from instruments.routines._common import Progress, base_meta, check_positive, report, safe_output
from instruments.routines.limits import Limits
from instruments.routines.writer import StreamWriter
from memfit.data import PulseTrain
from memfit.errors import LimitError

__all__ = ["pulse_train", "ramp_amplitudes"]


def ramp_amplitudes(n_up: int, v_up: float, n_down: int = 0, v_down: float | None = None) -> list[float]:
    """``n_up`` pulses of ``v_up`` [V] then ``n_down`` pulses of ``v_down`` [V] (potentiation, depression)."""
    if n_down and v_down is None:
        raise LimitError("give v_down [V] for the depression pulses")
    return [float(v_up)] * int(n_up) + ([float(v_down)] * int(n_down) if n_down else [])


def pulse_train(smu, amplitudes: Sequence[float], *, width: float, read_v: float, compliance: float = 1e-3,
                read_compliance: float | None = None, nplc: float = 0.1, limits: Limits | None = None, out=None,
                name: str = "pulses", progress: Progress | None = None, **meta) -> PulseTrain:
    """Write pulses of the given amplitudes, each followed by a read at ``read_v``.

    Parameters
    ----------
    smu : SMU
        The instrument.
    amplitudes : sequence of float
        One amplitude per pulse [V] (see :func:`ramp_amplitudes`).
    width : float
        Pulse width [s].
    read_v : float
        Read voltage [V] (not 0).
    compliance : float
        Compliance of the write pulses [A].
    read_compliance : float, optional
        Compliance of the reads [A]; default ``compliance``.
    nplc : float
        Aperture [power-line cycles].
    limits, out, name, progress, **meta
        As in :func:`~instruments.routines.iv_sweep`.

    Returns
    -------
    PulseTrain
        Waveform form: a ``read`` row before the first pulse, then per pulse
        one ``write`` row (current at the end of the pulse) and one ``read``
        row; ``pulse`` counts the pulses, ``direction`` is ``up`` for
        positive amplitudes, ``down`` for negative ones.
    """
    limits = limits or Limits()
    amps = [float(a) for a in amplitudes]
    if not amps:
        raise LimitError("pulse_train needs at least one amplitude")
    if read_v == 0 or not np.isfinite(read_v):
        raise LimitError(f"read_v must be a non-zero voltage, got {read_v!r}")
    check_positive("width", width, "s")
    read_compliance = compliance if read_compliance is None else read_compliance
    for k, a in enumerate(amps):
        limits.check_pulse(a, width, compliance, f"pulse {k + 1}")
    limits.check_voltage(read_v, "read_v")
    limits.check_compliance(read_compliance, "read_compliance")
    params = dict(amplitudes=amps, width=width, read_v=read_v, compliance=compliance,
                  read_compliance=read_compliance, nplc=nplc)
    md = base_meta(smu, "pulse_train", params, limits, compliance=read_compliance, read_voltage=read_v, **meta)
    md["write_pulse"] = {"width": width}
    writer = StreamWriter(out, name, "pulse", ["t", "v", "i", "role", "pulse", "direction"], md)
    with safe_output(smu, writer):
        smu.configure(read_compliance, nplc=nplc)
        smu.output(True)
        r = smu.read(read_v)
        writer.append(t=r.t, v=r.v, i=r.i, role="read", pulse=0, direction="up" if amps[0] > 0 else "down")
        for k, a in enumerate(amps, start=1):
            d = "up" if a > 0 else "down"
            p = smu.pulse(a, width, compliance)
            writer.append(t=p.t, v=p.v, i=p.i, role="write", pulse=k, direction=d)
            smu.set_compliance(read_compliance)
            r = smu.read(read_v)
            writer.append(t=r.t, v=r.v, i=r.i, role="read", pulse=k, direction=d)
            report(progress, k, len(amps), f"pulse {k}/{len(amps)}: g = {r.i / read_v:.4g} S")
    writer.close("complete")
    return writer.measurement()
