"""HP linear ion drift with windows: reference agreement, published behaviours, bounds."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memfit.models import get_model
from memfit.simulate import arbitrary, pulse_train, simulate, sine_sweep
from tests.reference import assert_matches_reference, py, scipy_reference

WINDOWED = ["joglekar2009", "biolek2009", "prodromakis2011"]
ALL = ["strukov2008"] + WINDOWED


def _sweep(model):
    # strukov2008 has no window: keep its drive below the clamp (reference note: V0 < 1.195 V at 1 Hz)
    amp = 1.0 if model == "strukov2008" else 1.2
    return sine_sweep(amplitude=amp, frequency=1.0, cycles=2, points_per_cycle=200)


def _pulses():
    return pulse_train(amplitude=[1.5, 1.5, 1.5, -1.5, -1.5], width=0.04, period=0.12, rise=1e-3, fall=1e-3,
                       read_v=0.1, read_width=0.01)


@pytest.mark.parametrize("method", ["dopri5", "sdirk4"])
@pytest.mark.parametrize("model", ALL)
def test_matches_scipy_radau_reference(model, method):
    for stim in (_sweep(model), _pulses()):
        ref = scipy_reference(model, stim)
        sim = simulate(model, stim, method=method, rtol=1e-10)
        assert_matches_reference(sim, ref, rtol=1e-6)


@pytest.mark.parametrize("model", ALL)
def test_pinched_hysteresis_at_zero_volts(model):
    stim = _sweep(model)
    sim = simulate(model, stim)
    v = stim.value()
    zero = np.isclose(v, 0.0, atol=1e-12)
    assert zero.sum() >= 4
    np.testing.assert_array_equal(sim.i[zero] * 0, 0 * v[zero])
    assert np.all(np.abs(sim.i[zero]) <= 1e-12 * np.max(np.abs(sim.i)))
    # ... and it is a real loop: the up and down branches differ away from zero
    up = sim.i[(np.arange(len(v)) < 50) & (v > 0.5)]
    down = sim.i[(np.arange(len(v)) > 50) & (np.arange(len(v)) < 100) & (v > 0.5)]
    assert abs(up.mean() - down.mean()) > 0.01 * np.max(np.abs(sim.i))


def _loop_area(sim, stim):
    """Sum of the two lobe areas of the pinched I-V loop over the last cycle [V*A].

    The lobes of a pinched loop turn in opposite senses, so each half-cycle
    (a closed curve from V = 0 back to V = 0) is integrated on its own.
    """
    v, i = stim.value(), sim.i
    n = len(v) - 1
    area = 0.0
    for a, b in ((n // 2, 3 * n // 4), (3 * n // 4, n)):  # last cycle: positive, then negative half
        vv, ii = v[a:b + 1], i[a:b + 1]
        area += 0.5 * abs(np.sum(vv[:-1] * ii[1:] - vv[1:] * ii[:-1]))
    return area


@pytest.mark.parametrize("model", ALL)
def test_loop_area_shrinks_with_frequency(model):
    amp = 1.0 if model == "strukov2008" else 1.2
    areas = []
    for f in (1.0, 10.0, 30.0, 100.0):
        stim = sine_sweep(amplitude=amp, frequency=f, cycles=2, points_per_cycle=400)
        areas.append(_loop_area(simulate(model, stim), stim))
    assert all(a > b for a, b in zip(areas, areas[1:])), areas
    assert areas[-1] < 0.2 * areas[0]


def test_joglekar_state_sticks_at_the_boundary_biolek_does_not():
    """Biolek 2009 Sec. 5: with Joglekar's window a state exactly at a boundary never moves."""
    stim = sine_sweep(amplitude=1.2, frequency=1.0, cycles=1)  # the negative half drives x down from 1
    jog = simulate("joglekar2009", stim, x0={"x": 1.0})
    np.testing.assert_array_equal(jog["x"].to_numpy(), 1.0)
    bio = simulate("biolek2009", stim, x0={"x": 1.0})
    assert bio["x"].min() < 0.9  # the reverse current pulls it away from x = 1


def test_biolek_window_formula():
    """f = 1 - (x - stp(-i))^(2p): zero only at the boundary the current drives towards."""
    m = get_model("biolek2009")
    p = m.params()
    rhs = py(m.rhs)
    d = np.empty(1)
    k = p[3] * p[0] / p[2] ** 2
    for x in (0.0, 0.3, 0.8, 1.0):
        for v in (0.5, -0.5):
            rhs(np.array([x]), v, 0.0, p, d)
            i = v / (p[0] * x + p[1] * (1 - x))
            stp = 1.0 if i <= 0 else 0.0
            assert d[0] == pytest.approx(k * i * (1 - (x - stp) ** (2 * p[4])), rel=1e-14, abs=1e-300)
    rhs(np.array([1.0]), 0.5, 0.0, p, d)
    assert d[0] == 0.0
    rhs(np.array([1.0]), -0.5, 0.0, p, d)
    assert d[0] < 0


@pytest.mark.nojit
def test_current_drive_linear_drift_is_exact():
    """strukov2008 under a prescribed current: x(t) = x0 + k q(t) exactly (q the delivered charge)."""
    from memfit.simulate import current_sweep

    stim = current_sweep(imax=2e-5, imin=-1e-5, frequency=1.0, cycles=1, points_per_cycle=100)
    sim = simulate("strukov2008", stim, rtol=1e-10)
    p = sim.meta["params"]
    k = p["mu_v"] * p["R_on"] / p["D"] ** 2
    t, i = stim.t, stim.value()
    q = np.concatenate([[0.0], np.cumsum(0.5 * (i[1:] + i[:-1]) * np.diff(t))])  # exact for linear legs
    np.testing.assert_allclose(sim["x"], 0.3145 + k * q, rtol=0, atol=1e-12)


def test_joglekar_remembers_all_charge():
    """Biolek 2009 eqs. 8-9: with Joglekar's window x is a function of the delivered charge only,
    so a zero-net-charge current cycle brings x back exactly, while the Biolek window does not."""
    from memfit.simulate import current_sweep

    stim = current_sweep(imax=4e-4, frequency=1.0, cycles=2, points_per_cycle=400)
    jog = simulate("joglekar2009", stim, x0={"x": 0.85}, rtol=1e-11)
    x = jog["x"].to_numpy()
    assert x.max() - x.min() > 0.1  # it moved close to the boundary ...
    assert abs(x[-1] - x[0]) < 1e-6  # ... and came back (the window is ~3e-4 there, hence 1e-6)
    bio = simulate("biolek2009", stim, x0={"x": 0.85}, rtol=1e-11)
    assert abs(bio["x"].iloc[-1] - bio["x"].iloc[0]) > 0.1  # saturates at 1 and forgets


@settings(max_examples=12, deadline=None)
@given(
    model=st.sampled_from(ALL),
    amps=st.lists(st.floats(-3.0, 3.0), min_size=3, max_size=8),
    edge=st.sampled_from(["lower", "upper", "default"]),
    which=st.integers(0, 3),
)
def test_state_stays_in_bounds(model, amps, edge, which):
    """Random pulse amplitudes, one parameter at a bound: the state never leaves [0, 1]."""
    m = get_model(model)
    q = m.parameters[which]
    value = {"lower": q.lower, "upper": q.upper, "default": q.default}[edge]
    # keep runs short: extreme mobilities make every pulse saturate, which is what we want to see
    stim = pulse_train(amplitude=amps, width=1e-3, period=4e-3, read_v=0.05)
    sim = simulate(m, stim, params={q.name: value}, rtol=1e-6, max_steps=200_000)
    x = sim["x"].to_numpy()
    assert np.all(np.isfinite(sim.i))
    assert x.min() >= 0.0 and x.max() <= 1.0
