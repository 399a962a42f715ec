"""Endurance: repeated set/reset switching cycles with periodic reads."""

from __future__ import annotations

from instruments.routines._common import Progress, base_meta, check_count, check_positive, report, safe_output
from instruments.routines.limits import Limits
from instruments.routines.writer import StreamWriter
from memfit.data import PulseTrain
from memfit.errors import LimitError

__all__ = ["endurance"]


def endurance(smu, *, cycles: int, v_set: float, v_reset: float, width: float, read_v: float,
              compliance: float = 1e-3, reset_compliance: float | None = None, reset_width: float | None = None,
              read_every: int = 1, read_compliance: float | None = None, nplc: float = 0.1,
              limits: Limits | None = None, out=None, name: str = "endurance", progress: Progress | None = None,
              **meta) -> PulseTrain:
    """``cycles`` set/reset pulse pairs; every ``read_every``-th cycle reads after the set and after the reset.

    Parameters
    ----------
    smu : SMU
        The instrument.
    cycles : int
        Switching cycles.
    v_set, v_reset : float
        Set and reset pulse amplitudes [V] (signed).
    width : float
        Set pulse width [s]; ``reset_width`` the reset width (default the same).
    read_v : float
        Read voltage [V] (not 0).
    compliance, reset_compliance, read_compliance : float
        [A]; reset and read default to ``compliance``.
    read_every : int
        Read every n-th cycle (1: every cycle).
    nplc, limits, out, name, progress, **meta
        As in :func:`~instruments.routines.iv_sweep`.

    Returns
    -------
    PulseTrain
        ``write`` rows for every pulse, ``read`` rows after the set (direction
        ``up``) and the reset (``down``) of read cycles; ``cycle`` column;
        ``meta["result"]`` with the on/off read conductances [S] per read cycle.
    """
    limits = limits or Limits()
    check_count("cycles", cycles)
    check_count("read_every", read_every)
    check_positive("width", width, "s")
    if not isinstance(read_v, (int, float)) or read_v == 0:
        raise LimitError(f"read_v must be a non-zero voltage, got {read_v!r}")
    reset_compliance = compliance if reset_compliance is None else reset_compliance
    read_compliance = compliance if read_compliance is None else read_compliance
    reset_width = width if reset_width is None else reset_width
    limits.check_pulse(v_set, width, compliance, "set pulse")
    limits.check_pulse(v_reset, reset_width, reset_compliance, "reset pulse")
    limits.check_voltage(read_v, "read_v")
    limits.check_compliance(read_compliance, "read_compliance")
    params = dict(cycles=cycles, v_set=v_set, v_reset=v_reset, width=width, reset_width=reset_width, read_v=read_v,
                  compliance=compliance, reset_compliance=reset_compliance, read_compliance=read_compliance,
                  read_every=read_every, nplc=nplc)
    md = base_meta(smu, "endurance", params, limits, compliance=read_compliance, read_voltage=read_v, **meta)
    writer = StreamWriter(out, name, "pulse", ["t", "v", "i", "role", "pulse", "direction", "cycle"], md)
    g_on, g_off = [], []
    n = 0
    with safe_output(smu, writer):
        smu.configure(read_compliance, nplc=nplc)
        smu.output(True)
        for c in range(cycles):
            read = c % read_every == 0 or c == cycles - 1
            for amp, w, comp, d, store in ((v_set, width, compliance, "up", g_on),
                                           (v_reset, reset_width, reset_compliance, "down", g_off)):
                p = smu.pulse(amp, w, comp)
                n += 1
                writer.append(t=p.t, v=p.v, i=p.i, role="write", pulse=n, direction=d, cycle=c)
                if read:
                    smu.set_compliance(read_compliance)
                    r = smu.read(read_v)
                    writer.append(t=r.t, v=r.v, i=r.i, role="read", pulse=n, direction=d, cycle=c)
                    store.append(r.i / read_v)
            report(progress, c + 1, cycles, f"cycle {c + 1}/{cycles}" +
                   (f": on {g_on[-1]:.4g} S, off {g_off[-1]:.4g} S" if read else ""))
    result = {"g_on": g_on, "g_off": g_off, "pulses": n}
    writer.close("complete", result=result)
    return writer.measurement(result=result)
