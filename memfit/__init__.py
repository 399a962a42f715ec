"""memfit: characterize memristive devices, fit compact models, export presets, run networks on crossbars.

The subpackages load on first use, so ``import memfit`` is light:

* :mod:`memfit.models` -- device models and their registry
* :mod:`memfit.simulate` -- stimuli, the test circuit, the integrators
* :mod:`memfit.data` -- measured/simulated data records
"""

from memfit.errors import (
    CircuitError,
    FitError,
    InstrumentError,
    IntegrationError,
    LimitError,
    MeasurementError,
    MemfitError,
    ModelError,
    ParameterError,
    PresetError,
    StimulusError,
)

__version__ = "0.1.0"

_LAZY = {
    "simulate": ("memfit.simulate", "simulate"),
    "simulate_batch": ("memfit.simulate", "simulate_batch"),
    "get_model": ("memfit.models", "get_model"),
    "available_models": ("memfit.models", "available_models"),
    "models": ("memfit.models", None),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        mod, attr = _LAZY[name]
        m = importlib.import_module(mod)
        return m if attr is None else getattr(m, attr)
    raise AttributeError(f"module 'memfit' has no attribute {name!r}")


__all__ = [
    "__version__",
    "MemfitError",
    "ModelError",
    "ParameterError",
    "StimulusError",
    "CircuitError",
    "IntegrationError",
    "MeasurementError",
    "FitError",
    "PresetError",
    "InstrumentError",
    "LimitError",
    "simulate",
    "simulate_batch",
    "get_model",
    "available_models",
]
