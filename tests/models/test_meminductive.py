"""Meminductive models: Biolek/Di Ventra/Pershin 2013 L.1, L.3 and L.2.

Truth from outside the code: closed forms (L.1 under a sine current, L.3
half-period swing, L.2 phasor steady state), the listings' formulas re-typed
here, SciPy Radau references (rtol 1e-10) written in this file, and the
numbers of the paper's figures and text.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad, solve_ivp

from memfit.errors import ParameterError
from memfit.models import get_model
from memfit.models.meminductive import draw_parameters
from memfit.simulate import arbitrary, simulate, simulate_batch, sine_sweep
from tests.reference import py

L1 = "biolek2013_meminductor_ideal"
L3 = "biolek2013_meminductor"
L2 = "biolek2013_meminductor_effective"


# ----------------------------------------------------------------------------- the listings' formulas
def stps(u, b):
    return 0.5 * (1.0 + np.tanh(0.5 * u / b))


def abss(u, b):
    return u * (stps(u, b) - stps(-u, b))


def f_listing(i, beta, it, b1):
    return beta * (i - 0.5 * (abss(i + it, b1) - abss(i - it, b1)))


def rate_l3(x, i, p):
    """Listing's f W (Supplementary Materials 11), times memfit's documented guard stps(d - 30 b2, b2)."""
    lo, hi, b1, b2 = p["Llow"], p["Lhigh"], p["b1"], p["b2"]
    w = stps(i, b1) * stps(1 - x / hi, b2) + stps(-i, b1) * stps(x / lo - 1, b2)
    r = f_listing(i, p["beta"], p["It"], b1) * w
    d = (1 - x / hi) if r > 0 else (x / lo - 1)
    return r * stps(d - 30 * b2, b2)


def sharp_swing(i0, it, w):
    """Integral of the unsmoothed f / beta over one half period of i0 sin(wt) [A s] (Biolek 2013 eq. 61)."""
    if i0 <= it:
        return 0.0
    t1 = math.asin(it / i0)
    return 2 * i0 * math.cos(t1) / w - it * (math.pi - 2 * t1) / w


def smooth_swing(i0, f, p):
    """Integral of the listing's smoothed f over one positive half period [H] (quadrature)."""
    w = 2 * math.pi * f
    ta = math.asin(min(p["It"] / i0, 1.0)) / w if i0 > p["It"] else 0.25 / f
    g = lambda t: f_listing(i0 * math.sin(w * t), p["beta"], p["It"], p["b1"])  # noqa: E731
    return quad(g, 0, 0.5 / f, points=[ta, 0.5 / f - ta], limit=400, epsabs=0, epsrel=1e-12)[0]


def lobe_area(i, phi):
    n = len(i) - 1
    area = 0.0
    for a, b in ((n // 2, 3 * n // 4), (3 * n // 4, n)):
        ii, pp = i[a:b + 1], phi[a:b + 1]
        area += 0.5 * abs(np.sum(ii[:-1] * pp[1:] - ii[1:] * pp[:-1]))
    return area


def rel_err(a, b, floor=1e-3):
    a, b = np.asarray(a), np.asarray(b)
    mask = np.abs(b) > floor * np.max(np.abs(b))
    return float(np.max(np.abs(a[mask] - b[mask]) / np.abs(b[mask])))


def assert_voltage(v_sim, v_ref, rel=1e-6, floor=5e-8):
    """|dv| <= rel |v| + floor max|v|: on a current source v = Phi_x dx/dt + Phi_I dI/dt with partial derivatives
    taken by one-sided finite differences in the shared circuit kernel (rounding ~1.5e-8 of each term, visible where
    the terms cancel), see tests/models/test_memcapacitive.py::assert_current."""
    v_sim, v_ref = np.asarray(v_sim), np.asarray(v_ref)
    err = np.abs(v_sim - v_ref)
    bound = rel * np.abs(v_ref) + floor * np.max(np.abs(v_ref))
    assert np.all(err <= bound), f"worst voltage error {np.max(err / bound):.2f} x the bound"
    assert rel_err(v_sim, v_ref, floor=0.05) <= rel


# ------------------------------------------------------------------------------------ declarations
@pytest.mark.nojit
def test_defaults_are_the_listing_values_and_alias():
    assert get_model("meminductor").name == L3
    assert get_model(L3).defaults() == {"Llow": 1e-6, "Lhigh": 100e-6, "Linit": 50e-6, "beta": 10e6, "It": 10e-6,
                                        "b1": 10e-9, "b2": 1e-6}
    assert get_model(L1).defaults() == {"Llow": 1e-3, "Lhigh": 10e-3, "Lini": 2e-3, "k": 10e3}
    assert get_model(L2).defaults() == {"L1": 1e-6, "L2": 1e-6, "k": 0.8, "R": 1.0, "C": 1e-6}
    for name in (L1, L3, L2):
        assert get_model(name).port == "phi(i)"
    m = get_model(L3)
    p, pd_ = m.params(), m.defaults()
    dx = np.empty(1)
    for x in (1.5e-6, 50e-6, 99e-6):
        for i in (-20e-6, -10.01e-6, -1e-6, 0.0, 9.9e-6, 10.2e-6, 20e-6):
            py(m.rhs)(np.array([x]), i, 0.0, p, dx)
            assert dx[0] == pytest.approx(rate_l3(x, i, pd_), rel=1e-12, abs=1e-30)
            assert py(m.current)(np.array([x]), i, p) == x * i


# ------------------------------------------------------------------------------------------- L.1
@pytest.mark.parametrize("method", ["dopri5", "sdirk4"])
def test_l1_matches_the_closed_form_under_a_sine_current(method):
    """phi = L(q) I with q = I0 (1 - cos wt)/w; V = L'(q) I^2 + L dI/dt (listing drive: 5 mA, 10 Hz)."""
    p = get_model(L1).defaults()
    i0, f = 5e-3, 10.0
    w = 2 * np.pi * f
    stim = sine_sweep(amplitude=i0, frequency=f, cycles=2, points_per_cycle=400, mode="current")
    sim = simulate(L1, stim, method=method, rtol=1e-10, atol=1e-14)
    t = stim.t
    a = (p["Lhigh"] - p["Lini"]) / (p["Lini"] - p["Llow"])
    q = i0 * (1 - np.cos(w * t)) / w
    e = a * np.exp(-4 * p["k"] * q)
    ind = p["Llow"] + (p["Lhigh"] - p["Llow"]) / (e + 1)
    dind = (p["Lhigh"] - p["Llow"]) * 4 * p["k"] * e / (e + 1) ** 2
    i, di = i0 * np.sin(w * t), i0 * w * np.cos(w * t)
    np.testing.assert_allclose(sim["q_int"], q, rtol=0, atol=1e-9 * q.max())
    np.testing.assert_allclose(sim.i, i, rtol=0, atol=1e-12 * i0)
    assert rel_err(sim["phi"], ind * i) <= 1e-7
    # device voltage by the chain rule: the shared circuit kernel's one-sided finite-difference partials alone err
    # by up to 3.3e-6 here (that formula evaluated on the exact solution); with exact derivatives at the simulated
    # state the voltage is at solver tolerance
    assert rel_err(sim["v_dev"], dind * i * i + ind * di) <= 1e-5
    qs = sim["q_int"].to_numpy()
    e2 = a * np.exp(-4 * p["k"] * qs)
    v_exact = (p["Lhigh"] - p["Llow"]) * (4 * p["k"] * e2 / (e2 + 1) ** 2 * i * i + di / (e2 + 1)) + p["Llow"] * di
    assert rel_err(v_exact, dind * i * i + ind * di) <= 1e-8
    # published behaviour (Fig. 20): L switches from Lini = 2 mH to ~9.9 mH and back every period
    ell = sim["phi"].to_numpy()[np.abs(i) > 0.01 * i0] / i[np.abs(i) > 0.01 * i0]
    assert ell.min() == pytest.approx(2e-3, rel=1e-3) and 9.8e-3 < ell.max() < 9.9e-3


def test_l1_pinched_loop_shrinks_with_frequency():
    areas = []
    for f in (10.0, 20.0, 40.0, 80.0):
        stim = sine_sweep(amplitude=5e-3, frequency=f, cycles=2, points_per_cycle=400, mode="current")
        sim = simulate(L1, stim)
        i, phi = stim.value(), sim["phi"].to_numpy()
        zero = np.abs(i) <= 1e-12 * np.max(np.abs(i))
        assert zero.sum() >= 4 and np.all(np.abs(phi[zero]) <= 1e-12 * np.max(np.abs(phi)))  # phi = 0 when I = 0
        areas.append(lobe_area(i, phi))
    assert all(a > b for a, b in zip(areas, areas[1:])), areas
    assert areas[-1] < 0.2 * areas[0]


# ------------------------------------------------------------------------------------------- L.3
@pytest.mark.parametrize("method", ["dopri5", "sdirk4"])
def test_l3_matches_radau_on_a_current_source(method):
    """Listing drive 12 uA, 50 kHz from an ideal current source (the chain-rule path for the voltage)."""
    p = get_model(L3).defaults()
    i0, f = 12e-6, 50e3
    w = 2 * np.pi * f
    stim = sine_sweep(amplitude=i0, frequency=f, cycles=2, points_per_cycle=400, mode="current")
    t = stim.t
    sol = solve_ivp(lambda tt, y: [rate_l3(y[0], i0 * np.sin(w * tt), p)], (0, t[-1]), [p["Linit"]], method="Radau",
                    rtol=1e-10, atol=1e-14 * (p["Lhigh"] - p["Llow"]), dense_output=True, max_step=0.01 / f)
    x = sol.sol(t)[0]
    i = i0 * np.sin(w * t)
    v = x * i0 * w * np.cos(w * t) + i * np.array([rate_l3(a, b, p) for a, b in zip(x, i)])
    sim = simulate(L3, stim, method=method, rtol=1e-10, atol=1e-12)
    assert np.max(np.abs(sim["x"] - x) / x) <= 1e-6
    assert rel_err(sim["phi"], x * i) <= 1e-6
    assert_voltage(sim["v_dev"], v)


@pytest.mark.parametrize("method", ["dopri5", "sdirk4"])
def test_l3_matches_radau_behind_a_series_resistor(method):
    """Voltage source 0.2 mV, 50 kHz -> R_s = 10 Ohm -> L.3: states x and phi, I = phi/x, dphi/dt = V - R_s I."""
    p = get_model(L3).defaults()
    v0, f, rs = 2e-4, 50e3, 10.0
    w = 2 * np.pi * f
    stim = sine_sweep(amplitude=v0, frequency=f, cycles=2, points_per_cycle=400)

    def rhs(t, y):
        x, phi = y
        return [rate_l3(x, phi / x, p), v0 * np.sin(w * t) - rs * phi / x]

    sol = solve_ivp(rhs, (0, stim.t[-1]), [p["Linit"], 0.0], method="Radau", rtol=1e-10,
                    atol=[1e-14 * p["Lhigh"], 1e-14 * p["Lhigh"] * 1e-5], dense_output=True, max_step=0.01 / f)
    x, phi = sol.sol(stim.t)
    i = phi / x
    sim = simulate(L3, stim, series_resistance=rs, method=method, rtol=1e-10, atol=1e-13)
    assert rel_err(sim.i, i) <= 1e-6
    assert np.max(np.abs(sim["x"] - x) / x) <= 1e-6
    assert np.max(i) > 1.05 * p["It"] and x.max() > 1.2 * p["Linit"]  # the drive really crosses the threshold


def test_l3_lower_level_is_linit_not_llow():
    """Sec. 5.3 / Fig. 24: at 12 uA, 50 kHz L swings up by 49.4 uH (to 99.4 uH) and back to Linit = 50 uH, not to
    Llow; a larger current drives it down to Llow."""
    p = get_model(L3).defaults()
    f = 50e3
    stim = sine_sweep(amplitude=12e-6, frequency=f, cycles=2, points_per_cycle=400, mode="current")
    sim = simulate(L3, stim, rtol=1e-10)
    x = sim["x"].to_numpy()
    swing = smooth_swing(12e-6, f, p)
    half = int(np.argmin(np.abs(stim.t - 0.5 / f)))
    assert x[half] - p["Linit"] == pytest.approx(swing, rel=1e-7)
    assert x.max() == pytest.approx(x[half], rel=1e-4)  # 99.4 uH, just below Lhigh
    assert swing == pytest.approx(p["beta"] * sharp_swing(12e-6, p["It"], 2 * np.pi * f), rel=1e-3)
    assert 49.3e-6 < swing < 49.5e-6
    assert x.min() == pytest.approx(p["Linit"], rel=1e-6) and x[-1] == pytest.approx(p["Linit"], rel=1e-6)
    big = simulate(L3, sine_sweep(amplitude=25e-6, frequency=f, cycles=1, mode="current"))
    assert big["x"].min() == pytest.approx(p["Llow"], rel=3e-5)
    assert big["x"].max() == pytest.approx(p["Lhigh"], rel=3e-5)


def test_l3_threshold_freezes_the_state():
    p = get_model(L3).defaults()
    for i0 in (5e-6, 9e-6):  # |I| <= It - 100 b1: f < 1e-35 H/s
        sim = simulate(L3, sine_sweep(amplitude=i0, frequency=50e3, cycles=2, mode="current"))
        assert np.max(np.abs(sim["x"] - p["Linit"])) <= 1e-12 * p["Linit"]
    sim = simulate(L3, sine_sweep(amplitude=10.5e-6, frequency=50e3, cycles=1, mode="current"))
    assert sim["x"].max() - p["Linit"] > 1e-7


def test_l3_pinched_window_respected_loop_shrinks_with_frequency():
    p = get_model(L3).defaults()
    areas = []
    for f in (50e3, 100e3, 200e3, 400e3):
        stim = sine_sweep(amplitude=12e-6, frequency=f, cycles=2, points_per_cycle=400, mode="current")
        sim = simulate(L3, stim)
        i, phi, x = stim.value(), sim["phi"].to_numpy(), sim["x"].to_numpy()
        assert x.min() >= p["Llow"] and x.max() <= p["Lhigh"]
        zero = np.abs(i) <= 1e-12 * np.max(np.abs(i))
        assert zero.sum() >= 4 and np.all(np.abs(phi[zero]) <= 1e-12 * np.max(np.abs(phi)))
        areas.append(lobe_area(i, phi))
    assert all(a > b for a, b in zip(areas, areas[1:])), areas
    assert areas[-1] < 0.2 * areas[0]


def test_l3_state_within_limits_at_parameter_edges():
    m = get_model(L3)
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
                continue
            sim = simulate(L3, "sine(amplitude=30e-6, f=50e3, cycles=1, points=100, mode='current')", params=pv)
            x = sim["x"].to_numpy()
            assert np.all(np.isfinite(sim["v_dev"])) and lo[0] <= x.min() and x.max() <= hi[0], q.name
            n_run += 1
    assert n_run >= 10


@settings(max_examples=12, deadline=None)
@given(
    values=st.lists(st.floats(-40e-6, 40e-6), min_size=3, max_size=12),
    span=st.floats(1e-6, 1e-4),
    beta=st.floats(5.0, 9.0),
    it=st.floats(0.0, 20e-6),
    b1=st.floats(-10.0, -7.0),
    b2=st.floats(-8.0, -4.0),
    x0=st.floats(0.0, 1.0),
)
def test_l3_random_stimuli_stay_in_the_window(values, span, beta, it, b1, b2, x0):
    t = np.linspace(0.0, span, len(values) + 1)
    stim = arbitrary(t, [0.0] + values, mode="current")
    par = {"beta": 10 ** beta, "It": it, "b1": 10 ** b1, "b2": 10 ** b2}
    lo, hi = 1e-6, 100e-6
    sim = simulate(L3, stim, params=par, x0={"x": lo + x0 * (hi - lo)})
    x = sim["x"].to_numpy()
    assert lo <= x.min() and x.max() <= hi
    assert np.all(np.isfinite(sim["phi"])) and np.all(np.isfinite(sim["v_dev"]))


# ------------------------------------------------------------------------------ variability hooks
def test_device_to_device_swings_follow_each_row():
    """simulate_batch with drawn beta rows (11 uA, below saturation): each device swings by its own beta x integral."""
    p = get_model(L3).defaults()
    rows = draw_parameters("meminductor", 12, {"beta": 0.2}, seed=2, names=["beta"])
    assert rows.equals(draw_parameters(L3, 12, {"beta": 0.2}, seed=2, names=["beta"]))
    f = 50e3
    stim = sine_sweep(amplitude=11e-6, frequency=f, cycles=1, points_per_cycle=400, mode="current")
    batch = simulate_batch("meminductor", stim, rows, rtol=1e-10)
    half = int(np.argmin(np.abs(stim.t - 0.5 / f)))  # the positive half period is over (its last pulse included)
    swing = batch.x[:, half, 0] - p["Linit"]
    unit = smooth_swing(11e-6, f, {**p, "beta": 1.0})
    np.testing.assert_allclose(swing, rows["beta"].to_numpy() * unit, rtol=1e-6)
    assert np.std(np.log(rows["beta"])) > 0.1


# ------------------------------------------------------------------------------------------- L.2
def test_l2_matches_the_phasor_steady_state_and_is_not_pinched():
    """Linear coil + coupled L-C-R loop (listing: 1 mA, 100 kHz).  After the loop's 2 us decay the flux is the
    phasor solution phi = (L1 - (w M)^2 ... ) I; phi and I cross zero at different times: no pinch (Fig. 22)."""
    m = get_model(L2)
    p = m.defaults()
    i0, f = 1e-3, 100e3
    w = 2 * np.pi * f
    stim = sine_sweep(amplitude=i0, frequency=f, cycles=6, points_per_cycle=400, mode="current")
    sim = simulate(L2, stim, rtol=1e-10, atol=1e-14)
    mut = p["k"] * math.sqrt(p["L1"] * p["L2"])
    z2 = p["R"] + 1j * w * p["L2"] + 1 / (1j * w * p["C"])
    gain = p["L1"] - 1j * w * mut * mut / z2  # phi / I as a phasor, I = i0 e^{jwt - j pi/2}
    t = stim.t
    late = t >= 4 / f  # transient (tau = 2 L2/R = 2 us) decayed by e^-20
    phi_ss = np.imag(gain * i0 * np.exp(1j * w * t))
    np.testing.assert_allclose(sim["phi"][late], phi_ss[late], rtol=0, atol=1e-6 * np.max(np.abs(phi_ss)))
    i = stim.value()
    zero = late & (np.abs(i) <= 1e-12 * i0)
    assert zero.sum() >= 3 and np.all(np.abs(sim["phi"].to_numpy()[zero]) > 0.05 * np.max(np.abs(phi_ss)))
