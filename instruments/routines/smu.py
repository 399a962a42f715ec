"""The vendor-neutral SMU interface the routines are written against.

A routine never sends a vendor command: it calls the handful of methods of
:class:`SMU`, which every driver implements (Keithley 2450, 2600B, Keysight
B2900; the simulated SMU is reached through the 2450 driver).  Source mode
is always *voltage source, current measure* with a current compliance --
what memristive characterization uses.

Timing
------
Every :class:`Reading` carries the instrument's own time stamp [s]
(monotonic within a session, zero at an instrument-specific origin).  Pulse
widths and waits are timed by the instrument (list-sweep source delays,
trigger timers, trigger-model delay blocks), not by the host.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["SMU", "Reading"]


@dataclass(frozen=True)
class Reading:
    """One measured point.

    Attributes
    ----------
    t : float
        Instrument time stamp [s].
    v : float
        Source voltage (programmed or read back) [V].
    i : float
        Measured current [A].
    """

    t: float
    v: float
    i: float


class SMU(abc.ABC):
    """The small set of operations the routines need.

    Implementations must validate every request against their
    :class:`~instruments.drivers.base.Capabilities` and raise
    :class:`~memfit.errors.LimitError` *before* sending anything when a
    request cannot be met exactly.
    """

    @abc.abstractmethod
    def configure(self, compliance: float, *, nplc: float = 1.0, current_range: float | None = None) -> None:
        """Voltage source, current measure, ``compliance`` [A]; ``current_range`` [A] or auto (None)."""

    @abc.abstractmethod
    def set_compliance(self, compliance: float) -> None:
        """Current compliance [A] (validated, never clipped)."""

    @abc.abstractmethod
    def set_level(self, v: float) -> None:
        """Source level [V]."""

    @abc.abstractmethod
    def output(self, on: bool) -> None:
        """Switch the output on or off."""

    @abc.abstractmethod
    def measure(self) -> Reading:
        """Measure the current at the present level (one aperture)."""

    def read(self, v: float) -> Reading:
        """Apply ``v`` [V], measure, return to 0 V."""
        self.set_level(v)
        try:
            return self.measure()
        finally:
            self.set_level(0.0)

    @abc.abstractmethod
    def pulse(self, amplitude: float, width: float, compliance: float | None = None) -> Reading:
        """A write pulse of ``amplitude`` [V] for ``width`` [s]; returns the reading at its end; back to 0 V."""

    def sweep(self, levels: Sequence[float], point_time: float) -> list[Reading]:
        """Step through ``levels`` [V], ``point_time`` [s] per point, one reading per point.

        The default loops :meth:`set_level` / :meth:`wait` / :meth:`measure`;
        drivers override it with the instrument's list sweep.
        """
        out = []
        for v in np.asarray(levels, dtype=float):
            self.set_level(float(v))
            out.append(self.measure())
        return out

    @abc.abstractmethod
    def wait(self, duration: float) -> None:
        """Hold the present level for ``duration`` [s] (timed by the instrument where it can)."""

    @abc.abstractmethod
    def in_compliance(self) -> bool:
        """True when the last measurement was limited by the compliance."""

    @abc.abstractmethod
    def zero_and_off(self) -> list[str]:
        """Best effort: source to 0 V and output off; never raises; returns the problems met."""

    @abc.abstractmethod
    def snapshot(self) -> dict:
        """Identification, settings and capabilities (JSON-able), stored with every measurement."""

    @property
    @abc.abstractmethod
    def aperture(self) -> float:
        """Duration of one measurement [s] (NPLC / line frequency, or the set aperture)."""
