"""Integrators: tableaux against order conditions, closed-form solutions, breakpoints, stiffness, budgets, batches."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from memfit.errors import IntegrationError, ParameterError
from memfit.simulate import hold, pulse_train, simulate, simulate_batch, sine_sweep
from memfit.simulate._kernels import integrators as K
from tests.simulate.toy_models import FLUXMETER, RELAXATION

METHODS = ["dopri5", "sdirk4"]


# ----------------------------------------------------------------- tableaux
def _order_conditions(A, b, c, order):
    """Residuals of the Runge-Kutta order conditions up to ``order`` (Butcher trees up to 5 nodes)."""
    res = [b.sum() - 1]
    if order >= 2:
        res.append(b @ c - 1 / 2)
    if order >= 3:
        res += [b @ c**2 - 1 / 3, b @ (A @ c) - 1 / 6]
    if order >= 4:
        res += [b @ c**3 - 1 / 4, b @ (c * (A @ c)) - 1 / 8, b @ (A @ c**2) - 1 / 12, b @ (A @ A @ c) - 1 / 24]
    if order >= 5:
        Ac = A @ c
        res += [
            b @ c**4 - 1 / 5,
            b @ (c**2 * Ac) - 1 / 10,
            b @ (c * (A @ c**2)) - 1 / 15,
            b @ (c * (A @ Ac)) - 1 / 30,
            b @ (Ac**2) - 1 / 20,
            b @ (A @ c**3) - 1 / 20,
            b @ (A @ (c * Ac)) - 1 / 40,
            b @ (A @ A @ c**2) - 1 / 60,
            b @ (A @ A @ A @ c) - 1 / 120,
        ]
    return np.abs(res)


def test_dormand_prince_tableau():
    A = np.zeros((7, 7))
    A[:, :6] = K.DP_A
    c = K.DP_C
    np.testing.assert_allclose(A.sum(axis=1), c, atol=1e-15)
    assert _order_conditions(A, K.DP_B, c, 5).max() < 1e-14
    b_hat = K.DP_B - K.DP_E
    assert _order_conditions(A, b_hat, c, 4).max() < 1e-14
    assert _order_conditions(A, b_hat, c, 5).max() > 1e-5  # the embedded method is really order 4
    # dense output: at theta = 1 it reproduces the 5th-order solution
    np.testing.assert_allclose(K.DP_P.sum(axis=1), K.DP_B, atol=1e-14)


def test_sdirk4_tableau_is_order4_and_L_stable():
    A, b, c, bh = K.SD_A, K.SD_B, K.SD_C, K.SD_BHAT
    np.testing.assert_allclose(A.sum(axis=1), c, atol=1e-15)
    np.testing.assert_allclose(np.diag(A), K.SD_GAMMA)
    assert _order_conditions(A, b, c, 4).max() < 1e-13
    assert _order_conditions(A, bh, c, 3).max() < 1e-13
    np.testing.assert_array_equal(A[-1], b)  # stiffly accurate
    # stability function R(z) = 1 + z b^T (I - zA)^-1 1 -> 0 as z -> -inf (L-stability)
    for z in (-1e6, -1e9):
        R = 1 + z * b @ np.linalg.solve(np.eye(5) - z * A, np.ones(5))
        assert abs(R) < 1e-5
    # A-stability on the imaginary axis: |R(iy)| <= 1
    for y in np.logspace(-3, 4, 50):
        z = 1j * y
        R = 1 + z * b @ np.linalg.solve(np.eye(5) - z * A, np.ones(5))
        assert abs(R) <= 1 + 1e-12


# ---------------------------------------------------------- closed forms
@pytest.mark.parametrize("method", METHODS)
def test_hp_no_window_closed_form(method):
    """Strukov model without window: M(t)^2 = M0^2 - 2 k dR phi(t) while x stays inside (0, 1)."""
    v0, f = 0.3, 1.0
    sim = simulate("strukov2008", sine_sweep(amplitude=v0, frequency=f, cycles=2, points_per_cycle=300),
                   method=method, rtol=1e-10)
    p = sim.meta["params"]
    k = p["mu_v"] * p["R_on"] / p["D"] ** 2
    dR = p["R_off"] - p["R_on"]
    x0 = sim.meta["x0"]["x"]
    M0 = p["R_on"] * x0 + p["R_off"] * (1 - x0)
    t = sim.t
    phi = v0 * (1 - np.cos(2 * np.pi * f * t)) / (2 * np.pi * f)
    M = np.sqrt(M0**2 - 2 * k * dR * phi)
    x = sim["x"].to_numpy()
    np.testing.assert_allclose(p["R_on"] * x + p["R_off"] * (1 - x), M, rtol=2e-8)
    i_exact = v0 * np.sin(2 * np.pi * f * t) / M
    assert np.max(np.abs(sim.i - i_exact)) < 1e-7 * np.max(np.abs(i_exact))


@pytest.mark.nojit
@pytest.mark.parametrize("method", METHODS)
def test_steps_land_exactly_on_pulse_edges(method):
    """With ideal (zero-rise) pulses the flux is piecewise linear; stepping across an edge would smear it."""
    stim = pulse_train(amplitude=[1.0, -0.7, 0.4], width=1e-3, period=3.7e-3, rise=0.0, fall=0.0, read_v=0.05,
                       read_width=2e-4, read_delay=5e-4, points_per_pulse=4)
    sim = simulate(FLUXMETER, stim, method=method, rtol=1e-6, atol=1e-12)
    v = stim.value()
    # exact flux: integral of the right-continuous piecewise-constant source
    seg = stim.segments
    flux_at_bp = np.concatenate([[0.0], np.cumsum(seg[:, 3] * (seg[:, 1] - seg[:, 0]))])
    k = stim.segment_index()
    exact = flux_at_bp[k] + seg[k, 3] * (stim.t - seg[k, 0])
    exact[-1] = flux_at_bp[-1]
    np.testing.assert_allclose(sim["phi"].to_numpy(), exact, rtol=0, atol=1e-15)
    np.testing.assert_allclose(sim.i, v / 1e3, rtol=1e-15)


def _relaxation_exact(t, A, w, tau):
    a = w * tau
    return A / (1 + a * a) * (np.sin(w * t) - a * np.cos(w * t) + a * np.exp(-t / tau))


def test_implicit_method_handles_stiffness_where_explicit_crawls():
    tau, A, f = 1e-6, 1.0, 1.0
    stim = sine_sweep(amplitude=A, frequency=f, cycles=1, points_per_cycle=200)
    ex = _relaxation_exact(stim.t, A, 2 * np.pi * f, tau)
    imp = simulate(RELAXATION, stim, params={"tau": tau}, method="sdirk4", rtol=1e-8)
    assert np.max(np.abs(imp["x"].to_numpy() - ex)) < 1e-8
    assert imp.meta["steps"] < 10_000  # steps follow the drive (1 Hz), not tau (1 us)
    exp_ = simulate(RELAXATION, stim, params={"tau": tau}, method="dopri5", rtol=1e-8)
    assert np.max(np.abs(exp_["x"].to_numpy() - ex)) < 1e-7
    assert exp_.meta["steps"] > 30 * imp.meta["steps"]  # explicit stability limit h ~ 3 tau
    assert RELAXATION.stiff and simulate(RELAXATION, stim, params={"tau": tau}).meta["method"] == "sdirk4"


def test_step_budget_ends_in_a_clear_error_not_a_hang():
    stim = sine_sweep(amplitude=1.0, frequency=1.0, cycles=1)
    with pytest.raises(IntegrationError, match=r"step budget \(max_steps=500\).*method='sdirk4'"):
        simulate(RELAXATION, stim, params={"tau": 1e-9}, method="dopri5", max_steps=500)


@pytest.mark.parametrize("method", METHODS)
def test_tolerance_controls_the_error(method):
    """Tighter rtol -> smaller error against the closed form (convergence, not a lucky tolerance)."""
    stim = sine_sweep(amplitude=1.0, frequency=1.0, cycles=1, points_per_cycle=50)
    tau = 0.05
    ex = _relaxation_exact(stim.t, 1.0, 2 * np.pi, tau)
    errs = []
    for rtol in (1e-4, 1e-7, 1e-10):
        sim = simulate(RELAXATION, stim, params={"tau": tau}, method=method, rtol=rtol, atol=rtol)
        errs.append(np.max(np.abs(sim["x"].to_numpy() - ex)))
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 1e-9


def test_hold_with_log_spaced_output_is_cheap():
    """Retention-style holds: output times over decades cost few steps (the state does not move)."""
    stim = pulse_train(amplitude=1.2, width=1e-3, n=1) + hold(0.0, 1e5, points=60, log=True)
    sim = simulate("biolek2009", stim)
    assert sim.meta["steps"] < 400
    x = sim["x"].to_numpy()
    np.testing.assert_allclose(x[-60:], x[-60], rtol=0, atol=1e-15)  # no drive, no motion


# ------------------------------------------------------------------ batch
def test_batch_equals_single_runs():
    rng = np.random.default_rng(1)
    from memfit.models import get_model

    m = get_model("biolek2009")
    P = np.tile(m.params(), (6, 1))
    P[:, 0] *= rng.uniform(0.9, 1.1, 6)  # R_on
    P[:, 3] *= rng.uniform(0.9, 1.1, 6)  # mu_v
    stim = sine_sweep(amplitude=1.2, frequency=1.0, cycles=1, points_per_cycle=100)
    for method in METHODS:
        b = simulate_batch(m, stim, P, method=method)
        assert b.status.tolist() == [0] * 6
        for d in (0, 3, 5):
            s = simulate(m, stim, P[d], method=method)
            np.testing.assert_allclose(b.i[d], s.i, rtol=1e-13, atol=0)
            np.testing.assert_allclose(b.x[d, :, 0], s["x"].to_numpy(), rtol=1e-13)
        assert b.steps == b.stats[:, 0].sum() > 0


@pytest.mark.parametrize("method", METHODS)
def test_batch_rows_with_their_own_thresholds_equal_single_runs(method, monkeypatch):
    """A population with a spread of switching thresholds (20 distinct pairs: more than one shared
    table would be cut at): each device is cut at its own thresholds, as when simulated alone, so
    the batch reproduces the single runs bit for bit.  Past the table budget all rows share one
    table (here uncut: 40 levels), and agree with the single runs only to ~1e-4 (dopri5) or ~1e-3
    (sdirk4) of the peak current at rtol 1e-7: a step across a kink of the rate (alpha = 1) loses
    its order."""
    from memfit.models import get_model
    from memfit.simulate import core

    m = get_model("vteam")
    rng = np.random.default_rng(3)
    n = 20
    P = np.tile(m.params(R_on=1e3, R_off=1e5, k_off=0.35, k_on=-0.35, alpha_off=1.0, alpha_on=1.0), (n, 1))
    P[:, m.param_names.index("v_off")] = rng.uniform(0.25, 0.35, n)
    P[:, m.param_names.index("v_on")] = -rng.uniform(0.25, 0.35, n)
    stim = sine_sweep(amplitude=1.0, frequency=1.0, cycles=2, points_per_cycle=100)
    kw = dict(method=method, rtol=1e-7, atol=1e-9)
    b = simulate_batch(m, stim, P, np.full((n, 1), 0.1), **kw)
    singles = [simulate(m, stim, P[d], {"x": 0.1}, **kw) for d in range(n)]
    for d in range(n):
        np.testing.assert_array_equal(b.i[d], singles[d]["i"].to_numpy())
    monkeypatch.setattr(core, "_MAX_CUT_ROWS", 1)
    shared = simulate_batch(m, stim, P, np.full((n, 1), 0.1), **kw)
    for d in range(n):
        i_ref = singles[d]["i"].to_numpy()
        np.testing.assert_allclose(shared.i[d], i_ref, rtol=0, atol=5e-3 * np.max(np.abs(i_ref)))
    assert not np.array_equal(shared.i, b.i)  # the uncut table does integrate differently


def test_batch_record_modes_and_dataframe_params():
    import pandas as pd

    stim = sine_sweep(amplitude=1.2, frequency=1.0, cycles=1, points_per_cycle=40)
    full = simulate_batch("biolek2009", stim, pd.DataFrame({"R_on": [100.0, 120.0]}), record="all")
    cur = simulate_batch("biolek2009", stim, pd.DataFrame({"R_on": [100.0, 120.0]}), record="current")
    fin = simulate_batch("biolek2009", stim, pd.DataFrame({"R_on": [100.0, 120.0]}), record="final")
    assert full.i.shape == (2, len(stim)) and full.x.shape == (2, len(stim), 1)
    assert cur.i.shape == (2, len(stim)) and cur.x.shape == (2, 1, 1)
    assert fin.i.shape == (2, 1)
    np.testing.assert_allclose(cur.final_state, full.final_state, rtol=1e-14)
    np.testing.assert_allclose(fin.i[:, 0], full.i[:, -1], rtol=1e-14)
    with pytest.raises(ParameterError, match="no parameter"):
        simulate_batch("biolek2009", stim, pd.DataFrame({"Ron": [1.0]}))
    with pytest.raises(ParameterError, match=r"'R_on' = -1 Ohm is outside its bounds.*row 1"):
        simulate_batch("biolek2009", stim, [{"R_on": 100.0}, {"R_on": -1.0}])


def test_batch_failure_reports_the_device():
    stim = sine_sweep(amplitude=1.0, frequency=1.0, cycles=1)
    P = np.array([[1e3, 1e-1], [1e3, 1e-9]])
    with pytest.raises(IntegrationError, match=r"1 of 2 devices failed; device 1"):
        simulate_batch(RELAXATION, stim, P, method="dopri5", max_steps=2000)
    b = simulate_batch(RELAXATION, stim, P, method="dopri5", max_steps=2000, raise_on_failure=False)
    assert b.status[0] == 0 and b.status[1] != 0


# ------------------------------------------------------------ no-JIT run
@pytest.mark.slow
def test_marked_subset_passes_without_jit():
    """The 'nojit' tests pass in pure Python (NUMBA_DISABLE_JIT=1): the kernels are valid Python too."""
    if os.environ.get("NUMBA_DISABLE_JIT") == "1":
        pytest.skip("already running without JIT")
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "nojit", "-p", "no:cacheprovider", "tests"],
        cwd=root, env=env, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout


@pytest.mark.parametrize("method", METHODS)
def test_nanosecond_pulse_after_a_long_hold(method):
    """Steps run in time local to each segment: a 1 ns pulse after a 1e4 s hold still takes 1e-11 s steps
    (absolute-time arithmetic refused steps below 1e-14 * t = 1e-10 s there)."""
    tau = 1e-10
    stim = hold(0.0, 1e4, points=3) + pulse_train(amplitude=1.0, width=1e-9, n=1, rise=1e-10, fall=1e-10,
                                                   points_per_pulse=4)
    sim = simulate(RELAXATION, stim, params={"tau": tau}, method=method, rtol=1e-9, atol=1e-12)
    seg = stim.segments
    k_rise, k_flat = 1, 2  # hold, rise edge, flat top, fall edge, gap
    assert stim.roles[k_rise] == "edge" and stim.roles[k_flat] == "write"
    rise = seg[k_rise, 1] - seg[k_rise, 0]  # the durations as stored (absolute times round at 1e4 s)
    width = seg[k_flat, 1] - seg[k_flat, 0]
    x_r = 1 - tau / rise * (1 - np.exp(-rise / tau))  # relaxation after a linear ramp 0 -> 1
    expect = 1 - (1 - x_r) * np.exp(-width / tau)  # end of the flat top
    k = int(np.nonzero(stim.t == seg[k_flat, 1])[0][0])
    assert sim["x"].iloc[k] == pytest.approx(expect, rel=1e-6)
