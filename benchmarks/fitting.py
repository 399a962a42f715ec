"""Fitting benchmarks: a joint fit against the same fit with a solve_ivp objective, and a population fit.

1. **Joint fit**: VTEAM with the Biolek window (9 parameters, 6 fitted) to two
   noisy I-V sweeps of 5,000 points each (1e4 points), started 20 % off the
   truth.  memfit's full fit (lmfit least squares, Numba integrator,
   parallel-batch Jacobian, reweighting pass) is timed.  The baseline is the
   same objective integrated by ``scipy.integrate.solve_ivp`` (LSODA,
   pure-Python right-hand side = the kernels' Python source, same circuit,
   same tolerance, same output times, the same step cap of 1/20 period;
   LSODA, RK45 and DOP853 are each timed on one evaluation and checked for
   accuracy, and the fastest accurate one is the baseline).  Then the same
   fit (memfit's ``fit()``, with the SciPy simulator swapped in for memfit's)
   is run in full, side by side.  Target: < 2 s and >= 50x.
2. **Population fit**: 1,000 simulated devices (log-normal device-to-device
   spread of R_off, 1 % noise, 200 points each), two parameters per device,
   with ``fit_population`` on all cores.  Target: < 120 s on 2 cores.
"""

from __future__ import annotations

import functools
import time

import numpy as np

from benchmarks._util import Headline, Table, fmt_time, measure

TRUE = dict(R_on=1e3, R_off=1e5, k_off=0.8, k_on=-3.0, v_off=0.3, v_on=-0.4, alpha_off=2.5, alpha_on=3.0)
VARY = ("R_on", "R_off", "k_off", "k_on", "v_off", "v_on")


def _joint_data(points_per_cycle: int, seed: int = 0):
    from memfit.simulate import simulate, sine_sweep

    rng = np.random.default_rng(seed)
    data = []
    for amp in (0.8, 1.0):
        s = simulate("vteam_biolek", sine_sweep(amplitude=amp, frequency=1.0, cycles=2,
                                                points_per_cycle=points_per_cycle), params=TRUE, x0={"x": 0.3})
        s.frame["i"] *= 1 + 0.01 * rng.standard_normal(len(s.frame))
        data.append(s)
    return data


#: solve_ivp methods tried for the SciPy objective; the fastest that reaches the accuracy is the baseline
SCIPY_METHODS = ("LSODA", "RK45", "DOP853")
#: largest step of the SciPy integrations, as a fraction of the sine period: memfit's own cap (and that of
#: the integrators benchmark).  Without it LSODA steps over the whole switching (the rate is zero below
#: the thresholds, where a sweep starts): 4 right-hand-side calls, the state never moves, 80-97 % error
#: (pitfall 4 of baselines_and_pitfalls.md).
SCIPY_MAX_STEP = 0.05


@functools.lru_cache(maxsize=None)
def _currents_loop(model):
    """A jitted loop of the model's current over output times, compiled once per model (the first
    call happens in the untimed method comparison, not inside the timed SciPy fit)."""
    from numba import njit

    cur = model.current

    @njit
    def currents(Y, V, p):
        out = np.empty(V.size)
        for k in range(V.size):
            out[k] = cur(Y[:, k], V[k], p)
        return out

    return currents


class _ScipySimulator:
    """memfit's :class:`~memfit.simulate.Simulator` interface (``run``, ``run_batch``,
    ``batch_runs_as_single``) on ``scipy.integrate.solve_ivp``: the SciPy side of the benchmark.

    The right-hand side is the model kernel's Python source (``rhs.py_func``); the source voltage is
    the stimulus' own formula evaluated per call in plain Python (``math.sin``, a bisection over the
    segments: ~1 us, where ``Stimulus.value`` costs ~10 us a scalar call); the currents at the output
    times are computed with the jitted model current, so that the timing is that of the integration.
    A batch is a loop of single runs, as a SciPy user's finite differences are.  Series circuit without
    resistance or compliance only (what the benchmark's data need).
    """

    def __init__(self, model, stimulus, circuit=None, method="auto", rtol=1e-8, atol=1e-10, max_steps=0, *,
                 solver="LSODA", **_):
        import bisect
        import math

        from memfit.simulate import stimulus as S

        if circuit is not None and (circuit.as_array() != type(circuit)().as_array()).any():
            raise ValueError("the SciPy side of the benchmark handles a plain series circuit only")
        # (``method`` is memfit's integrator choice, passed by fit(): the SciPy method is ``solver``)
        self.model, self.stimulus, self.rtol, self.atol, self.solver = model, stimulus, rtol, atol, solver
        seg = stimulus.segments
        t0s = list(seg[:, S.SEG_T0])
        rows = [tuple(float(v) for v in r) for r in seg]

        def source(t):
            s = rows[max(bisect.bisect_right(t0s, t) - 1, 0)]
            dt = t - s[S.SEG_T0]
            if s[S.SEG_KIND] == S.KIND_SINE:
                return s[S.SEG_A] + s[S.SEG_B] * math.sin(2.0 * math.pi * s[S.SEG_C] * dt + s[S.SEG_D])
            return s[S.SEG_A] + (s[S.SEG_B] - s[S.SEG_A]) * dt / (s[S.SEG_T1] - s[S.SEG_T0])

        self.source = source
        self.rhs = getattr(model.rhs, "py_func", model.rhs)
        self.currents = _currents_loop(model)
        self.v = stimulus.value()
        seg_t = seg[:, S.SEG_T1] - seg[:, S.SEG_T0]
        periods = [1.0 / r[S.SEG_C] for r in rows if r[S.SEG_KIND] == S.KIND_SINE and r[S.SEG_C] > 0]
        self.max_step = SCIPY_MAX_STEP * (min(periods) if periods else float(seg_t.max()))
        self.nfev = 0

    def run(self, p, x0=None):
        from scipy.integrate import solve_ivp

        from memfit.simulate._kernels import circuit as C

        p = np.asarray(p, dtype=float)
        x0 = self.model.initial_state(p) if x0 is None else np.asarray(x0, dtype=float)
        rhs, source = self.rhs, self.source
        n = x0.size

        def f(t, y):
            d = np.empty(n)
            rhs(y, source(t), t, p, d)
            return d

        t = self.stimulus.t
        sol = solve_ivp(f, (t[0], t[-1]), x0, method=self.solver, t_eval=t, rtol=self.rtol, atol=self.atol,
                        max_step=self.max_step)
        self.nfev += sol.nfev
        out = np.full((t.size, C.N_OUT), np.nan)
        if not sol.success or sol.y.shape[1] != t.size:
            return out, None
        out[:, C.O_VDEV] = out[:, C.O_VTERM] = self.v
        out[:, C.O_I] = out[:, C.O_PORT] = self.currents(np.ascontiguousarray(sol.y), self.v, p)
        out[:, C.O_COMP] = 0.0
        return out, sol.y.T

    def run_batch(self, P, X0=None):
        runs = [self.run(P[k], None if X0 is None else X0[k])[0] for k in range(len(P))]
        out = np.stack(runs)
        return out, np.where(np.isnan(out[:, :, 1]).any(axis=1), 1, 0)

    def batch_runs_as_single(self, P):
        return True


def _joint(opts, rows: Table) -> list[Headline]:
    from unittest import mock

    from memfit.fitting import core as fit_core
    from memfit.fitting import fit
    from memfit.fitting.objective import FitData
    from memfit.models import get_model
    from memfit.simulate import Simulator

    ppc = 250 if opts.smoke else 2500
    data = _joint_data(ppc)
    n_points = sum(len(d) for d in data)
    start = {k: TRUE[k] * 1.2 for k in VARY}
    fixed = {"alpha_off": TRUE["alpha_off"], "alpha_on": TRUE["alpha_on"]}
    rtol = 1e-8

    def run():
        return fit("vteam_biolek", data, vary=list(VARY), initial=start, fix=fixed, rtol=rtol)

    # a fit takes ~70 ms: the median of several (one run swung by 15 % on a shared VM)
    t_fit = measure(run, repeats=1 if opts.smoke else max(5, opts.repeats or 7), warmup=1)
    res = t_fit.result
    t_guard = _blas_guard(run, opts)
    model = get_model("vteam_biolek")
    p = model.params({**TRUE})
    x0 = np.array([0.3])
    fds = [FitData.build(d, "d") for d in data]
    # one objective evaluation of each, side by side, at the true parameters; accuracy against rtol 1e-12
    sims = [Simulator(model, fd.stimulus, rtol=rtol) for fd in fds]
    ref = [Simulator(model, fd.stimulus, rtol=1e-12).run(p, x0)[0][:, 1] for fd in fds]

    def err(outs):
        return max(float(np.max(np.abs(o[:, 1] - r)) / np.max(np.abs(r))) for o, r in zip(outs, ref))

    def memfit_call():
        return np.concatenate([fd.residual_vector(s.run(p, x0)[0]) for fd, s in zip(fds, sims)])

    t_mem = measure(memfit_call, repeats=opts.repeats or 5, min_time=0.0 if opts.smoke else 0.3)
    e_mem = err([s.run(p, x0)[0] for s in sims])
    cand = Table("Fitting: the SciPy objective (solve_ivp, pure-Python right-hand side), one evaluation at the "
                 "true parameters", ["solve_ivp method", "evaluation", "RHS calls", "max rel. current error",
                                     "vs memfit"])
    cand.add(f"memfit Simulator.run (dopri5), rtol {rtol:g}", fmt_time(t_mem.median), "-", f"{e_mem:.1e}", "1x")
    best = None
    for meth in SCIPY_METHODS:
        ssims = [_ScipySimulator(model, fd.stimulus, rtol=rtol, solver=meth) for fd in fds]
        outs = [s.run(p, x0)[0] for s in ssims]  # (compiles the current loop)
        for s in ssims:
            s.nfev = 0
        t = measure(lambda: [s.run(p, x0) for s in ssims], repeats=1 if opts.smoke else 3, warmup=0)
        calls = sum(s.nfev for s in ssims) // len(t.times)
        e = err(outs)
        ok = e < 1e-5
        cand.add(f"{meth}, rtol {rtol:g}, max_step {SCIPY_MAX_STEP:g} period", fmt_time(t.median), calls,
                 f"{e:.1e}" + ("" if ok else " (inaccurate: not used)"), f"{t.median / t_mem.median:.3g}x")
        if ok and (best is None or t.median < best[1]):
            best = (meth, t.median)
    cand.note("max rel. current error: against memfit at rtol 1e-12, over both sweeps; the fastest accurate "
              "method is the baseline of the fit below")
    cand.print()
    if best is None:
        raise RuntimeError("no solve_ivp method reached the accuracy of the fit")
    # the same fit (memfit's fit(): same parameterization, optimizer, steps and reweighting) with the
    # SciPy simulator in place of memfit's
    with mock.patch.object(fit_core, "Simulator", functools.partial(_ScipySimulator, solver=best[0])):
        t_sci = measure(run, repeats=1, warmup=0)
    sres = t_sci.result
    nfev, snfev = res.info["nfev"], sres.info["nfev"]
    recovered = all(abs(res.values[k] - TRUE[k]) < 3 * res.stderr[k] for k in VARY)
    same = max(abs(sres.values[k] - res.values[k]) / res.stderr[k] for k in VARY)
    rows.add("joint fit, 6 of 9 parameters, 2 sweeps", n_points, f"{nfev} / {snfev}", fmt_time(t_fit.median),
             fmt_time(t_sci.median), f"{t_sci.median / t_fit.median:.3g}x", "yes" if recovered else "NO")
    rows.add(f"  one objective evaluation (SciPy: {best[0]})", n_points, "1", fmt_time(t_mem.median),
             fmt_time(best[1]), f"{best[1] / t_mem.median:.3g}x", "")
    rows.note("both fits run in full, side by side: memfit's fit() as is, and with the SciPy simulator in place "
              f"of memfit's (solve_ivp {best[0]}, the fastest accurate method above; its Jacobian rows one "
              "after another)")
    rows.note(f"evals = objective evaluations (memfit / SciPy); the two fits' parameters differ by at most "
              f"{same:.2g} standard errors")
    rows.note("recovered = every true value within 3 standard errors")
    if t_guard is not None:
        rows.note(f"with BLAS on {t_guard[0]} threads (a notebook's default, where this run pins one): the joint fit "
                  f"takes {fmt_time(t_guard[2])} as is, {fmt_time(t_guard[1])} without memfit's BLAS guard "
                  f"(memfit._threads; {t_guard[1] / t_guard[2]:.2g}x)")
    return [
        Headline("joint fit wall time vs 2 s target (target/actual)", 2.0 / t_fit.median, 1.0,
                 f"{fmt_time(t_fit.median)} for {n_points} points, {len(VARY)} parameters"),
        Headline("joint fit vs same fit with a solve_ivp objective", t_sci.median / t_fit.median, 50.0,
                 f"both run; SciPy: {best[0]}, {fmt_time(t_sci.median)}"),
    ]


def _blas_guard(run, opts):
    """(BLAS threads, fit time without memfit's BLAS guard, with it), BLAS raised to all cores for the
    measurement (the benchmark pins it to one); None on one core or without threadpoolctl."""
    import contextlib
    from unittest import mock

    from memfit.fitting import core as fit_core

    from benchmarks._util import cpu_counts

    n = cpu_counts()[1]
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    if n < 2:
        return None
    reps = 1 if opts.smoke else 3
    with threadpool_limits(limits=n, user_api="blas"):
        with mock.patch.object(fit_core, "blas_serial", contextlib.nullcontext):
            t_off = measure(run, repeats=reps, warmup=0).median
        t_on = measure(run, repeats=reps, warmup=0).median
    return n, t_off, t_on


def _population(opts, rows: Table) -> list[Headline]:
    from memfit.fitting import fit_population
    from memfit.simulate import simulate, sine_sweep

    from benchmarks._util import cpu_counts

    n = 20 if opts.smoke else 1000
    rng = np.random.default_rng(1)
    stim = sine_sweep(amplitude=1.2, frequency=1.0, cycles=1, points_per_cycle=200)
    r_off = 16e3 * np.exp(0.1 * rng.standard_normal(n))
    t0 = time.perf_counter()
    data = []
    for k in range(n):
        s = simulate("biolek2009", stim, params={"R_off": r_off[k]})
        s.frame["i"] *= 1 + 0.01 * rng.standard_normal(len(s.frame))
        data.append(s)
    t_gen = time.perf_counter() - t0
    workers = max(1, cpu_counts()[1])
    t0 = time.perf_counter()
    res = fit_population("biolek2009", data, vary=["R_off", "mu_v"], workers=workers, progress=False)
    wall = time.perf_counter() - t0
    ok = int(res.table["success"].sum())
    st = res.statistics().loc["R_off"]
    rows.add(f"population fit, {n} devices x 200 points", n, workers, fmt_time(wall), fmt_time(wall / n * workers),
             f"{n / wall:.3g}/s", f"{ok}/{n} ok")
    rows.note(f"population: generating the data took {t_gen:.1f} s (not counted); R_off spread recovered: "
              f"log-sd {st['scale']:.4f} vs 0.1 drawn ({st['distribution']})")
    return [Headline(f"population fit of {n} devices vs 120 s target (target/actual)", 120.0 / wall, 1.0,
                     f"{wall:.1f} s on {workers} worker(s)")]


def run(opts) -> list[Headline]:
    t = Table("Fitting: joint fit vs a solve_ivp objective", ["case", "points", "evals", "memfit", "SciPy",
                                                              "ratio", "recovered"])
    heads = _joint(opts, t)
    t.print()
    p = Table("Fitting: population", ["case", "devices", "workers", "wall", "per device/worker", "throughput",
                                      "fits"])
    heads += _population(opts, p)
    p.print()
    return heads
