"""The :class:`Preset`: a validated preset document with SI accessors, and the built-in preset registry.

A preset is data (a JSON document, see ``preset.schema.json``), not a class
hierarchy: :class:`Preset` only validates the document and converts its
``{"value": x, "unit": u}`` quantities into plain SI floats and numpy arrays
for the code that uses it (the crossbar engine, the exporters).

>>> from memfit.presets import load_preset, list_presets
>>> list_presets()                                   # doctest: +SKIP
['ftj-balanced', 'ftj-constrained', 'ftj-extreme', 'nbox', 'pcm-reference']
>>> p = load_preset("ftj-balanced")                  # doctest: +SKIP
>>> p.g_max, p.read_voltage                          # doctest: +SKIP
(1.4e-08, 0.3)
"""

from __future__ import annotations

import copy
import json
import math
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from memfit.errors import PresetError
from memfit.presets.schema import SCHEMA_VERSION, validate_document

#: Directory (inside the package) that holds the built-in presets, one ``<name>.json`` each.
BUILTIN_PACKAGE = "memfit.presets.builtin"


class Preset:
    """A device preset: model + crossbar quantities + provenance, validated on creation.

    Build one with :func:`load_preset`, :meth:`from_dict`, :meth:`load` or
    :func:`memfit.presets.derive_preset`.  All attributes return SI values
    (S, V, s, fractions); the document itself is available with
    :meth:`to_dict`.

    Parameters
    ----------
    doc : dict
        A preset document (validated here; :class:`PresetError` names the
        first bad key).
    """

    def __init__(self, doc: Mapping[str, Any]):
        doc = copy.deepcopy(dict(doc))
        validate_document(doc)
        self._doc = doc

    # ----------------------------------------------------------------- creation / io
    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Preset":
        """Validate a preset document (a dict as read from JSON) and wrap it."""
        return cls(d)

    def to_dict(self) -> dict[str, Any]:
        """A deep copy of the preset document (JSON-serialisable, units on every quantity)."""
        return copy.deepcopy(self._doc)

    def to_json(self) -> str:
        """The document as JSON text (2-space indent, no NaN)."""
        return json.dumps(self._doc, indent=2, allow_nan=False)

    def save(self, path) -> Path:
        """Write the preset as JSON to ``path`` (parent folders are created)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json() + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path) -> "Preset":
        """Read and validate a preset JSON file (errors name the file and the key)."""
        path = Path(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise PresetError(f"{path}: cannot read the preset file ({exc.strerror or exc})") from None
        except json.JSONDecodeError as exc:
            raise PresetError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
        try:
            return cls(doc)
        except PresetError as exc:
            raise PresetError(f"{path}: {exc}") from None

    def validate(self) -> "Preset":
        """Validate the document again (after editing a copy, use :meth:`from_dict`); returns ``self``."""
        validate_document(self._doc)
        return self

    # ----------------------------------------------------------------- identity
    @property
    def name(self) -> str:
        return self._doc["name"]

    @property
    def description(self) -> str:
        return self._doc["description"]

    @property
    def reference(self) -> str:
        return self._doc["reference"]

    @property
    def schema_version(self) -> str:
        return self._doc["schema_version"]

    @property
    def provenance(self) -> dict:
        """Where the preset came from: sources with sha256, fit report, memfit version, creation date."""
        return copy.deepcopy(self._doc["provenance"])

    # ----------------------------------------------------------------- model
    @property
    def model_name(self) -> str | None:
        """Registry name of the compact model (e.g. ``"ftj_athle2023"``); None for a statistical preset."""
        m = self._doc["model"]
        return None if m is None else m["name"]

    @property
    def model(self):
        """The :class:`~memfit.models.DeviceModel` (raises :class:`PresetError` for a statistical preset)."""
        from memfit.models import get_model

        if self.model_name is None:
            raise PresetError(f"preset {self.name!r} has no compact model (it is built from published statistics)")
        return get_model(self.model_name)

    @property
    def model_parameters(self) -> dict[str, float]:
        """Model parameters [SI] by name, every parameter of the model (defaults filled in); {} without a model."""
        m = self._doc["model"]
        if m is None:
            return {}
        model = self.model
        out = {p.name: float(p.default) for p in model.parameters}
        out.update({k: float(v["value"]) for k, v in m["parameters"].items()})
        return out

    @property
    def model_stderr(self) -> dict[str, float]:
        """One-sigma uncertainties of the parameters where the preset has them (NaN where unknown)."""
        m = self._doc["model"]
        if m is None:
            return {}
        return {k: (math.nan if v.get("stderr") is None else float(v["stderr"])) for k, v in m["parameters"].items()}

    @property
    def model_x0(self) -> dict[str, float] | None:
        """Initial state by state name, or None (use the model's default)."""
        m = self._doc["model"]
        if m is None or m["x0"] is None:
            return None
        return {k: float(v["value"]) for k, v in m["x0"].items()}

    def parameter_vector(self) -> np.ndarray:
        """Nominal parameters as a flat array in the model's ``param_names`` order."""
        model = self.model
        return model.params(self.model_parameters)

    # ----------------------------------------------------------------- read
    @property
    def g_min(self) -> float:
        """Lower end of the conductance window at the read voltage [S]."""
        return float(self._doc["conductance"]["g_min"]["value"])

    @property
    def g_max(self) -> float:
        """Upper end of the conductance window at the read voltage [S]."""
        return float(self._doc["conductance"]["g_max"]["value"])

    @property
    def g_min_dtod(self) -> float:
        """Device-to-device relative std of g_min (0 if not given)."""
        c = self._doc["conductance"]
        return float(c["g_min_dtod"]["value"]) if "g_min_dtod" in c else 0.0

    @property
    def g_max_dtod(self) -> float:
        """Device-to-device relative std of g_max (0 if not given)."""
        c = self._doc["conductance"]
        return float(c["g_max_dtod"]["value"]) if "g_max_dtod" in c else 0.0

    @property
    def read_voltage(self) -> float:
        """Read voltage [V]."""
        return float(self._doc["read"]["voltage"]["value"])

    @property
    def read_noise(self) -> float:
        """Relative standard deviation of a single read (fraction of G)."""
        return float(self._doc["read"]["noise"]["value"])

    @property
    def read_iv_table(self) -> tuple[np.ndarray, np.ndarray]:
        """The stored read nonlinearity table: voltages [V] and I(v)/I(read_voltage)."""
        iv = self._doc["read"]["iv"]
        return np.asarray(iv["v"]["values"], float), np.asarray(iv["i_rel"]["values"], float)

    def read_iv(self, v) -> np.ndarray:
        """Normalised read nonlinearity I(v)/I(read_voltage) at voltages ``v`` [V].

        Linear interpolation in the stored table; outside the table the end
        segments are extended linearly.  Equals ``v/read_voltage`` for an
        ohmic device.
        """
        vt, it = self.read_iv_table
        v = np.asarray(v, dtype=float)
        out = np.interp(v, vt, it)
        lo, hi = v < vt[0], v > vt[-1]
        if lo.any():
            out[lo] = it[0] + (v[lo] - vt[0]) * (it[1] - it[0]) / (vt[1] - vt[0])
        if hi.any():
            out[hi] = it[-1] + (v[hi] - vt[-1]) * (it[-1] - it[-2]) / (vt[-1] - vt[-2])
        return out

    # ----------------------------------------------------------------- programming
    @property
    def has_pulse_response(self) -> bool:
        """False for a statistical preset without pulse-response tables."""
        return self._doc["pulse_response"] is not None

    def pulse_response(self, direction: str) -> dict[str, Any]:
        """Conductance change per programming pulse as a function of the conductance before it.

        Parameters
        ----------
        direction : {"up", "down"}
            Potentiation or depression.

        Returns
        -------
        dict
            ``g`` [S] grid, ``dg_mean`` [S] mean change per pulse (negative
            for "down"), ``dg_std`` [S] cycle-to-cycle std per pulse,
            ``dg_dtod`` device-to-device relative std of the step size,
            ``amplitude`` [V] and ``width`` [s] of the pulse, ``n_pulses``
            used for the derivation.
        """
        if direction not in ("up", "down"):
            raise PresetError(f"pulse_response(): direction must be 'up' or 'down', got {direction!r}")
        pr = self._doc["pulse_response"]
        if pr is None:
            raise PresetError(f"preset {self.name!r} has no pulse-response tables (a statistical inference preset)")
        t = pr[direction]
        return {
            "g": np.asarray(t["g"]["values"], float),
            "dg_mean": np.asarray(t["dg_mean"]["values"], float),
            "dg_std": np.asarray(t["dg_std"]["values"], float),
            "dg_dtod": float(t["dg_dtod"]["value"]),
            "amplitude": float(t["amplitude"]["value"]),
            "width": float(t["width"]["value"]),
            "n_pulses": int(t["n_pulses"]),
        }

    def dg(self, g, direction: str) -> tuple[np.ndarray, np.ndarray]:
        """Mean and c2c std of the conductance change [S] of one pulse at conductance(s) ``g`` [S] (interpolated)."""
        t = self.pulse_response(direction)
        g = np.asarray(g, float)
        return np.interp(g, t["g"], t["dg_mean"]), np.interp(g, t["g"], t["dg_std"])

    @property
    def write_verify(self) -> dict[str, Any]:
        """Write-verify (ISPP) scheme and its simulated statistics, SI floats (None for fields not given)."""
        out: dict[str, Any] = {}
        for k, v in self._doc["write_verify"].items():
            if isinstance(v, dict):
                out[k] = float(v["value"])
            else:
                out[k] = v
        return out

    @property
    def levels(self) -> int:
        """Number of distinguishable conductance levels."""
        return int(self._doc["levels"])

    # ----------------------------------------------------------------- variability
    @property
    def d2d(self) -> dict[str, Any]:
        """Device-to-device parameter distributions, SI floats.

        ``{"parameters": {name: {"distribution": "normal"|"lognormal",
        "mean": m, "std": s}}, "correlation": {"names": [...], "matrix":
        [[...]]}}``.  ``mean``/``std`` are the arithmetic mean and standard
        deviation of the parameter itself; correlations are those of the
        underlying normal variables (of ``ln p`` for log-normal parameters).
        """
        d = self._doc["d2d"]
        params = {k: {"distribution": v["distribution"], "mean": float(v["mean"]["value"]),
                      "std": float(v["std"]["value"])} for k, v in d["parameters"].items()}
        return {"parameters": params, "correlation": {"names": list(d["correlation"]["names"]),
                                                      "matrix": [list(map(float, r)) for r in d["correlation"]["matrix"]]}}

    def draw_device_parameters(self, n: int, rng=None) -> np.ndarray:
        """Draw ``n`` devices' parameter rows from the device-to-device distribution (correlated).

        Parameters
        ----------
        n : int
            Number of devices.
        rng : numpy.random.Generator, int or None
            Random generator or seed.

        Returns
        -------
        numpy.ndarray
            (n, n_params) float array in the model's ``param_names`` order;
            parameters without a distribution keep their nominal value.
            Draws are clipped into the parameters' declared bounds.
        """
        model = self.model
        return draw_parameters(model, self.model_parameters, self.d2d, n, rng)

    @property
    def drift(self) -> dict[str, Any]:
        """Drift law ``G(t) = G0 (t/t0)^-nu`` with nu tabulated against G: law, t0 [s], nu_g [S], nu_mean, nu_std."""
        d = self._doc["drift"]
        return {"law": d["law"], "t0": float(d["t0"]["value"]), "nu_g": np.asarray(d["nu_g"]["values"], float),
                "nu_mean": np.asarray(d["nu_mean"]["values"], float), "nu_std": np.asarray(d["nu_std"]["values"], float)}

    def drift_nu(self, g) -> np.ndarray:
        """Mean drift exponent nu at conductance(s) ``g`` [S] (linear interpolation, constant beyond the table)."""
        d = self.drift
        return np.interp(np.asarray(g, float), d["nu_g"], d["nu_mean"])

    def drift_nu_std(self, g) -> np.ndarray:
        """Device-to-device std of the drift exponent at conductance(s) ``g`` [S]."""
        d = self.drift
        return np.interp(np.asarray(g, float), d["nu_g"], d["nu_std"])

    @property
    def faults(self) -> dict[str, float]:
        """Fractions of devices stuck at g_max (``stuck_on``) and at g_min (``stuck_off``)."""
        f = self._doc["faults"]
        return {"stuck_on": float(f["stuck_on"]["value"]), "stuck_off": float(f["stuck_off"]["value"])}

    # ----------------------------------------------------------------- misc
    def summary(self) -> str:
        """A short human-readable description (used by ``memfit preset show``)."""
        lines = [f"preset {self.name!r} (schema {self.schema_version}): {self.description}",
                 f"  reference: {self.reference}",
                 f"  model: {self.model_name or '(none: statistical preset)'}",
                 f"  window: g_min = {self.g_min:.4g} S, g_max = {self.g_max:.4g} S "
                 f"(ratio {self.g_max / self.g_min if self.g_min > 0 else math.inf:.3g}) at {self.read_voltage:g} V",
                 f"  read noise: {100 * self.read_noise:.3g} %, levels: {self.levels}"]
        if self.has_pulse_response:
            for d in ("up", "down"):
                t = self.pulse_response(d)
                mid = 0.5 * (self.g_min + self.g_max)
                m, s = self.dg(mid, d)
                lines.append(f"  {d:>4}: {t['amplitude']:g} V x {t['width']:g} s pulses; at mid-window dG = "
                             f"{float(m):.3g} S +/- {float(s):.2g} S (c2c), d2d {100 * t['dg_dtod']:.2g} %")
        d = self.drift
        lines.append(f"  drift: nu = {d['nu_mean'].min():.3g} .. {d['nu_mean'].max():.3g} (t0 = {d['t0']:g} s)")
        wv = self.write_verify
        lines.append(f"  write-verify: tolerance {100 * wv['tolerance']:.3g} %, success {100 * wv['success_rate']:.3g} %, "
                     f"{wv['pulses_mean']:.3g} +/- {wv['pulses_std']:.2g} pulses, residual {100 * wv['residual_std']:.3g} %")
        f = self.faults
        lines.append(f"  faults: stuck-on {100 * f['stuck_on']:.3g} %, stuck-off {100 * f['stuck_off']:.3g} %")
        if self.d2d["parameters"]:
            lines.append("  d2d: " + ", ".join(f"{k} ({v['distribution']}, {v['std'] / abs(v['mean']) * 100 if v['mean'] else math.nan:.2g} %)"
                                                for k, v in self.d2d["parameters"].items()))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Preset {self.name!r}: {self.model_name or 'statistical'}, G {self.g_min:.3g}..{self.g_max:.3g} S>"


# --------------------------------------------------------------------------- sampling
def _rng(rng) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def draw_parameters(model, nominal: Mapping[str, float], d2d: Mapping[str, Any], n: int, rng=None) -> np.ndarray:
    """Correlated parameter rows (n, n_params) from a d2d specification (see :attr:`Preset.d2d`).

    Normal parameters: ``mean + std z``; log-normal: ``exp(mu + sigma z)``
    with ``sigma^2 = ln(1 + (std/mean)^2)``, ``mu = ln(mean) - sigma^2/2``
    (so the arithmetic mean and std are those given).  ``z`` are standard
    normals correlated by the correlation matrix (Cholesky factor of its
    nearest positive-definite version).  Results are clipped to the
    parameter bounds.
    """
    try:
        n = int(n)
    except (TypeError, ValueError):
        raise PresetError(f"draw_device_parameters(): n must be a whole number, got {n!r}") from None
    if n < 1:
        raise PresetError(f"draw_device_parameters(): n must be >= 1, got {n}")
    gen = _rng(rng)
    base = model.params(dict(nominal))
    P = np.tile(base, (n, 1))
    specs = d2d.get("parameters", {})
    if not specs:
        return P
    names = list(specs)
    corr = np.eye(len(names))
    cn = d2d.get("correlation", {}).get("names", [])
    cm = np.asarray(d2d.get("correlation", {}).get("matrix", []), float)
    for a, na in enumerate(cn):
        for b, nb in enumerate(cn):
            if na in names and nb in names:
                corr[names.index(na), names.index(nb)] = cm[a, b]
    w, v = np.linalg.eigh(corr)
    L = v @ np.diag(np.sqrt(np.clip(w, 0.0, None)))  # corr = L L^T, also for semi-definite matrices
    Z = gen.standard_normal((n, len(names))) @ L.T
    for j, name in enumerate(names):
        s = specs[name]
        k = model.param_names.index(name)
        mean, std = float(s["mean"]), float(s["std"])
        if s["distribution"] == "lognormal":
            sig2 = math.log1p((std / mean) ** 2)
            col = np.exp(math.log(mean) - 0.5 * sig2 + math.sqrt(sig2) * Z[:, j])
        else:
            col = mean + std * Z[:, j]
        par = model.parameter(name)
        if par.integer:
            col = np.round(col)
        P[:, k] = np.clip(col, par.lower, par.upper)
    return P


# --------------------------------------------------------------------------- registry of built-ins
def _builtin_dir():
    return resources.files(BUILTIN_PACKAGE)


def list_presets() -> list[str]:
    """Names of the built-in presets (sorted)."""
    return sorted(p.name[:-5] for p in _builtin_dir().iterdir() if p.name.endswith(".json"))


def load_preset(name_or_path) -> Preset:
    """A built-in preset by name (see :func:`list_presets`) or a preset JSON file by path.

    Raises
    ------
    PresetError
        Unknown name (the message lists the built-ins), unreadable file, or a
        document that does not validate (the message names the key).
    """
    if isinstance(name_or_path, Preset):
        return name_or_path
    text = str(name_or_path)
    if text in list_presets():
        res = _builtin_dir().joinpath(f"{text}.json")
        try:
            return Preset(json.loads(res.read_text(encoding="utf-8")))
        except PresetError as exc:
            raise PresetError(f"built-in preset {text!r}: {exc}") from None
    path = Path(text)
    if path.suffix == ".json" or path.exists():
        return Preset.load(path)
    raise PresetError(f"unknown preset {text!r}: not a built-in ({', '.join(list_presets())}) and not a .json file")


__all__ = ["Preset", "load_preset", "list_presets", "draw_parameters", "SCHEMA_VERSION"]
