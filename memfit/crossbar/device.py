r"""The device as the crossbar engine sees it: :class:`CrossbarDevice`.

Everything here is plain data in SI units, read from a :class:`memfit.presets.Preset` (by
:meth:`CrossbarDevice.from_preset`, which uses only the attributes of the preset contract) or
given directly:

* the conductance window ``g_min .. g_max`` [S] at the read voltage ``read_voltage`` [V];
* the read nonlinearity ``read_iv(v) = I(v)/I(read_voltage)`` as a table (ohmic when absent);
* the relative read noise of one read;
* the pulse response tables (``dG`` per pulse vs ``G``, up and down);
* the drift law ``G(t) = G0 ((t + t0)/t0)^-nu`` with ``nu(G)`` mean and std tables;
* stuck-on / stuck-off fractions;
* the write-verify scheme and statistics (ISPP: ``v_start, v_step, v_max, width, tolerance,
  max_pulses``; ``success_rate, residual_std, pulses_mean, pulses_std``);
* the compact model (registry name, nominal parameters, initial state) and its
  device-to-device distribution (``d2d``), for write-verify simulated on the model itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

import numpy as np

from memfit.errors import ModelError, ParameterError, PresetError


def _table(d: Mapping | None, keys: tuple[str, ...], what: str) -> dict | None:
    """The columns ``keys`` of a lookup table as float64 arrays: one dimension, one length, finite,
    the first (the abscissa) strictly increasing -- what the interpolating kernels assume."""
    if d is None:
        return None
    out = {}
    for k in keys:
        if k not in d:
            raise PresetError(f"{what}: missing key {k!r} (needs {list(keys)})")
        try:
            a = np.asarray(d[k], dtype=np.float64)
        except (TypeError, ValueError):
            raise PresetError(f"{what}: {k!r} must be a list of numbers, got {d[k]!r}") from None
        if a.ndim != 1 or a.size == 0:
            raise PresetError(f"{what}: {k!r} must be a non-empty 1-d list of numbers, got shape {a.shape}")
        if not np.isfinite(a).all():
            raise PresetError(f"{what}: {k!r} has a non-finite value at index {int(np.argmin(np.isfinite(a)))}")
        out[k] = a
    x = out[keys[0]]
    for k in keys[1:]:
        if out[k].size != x.size:
            raise PresetError(f"{what}: {k!r} has {out[k].size} values for {x.size} in {keys[0]!r}")
    if x.size > 1 and np.any(np.diff(x) <= 0):
        i = int(np.argmax(np.diff(x) <= 0))
        raise PresetError(f"{what}: {keys[0]!r} must be strictly increasing; index {i + 1} ({x[i + 1]:g}) "
                          f"follows {x[i]:g}")
    return out


def _reject_charge_port(model_name, label) -> None:
    """Raise PresetError when ``model_name`` is a registered model without a current port (a memcapacitor)."""
    if not model_name:
        return
    from memfit.models import get_model

    try:
        model = get_model(str(model_name))
    except ModelError:  # not a model name: the preset loader reports unknown names
        return
    if model.port == "q(v)":
        raise PresetError(f"device {label!r}: model {model.name!r} is a memcapacitor (port 'q(v)'), not a resistive "
                          "device; use the capacitive crossbar (memfit crossbar run --crossbar capacitive, or "
                          "memfit.crossbar.memcap.capacitive_factory)")
    if model.port != "i(v)":
        raise PresetError(f"device {label!r}: model {model.name!r} has port {model.port!r}, not a resistive device "
                          "(port 'i(v)'); a resistive crossbar cannot use it")


_SWAPPED: dict = {}


def swapped_electrodes(model):
    """The compact model with its electrodes swapped: ``i'(x, v) = -i(x, -v)``, ``rhs'(x, v) = rhs(x, -v)``.

    A device read at a negative voltage (the NbOx preset reads at -0.2 V) is, seen from its other
    electrode, the same device read at ``+|V|``: same read conductance, mirrored I-V, and the pulses
    that raise the conductance change sign.  Cached per model name (numba compiles the wrappers once).
    """
    import dataclasses

    from numba import njit

    key = model.name
    if key in _SWAPPED:
        return _SWAPPED[key]
    rhs0, cur0 = model.rhs, model.current

    @njit
    def rhs(x, v, t, p, dxdt):
        rhs0(x, -v, t, p, dxdt)

    @njit
    def current(x, v, p):
        return -cur0(x, -v, p)

    out = dataclasses.replace(model, name=model.name + " (electrodes swapped)", rhs=rhs, current=current)
    _SWAPPED[key] = out
    return out


@dataclass(frozen=True, eq=False)
class CrossbarDevice:
    """A memristive device as used by the crossbar engine.

    Parameters
    ----------
    g_min, g_max : float
        Conductance window [S] at the read voltage (``0 <= g_min < g_max``).
    read_voltage : float
        Read voltage [V]: the voltage of a full-scale input (normalized input 1).
    iv_table : (v [V], I(v)/I(read_voltage) [1]) arrays, optional
        Read nonlinearity; None = ohmic (``v/read_voltage``).
    read_noise : float
        Relative std of a single read (fraction of G).
    pulse_up, pulse_down : dict, optional
        ``{"g": [S], "dg_mean": [S], "dg_std": [S], "amplitude": [V], "width": [s]}``.
    drift : dict, optional
        ``{"law": "power", "t0": [s], "nu_g": [S], "nu_mean": [1], "nu_std": [1]}``.
    faults : dict
        ``{"stuck_on": fraction, "stuck_off": fraction}``.
    levels : int, optional
        Number of distinguishable levels.
    write_verify : dict, optional
        ISPP scheme and statistics (see the module docstring).
    model_name : str, optional
        Registry name of the compact model.
    model_parameters : dict, optional
        Nominal model parameters [SI].
    model_x0 : dict, optional
        Initial state (state name -> value).
    d2d : dict, optional
        Device-to-device distribution (preset contract).
    set_polarity : {+1, -1}
        Sign of the pulses that raise G on the compact model.
    electrodes_swapped : bool
        The compact model is used with its electrodes swapped (:func:`swapped_electrodes`): set by
        :meth:`from_preset` for a preset read at a negative voltage.
    name : str
        Label.
    parameter_sampler : callable, optional
        ``(n, rng) -> (n, n_params)``: overrides the built-in d2d sampler (the preset's own).
    """

    g_min: float
    g_max: float
    read_voltage: float = 0.3
    iv_table: tuple | None = None
    read_noise: float = 0.0
    pulse_up: Mapping | None = None
    pulse_down: Mapping | None = None
    drift: Mapping | None = None
    faults: Mapping = field(default_factory=lambda: {"stuck_on": 0.0, "stuck_off": 0.0})
    levels: int | None = None
    write_verify: Mapping | None = None
    model_name: str | None = None
    model_parameters: Mapping | None = None
    model_x0: Mapping | None = None
    d2d: Mapping | None = None
    set_polarity: int = 1
    electrodes_swapped: bool = False
    name: str = "device"
    parameter_sampler: Callable | None = None

    def __post_init__(self):
        g0, g1 = float(self.g_min), float(self.g_max)
        if not (np.isfinite(g0) and np.isfinite(g1) and 0.0 <= g0 < g1):
            raise ParameterError(f"CrossbarDevice {self.name!r}: need 0 <= g_min < g_max [S], got "
                                 f"g_min={self.g_min!r} S, g_max={self.g_max!r} S")
        object.__setattr__(self, "g_min", g0)
        object.__setattr__(self, "g_max", g1)
        if not float(self.read_voltage) > 0:
            raise ParameterError(f"CrossbarDevice {self.name!r}: read_voltage must be > 0 V, got {self.read_voltage!r}")
        object.__setattr__(self, "read_voltage", float(self.read_voltage))
        if not 0 <= float(self.read_noise) < 1:
            raise ParameterError(f"CrossbarDevice {self.name!r}: read_noise must be in [0, 1), got {self.read_noise!r}")
        if self.iv_table is not None:
            v, iv = (np.asarray(a, dtype=np.float64) for a in self.iv_table)
            if v.ndim != 1 or v.shape != iv.shape or v.size < 2 or np.any(np.diff(v) <= 0):
                raise PresetError(f"CrossbarDevice {self.name!r}: iv_table needs two equal-length 1-D arrays "
                                  "with strictly increasing voltages [V]")
            object.__setattr__(self, "iv_table", (v, iv))
        fa = dict(self.faults or {})
        on, off = float(fa.get("stuck_on", 0.0)), float(fa.get("stuck_off", 0.0))
        if not (0 <= on <= 1 and 0 <= off <= 1 and on + off <= 1):
            raise ParameterError(f"CrossbarDevice {self.name!r}: fault fractions stuck_on={on}, stuck_off={off} "
                                 "must be in [0, 1] with a sum <= 1")
        object.__setattr__(self, "faults", {"stuck_on": on, "stuck_off": off})
        for nm in ("pulse_up", "pulse_down"):
            d = getattr(self, nm)
            if d is not None:
                object.__setattr__(self, nm, {**dict(d), **_table(d, ("g", "dg_mean", "dg_std"), f"{self.name}.{nm}")})
        if self.drift is not None:
            d = dict(self.drift)
            law = d.get("law", "power")
            if law != "power":
                raise PresetError(f"CrossbarDevice {self.name!r}: drift law {law!r} unknown (only 'power')")
            t = _table(d, ("nu_g", "nu_mean"), f"{self.name}.drift")
            t["nu_std"] = np.asarray(d.get("nu_std", np.zeros_like(t["nu_mean"])), dtype=np.float64)
            if t["nu_std"].shape != t["nu_mean"].shape or not np.isfinite(t["nu_std"]).all():
                raise PresetError(f"CrossbarDevice {self.name!r}: drift 'nu_std' must be {t['nu_mean'].size} finite "
                                  f"numbers like 'nu_mean', got {d.get('nu_std')!r}")
            t0 = float(d.get("t0", 20.0))
            if not t0 > 0:
                raise PresetError(f"CrossbarDevice {self.name!r}: drift t0 must be > 0 s, got {t0}")
            object.__setattr__(self, "drift", {"law": "power", "t0": t0, **t})
        if self.set_polarity not in (1, -1):
            raise ParameterError(f"CrossbarDevice {self.name!r}: set_polarity must be +1 or -1")

    # ------------------------------------------------------------------ constructors
    @classmethod
    def ideal(cls, g_min: float = 0.0, g_max: float = 14e-9, read_voltage: float = 0.3) -> "CrossbarDevice":
        """An ohmic, noiseless, drift-free, fault-free device with window ``[g_min, g_max]`` [S]."""
        return cls(g_min=g_min, g_max=g_max, read_voltage=read_voltage, name="ideal")

    @classmethod
    def from_preset(cls, preset: Any, n_iv: int = 257) -> "CrossbarDevice":
        """Build from a :class:`memfit.presets.Preset` (or the name/path of one).

        Reads only the attributes of the preset contract: ``g_min, g_max, read_voltage,
        read_iv, read_noise, pulse_response, drift, drift_nu, faults, levels, write_verify,
        model_name, model_parameters, model_x0, d2d, draw_device_parameters, name``.
        The read I-V is tabulated on ``n_iv`` points over ``[-2 |V_read|, 2 |V_read|]``.  A preset
        read at a negative voltage is wired the other way round (the crossbar reads at ``+V``):
        ``read_voltage = |V_read|``, the read table mirrored (``I(-v)/I(V_read)``), the compact model
        with its electrodes swapped (:func:`swapped_electrodes`) and ``set_polarity = -1`` -- same
        read conductances, so write-verify on the model reads and pulses it as the preset did.
        A preset (or model name) whose compact model has no current port -- a memcapacitor
        (``"q(v)"``) -- raises :class:`~memfit.errors.PresetError` pointing to the capacitive
        crossbar (:mod:`memfit.crossbar.memcap`).
        """
        if isinstance(preset, str):
            from memfit.presets import list_presets, load_preset  # lazy: presets may not be installed with every build

            if preset not in list_presets() and not preset.endswith(".json"):
                _reject_charge_port(preset, preset)  # a memcapacitor model name given as a preset
            preset = load_preset(preset)
        _reject_charge_port(getattr(preset, "model_name", None), getattr(preset, "name", "preset"))
        vr_signed = float(preset.read_voltage)
        # a device read at a negative voltage (e.g. the NbOx preset, read at -0.2 V): the crossbar's
        # "positive" input is the preset's read polarity, so the table is taken at sign(v_read) * v
        sign = -1.0 if vr_signed < 0 else 1.0
        vr = abs(vr_signed)
        v = np.linspace(-2 * vr, 2 * vr, n_iv)
        iv = np.asarray(preset.read_iv(sign * v), dtype=np.float64)
        pulse = {}
        for d in ("up", "down"):
            try:
                pulse[d] = dict(preset.pulse_response(d))
            except Exception:  # a preset without pulse tables
                pulse[d] = None
        sampler = getattr(preset, "draw_device_parameters", None)
        return cls(
            g_min=preset.g_min, g_max=preset.g_max, read_voltage=vr, iv_table=(v, iv),
            read_noise=float(getattr(preset, "read_noise", 0.0) or 0.0),
            pulse_up=pulse["up"], pulse_down=pulse["down"], drift=getattr(preset, "drift", None),
            faults=getattr(preset, "faults", None) or {}, levels=getattr(preset, "levels", None),
            write_verify=getattr(preset, "write_verify", None), model_name=getattr(preset, "model_name", None),
            model_parameters=getattr(preset, "model_parameters", None), model_x0=getattr(preset, "model_x0", None),
            d2d=getattr(preset, "d2d", None), name=str(getattr(preset, "name", "preset")),
            set_polarity=-1 if sign < 0 else 1, electrodes_swapped=sign < 0,
            parameter_sampler=sampler if callable(sampler) else None,
        )

    def replace(self, **changes) -> "CrossbarDevice":
        """A copy with fields changed."""
        return replace(self, **changes)

    # ------------------------------------------------------------------ read
    @property
    def ohmic(self) -> bool:
        """True when the read is linear (no I-V table, or a table equal to v/V_read)."""
        if self.iv_table is None:
            return True
        v, iv = self.iv_table
        return bool(np.allclose(iv, v / self.read_voltage, rtol=1e-12, atol=1e-15))

    def read_iv(self, v) -> np.ndarray:
        """Normalized read current ``I(v)/I(read_voltage)`` [1] at device voltage ``v`` [V].

        Linear interpolation in the table; outside it, linear extrapolation from the end segments.
        """
        v = np.asarray(v, dtype=np.float64)
        if self.iv_table is None:
            return v / self.read_voltage
        tv, ti = self.iv_table
        out = np.interp(v, tv, ti)
        lo, hi = v < tv[0], v > tv[-1]
        if lo.any():
            out[lo] = ti[0] + (v[lo] - tv[0]) * (ti[1] - ti[0]) / (tv[1] - tv[0])
        if hi.any():
            out[hi] = ti[-1] + (v[hi] - tv[-1]) * (ti[-1] - ti[-2]) / (tv[-1] - tv[-2])
        return out

    def iv_grid(self, n: int = 2049, v_max: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Uniform table ``(v, read_iv(v))`` over ``[-v_max, v_max]`` (default ``2 V_read``) for kernels."""
        vm = 2.0 * self.read_voltage if v_max is None else float(v_max)
        v = np.linspace(-vm, vm, n)
        return v, self.read_iv(v)

    # ------------------------------------------------------------------ drift
    def drift_nu(self, g) -> np.ndarray:
        """Mean drift exponent nu [1] at conductance ``g`` [S] (0 without a drift law)."""
        g = np.asarray(g, dtype=np.float64)
        if self.drift is None:
            return np.zeros_like(g)
        return np.interp(g, self.drift["nu_g"], self.drift["nu_mean"])

    def draw_nu(self, g, rng: np.random.Generator) -> np.ndarray:
        """Per-device drift exponents: ``N(nu_mean(g), nu_std(g))``, one per element of ``g``."""
        g = np.asarray(g, dtype=np.float64)
        if self.drift is None:
            return np.zeros_like(g)
        mean = np.interp(g, self.drift["nu_g"], self.drift["nu_mean"])
        std = np.interp(g, self.drift["nu_g"], self.drift["nu_std"])
        return mean + std * rng.standard_normal(g.shape)

    @property
    def drift_t0(self) -> float:
        """Drift reference time t0 [s] (20 s when the device has no drift law)."""
        return 20.0 if self.drift is None else float(self.drift["t0"])

    # ------------------------------------------------------------------ model
    def model(self):
        """The compact :class:`memfit.models.DeviceModel` (ParameterError if the device has none)."""
        if not self.model_name:
            raise ParameterError(f"CrossbarDevice {self.name!r} has no compact model (model_name is None); "
                                 "write-verify on the model needs a preset with model_name")
        from memfit.models import get_model

        m = get_model(self.model_name)
        return swapped_electrodes(m) if self.electrodes_swapped else m

    def nominal_parameters(self) -> np.ndarray:
        """Nominal parameter vector of the compact model in its ``param_names`` order."""
        m = self.model()
        return m.params(dict(self.model_parameters or {}))

    def draw_device_parameters(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``(n, n_params)`` model parameter rows drawn from the device-to-device distribution.

        Uses the preset's own sampler when there is one; else ``d2d["parameters"]`` (normal or
        lognormal marginals with the given mean and std [SI]) with the Gaussian correlation
        ``d2d["correlation"]`` between the underlying normals; parameters not listed keep their
        nominal value.  Rows are clipped into the parameters' declared bounds.
        """
        m = self.model()
        if self.parameter_sampler is not None:
            return np.asarray(self.parameter_sampler(n, rng), dtype=np.float64).reshape(n, m.n_params)
        base = self.nominal_parameters()
        P = np.tile(base, (n, 1))
        spec = dict((self.d2d or {}).get("parameters", {}) or {})
        if not spec:
            return P
        names = list(spec)
        for nm in names:
            if nm not in m.param_names:
                raise PresetError(f"device {self.name!r}: d2d parameter {nm!r} is not a parameter of model "
                                  f"{m.name!r} ({', '.join(m.param_names)})")
        z = rng.standard_normal((n, len(names)))
        corr = (self.d2d or {}).get("correlation")
        if corr:
            cn = list(corr["names"])
            C = np.eye(len(names))
            M = np.asarray(corr["matrix"], dtype=np.float64)
            for a, na in enumerate(cn):
                for b, nb in enumerate(cn):
                    if na in names and nb in names:
                        C[names.index(na), names.index(nb)] = M[a, b]
            try:
                L = np.linalg.cholesky(C)
            except np.linalg.LinAlgError:
                raise PresetError(f"device {self.name!r}: d2d correlation matrix is not positive definite") from None
            z = z @ L.T
        for k, nm in enumerate(names):
            s = spec[nm]
            dist, mean, std = s.get("distribution", "normal"), float(s["mean"]), float(s["std"])
            if dist == "normal":
                col = mean + std * z[:, k]
            elif dist == "lognormal":
                if mean <= 0:
                    raise PresetError(f"device {self.name!r}: lognormal d2d parameter {nm!r} needs mean > 0")
                s2 = np.log1p((std / mean) ** 2)
                col = np.exp(np.log(mean) - 0.5 * s2 + np.sqrt(s2) * z[:, k])
            else:
                raise PresetError(f"device {self.name!r}: d2d distribution {dist!r} of {nm!r} unknown "
                                  "(normal or lognormal)")
            q = m.parameter(nm)
            P[:, m.param_names.index(nm)] = np.clip(col, q.lower, q.upper)
        return P

    def initial_state(self, p: np.ndarray) -> np.ndarray:
        """Initial model states for parameter rows ``p`` (``model_x0`` overrides the declared ones)."""
        return self.model().initial_state(p, **dict(self.model_x0 or {}))
