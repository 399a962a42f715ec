"""simulate() and simulate_batch(): device model + stimulus + test circuit -> results.

>>> from memfit.simulate import simulate
>>> sim = simulate("biolek2009", "sine(amplitude=1.2, f=1, cycles=2)")   # doctest: +SKIP
>>> sim.frame[["t", "v", "i", "x"]].head()                              # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from memfit.data.record import Record
from memfit.errors import CircuitError, IntegrationError, ParameterError
from memfit.models.base import DeviceModel
from memfit.models.registry import get_model
from memfit.simulate import _compile
from memfit.simulate._kernels import integrators as _k
from memfit.simulate.stimulus import Stimulus, parse_stimulus

METHODS = {"dopri5": _k.DOPRI5, "sdirk4": _k.SDIRK4}
_STATUS_TEXT = {
    _k.MAX_STEPS: "the step budget (max_steps={max_steps}) was exhausted",
    _k.STEP_UNDERFLOW: "the step size fell below 1e-14 of the time scale",
    _k.NOT_FINITE: "the state became NaN or infinite",
    _k.NO_OPERATING_POINT: "no device voltage satisfies the circuit equation (series resistance / compliance)",
}


@dataclass(frozen=True)
class TestCircuit:
    """Source -> series resistance -> device, with the SMU's compliance.

    Parameters
    ----------
    series_resistance : float
        Resistance between the source and the device [Ohm] (contacts, lines,
        a deliberate series resistor), >= 0.
    compliance : float or None
        Current compliance of a voltage source [A] (> 0).  When the current
        would exceed it, the source folds back to hold exactly this current.
        ``None``: no limit.
    voltage_compliance : float
        Voltage limit of a current source [V] (> 0); default 100 V.
    """

    __test__ = False  # not a pytest class

    series_resistance: float = 0.0
    compliance: float | None = None
    voltage_compliance: float = 100.0

    def __post_init__(self):
        rs = self.series_resistance
        if not (isinstance(rs, (int, float)) and math.isfinite(rs) and rs >= 0):
            raise CircuitError(f"series_resistance must be a finite number >= 0 Ohm, got {rs!r}")
        c = self.compliance
        if c is not None and not (isinstance(c, (int, float)) and math.isfinite(c) and c > 0):
            raise CircuitError(f"compliance must be a current > 0 A (or None), got {c!r}")
        vc = self.voltage_compliance
        if not (isinstance(vc, (int, float)) and math.isfinite(vc) and vc > 0):
            raise CircuitError(f"voltage_compliance must be a voltage > 0 V, got {vc!r}")

    def as_array(self) -> np.ndarray:
        return np.array(
            [
                float(self.series_resistance),
                math.inf if self.compliance is None else float(self.compliance),
                float(self.voltage_compliance),
            ]
        )


class Simulation(Record):
    """Result of :func:`simulate`: a frame with the measured-data column schema.

    Columns: ``t`` [s], ``v`` [V] (voltage at the source terminals, what an
    SMU reports), ``i`` [A], ``v_dev`` [V] (across the device), one column
    per state variable (named as in the model), ``compliance`` (True where the
    source was limited), ``segment`` and ``role`` (from the stimulus).

    ``meta`` holds the model name, parameters, initial state, circuit,
    stimulus, integrator settings and statistics.
    """

    def __init__(self, frame, meta, model: DeviceModel, stimulus: Stimulus):
        super().__init__(frame, meta)
        self.model = model
        self.stimulus = stimulus

    @property
    def states(self) -> pd.DataFrame:
        """The state columns."""
        return self.frame[self.model.state_names]

    def plot(self, path=None, **kwargs):
        """I-V loop, log|I|-V and states vs time (see :func:`memfit.plotting.plot_simulation`)."""
        from memfit.plotting import plot_simulation

        return plot_simulation(self, path=path, **kwargs)


@dataclass
class BatchSimulation:
    """Result of :func:`simulate_batch`: arrays over devices.

    Attributes
    ----------
    t : ndarray (M,)
        Output times [s].
    i, v, v_dev, compliance : ndarray (N, M) or (N, 1)
        Current [A], terminal and device voltage [V], compliance flag; shape
        (N, 1) holds only the final value when not recorded.
    x : ndarray (N, M, n_states) or (N, 1, n_states)
        States (final state only when not recorded).
    params : ndarray (N, n_params)
    status : ndarray (N,)
        0 where the integration succeeded.
    stats : ndarray (N, 3)
        Accepted steps, rejected steps, right-hand-side evaluations.
    """

    model: DeviceModel
    stimulus: Stimulus
    t: np.ndarray
    i: np.ndarray
    v: np.ndarray
    v_dev: np.ndarray
    compliance: np.ndarray
    x: np.ndarray
    params: np.ndarray
    status: np.ndarray
    stats: np.ndarray
    wall_time: float

    @property
    def final_state(self) -> np.ndarray:
        """State of every device at the end [N, n_states]."""
        return self.x[:, -1, :]

    @property
    def steps(self) -> int:
        """Accepted steps over all devices."""
        return int(self.stats[:, 0].sum())


# ---------------------------------------------------------------------------
def _as_stimulus(stimulus) -> Stimulus:
    if isinstance(stimulus, Stimulus):
        return stimulus
    if isinstance(stimulus, str):
        return parse_stimulus(stimulus)
    raise ParameterError(f"stimulus must be a Stimulus or a stimulus string, got {type(stimulus).__name__}")


def _as_params(model: DeviceModel, params) -> np.ndarray:
    if params is None:
        return model.params()
    if isinstance(params, Mapping):
        return model.params(params)
    return model.check_params(params).astype(np.float64)


def _as_x0(model: DeviceModel, p: np.ndarray, x0) -> np.ndarray:
    if x0 is None:
        return model.initial_state(p)
    if isinstance(x0, Mapping):
        return model.initial_state(p, **x0)
    arr = np.asarray(x0, dtype=np.float64)
    if arr.shape[-1:] != (model.n_states,):
        raise ParameterError(
            f"model {model.name!r} has {model.n_states} state(s) ({', '.join(model.state_names)}); "
            f"x0 has shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ParameterError(f"model {model.name!r}: x0 contains NaN or inf: {arr}")
    return arr


def _atol_vector(model: DeviceModel, lo: np.ndarray, hi: np.ndarray, x0: np.ndarray, atol: float) -> np.ndarray:
    """Absolute tolerance per state: ``atol`` times the state's range (or magnitude if unbounded)."""
    rng = hi - lo
    scale = np.where(np.isfinite(rng) & (rng > 0), rng, np.maximum(np.abs(x0), 1.0))
    return np.ascontiguousarray(atol * scale)


def _method(model: DeviceModel, method: str) -> int:
    if method == "auto":
        return _k.SDIRK4 if model.stiff else _k.DOPRI5
    try:
        return METHODS[method]
    except KeyError:
        raise ParameterError(f"unknown method {method!r}; choose 'auto', " + ", ".join(repr(m) for m in METHODS)) from None


def _check_tol(rtol, atol, max_steps):
    if not (0 < rtol < 1):
        raise ParameterError(f"rtol must be in (0, 1), got {rtol!r}")
    if not (0 < atol < 1):
        raise ParameterError(f"atol must be in (0, 1) (a fraction of each state's range), got {atol!r}")
    if int(max_steps) < 1:
        raise ParameterError(f"max_steps must be >= 1, got {max_steps!r}")


def _circuit(circuit, series_resistance, compliance, voltage_compliance) -> TestCircuit:
    if circuit is not None:
        if not isinstance(circuit, TestCircuit):
            raise CircuitError(f"circuit must be a TestCircuit, got {type(circuit).__name__}")
        return circuit
    return TestCircuit(series_resistance, compliance, 100.0 if voltage_compliance is None else voltage_compliance)


def simulate(
    model: str | DeviceModel,
    stimulus: Stimulus | str,
    params: Mapping[str, float] | Sequence[float] | None = None,
    x0: Mapping[str, float] | Sequence[float] | None = None,
    *,
    series_resistance: float = 0.0,
    compliance: float | None = None,
    voltage_compliance: float | None = None,
    circuit: TestCircuit | None = None,
    method: str = "auto",
    rtol: float = 1e-8,
    atol: float = 1e-10,
    max_steps: int = 10_000_000,
) -> Simulation:
    """Simulate one device in the test circuit.

    Parameters
    ----------
    model : str or DeviceModel
        Registered name (see :func:`memfit.models.available_models`) or a model.
    stimulus : Stimulus or str
        What the source applies (a stimulus string is parsed with
        :func:`memfit.simulate.parse_stimulus`).
    params : mapping or array, optional
        Parameter overrides by name, or a full vector in kernel order.
        Defaults: the model's published values.
    x0 : mapping or array, optional
        Initial state by state name, or a full vector.
    series_resistance : float
        [Ohm] between source and device.
    compliance : float, optional
        Current compliance [A] of the voltage source.
    voltage_compliance : float, optional
        Voltage limit [V] of a current source (default 100 V).
    circuit : TestCircuit, optional
        Instead of the three arguments above.
    method : {"auto", "dopri5", "sdirk4"}
        Explicit adaptive Runge-Kutta, implicit L-stable SDIRK, or chosen by
        the model's ``stiff`` flag.
    rtol : float
        Relative tolerance of the local error.
    atol : float
        Absolute tolerance as a fraction of each state's range (of its
        magnitude, for unbounded states).
    max_steps : int
        Step budget (accepted + rejected); exceeding it raises
        :class:`IntegrationError` instead of hanging.

    Returns
    -------
    Simulation
    """
    model = get_model(model)
    stim = _as_stimulus(stimulus)
    p = np.ascontiguousarray(_as_params(model, params), dtype=np.float64)
    if p.ndim != 1:
        raise ParameterError("simulate() takes one parameter vector; use simulate_batch() for several devices")
    x = np.ascontiguousarray(_as_x0(model, p, x0), dtype=np.float64)
    circ = _circuit(circuit, series_resistance, compliance, voltage_compliance)
    _check_tol(rtol, atol, max_steps)
    meth = _method(model, method)
    lo, hi = model.state_bounds(p)
    lo = np.ascontiguousarray(lo)
    hi = np.ascontiguousarray(hi)
    out_of = (x < lo) | (x > hi)
    if out_of.any():
        k = int(np.argmax(out_of))
        raise ParameterError(
            f"model {model.name!r}: initial {model.state_names[k]} = {x[k]:g} is outside [{lo[k]:g}, {hi[k]:g}]"
        )
    av = _atol_vector(model, lo, hi, x, atol)
    m = len(stim)
    X = np.empty((m, model.n_states))
    VD = np.full(m, np.nan)
    I = np.full(m, np.nan)
    VT = np.full(m, np.nan)
    CMP = np.zeros(m)
    stats = np.zeros(3, dtype=np.int64)
    rhs, cur = _compile.kernels(model)
    run = _compile.single()
    t0 = time.perf_counter()
    status = run(rhs, cur, meth, stim.segments, stim.t, x, p, lo, hi, circ.as_array(), float(rtol), av,
                 int(max_steps), X, VD, I, VT, CMP, stats)
    wall = time.perf_counter() - t0
    if status != _k.OK:
        done = np.isfinite(VD)
        t_fail = stim.t[np.argmin(done)] if not done.all() else stim.t[-1]
        raise IntegrationError(
            f"model {model.name!r}: integration stopped near t = {t_fail:g} s of {stim.t[-1]:g} s: "
            + _STATUS_TEXT.get(int(status), f"status {status}").format(max_steps=max_steps)
            + f" ({stats[0]} steps, {stats[1]} rejected). "
            + ("Try method='sdirk4' for stiff models, " if meth == _k.DOPRI5 else "")
            + "check parameters near their bounds, or raise max_steps."
        )
    seg_idx = stim.segment_index()
    frame = pd.DataFrame({"t": stim.t, "v": VT, "i": I, "v_dev": VD})
    for k, name in enumerate(model.state_names):
        frame[name] = X[:, k]
    frame["compliance"] = CMP.astype(bool)
    frame["segment"] = seg_idx
    frame["role"] = pd.Categorical(np.asarray(stim.roles, dtype=object)[seg_idx])
    units = {s.name: s.unit for s in model.states}
    from memfit import __version__

    meta = {
        "source": "simulation",
        "model": model.name,
        "reference": str(model.reference),
        "params": model.as_dict(p),
        "x0": dict(zip(model.state_names, map(float, x))),
        "circuit": asdict(circ),
        "stimulus": stim.name,
        "method": {v: k for k, v in METHODS.items()}[meth],
        "rtol": rtol,
        "atol": atol,
        "steps": int(stats[0]),
        "rejected": int(stats[1]),
        "rhs_evaluations": int(stats[2]),
        "wall_time_s": wall,
        "memfit_version": __version__,
        "units": units,
    }
    return Simulation(frame, meta, model, stim)


def simulate_batch(
    model: str | DeviceModel,
    stimulus: Stimulus | str,
    params: np.ndarray | pd.DataFrame | Sequence[Mapping[str, float]],
    x0: np.ndarray | None = None,
    *,
    series_resistance: float = 0.0,
    compliance: float | None = None,
    voltage_compliance: float | None = None,
    circuit: TestCircuit | None = None,
    method: str = "auto",
    rtol: float = 1e-8,
    atol: float = 1e-10,
    max_steps: int = 10_000_000,
    record: str = "all",
    raise_on_failure: bool = True,
) -> BatchSimulation:
    """Simulate N devices (one parameter row each) under the same stimulus, in parallel.

    Parameters
    ----------
    params : (N, n_params) array, DataFrame with parameter columns, or list of dicts
        One row per device.  DataFrame/dict rows may give a subset of the
        parameters; the rest take their defaults.
    x0 : (N, n_states) or (n_states,) array, optional
        Initial states (default: the model's, per row).
    record : {"all", "current", "final"}
        ``"all"``: states, voltages and currents at every output time;
        ``"current"``: currents at every output time, the rest only at the
        end; ``"final"``: only the final values (least memory).
    raise_on_failure : bool
        Raise :class:`IntegrationError` if any device failed; otherwise
        inspect ``status``.

    Other parameters are those of :func:`simulate`.  The loop over devices
    runs in a jitted, parallel kernel (``NUMBA_NUM_THREADS`` threads).
    """
    model = get_model(model)
    stim = _as_stimulus(stimulus)
    P = _batch_params(model, params)
    N = P.shape[0]
    if x0 is None:
        X0 = model.initial_state(P)
    else:
        X0 = np.broadcast_to(np.asarray(x0, dtype=np.float64), (N, model.n_states))
    X0 = np.ascontiguousarray(X0, dtype=np.float64)
    LO, HI = model.state_bounds(P)
    LO = np.ascontiguousarray(LO)
    HI = np.ascontiguousarray(HI)
    if np.any((X0 < LO) | (X0 > HI)):
        raise ParameterError(f"model {model.name!r}: some initial states lie outside their bounds")
    circ = _circuit(circuit, series_resistance, compliance, voltage_compliance)
    _check_tol(rtol, atol, max_steps)
    meth = _method(model, method)
    ATOL = _atol_vector(model, LO, HI, X0, atol)
    if record not in ("all", "current", "final"):
        raise ParameterError(f"record must be 'all', 'current' or 'final', got {record!r}")
    m = len(stim)
    mx = m if record == "all" else 1
    mi = m if record in ("all", "current") else 1
    X = np.empty((N, mx, model.n_states))
    VD = np.full((N, mx), np.nan)
    I = np.full((N, mi), np.nan)
    VT = np.full((N, mx), np.nan)
    CMP = np.zeros((N, mx))
    STATUS = np.zeros(N, dtype=np.int64)
    STATS = np.zeros((N, 3), dtype=np.int64)
    rhs, cur = _compile.kernels(model)
    run = _compile.batch()
    t0 = time.perf_counter()
    run(rhs, cur, meth, stim.segments, stim.t, X0, P, LO, HI, circ.as_array(), float(rtol), ATOL, int(max_steps),
        X, VD, I, VT, CMP, STATUS, STATS)
    wall = time.perf_counter() - t0
    failed = np.nonzero(STATUS)[0]
    if failed.size and raise_on_failure:
        d = int(failed[0])
        raise IntegrationError(
            f"model {model.name!r}: {failed.size} of {N} devices failed; device {d}: "
            + _STATUS_TEXT.get(int(STATUS[d]), f"status {STATUS[d]}").format(max_steps=max_steps)
            + f" with parameters {model.as_dict(P[d])}. Pass raise_on_failure=False to keep the others."
        )
    return BatchSimulation(model, stim, stim.t.copy(), I, VT, VD, CMP.astype(bool), X, P, STATUS, STATS, wall)


def _batch_params(model: DeviceModel, params) -> np.ndarray:
    if isinstance(params, pd.DataFrame):
        unknown = [c for c in params.columns if c not in model.param_names]
        if unknown:
            raise ParameterError(f"model {model.name!r} has no parameter(s) {unknown}; its parameters: {model.param_names}")
        P = np.tile(model.params(), (len(params), 1))
        for c in params.columns:
            P[:, model.param_names.index(c)] = params[c].to_numpy(dtype=np.float64)
    elif isinstance(params, (list, tuple)) and params and isinstance(params[0], Mapping):
        rows = []
        for k, row in enumerate(params):
            try:
                rows.append(model.params(row))
            except ParameterError as exc:
                raise ParameterError(f"{exc} (row {k})") from None
        P = np.stack(rows)
    else:
        P = np.asarray(params, dtype=np.float64)
        if P.ndim != 2:
            raise ParameterError(f"params must be an (N, {model.n_params}) array, got shape {P.shape}")
    return np.ascontiguousarray(model.check_params(P))
