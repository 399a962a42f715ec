"""simulate() and simulate_batch(): device model + stimulus + test circuit -> results.

>>> from memfit.simulate import simulate
>>> sim = simulate("biolek2009", "sine(amplitude=1.2, f=1, cycles=2)")   # doctest: +SKIP
>>> sim.frame[["t", "v", "i", "x"]].head()                              # doctest: +SKIP
"""

from __future__ import annotations

import functools
import math
import time
import weakref
from dataclasses import asdict, dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from memfit import _gpu
from memfit.data.record import Record
from memfit.errors import CircuitError, IntegrationError, ParameterError
from memfit.models.base import DeviceModel
from memfit.models.registry import get_model
from memfit.simulate import _compile
from memfit.simulate._kernels import circuit as _c
from memfit.simulate._kernels import integrators as _k
from memfit.simulate.stimulus import (
    Stimulus,
    cut_rows_bound,
    parse_stimulus,
    split_at_levels,
    split_groups_at_levels,
)

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
    parallel_capacitance : float or None
        A capacitor across the device [F] (> 0): with a DC source and the
        series resistance this is the Pearson-Anson relaxation oscillator of
        locally active devices.  Needs ``series_resistance > 0``.
    """

    __test__ = False  # not a pytest class

    series_resistance: float = 0.0
    compliance: float | None = None
    voltage_compliance: float = 100.0
    parallel_capacitance: float | None = None

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
        cp = self.parallel_capacitance
        if cp is not None:
            if not (isinstance(cp, (int, float)) and math.isfinite(cp) and cp > 0):
                raise CircuitError(f"parallel_capacitance must be a capacitance > 0 F (or None), got {cp!r}")
            if rs <= 0:
                raise CircuitError("a parallel capacitor needs series_resistance > 0 Ohm to charge through")

    def as_array(self) -> np.ndarray:
        """The circuit as the integrators' float array.

        Returns
        -------
        ndarray (4,)
            ``[series_resistance [Ohm], compliance [A] (inf for none), voltage_compliance [V],
            parallel_capacitance [F] (0 for none)]``.
        """
        return np.array(
            [
                float(self.series_resistance),
                math.inf if self.compliance is None else float(self.compliance),
                float(self.voltage_compliance),
                0.0 if self.parallel_capacitance is None else float(self.parallel_capacitance),
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
    wall_time : float
        Wall time of the integration [s] (on a GPU: with the transfers).
    backend : str
        Where it ran: ``"cpu"`` or ``"cuda"``.
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
    backend: str = "cpu"

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


def _method(model: DeviceModel, method: str) -> int:
    if method == "auto":
        return _k.SDIRK4 if model.stiff else _k.DOPRI5
    try:
        return METHODS[method]
    except KeyError:
        raise ParameterError(f"unknown method {method!r}; choose 'auto', " + ", ".join(repr(m) for m in METHODS)) from None


def _backend_dtype(backend: str, dtype) -> tuple[str, np.dtype]:
    """Resolve ``backend`` (see :func:`memfit._gpu.resolve_backend`) and check ``dtype`` against it."""
    be = _gpu.resolve_backend(backend)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ParameterError(f"dtype must be float64 or float32, got {dtype!r}") from None
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ParameterError(f"dtype must be float64 or float32, got {dtype!r}")
    if dt == np.float32 and be != "cuda":
        raise ParameterError("dtype=float32 is available with backend='cuda' only; the CPU integrators run in float64")
    return be, dt


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


@dataclass
class _Setup:
    """Everything the kernels need, prepared and validated once (shared by simulate and simulate_batch)."""

    model: DeviceModel
    stim: Stimulus
    circuit: TestCircuit
    ckind: int
    method: int
    P: np.ndarray  # (N, n_params)
    Y0: np.ndarray  # (N, ny): device state + circuit state
    LO: np.ndarray
    HI: np.ndarray
    ATOL: np.ndarray
    extra: str | None  # name of the circuit-state column (None for the plain series circuit)

    @property
    def nx(self) -> int:
        return self.model.n_states


def _circuit_kind(model: DeviceModel, circ: TestCircuit, stim: Stimulus) -> tuple[int, str | None]:
    if model.port == "q(v)":
        kind, extra = _c.CHARGE, "q"
    elif model.port == "phi(i)":
        kind, extra = _c.FLUX, "phi"
    elif circ.parallel_capacitance is not None:
        kind, extra = _c.PARALLEL_C, "v_c"
    else:
        return _c.SERIES, None
    if circ.parallel_capacitance is not None and kind != _c.PARALLEL_C:
        raise CircuitError(f"model {model.name!r} has a {model.port} port; a parallel capacitor applies to i(v) devices")
    if kind == _c.PARALLEL_C and "current" in stim.modes:
        raise CircuitError("the parallel-capacitor circuit is driven by a voltage source; the stimulus has current segments")
    return kind, extra


def _prepare(model, stimulus, params, x0, circuit, series_resistance, compliance, voltage_compliance, method, rtol,
             atol, max_steps, batch: bool) -> _Setup:
    model = get_model(model)
    stim = _as_stimulus(stimulus)
    circ = _circuit(circuit, series_resistance, compliance, voltage_compliance)
    _check_tol(rtol, atol, max_steps)
    meth = _method(model, method)
    kind, extra = _circuit_kind(model, circ, stim)
    if batch:
        P = _batch_params(model, params)
        if x0 is None:
            X0 = model.initial_state(P)
        else:
            X0 = np.broadcast_to(np.asarray(x0, dtype=np.float64), (P.shape[0], model.n_states)).copy()
    else:
        p = _as_params(model, params)
        if p.ndim != 1:
            raise ParameterError("simulate() takes one parameter vector; use simulate_batch() for several devices")
        P = p[None, :]
        X0 = _as_x0(model, p, x0)[None, :]
    P = np.ascontiguousarray(P, dtype=np.float64)
    Y0, LO, HI, ATOL = system_arrays(model, kind, stim, circ, P, X0, atol, batch)
    return _Setup(model, stim, circ, kind, meth, P, Y0, LO, HI, ATOL, extra)


def system_arrays(model, kind, stim, circ, P, X0, atol, batch=True):
    """Initial system state, bounds and absolute tolerances for parameter rows ``P``.

    Returns ``(Y0, LO, HI, ATOL)``, each (N, ny): the device state followed by
    the circuit state (if the circuit kind has one).  Raises
    :class:`ParameterError` when an initial state lies outside its bounds.
    """
    LO, HI = model.state_bounds(P)
    out_of = (X0 < LO) | (X0 > HI)
    if out_of.any():
        d, k = np.argwhere(out_of)[0]
        raise ParameterError(
            f"model {model.name!r}: initial {model.state_names[k]} = {X0[d, k]:g} is outside "
            f"[{LO[d, k]:g}, {HI[d, k]:g}] {model.states[k].unit}" + (f" (device {d})" if batch else "")
        )
    rng = HI - LO
    ATOL = atol * np.where(np.isfinite(rng) & (rng > 0), rng, np.maximum(np.abs(X0), 1.0))
    if kind != _c.SERIES:
        z0, zscale = _circuit_state_start(model, kind, stim, circ, P, X0, LO, HI)
        X0 = np.concatenate([X0, z0[:, None]], axis=1)
        LO = np.concatenate([LO, np.full((P.shape[0], 1), -np.inf)], axis=1)
        HI = np.concatenate([HI, np.full((P.shape[0], 1), np.inf)], axis=1)
        ATOL = np.concatenate([ATOL, atol * zscale[:, None]], axis=1)
    c = np.ascontiguousarray
    return c(X0, dtype=np.float64), c(LO), c(HI), c(ATOL)


class Simulator:
    """One model + stimulus + circuit, prepared once and run many times with new parameters.

    This is the fast path for fitting: no validation of the stimulus or the
    circuit per run and no DataFrame, just the observables array.

    Parameters are those of :func:`simulate`, plus ``backend`` and ``dtype``
    (see :func:`simulate_batch`), which apply to :meth:`run_batch` (:meth:`run`
    always runs on the CPU).  :meth:`run` returns
    ``(out, x)``: ``out`` is (M, 5) with columns v_dev, i, v (terminal),
    compliance, port quantity (see :mod:`memfit.simulate._kernels.circuit`),
    ``x`` is (M, n_states + circuit states).
    """

    def __init__(self, model, stimulus, circuit: TestCircuit | None = None, method: str = "auto",
                 rtol: float = 1e-8, atol: float = 1e-10, max_steps: int = 10_000_000, backend: str = "cpu",
                 dtype=np.float64):
        self.model = get_model(model)
        self.backend, self.dtype = _backend_dtype(backend, dtype)
        self.stimulus = _as_stimulus(stimulus)
        self.circuit = circuit if circuit is not None else TestCircuit()
        if not isinstance(self.circuit, TestCircuit):
            raise CircuitError(f"circuit must be a TestCircuit, got {type(self.circuit).__name__}")
        _check_tol(rtol, atol, max_steps)
        self.rtol, self.atol, self.max_steps = float(rtol), float(atol), int(max_steps)
        self.method = _method(self.model, method)
        self.kind, self.extra = _circuit_kind(self.model, self.circuit, self.stimulus)
        self._circ = self.circuit.as_array()
        self._kernels = _compile.kernels(self.model)
        self._single = _compile.single()
        self._batch = _compile.batch()
        self._uout = _source_at_outputs(self.stimulus)

    def run(self, p: np.ndarray, x0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Simulate parameter vector ``p`` from state ``x0`` (default: the model's)."""
        m = self.model
        P = np.ascontiguousarray(np.asarray(p, dtype=np.float64)[None, :])
        X0 = m.initial_state(P[0])[None, :] if x0 is None else np.asarray(x0, dtype=np.float64)[None, :]
        Y0, LO, HI, ATOL = system_arrays(m, self.kind, self.stimulus, self.circuit, P, X0, self.atol, batch=False)
        stim = self.stimulus
        M = len(stim)
        X = np.empty((M, Y0.shape[1]))
        OUT = np.full((M, _c.N_OUT), np.nan)
        stats = np.zeros(3, dtype=np.int64)
        rhs, cur = self._kernels
        seg = _integration_segments(m, self.kind, self.circuit, stim, P)
        status = self._single(rhs, cur, self.method, self.kind, m.n_states, seg, stim.t, self._uout, Y0[0], P[0],
                              LO[0], HI[0], self._circ, self.rtol, ATOL[0], self.max_steps, X, OUT, stats)
        if status != _k.OK:
            done = np.isfinite(OUT[:, _c.O_VDEV])
            t_fail = stim.t[np.argmin(done)] if not done.all() else stim.t[-1]
            raise _status_error(m, status, stats, t_fail, stim.t[-1], self.method, self.max_steps)
        return OUT, X

    def batch_runs_as_single(self, P: np.ndarray) -> bool:
        """Whether :meth:`run_batch` integrates each row of ``P`` exactly as :meth:`run` would: True
        unless the rows' own threshold cuts would exceed the batch's table budget (see
        :func:`_batch_segments`; decided without cutting any table)."""
        m = self.model
        if not _cuts_apply(m, self.kind, self.circuit):
            return True
        L = m.threshold_voltages(np.atleast_2d(P))
        if _own_tables_fit(self.stimulus, L):  # as many groups as rows at most: fits whatever the grouping
            return True
        return _own_tables_fit(self.stimulus, _group_rows(L)[0])

    def run_batch(self, P: np.ndarray, X0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Simulate parameter rows ``P`` in parallel; returns ``(OUT (N, M, 5), status (N,))``.

        The rows of devices whose integration failed (``status != 0``) are NaN.
        """
        m = self.model
        P = np.ascontiguousarray(P, dtype=np.float64)
        X0 = m.initial_state(P) if X0 is None else np.ascontiguousarray(X0, dtype=np.float64)
        Y0, LO, HI, ATOL = system_arrays(m, self.kind, self.stimulus, self.circuit, P, X0, self.atol)
        stim = self.stimulus
        N, M = P.shape[0], len(stim)
        X = np.empty((N, 1, Y0.shape[1]))
        OUT = np.empty((N, M, _c.N_OUT))  # every entry written unless a device fails (NaN'd below)
        STATUS = np.zeros(N, dtype=np.int64)
        STATS = np.zeros((N, 3), dtype=np.int64)
        SEG, START, GROUP, _ = _batch_segments(m, self.kind, self.circuit, stim, P)
        if self.backend == "cuda":
            from memfit.simulate import _cuda

            _cuda.run_batch(m, self.method, self.kind, m.n_states, SEG, START, GROUP, stim.t, self._uout, Y0, P, LO,
                            HI, self._circ, self.rtol, ATOL, self.max_steps, X, OUT, STATUS, STATS, dtype=self.dtype)
        else:
            rhs, cur = self._kernels
            self._batch(rhs, cur, self.method, self.kind, m.n_states, SEG, START, GROUP, stim.t, self._uout, Y0, P,
                        LO, HI, self._circ, self.rtol, ATOL, self.max_steps, X, OUT, STATUS, STATS)
        OUT[STATUS != 0] = np.nan
        return OUT, STATUS


def _integration_segments(model: DeviceModel, kind: int, circ: TestCircuit, stim: Stimulus,
                          P: np.ndarray) -> np.ndarray:
    """The segment table one device (parameter row ``P[0]``) is integrated on.

    The stimulus's own table, cut at the model's threshold voltages
    (:attr:`DeviceModel.voltage_thresholds`) when the source drives the device directly (the
    series circuit without a series resistor: the device voltage is then the source's, whose
    crossing times are known).  Outputs are unchanged: the cuts are extra integrator
    breakpoints, not output times.  The last cut table of each stimulus is kept with its levels (a
    fit or a benchmark runs one stimulus at the same thresholds many times; the cut itself is a
    jitted pass of a few microseconds, the Python around it ~15 us).
    """
    if not _cuts_apply(model, kind, circ):
        return stim.segments
    levels = tuple(sorted(set(model.threshold_voltages(P).ravel().tolist())))
    memo = _per_stimulus(stim, "cut", dict)
    if memo.get("levels") != levels:
        memo["table"] = split_at_levels(stim.segments, levels)
        memo["levels"] = levels
    return memo["table"]


def _cuts_apply(model: DeviceModel, kind: int, circ: TestCircuit) -> bool:
    return bool(model.voltage_thresholds) and kind == _c.SERIES and circ.series_resistance == 0


def _batch_segments(model: DeviceModel, kind: int, circ: TestCircuit, stim: Stimulus,
                    P: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """The segment tables of a batch: ``(SEG, SEG_START, SEG_GROUP, own_cuts)``.

    Device ``d`` is integrated on ``SEG[SEG_START[g]:SEG_START[g + 1]]``, ``g = SEG_GROUP[d]``.  Each
    group of rows with the same threshold voltages gets the table :func:`_integration_segments`
    would give one of its rows, so a device in a batch is integrated exactly as on its own
    (``own_cuts`` True): a finite-difference Jacobian's perturbed rows, a population with a spread
    of thresholds.  When the groups' tables would exceed ``_MAX_CUT_ROWS`` rows together (a large
    population on a long stimulus), all rows share one table: cut at the rows' thresholds when
    they have at most ``_MAX_CUT_LEVELS`` between them, else uncut (``own_cuts`` False).
    """
    N = P.shape[0]
    one = np.zeros(N, dtype=np.int64)
    if not _cuts_apply(model, kind, circ):
        return stim.segments, np.array([0, stim.segments.shape[0]], dtype=np.int64), one, True
    L = model.threshold_voltages(P)
    if N == 1 or not np.any(L != L[:1]):  # one set of thresholds (also the NaN-free common case)
        seg = _integration_segments(model, kind, circ, stim, P[:1])
        return seg, np.array([0, seg.shape[0]], dtype=np.int64), one, True
    groups, group = _group_rows(L)
    if _own_tables_fit(stim, groups):
        table, start = split_groups_at_levels(stim.segments, groups, _MAX_CUT_ROWS)
        return table, start, group, True
    levels = np.unique(L)
    seg = stim.segments if levels.size > _MAX_CUT_LEVELS else split_at_levels(stim.segments, levels)
    return seg, np.array([0, seg.shape[0]], dtype=np.int64), one, False


def _group_rows(L: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(groups, group)``: the distinct rows of ``L`` (bit for bit) and each row's index among them.

    Rows are compared as raw bytes (one ``np.unique`` over a 1-d view: 12 us for a Jacobian's few
    rows, 2 ms for 10^4; ``np.unique(axis=0)`` took 31 us for six).
    """
    L = np.ascontiguousarray(L, dtype=np.float64)
    rows = L.view(np.dtype((np.void, L.itemsize * L.shape[1]))).reshape(-1)
    _, first, group = np.unique(rows, return_index=True, return_inverse=True)
    return L[first], np.ascontiguousarray(group.reshape(-1), dtype=np.int64)


def _own_tables_fit(stim: Stimulus, groups: np.ndarray) -> bool:
    """Whether one cut table per row of ``groups`` (distinct threshold sets) fits ``_MAX_CUT_ROWS``,
    judged by the most rows a table can have (:func:`cut_rows_bound`), before any is computed (one
    set always does: it is the single run's table)."""
    n = groups.shape[0]
    return n <= 1 or n * cut_rows_bound(stim.segments, groups.shape[1]) <= _MAX_CUT_ROWS


#: most segment-table rows a batch's per-group tables may hold together (64 MB)
_MAX_CUT_ROWS = 1 << 20
#: most distinct threshold voltages a shared table is cut at (beyond _MAX_CUT_ROWS)
_MAX_CUT_LEVELS = 16


def _per_stimulus(stim: Stimulus, name: str, compute):
    """``compute()``, kept per stimulus object under ``name`` (stimuli are immutable; a fit or a
    benchmark runs the same one many times)."""
    memo = _STIMULUS_MEMO.get(stim)
    if memo is None:
        memo = _STIMULUS_MEMO[stim] = {}
    if name not in memo:
        memo[name] = compute()
    return memo[name]


#: per-stimulus values (weak: gone with the stimulus)
_STIMULUS_MEMO: "weakref.WeakKeyDictionary[Stimulus, dict]" = weakref.WeakKeyDictionary()


def _source_at_outputs(stim: Stimulus) -> np.ndarray:
    """The source value at every output time of ``stim`` (the integrators' ``uout``)."""
    return _per_stimulus(stim, "uout", lambda: np.ascontiguousarray(stim.value(), dtype=np.float64))


def _segment_columns(stim: Stimulus):
    """``(segment index, role codes, role dtype)`` at the output times of ``stim``.

    Roles become a categorical built from codes (categorising 10^4 Python strings, or inserting
    columns one by one, cost more than the integration).
    """
    def compute():
        seg_idx = stim.segment_index()
        categories = sorted(set(stim.roles))
        codes = np.array([categories.index(r) for r in stim.roles], dtype=np.int8)[seg_idx]
        return seg_idx, codes, _role_dtype(tuple(categories))

    return _per_stimulus(stim, "columns", compute)


def _circuit_state_start(model, kind, stim, circ, P, X0, LO, HI):
    """Initial value and tolerance scale of the circuit state (capacitor voltage, charge or flux).

    The element starts unbiased (zero voltage, zero current) unless an ideal
    source forces its port from the first instant: a voltage source with no
    series resistance on a memcapacitor, a current source on a meminductor.
    """
    src0 = float(stim.value(stim.t[:1])[0])
    smax = max(float(np.max(np.abs(stim.value()))), 1e-30)
    if kind == _c.PARALLEL_C:
        n = P.shape[0]
        return np.zeros(n), np.full(n, max(smax, 1e-3))  # the capacitor starts discharged
    port = getattr(model.current, "py_func", model.current)
    z0 = np.empty(P.shape[0])
    scale = np.empty(P.shape[0])
    lo_f = np.where(np.isfinite(LO), LO, X0)
    hi_f = np.where(np.isfinite(HI), HI, X0)
    for d in range(P.shape[0]):
        if kind == _c.CHARGE:
            forced = stim.modes[0] == "voltage" and circ.series_resistance == 0.0
        else:
            forced = stim.modes[0] == "current"
        drive0 = src0 if forced else 0.0
        z0[d] = port(X0[d].copy(), drive0, P[d])
        # the largest port quantity the stimulus can produce sets the absolute tolerance
        mags = [abs(port(x.copy(), u, P[d])) for x in (lo_f[d], hi_f[d], X0[d]) for u in (smax, -smax)]
        scale[d] = max(max(mags), 1e-30)
    return z0, scale


def _status_error(model, status, stats, t_fail, t_end, meth, max_steps, prefix=""):
    return IntegrationError(
        f"model {model.name!r}: {prefix}integration stopped near t = {t_fail:g} s of {t_end:g} s: "
        + _STATUS_TEXT.get(int(status), f"status {status}").format(max_steps=max_steps)
        + f" ({stats[0]} steps, {stats[1]} rejected). "
        + ("Try method='sdirk4' for stiff models, " if meth == _k.DOPRI5 else "")
        + "check parameters near their bounds, or raise max_steps."
    )


@functools.lru_cache(maxsize=64)
def _role_dtype(categories: tuple[str, ...]) -> pd.CategoricalDtype:
    """The categorical dtype of the ``role`` column (built once per set of roles: building the
    string categories anew cost ~90 us per simulation, more than a short integration)."""
    return pd.CategoricalDtype(list(categories))


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
        Instead of the three arguments above (and for a parallel capacitor).
    method : {"auto", "dopri5", "sdirk4"}
        Explicit adaptive Runge-Kutta, implicit L-stable SDIRK, or chosen by
        the model's ``stiff`` flag.
    rtol : float
        Relative tolerance of the local error.
    atol : float
        Absolute tolerance as a fraction of each state's range (of its
        magnitude, for unbounded states; of the largest charge/flux/voltage
        the stimulus can produce, for circuit states).
    max_steps : int
        Step budget (accepted + rejected); exceeding it raises
        :class:`IntegrationError` instead of hanging.

    Returns
    -------
    Simulation
        Columns ``t, v, i, v_dev``, the states, the port quantity (``q`` for
        memcapacitors, ``phi`` for meminductors, ``i_dev`` with a parallel
        capacitor), ``compliance``, ``segment``, ``role``.
    """
    su = _prepare(model, stimulus, params, x0, circuit, series_resistance, compliance, voltage_compliance, method,
                  rtol, atol, max_steps, batch=False)
    model, stim = su.model, su.stim
    m = len(stim)
    ny = su.Y0.shape[1]
    X = np.empty((m, ny))
    OUT = np.full((m, _c.N_OUT), np.nan)
    stats = np.zeros(3, dtype=np.int64)
    rhs, cur = _compile.kernels(model)
    run = _compile.single()
    seg = _integration_segments(model, su.ckind, su.circuit, stim, su.P)
    uout = _source_at_outputs(stim)
    t0 = time.perf_counter()
    status = run(rhs, cur, su.method, su.ckind, su.nx, seg, stim.t, uout, su.Y0[0], su.P[0], su.LO[0], su.HI[0],
                 su.circuit.as_array(), float(rtol), su.ATOL[0], int(max_steps), X, OUT, stats)
    wall = time.perf_counter() - t0
    if status != _k.OK:
        done = np.isfinite(OUT[:, _c.O_VDEV])
        t_fail = stim.t[np.argmin(done)] if not done.all() else stim.t[-1]
        raise _status_error(model, status, stats, t_fail, stim.t[-1], su.method, max_steps)
    seg_idx, role_codes, role_dtype = _segment_columns(stim)
    cols = {"t": stim.t, "v": OUT[:, _c.O_VTERM], "i": OUT[:, _c.O_I], "v_dev": OUT[:, _c.O_VDEV]}
    for k, name in enumerate(model.state_names):
        cols[name] = X[:, k]
    units = {s.name: s.unit for s in model.states}
    if su.ckind == _c.PARALLEL_C:
        cols["i_dev"] = OUT[:, _c.O_PORT]
        units["i_dev"] = "A"
    elif su.extra is not None:
        cols[su.extra] = OUT[:, _c.O_PORT]
        units[su.extra] = "C" if su.extra == "q" else "Wb"
    cols["compliance"] = OUT[:, _c.O_COMP] > 0.5
    cols["segment"] = seg_idx.copy()  # fresh arrays: a frame must not share them with the cache
    cols["role"] = pd.Categorical.from_codes(role_codes.copy(), dtype=role_dtype)
    # the columns are fresh arrays of this call; an explicit index spares pandas inferring one (85 us)
    frame = pd.DataFrame(cols, index=pd.RangeIndex(m), copy=False)
    from memfit import __version__

    meta = {
        "source": "simulation",
        "model": model.name,
        "reference": str(model.reference),
        "params": dict(zip(model.param_names, map(float, su.P[0]))),  # validated by _prepare
        "x0": dict(zip(model.state_names, map(float, su.Y0[0, : su.nx]))),
        "circuit": asdict(su.circuit),
        "stimulus": stim.name,
        "method": {v: k for k, v in METHODS.items()}[su.method],
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
    backend: str = "cpu",
    dtype=np.float64,
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
    backend : {"cpu", "cuda", "auto"}
        ``"cpu"``: a jitted kernel parallel over cores (``NUMBA_NUM_THREADS``
        threads).  ``"cuda"``: one GPU thread per device, running the same
        integrator code and the model's own kernels compiled for CUDA
        (needs ``pip install "memfit[gpu]"`` and an NVIDIA GPU; raises
        :class:`memfit._gpu.GPUUnavailableError` otherwise).  ``"auto"``:
        ``"cuda"`` when a GPU is present, else ``"cpu"``.
    dtype : {numpy.float64, numpy.float32}
        Precision of the arrays on the GPU (``backend="cuda"`` only):
        float32 halves memory traffic at the cost of ~1e-7 relative
        rounding in the stored states and outputs.

    Other parameters are those of :func:`simulate`.
    """
    if record not in ("all", "current", "final"):
        raise ParameterError(f"record must be 'all', 'current' or 'final', got {record!r}")
    be, dt = _backend_dtype(backend, dtype)
    su = _prepare(model, stimulus, params, x0, circuit, series_resistance, compliance, voltage_compliance, method,
                  rtol, atol, max_steps, batch=True)
    model, stim = su.model, su.stim
    N, ny = su.Y0.shape
    m = len(stim)
    mx = m if record == "all" else 1
    mo = m if record in ("all", "current") else 1
    X = np.empty((N, mx, ny))
    OUT = np.full((N, mo, _c.N_OUT), np.nan)
    STATUS = np.zeros(N, dtype=np.int64)
    STATS = np.zeros((N, 3), dtype=np.int64)
    SEG, START, GROUP, _ = _batch_segments(model, su.ckind, su.circuit, stim, su.P)
    uout = _source_at_outputs(stim)
    if be == "cuda":
        from memfit.simulate import _cuda

        t0 = time.perf_counter()
        _cuda.run_batch(model, su.method, su.ckind, su.nx, SEG, START, GROUP, stim.t, uout, su.Y0, su.P, su.LO,
                        su.HI, su.circuit.as_array(), float(rtol), su.ATOL, int(max_steps), X, OUT, STATUS, STATS,
                        dtype=dt)
        wall = time.perf_counter() - t0
    else:
        rhs, cur = _compile.kernels(model)
        run = _compile.batch()
        t0 = time.perf_counter()
        run(rhs, cur, su.method, su.ckind, su.nx, SEG, START, GROUP, stim.t, uout, su.Y0, su.P, su.LO, su.HI,
            su.circuit.as_array(), float(rtol), su.ATOL, int(max_steps), X, OUT, STATUS, STATS)
        wall = time.perf_counter() - t0
    failed = np.nonzero(STATUS)[0]
    if failed.size and raise_on_failure:
        d = int(failed[0])
        raise IntegrationError(
            f"model {model.name!r}: {failed.size} of {N} devices failed; device {d}: "
            + _STATUS_TEXT.get(int(STATUS[d]), f"status {STATUS[d]}").format(max_steps=max_steps)
            + f" with parameters {model.as_dict(su.P[d])}. Pass raise_on_failure=False to keep the others."
        )
    if record == "current":
        out_other = OUT[:, -1:, :]  # only the final row of the non-current observables is meaningful
    else:
        out_other = OUT
    return BatchSimulation(
        model=model,
        stimulus=stim,
        t=stim.t.copy(),
        i=OUT[:, :, _c.O_I],
        v=out_other[:, :, _c.O_VTERM],
        v_dev=out_other[:, :, _c.O_VDEV],
        compliance=out_other[:, :, _c.O_COMP] > 0.5,
        x=X[:, :, : su.nx],
        params=su.P,
        status=STATUS,
        stats=STATS,
        wall_time=wall,
        backend=be,
    )


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
