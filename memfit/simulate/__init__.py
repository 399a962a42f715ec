"""Stimuli, the test circuit and the integrators.

>>> from memfit.simulate import simulate, triangle_sweep
>>> sim = simulate("vteam", triangle_sweep(vmax=1.2, frequency=1, cycles=2))   # doctest: +SKIP
"""

from memfit.simulate.core import BatchSimulation, Simulation, Simulator, TestCircuit, simulate, simulate_batch
from memfit.simulate.stimulus import (
    Stimulus,
    arbitrary,
    current_sweep,
    hold,
    parse_stimulus,
    pulse_train,
    sine_sweep,
    triangle_sweep,
)

__all__ = [
    "simulate",
    "simulate_batch",
    "Simulation",
    "BatchSimulation",
    "Simulator",
    "TestCircuit",
    "Stimulus",
    "arbitrary",
    "current_sweep",
    "hold",
    "parse_stimulus",
    "pulse_train",
    "sine_sweep",
    "triangle_sweep",
]
