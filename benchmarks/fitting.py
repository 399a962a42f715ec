"""Fitting benchmarks: a joint fit against the same fit with a solve_ivp objective, and a population fit.

1. **Joint fit**: VTEAM with the Biolek window (9 parameters, 6 fitted) to two
   noisy I-V sweeps of 5,000 points each (1e4 points), started 20 % off the
   truth.  memfit's full fit (lmfit least squares, Numba integrator,
   parallel-batch Jacobian, reweighting pass) is timed.  The baseline is the
   same objective integrated by ``scipy.integrate.solve_ivp`` (LSODA,
   pure-Python right-hand side = the kernels' Python source, same circuit,
   same tolerance, same output times); one objective evaluation of each is
   timed side by side and the baseline fit time is that per-call cost times
   the number of evaluations memfit's fit needed (a full SciPy-objective fit
   would take minutes; the extrapolation is printed as such).
   Target: < 2 s and >= 50x.
2. **Population fit**: 1,000 simulated devices (log-normal device-to-device
   spread of R_off, 1 % noise, 200 points each), two parameters per device,
   with ``fit_population`` on all cores.  Target: < 120 s on 2 cores.
"""

from __future__ import annotations

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


def _scipy_objective(model, data, rtol):
    """The same residual as memfit's first pass, integrated with solve_ivp(LSODA) and a Python RHS."""
    from scipy.integrate import solve_ivp

    from memfit.fitting.objective import FitData

    rhs = getattr(model.rhs, "py_func", model.rhs)
    cur = getattr(model.current, "py_func", model.current)
    fds = [FitData.build(d, f"d{k}") for k, d in enumerate(data)]

    def objective(p, x0):
        out = []
        for fd in fds:
            stim = fd.stimulus
            t = stim.t

            def f(tt, y):
                v = float(stim.value(np.array([tt]))[0])
                d = np.empty(1)
                rhs(y, v, tt, p, d)
                return d

            sol = solve_ivp(f, (t[0], t[-1]), x0, method="LSODA", t_eval=t, rtol=rtol, atol=1e-10)
            v = stim.value()
            i = np.array([cur(sol.y[:, k], v[k], p) for k in range(t.size)])
            o = np.zeros((t.size, 5))
            o[:, 1] = i
            o[:, 2] = v
            out.append(fd.residual_vector(o) * np.sqrt(1.0 / fd.n))
        return np.concatenate(out)

    return objective


def _joint(opts, rows: Table) -> list[Headline]:
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

    t_fit = measure(run, repeats=1 if opts.smoke else max(1, (opts.repeats or 3) // 2), warmup=1)
    res = t_fit.result
    model = get_model("vteam_biolek")
    p = model.params({**TRUE})
    x0 = np.array([0.3])
    # one objective evaluation of each, side by side
    sims = [Simulator(model, FitData.build(d, "d").stimulus, rtol=rtol) for d in data]
    fds = [FitData.build(d, "d") for d in data]

    def memfit_call():
        return np.concatenate([fd.residual_vector(s.run(p, x0)[0]) for fd, s in zip(fds, sims)])

    scipy_obj = _scipy_objective(model, data, rtol)
    t_mem = measure(memfit_call, repeats=opts.repeats or 5, min_time=0.0 if opts.smoke else 0.3)
    t_sci = measure(lambda: scipy_obj(p, x0), repeats=1 if opts.smoke else 2, warmup=0)
    nfev = res.info["nfev"]
    sci_fit = t_sci.median * nfev
    recovered = all(abs(res.values[k] - TRUE[k]) < 3 * res.stderr[k] for k in VARY)
    rows.add("joint fit, 6 of 9 parameters, 2 sweeps", n_points, nfev, fmt_time(t_fit.median), fmt_time(sci_fit),
             f"{sci_fit / t_fit.median:.3g}x", "yes" if recovered else "NO")
    rows.add("  one objective evaluation", n_points, 1, fmt_time(t_mem.median), fmt_time(t_sci.median),
             f"{t_sci.median / t_mem.median:.3g}x", "")
    rows.note("SciPy fit time = (one solve_ivp LSODA objective evaluation, timed) x (evaluations memfit's fit used); "
              "running that fit in full would take minutes")
    rows.note("recovered = every true value within 3 standard errors")
    return [
        Headline("joint fit wall time vs 2 s target (target/actual)", 2.0 / t_fit.median, 1.0,
                 f"{fmt_time(t_fit.median)} for {n_points} points, {len(VARY)} parameters"),
        Headline("joint fit vs same fit with a solve_ivp objective", sci_fit / t_fit.median, 50.0,
                 "SciPy side extrapolated from a timed evaluation"),
    ]


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
