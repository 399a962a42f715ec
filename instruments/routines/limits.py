"""User safety limits, checked before anything is sent to the instrument."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from memfit.errors import LimitError

__all__ = ["Limits"]


def _pos(name: str, x, unit: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x <= 0:
        raise LimitError(f"Limits.{name} must be a number > 0 {unit}, got {x!r}")
    return float(x)


@dataclass(frozen=True)
class Limits:
    """What a routine may never exceed; every request is checked before the first command.

    Parameters
    ----------
    v_max : float
        Largest |source voltage| [V] (write pulses, sweeps, reads).
    i_max : float
        Largest current compliance [A].
    pulse_width_max : float
        Longest write pulse [s].
    pulse_energy_max : float, optional
        Largest worst-case pulse energy ``|V| x compliance x width`` [J]
        (an upper bound of what the pulse can dissipate); ``None``: no bound.

    Raises
    ------
    LimitError
        From the ``check_*`` methods, naming the quantity, value, limit and unit.
    """

    v_max: float = 5.0
    i_max: float = 0.01
    pulse_width_max: float = 1.0
    pulse_energy_max: float | None = None

    def __post_init__(self):
        _pos("v_max", self.v_max, "V")
        _pos("i_max", self.i_max, "A")
        _pos("pulse_width_max", self.pulse_width_max, "s")
        if self.pulse_energy_max is not None:
            _pos("pulse_energy_max", self.pulse_energy_max, "J")

    def as_dict(self) -> dict:
        """JSON-able copy (stored in the measurement metadata)."""
        return asdict(self)

    def check_voltage(self, v, what: str = "voltage") -> None:
        """|v| <= v_max for a number or an array [V]."""
        a = np.atleast_1d(np.asarray(v, dtype=float))
        if not np.all(np.isfinite(a)):
            raise LimitError(f"{what} must be finite, got {v!r}")
        k = int(np.argmax(np.abs(a)))
        if abs(a[k]) > self.v_max:
            raise LimitError(f"{what} = {a[k]:g} V exceeds the limit |V| <= {self.v_max:g} V; nothing was sent")

    def check_compliance(self, c, what: str = "compliance") -> None:
        """0 < c <= i_max [A]."""
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not math.isfinite(c) or c <= 0:
            raise LimitError(f"{what} must be a current > 0 A, got {c!r}")
        if c > self.i_max:
            raise LimitError(f"{what} = {c:g} A exceeds the limit {self.i_max:g} A; nothing was sent")

    def check_pulse(self, amplitude: float, width: float, compliance: float, what: str = "pulse") -> None:
        """Amplitude, width, compliance and worst-case energy of a write pulse."""
        self.check_voltage(amplitude, f"{what} amplitude")
        self.check_compliance(compliance, f"{what} compliance")
        if isinstance(width, bool) or not isinstance(width, (int, float)) or not math.isfinite(width) or width <= 0:
            raise LimitError(f"{what} width must be a duration > 0 s, got {width!r}")
        if width > self.pulse_width_max:
            raise LimitError(f"{what} width = {width:g} s exceeds the limit {self.pulse_width_max:g} s; "
                             "nothing was sent")
        if self.pulse_energy_max is not None:
            e = abs(amplitude) * compliance * width
            if e > self.pulse_energy_max:
                raise LimitError(f"{what} worst-case energy |V| x compliance x width = {abs(amplitude):g} V x "
                                 f"{compliance:g} A x {width:g} s = {e:.3g} J exceeds the limit "
                                 f"{self.pulse_energy_max:g} J; nothing was sent")
