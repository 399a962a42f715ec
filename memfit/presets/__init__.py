"""Device presets: a versioned JSON document in SI units, derived from fits, with exporters.

>>> from memfit.presets import load_preset, list_presets
>>> p = load_preset("ftj-balanced")            # doctest: +SKIP
>>> p.pulse_response("up")["dg_mean"][:3]      # doctest: +SKIP

* :class:`Preset`, :func:`load_preset`, :func:`list_presets` -- the document and the built-ins;
* :func:`derive_preset` -- a preset from a model + (fitted) parameters, by simulation
  (:meth:`memfit.fitting.FitResult.to_preset` calls it);
* :func:`export_preset` and :data:`EXPORTERS` -- SPICE, Verilog-A, CrossSim, aihwkit;
* :func:`schema` -- the published JSON Schema.
"""

from memfit.errors import PresetError
from memfit.presets.preset import Preset, draw_parameters, list_presets, load_preset
from memfit.presets.schema import SCHEMA_VERSION, schema, validate_document

__all__ = [
    "Preset",
    "PresetError",
    "load_preset",
    "list_presets",
    "draw_parameters",
    "derive_preset",
    "preset_from_fit",
    "d2d_from_population",
    "export_preset",
    "EXPORTERS",
    "schema",
    "validate_document",
    "SCHEMA_VERSION",
]


def __getattr__(name):  # derivation and exporters load on first use (they import the simulator)
    if name in ("derive_preset", "preset_from_fit", "d2d_from_population"):
        from memfit.presets import derive

        return getattr(derive, name)
    if name in ("export_preset", "EXPORTERS"):
        from memfit.presets import exporters

        return getattr(exporters, name)
    raise AttributeError(f"module 'memfit.presets' has no attribute {name!r}")
