"""CrossSim export: ``xbar.device`` parameters in CrossSim 3.x's JSON form, plus normalised dG tables.

CrossSim (sandialabs/cross-sim, ``simulator/parameters/xbar_parameters.py``,
``DeviceParameters``) describes a device by ``Rmin``/``Rmax`` [Ohm] (it
normalises conductances by ``G_max = 1/Rmin``: ``Gmin_norm = Rmin/Rmax``),
``Vread`` [V], ``cell_bits`` and three ``WeightErrorParameters`` blocks
``{"enable", "model", "magnitude"}``:

* ``programming_error``: ``NormalProportionalDevice`` with magnitude = the
  preset's write-verify ``residual_std`` (std relative to the target);
* ``read_noise``: ``NormalProportionalDevice`` with magnitude = ``read_noise``;
* ``drift_error``: CrossSim has no generic drift model -- disabled, and the
  preset's nu(G) table travels in ``memfit_extras``.

``memfit_extras`` (ignored by CrossSim) also holds the pulse-response
tables normalised like CrossSim's lookup tables (``G/G_max``, ``dG/G_max``).
:data:`DEVICE_SCHEMA` is the JSON Schema the export is checked against.
"""

from __future__ import annotations

import json
import math

import numpy as np

#: JSON Schema of the ``xbar.device`` block (keys and types of CrossSim 3.x ``DeviceParameters``).
_ERR = {"type": "object", "additionalProperties": False, "required": ["enable", "model", "magnitude"],
        "properties": {"enable": {"type": "boolean"}, "model": {"type": "string"},
                       "magnitude": {"type": "number", "minimum": 0}}}
DEVICE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["cell_bits", "Rmin", "Rmax", "Vread", "time", "infinite_on_off_ratio", "clip_conductance",
                 "read_noise", "programming_error", "drift_error"],
    "properties": {
        "cell_bits": {"type": "integer", "minimum": -1},
        "Rmin": {"type": "number", "exclusiveMinimum": 0},
        "Rmax": {"type": "number", "exclusiveMinimum": 0},
        "Vread": {"type": "number"},
        "time": {"type": "number", "minimum": 0},
        "infinite_on_off_ratio": {"type": "boolean"},
        "clip_conductance": {"type": "boolean"},
        "read_noise": _ERR,
        "programming_error": _ERR,
        "drift_error": _ERR,
        "nonlinear_IV": _ERR,
    },
}


def device_parameters(preset) -> dict:
    """The ``xbar.device`` dict."""
    bits = int(math.floor(math.log2(preset.levels))) if preset.levels > 1 else 0
    return {
        "cell_bits": bits,
        "Rmin": 1.0 / preset.g_max,
        "Rmax": 1.0 / preset.g_min if preset.g_min > 0 else 1e30,
        "Vread": preset.read_voltage,
        "time": 0,
        "infinite_on_off_ratio": preset.g_min <= 0,
        "clip_conductance": True,
        "read_noise": {"enable": preset.read_noise > 0, "model": "NormalProportionalDevice",
                       "magnitude": preset.read_noise},
        "programming_error": {"enable": preset.write_verify["residual_std"] > 0, "model": "NormalProportionalDevice",
                              "magnitude": preset.write_verify["residual_std"]},
        "drift_error": {"enable": False, "model": "IdealDevice", "magnitude": 0},
    }


def export_dict(preset) -> dict:
    """``{"xbar": {"device": ...}, "memfit_extras": ...}``."""
    extras = {"preset": preset.name, "G_max": preset.g_max,
              "drift": {"t0": preset.drift["t0"], "G_norm": (preset.drift["nu_g"] / preset.g_max).tolist(),
                        "nu_mean": preset.drift["nu_mean"].tolist(), "nu_std": preset.drift["nu_std"].tolist()}}
    if preset.has_pulse_response:
        for d in ("up", "down"):
            t = preset.pulse_response(d)
            extras[f"dG_{'increasing' if d == 'up' else 'decreasing'}"] = {
                "G_norm": (t["g"] / preset.g_max).tolist(), "dG_mean_norm": (t["dg_mean"] / preset.g_max).tolist(),
                "dG_std_norm": (t["dg_std"] / preset.g_max).tolist(), "amplitude_V": t["amplitude"],
                "width_s": t["width"]}
    return {"xbar": {"device": device_parameters(preset)}, "memfit_extras": extras}


def check(doc: dict) -> None:
    """Validate an export against :data:`DEVICE_SCHEMA` (raises PresetError naming the key)."""
    import jsonschema

    from memfit.errors import PresetError

    errs = sorted(jsonschema.Draft202012Validator(DEVICE_SCHEMA).iter_errors(doc["xbar"]["device"]),
                  key=lambda e: list(e.absolute_path))
    if errs:
        e = errs[0]
        raise PresetError(f"xbar.device.{'.'.join(map(str, e.absolute_path))}: {e.message}")
    dev = doc["xbar"]["device"]
    if not dev["Rmin"] < dev["Rmax"] and not dev["infinite_on_off_ratio"]:
        raise PresetError("xbar.device: Rmin must be below Rmax")


def export(preset) -> str:
    """Exporter entry point: JSON text (schema-checked)."""
    d = export_dict(preset)
    check(d)
    return json.dumps(d, indent=2, default=lambda o: o.tolist() if isinstance(o, np.ndarray) else str(o))
