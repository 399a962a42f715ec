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
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from memfit.errors import ModelError, ParameterError, PresetError
from memfit.models import get_model
from memfit.models.base import DeviceModel

__all__ = ["CapacitiveMatrix", "capacitance_window"]


def _resolve_device(device, params):
    """(DeviceModel, parameter vector) from a model name/DeviceModel or a preset-like object."""
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
        """Capacitances [F] seen by one read: programmed C with c2c draw, plus the parasitic."""
        cp, cm = self.c_plus, self.c_minus
        if self.c2c_std > 0:
            cp = cp * (1 + self.c2c_std * self.rng.standard_normal(cp.shape))
            cm = cm * (1 + self.c2c_std * self.rng.standard_normal(cm.shape))
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
