"""Every registered model under its own default stimulus: memfit vs solve_ivp at comparable accuracy.

For each model the default stimulus (what ``memfit simulate --model NAME``
runs) is integrated three times:

* memfit (``method="auto"``: SDIRK4 for models flagged stiff, Dormand-Prince
  otherwise) at rtol 1e-8, timed (median of repeats, after compilation);
* ``scipy.integrate.solve_ivp`` with the same right-hand side as plain
  Python (the kernels' own Python source), Radau for stiff models and LSODA
  otherwise, at rtol 1e-8, segment by segment (it must restart at every
  breakpoint as memfit does), timed once;
* a tight reference: solve_ivp Radau at rtol 1e-11.

Both errors are the max relative difference of the state trajectory from the
reference (over the states' ranges), so the speed ratio is read next to the
accuracy each reached.  Only the device ODE is compared: the models' default
stimuli need no series resistor, so the port quantity is algebraic.  A
solve_ivp run that needs more than its evaluation budget is reported as such.
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks._util import Headline, Table, fmt_err, fmt_time, measure


class _Budget(Exception):
    pass


def _scipy(model, stim, p, x0, method, rtol, max_fev):
    from scipy.integrate import solve_ivp

    from memfit.simulate.stimulus import SEG_MODE, SEG_T0, SEG_T1

    rhs = getattr(model.rhs, "py_func", model.rhs)
    cur = getattr(model.current, "py_func", model.current)
    lo, hi = model.state_bounds(p)
    scale = np.where(np.isfinite(hi - lo) & (hi > lo), hi - lo, np.maximum(np.abs(x0), 1.0))
    seg = stim.segments
    k_seg = stim.segment_index()
    y = np.array(x0, float)
    X = np.empty((stim.t.size, y.size))
    nfev = [0]
    for s in range(seg.shape[0]):
        ta, tb = seg[s, SEG_T0], seg[s, SEG_T1]
        if seg[s, SEG_MODE] != 0.0 and model.port == "i(v)":
            raise _Budget("current-driven i(v) segments need a port solve (not compared)")

        def f(t, yy, s=s):
            nfev[0] += 1
            if nfev[0] > max_fev:
                raise _Budget(f"more than {max_fev} evaluations")
            u = float(stim.value(np.array([min(t, tb - 1e-15 * max(tb, 1.0))]))[0])
            d = np.empty_like(yy)
            rhs(np.clip(yy, lo, hi), u, t, p, d)
            return d

        idx = np.nonzero((k_seg == s) & (stim.t < tb))[0]
        sol = solve_ivp(f, (ta, tb), y, method=method, rtol=rtol, atol=1e-10 * scale, dense_output=True)
        if not sol.success:
            raise _Budget(sol.message)
        for k in idx:
            X[k] = sol.sol(stim.t[k]) if stim.t[k] > ta else y
        y = np.clip(sol.y[:, -1], lo, hi)
    X[stim.t >= seg[-1, SEG_T1]] = y
    _ = cur  # the port is algebraic for these stimuli
    return X, nfev[0]


#: Voltage-driven stand-ins for models whose default stimulus forces the current (the SciPy side would need the
#: port solve inside its right-hand side, which memfit does and a plain solve_ivp RHS does not).
VOLTAGE_STIMULUS = {"vo2_demirkol2022": "triangle(vmax=8, vmin=0, f=1000, cycles=2)"}


def run(opts) -> list[Headline]:
    from memfit.models import available_models, get_model
    from memfit.simulate import parse_stimulus, simulate

    names = available_models()
    if opts.smoke:
        names = names[:3]
    tab = Table("Models: default stimulus, memfit vs solve_ivp (rtol 1e-8 both)",
                ["model", "stiff", "points", "memfit", "err memfit", "solve_ivp", "err scipy", "ratio"])
    heads = []
    ratios = []
    for name in names:
        m = get_model(name)
        stim = parse_stimulus(VOLTAGE_STIMULUS.get(name, m.default_stimulus))
        p = m.params()
        x0 = m.initial_state(p)
        lo, hi = m.state_bounds(p)
        scale = np.where(np.isfinite(hi - lo) & (hi > lo), hi - lo, np.maximum(np.abs(x0), 1.0))
        t_mem = measure(lambda: simulate(m, stim, rtol=1e-8), repeats=1 if opts.smoke else (opts.repeats or 3))
        sim = t_mem.result
        xs_mem = sim.frame[m.state_names].to_numpy()
        method = "Radau" if m.stiff else "LSODA"
        budget = 200_000 if opts.smoke else 2_000_000
        try:
            t0 = time.perf_counter()
            xs_sci, nfev = _scipy(m, stim, p, x0, method, 1e-8, budget)
            t_sci = time.perf_counter() - t0
            ref, _ = _scipy(m, stim, p, x0, "Radau", 1e-11, 4 * budget)
            err_mem = float(np.max(np.abs(xs_mem - ref) / scale))
            err_sci = float(np.max(np.abs(xs_sci - ref) / scale))
            ratio = t_sci / t_mem.median
            ratios.append(ratio)
            tab.add(name, "yes" if m.stiff else "no", len(stim), fmt_time(t_mem.median), fmt_err(err_mem),
                    f"{fmt_time(t_sci)} ({method})", fmt_err(err_sci), f"{ratio:.3g}x")
        except _Budget as exc:
            tab.add(name, "yes" if m.stiff else "no", len(stim), fmt_time(t_mem.median), "-", f"({exc})", "-", "-")
    tab.note("vo2_demirkol2022 is driven by its voltage stand-in " + VOLTAGE_STIMULUS["vo2_demirkol2022"]
             + " (its default is a current sweep)")
    tab.note("errors: max |x - x_ref| / state range, x_ref = solve_ivp Radau at rtol 1e-11; the solve_ivp run is "
             "timed once (it takes seconds), memfit is the median of repeats after compilation")
    tab.print()
    if ratios:
        heads.append(Headline(f"models' default stimuli, median speed-up over solve_ivp ({len(ratios)} models)",
                              float(np.median(ratios)), None, f"min {min(ratios):.3g}x, max {max(ratios):.3g}x"))
    return heads
