r"""Memcapacitive crossbar: weights stored as capacitances, charge-domain multiply-accumulate.

A weight matrix ``W`` (outputs x inputs) is stored differentially on a pair of memcapacitive
crossbars ``C+`` and ``C-`` (rows = inputs, columns = outputs), each cell programmed inside the
capacitance window ``C_min .. C_max`` [F] of a fitted memcapacitor model::

    C+_ji = C_min + (C_max - C_min) max(W_ij, 0) / w_max
    C-_ji = C_min + (C_max - C_min) max(-W_ij, 0) / w_max

An input vector ``x`` is applied as voltage pulses on the rows, ``V_j = v_read x_j / s_x`` with
``s_x = max_j |x_j|`` (per sample), below the model's switching threshold so a read does not
disturb the state.  Each column integrates the charge ``Q_i = sum_j (C_ji + C_par) V_j`` [C]
(``C_par`` the parasitic capacitance of one cross-point); the differential charge ``Q+ - Q-`` is
converted by a charge ADC and scaled back to the weight domain::

    y_i = (Q+_i - Q-_i) w_max s_x / ((C_max - C_min) v_read)

so that without variation and ADC ``y = x @ W.T`` exactly (the parasitic charge cancels in the
difference).  Non-idealities: device-to-device variation (relative std ``d2d_std``, drawn once
at programming, clipped to the window), cycle-to-cycle variation (relative std ``c2c_std``, drawn
per read), parasitic capacitance, and the ADC resolution.

The capacitance window is read from the model itself: ``C(x) = q(x, v_read) / v_read`` at the
model's lower and upper state bound (for ``biolek2013_memcapacitor``, model C.4 of D. Biolek,
M. Di Ventra, Y. V. Pershin, Radioengineering 22(4), 945-968 (2013), these are ``Clow`` and
``Chigh``).  Only charge-port
(``"q(v)"``) models whose charge is linear in V at the read voltage are accepted.

The supply energy of one read, ``sum C V^2`` over both arrays, is
:func:`memfit.crossbar.energy.capacitive_array_energy`.

Network runtime: :class:`CapacitiveAnalogMatrix` holds one layer on tiles of at most the
config's ``tile_size``, with the resistive engine's input handling (abs-max noise management,
DAC, iterative bound management on the charge ADC), and :func:`capacitive_factory` makes the
``matrix_factory`` of :class:`memfit.crossbar.network.AnalogNetwork` and
:func:`memfit.crossbar.evaluate.evaluate_accuracy` from a memcapacitor model and (fitted)
parameters.  The memcapacitors here do not drift: ``forward(x, t)`` ignores ``t``.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from memfit.errors import ModelError, ParameterError, PresetError
from memfit.models import get_model
from memfit.models.base import DeviceModel

__all__ = ["CapacitiveMatrix", "CapacitiveAnalogMatrix", "CapacitiveFactory", "capacitance_window",
           "capacitive_factory", "factory_from_options"]


def _resolve_device(device, params):
    """(DeviceModel, parameter vector) from a model name/DeviceModel or a preset-like object."""
    if isinstance(device, str) and not isinstance(device, DeviceModel):
        from memfit.presets import list_presets, load_preset

        if device in list_presets() or device.endswith(".json"):
            device = load_preset(device)  # a preset name or file: its compact model decides
    if isinstance(device, (str, DeviceModel)):
        model = get_model(device)
    elif hasattr(device, "model_name"):
        if device.model_name is None:
            raise PresetError(f"CapacitiveMatrix: device {getattr(device, 'name', device)!r} has no compact "
                              "model (model_name is None); a memcapacitive crossbar needs a q(v) model")
        model = get_model(device.model_name)
        if params is None:
            params = getattr(device, "model_parameters", None)
    else:
        raise ModelError(f"CapacitiveMatrix: device must be a model name, a DeviceModel or a preset, "
                         f"got {type(device).__name__}")
    if model.port != "q(v)":
        raise ModelError(f"CapacitiveMatrix: model {model.name!r} has port {model.port!r}, not a memcapacitor "
                         "(needs port 'q(v)'); use the resistive crossbar for it")
    p = model.params(dict(params)) if isinstance(params, Mapping) else (
        model.params() if params is None else model.check_params(params))
    return model, np.asarray(p, dtype=np.float64)


def capacitance_window(model, params=None, read_voltage: float = 1.0,
                       state_range=None) -> tuple[float, float]:
    """Capacitance window ``(C_min, C_max)`` [F] of a memcapacitor model at the read voltage.

    ``C(x) = q(x, v_read) / v_read`` evaluated with the model's charge kernel at the lower and
    upper state bound (or at ``state_range``).

    Parameters
    ----------
    model : str or DeviceModel or preset
        A charge-port (``"q(v)"``) model, e.g. ``"memcapacitor"``, or a preset with ``model_name``.
    params : mapping or array_like, optional
        Model parameters (default: the model's defaults, or the preset's ``model_parameters``).
    read_voltage : float
        Read voltage ``v_read`` [V], > 0.
    state_range : (lo, hi) of (n_states,) array_like, optional
        States of the lowest and highest capacitance; required when the model's state bounds are
        infinite (e.g. ``biolek2013_memcapacitor_ideal``).

    Returns
    -------
    (float, float)
        ``C_min``, ``C_max`` [F].

    Raises
    ------
    ModelError
        Not a charge-port model, or q not linear in V at the read voltage.
    ParameterError
        Bad read voltage or state range.
    """
    m, p = _resolve_device(model, params)
    vr = float(read_voltage)
    if not np.isfinite(vr) or vr <= 0:
        raise ParameterError(f"capacitance_window(): read_voltage must be a finite number > 0 [V], got {read_voltage}")
    if state_range is None:
        lo, hi = m.state_bounds(p)
    else:
        lo, hi = (np.asarray(s, dtype=np.float64).reshape(m.n_states) for s in state_range)
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ParameterError(f"capacitance_window(): model {m.name!r} has unbounded states; pass state_range=(lo, hi)")
    caps = []
    for x in (lo, hi):
        q1 = float(m.current(np.ascontiguousarray(x), vr, p))
        q_half = float(m.current(np.ascontiguousarray(x), 0.5 * vr, p))
        q0 = float(m.current(np.ascontiguousarray(x), 0.0, p))
        if abs(q0) > 1e-9 * abs(q1) or abs(2.0 * q_half - q1) > 1e-6 * abs(q1):
            raise ModelError(f"capacitance_window(): model {m.name!r} is not a linear capacitor at the read "
                             f"(q(0) = {q0:.3g} C, q(v/2)/(v/2) != q(v)/v); cannot store weights as C")
        caps.append(q1 / vr)
    c_min, c_max = sorted(caps)
    if not c_max > c_min > 0:
        raise ModelError(f"capacitance_window(): model {m.name!r} gives no positive window "
                         f"(C = {c_min:.3g} .. {c_max:.3g} F)")
    return c_min, c_max


class CapacitiveMatrix:
    """A weight matrix on a differential pair of memcapacitive crossbars (charge-domain MAC).

    Parameters
    ----------
    weights : (n_out, n_in) array_like
        Weight matrix ``W``; :meth:`forward` computes ``x @ W.T``.
    device : str or DeviceModel or preset
        Memcapacitor model (default ``"memcapacitor"`` = ``biolek2013_memcapacitor``) or a preset
        with ``model_name`` / ``model_parameters``.
    params : mapping or array_like, optional
        Fitted model parameters (default: model defaults or the preset's).
    read_voltage : float
        Full-scale input pulse amplitude ``v_read`` [V]; must not switch the device within
        ``pulse_width``.
    pulse_width : float
        Input pulse duration [s] (used for the read-disturb check only).
    state_range : (lo, hi), optional
        See :func:`capacitance_window`.
    w_max : float, optional
        Weight mapped to the full window (default ``max |W|``).
    d2d_std, c2c_std : float
        Relative std [1] of the device-to-device (programming) and cycle-to-cycle (per read)
        capacitance variation.
    c_parasitic : float
        Parasitic capacitance per cross-point [F], added to every cell of both arrays.
    adc_bits : int, optional
        Resolution of the charge ADC (None: ideal readout).
    q_full_scale : float, optional
        ADC full-scale differential charge [C] (default ``v_read (C_max - C_min) n_in``).
    seed : int or numpy.random.Generator, optional
        Random source of the variation draws.

    Attributes
    ----------
    c_plus, c_minus : (n_in, n_out) ndarray
        Programmed capacitances [F] (after d2d variation, without parasitics).
    c_min, c_max : float
        Capacitance window [F].
    """

    def __init__(self, weights, device="memcapacitor", params=None, *, read_voltage: float = 1.0,
                 pulse_width: float = 1e-6, state_range=None, w_max: float | None = None,
                 d2d_std: float = 0.0, c2c_std: float = 0.0, c_parasitic: float = 0.0,
                 adc_bits: int | None = None, q_full_scale: float | None = None, seed=None):
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 2 or w.size == 0 or not np.all(np.isfinite(w)):
            raise ParameterError(f"CapacitiveMatrix: weights must be a finite non-empty 2-D array, got shape {w.shape}")
        self.model, self.params = _resolve_device(device, params)
        self.read_voltage = float(read_voltage)
        self.c_min, self.c_max = capacitance_window(self.model, self.params, self.read_voltage, state_range)
        for name, val in (("d2d_std", d2d_std), ("c2c_std", c2c_std), ("c_parasitic", c_parasitic)):
            if not np.isfinite(val) or val < 0:
                unit = "F" if name == "c_parasitic" else "1"
                raise ParameterError(f"CapacitiveMatrix: {name} must be a finite number >= 0 [{unit}], got {val}")
        self._check_read_disturb(float(pulse_width), state_range)
        self.w_max = float(np.max(np.abs(w))) if w_max is None else float(w_max)
        if not self.w_max > 0:
            self.w_max = 1.0
        self.d2d_std, self.c2c_std, self.c_parasitic = float(d2d_std), float(c2c_std), float(c_parasitic)
        self.rng = np.random.default_rng(seed)
        self.n_out, self.n_in = w.shape
        window = self.c_max - self.c_min
        wc = np.clip(w.T / self.w_max, -1.0, 1.0)
        c_plus = self.c_min + window * np.maximum(wc, 0.0)
        c_minus = self.c_min + window * np.maximum(-wc, 0.0)
        if self.d2d_std > 0:
            c_plus = np.clip(c_plus * (1 + self.d2d_std * self.rng.standard_normal(c_plus.shape)), self.c_min, self.c_max)
            c_minus = np.clip(c_minus * (1 + self.d2d_std * self.rng.standard_normal(c_minus.shape)), self.c_min, self.c_max)
        self.c_plus, self.c_minus = c_plus, c_minus
        if adc_bits is not None and (int(adc_bits) != adc_bits or adc_bits < 2):
            raise ParameterError(f"CapacitiveMatrix: adc_bits must be an integer >= 2, got {adc_bits}")
        self.adc_bits = None if adc_bits is None else int(adc_bits)
        self.q_full_scale = (self.read_voltage * window * self.n_in) if q_full_scale is None else float(q_full_scale)
        if not self.q_full_scale > 0:
            raise ParameterError(f"CapacitiveMatrix: q_full_scale must be > 0 [C], got {q_full_scale}")

    def _check_read_disturb(self, pulse_width: float, state_range) -> None:
        """Raise if a read pulse of +-v_read moves the state by > 1e-6 of its range."""
        if state_range is None:
            lo, hi = self.model.state_bounds(self.params)
        else:
            lo, hi = (np.asarray(s, dtype=np.float64).reshape(self.model.n_states) for s in state_range)
        mid = np.ascontiguousarray(0.5 * (lo + hi))
        for v in (self.read_voltage, -self.read_voltage):
            dxdt = np.zeros(self.model.n_states)
            self.model.rhs(mid, float(v), 0.0, self.params, dxdt)
            rate = np.abs(dxdt)
            if np.any(rate * pulse_width > 1e-6 * np.abs(hi - lo)):
                raise ParameterError(f"CapacitiveMatrix: read_voltage {self.read_voltage} V switches model "
                                     f"{self.model.name!r} within pulse_width {pulse_width} s; lower it")

    # -- readout -----------------------------------------------------------------------------
    def input_voltages(self, x) -> tuple[np.ndarray, np.ndarray]:
        """Row voltages [V] ``(batch, n_in)`` and per-sample input scale ``s_x`` ``(batch,)``."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x.shape[-1] != self.n_in:
            raise ParameterError(f"CapacitiveMatrix: input has {x.shape[-1]} features, expected {self.n_in}")
        s = np.max(np.abs(x), axis=1)
        s = np.where(s > 0, s, 1.0)
        return self.read_voltage * x / s[:, None], s

    def cell_capacitances(self) -> tuple[np.ndarray, np.ndarray]:
        """Capacitances [F] seen by one read: programmed C with c2c draw (clipped at 0 F), plus the parasitic."""
        cp, cm = self.c_plus, self.c_minus
        if self.c2c_std > 0:
            cp = cp * np.maximum(1 + self.c2c_std * self.rng.standard_normal(cp.shape), 0.0)
            cm = cm * np.maximum(1 + self.c2c_std * self.rng.standard_normal(cm.shape), 0.0)
        return cp + self.c_parasitic, cm + self.c_parasitic

    def column_charges(self, v, c=None) -> tuple[np.ndarray, np.ndarray]:
        """Column charges ``Q = V @ C`` [C] of the + and - arrays for row voltages ``v`` [V].

        ``c``: capacitances ``(C+, C-)`` to use (default: a fresh :meth:`cell_capacitances`).
        """
        cp, cm = self.cell_capacitances() if c is None else c
        v = np.atleast_2d(np.asarray(v, dtype=np.float64))
        return v @ cp, v @ cm

    def adc(self, q) -> np.ndarray:
        """Charge ADC [C -> C]: clip to +-q_full_scale, round to ``2**bits - 1`` levels (mid-tread).

        Step ``q_full_scale / (2**(bits-1) - 1)``; identity when ``adc_bits`` is None.
        """
        q = np.asarray(q, dtype=np.float64)
        if self.adc_bits is None:
            return q
        step = self.q_full_scale / (2 ** (self.adc_bits - 1) - 1)
        return np.round(np.clip(q, -self.q_full_scale, self.q_full_scale) / step) * step

    def forward(self, x) -> np.ndarray:
        """Weight-domain output ``(batch, n_out)`` of the charge MAC, ideal: ``x @ W.T``."""
        v, s = self.input_voltages(x)
        qp, qm = self.column_charges(v)
        dq = self.adc(qp - qm)
        return dq * (self.w_max / ((self.c_max - self.c_min) * self.read_voltage)) * s[:, None]

    def energy(self, x) -> np.ndarray:
        """Supply energy [J] per sample, ``sum C V^2`` over both arrays incl. parasitics (no periphery)."""
        from memfit.crossbar.energy import capacitive_array_energy

        v, _ = self.input_voltages(x)
        c = np.concatenate([self.c_plus, self.c_minus], axis=1) + self.c_parasitic
        return np.atleast_1d(capacitive_array_energy(c, v))


# ============================================================================ network runtime
def _fitted_params(device, params):
    """``(device, params)`` with a :class:`memfit.fitting.FitResult` in ``params`` unpacked.

    A fit result supplies its model (when ``device`` is None) and its full parameter set
    (:meth:`~memfit.fitting.FitResult.model_params`: fitted + fixed + defaults).
    """
    if params is not None and callable(getattr(params, "model_params", None)) and hasattr(params, "model"):
        if device is None:
            device = params.model
        params = params.model_params()
    return device, params


class CapacitiveAnalogMatrix:
    r"""One layer's weight matrix on memcapacitive tiles (a tile of :class:`~memfit.crossbar.network.AnalogNetwork`).

    The matrix ``W`` (out, in) is cut into tiles of at most ``config.tile_size`` (rows = inputs,
    columns = outputs, :func:`memfit.crossbar.mapping.split_tiles`); each tile is a
    :class:`CapacitiveMatrix` (a differential pair of memcapacitive arrays).  One weight scale
    ``w_max = max |W|`` per layer (the whole window holds ``w_max``).  The forward pass of a tile,
    for a batch of normalized inputs, follows the resistive engine (:mod:`memfit.crossbar.tile`):

    1. noise management (``config.noise_management == "abs_max"``): ``alpha = max |x|`` of the
       tile's slice of each input vector, else ``alpha = 1``;
    2. DAC: ``x / alpha`` clipped to ``+-config.in_bound`` and rounded to ``2**config.dac_bits - 1``
       levels (:func:`memfit.crossbar.tile.quantize`); the row voltage is
       ``V = read_voltage x_q / in_bound`` [V] (full scale = ``read_voltage``, below the
       memcapacitor's switching threshold -- checked at construction);
    3. charge MAC: ``Q+- = V @ (C+- + C_par)`` with a fresh cycle-to-cycle draw per read;
    4. charge ADC on ``Q+ - Q-``: ``adc_bits`` levels over ``+-q_full_scale``; with
       ``config.bound_management == "iterative"`` an input vector whose charge saturated is read
       again at half the input (``alpha`` doubled), at most ``config.max_bm_iterations`` times;
    5. digital periphery: ``y = dQ w_max in_bound alpha / ((C_max - C_min) read_voltage)``; tiles
       that share outputs are summed.  The bias is added by the layer.

    Without variation and ADC, ``forward(x) == x @ W.T`` to rounding.

    **No drift.**  The memcapacitor models in memfit (``biolek2013_memcapacitor``: ``dC/dt = 0``
    for ``|V| < Vt``) hold their capacitance indefinitely at rest, so ``forward(x, t)`` accepts
    any ``t >= 0`` [s] and ignores it; retention loss of real memcapacitive devices is not modelled.

    Config fields used: ``tile_size``, ``dac_bits``, ``in_bound``, ``noise_management``,
    ``bound_management``, ``max_bm_iterations``, and ``adc_bits`` / ``out_bound`` when
    ``adc_bits="config"``.  The resistive-device fields (``out_noise``, ``w_noise``, drift,
    IR drop, read nonlinearity, programming scheme, faults, mapping, ``dtype``) do not apply: the
    capacitive non-idealities are ``d2d_std``, ``c2c_std``, ``c_parasitic`` and the ADC.  The
    arithmetic is float64.

    Parameters
    ----------
    weight : (out, in) array_like
        Weight matrix.
    device : str, DeviceModel or preset
        Memcapacitor (charge-port ``"q(v)"``) model, default ``"memcapacitor"``.
    config : CrossbarConfig or str, optional
        Tile configuration (default ``"baseline-ftj"``).
    rng : numpy.random.Generator or int, optional
        Random source of the d2d (programming) and c2c (per read) draws.
    params : mapping, array_like or FitResult, optional
        Model parameters, e.g. the fitted ones (default: model defaults).
    read_voltage : float
        Full-scale row voltage [V].
    pulse_width : float
        Input pulse duration [s] (read-disturb check).
    state_range : (lo, hi), optional
        See :func:`capacitance_window`.
    d2d_std, c2c_std : float
        Relative std [1] of the device-to-device and cycle-to-cycle capacitance variation.
    c_parasitic : float
        Parasitic capacitance per cross-point [F].
    adc_bits : int, None or "config"
        Charge-ADC resolution [bit]; ``"config"`` (default) takes ``config.adc_bits``; None = ideal.
    q_full_scale : float, optional
        ADC full scale [C]; default ``config.out_bound read_voltage (C_max - C_min)`` (the
        resistive ADC range in the same normalized units), or, when ``out_bound`` is infinite,
        ``read_voltage (C_max - C_min) rows`` (the largest possible charge of a tile).

    Attributes
    ----------
    tiles : list of (TileSpec, CapacitiveMatrix)
        Filled by :meth:`program`.
    c_min, c_max : float
        Capacitance window [F].
    report : None
        No programming report (capacitances are set exactly, up to ``d2d_std``).
    """

    kind = "capacitive"

    def __init__(self, weight, device="memcapacitor", config=None, rng=None, *, params=None,
                 read_voltage: float = 1.0, pulse_width: float = 1e-6, state_range=None, d2d_std: float = 0.0,
                 c2c_std: float = 0.0, c_parasitic: float = 0.0, adc_bits="config",
                 q_full_scale: float | None = None):
        from memfit.crossbar import mapping as mp
        from memfit.crossbar.config import get_config

        w = np.asarray(weight, dtype=np.float64)
        if w.ndim != 2 or w.size == 0 or not np.all(np.isfinite(w)):
            raise ParameterError(f"CapacitiveAnalogMatrix: weight must be a finite non-empty 2-D (out, in) array, "
                                 f"got shape {w.shape}")
        self.weight = w
        self.config = get_config(config if config is not None else "baseline-ftj")
        device, params = _fitted_params(device, params)
        self.model, self.params = _resolve_device("memcapacitor" if device is None else device, params)
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        if isinstance(adc_bits, str):
            if adc_bits != "config":
                raise ParameterError(f"CapacitiveAnalogMatrix: adc_bits = {adc_bits!r} is not allowed; expected an "
                                     "int >= 2, None (ideal) or 'config'")
            adc_bits = self.config.adc_bits
        self.options = dict(read_voltage=float(read_voltage), pulse_width=float(pulse_width), state_range=state_range,
                            d2d_std=float(d2d_std), c2c_std=float(c2c_std), c_parasitic=float(c_parasitic),
                            adc_bits=adc_bits)
        self.read_voltage = float(read_voltage)
        self.specs = mp.split_tiles(w.shape[0], w.shape[1], self.config.tile_size)
        self.w_max = float(np.max(np.abs(w))) or 1.0
        # validate every option now (window, read disturb, variation, ADC) on the first tile's shape
        probe = self._build(self.specs[0], np.random.default_rng(0), q_full_scale)
        self.c_min, self.c_max = probe.c_min, probe.c_max
        self._q_full_scale = q_full_scale
        self.tiles: list = []
        self.programmed = False
        self.report = None

    def _full_scale(self, q_full_scale, rows: int, c_min: float, c_max: float):
        if q_full_scale is not None:
            return float(q_full_scale)
        ob = float(self.config.out_bound)
        window = self.read_voltage * (c_max - c_min)
        return window * (ob if np.isfinite(ob) else rows)

    def _build(self, spec, rng, q_full_scale) -> CapacitiveMatrix:
        sub = self.weight[spec.out_start:spec.out_stop, spec.in_start:spec.in_stop]
        o = self.options
        m = CapacitiveMatrix(sub, self.model, self.params, read_voltage=o["read_voltage"],
                             pulse_width=o["pulse_width"], state_range=o["state_range"], w_max=self.w_max,
                             d2d_std=o["d2d_std"], c2c_std=o["c2c_std"], c_parasitic=o["c_parasitic"],
                             adc_bits=o["adc_bits"], q_full_scale=1.0, seed=rng)
        m.q_full_scale = self._full_scale(q_full_scale, sub.shape[1], m.c_min, m.c_max)
        if not m.q_full_scale > 0:
            raise ParameterError(f"CapacitiveAnalogMatrix: q_full_scale must be > 0 [C], got {q_full_scale}")
        return m

    @property
    def shape(self) -> tuple[int, int]:
        """(out, in) of the weight matrix."""
        return self.weight.shape

    def program(self):
        """Set every tile's capacitances (a fresh device-to-device draw); returns None (no report)."""
        self.tiles = [(s, self._build(s, self.rng, self._q_full_scale)) for s in self.specs]
        self.programmed = True
        return None

    def _ensure_programmed(self):
        if not self.programmed:
            self.program()

    def _check(self, x, t: float, what: str) -> np.ndarray:
        x2 = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x2.ndim != 2 or x2.shape[1] != self.weight.shape[1]:
            raise ParameterError(f"CapacitiveAnalogMatrix.{what}: input has shape {np.shape(x)}, expected (batch, "
                                 f"{self.weight.shape[1]})")
        if not float(t) >= 0:
            raise ParameterError(f"CapacitiveAnalogMatrix.{what}: t must be >= 0 s, got {t}")
        self._ensure_programmed()
        return x2

    def _scale(self, xs: np.ndarray) -> np.ndarray:
        """Noise-management scale ``alpha`` (batch,) of a tile's inputs."""
        if self.config.noise_management == "abs_max":
            alpha = np.max(np.abs(xs), axis=1)
            return np.where(alpha > 0, alpha, 1.0)
        return np.ones(xs.shape[0])

    def _voltages(self, xs: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """Row voltages [V] of normalized inputs ``xs / alpha`` after the DAC."""
        from memfit.crossbar.tile import quantize

        cfg = self.config
        u = np.clip(xs / alpha[:, None], -cfg.in_bound, cfg.in_bound)
        u = quantize(u, cfg.dac_bits, cfg.in_bound)
        return self.read_voltage * u / cfg.in_bound

    def _tile_forward(self, m: CapacitiveMatrix, xs: np.ndarray) -> np.ndarray:
        cfg = self.config
        alpha = self._scale(xs)
        rows = np.arange(xs.shape[0])
        dq_out = np.empty((xs.shape[0], m.n_out))
        for it in range(cfg.max_bm_iterations + 1):
            qp, qm = m.column_charges(self._voltages(xs[rows], alpha[rows]))
            dq = qp - qm
            dq_out[rows] = m.adc(dq)
            if m.adc_bits is None or cfg.bound_management != "iterative" or it == cfg.max_bm_iterations:
                break
            sat = np.any(np.abs(dq) >= m.q_full_scale, axis=1)
            if not sat.any():
                break
            rows = rows[sat]
            alpha[rows] *= 2.0
        gain = self.w_max * cfg.in_bound / ((m.c_max - m.c_min) * self.read_voltage)
        return dq_out * gain * alpha[:, None]

    def forward(self, x, t: float = 0.0) -> np.ndarray:
        """``x @ W.T`` computed in the charge domain (bias not included).

        Parameters
        ----------
        x : (batch, in) or (in,) array_like
            Layer inputs (any scale; see the class docstring).
        t : float
            Time since programming [s], >= 0; memcapacitors do not drift here, so it has no effect.

        Returns
        -------
        (batch, out) or (out,) ndarray, float64
        """
        single = np.ndim(x) == 1
        x2 = self._check(x, t, "forward")
        out = np.zeros((x2.shape[0], self.weight.shape[0]))
        for s, m in self.tiles:
            out[:, s.out_start:s.out_stop] += self._tile_forward(m, x2[:, s.in_start:s.in_stop])
        return out[0] if single else out

    __call__ = forward

    def effective_weight(self, t: float = 0.0) -> np.ndarray:
        """The weights the programmed capacitances hold, ``(C+ - C-)^T w_max / (C_max - C_min)`` (out, in).

        ``t`` [s] is accepted for the runtime's interface (no drift).
        """
        if not float(t) >= 0:
            raise ParameterError(f"CapacitiveAnalogMatrix.effective_weight: t must be >= 0 s, got {t}")
        self._ensure_programmed()
        w = np.zeros_like(self.weight)
        for s, m in self.tiles:
            w[s.out_start:s.out_stop, s.in_start:s.in_stop] = (m.c_plus - m.c_minus).T * (
                self.w_max / (m.c_max - m.c_min))
        return w

    def cost(self, x, periphery, t: float = 0.0):
        """Energy and latency of one input vector (estimate), :class:`memfit.crossbar.energy.Cost`.

        Every tile: :func:`memfit.crossbar.energy.tile_cost` with ``kind="capacitive"`` on the
        capacitances of both arrays plus the parasitic (``E_array = sum C V^2``), the row voltages of
        the vector's first read (noise management and DAC applied; bound-management re-reads are not
        counted) and one ADC conversion per output column (the differential charge).  Tiles run in
        parallel (latency = the slowest tile).

        Parameters
        ----------
        x : (in,) array_like
            Layer input vector.
        periphery : Periphery
        t : float
            Time after programming [s] (no effect).

        Returns
        -------
        Cost
        """
        from memfit.crossbar.energy import Cost, tile_cost

        x = np.asarray(x, dtype=np.float64)
        if x.shape != (self.weight.shape[1],):
            raise ParameterError(f"CapacitiveAnalogMatrix.cost: input of shape {x.shape} does not match the matrix "
                                 f"inputs ({self.weight.shape[1]},)")
        x2 = self._check(x, t, "cost")
        total = Cost()
        for s, m in self.tiles:
            xs = x2[:, s.in_start:s.in_stop]
            v = self._voltages(xs, self._scale(xs))[0]
            c = np.concatenate([m.c_plus, m.c_minus], axis=1) + m.c_parasitic
            tc = tile_cost(c, v, periphery, kind="capacitive", n_conversions=m.n_out)
            total.array += tc.array
            total.dac += tc.dac
            total.adc += tc.adc
            total.integrator += tc.integrator
            total.latency = max(total.latency, tc.latency)
            total.parts.append(tc)
        return total


class CapacitiveFactory:
    """Matrix factory of :class:`~memfit.crossbar.network.AnalogNetwork`: every matrix layer on memcapacitive tiles.

    ``factory(weight, device, config, rng) -> CapacitiveAnalogMatrix``.  Built by
    :func:`capacitive_factory`; a plain object (picklable) holding the options.

    Parameters
    ----------
    device : str, DeviceModel or preset, optional
        Memcapacitor model; None uses the device given to the network (or ``"memcapacitor"``).
    params : mapping, array_like or FitResult, optional
        Model parameters (a :class:`memfit.fitting.FitResult` gives its model and fitted values).
    **options
        Keyword arguments of :class:`CapacitiveAnalogMatrix` (``read_voltage`` [V], ``pulse_width``
        [s], ``state_range``, ``d2d_std`` [1], ``c2c_std`` [1], ``c_parasitic`` [F], ``adc_bits``,
        ``q_full_scale`` [C]).
    """

    OPTIONS = ("read_voltage", "pulse_width", "state_range", "d2d_std", "c2c_std", "c_parasitic", "adc_bits",
               "q_full_scale")

    def __init__(self, device=None, params=None, **options):
        unknown = sorted(set(options) - set(self.OPTIONS))
        if unknown:
            raise ParameterError(f"capacitive_factory: unknown option(s) {unknown}; known: {list(self.OPTIONS)}")
        self.device, self.params = _fitted_params(device, params)
        self.options = dict(options)
        # fail now, not at the first layer: a probe matrix validates the model and every option
        CapacitiveAnalogMatrix(np.ones((1, 1)), "memcapacitor" if self.device is None else self.device,
                               "ideal", 0, params=self.params, **self.options)

    def __call__(self, weight, device, config, rng) -> CapacitiveAnalogMatrix:
        dev = self.device if self.device is not None else device
        return CapacitiveAnalogMatrix(weight, "memcapacitor" if dev is None else dev, config, rng,
                                      params=self.params, **self.options)

    def describe(self) -> dict:
        """The settings as a JSON-able dict (for reports): model, window [F] and options."""
        probe = CapacitiveAnalogMatrix(np.ones((1, 1)), "memcapacitor" if self.device is None else self.device,
                                       "ideal", 0, params=self.params, **self.options)
        return {"model": probe.model.name, "C_min [F]": probe.c_min, "C_max [F]": probe.c_max,
                **{k: v for k, v in self.options.items() if k != "state_range"}}

    def __repr__(self) -> str:
        return f"CapacitiveFactory(device={self.device!r}, {self.options})"


def capacitive_factory(device=None, params=None, **options) -> CapacitiveFactory:
    """A matrix factory that puts every matrix layer of a network on memcapacitive tiles.

    Use it as ``AnalogNetwork(net, None, config, matrix_factory=capacitive_factory(...))`` or
    ``evaluate_accuracy(..., matrix_factory=capacitive_factory(...))``.

    Parameters
    ----------
    device : str, DeviceModel or preset, optional
        Memcapacitor (``"q(v)"``) model (default ``"memcapacitor"`` = ``biolek2013_memcapacitor``);
        a resistive model raises :class:`~memfit.errors.ModelError`.
    params : mapping, array_like or FitResult, optional
        Model parameters; pass the :class:`~memfit.fitting.FitResult` of a memcapacitor fit to use
        the fitted capacitance window (``Clow``, ``Chigh``).
    **options
        ``read_voltage`` [V] (default 1), ``pulse_width`` [s], ``state_range``, ``d2d_std`` [1],
        ``c2c_std`` [1], ``c_parasitic`` [F], ``adc_bits`` (int, None or ``"config"``),
        ``q_full_scale`` [C]; see :class:`CapacitiveAnalogMatrix`.

    Returns
    -------
    CapacitiveFactory

    Examples
    --------
    >>> from memfit.crossbar.layers import Dense
    >>> from memfit.crossbar.network import AnalogNetwork, Network
    >>> net = Network.sequential([Dense(np.array([[1.0, -2.0]]))], input_shape=(2,))
    >>> anet = AnalogNetwork(net, None, "ideal", rng=0, matrix_factory=capacitive_factory())
    >>> np.round(anet.forward(np.array([[0.5, 0.25]])), 12)
    array([[0.]])
    """
    return CapacitiveFactory(device, params, **options)


def factory_from_options(items, device=None) -> CapacitiveFactory:
    """A :class:`CapacitiveFactory` from ``FIELD=VALUE`` strings (the CLI's ``--memcap`` options).

    Fields: ``model`` (memcapacitor model name, default ``device`` or ``"memcapacitor"``),
    ``fit`` (a fit-result JSON file written by :meth:`memfit.fitting.FitResult.save`: its model
    and parameters), ``params`` (a JSON file of ``{parameter: value}`` [SI]), any parameter name
    of the model (e.g. ``Clow=1e-12`` [F]), and the options of :class:`CapacitiveAnalogMatrix`:
    ``read_voltage`` [V], ``pulse_width`` [s], ``d2d_std`` [1], ``c2c_std`` [1], ``c_parasitic``
    [F], ``adc_bits`` (int, ``none`` or ``config``), ``q_full_scale`` [C].

    Parameters
    ----------
    items : list of str
        E.g. ``["d2d_std=0.02", "c2c_std=0.01", "adc_bits=8"]``.
    device : str, optional
        Default model when ``model=`` is not given.

    Raises
    ------
    ParameterError
        Malformed item, unknown field, unreadable file or bad value (one line, naming it).
    """
    import json
    from pathlib import Path

    fields = {}
    for item in items or []:
        if "=" not in item:
            raise ParameterError(f"--memcap {item!r} must look like field=value (e.g. d2d_std=0.02)")
        k, v = (p.strip() for p in item.split("=", 1))
        fields[k] = v
    explicit = fields.pop("model", None)
    model = explicit or device or "memcapacitor"
    params: dict = {}
    if "fit" in fields:
        from memfit.fitting import FitResult

        res = FitResult.load(Path(fields.pop("fit")).expanduser())
        model = explicit or res.model
        params = res.model_params()
    if "params" in fields:
        path = Path(fields.pop("params")).expanduser()
        try:
            loaded = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ParameterError(f"--memcap params={path}: not a readable JSON file of parameters ({exc})") from None
        if not isinstance(loaded, dict):
            raise ParameterError(f"--memcap params={path}: expected a JSON object {{parameter: value}}")
        params = {**params, **loaded}
    m = get_model(model)
    options = {}
    for k, v in fields.items():
        if k in m.param_names:
            try:
                params = {**params, k: float(v)}
            except ValueError:
                raise ParameterError(f"--memcap {k}={v!r}: not a number") from None
        elif k == "adc_bits":
            low = v.lower()
            options[k] = None if low in ("none", "null", "off") else ("config" if low == "config" else _int(k, v))
        elif k in CapacitiveFactory.OPTIONS and k != "state_range":
            try:
                options[k] = float(v)
            except ValueError:
                raise ParameterError(f"--memcap {k}={v!r}: not a number") from None
        else:
            raise ParameterError(f"--memcap {k!r}: unknown field; use model, fit, params, a parameter of "
                                 f"{m.name!r} ({', '.join(m.param_names)}) or one of "
                                 f"{[o for o in CapacitiveFactory.OPTIONS if o != 'state_range']}")
    return CapacitiveFactory(model, params or None, **options)


def _int(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ParameterError(f"--memcap {name}={text!r}: not an integer") from None
