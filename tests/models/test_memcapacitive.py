"""Memcapacitive models: Biolek/Di Ventra/Pershin 2013 C.1 and C.4, Schroedter 2023 pseudo-memcapacitor.

Truth from outside the code: closed forms (C.1 under a sine; C.4 half-cycle
swing), the listings' formulas re-typed here, SciPy Radau references
(rtol 1e-10) written in this file, and the numbers of the papers' figures.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad, solve_ivp
from scipy.optimize import brentq

from memfit.errors import ParameterError
from memfit.models import get_model
from memfit.models.memcapacitive import draw_parameters
from memfit.simulate import arbitrary, pulse_train, simulate, simulate_batch, sine_sweep
from tests.reference import py

C1 = "biolek2013_memcapacitor_ideal"
C4 = "biolek2013_memcapacitor"
MNT = "schroedter2023_memcapacitor"


# ----------------------------------------------------------------------------- the listings' formulas
def stps(u, b):
    """Listing: 1/(1 + exp(-u/b)), written overflow-free."""
    return 0.5 * (1.0 + np.tanh(0.5 * u / b))


def abss(u, b):
    return u * (stps(u, b) - stps(-u, b))


def f_listing(v, beta, vt, b1):
    return beta * (v - 0.5 * (abss(v + vt, b1) - abss(v - vt, b1)))


def rate_c4(x, v, p):
    """Listing's f W, times memfit's documented guard stps(d - 30 b2, b2) towards the limit the rate points to."""
    lo, hi, b1, b2 = p["Clow"], p["Chigh"], p["b1"], p["b2"]
    w = stps(v, b1) * stps(1 - x / hi, b2) + stps(-v, b1) * stps(x / lo - 1, b2)
    r = f_listing(v, p["beta"], p["Vt"], b1) * w
    d = (1 - x / hi) if r > 0 else (x / lo - 1)
    return r * stps(d - 30 * b2, b2)


def sharp_swing(v0, vt, w):
    """Integral of the unsmoothed f / beta over one half period of v0 sin(wt) [V s] (Biolek 2013 eq. 50)."""
    if v0 <= vt:
        return 0.0
    t1 = math.asin(vt / v0)
    return 2 * v0 * math.cos(t1) / w - vt * (math.pi - 2 * t1) / w


def smooth_swing(v0, f, p):
    """Integral of the listing's smoothed f over one positive half period [F] (quadrature)."""
    w = 2 * math.pi * f
    ta = math.asin(min(p["Vt"] / v0, 1.0)) / w if v0 > p["Vt"] else 0.25 / f
    g = lambda t: f_listing(v0 * math.sin(w * t), p["beta"], p["Vt"], p["b1"])  # noqa: E731
    return quad(g, 0, 0.5 / f, points=[ta, 0.5 / f - ta], limit=400, epsabs=0, epsrel=1e-12)[0]


def lobe_area(v, q):
    """Sum of the two lobe areas of the last cycle of a 2-cycle sine run (each half cycle is a closed curve)."""
    n = len(v) - 1
    area = 0.0
    for a, b in ((n // 2, 3 * n // 4), (3 * n // 4, n)):
        vv, qq = v[a:b + 1], q[a:b + 1]
        area += 0.5 * abs(np.sum(vv[:-1] * qq[1:] - vv[1:] * qq[:-1]))
    return area


def rel_err(a, b, floor=1e-3):
    a, b = np.asarray(a), np.asarray(b)
    mask = np.abs(b) > floor * np.max(np.abs(b))
    return float(np.max(np.abs(a[mask] - b[mask]) / np.abs(b[mask])))


def assert_current(i_sim, i_ref, rel=1e-6, floor=5e-8):
    """|di| <= rel |i| + floor max|i|.

    The ideal-source current is the chain rule Q_x dx/dt + Q_V dV/dt, whose partial derivatives the shared
    circuit kernel takes by one-sided finite differences (rounding ~1.5e-8 of each term, so a few 1e-8 of the
    peak current where the two terms cancel); and in saturation the creep rate in the guard's logistic tail
    depends on x on the scale b2 C (ill-conditioned, but < 1e-4 of the peak current).
    """
    i_sim, i_ref = np.asarray(i_sim), np.asarray(i_ref)
    err = np.abs(i_sim - i_ref)
    bound = rel * np.abs(i_ref) + floor * np.max(np.abs(i_ref))
    assert np.all(err <= bound), f"worst current error {np.max(err / bound):.2f} x the bound"
    assert rel_err(i_sim, i_ref, floor=0.05) <= rel


# ------------------------------------------------------------------------------------ declarations
@pytest.mark.nojit
def test_defaults_are_the_listing_values_and_alias():
    assert get_model("memcapacitor").name == C4
    assert get_model(C4).defaults() == {"Clow": 1e-12, "Chigh": 100e-12, "Cinit": 50e-12, "beta": 70e-6, "Vt": 3.0,
                                        "b1": 10e-3, "b2": 1e-6}
    assert get_model(C1).defaults() == {"Clow": 1e-12, "Chigh": 100e-12, "Cini": 2e-12, "k": 100.0}
    d = get_model(MNT).defaults()
    netlist = {"I_cc": 1e-3, "I_on": 1e-6, "I_off": 100e-9, "a_on": 4.0, "a_off": 2.0, "eta_s": 250.0, "eta_r": 100.0,
               "V_s": 0.5, "V_r": -0.5, "C_par": 5e-12, "C_gs": 45e-12, "R_par": 200e6, "R_ser": 10.0}
    assert {k: d[k] for k in netlist} == netlist
    for name in (C1, C4, MNT):
        assert get_model(name).port == "q(v)"
    # the kernels are the listing's formulas (pure Python evaluation)
    m = get_model(C4)
    p, pd_ = m.params(), m.defaults()
    dx = np.empty(1)
    for x in (1.5e-12, 50e-12, 99e-12):
        for v in (-4.0, -3.01, -1.0, 0.0, 2.9, 3.05, 4.0):
            py(m.rhs)(np.array([x]), v, 0.0, p, dx)
            assert dx[0] == pytest.approx(rate_c4(x, v, pd_), rel=1e-12, abs=1e-30)
            assert py(m.current)(np.array([x]), v, p) == x * v


# ------------------------------------------------------------------------------------------- C.1
@pytest.mark.parametrize("method", ["dopri5", "sdirk4"])
def test_c1_matches_the_closed_form_under_a_sine(method):
    """q = C(phi) V with phi = V0 (1 - cos wt)/w; i = C'(phi) V^2 + C dV/dt (listing drive: 1 V, 10 Hz)."""
    m = get_model(C1)
    p = m.defaults()
    v0, f = 1.0, 10.0
    w = 2 * np.pi * f
    stim = sine_sweep(amplitude=v0, frequency=f, cycles=2, points_per_cycle=400)
    sim = simulate(C1, stim, method=method, rtol=1e-10)
    t = stim.t
    a = (p["Chigh"] - p["Cini"]) / (p["Cini"] - p["Clow"])
    phi = v0 * (1 - np.cos(w * t)) / w
    e = a * np.exp(-4 * p["k"] * phi)
    c = p["Clow"] + (p["Chigh"] - p["Clow"]) / (e + 1)
    dc = (p["Chigh"] - p["Clow"]) * 4 * p["k"] * e / (e + 1) ** 2
    v, dv = v0 * np.sin(w * t), v0 * w * np.cos(w * t)
    np.testing.assert_allclose(sim["phi_int"], phi, rtol=0, atol=1e-9 * phi.max())
    assert rel_err(sim["q"], c * v) <= 1e-7
    # The current on an ideal source is the chain rule Q_phi dphi/dt + Q_V dV/dt, whose partial derivatives the
    # shared circuit kernel takes by one-sided finite differences: ~1e-6 relative for this steep C(phi), whatever
    # the tolerance (1.4e-6 seen; 3.3e-6 for the meminductor L.1).  The same formula with exact derivatives at the
    # simulated state is at solver tolerance.
    assert rel_err(sim.i, dc * v * v + c * dv) <= 1e-5
    ph = sim["phi_int"].to_numpy()
    e2 = a * np.exp(-4 * p["k"] * ph)
    i_exact = (p["Chigh"] - p["Clow"]) * (4 * p["k"] * e2 / (e2 + 1) ** 2 * v * v + dv / (e2 + 1)) + p["Clow"] * dv
    assert rel_err(i_exact, dc * v * v + c * dv) <= 1e-8
    # published behaviour (Fig. 12): hard switching from Cini = 2 pF to ~Chigh and back every period
    cap = sim["q"].to_numpy()[np.abs(v) > 0.1] / v[np.abs(v) > 0.1]
    assert cap.min() == pytest.approx(2e-12, rel=1e-3) and cap.max() > 0.999 * p["Chigh"]


def test_c1_pinched_loop_shrinks_with_frequency():
    areas = []
    for f in (10.0, 20.0, 40.0, 80.0):
        stim = sine_sweep(amplitude=1.0, frequency=f, cycles=2, points_per_cycle=400)
        sim = simulate(C1, stim)
        v, q = stim.value(), sim["q"].to_numpy()
        zero = np.abs(v) <= 1e-12 * np.max(np.abs(v))  # the sine's zero crossings (sin(pi) = 1.2e-16)
        assert zero.sum() >= 4 and np.all(np.abs(q[zero]) <= 1e-12 * np.max(np.abs(q)))  # pinched at V = 0
        areas.append(lobe_area(v, q))
    assert all(a > b for a, b in zip(areas, areas[1:])), areas
    assert areas[-1] < 0.2 * areas[0]


# ------------------------------------------------------------------------------------------- C.4
def _c4_reference_ideal(stim, v0, f, p, x0):
    """Radau (rtol 1e-10) of dx/dt = rate_c4(x, V0 sin wt); i = x dV/dt + V dx/dt."""
    w = 2 * np.pi * f
    t = stim.t
    sol = solve_ivp(lambda tt, y: [rate_c4(y[0], v0 * np.sin(w * tt), p)], (0, t[-1]), [x0], method="Radau",
                    rtol=1e-10, atol=1e-14 * (p["Chigh"] - p["Clow"]), dense_output=True, max_step=0.01 / f)
    x = sol.sol(t)[0]
    v = v0 * np.sin(w * t)
    dx = np.array([rate_c4(a, b, p) for a, b in zip(x, v)])
    return x, x * v, x * v0 * w * np.cos(w * t) + v * dx


@pytest.mark.parametrize("method", ["dopri5", "sdirk4"])
def test_c4_matches_radau_on_an_ideal_source(method):
    """Listing drive 4 V, 50 kHz straight from the source (R_s = 0: chain-rule current).

    atol 1e-12 (of the 99 pF window): x spends half the time at Clow = 1 % of the window, and dopri5 with a
    looser atol can step over the ~10 ns sub-threshold pulses while the state rests (see the model docstring).
    """
    p = get_model(C4).defaults()
    stim = sine_sweep(amplitude=4.0, frequency=50e3, cycles=2, points_per_cycle=400)
    x, q, i = _c4_reference_ideal(stim, 4.0, 50e3, p, p["Cinit"])
    sim = simulate(C4, stim, method=method, rtol=1e-10, atol=1e-12)
    assert np.max(np.abs(sim["x"] - x) / x) <= 1e-6
    assert rel_err(sim["q"], q) <= 1e-6
    assert_current(sim.i, i)
    assert x.max() == pytest.approx(p["Chigh"], rel=3e-5) and x.max() < p["Chigh"]


@pytest.mark.parametrize("rs,method,atol,cycles", [(1e3, "dopri5", 1e-13, 2), (1e3, "sdirk4", 1e-10, 2),
                                                    (1.0, "sdirk4", 1e-10, 1)])
def test_c4_matches_radau_behind_a_series_resistor(rs, method, atol, cycles):
    """States x and q; V_dev = q/x, dq/dt = (V_src - q/x)/R_s.  1 Ohm (HSPICE listing) is stiff: SDIRK4 only.

    The current (V_src - q/x)/R_s is a difference of nearly equal voltages (|i R_s| << V0 for small R_s), so any
    solver's current carries an error ~ (relative error of q/x) V0/R_s; while C runs down to Clow (1 % of the
    window) the relative state error reaches ~1e-7, so the current is checked to 1e-6 relative plus 3e-7 V0/R_s.
    """
    p = get_model(C4).defaults()
    v0, f = 4.0, 50e3
    w = 2 * np.pi * f
    stim = sine_sweep(amplitude=v0, frequency=f, cycles=cycles, points_per_cycle=400)

    def rhs(t, y):
        x, q = y
        return [rate_c4(x, q / x, p), (v0 * np.sin(w * t) - q / x) / rs]

    sol = solve_ivp(rhs, (0, stim.t[-1]), [p["Cinit"], 0.0], method="Radau", rtol=1e-10,
                    atol=[1e-14 * p["Chigh"], 1e-14 * p["Chigh"] * v0], dense_output=True, max_step=0.01 / f)
    x, q = sol.sol(stim.t)
    i = (stim.value() - q / x) / rs
    sim = simulate(C4, stim, series_resistance=rs, method=method, rtol=1e-10, atol=atol)
    assert np.all(np.abs(sim["x"] - x) <= 1e-6 * x + 1e-7 * (p["Chigh"] - p["Clow"]))
    assert np.max(np.abs(sim["q"] - q)) <= 1e-6 * np.max(np.abs(q))
    assert np.all(np.abs(sim.i - i) <= 1e-6 * np.abs(i) + 3e-7 * v0 / rs)
    assert x.max() == pytest.approx(p["Chigh"], rel=3e-5) and x.min() == pytest.approx(p["Clow"], rel=1e-2)


def test_c4_switching_times_follow_the_closed_form():
    """Fig. 18 (4 V, 50 kHz): C runs from Cinit to Chigh, then to Clow, at the times the threshold law gives.

    Per half period the unsmoothed law gives x(tau) = x_start +- beta [V0 (cos t1 - cos w tau)/w - Vt (tau - t1/w)];
    the smoothing shifts these times by ~0.1 ns, the tolerance is 1 ns.
    """
    p = get_model(C4).defaults()
    v0, f = 4.0, 50e3
    w, T = 2 * np.pi * f, 1 / f
    stim = sine_sweep(amplitude=v0, frequency=f, cycles=1, points_per_cycle=20000)
    sim = simulate(C4, stim)
    x, t = sim["x"].to_numpy(), stim.t
    t1 = math.asin(p["Vt"] / v0) / w

    def drive(tau):
        return v0 * (math.cos(w * t1) - math.cos(w * tau)) / w - p["Vt"] * (tau - t1)

    level_hi, level_lo = p["Chigh"] - 1e-13, p["Clow"] + 1e-14
    t_hi = brentq(lambda s: p["Cinit"] + p["beta"] * drive(s) - level_hi, t1, T / 4)
    t_lo = T / 2 + brentq(lambda s: p["Chigh"] - p["beta"] * drive(s) - level_lo, t1, T / 4)
    k = np.argmax(x >= level_hi)
    sim_hi = np.interp(level_hi, x[k - 1:k + 1], t[k - 1:k + 1])
    k = np.argmax((t > T / 2) & (x <= level_lo))
    sim_lo = np.interp(-level_lo, -x[k - 1:k + 1], t[k - 1:k + 1])
    assert abs(sim_hi - t_hi) < 1e-9 and abs(sim_lo - t_lo) < 1e-9
    # it then rests on the limits (to the guard's 30 b2): the published periodic switching between Clow and Chigh
    assert x.max() == pytest.approx(p["Chigh"], rel=3e-5) and x.min() == pytest.approx(p["Clow"], rel=3e-5)
    assert 4e-6 < t_hi < T / 4  # saturates before the crest: 213 pF of swing per half period available
    assert p["beta"] * sharp_swing(v0, p["Vt"], w) == pytest.approx(213e-12, rel=2e-3)


def test_c4_swing_below_saturation_matches_the_threshold_integral():
    """3.3 V, 50 kHz: +dC in the positive half period, -dC in the negative one, dC = int f dt (38 pF)."""
    m = get_model(C4)
    p = m.defaults()
    v0, f = 3.3, 50e3
    stim = sine_sweep(amplitude=v0, frequency=f, cycles=1, points_per_cycle=400)
    sim = simulate(C4, stim, rtol=1e-10)
    x = sim["x"].to_numpy()
    swing = smooth_swing(v0, f, p)
    half = np.argmin(np.abs(stim.t - 0.5 / f))
    assert x[half] - p["Cinit"] == pytest.approx(swing, rel=1e-7)
    assert x[-1] == pytest.approx(p["Cinit"], rel=1e-9)
    # the published (unsmoothed) closed form agrees to the size of the smoothing pulses (~1e-4 of the swing)
    assert swing == pytest.approx(p["beta"] * sharp_swing(v0, p["Vt"], 2 * np.pi * f), rel=1e-3)
    assert 37e-12 < swing < 39e-12


def test_c4_threshold_freezes_the_state():
    p = get_model(C4).defaults()
    for v0 in (1.0, 2.5):  # |V| <= Vt - 0.5 V: f < 1e-25 F/s
        sim = simulate(C4, sine_sweep(amplitude=v0, frequency=50e3, cycles=2))
        assert np.max(np.abs(sim["x"] - p["Cinit"])) <= 1e-12 * p["Cinit"]
    sim = simulate(C4, sine_sweep(amplitude=3.1, frequency=50e3, cycles=1))
    assert sim["x"].max() - p["Cinit"] > 1e-12  # just above threshold it moves


def test_c4_pinched_window_respected_loop_shrinks_with_frequency():
    m = get_model(C4)
    p = m.defaults()
    areas = []
    for f in (100e3, 200e3, 400e3, 800e3):
        stim = sine_sweep(amplitude=4.0, frequency=f, cycles=2, points_per_cycle=400)
        sim = simulate(C4, stim)
        v, q, x = stim.value(), sim["q"].to_numpy(), sim["x"].to_numpy()
        assert x.min() >= p["Clow"] and x.max() <= p["Chigh"]
        zero = np.abs(v) <= 1e-12 * np.max(np.abs(v))
        assert zero.sum() >= 4 and np.all(np.abs(q[zero]) <= 1e-12 * np.max(np.abs(q)))
        areas.append(lobe_area(v, q))
    assert all(a > b for a, b in zip(areas, areas[1:])), areas
    assert areas[-1] < 0.2 * areas[0]


# ---------------------------------------------------------------------------------- C.4 bounds
def test_c4_state_within_limits_at_parameter_edges():
    m = get_model(C4)
    base = m.params()
    n_run = 0
    for k, q in enumerate(m.parameters):
        for edge in (q.lower, q.upper):
            pv = base.copy()
            pv[k] = edge
            try:
                lo, hi = m.state_bounds(pv)
                m.initial_state(pv)
            except ParameterError:
                continue  # e.g. Clow above Chigh: refused, fine
            sim = simulate(C4, "sine(amplitude=6, f=50e3, cycles=1, points=100)", params=pv)
            x = sim["x"].to_numpy()
            assert np.all(np.isfinite(sim.i)) and lo[0] <= x.min() and x.max() <= hi[0], q.name
            n_run += 1
    assert n_run >= 10


@settings(max_examples=12, deadline=None)
@given(
    values=st.lists(st.floats(-8.0, 8.0), min_size=3, max_size=12),
    span=st.floats(1e-6, 1e-4),
    beta=st.floats(-6.0, -3.0),
    vt=st.floats(0.0, 5.0),
    b1=st.floats(-3.0, -1.0),
    b2=st.floats(-8.0, -4.0),
    x0=st.floats(0.0, 1.0),
)
def test_c4_random_stimuli_stay_in_the_window(values, span, beta, vt, b1, b2, x0):
    m = get_model(C4)
    t = np.linspace(0.0, span, len(values) + 1)
    stim = arbitrary(t, [0.0] + values)
    par = {"beta": 10 ** beta, "Vt": vt, "b1": 10 ** b1, "b2": 10 ** b2}
    lo, hi = 1e-12, 100e-12
    sim = simulate(C4, stim, params=par, x0={"x": lo + x0 * (hi - lo)})
    x = sim["x"].to_numpy()
    assert lo <= x.min() and x.max() <= hi
    assert np.all(np.isfinite(sim["q"])) and np.all(np.isfinite(sim.i))


def test_c4_subnormal_drive_does_not_divide_by_zero():
    """Hypothesis found it: a 5e-324 V sample made the port's finite-difference step underflow to 0."""
    span = 6.103515625e-05
    stim = arbitrary(np.linspace(0.0, span, 4), [0.0, 0.0, 0.0, 5e-324])
    sim = simulate(C4, stim, params={"beta": 1e-3, "Vt": 0.0, "b1": 0.1, "b2": 1e-4}, x0={"x": 1e-12})
    np.testing.assert_array_equal(sim["x"].to_numpy(), 1e-12)  # no drive, no change
    assert np.all(np.isfinite(sim["q"])) and np.all(np.isfinite(sim.i))


# ------------------------------------------------------------------------------ variability hooks
@pytest.mark.nojit
def test_draw_parameters_is_deterministic_and_has_the_documented_spread():
    a = draw_parameters("memcapacitor", 4000, 0.1, seed=3)
    b = draw_parameters("memcapacitor", 4000, 0.1, seed=3)
    c = draw_parameters("memcapacitor", 4000, 0.1, seed=4)
    assert list(a.columns) == ["Clow", "Chigh", "beta", "Vt"]
    assert a.equals(b) and not a.equals(c)
    d = get_model(C4).defaults()
    for name in a.columns:
        z = np.log(a[name] / d[name])
        # log-normal around the nominal value: sigma 0.1 (sampling error of the sd: 0.1/sqrt(2n) = 0.0011)
        assert np.std(z) == pytest.approx(0.1, abs=0.005)
        assert abs(np.median(z)) < 0.01
    s = draw_parameters(C4, 5, {"beta": 0.2}, seed=1, names=["beta"], base={"Cinit": 10e-12})
    assert list(s.columns) == ["beta", "Cinit"] and np.all(s["Cinit"] == 10e-12)
    with pytest.raises(ParameterError, match="no parameter 'nope'"):
        draw_parameters(C4, 3, 0.1, seed=0, names=["nope"])
    with pytest.raises(ParameterError, match=r"draw_parameters\(\).*(initial x|lower bound exceeds)"):
        draw_parameters(C4, 50, 3.0, seed=0, names=["Chigh"])  # Chigh drawn below Cinit (or Clow)


def test_device_to_device_rows_drive_simulate_batch():
    """Each device saturates at its own drawn Clow/Chigh (5 V, 50 kHz saturates every drawn device)."""
    rows = draw_parameters("memcapacitor", 16, 0.1, seed=11)
    stim = sine_sweep(amplitude=5.0, frequency=50e3, cycles=2, points_per_cycle=200)
    batch = simulate_batch("memcapacitor", stim, rows)
    x = batch.x[:, :, 0]
    np.testing.assert_allclose(x.max(axis=1), rows["Chigh"], rtol=3e-5)
    np.testing.assert_allclose(x.min(axis=1), rows["Clow"], rtol=3e-5)
    assert np.std(np.log(rows["Chigh"])) > 0.05  # the devices really differ


def test_cycle_to_cycle_rows_give_per_cycle_swings():
    """c2c: one drawn row per cycle, each cycle starting from the previous final state.

    Below saturation each cycle swings by exactly its own row's threshold integral (beta_k, Vt_k) and returns.
    """
    rows = draw_parameters("memcapacitor", 8, {"beta": 0.1, "Vt": 0.01}, seed=5, names=["beta", "Vt"])
    p = get_model(C4).defaults()
    v0, f = 3.3, 50e3
    cycle = sine_sweep(amplitude=v0, frequency=f, cycles=1, points_per_cycle=200)
    x_start = 10e-12
    swings = []
    for k in range(len(rows)):
        row = rows.iloc[k].to_dict()
        sim = simulate(C4, cycle, params=row, x0={"x": x_start})
        x = sim["x"].to_numpy()
        swings.append(x.max() - x_start)
        assert swings[-1] == pytest.approx(smooth_swing(v0, f, {**p, **row}), rel=1e-6)
        assert x[-1] == pytest.approx(x_start, rel=1e-8)
        x_start = x[-1]
    assert np.std(swings) / np.mean(swings) > 0.05  # the cycles differ, as drawn


# ----------------------------------------------------------------- Schroedter 2023 pseudo-memcapacitor
def _peaks(sim, period, n, cgs):
    u = sim["q"].to_numpy() / cgs
    k = np.floor(sim.frame["t"].to_numpy() / period).astype(int)
    x = sim["x"].to_numpy()
    return np.array([u[k == j].max() for j in range(n)]), np.array([x[k == j].max() for j in range(n)])


def test_pseudo_memcapacitor_integrates_and_fires_as_in_the_bench():
    """pulse_input.asc: 1.8 V, 10 us pulses.  200 us apart: gate peaks settle at ~0.48 V (figure), no firing;
    100 us apart: the memristor sets (x -> 1) every few pulses and is reset by the next pulse."""
    m = get_model(MNT)
    cgs = m.defaults()["C_gs"]
    slow = pulse_train(amplitude=1.8, width=10e-6, period=200e-6, n=6, rise=20e-9, fall=20e-9)
    peaks, xs = _peaks(simulate(MNT, slow), 200e-6, 6, cgs)
    assert 0.46 < peaks[-1] < 0.50 and np.all(np.diff(peaks) > -1e-3) and xs.max() < 0.05
    fast = pulse_train(amplitude=1.8, width=10e-6, period=100e-6, n=13, rise=20e-9, fall=20e-9)
    peaks, xs = _peaks(simulate(MNT, fast), 100e-6, 13, cgs)
    assert (xs > 0.99).sum() >= 3 and xs[0] < 0.01
    # the noiseless netlist law (jitter = 0): the gate never rises above V_s between pulses, no firing
    peaks0, xs0 = _peaks(simulate(MNT, fast, params={"jitter": 0.0}), 100e-6, 13, cgs)
    assert xs0.max() < 1e-6 and peaks0.max() < 0.6


def test_pseudo_memcapacitor_matches_radau_and_is_not_pinched():
    """Reference in the netlist's own variables (gate voltage u, KCL with C_par dV/dt), Radau per segment.

    Three bench pulses 200 us apart (the gate charges through C_par and the OFF memristor, the set law creeps):
    firing itself (x jumping at rates up to 1e26/s) is checked against the bench figure above, not here.
    """
    m = get_model(MNT)
    p = m.defaults()
    ctot = p["C_par"] + p["C_gs"]
    stim = pulse_train(amplitude=1.8, width=10e-6, period=200e-6, n=3, rise=20e-9, fall=20e-9, points_per_pulse=40)

    def im(x, vm):
        k = lambda on, off: off + (on - off) * min(max(x, 0.0), 1.0)  # noqa: E731
        a = min(max(k(p["a_on"], p["a_off"]) * vm, -700.0), 700.0)
        return min(max(k(p["I_on"], p["I_off"]) * math.sinh(a), -p["I_cc"]), p["I_cc"])

    def rate(x, vg):
        j = p["jitter"]
        if vg >= 0:
            a = p["eta_s"] * p["V_s"] * j
            return (1 - x) * math.exp(min(p["eta_s"] * (vg - p["V_s"]) + math.log(math.sinh(a) / a), 60.0))
        a = p["eta_r"] * abs(p["V_r"]) * j
        return -x * math.exp(min(p["eta_r"] * (p["V_r"] - vg) + math.log(math.sinh(a) / a), 60.0))

    seg = stim.segments
    k_seg = stim.segment_index()  # which segment (slope) each output time belongs to
    y = np.array([0.0, 0.0])  # x, u
    xs, us, dus = [], [], []
    for s in range(seg.shape[0]):
        ta, tb, v_a, v_b = seg[s, 0], seg[s, 1], seg[s, 3], seg[s, 4]
        slope = (v_b - v_a) / (tb - ta)

        def rhs(t, yy, v_a=v_a, ta=ta, slope=slope):
            x, u = yy
            w = v_a + slope * (t - ta) - u
            vm = brentq(lambda z: z + p["R_ser"] * im(x, z) - w, min(0, w) - 1e-12, max(0, w) + 1e-12, xtol=1e-18)
            return [rate(x, -w), (p["C_par"] * slope + w / p["R_par"] + im(x, vm)) / ctot]

        sol = solve_ivp(rhs, (ta, tb), y, method="Radau", rtol=1e-10, atol=[1e-12, 1e-12], dense_output=True)
        sel = k_seg == s
        yy = sol.sol(stim.t[sel])
        xs.append(yy[0])
        us.append(yy[1])
        dus.append([rhs(t, yy[:, j])[1] for j, t in enumerate(stim.t[sel])])
        y = sol.y[:, -1]
    x_ref, q_ref = np.concatenate(xs), p["C_gs"] * np.concatenate(us)
    i_ref = p["C_gs"] * np.concatenate(dus)
    sim = simulate(MNT, stim, rtol=1e-10)
    assert np.max(np.abs(sim["x"] - x_ref)) <= 1e-6 * np.max(x_ref) and 1e-4 < np.max(x_ref) < 0.01
    assert np.max(np.abs(sim["q"] - q_ref)) <= 1e-6 * np.max(np.abs(q_ref))
    v = stim.value()
    assert_current(np.asarray(sim.i), np.asarray(i_ref))
    # not an ideal memcapacitor: charge remains on the gate whenever the input is back at 0 V
    assert np.all(np.abs(sim["q"].to_numpy()[(v == 0) & (stim.t > 15e-6)]) > 0.1 * np.max(np.abs(q_ref)))


def test_pseudo_memcapacitor_edge_current_at_zero_volts():
    """At the first instant of a rising edge (V = 0, dV/dt = 1.8 V / 20 ns) the current includes the displacement
    current through C_par in series with C_gs: i = C_gs C_par/(C_par + C_gs) dV/dt + C_gs ds/dt ~ 0.405 mA."""
    p = get_model(MNT).defaults()
    stim = pulse_train(amplitude=1.8, width=10e-6, period=100e-6, n=2, rise=20e-9, fall=20e-9)
    sim = simulate(MNT, stim)
    k = int(np.argmax((stim.t > 50e-6) & (stim.value() == 0.0) & (stim.segment_index() == 4)))
    assert stim.t[k] == pytest.approx(100e-6)
    c_series = p["C_gs"] * p["C_par"] / (p["C_gs"] + p["C_par"])
    assert sim.i[k] == pytest.approx(c_series * 1.8 / 20e-9, rel=1e-3)
