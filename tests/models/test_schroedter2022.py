"""Schroedter et al. (MOCAST 2022) analog NbOx memristor: netlist values, equations, published behaviours.

Truth comes from outside the code under test:

* the authors' netlist (GitHub ``SchroedterR/Memristor``: ``MEM_NAMLAB_CORE.cir`` parameters and
  ``.func`` lines, bench ``sine_input.asc``: R_s = 278 Ohm, R_p = 8 MOhm, SINE(0 3 0.02 0), x0 = 0.1),
  whose equations are written out again here with numpy and solved with scipy's brentq;
* SciPy's Radau solution (``tests.reference``) of the bench sine and of a pulse train;
* the shared test-circuit solver (an *external* series resistor must give the same device as the
  model's internal R_s);
* the lab's device note (``device_physics_seed.md`` section 1a).  Its numbers -- the bench ranges, the
  loop areas at 0.02/0.2/2 Hz and the x after the 1st/10th/50th +2.5 V pulse -- come from the
  note-writer's own LSODA integration of the netlist equations (rtol 1e-8), NOT from the paper (whose
  full text was not available): they are an independent cross-check of this implementation, not data.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from memfit.models import get_model
from memfit.models._kernels import schroedter2022 as k
from memfit.simulate import hold, parse_stimulus, pulse_train, simulate, sine_sweep
from tests.reference import assert_matches_reference, py, scipy_reference

NAME = "schroedter2022"

# MEM_NAMLAB_CORE.cir ".params" line and sine_input.asc (the bench), read in the authors' repository.
NETLIST = dict(A_r=4.7447e-8, A_s=1.1253e-8, B_r=2.6831, B_s=9.3348, c1=2.9457e-4, c2=57414.0, c3=11103.0,
               w_c=1000.0, x_on=0.1, x_off=0.284)
BENCH = dict(R_s=278.0, R_p=8e6)


# ------------------------------------------------------------------------------- the netlist, in numpy
def _G(x, u, q=NETLIST):
    """Core memductance, the netlist's .func G(x,Vm) written out again [S]."""
    s, a = np.sign(u), np.abs(u)
    return q["A_r"] * x * np.exp(q["B_r"] * s * np.sqrt(a / x)) + q["A_s"] * x * np.exp(-q["B_s"] * s * np.sqrt(a))


def _F(u, x, q=NETLIST):
    """The netlist's .func F(Vm,x) [1/s] with win_off/win_on."""
    i = u * _G(x, u, q)
    w_off = -np.exp((x - q["x_off"]) * q["w_c"])
    w_on = -np.exp(-(x - q["x_on"]) * q["w_c"])
    return q["c1"] * (np.exp(q["c2"] * x * i + w_off) - np.exp(-q["c3"] * x * i + w_on))


def _core_u(x, v, rs=BENCH["R_s"], rp=BENCH["R_p"]):
    """Core voltage behind R_s with R_p across the core (bench topology), by brentq."""
    if v == 0.0:
        return 0.0
    lo, hi = sorted((0.0, v))
    return brentq(lambda u: u + rs * (u * _G(x, u) + u / rp) - v, lo, hi, xtol=1e-300, rtol=8.9e-16)


def _write_ends(sim):
    """x at the end of every write pulse (last sample of each contiguous 'write' run)."""
    w = (sim.frame["role"] == "write").to_numpy()
    ends = np.flatnonzero(w & ~np.r_[w[1:], False]) + 1  # first sample after the flat top: its end time
    return sim["x"].to_numpy()[ends]


def _reads(sim):
    """Read conductance i/v [S] at the last sample of every read pulse, and x there."""
    r = (sim.frame["role"] == "read").to_numpy()
    ends = np.flatnonzero(r & ~np.r_[r[1:], False])
    return sim.i[ends] / sim.stimulus.value()[ends], sim["x"].to_numpy()[ends]


def _levels(g, rel):
    """Number of distinguishable levels: greedy count of values at least ``rel`` (relative) apart."""
    g = np.sort(g)
    count, last = 1, g[0]
    for val in g[1:]:
        if val - last >= rel * last:
            count, last = count + 1, val
    return count


def _lobe_area(v, i):
    """Sum of |enclosed area| of the two half-cycles (V = 0 to V = 0) of one sine cycle [V*A]."""
    n = len(v) - 1
    area = 0.0
    for a, b in ((0, n // 2), (n // 2, n)):
        vv, ii = v[a:b + 1], i[a:b + 1]
        area += 0.5 * abs(np.sum(vv[:-1] * ii[1:] - vv[1:] * ii[:-1]))
    return area


# --------------------------------------------------------------------------------------------- defaults
@pytest.mark.nojit
def test_defaults_are_the_netlist_and_bench_values():
    m = get_model("nbox")  # the lab's alias
    assert m.name == NAME
    q = m.defaults()
    for key, val in {**NETLIST, **BENCH}.items():
        assert q[key] == val, key
    assert m.initial_state()[0] == 0.1  # .param x0=0.1
    assert m.reference.doi == "10.1109/MOCAST54814.2022.9837726"
    lo, hi = m.state_bounds(m.params())
    assert lo[0] < q["x_on"] - 0.005 and hi[0] > q["x_off"] + 0.005  # room for the soft-window overshoot
    assert parse_stimulus(m.default_stimulus).duration == pytest.approx(64 * 0.3)


# -------------------------------------------------------------------------------------- port equations
@pytest.mark.nojit
def test_core_equations_match_the_netlist_formulas():
    """Bare core (R_s = 0, R_p = 1e16): i = G(x, v) v; rate = F(v, x); i = 0 at v = 0 exactly."""
    m = get_model(NAME)
    p = m.params(R_s=0.0, R_p=1e16)
    cur, rhs = py(m.current), py(m.rhs)
    d = np.empty(1)
    for x in (0.1, 0.15, 0.2, 0.284):
        xs = np.array([x])
        assert cur(xs, 0.0, p) == 0.0
        for v in (-3.0, -1.0, -0.2, -1e-3, 1e-3, 0.2, 1.0, 3.0):
            assert cur(xs, v, p) == pytest.approx(v * _G(x, v) + v / 1e16, rel=1e-13)
            rhs(xs, v, 0.0, p, d)
            assert d[0] == pytest.approx(_F(v, x), rel=1e-12, abs=2e-19)  # c1 * rounding of exp(~0)


def test_core_memductance_figures_of_the_note():
    """Device note 1a (its own evaluation of the netlist G): positive drive raises x, which lowers
    G(+1 V) 2.3e-5 -> 2.1e-6 S and raises G(-1 V) 1.27e-5 -> 3.6e-5 S (x = 0.1 -> 0.284); core read
    resistance at +0.1 V 1.44e7 -> 1.51e7 Ohm, at -0.1 V 4.6e7 -> 1.6e7 Ohm.  Tolerance: half a unit of
    the last quoted digit."""
    m = get_model(NAME)
    p = m.params(R_s=0.0, R_p=1e16)
    cur = m.current
    G = lambda x, v: cur(np.array([x]), v, p) / v  # noqa: E731
    assert G(0.1, 1.0) == pytest.approx(2.3e-5, abs=0.05e-5)
    assert G(0.284, 1.0) == pytest.approx(2.1e-6, abs=0.05e-6)
    assert G(0.1, -1.0) == pytest.approx(1.27e-5, abs=0.005e-5)
    assert G(0.284, -1.0) == pytest.approx(3.6e-5, abs=0.05e-5)
    assert 1 / G(0.1, 0.1) == pytest.approx(1.44e7, abs=0.005e7)
    assert 1 / G(0.284, 0.1) == pytest.approx(1.51e7, abs=0.005e7)
    assert 1 / G(0.1, -0.1) == pytest.approx(4.6e7, abs=0.05e7)
    assert 1 / G(0.284, -0.1) == pytest.approx(1.6e7, abs=0.05e7)


def test_series_and_parallel_resistors_solve_the_bench_divider():
    """With R_s and R_p: v = u + R_s (G u + u/R_p) and i = G u + u/R_p, against brentq on the netlist G."""
    m = get_model(NAME)
    p = m.params()
    for x in (0.1, 0.19, 0.284):
        for v in (-3.0, -1.5, -0.2, -1e-6, 1e-6, 0.2, 1.5, 3.0):
            u = _core_u(x, v)
            i_ref = u * _G(x, u) + u / BENCH["R_p"]
            assert k.core_voltage(x, v, p) == pytest.approx(u, rel=4e-15)
            assert m.current(np.array([x]), v, p) == pytest.approx(i_ref, rel=1e-13)
    # the bench's largest drop over R_s: about 0.8 V of the -3 V crest at x = 0.1 (core -2.2 V)
    assert _core_u(0.1, -3.0) == pytest.approx(-2.22, abs=0.01)


def test_core_slope_and_solver_at_random_parameters():
    """d i_core/du (Newton's slope) against a central difference; the divider residual at machine
    precision and u(v) monotone, for random parameter sets and states across the declared ranges."""
    m = get_model(NAME)
    rng = np.random.default_rng(3)
    for _ in range(200):
        vals = {}
        for q in m.parameters:
            lo, hi = q.lower, q.upper
            vals[q.name] = (math.exp(rng.uniform(math.log(lo), math.log(hi))) if q.log_scale
                            else rng.uniform(lo, hi))
        p = m.params(vals)
        x = rng.uniform(0.01, 1.0)
        u = rng.choice([-1, 1]) * 10 ** rng.uniform(-4, 0.5)
        i, di = k.core_iv(x, u, p)
        h = 1e-6 * abs(u)
        fd = (k.core_iv(x, u + h, p)[0] - k.core_iv(x, u - h, p)[0]) / (2 * h)
        assert di == pytest.approx(fd, rel=1e-5, abs=1e-9 * abs(i / u))
        vs = np.sort(rng.uniform(-3, 3, 8))
        us = np.array([k.core_voltage(x, v, p) for v in vs])
        assert np.all(np.diff(us) >= 0.0)
        for v, uu in zip(vs, us):
            iu, diu = k.core_iv(x, uu, p)
            res = uu + p[k.P_RS] * (iu + uu / p[k.P_RP]) - v
            slope = 1.0 + p[k.P_RS] * (diu + 1.0 / p[k.P_RP])
            assert abs(res) <= 1e-13 * abs(v) and abs(res) / slope <= 1e-14 * abs(uu)  # u within ~50 ulp


def test_finite_and_passive_far_outside_the_physical_range():
    """Trial stages may overshoot: x <= 0, x > 1 and absurd voltages still give finite, passive values."""
    m = get_model(NAME)
    d = np.empty(1)
    for over in ({}, {"R_s": 0.0}, {"B_r": 50.0, "A_r": 1e-4, "R_s": 0.0}, {"c2": 1e9, "c3": 1e9, "w_c": 50.0}):
        p = m.params(over)
        for x in (-0.05, 0.0, 1e-9, 0.01, 0.5, 1.0, 1.5):
            for v in (-100.0, -3.0, -1e-9, 0.0, 1e-9, 3.0, 100.0):
                i = m.current(np.array([x]), v, p)
                m.rhs(np.array([x]), v, 0.0, p, d)
                assert math.isfinite(i) and math.isfinite(d[0]), (over, x, v)
                assert i * v >= 0.0  # passive


# ---------------------------------------------------------------------------------- reference agreement
def _ref_stimuli():
    return (
        # the authors' bench source SINE(0 3 0.02 0), .tran 50 (one full cycle), x0 = 0.1
        sine_sweep(amplitude=3.0, frequency=0.02, cycles=1, points_per_cycle=400),
        # potentiation then depression pulses with reads
        pulse_train(amplitude=[2.5] * 6 + [-3.0] * 4, width=0.1, period=0.3, rise=1e-3, fall=1e-3,
                    read_v=-0.2, read_width=0.02),
    )


@pytest.mark.parametrize("method", ["dopri5", "sdirk4"])
def test_matches_scipy_radau_reference(method):
    """Max relative current error <= 1e-6 (above 1e-3 of the peak) on the bench sine and a pulse train."""
    for stim in _ref_stimuli():
        ref = scipy_reference(NAME, stim)
        sim = simulate(NAME, stim, method=method, rtol=1e-10)
        assert_matches_reference(sim, ref, rtol=1e-6)
        np.testing.assert_allclose(sim["x"], ref["x"][:, 0], rtol=0, atol=1e-8)


@pytest.mark.parametrize("method", ["dopri5", "sdirk4"])
def test_internal_series_resistor_equals_the_external_one(method):
    """R_s in the model and R_s in the test circuit (shared solver) are the same circuit."""
    stim = _ref_stimuli()[0]
    inside = simulate(NAME, stim, method=method, rtol=1e-10)
    outside = simulate(NAME, stim, params={"R_s": 0.0}, series_resistance=278.0, method=method, rtol=1e-10)
    assert_matches_reference(inside, {"i": outside.i}, rtol=1e-6)


def test_bench_ranges_of_the_note():
    """Device note 1a, bench SINE(0 3 0.02 0), 50 s, x0 = 0.1: x sweeps 0.099 -> 0.285, core voltage
    -2.22 ... +2.93 V, terminal current -2.87 mA ... +0.65 mA (strongly rectifying)."""
    stim = sine_sweep(amplitude=3.0, frequency=0.02, cycles=1, points_per_cycle=4000)
    sim = simulate(NAME, stim)
    x = sim["x"].to_numpy()
    p = get_model(NAME).params()
    u = np.array([k.core_voltage(a, b, p) for a, b in zip(x, sim.v)])
    assert x.min() == pytest.approx(0.099, abs=5e-4) and x.max() == pytest.approx(0.285, abs=5e-4)
    assert u.min() == pytest.approx(-2.22, abs=5e-3) and u.max() == pytest.approx(2.93, abs=5e-3)
    assert sim.i.min() == pytest.approx(-2.87e-3, abs=5e-6) and sim.i.max() == pytest.approx(0.65e-3, abs=5e-6)


# ------------------------------------------------------------------------------- pinched loop, frequency
def test_pinched_loop():
    """Core: i = 0 at u = 0 for every state; terminal (with R_p): the loop passes through the origin."""
    m = get_model(NAME)
    p = m.params()
    for x in np.linspace(0.01, 1.0, 12):
        assert k.core_iv(x, 0.0, p)[0] == 0.0
        assert m.current(np.array([x]), 0.0, p) == 0.0
    sim = simulate(NAME, sine_sweep(amplitude=3.0, frequency=0.2, cycles=2, points_per_cycle=400))
    v = sim.stimulus.value()
    zero = np.abs(v) < 1e-12  # the half-cycle joints (sin(pi) = 1.2e-16 in floating point)
    assert np.count_nonzero(zero) == 5
    assert np.all(np.abs(sim.i[zero]) <= 1e-18) and np.all(sim.i[v == 0.0] == 0.0)
    # a real loop: same voltage, different current on the up and down sweeps
    assert _lobe_area(v[:401], sim.i[:401]) > 0.05 * 3.0 * np.max(np.abs(sim.i))


@pytest.mark.parametrize("method", ["dopri5", "sdirk4"])
def test_loop_area_shrinks_with_frequency_as_in_the_note(method):
    """Device note 1a behaviour 2: 3 V sine, two cycles from x0 = 0.1, area of i(v) of the 2nd cycle
    1.24e-3 / 7.5e-4 / 1.7e-4 V*A at 0.02 / 0.2 / 2 Hz; x range over both cycles 0.186 / 0.140 / 0.106,
    2nd cycle alone 0.186 / 0.093 / 0.020.  Reproduced to half a unit of every quoted last digit (the
    note's numbers are its own LSODA run, not paper data)."""
    n = 2000
    expect = {0.02: (1.24e-3, 0.186, 0.186), 0.2: (7.5e-4, 0.140, 0.093), 2.0: (1.7e-4, 0.106, 0.020)}
    areas = []
    for f, (area, span_all, span_2nd) in expect.items():
        stim = sine_sweep(amplitude=3.0, frequency=f, cycles=2, points_per_cycle=n)
        sim = simulate(NAME, stim, method=method)
        v, x = stim.value(), sim["x"].to_numpy()
        a = _lobe_area(v[n:], sim.i[n:])
        areas.append(a)
        digits = 10.0 ** (math.floor(math.log10(area)) - (1 if f == 0.02 else 0))  # last quoted digit
        assert a == pytest.approx(area, abs=0.5 * digits), (f, a)
        assert np.ptp(x) == pytest.approx(span_all, abs=5e-4), f
        assert np.ptp(x[n:]) == pytest.approx(span_2nd, abs=5e-4), f
    assert areas[0] > areas[1] > areas[2]


# ------------------------------------------------------------------------------------- non-volatility
def test_non_volatile_at_small_bias():
    """Device note 1a behaviour 3: |dx/dt| < 1e-7 /s for |v| <= 0.1 V and x_on + 0.01 <= x <= x_off - 0.01;
    exactly 0 at v = 0 in the bulk; on a bound the window relaxes x inward at c1 (1 - 1/e) = 1.86e-4 /s."""
    m = get_model(NAME)
    p = m.params()
    d = np.empty(1)
    worst = 0.0
    for x in np.linspace(0.11, 0.274, 42):
        for v in np.linspace(-0.1, 0.1, 41):
            m.rhs(np.array([x]), v, 0.0, p, d)
            worst = max(worst, abs(d[0]))
    assert worst < 1e-7
    for x in (0.15, 0.19, 0.23):  # > 0.04 from both bounds: the windows are below rounding
        m.rhs(np.array([x]), 0.0, 0.0, p, d)
        assert d[0] == 0.0
    relax = NETLIST["c1"] * (1.0 - math.exp(-1.0))
    assert relax == pytest.approx(1.86e-4, abs=0.005e-4)
    m.rhs(np.array([0.1]), 0.0, 0.0, p, d)
    assert d[0] == pytest.approx(relax, rel=1e-12)
    m.rhs(np.array([0.284]), 0.0, 0.0, p, d)
    assert d[0] == pytest.approx(-relax, rel=1e-12)
    # retention: 1000 s at +-0.1 V moves a mid-range state by less than 1e-4
    for v in (-0.1, 0.1):
        sim = simulate(NAME, hold(v, 1000.0, points=20), x0={"x": 0.19})
        assert abs(sim["x"].iloc[-1] - 0.19) < 1e-4


# --------------------------------------------------------------------------- potentiation / depression
def test_identical_pulses_give_the_notes_saturating_levels():
    """Device note 1a: 50 identical +2.5 V, 0.1 s pulses from x0 = 0.1 (through R_s/R_p) give x = 0.143
    after the 1st, 0.175 after the 10th and 0.207 after the 50th pulse (within 5e-4, half a unit of the
    quoted digit; ideal edges; the note's numbers are its own LSODA run of the netlist, a cross-check and
    not paper data).  x(n) is monotone and saturating: every increment is smaller than the one before
    (self-compliance)."""
    stim = pulse_train(amplitude=2.5, width=0.1, period=0.2, n=50, rise=0.0, fall=0.0)
    sim = simulate(NAME, stim)
    xn = _write_ends(sim)
    assert xn.size == 50
    assert xn[0] == pytest.approx(0.143, abs=5e-4)
    assert xn[9] == pytest.approx(0.175, abs=5e-4)
    assert xn[49] == pytest.approx(0.207, abs=5e-4)
    dx = np.diff(np.r_[0.1, xn])
    assert np.all(dx > 0) and np.all(np.diff(dx) < 0)
    # note: -2.5 V / 10 ms pulses from x_off bring x back gradually (monotone, shrinking steps)
    down = _write_ends(simulate(NAME, pulse_train(amplitude=-2.5, width=0.01, period=0.03, n=50, rise=0.0,
                                                   fall=0.0), x0={"x": 0.284}))
    ddx = np.diff(np.r_[0.284, down])
    assert np.all(ddx < 0) and np.all(np.diff(ddx) > 0)
    assert 0.2 < down[-1] < 0.25 and -ddx[0] < 0.01  # gradual: no pulse moves x by more than 0.01


def test_default_stimulus_gives_gradual_multilevel_potentiation_and_depression():
    """32 identical +2.5 V pulses then 32 identical -3 V pulses, read at -0.2 V after each: read
    conductance rises monotonically and saturates, then falls back gradually; >= 16 levels that differ
    by more than 0.1 % (a conservative read resolution for a deterministic model; obtained: 32 of 32 in
    each direction, 12 up / 16 down at 1 %) in each direction; state inside its soft bounds."""
    m = get_model(NAME)
    sim = simulate(m, m.default_stimulus)
    g, xr = _reads(sim)
    assert g.size == 64
    up, down = g[:32], g[32:]
    assert np.all(np.diff(up) > 0) and np.all(np.diff(np.diff(up)) < 0)  # monotone, saturating
    assert np.all(np.diff(down) < 0) and np.all(np.diff(np.diff(down)) > 0)
    assert _levels(up, 1e-3) >= 16 and _levels(down, 1e-3) >= 16
    # gradual: no single pulse takes more than 30 % of its branch's excursion; depression returns near x_on
    assert np.max(np.diff(up)) < 0.3 * (up[-1] - up[0])
    assert -np.min(np.diff(np.r_[up[-1], down])) < 0.3 * (up[-1] - down[-1])
    assert xr[31] == pytest.approx(0.1965, abs=5e-4) and xr[-1] < 0.11
    x = sim["x"].to_numpy()
    assert x.min() >= NETLIST["x_on"] - 0.005 and x.max() <= NETLIST["x_off"] + 0.005
    # the read does not disturb the state: x before and after each 20 ms read differ by < 1e-6
    r = (sim.frame["role"] == "read").to_numpy()
    starts = np.flatnonzero(r & ~np.r_[False, r[:-1]])
    ends = np.flatnonzero(r & ~np.r_[r[1:], False])
    assert np.max(np.abs(x[ends] - x[starts])) < 1e-6
    # potentiation is a negative-read effect: at +0.1 V the conductance barely moves (< 5 %)
    p = m.params()
    g_pos = [m.current(np.array([xx]), 0.1, p) / 0.1 for xx in (xr[0], xr[31])]
    assert abs(g_pos[1] / g_pos[0] - 1.0) < 0.05


# ------------------------------------------------------------------------------------------------ bounds
@settings(max_examples=12, deadline=None)
@given(
    amps=st.lists(st.floats(-3.5, 3.5), min_size=2, max_size=8),
    width=st.floats(1e-3, 0.5),
    x0=st.floats(0.1, 0.284),
)
def test_state_stays_within_the_soft_bounds_for_random_pulse_trains(amps, width, x0):
    """Device note 1a behaviour 4: x never leaves [x_on - 0.005, x_off + 0.005]; currents finite."""
    stim = pulse_train(amplitude=amps, width=width, read_v=-0.2)
    sim = simulate(NAME, stim, x0={"x": x0}, rtol=1e-6)
    x = sim["x"].to_numpy()
    assert np.all(np.isfinite(sim.i))
    assert x.min() >= NETLIST["x_on"] - 0.005 and x.max() <= NETLIST["x_off"] + 0.005
