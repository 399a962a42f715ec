"""The device under test of the simulated SMU: a memfit DeviceModel with a state and a clock.

:class:`SimulatedDevice` keeps the model's state vector and a simulated
clock [s].  Every source action advances the clock by its duration and
integrates the model over it with :class:`memfit.simulate.Simulator` (the
same Numba integrators and test circuit -- series resistance, compliance --
as :func:`memfit.simulate.simulate`), starting from the current state.
Nothing depends on the host's wall clock, so a 1000 s retention run takes
milliseconds.

:class:`MeasurementModel` turns the true current into what a Keithley
2450-class instrument reports: auto-ranging over the current ranges, a
range-dependent resolution (``range x 1e-6``, 6½ digits), offset noise
``range x 1e-5 / sqrt(NPLC)`` and gain noise ``5e-5 x |i|`` (rough
magnitudes of the 2450 data sheet's accuracy table; *approximate*).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from memfit.models import get_model
from memfit.simulate import Simulator, TestCircuit, hold

__all__ = ["SimulatedDevice", "MeasurementModel", "CURRENT_RANGES"]

#: Current ranges of the Keithley 2450 [A].
CURRENT_RANGES = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
#: What a Keithley instrument returns for an overflowed reading.
OVERFLOW = 9.9e37


class SimulatedDevice:
    """A memfit device model with a state vector and a simulated clock.

    Parameters
    ----------
    model : str or DeviceModel
        Registered model name or alias (``"nbox"``, ``"vteam"`` ...).
    params : dict, optional
        Parameter overrides (name -> value in the model's units); the rest
        are the model's defaults.
    x0 : dict, optional
        Initial state (state name -> value); default: the model's.
    series_resistance : float
        Resistance between the SMU and the device [Ohm] (probes, lines).
    """

    def __init__(self, model="nbox", params: dict | None = None, x0: dict | None = None,
                 series_resistance: float = 0.0):
        self.model = get_model(model)
        if self.model.port != "i(v)":
            raise ValueError(f"the simulated SMU measures currents; model {self.model.name!r} has a "
                             f"{self.model.port} port")
        self.p = self.model.params(params or {})
        self.x = self.model.initial_state(self.p, **(x0 or {})).astype(float)
        self.series_resistance = float(series_resistance)
        self.t = 0.0
        self._sims: dict = {}

    @property
    def params(self) -> dict[str, float]:
        """Parameter name -> value."""
        return dict(zip(self.model.param_names, map(float, self.p)))

    @property
    def state(self) -> dict[str, float]:
        """State name -> value."""
        return dict(zip(self.model.state_names, map(float, self.x)))

    def warm_up(self) -> None:
        """Load the compiled integrator (first use costs ~1 s) without touching the state or the clock."""
        Simulator(self.model, hold(0.0, 1e-6, points=2), self._circuit(None)).run(self.p, self.x.copy())

    def _circuit(self, compliance: float | None) -> TestCircuit:
        return TestCircuit(series_resistance=self.series_resistance, compliance=compliance)

    def apply(self, v: float, duration: float, compliance: float | None, points: int = 2):
        """Hold the source at ``v`` [V] for ``duration`` [s] behind ``compliance`` [A].

        Returns ``(i, limited)``: the current samples [A] over the interval
        (``points`` evenly spaced, ends included) and whether the compliance
        limited the source at the end.  The state and the clock advance.
        """
        if duration <= 0:
            i = float(self.model.current(self.x.copy(), float(v), self.p)) if self.series_resistance == 0 else None
            if i is None:  # with a series resistance, solve the circuit over a tiny interval
                return self.apply(v, 1e-12, compliance, points)
            limited = compliance is not None and abs(i) > compliance
            if limited:
                i = math.copysign(compliance, i)
            return np.array([i]), limited
        stim = hold(float(v), float(duration), points=max(2, int(points)))
        sim = Simulator(self.model, stim, self._circuit(compliance))
        out, X = sim.run(self.p, self.x)
        self.x = np.asarray(X[-1, : self.model.n_states], dtype=float).copy()
        self.t += float(duration)
        return out[:, 1].copy(), bool(out[-1, 3] > 0.5)


@dataclass
class MeasurementModel:
    """What the instrument reports for a true current: ranging, resolution and noise.

    Parameters
    ----------
    seed : int
        Seed of the noise generator (reproducible runs).
    noise : bool
        Add noise (``False``: only quantisation).
    offset : float
        Offset noise as a fraction of the range at 1 NPLC [1].
    gain : float
        Gain noise as a fraction of the reading [1].
    resolution : float
        Resolution as a fraction of the range [1].
    """

    seed: int = 0
    noise: bool = True
    offset: float = 1e-5
    gain: float = 5e-5
    resolution: float = 1e-6

    def __post_init__(self):
        self.rng = np.random.default_rng(self.seed)

    @staticmethod
    def auto_range(i: float) -> float:
        """Smallest current range [A] that holds ``|i|`` (105 % over-range)."""
        a = abs(i)
        for r in CURRENT_RANGES:
            if a <= 1.05 * r:
                return r
        return CURRENT_RANGES[-1]

    def reading(self, i: float, nplc: float, fixed_range: float | None = None) -> float:
        """The reported current [A] for a true mean current ``i`` over the aperture."""
        rng_ = self.auto_range(i) if fixed_range is None else fixed_range
        if abs(i) > 1.05 * rng_:
            return OVERFLOW
        x = i
        if self.noise:
            sigma = math.hypot(self.offset * rng_ / math.sqrt(max(nplc, 1e-3)), self.gain * abs(i))
            x = i + sigma * self.rng.standard_normal()
        q = self.resolution * rng_
        return round(x / q) * q
