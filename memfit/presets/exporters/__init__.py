"""Exporters: one registry (:data:`EXPORTERS`) mapping a target name to a function ``preset -> text``.

================  ==============================================================================
``spice``         behavioural ``.subckt`` of the compact model (ngspice/LTspice), see :mod:`.spice`
``veriloga``      Verilog-A module of the compact model, see :mod:`.veriloga`
``crosssim``      CrossSim ``xbar.device`` parameters (JSON) + normalised dG lookup tables, :mod:`.crosssim`
``aihwkit``       PiecewiseStep pulsed-device config + inference noise model (JSON and Python), :mod:`.aihwkit`
================  ==============================================================================

>>> from memfit.presets import load_preset, export_preset
>>> text = export_preset(load_preset("nbox"), "spice")      # doctest: +SKIP
"""

from __future__ import annotations

from typing import Callable

from memfit.errors import PresetError


def _spice(preset) -> str:
    from memfit.presets.exporters import spice

    return spice.export(preset)


def _veriloga(preset) -> str:
    from memfit.presets.exporters import veriloga

    return veriloga.export(preset)


def _crosssim(preset) -> str:
    from memfit.presets.exporters import crosssim

    return crosssim.export(preset)


def _aihwkit(preset) -> str:
    from memfit.presets.exporters import aihwkit

    return aihwkit.export(preset)


#: target name -> (function preset -> text, file suffix, what it needs from the preset)
EXPORTERS: dict[str, tuple[Callable, str, str]] = {
    "spice": (_spice, ".cir", "model"),
    "veriloga": (_veriloga, ".va", "model"),
    "crosssim": (_crosssim, ".json", "any"),
    "aihwkit": (_aihwkit, ".json", "any"),
}


def export_preset(preset, target: str) -> str:
    """Export ``preset`` to ``target`` (a key of :data:`EXPORTERS`); returns the text to write.

    Raises
    ------
    PresetError
        Unknown target (the message lists them), or a preset the target
        cannot represent (e.g. a model without SPICE equations: the message
        lists the supported models).
    """
    try:
        func = EXPORTERS[target][0]
    except KeyError:
        raise PresetError(f"unknown export target {target!r}; targets: {', '.join(EXPORTERS)}") from None
    return func(preset)


__all__ = ["EXPORTERS", "export_preset"]
