"""VO2 locally active memristor (``vo2_demirkol2022``): Zhang et al. R(T), thermal state, hysteron.

Truth comes from outside the code under test:

* the Zhang et al. code (GitHub ``yuanhangzhang98/collective_dynamics_neuristor``, ``model.py`` /
  ``main.py``, MIT): its constants are typed in again below, its R(T) law is written out again with
  numpy, and its reversal-point bookkeeping (``VO2.reversal``/``g``/``Tpr_func`` with the proximity
  function ``P``) is re-expressed here as a plain-Python reference -- both for R(T) along the code's own
  test path and, with the code's explicit-Euler circuit step, for the relaxation oscillator;
* SciPy's Radau solution (``tests.reference``, rtol 1e-10/1e-12) of a current sweep, of a voltage pulse
  train through a series resistor and of a quasi-static (1 s) sweep;
* the lab's device note (``device_physics_seed.md`` section 2): DC S-curve turning points, C_crit and
  the Hopf boundary, the Pearson-Anson oscillation frequencies (207-218 kHz near onset, 328 kHz at
  12 V, 413 kHz at 14 V, limit cycle up to 15.4 V, rest at 16 V).  Those numbers come from the
  note-writer's own integration of the Zhang equations, not from the Demirkol paper (whose full text was
  not available): they are an independent cross-check of this implementation, not measured data.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from memfit.errors import IntegrationError
from memfit.models import get_model
from memfit.models._kernels import vo2 as k
from memfit.simulate import TestCircuit, hold, parse_stimulus, pulse_train, simulate
from tests.reference import assert_matches_reference, py, scipy_reference

NAME = "vo2_demirkol2022"

# Zhang et al. model.py (class VO2 and Circuit), main.py (T_base, R = 12 kOhm), re-typed.
ZHANG = dict(R0=5.35882879e-03, E_a=5.22047417e03, R_m=262.5 * 4.90025335, T_c=3.32805839e02, w=7.19357064,
             beta=2.52796285e-01, gamma=9.56269682e-01, C_th=49.62776831e-12, S_th=0.20558726e-3, T_amb=325.0)
ZHANG_C = 145.34619293e-12
CELL = TestCircuit(series_resistance=12e3, parallel_capacitance=145e-12)

m = get_model(NAME)
P = m.params()
R_ = py(k.resistance)


# ------------------------------------------------------------------------- Zhang et al., re-expressed
def _zhang_R(T, delta, Tp=0.0):
    """R(T) of model.py on branch delta (+1 heating, -1 cooling), shifted temperature T + Tp [Ohm]."""
    z = ZHANG
    g = 0.5 + 0.5 * np.tanh(z["beta"] * (delta * z["w"] / 2 + z["T_c"] - (T + Tp)))
    return z["R0"] * np.exp(z["E_a"] / T) * g + z["R_m"]


class _ZhangHysteresis:
    """The reversal bookkeeping of model.py (VO2.initialize / reversal / g), one device, plain Python."""

    def __init__(self, T0):
        z = ZHANG
        self.delta, self.rev, self.Tr, self.T_last = 1.0, 0.0, T0, T0
        self.gr = 0.5 + 0.5 * math.tanh(z["beta"] * (z["w"] / 2 + z["T_c"] - T0))
        self.Tpr = self._tpr()

    def _tpr(self):
        z = ZHANG
        return self.delta * z["w"] / 2 + z["T_c"] - math.atanh(2 * self.gr - 1) / z["beta"] - self.Tr

    def g(self, T):
        z = ZHANG
        x = (T - self.Tr) / (self.Tpr + 1e-6)
        prox = 0.5 * (1 - math.sin(z["gamma"] * x)) * (1 + math.tanh(math.pi ** 2 - 2 * math.pi * x))
        tp = self.Tpr * prox * self.rev
        return 0.5 + 0.5 * math.tanh(z["beta"] * (self.delta * z["w"] / 2 + z["T_c"] - (T + tp)))

    def update(self, T):
        dT = T - self.T_last
        if abs(dT) > 0.01:
            d = 1.0 if dT > 0 else -1.0
            if d != self.delta:
                self.gr = self.g(T)
                self.delta, self.rev, self.Tr = d, 1.0, T
                self.Tpr = self._tpr()
            self.T_last = T

    def R(self, T):
        z = ZHANG
        return z["R0"] * math.exp(z["E_a"] / T) * self.g(T) + z["R_m"]


def _zhang_cell_frequency(V, t_end=50e-6, dt=1e-9, t_skip=15e-6):
    """Zhang's Circuit.solve for one cell (explicit Euler, bookkeeping every step), no noise; f [Hz]."""
    z = ZHANG
    T, v = z["T_amb"] - 0.1, 0.0
    hy = _ZhangHysteresis(T)
    rs, c = 12e3, ZHANG_C
    n = int(t_end / dt)
    ts, cur = np.empty(n), np.empty(n)
    for j in range(n):
        hy.update(min(max(T, 305.0), 370.0))
        R = hy.R(min(max(T, 305.0), 370.0))
        i = v / R
        dv = (V - v) / (rs * c) - i / c
        dT = (i * i * R - z["S_th"] * (T - z["T_amb"])) / z["C_th"]
        v += dv * dt
        T += dT * dt
        ts[j], cur[j] = (j + 1) * dt, i
    return _frequency(ts, cur, t_skip)[0]


# ------------------------------------------------------------------------------------------ helpers
def _frequency(t, i, t_skip):
    """(frequency [Hz], peak-to-peak [A], number of periods) from rising mid-level crossings after t_skip."""
    sel = t > t_skip
    t, i = t[sel], i[sel]
    pp = float(i.max() - i.min())
    if pp <= 1e-7:
        return 0.0, pp, 0
    mid = 0.5 * (i.max() + i.min())
    up = np.nonzero((i[:-1] < mid) & (i[1:] >= mid))[0]
    tc = t[up] + (mid - i[up]) / (i[up + 1] - i[up]) * (t[up + 1] - t[up])
    if tc.size < 3:
        return 0.0, pp, 0
    return (tc.size - 1) / (tc[-1] - tc[0]), pp, tc.size - 1


def _steady_branch(xi, T_amb=325.0):
    """Current-forced DC S-curve on a major branch (T_p = T): arrays I, V, T."""
    p = m.params(T_amb=T_amb)
    T = np.linspace(T_amb + 1e-3, 400.0, 40001)
    R = np.array([R_(t, t, xi, p) for t in T])
    I = np.sqrt(p[k.P_STH] * (T - T_amb) / R)
    return I, I * R, T


def _turning_points(I, V, T):
    dV = np.diff(V)
    idx = np.nonzero(np.sign(dV[1:]) != np.sign(dV[:-1]))[0] + 1
    return [(I[j], V[j], T[j]) for j in idx]


def _v_rel_error(sim, ref, floor=1e-3):
    v, r = sim.frame["v_dev"].to_numpy(), ref["v_dev"]
    mask = np.abs(r) > floor * np.abs(r).max()
    return float(np.max(np.abs(v[mask] - r[mask]) / np.abs(r[mask])))


# ------------------------------------------------------------------------------- declaration, port
def test_registered_under_alias_with_the_zhang_constants():
    assert get_model("vo2") is m
    assert m.stiff and m.port == "i(v)"
    assert [s.name for s in m.states] == ["T", "T_p", "xi"]
    d = m.defaults()
    for name, value in ZHANG.items():
        assert d[name] == pytest.approx(value, rel=1e-12), name
    assert d["delta"] == 0.01  # model.py reversal(): dT.abs().max() > 0.01
    assert d["R_s"] == 0.0 and d["R_p"] >= 1e16
    x0 = m.initial_state()
    assert x0.tolist() == [325.0, 325.0, 1.0]  # model.py: initialize() on the heating branch
    assert m.reference.doi == "10.35848/1347-4065/ac8489"


@pytest.mark.nojit
def test_major_loop_is_the_zhang_heating_cooling_pair():
    """xi = +-1 (T_p = T) gives model.py's g_major for delta = +-1; the note's loop numbers."""
    for T in (305.0, 320.0, 330.0, 333.0, 336.0, 340.0, 350.0, 360.0, 370.0):
        for xi, delta in ((1.0, 1.0), (-1.0, -1.0)):
            assert R_(T, T, xi, P) == pytest.approx(_zhang_R(T, delta), rel=1e-12)
    # device note, section 2a (its own evaluation of the Zhang R(T)): 147 kOhm at 305 K, 39.5 kOhm heating vs
    # 17.2 kOhm cooling at 330 K, 1.29 kOhm at 360 K
    assert R_(305.0, 305.0, 1.0, P) == pytest.approx(147e3, rel=5e-3)
    assert R_(330.0, 330.0, 1.0, P) == pytest.approx(39.5e3, rel=5e-3)
    assert R_(330.0, 330.0, -1.0, P) == pytest.approx(17.2e3, rel=5e-3)
    assert R_(360.0, 360.0, 1.0, P) == pytest.approx(1.29e3, rel=5e-3)
    # port: pinched, odd in v, ohmic at fixed state
    cur = py(m.current)
    x = np.array([335.0, 335.0, 0.3])
    assert cur(x, 0.0, P) == 0.0
    assert cur(x, -2.0, P) == -cur(x, 2.0, P)
    assert cur(x, 2.0, P) == pytest.approx(2.0 / R_(335.0, 335.0, 0.3, P), rel=1e-14)


@pytest.mark.nojit
def test_parasitic_resistors_obey_the_divider():
    p = m.params(R_s=5e3, R_p=1e6)
    x = np.array([340.0, 340.0, 1.0])
    r = R_(340.0, 340.0, 1.0, p)
    for v in (0.3, 4.0, -7.0):
        i = py(m.current)(x, v, p)
        u = v - p[k.P_RS] * i
        assert i == pytest.approx(u / r + u / 1e6, rel=1e-12)
        # only the core (u^2/R) heats
        d = np.empty(3)
        py(m.rhs)(x, v, 0.0, p, d)
        assert d[0] == pytest.approx((u * u / r - p[k.P_STH] * (340.0 - 325.0)) / p[k.P_CTH], rel=1e-12)


def test_internal_series_resistor_equals_an_external_one():
    stim = pulse_train(amplitude=[9.0, 13.0], width=2e-6, period=5e-6, rise=5e-8, fall=5e-8)
    a = simulate(m, stim, params={"R_s": 3e3}).frame
    b = simulate(m, stim, series_resistance=3e3).frame
    np.testing.assert_allclose(a["T"], b["T"], rtol=1e-7)
    np.testing.assert_allclose(a["i"], b["i"], rtol=1e-6, atol=1e-10)


# ---------------------------------------------------------------------------------- the hysteron
def _duhem_path(legs, n=300):
    """Integrate xi along a prescribed temperature path (T_p = T) with the kernel's rhs; R(T) on it."""
    rhs = py(m.rhs)
    d = np.empty(3)
    xi = 1.0
    Ts, Rs = [], []
    for a, b in zip(legs[:-1], legs[1:]):
        s = 1.0 if b > a else -1.0

        def f(T, y, s=s):
            # T - T_p = +-1.5 delta sets the direction; dxi/dT_p = (dxi/dt)/(dT_p/dt) is rate-independent
            rhs(np.array([T + 1.5 * s * P[k.P_DELTA], T, y[0]]), 0.0, 0.0, P, d)
            return [d[2] / d[1]]

        TT = np.linspace(a, b, n)
        sol = solve_ivp(f, (a, b), [xi], t_eval=TT, rtol=1e-11, atol=1e-13, method="LSODA")
        Ts.extend(TT)
        Rs.extend(R_(T, T, x, P) for T, x in zip(TT, sol.y[0]))
        xi = sol.y[0, -1]
    return np.array(Ts), np.array(Rs)


def test_minor_loops_follow_the_zhang_bookkeeping():
    """model.py's own hysteresis demo path (0.03 K grid): major legs exact, minor curves within 1 %, R continuous."""
    legs = [325.0, 360.0, 325.0, 360.0, 330.0, 360.0, 335.0, 360.0]
    n = 1000
    Ts, Rd = _duhem_path(legs, n)
    hy = _ZhangHysteresis(Ts[0])
    Rz = []
    for T in Ts:
        hy.update(T)
        Rz.append(hy.R(T))
    rel = np.abs(Rd / np.array(Rz) - 1.0)
    per_leg = rel.reshape(len(legs) - 1, n).max(axis=1)
    assert per_leg[0] < 1e-12  # the first heating leg is the heating branch itself
    assert max(per_leg[1], per_leg[3], per_leg[5]) < 1e-4  # cooling from 360 K reaches the cooling branch
    assert per_leg.max() < 1e-2  # minor curves after reversals at 325, 330 and 335 K (measured 0.81 %)
    # R continuous across reversals, and every state inside the major loop
    assert np.max(np.abs(np.diff(np.log(Rd)))) < 0.05
    lo = np.array([R_(T, T, -1.0, P) for T in Ts])
    hi = np.array([R_(T, T, 1.0, P) for T in Ts])
    assert np.all(Rd >= lo * (1 - 1e-9)) and np.all(Rd <= hi * (1 + 1e-9))


# ------------------------------------------------------------------------ DC S-curve, current sweeps
def test_dc_s_curve_turning_points_match_the_note():
    """Note: heating NDR 0.236 mA (7.09 V, 333.1 K) -> 1.77 mA (2.49 V, 346.4 K); cooling 0.179 mA (4.38 V) ->
    1.39 mA (2.06 V).  Tolerance 1 % in I, 0.5 % in V (the note gives three digits)."""
    (i1, v1, t1), (i2, v2, t2) = _turning_points(*_steady_branch(1.0))
    assert (i1, v1) == (pytest.approx(0.236e-3, rel=1e-2), pytest.approx(7.09, rel=5e-3))
    assert (i2, v2) == (pytest.approx(1.77e-3, rel=1e-2), pytest.approx(2.49, rel=5e-3))
    assert t1 == pytest.approx(333.1, abs=0.1) and t2 == pytest.approx(346.4, abs=0.1)
    (c1, w1, _), (c2, w2, _) = _turning_points(*_steady_branch(-1.0))
    assert (c1, w1) == (pytest.approx(0.179e-3, rel=1e-2), pytest.approx(4.38, rel=5e-3))
    assert (c2, w2) == (pytest.approx(1.39e-3, rel=1e-2), pytest.approx(2.06, rel=5e-3))


def test_current_sweep_shows_ndr_and_hysteresis():
    """isweep 0 -> 3 mA -> 0 (1 ms, quasi-static for tau_th = 241 ns): heating S-curve up, cooling S-curve down."""
    sim = simulate(m, parse_stimulus("isweep(imax=3e-3, imin=0, f=1e3, points=6000)"))
    assert sim.meta["method"] == "sdirk4"  # stiff=True: method="auto" picks the implicit integrator
    f = sim.frame
    top = int(np.argmax(f["i"].to_numpy()))
    up, down = f.iloc[: top + 1], f.iloc[top:]
    I, V = up["i"].to_numpy(), up["v_dev"].to_numpy()
    assert np.all(up["xi"] == 1.0)  # heating branch all the way up
    (i1, v1, _), (i2, v2, _) = _turning_points(I, V, I)
    assert (i1, v1) == (pytest.approx(0.236e-3, rel=2e-2), pytest.approx(7.09, rel=1e-2))
    assert (i2, v2) == (pytest.approx(1.77e-3, rel=2e-2), pytest.approx(2.49, rel=1e-2))
    ndr = (I > 1.05 * i1) & (I < 0.95 * i2)
    assert np.all(np.diff(V[ndr]) / np.diff(I[ndr]) < 0.0)  # dV/dI < 0 between the turning points
    Id, Vd = down["i"].to_numpy()[::-1], down["v_dev"].to_numpy()[::-1]
    (c1, w1, _), (c2, w2, _) = _turning_points(Id, Vd, Id)
    assert (c1, w1) == (pytest.approx(0.179e-3, rel=2e-2), pytest.approx(4.38, rel=1e-2))
    assert (c2, w2) == (pytest.approx(1.39e-3, rel=2e-2), pytest.approx(2.06, rel=1e-2))
    assert down["xi"].iloc[-1] == pytest.approx(-1.0, abs=1e-9)  # came down on the cooling branch
    # hysteresis: at 1 mA the heating branch needs ~1 V more than the cooling branch (3.31 V vs 2.25 V)
    v_up = np.interp(1e-3, I, V)
    v_dn = np.interp(1e-3, Id, Vd)
    assert v_up == pytest.approx(3.31, rel=1e-2) and v_dn == pytest.approx(2.25, rel=1e-2)
    assert f["v_dev"].iloc[-1] == 0.0  # the loop closes at zero current (volatile)


# ------------------------------------------------------------------------------ reference solutions
@pytest.mark.parametrize("method", ["sdirk4", "dopri5"])
def test_current_sweep_matches_radau(method):
    stim = parse_stimulus("isweep(imax=3e-3, imin=0, f=1e4, points=300)")
    ref = scipy_reference(m, stim)
    sim = simulate(m, stim, method=method, rtol=1e-10, atol=1e-12)
    assert _v_rel_error(sim, ref) < 1e-6  # measured 7.6e-9 (sdirk4), 1.6e-8 (dopri5)
    assert np.max(np.abs(sim.frame["xi"].to_numpy() - ref["x"][:, 2])) < 1e-6


@pytest.mark.parametrize("method", ["sdirk4", "dopri5"])
def test_pulse_train_through_series_resistor_matches_radau(method):
    """6 V (sub-threshold), 10 V and 14 V (switching, T up to 438 K) pulses through 2 kOhm."""
    stim = pulse_train(amplitude=[6.0, 10.0, 14.0], width=2e-6, period=6e-6, rise=1e-7, fall=1e-7)
    ref = scipy_reference(m, stim, series_resistance=2e3)
    sim = simulate(m, stim, method=method, series_resistance=2e3, rtol=1e-10, atol=1e-12)
    assert_matches_reference(sim, ref, rtol=1e-6)  # measured 1.9e-8 (sdirk4), 6.1e-9 (dopri5)
    assert sim.frame["T"].max() > 400.0 and sim.frame["xi"].min() == pytest.approx(-1.0, abs=1e-6)


def test_implicit_solver_stable_where_explicit_fails():
    """A quasi-static 1 s SMU sweep of a device with tau_th = 241 ns: dopri5 runs out of a 100,000-step budget
    within the first sixth of the sweep, sdirk4 needs ~2,000 steps and agrees with Radau (rtol 1e-12)."""
    stim = parse_stimulus("isweep(imax=3e-3, imin=0, f=1, points=300)")
    with pytest.raises(IntegrationError, match="step budget"):
        simulate(m, stim, method="dopri5", max_steps=100_000)
    fast = simulate(m, stim, method="sdirk4")
    assert fast.meta["steps"] + fast.meta["rejected"] < 5_000
    ref = scipy_reference(m, stim, rtol=1e-12)
    assert _v_rel_error(fast, ref) < 1e-5  # measured 4e-7 at the default rtol 1e-8
    tight = simulate(m, stim, method="sdirk4", rtol=1e-10, atol=1e-12)
    assert _v_rel_error(tight, ref) < 1e-6  # measured 5e-9
    # quasi-static: the sweep traces the DC S-curve (turning point of the heating branch)
    f = tight.frame
    top = int(np.argmax(f["i"].to_numpy()))
    (i1, v1, _), _ = _turning_points(f["i"].to_numpy()[: top + 1], f["v_dev"].to_numpy()[: top + 1],
                                     f["i"].to_numpy()[: top + 1])
    assert v1 == pytest.approx(7.09, rel=1e-2)


# --------------------------------------------------------------------------------------- volatility
def test_temperature_relaxes_with_the_thermal_time_constant():
    """After a switching pulse, at v = 0: T - T_amb ~ exp(-t S_th/C_th), tau = 241.4 ns; the phase state rests
    on the cooling branch (T_amb = 325 K lies inside the loop), so R at rest is lower than before the pulse."""
    stim = pulse_train(amplitude=14.0, width=2e-6, n=1, period=2.2e-6, rise=1e-8, fall=1e-8) + hold(
        0.0, 4e-6, points=401)
    sim = simulate(m, stim, series_resistance=2e3, rtol=1e-10, atol=1e-12)
    f = sim.frame
    t_end_pulse = 2e-6 + 2e-8
    rest = f[(f["t"] > t_end_pulse + 1e-8) & (f["T"] - 325.0 > 0.05)]
    slope = np.polyfit(rest["t"], np.log(rest["T"] - 325.0), 1)[0]
    tau = ZHANG["C_th"] / ZHANG["S_th"]
    assert -1.0 / slope == pytest.approx(tau, rel=2e-3)
    assert tau == pytest.approx(241.4e-9, rel=1e-3)
    last = f.iloc[-1]
    assert last["T"] - 325.0 < 1e-5 and last["xi"] == pytest.approx(-1.0, abs=1e-9)
    r_before = R_(325.0, 325.0, 1.0, P)
    r_after = R_(last["T"], last["T_p"], last["xi"], P)
    assert r_after == pytest.approx(R_(325.0, 325.0, -1.0, P), rel=1e-3)
    assert 0.85 < r_after / r_before < 0.95  # 51.8 kOhm -> 46.6 kOhm


# ------------------------------------------------------------- Pearson-Anson oscillator (12 kOhm, 145 pF)
def _cell(V, duration):
    sim = simulate(m, hold(V, duration, points=int(round(duration / 20e-9))), circuit=CELL)
    f = sim.frame
    return f["t"].to_numpy(), f["i_dev"].to_numpy(), f


@pytest.mark.parametrize("V", [9.9, 10.0])
def test_no_oscillation_up_to_10_volts(V):
    t, i, _ = _cell(V, 100e-6)
    tail = i[t > 70e-6]
    assert tail.max() - tail.min() < 1e-7  # at rest (the cell's current is ~0.3 mA)


@pytest.mark.parametrize(
    "V, f_note",
    [(10.1, 207e3), (10.2, 218e3), (12.0, 328e3), (14.0, 413e3)],
)
def test_oscillation_frequencies_match_the_note(V, f_note):
    """>= 20 periods after a 25 us start-up; measured 207.1, 218.1, 329.2, 415.4 kHz; tolerance 1.5 %
    (the note's numbers are rounded and were integrated with C = 145.35 pF, 0.24 % more than here)."""
    duration = 25e-6 + 22.0 / f_note
    t, i, f = _cell(V, duration)
    freq, pp, periods = _frequency(t, i, 25e-6)
    assert periods >= 20
    assert freq == pytest.approx(f_note, rel=1.5e-2)
    assert 3e-3 < pp < 5e-3  # note: ~4 mA peak-to-peak
    late = f[f["t"] > 25e-6]
    assert 326.0 < late["T"].min() < 330.0 and 362.0 < late["T"].max() < 376.0  # note: T swings ~327-370 K


def test_oscillation_ends_metallic_above_15_4_volts():
    """Note: limit cycle up to 15.4 V (562 kHz), 15.5 V decays, >= 16 V rests metallic."""
    t, i, _ = _cell(15.4, 65e-6)
    freq, _, periods = _frequency(t, i, 25e-6)
    assert periods >= 20 and freq == pytest.approx(562e3, rel=1.5e-2)  # measured 566.5 kHz
    for V in (15.5, 16.0):
        t, i, f = _cell(V, 60e-6)
        tail = i[t > 40e-6]
        assert tail.max() - tail.min() < 1e-7
        r_dev = f["v_dev"].iloc[-1] / f["i_dev"].iloc[-1]
        assert r_dev < 3e3  # metallic side (insulating at 325 K: 46 kOhm)


def test_oscillation_agrees_with_the_zhang_bookkeeping():
    """Our hysteron vs the Zhang code's per-step reversal bookkeeping (explicit Euler, dt = 1 ns), 12 V."""
    f_zhang = _zhang_cell_frequency(12.0)
    circ = TestCircuit(series_resistance=12e3, parallel_capacitance=ZHANG_C)
    sim = simulate(m, hold(12.0, 50e-6, points=2500), circuit=circ)
    f_ours = _frequency(sim.frame["t"].to_numpy(), sim.frame["i_dev"].to_numpy(), 15e-6)[0]
    assert f_zhang == pytest.approx(328.8e3, rel=5e-3)  # the code itself reproduces the note's 328 kHz
    assert f_ours == pytest.approx(f_zhang, rel=5e-3)  # measured 328.6 vs 328.8 kHz


def test_hopf_boundary_of_the_heating_branch():
    """Small-signal cell on the heating branch (T_p = T, xi = 1): C_crit = 612 / 174 / 119 pF at 9.96 / 10.05 /
    10.10 V (note), i.e. the fixed point loses stability between 10.05 and 10.10 V at ~210 kHz."""
    rs, c = 12e3, 145e-12
    s_th, c_th, t_amb = ZHANG["S_th"], ZHANG["C_th"], ZHANG["T_amb"]

    def R(T):
        return R_(T, T, 1.0, P)

    def fixed_point(V):
        h = lambda T: (V * R(T) / (R(T) + rs)) ** 2 / R(T) - s_th * (T - t_amb)  # noqa: E731
        T = brentq(h, 326.0, 345.0, xtol=1e-12)
        return T, V * R(T) / (R(T) + rs)

    def analysis(V):
        T, v = fixed_point(V)
        r = R(T)
        dG = ((1 / R(T + 1e-4)) - (1 / R(T - 1e-4))) / 2e-4
        b = (s_th + v * v * dG) / c_th
        z0 = r * (s_th - v * v * dG) / (s_th + v * v * dG)
        c_crit = (1 + r / rs) / (b * abs(z0))
        # Jacobian of C dv/dt = (V - v)/R_s - v/R(T),  C_th dT/dt = v^2/R(T) - S_th (T - T_amb)
        dR = (R(T + 1e-4) - R(T - 1e-4)) / 2e-4
        J = np.array([[(-1 / rs - 1 / r) / c, v * dR / (r * r * c)],
                      [2 * v / (r * c_th), (-v * v * dR / (r * r) - s_th) / c_th]])
        return c_crit, np.linalg.eigvals(J)

    for V, note in ((9.96, 612e-12), (10.05, 174e-12), (10.10, 119e-12)):
        c_crit, ev = analysis(V)
        assert c_crit == pytest.approx(note, rel=3e-2)
        assert (ev.real.max() < 0) == (c < c_crit)
    assert analysis(10.05)[1].real.max() < 0 < analysis(10.10)[1].real.max()
    f_hopf = abs(analysis(10.10)[1].imag).max() / (2 * math.pi)
    assert f_hopf == pytest.approx(210e3, rel=5e-2)


# ------------------------------------------------------------------------------------------- bounds
EDGE_PARAMS = ["R0", "E_a", "R_m", "T_c", "w", "beta", "gamma", "eps", "delta", "C_th", "S_th", "T_amb", "R_s", "R_p"]


@pytest.mark.parametrize("name", EDGE_PARAMS)
def test_parameter_edges_simulate_within_physical_limits(name):
    stim = parse_stimulus("isweep(imax=3e-3, imin=0, f=1e4, points=200)")
    q = m.parameter(name)
    for edge in (q.lower, q.upper):
        p = m.params({name: edge})
        f = simulate(m, stim, params={name: edge}, max_steps=200_000).frame
        states = f[["T", "T_p", "xi"]].to_numpy()
        assert np.all(np.isfinite(states)) and np.all(np.isfinite(f["v"]))
        assert f["T"].min() >= p[k.P_TAMB] - 1e-9 and f["T"].max() <= 1500.0
        assert f["xi"].between(-1.0, 1.0).all()
        assert np.all(f["i"] * f["v_dev"] >= 0.0)  # passive


@settings(max_examples=8, deadline=None)
@given(
    amps=st.lists(st.floats(0.0, 16.0), min_size=1, max_size=3),
    width=st.floats(0.2e-6, 4e-6),
    rs=st.floats(1e3, 2e4),
)
def test_random_pulse_trains_respect_the_physics(amps, width, rs):
    """Joule heating only: T_amb <= T <= T_amb + V^2/(4 R_s S_th) (maximum power transfer), and so is T_p;
    xi in [-1, 1]; the device is passive."""
    stim = pulse_train(amplitude=amps, width=width, period=3 * width, rise=5e-8, fall=5e-8)
    f = simulate(m, stim, series_resistance=rs).frame
    t_max = 325.0 + max(amps) ** 2 / (4 * rs * ZHANG["S_th"])
    assert f["T"].min() >= 325.0 - 1e-9 and f["T"].max() <= t_max + 1e-6
    assert f["T_p"].min() >= 325.0 - 1e-9 and f["T_p"].max() <= t_max + 1e-6  # a play stays within its input's range
    assert f["xi"].between(-1.0, 1.0).all()
    assert np.all(f["i"] * f["v_dev"] >= 0.0)
