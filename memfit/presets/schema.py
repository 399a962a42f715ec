"""Validation of preset documents against the published JSON Schema, plus the checks a schema cannot express.

The schema file ``preset.schema.json`` ships inside the package (read it with
:func:`schema`).  :func:`validate_document` checks a document in two passes:

1. structure (JSON Schema, draft 2020-12, via ``jsonschema``): required keys,
   unknown keys, types and units of every quantity;
2. semantics: table lengths agree, grids increase, ``g_min < g_max``, the
   correlation matrix is square, symmetric, unit-diagonal and positive
   semi-definite, and -- when the model is registered -- every model and d2d
   parameter exists with the model's declared unit.

Every failure raises :class:`~memfit.errors.PresetError` with a one-line message
that starts with the key path, e.g. ``conductance.g_max: unit 'nS' not allowed,
expected 'S'``.
"""

from __future__ import annotations

import functools
import json
import math
from importlib import resources
from typing import Any

import numpy as np

from memfit.errors import ModelError, PresetError

#: Version of the preset document format this code reads and writes.
SCHEMA_VERSION = "1.0"


@functools.lru_cache(maxsize=1)
def schema() -> dict:
    """The preset JSON Schema (a dict), read from the package file ``preset.schema.json``."""
    text = resources.files("memfit.presets").joinpath("preset.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@functools.lru_cache(maxsize=1)
def _validator():
    import jsonschema

    cls = jsonschema.Draft202012Validator
    cls.check_schema(schema())
    return cls(schema())


def _path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(document)"


def _message(err) -> str:
    """One line naming the key path for a jsonschema ValidationError."""
    where = _path(err.absolute_path)
    v = err.validator
    if v == "const" and err.absolute_path and err.absolute_path[-1] == "unit":
        return f"{_path(list(err.absolute_path)[:-1])}: unit {err.instance!r} not allowed, expected {err.validator_value!r}"
    if v == "const":
        return f"{where}: value {err.instance!r} not allowed, expected {err.validator_value!r}"
    if v == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed)) if isinstance(err.instance, dict) else []
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return f"{where}: unknown key{'s' if len(extra) > 1 else ''} {', '.join(repr(e) for e in extra)}{hint}"
    if v == "required":
        missing = [k for k in err.validator_value if k not in err.instance]
        return f"{where}: missing key {', '.join(repr(m) for m in missing)}"
    if v == "oneOf":
        # report the most specific error of the non-null branch
        best = None
        for sub in err.context or []:
            if sub.validator == "type" and sub.validator_value == "null":
                continue
            if best is None or len(sub.absolute_path) > len(best.absolute_path):
                best = sub
        if best is not None:
            return _message(best)
        return f"{where}: {err.message}"
    if v == "type":
        return f"{where}: expected {err.validator_value}, got {type(err.instance).__name__} {err.instance!r}"
    if v == "enum":
        return f"{where}: {err.instance!r} is not one of {err.validator_value}"
    return f"{where}: {err.message}"


def _errors_sorted(doc):
    errs = list(_validator().iter_errors(doc))
    # deepest (most specific) first, then by path text for a stable order
    errs.sort(key=lambda e: (-len(e.absolute_path), _path(e.absolute_path)))
    return errs


def validate_structure(doc: Any) -> None:
    """Check ``doc`` against the JSON Schema; raise :class:`PresetError` naming the first bad key."""
    if not isinstance(doc, dict):
        raise PresetError(f"a preset document must be a JSON object, got {type(doc).__name__}")
    if "schema_version" in doc and doc["schema_version"] != SCHEMA_VERSION:
        raise PresetError(f"schema_version: {doc['schema_version']!r} is not supported; this memfit reads "
                          f"{SCHEMA_VERSION!r}")
    errs = _errors_sorted(doc)
    if errs:
        more = f" (and {len(errs) - 1} more problem{'s' if len(errs) > 2 else ''})" if len(errs) > 1 else ""
        raise PresetError(_message(errs[0]) + more)


def _finite(path: str, values) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(a)):
        k = int(np.argmin(np.isfinite(a.ravel())))
        raise PresetError(f"{path}: value {a.ravel()[k]} at index {k} is not finite")
    return a


def _increasing(path: str, values) -> None:
    a = np.asarray(values, dtype=float)
    if a.size > 1 and np.any(np.diff(a) <= 0):
        k = int(np.argmax(np.diff(a) <= 0))
        raise PresetError(f"{path}: values must increase strictly (index {k + 1}: {a[k + 1]:g} after {a[k]:g})")


def validate_semantics(doc: dict) -> None:
    """Checks beyond the schema (lengths, ordering, ranges, correlation matrix, model parameter units)."""
    g_min = doc["conductance"]["g_min"]["value"]
    g_max = doc["conductance"]["g_max"]["value"]
    if not (0 <= g_min < g_max):
        raise PresetError(f"conductance: need 0 <= g_min < g_max, got g_min = {g_min:g} S, g_max = {g_max:g} S")
    iv = doc["read"]["iv"]
    v = _finite("read.iv.v.values", iv["v"]["values"])
    i = _finite("read.iv.i_rel.values", iv["i_rel"]["values"])
    if v.size != i.size:
        raise PresetError(f"read.iv: v has {v.size} values but i_rel has {i.size}")
    _increasing("read.iv.v.values", v)
    vr = doc["read"]["voltage"]["value"]
    if vr == 0 or not (v[0] <= vr <= v[-1]):
        raise PresetError(f"read.voltage: {vr:g} V must be non-zero and inside the read.iv grid [{v[0]:g}, {v[-1]:g}] V")
    rn = doc["read"]["noise"]["value"]
    if not (0 <= rn < 1):
        raise PresetError(f"read.noise: relative read noise must be in [0, 1), got {rn:g}")
    pr = doc["pulse_response"]
    if pr is not None:
        for d in ("up", "down"):
            t = pr[d]
            n = len(t["g"]["values"])
            for key in ("dg_mean", "dg_std"):
                if len(t[key]["values"]) != n:
                    raise PresetError(f"pulse_response.{d}.{key}: {len(t[key]['values'])} values, but g has {n}")
                _finite(f"pulse_response.{d}.{key}.values", t[key]["values"])
            _increasing(f"pulse_response.{d}.g.values", t["g"]["values"])
            if min(t["dg_std"]["values"]) < 0:
                raise PresetError(f"pulse_response.{d}.dg_std: standard deviations must be >= 0")
    dr = doc["drift"]
    n = len(dr["nu_g"]["values"])
    for key in ("nu_mean", "nu_std"):
        if len(dr[key]["values"]) != n:
            raise PresetError(f"drift.{key}: {len(dr[key]['values'])} values, but nu_g has {n}")
    _increasing("drift.nu_g.values", dr["nu_g"]["values"])
    for key in ("stuck_on", "stuck_off"):
        f = doc["faults"][key]["value"]
        if not (0 <= f <= 1):
            raise PresetError(f"faults.{key}: a fraction in [0, 1] is required, got {f:g}")
    wv = doc["write_verify"]
    for key in ("tolerance", "success_rate"):
        f = wv[key]["value"]
        if not (0 <= f <= 1):
            raise PresetError(f"write_verify.{key}: a fraction in [0, 1] is required, got {f:g}")
    _check_d2d(doc)
    _check_model(doc)


def _check_d2d(doc: dict) -> None:
    d2d = doc["d2d"]
    for name, spec in d2d["parameters"].items():
        if spec["std"]["value"] < 0:
            raise PresetError(f"d2d.parameters.{name}.std: must be >= 0, got {spec['std']['value']:g}")
        if spec["mean"]["unit"] != spec["std"]["unit"]:
            raise PresetError(f"d2d.parameters.{name}: mean in {spec['mean']['unit']!r} but std in {spec['std']['unit']!r}")
        if spec["distribution"] == "lognormal" and spec["mean"]["value"] <= 0:
            raise PresetError(f"d2d.parameters.{name}.mean: a lognormal parameter needs a mean > 0, "
                              f"got {spec['mean']['value']:g}")
    corr = d2d["correlation"]
    names = corr["names"]
    m = corr["matrix"]
    if len(set(names)) != len(names):
        raise PresetError(f"d2d.correlation.names: duplicate names in {names}")
    unknown = [nm for nm in names if nm not in d2d["parameters"]]
    if unknown:
        raise PresetError(f"d2d.correlation.names: {unknown} are not in d2d.parameters")
    if len(m) != len(names) or any(len(row) != len(names) for row in m):
        raise PresetError(f"d2d.correlation.matrix: must be {len(names)} x {len(names)} (one row/column per name)")
    if names:
        a = _finite("d2d.correlation.matrix", m)
        if not np.allclose(a, a.T, atol=1e-9):
            raise PresetError("d2d.correlation.matrix: not symmetric")
        if not np.allclose(np.diag(a), 1.0, atol=1e-9):
            raise PresetError("d2d.correlation.matrix: the diagonal must be 1")
        if np.any(np.abs(a) > 1 + 1e-12):
            raise PresetError("d2d.correlation.matrix: correlations must lie in [-1, 1]")
        if np.min(np.linalg.eigvalsh(a)) < -1e-8:
            raise PresetError("d2d.correlation.matrix: not positive semi-definite (not a correlation matrix)")


def _check_model(doc: dict) -> None:
    m = doc["model"]
    if m is None:
        if doc["d2d"]["parameters"]:
            raise PresetError("d2d.parameters: a preset without a model cannot have parameter distributions")
        return
    from memfit.models import get_model

    try:
        model = get_model(m["name"])
    except ModelError as exc:
        raise PresetError(f"model.name: {exc}") from None
    for name, q in m["parameters"].items():
        if name not in model.param_names:
            raise PresetError(f"model.parameters.{name}: model {model.name!r} has no such parameter; its parameters "
                              f"are {', '.join(model.param_names)}")
        unit = model.parameter(name).unit
        if q["unit"] != unit:
            raise PresetError(f"model.parameters.{name}: unit {q['unit']!r} not allowed, expected {unit!r}")
        if not math.isfinite(q["value"]):
            raise PresetError(f"model.parameters.{name}: value must be finite")
    if m["x0"] is not None:
        units = {s.name: s.unit for s in model.states}
        for name, q in m["x0"].items():
            if name not in units:
                raise PresetError(f"model.x0.{name}: model {model.name!r} has no state {name!r}; its states are "
                                  f"{', '.join(model.state_names)}")
            if q["unit"] != units[name]:
                raise PresetError(f"model.x0.{name}: unit {q['unit']!r} not allowed, expected {units[name]!r}")
    for name, spec in doc["d2d"]["parameters"].items():
        if name not in model.param_names:
            raise PresetError(f"d2d.parameters.{name}: model {model.name!r} has no such parameter")
        unit = model.parameter(name).unit
        for key in ("mean", "std"):
            if spec[key]["unit"] != unit:
                raise PresetError(f"d2d.parameters.{name}.{key}: unit {spec[key]['unit']!r} not allowed, "
                                  f"expected {unit!r}")


def validate_document(doc: Any) -> None:
    """Validate a preset document (structure, then semantics); raise :class:`PresetError` on the first problem."""
    validate_structure(doc)
    validate_semantics(doc)


# ----------------------------------------------------------------------------- helpers to write documents
def q(value: float, unit: str) -> dict:
    """An on-disk scalar quantity ``{"value": value, "unit": unit}`` (value as a plain float)."""
    return {"value": float(value), "unit": unit}


def qa(values, unit: str) -> dict:
    """An on-disk array quantity ``{"values": [...], "unit": unit}``."""
    return {"values": [float(x) for x in np.asarray(values, dtype=float).ravel()], "unit": unit}
