"""Write-verify: incremental step pulse programming (ISPP) to a target read conductance.

Algorithm (host side; the 2600B can also run it on the instrument, see
:meth:`instruments.drivers.Keithley2600B.write_verify_onboard`)::

    read g
    while |g - target| > tolerance * target and pulses < max_pulses:
        polarity = set if g < target else reset
        if polarity changed since the last pulse:        # overshoot
            stop unless reversal is allowed; restart that polarity's amplitude at its start value
        pulse(polarity amplitude, width, polarity compliance); read g
        amplitude of that polarity += its step (up to its maximum)

``set`` pulses raise the read conductance; ``set_polarity`` says whether
they are positive (+1) or negative (-1) voltages -- device-specific (the
NbOx device read at a negative voltage is set by positive pulses).

Reference: the ISPP scheme for multilevel RRAM programming, e.g. F. Alibart,
L. Gao, B. D. Hoskins, D. B. Strukov, Nanotechnology 23, 075201 (2012),
doi:10.1088/0957-4484/23/7/075201.
"""

from __future__ import annotations

from instruments.routines._common import Progress, base_meta, check_count, check_positive, report, safe_output
from instruments.routines.limits import Limits
from instruments.routines.writer import StreamWriter
from memfit.data import PulseTrain
from memfit.errors import LimitError

__all__ = ["write_verify", "WRITE_VERIFY_COLUMNS", "program"]

WRITE_VERIFY_COLUMNS = ["t", "v", "i", "role", "pulse", "direction", "level"]


def _settings(v_start, v_step, v_max, width, compliance, reset_v_start, reset_v_step, reset_v_max, reset_compliance,
              reset_width, set_polarity, limits):
    if set_polarity not in (1, -1):
        raise LimitError(f"set_polarity must be +1 or -1, got {set_polarity!r}")
    s = {
        "set": dict(start=v_start, step=v_step, max=v_max, width=width, compliance=compliance),
        "reset": dict(start=v_start if reset_v_start is None else reset_v_start,
                      step=v_step if reset_v_step is None else reset_v_step,
                      max=v_max if reset_v_max is None else reset_v_max,
                      width=width if reset_width is None else reset_width,
                      compliance=compliance if reset_compliance is None else reset_compliance),
    }
    for pol, d in s.items():
        check_positive(f"{pol} start amplitude", d["start"], "V")
        check_positive(f"{pol} amplitude step", d["step"], "V", allow_zero=True)
        check_positive(f"{pol} maximum amplitude", d["max"], "V")
        if d["max"] < d["start"]:
            raise LimitError(f"{pol} maximum amplitude {d['max']:g} V is below its start {d['start']:g} V")
        check_positive(f"{pol} pulse width", d["width"], "s")
        sign = set_polarity if pol == "set" else -set_polarity
        limits.check_pulse(sign * d["max"], d["width"], d["compliance"], f"{pol} pulse")
    return s


def checked_scheme(read_v, v_start, v_step, v_max, width, compliance, reset_v_start, reset_v_step, reset_v_max,
                   reset_compliance, reset_width, set_polarity, read_compliance, limits):
    """Validate an ISPP scheme and its read against ``limits`` (before anything is sent).

    Returns the per-polarity settings (see ``_settings``) and the read compliance [A]
    (default: the write compliance).  Raises LimitError naming the offending argument.
    """
    if not isinstance(read_v, (int, float)) or read_v == 0:
        raise LimitError(f"read_v must be a non-zero voltage, got {read_v!r}")
    s = _settings(v_start, v_step, v_max, width, compliance, reset_v_start, reset_v_step, reset_v_max,
                  reset_compliance, reset_width, set_polarity, limits)
    read_compliance = compliance if read_compliance is None else read_compliance
    limits.check_voltage(read_v, "read_v")
    limits.check_compliance(read_compliance, "read_compliance")
    return s, read_compliance


def program(smu, writer: StreamWriter, target: float, s: dict, *, read_v: float, tolerance: float, max_pulses: int,
            direction: str, set_polarity: int, reverse_on_overshoot: bool, read_compliance: float,
            level=-1, pulse_offset: int = 0, progress: Progress | None = None) -> dict:
    """The write-verify loop on an already configured SMU (no safety wrapper); returns the result dict."""
    def read():
        smu.set_compliance(read_compliance)
        r = smu.read(read_v)
        return r, r.i / read_v

    r, g = read()
    writer.append(t=r.t, v=r.v, i=r.i, role="read", pulse=pulse_offset, direction="none", level=level)
    amp = {"set": s["set"]["start"], "reset": s["reset"]["start"]}
    last, n, reversals = None, 0, 0
    success = abs(g - target) <= tolerance * target
    stopped = "in band" if success else "max_pulses"
    while not success and n < max_pulses:
        pol = "set" if g < target else "reset"
        if last is None and direction != "auto" and pol != direction and not reverse_on_overshoot:
            stopped = f"the first read ({g:.4g} S) needs {pol} pulses but direction={direction!r}"
            break
        if last is not None and pol != last:
            if not reverse_on_overshoot:
                stopped = f"overshoot after pulse {n} (reversal disabled)"
                break
            reversals += 1
            amp[pol] = s[pol]["start"]
        last = pol
        sign = set_polarity if pol == "set" else -set_polarity
        a = sign * amp[pol]
        p = smu.pulse(a, s[pol]["width"], s[pol]["compliance"])
        n += 1
        d = "up" if pol == "set" else "down"
        writer.append(t=p.t, v=p.v, i=p.i, role="write", pulse=pulse_offset + n, direction=d, level=level)
        r, g = read()
        writer.append(t=r.t, v=r.v, i=r.i, role="read", pulse=pulse_offset + n, direction=d, level=level)
        amp[pol] = min(amp[pol] + s[pol]["step"], s[pol]["max"])
        success = abs(g - target) <= tolerance * target
        report(progress, n, max_pulses, f"pulse {n}: {a:+.3f} V -> g = {g:.5g} S (target {target:.5g} S)")
    if success:
        stopped = "in band"
    return {"target": target, "g_final": g, "error": (g - target) / target, "success": bool(success),
            "pulses": n, "reversals": reversals, "stopped": stopped, "level": level}


def write_verify(smu, target: float, *, read_v: float, v_start: float, v_step: float, v_max: float,
                 width: float, tolerance: float = 0.02, max_pulses: int = 100, direction: str = "auto",
                 set_polarity: int = 1, reverse_on_overshoot: bool = True, compliance: float = 1e-3,
                 reset_v_start: float | None = None, reset_v_step: float | None = None,
                 reset_v_max: float | None = None, reset_width: float | None = None,
                 reset_compliance: float | None = None, read_compliance: float | None = None, nplc: float = 0.1,
                 limits: Limits | None = None, out=None, name: str = "write_verify",
                 progress: Progress | None = None, **meta) -> PulseTrain:
    """Program the read conductance to ``target`` within ``tolerance`` by incremental step pulses.

    Parameters
    ----------
    smu : SMU
        The instrument.
    target : float
        Target read conductance ``i / read_v`` [S] (> 0).
    read_v : float
        Verify (read) voltage [V], not 0.
    v_start, v_step, v_max : float
        Set-pulse amplitude: start, increment per pulse, maximum [V] (magnitudes).
    width : float
        Set-pulse width [s].
    tolerance : float
        Relative half-width of the target band [1] (0.02: +-2 %).
    max_pulses : int
        Pulse budget.
    direction : {"auto", "set", "reset"}
        Expected first polarity; with ``reverse_on_overshoot=False`` a first
        read that needs the other polarity stops the loop.
    set_polarity : {+1, -1}
        Sign of the voltage of a set (conductance-raising) pulse.
    reverse_on_overshoot : bool
        Switch polarity when the band is overshot (amplitude restarts).
    compliance : float
        Set-pulse compliance [A].
    reset_v_start, reset_v_step, reset_v_max, reset_width, reset_compliance : float, optional
        The same for reset pulses (default: the set values).
    read_compliance : float, optional
        Compliance of the verify reads [A]; default ``compliance``.
    nplc : float
        Aperture [power-line cycles].
    limits, out, name, progress, **meta
        As in :func:`~instruments.routines.iv_sweep`.

    Returns
    -------
    PulseTrain
        The full trace (every pulse and every verify read; ``direction`` up
        for set, down for reset) with ``meta["result"]``: ``success``,
        ``pulses`` used, ``g_final`` [S], relative ``error``, ``reversals``,
        ``stopped`` (why the loop ended).
    """
    limits = limits or Limits()
    check_positive("target", target, "S")
    check_positive("tolerance", tolerance, "")
    check_count("max_pulses", max_pulses)
    if direction not in ("auto", "set", "reset"):
        raise LimitError(f"direction must be 'auto', 'set' or 'reset', got {direction!r}")
    s, read_compliance = checked_scheme(read_v, v_start, v_step, v_max, width, compliance, reset_v_start,
                                        reset_v_step, reset_v_max, reset_compliance, reset_width, set_polarity,
                                        read_compliance, limits)
    params = dict(target=target, read_v=read_v, tolerance=tolerance, max_pulses=max_pulses, direction=direction,
                  set_polarity=set_polarity, reverse_on_overshoot=reverse_on_overshoot, set=s["set"],
                  reset=s["reset"], read_compliance=read_compliance, nplc=nplc)
    md = base_meta(smu, "write_verify", params, limits, compliance=read_compliance, read_voltage=read_v, **meta)
    writer = StreamWriter(out, name, "pulse", WRITE_VERIFY_COLUMNS, md)
    with safe_output(smu, writer):
        smu.configure(read_compliance, nplc=nplc)
        smu.output(True)
        result = program(smu, writer, target, s, read_v=read_v, tolerance=tolerance, max_pulses=max_pulses,
                         direction=direction, set_polarity=set_polarity, reverse_on_overshoot=reverse_on_overshoot,
                         read_compliance=read_compliance, level=0, progress=progress)
    writer.close("complete", result=result)
    return writer.measurement(result=result)
