"""Typed errors raised by memfit.

Every error says what was wrong (the parameter, file, column, value and unit
involved) and, where there is one, what to do about it.  They all derive from
:class:`MemfitError`, so ``except memfit.MemfitError`` catches any of them.
Most also derive from :class:`ValueError`, because they report bad input.
"""

from __future__ import annotations


class MemfitError(Exception):
    """Base class of every error raised on purpose by memfit."""


class ModelError(MemfitError, ValueError):
    """An unknown model name, or a model declaration that breaks the DeviceModel contract."""


class ParameterError(MemfitError, ValueError):
    """A device parameter that is unknown, not finite, or outside its declared bounds."""


class StimulusError(MemfitError, ValueError):
    """A stimulus that cannot be built: bad amplitude, width, rate, or an unparsable stimulus string."""


class CircuitError(MemfitError, ValueError):
    """A test circuit with impossible settings (negative series resistance, zero compliance, ...)."""


class IntegrationError(MemfitError, RuntimeError):
    """The integrator could not finish: step budget exhausted, step size underflow or a non-finite state."""


class MeasurementError(MemfitError, ValueError):
    """Measured data that does not validate (missing column, NaN, non-monotonic time, wrong unit, ...)."""


class FitError(MemfitError, RuntimeError):
    """A fit that did not converge or could not start."""


class PresetError(MemfitError, ValueError):
    """A preset document that does not validate against the preset schema."""


class InstrumentError(MemfitError, RuntimeError):
    """An instrument that did not answer, answered nonsense or refused a command."""


class LimitError(MemfitError, ValueError):
    """A request that would exceed a user-set safety limit or an instrument's capability; never sent."""
