"""fit(): compact-model parameters from one or several measurements, with lmfit.

How a fit works
---------------
1. Each measurement becomes a :class:`~memfit.fitting.objective.FitData`:
   the stimulus that replays it, its circuit (series resistance and
   compliance are part of the simulated circuit), the compared quantity.
2. Parameters are lmfit ``Parameters``: the model's parameters (shared by all
   datasets unless listed in ``per_dataset``), optionally the initial states
   (``fit_x0``, always per dataset), with bounds from the model, fixed values
   (``fix``) and lmfit constraint expressions (``expr``).
3. The objective simulates every dataset with the Numba integrators and
   stacks the residuals, each dataset scaled by ``sqrt(weight / n)``; with
   ``reweight=True`` (default) a second pass weights each dataset by its
   own residual scatter, so datasets of different noise combine correctly
   and the standard errors are honest.
4. The Jacobian is a forward difference whose step is tied to the
   integration tolerance (``sqrt(rtol)`` relative), evaluated for all
   parameters at once in the parallel batch integrator -- the default
   ``sqrt(eps)`` step would sit below the integrator's noise floor and stall
   the optimizer at its start (baselines_and_pitfalls.md, pitfall 1).
5. Optional global stage (``global_method="differential_evolution"``) on
   the bounded parameters, then local trust-region least squares.
6. The result checks itself: a fit that did not move from its start, that
   ends with parameters on their bounds, or that did not converge raises
   :class:`~memfit.errors.FitError` saying which parameters and what to try;
   correlations above 0.98 are reported as unidentifiable pairs.
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from typing import Mapping, Sequence

import numpy as np

from memfit._threads import blas_serial
from memfit.errors import FitError, IntegrationError, ParameterError
from memfit.fitting.objective import FitData
from memfit.fitting.result import FitResult
from memfit.models.base import DeviceModel
from memfit.models.registry import get_model
from memfit.simulate.core import Simulator

#: Threshold above which a correlation marks an unidentifiable pair (pitfall 2).
CORRELATION_WARN = 0.98
_PENALTY = 1e3  # residual value used where a trial parameter set cannot be integrated


def _pname(name: str, d: int | None) -> str:
    return name if d is None else f"{name}__d{d}"


class _Problem:
    """Maps lmfit Parameters to model parameter rows and initial states per dataset; evaluates residuals."""

    def __init__(self, model: DeviceModel, data: list[FitData], vary: list[str], per_dataset: list[str],
                 fit_x0: list[str], method: str, rtol: float, max_steps: int):
        self.model = model
        self.data = data
        self.vary = vary
        self.per_dataset = per_dataset
        self.fit_x0 = fit_x0
        self.sims = [Simulator(model, d.stimulus, d.circuit, method=method, rtol=rtol, max_steps=max_steps)
                     for d in data]
        self.weights = np.array([d.weight for d in data])
        self.noise = np.ones(len(data))  # residual scatter per dataset (set by reweighting)
        self.reweighted = False
        self.nfev = 0
        # (P, X0, [per-dataset residual before weighting], [per-dataset simulation]) of the latest
        # residual(): least squares asks for the Jacobian at the point it has just evaluated, whose
        # row the Jacobian then reuses, and residual() itself is asked for that point again
        self._last: tuple | None = None
        self._layout_cache = None  # see _layout()
        self.x0_fixed: dict[str, float] = {}
        self.transforms: dict[str, tuple] = {}  # set by fit() from _build_params
        self.user_expr = True  # a user-given expr (other parameters' values through lmfit); set by fit()
        # a record that knows its initial state (a simulation, a generated example file) says so in meta["x0"]
        self.x0_data = [
            {k: float(v) for k, v in (fd.record.meta.get("x0") or {}).items() if k in model.state_names}
            for fd in data
        ]

    def value(self, pars, key: str) -> float:
        """The physical value of fitted quantity ``key``, computed from its internal variable.

        The same arithmetic as lmfit's expression (``10**v``, ``-10**v``, ``v*scale``) without
        its interpreter, which cost more than the integration in a fit's objective and Jacobian;
        a user's own ``expr`` for ``key`` is left to lmfit.  (Without user expressions memfit's own
        quantities carry no ``expr`` at all -- see :func:`_build_params` -- and their values come
        from here.)
        """
        tr = self.transforms.get(key)
        q = pars[key]
        if tr is None or (q.expr is not None and q.expr != tr[3]):
            return q.value
        iname, kind, scale, _ = tr
        return transform_value(kind, scale, pars[iname].value)

    def _layout(self):
        """(template P, slots, X0 overrides, fitted-x0 slots), built once: where each dataset's row
        takes its values from.  ``slots`` lists ``(d, k, key)`` of the fitted entries; the template
        holds the fixed ones."""
        if self._layout_cache is None:
            m = self.model
            nd = len(self.data)
            P = np.empty((nd, m.n_params))
            slots = []
            for d in range(nd):
                for k, name in enumerate(m.param_names):
                    key = _pname(name, d if name in self.per_dataset else None)
                    if key in self.transforms:  # a fitted quantity (every varied entry has one)
                        slots.append((d, k, key))
                        P[d, k] = np.nan
                    else:
                        P[d, k] = self.fixed[name]
            over = np.zeros((nd, m.n_states), dtype=bool)
            over_val = np.zeros((nd, m.n_states))
            for d in range(nd):
                for name, v in {**self.x0_data[d], **self.x0_fixed}.items():  # (names validated)
                    k = m.state_names.index(name)
                    over[d, k], over_val[d, k] = True, float(v)
            x0_slots = [(d, m.state_names.index(s), _pname(f"x0_{s}", d)) for d in range(nd) for s in self.fit_x0]
            self._layout_cache = (P, slots, over, over_val, x0_slots)
        return self._layout_cache

    def rows(self, pars) -> tuple[np.ndarray, np.ndarray]:
        """(P, X0): one model parameter row and one initial state per dataset.

        Raises :class:`ParameterError` when an initial state is not finite or lies outside its bounds
        (a trial step moved a state bound past it), with :meth:`DeviceModel.initial_state`'s message
        where it names the state.
        """
        m = self.model
        template, slots, over, over_val, x0_slots = self._layout()
        P = template.copy()
        values = {}  # a shared parameter's value is computed once for all datasets
        for d, k, key in slots:
            v = values.get(key)
            if v is None:
                v = values[key] = self.value(pars, key)
            P[d, k] = v
        # the initial states of all datasets at once (DeviceModel.initial_state, vectorized over d)
        X0 = np.where(over, over_val, m._state_table("initial", P))
        for d, k, key in x0_slots:
            X0[d, k] = self.value(pars, key)
        lo, hi = m.state_bounds(P)
        if not (np.isfinite(X0).all() and (X0 >= lo).all() and (X0 <= hi).all()):
            for d in range(len(self.data)):  # the model's own message
                m.initial_state(P[d], **{**self.x0_data[d], **self.x0_fixed})
            raise ParameterError(f"model {m.name!r}: an initial state is not finite or lies outside its bounds")
        return P, X0

    def _rows_or_none(self, pars):
        try:
            return self.rows(pars)
        except ParameterError:
            return None

    def scaled(self, r: np.ndarray, d: int) -> np.ndarray:
        """Weighted residual: balanced by point count in the first pass, by noise after reweighting.

        First pass: ``sqrt(w/n)`` so a dataset of many points does not drown a
        small one while the fit finds its way.  After reweighting: ``sqrt(w)/sigma_d``
        with ``sigma_d`` the dataset's own scatter -- the statistically proper
        weighting, which makes the covariance (and the standard errors) honest.
        """
        fd = self.data[d]
        if self.reweighted:
            return r * math.sqrt(self.weights[d]) / self.noise[d]
        return r * math.sqrt(self.weights[d] / fd.n)

    def residual(self, pars) -> np.ndarray:
        """The weighted residual vector of all datasets at ``pars``.

        The point evaluated last is not integrated again: lmfit re-evaluates the best point after
        least squares returns, and the reweighting and the reweighted pass start there (the
        residual before weighting is kept; only the weights change).
        """
        try:
            P, X0 = self.rows(pars)
        except ParameterError:  # a trial step moved a state bound past the recorded initial state
            self.nfev += 1
            return np.concatenate([self.scaled(np.full(fd.n, _PENALTY), d) for d, fd in enumerate(self.data)])
        if self._at_last(P, X0):
            raw = self._last[2]
        else:
            self.nfev += 1
            raw, outs = [], []
            for d, (fd, sim) in enumerate(zip(self.data, self.sims)):
                o = None
                try:
                    o, _ = sim.run(P[d], X0[d])
                    r = fd.residual_vector(o)
                except (IntegrationError, ParameterError):
                    r = np.full(fd.n, _PENALTY)
                raw.append(np.where(np.isfinite(r), r, _PENALTY))
                outs.append(o)
            self._last = (P, X0, raw, outs)
        return np.concatenate([self.scaled(r, d) for d, r in enumerate(raw)])

    def _at_last(self, P, X0) -> bool:
        """Whether residual() evaluated exactly the rows ``(P, X0)`` last."""
        last = self._last
        return last is not None and np.array_equal(P, last[0]) and np.array_equal(X0, last[1])

    def outputs(self, P, X0) -> list:
        """Each dataset's simulation at the rows ``(P, X0)`` (those of the last residual() when it
        evaluated them; ``None`` for a failed one there)."""
        if self._at_last(P, X0):
            return list(self._last[3])
        return [sim.run(P[d], X0[d])[0] for d, sim in enumerate(self.sims)]

    def _cached_base(self, rows_P) -> list | None:
        """The per-dataset residuals of the Jacobian's base rows ``rows_P[0]`` = (P, X0), if residual()
        last evaluated exactly them and each dataset's batch integrates its rows exactly as single
        runs (each row cut at its own switching thresholds: see
        :meth:`memfit.simulate.Simulator.batch_runs_as_single`; only a batch whose tables would
        exceed the budget shares one table, and mixing its rows with a single run's would add the
        integration error at the extra cuts to the finite differences)."""
        base = rows_P[0]
        if base is None or any(rp is None for rp in rows_P) or not self._at_last(*base):
            return None
        raw = self._last[2]
        for d, sim in enumerate(self.sims):  # (the batch that will run: the perturbed rows)
            if not sim.batch_runs_as_single(np.stack([rp[0][d] for rp in rows_P[1:]])):
                return None
        return raw

    @staticmethod
    def _unchanged(rows_P) -> np.ndarray:
        """(rows, datasets) bool: whether row ``j >= 1`` of the Jacobian gives dataset ``d`` the base
        row's parameters and initial state, bit for bit (False for row 0 and for rows that failed)."""
        nd = next((len(rp[0]) for rp in rows_P if rp is not None), 0)
        same = np.zeros((len(rows_P), nd), dtype=bool)
        base = rows_P[0]
        if base is None:
            return same
        for j in range(1, len(rows_P)):
            rp = rows_P[j]
            if rp is not None:
                same[j] = (rp[0] == base[0]).all(axis=1) & (rp[1] == base[1]).all(axis=1)
        return same

    def jacobian(self, pars, var_names: list[str], rel_step: float) -> np.ndarray:
        """Forward-difference Jacobian, all columns of a dataset in one parallel batch."""
        base = {n: pars[n].value for n in var_names}
        steps = []
        rows_P = [self._rows_or_none(pars)]
        for n in var_names:
            p = pars[n]
            v = p.value
            h = rel_step if n.startswith(("_l_", "_n_")) else rel_step * max(abs(v), 0.1)
            if v + h > p.max:
                h = -h
            p.value = v + h
            if self.user_expr:  # memfit's own expressions are evaluated by self.value, not lmfit
                pars.update_constraints()
            rows_P.append(self._rows_or_none(pars))
            p.value = v
            steps.append(h)
        if self.user_expr:
            pars.update_constraints()
        for n in var_names:
            pars[n].value = base[n]
        cols = []
        # the base point's residuals come from residual() when it just evaluated that point (it does
        # under least squares): one integration fewer per dataset, and one parallel round fewer
        base_raw = self._cached_base(rows_P)
        ok = [rp is not None for rp in rows_P]
        if base_raw is not None:
            ok[0] = False
        same = self._unchanged(rows_P)
        for d, (fd, sim) in enumerate(zip(self.data, self.sims)):
            R = np.full((len(rows_P), fd.n), _PENALTY)
            if base_raw is not None:
                R[0] = base_raw[d]
            # a row that leaves this dataset's parameters and initial state as they are (another
            # dataset's own parameter perturbed: fit_x0, per_dataset) is not integrated: its column
            # is zero here (R[j] = R[0] below).  A joint fit of 10 cycles with their initial states
            # fitted integrated 2.8x the rows it needed.
            run = np.flatnonzero(np.asarray(ok) & ~same[:, d])
            if run.size:
                P = np.stack([rows_P[j][0][d] for j in run])
                X0 = np.stack([rows_P[j][1][d] for j in run])
                try:
                    OUT, status = sim.run_batch(P, X0)
                except ParameterError:
                    OUT, status = None, np.ones(len(P), dtype=int)
                if OUT is not None:
                    done = status == 0
                    if done.all() and run[-1] - run[0] == run.size - 1:  # the common case: in place
                        fd.residual_matrix(OUT, R[run[0]:run[-1] + 1])
                    elif done.any():
                        R[run[done]] = fd.residual_matrix(OUT[done])
            if not np.isfinite(R).all():
                R[~np.isfinite(R)] = _PENALTY
            R[same[:, d]] = R[0]
            R *= self.scaled(1.0, d)
            R[1:] -= R[0]
            R[1:] /= np.asarray(steps)[:, None]
            cols.append(R[1:])
        self.nfev += sum(ok)
        return np.concatenate(cols, axis=1).T


@functools.lru_cache(maxsize=None)
def _minimizer_class():
    """lmfit's Minimizer with the standard errors of memfit's own expression parameters computed
    directly (lmfit is imported lazily, as everywhere in this module).

    A fitted quantity is an expression of one internal variable (``10**v``, ``-10**v`` or
    ``v*scale``, see :func:`_build_params`), so its first-order standard error is
    ``|d value / d v| stderr(v)``: what lmfit obtains by numerically differentiating each
    expression through its interpreter (the ``uncertainties`` package calling ``asteval``), which
    took ~15 % of a six-parameter fit.  The internal variables' errors and correlations are
    lmfit's own arithmetic (covariance scaled by the reduced chi-square).  With user expressions
    (``transforms=None``) lmfit does it all.
    """
    import lmfit

    class _Minimizer(lmfit.Minimizer):
        def __init__(self, *args, transforms=None, **kws):
            super().__init__(*args, **kws)
            self._transforms = transforms

        def _calculate_uncertainties_correlations(self):
            if self._transforms is None:
                return super()._calculate_uncertainties_correlations()
            res = self.result
            sync_transform_values(res.params, self._transforms)
            res.errorbars = True
            if self.scale_covar:
                res.covar *= res.redchi
            for par in res.params.values():
                par.stderr, par.correl = 0, None
            sd = np.sqrt(np.clip(np.diag(res.covar), 0.0, None))
            for i, name in enumerate(res.var_names):
                par = res.params[name]
                par.stderr = float(sd[i])
                res.errorbars = res.errorbars and par.stderr > 0.0
                par.correl = {n2: (float(res.covar[i, j] / (sd[i] * sd[j])) if sd[i] > 0 and sd[j] > 0 else math.nan)
                              for j, n2 in enumerate(res.var_names) if j != i}
            for key, (iname, kind, scale, expr) in self._transforms.items():
                par, ipar = res.params.get(key), res.params.get(iname)
                if par is None or ipar is None or not ipar.vary or ipar.stderr is None:
                    continue
                if par.expr and par.expr != expr:  # a user's own expression: lmfit's to propagate
                    continue
                slope = scale if kind == "" else math.log(10.0) * abs(par.value)  # |d value / d v|
                par.stderr = float(slope * ipar.stderr)

    return _Minimizer


def transform_value(kind: str, scale: float, v: float) -> float:
    """The physical value of an internal variable ``v``: ``10**v`` (``kind`` "pos"), ``-10**v``
    ("neg") or ``v * scale`` ("")."""
    if kind == "pos":
        return 10 ** v
    if kind == "neg":
        return -10 ** v
    return v * scale


def sync_transform_values(pars, transforms) -> None:
    """Set each of memfit's own quantities that carries no expression to the value of its internal
    variable (see :func:`_build_params`); a quantity with an expression is lmfit's to update."""
    for key, (iname, kind, scale, _) in transforms.items():
        q, iq = pars.get(key), pars.get(iname)
        if q is not None and iq is not None and not q.expr:
            q.value = transform_value(kind, scale, iq.value)


def attach_transform_exprs(pars, transforms) -> None:
    """Give memfit's own quantities their lmfit expressions (``10**v`` ...), for lmfit's own
    machinery (its uncertainty propagation, reports); their values follow."""
    attached = False
    for key, (_, _, _, expr) in transforms.items():
        q = pars.get(key)
        if q is not None and not q.expr:
            q.set(expr=expr)
            attached = True
    if attached:
        pars.update_constraints()


def problem_vars(pars) -> list[str]:
    """Names of the freely varied parameters (no constraint expression)."""
    return [n for n, q in pars.items() if q.vary and not q.expr]


#: prefixes of the optimizer's internal variables: linear-scaled, log10, log10 of the negated value
INTERNAL_PREFIXES = ("_s_", "_l_", "_n_")


def _internal(key: str, log: str) -> str:
    return {"": "_s_", "pos": "_l_", "neg": "_n_"}[log] + key


def _build_params(model: DeviceModel, data, vary, per_dataset, fit_x0, initial, fix, bounds, expr):
    """lmfit Parameters: O(1) internal variables, physical parameters as expressions of them.

    Every fitted quantity ``key`` gets an internal variable: ``_l_key =
    log10(value)`` for parameters declared ``log_scale`` (they span decades),
    ``_s_key = value / scale`` otherwise.  The physical parameter ``key``
    follows it, so reports, user constraints (``expr``) and uncertainties all
    speak physical units, while the optimizer sees well-scaled variables --
    SciPy's bounded least squares treats steps and feasibility margins in
    absolute terms and would otherwise move a 1e-14 m^2/(V s) mobility to
    1e-10 before the first evaluation.

    With user expressions, ``key`` is the lmfit expression of its internal
    variable (``10**_l_key`` ...), so that a user's ``expr`` can name it.
    Without, ``key`` is a plain non-varied parameter that memfit keeps in step
    (:func:`sync_transform_values`; the objective computes the values itself,
    :meth:`_Problem.value`): lmfit would otherwise parse every expression and
    re-evaluate it through its interpreter on each objective call -- ~10 % of
    a six-parameter fit.  The expression strings are kept in ``transforms``
    (:func:`attach_transform_exprs` puts them on).
    """
    import lmfit

    pars = lmfit.Parameters()
    nd = len(data)
    fixed = model.defaults()
    for name, value in (initial or {}).items():
        fixed[name] = model.parameter(name).check(value, model.name)
    for name, value in (fix or {}).items():
        fixed[name] = model.parameter(name).check(value, model.name)
    entries = []  # (key, start, lower, upper, log)
    for name in vary:
        q = model.parameter(name)
        lo, hi = q.lower, q.upper
        if bounds and name in bounds:
            lo, hi = map(float, bounds[name])
            if not (q.lower <= lo < hi <= q.upper):
                raise FitError(f"bounds for {name!r} must lie inside the physical range [{q.lower:g}, {q.upper:g}] "
                               f"{q.unit} with lower < upper, got {bounds[name]}")
        value = min(max(fixed[name], lo), hi)
        log = ""
        if q.log_scale and lo > 0:
            log = "pos"
        elif q.log_scale and hi < 0:
            log = "neg"  # e.g. VTEAM's k_on < 0: fit log10(-k_on)
        for d in (range(nd) if name in per_dataset else [None]):
            entries.append((_pname(name, d), value, lo, hi, log))
    p0 = model.params(fixed)
    slo, shi = model.state_bounds(p0)
    x0 = model.initial_state(p0)
    for s in fit_x0:
        if s not in model.state_names:
            raise FitError(f"fit_x0: model {model.name!r} has no state {s!r}; states: {model.state_names}")
        k = model.state_names.index(s)
        for d in range(nd):
            entries.append((_pname(f"x0_{s}", d), float(x0[k]), float(slo[k]), float(shi[k]), ""))
    transforms = {}  # key -> (internal name, kind, scale, expression): see _Problem.value
    for key, value, lo, hi, log in entries:
        iname = _internal(key, log)
        scale = 1.0
        if log == "pos":
            pars.add(iname, value=math.log10(value), min=math.log10(lo),
                     max=math.log10(hi) if math.isfinite(hi) else np.inf)
            e = f"10**{iname}"
        elif log == "neg":
            pars.add(iname, value=math.log10(-value), min=math.log10(-hi),
                     max=math.log10(-lo) if math.isfinite(lo) else np.inf)
            e = f"-10**{iname}"
        else:
            span = hi - lo
            scale = max(abs(value), 0.1 * span if math.isfinite(span) else 0.0, 1e-300)
            pars.add(iname, value=value / scale, min=lo / scale, max=hi / scale)
            e = f"{iname}*{scale!r}"
        transforms[key] = (iname, log, scale, e)
        if expr:
            pars.add(key, expr=e)
        else:
            pars.add(key, value=transform_value(log, scale, pars[iname].value), vary=False)
    for key, e in (expr or {}).items():
        if key not in pars or key.startswith(INTERNAL_PREFIXES):
            raise FitError(f"expr given for {key!r}, which is not a varied parameter; varied: "
                           f"{[k for k, *_ in entries]}")
        for iname in (_internal(key, "pos"), _internal(key, "neg"), _internal(key, "")):
            if iname in pars:
                pars[iname].set(vary=False)
        pars[key].set(expr=e)
    return pars, fixed, transforms


def fit(
    model: str | DeviceModel,
    data,
    *,
    vary: Sequence[str] | None = None,
    initial: Mapping[str, float] | None = None,
    fix: Mapping[str, float] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    expr: Mapping[str, str] | None = None,
    per_dataset: Sequence[str] = (),
    fit_x0: Sequence[str] = (),
    x0: Mapping[str, float] | None = None,
    kinds: Sequence[str] | None = None,
    residual: str | Sequence[str] | None = None,
    weights: Sequence[float] | None = None,
    reweight: bool = True,
    series_resistance: float | None = None,
    compliance: float | None = None,
    current_floor: float | None = None,
    global_method: str | None = None,
    method: str = "auto",
    rtol: float = 1e-9,
    max_nfev: int = 2000,
    max_steps: int = 2_000_000,
    labels: Sequence[str] | None = None,
) -> FitResult:
    """Fit a compact model to one or several measurements.

    Parameters
    ----------
    model : str or DeviceModel
        Registered model name or model.
    data : Record or sequence of Record
        Measurements (``memfit.data`` types) or simulations.  Several records
        make a joint fit.
    vary : sequence of str, optional
        Model parameters to fit (default: every non-integer parameter).
    initial : mapping, optional
        Start values (default: the model's published values).
    fix : mapping, optional
        Parameters held at a given value.
    bounds : mapping name -> (lower, upper), optional
        Fit bounds inside the physical bounds.
    expr : mapping, optional
        lmfit constraint expressions, e.g. ``{"R_off": "160 * R_on"}``.
    per_dataset : sequence of str
        Parameters fitted separately for each dataset (named ``name__d0`` ...).
    fit_x0 : sequence of str
        State variables whose initial value is fitted per dataset
        (``x0_<state>__d<k>``), e.g. the state at the start of each cycle.
    x0 : mapping, optional
        Known initial state values (all datasets), e.g. ``{"x": 0.0}`` after
        a full reset.  Otherwise a dataset whose metadata records its initial
        state (``meta["x0"]``, as simulations and memfit's example files do)
        starts there, and any other state at the model's default.
    kinds : sequence of {"iv", "pulse", "retention"}, optional
        Kind of each dataset (default: from its type / roles).
    residual : str or sequence, optional
        Residual rule per dataset (see :mod:`memfit.fitting.objective`).
    weights : sequence of float, optional
        Relative weight of each dataset (default 1).
    reweight : bool
        Second pass with each dataset weighted by its own residual scatter.
    series_resistance, compliance : float, optional
        Override the circuit from the metadata [Ohm], [A].
    current_floor : float, optional
        Current scale [A] of the log residual (default 1e-4 of the peak).
    global_method : {"differential_evolution", "basinhopping"}, optional
        Global search before the local least squares.
    method : {"auto", "dopri5", "sdirk4"}
        Integrator.
    rtol : float
        Integration tolerance; the finite-difference step is ``sqrt(rtol)``.
    max_nfev : int
        Budget of objective evaluations for the local stage.
    max_steps : int
        Integrator step budget per simulation.
    labels : sequence of str, optional
        Dataset names (default: the record's ``meta["name"]`` or ``d<k>``).

    Returns
    -------
    FitResult

    Raises
    ------
    FitError
        Bad arguments, no convergence, parameters stuck at bounds or at the
        start; the message names the parameters and what to try.
    """
    import lmfit

    t_start = time.perf_counter()
    model = get_model(model)
    records = [data] if hasattr(data, "frame") else list(data)
    if not records:
        raise FitError("fit() needs at least one dataset")
    nd = len(records)

    def per(arg, name):
        if arg is None or isinstance(arg, str):
            return [arg] * nd
        arg = list(arg)
        if len(arg) != nd:
            raise FitError(f"{name} has {len(arg)} entries for {nd} datasets")
        return arg

    kinds_ = per(kinds, "kinds")
    resid_ = per(residual, "residual")
    weights_ = per(weights, "weights") if weights is not None else [1.0] * nd
    labels_ = per(labels, "labels") if labels is not None else [
        str(r.meta.get("name") or r.meta.get("file") or f"d{k}") for k, r in enumerate(records)]
    fds = [FitData.build(r, labels_[k], kinds_[k], resid_[k], weights_[k], series_resistance, compliance,
                         current_floor) for k, r in enumerate(records)]
    if vary is None:
        vary = [q.name for q in model.parameters if not q.integer]
    vary = list(vary)
    for name in list(vary) + list(per_dataset):
        model.parameter(name)
    bad = [n for n in per_dataset if n not in vary]
    if bad:
        raise FitError(f"per_dataset parameters {bad} must also be in vary")
    overlap = set(vary) & set(fix or {})
    if overlap:
        raise FitError(f"parameters {sorted(overlap)} are both varied and fixed")
    pars, fixed, transforms = _build_params(model, fds, vary, list(per_dataset), list(fit_x0), initial, fix, bounds,
                                         expr)
    problem = _Problem(model, fds, vary, list(per_dataset), list(fit_x0), method, rtol, max_steps)
    problem.fixed = fixed
    problem.transforms = transforms
    problem.user_expr = bool(expr)
    if x0:
        model.initial_state(model.params(fixed), **x0)  # validates names and bounds
        clash = set(x0) & set(fit_x0)
        if clash:
            raise FitError(f"states {sorted(clash)} are both given in x0 and fitted (fit_x0)")
        problem.x0_fixed = dict(x0)
    pars.update_constraints()
    start = {n: p.value for n, p in pars.items() if not n.startswith(INTERNAL_PREFIXES)}
    rel_step = min(max(math.sqrt(rtol), 1e-6), 1e-2)

    def resid(p):
        return problem.residual(p)

    def jac(p):
        names = [n for n, q in p.items() if q.vary and not q.expr]
        return problem.jacobian(p, names, rel_step)

    if global_method is not None:
        if global_method not in ("differential_evolution", "basinhopping"):
            raise FitError(f"global_method must be 'differential_evolution' or 'basinhopping', got {global_method!r}")
        for n, p in pars.items():
            if p.vary and not p.expr and not (math.isfinite(p.min) and math.isfinite(p.max)):
                raise FitError(f"global search needs finite bounds; give bounds for {n!r}")

    # BLAS on one thread while numba's parallel kernels run (see memfit._threads: 5x on 2 cores)
    with blas_serial():
        stages = []
        if global_method is not None:
            mini = lmfit.Minimizer(resid, pars, nan_policy="omit")
            kws = {"seed": 0, "maxiter": 30, "polish": False} if global_method == "differential_evolution" else {}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                g = mini.minimize(method=global_method, **kws)
            pars = g.params
            stages.append(global_method)

        def local(p):
            # x_scale="jac": trust-region steps scaled by the Jacobian's column norms (More 1978). The internal
            # variables are already unit-free (log10 or value/scale), but their sensitivities still differ by
            # decades on thermal models: with lmfit's fixed x_scale=1 the VO2 fit to the measured PKU sweep took
            # 2460 evaluations (20 s) and ran out of any practical budget; with "jac" it converges in 193 (2 s).
            own = None if problem.user_expr else transforms
            mini = _minimizer_class()(resid, p, transforms=own)
            out = mini.minimize(method="least_squares", jac=jac, max_nfev=max_nfev, x_scale="jac")
            if own is not None:
                sync_transform_values(out.params, own)  # (also when lmfit computed no uncertainties)
            return out

        res = local(pars)
        stages.append("least_squares")
        if reweight and nd > 1:
            # weight each dataset by its own scatter, then polish: honest joint standard errors
            r = problem.residual(res.params)
            offs = np.cumsum([0] + [fd.n for fd in fds])
            for d, fd in enumerate(fds):
                seg = r[offs[d]:offs[d + 1]] / math.sqrt(problem.weights[d] / fd.n)
                dof = max(fd.n - len(problem_vars(res.params)) / nd, 1.0)
                problem.noise[d] = max(float(np.sqrt(np.sum(seg ** 2) / dof)), 1e-12)
            problem.reweighted = True
            res = local(res.params)
            stages.append("least_squares (reweighted)")
        wall = time.perf_counter() - t_start
        result = FitResult.from_lmfit(model, fds, res, problem, start, stages, wall, rtol=rtol, method=method)
        result.check(start)
    return result
