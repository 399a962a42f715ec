"""Test circuit: series resistance solved self-consistently, compliance fold-back, current drive."""

import numpy as np
import pytest

from memfit.errors import CircuitError
from memfit.simulate import TestCircuit, current_sweep, pulse_train, simulate, sine_sweep, triangle_sweep
from tests.reference import assert_matches_reference, scipy_reference
from tests.simulate.toy_models import FLUXMETER, SINH_DEVICE


@pytest.mark.nojit
def test_series_resistance_divides_linearly():
    stim = triangle_sweep(vmax=2.0, frequency=1.0, points_per_cycle=40)
    sim = simulate(FLUXMETER, stim, params={"R": 1e3}, series_resistance=250.0)
    v = stim.value()
    np.testing.assert_allclose(sim.i, v / 1250.0, rtol=1e-13, atol=1e-18)
    np.testing.assert_allclose(sim["v_dev"], v * 1000 / 1250, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(sim.v, v, rtol=1e-13, atol=1e-15)


def test_nonlinear_device_with_series_resistance_is_self_consistent():
    stim = triangle_sweep(vmax=3.0, frequency=1.0, points_per_cycle=200)
    rs = 1e4
    sim = simulate(SINH_DEVICE, stim, series_resistance=rs)
    vd = sim["v_dev"].to_numpy()
    p = SINH_DEVICE.params()
    # Kirchhoff: source = v_dev + Rs i, and i is the device's own current at v_dev
    np.testing.assert_allclose(vd + rs * sim.i, stim.value(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sim.i, p[0] * np.sinh(vd / p[1]), rtol=1e-12, atol=1e-20)
    assert np.max(np.abs(vd)) < 3.0  # the resistor takes a share at high current


def test_compliance_folds_back_to_the_limit():
    stim = triangle_sweep(vmax=2.0, frequency=1.0, points_per_cycle=400)
    icomp = 2e-4
    sim = simulate(SINH_DEVICE, stim, compliance=icomp, series_resistance=100.0)
    i = sim.i
    assert np.max(np.abs(i)) <= icomp * (1 + 1e-12)
    c = sim["compliance"].to_numpy()
    assert c.any() and not c.all()
    np.testing.assert_allclose(np.abs(i[c]), icomp, rtol=1e-12)
    # in compliance the SMU's terminal voltage is below the programmed source
    assert np.all(np.abs(sim.v[c]) < np.abs(stim.value()[c]))
    p = SINH_DEVICE.params()
    np.testing.assert_allclose(sim["v_dev"][c], p[1] * np.arcsinh(i[c] / p[0]), rtol=1e-12)
    # outside compliance the programmed voltage is applied
    np.testing.assert_allclose(sim.v[~c], stim.value()[~c], rtol=1e-12, atol=1e-15)


def test_current_drive_inverts_the_port_equation():
    stim = current_sweep(imax=1e-3, imin=-5e-4, frequency=1.0, points_per_cycle=100)
    sim = simulate(SINH_DEVICE, stim, series_resistance=50.0)
    p = SINH_DEVICE.params()
    np.testing.assert_allclose(sim.i, stim.value(), rtol=1e-15, atol=1e-20)
    np.testing.assert_allclose(sim["v_dev"], p[1] * np.arcsinh(stim.value() / p[0]), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(sim.v, sim["v_dev"] + 50.0 * sim.i, rtol=1e-14)


def test_current_drive_respects_voltage_compliance():
    stim = current_sweep(imax=1.0, imin=0.0, frequency=1.0, points_per_cycle=50)
    sim = simulate(SINH_DEVICE, stim, voltage_compliance=2.0)
    assert np.max(sim["v_dev"]) == pytest.approx(2.0)
    assert sim["compliance"].any()
    assert np.all(sim.i <= stim.value() + 1e-15)


@pytest.mark.parametrize("method", ["dopri5", "sdirk4"])
def test_memristor_in_circuit_matches_reference(method):
    """Biolek memristor behind 2 kOhm and a 150 uA compliance vs SciPy Radau + brentq."""
    stim = sine_sweep(amplitude=1.5, frequency=1.0, cycles=2, points_per_cycle=200)
    kw = dict(series_resistance=2e3, compliance=1.5e-4)
    ref = scipy_reference("biolek2009", stim, **kw)
    sim = simulate("biolek2009", stim, method=method, rtol=1e-10, **kw)
    assert sim["compliance"].any()
    assert_matches_reference(sim, ref, rtol=1e-6)
    # the compliance kinks the RHS inside steps; the state still agrees to 1e-6 of its range
    np.testing.assert_allclose(sim["x"], ref["x"][:, 0], rtol=0, atol=1e-6)


def test_pulses_through_series_resistor_match_reference():
    stim = pulse_train(amplitude=[1.6, 1.6, -1.6], width=0.05, period=0.15, read_v=0.1, read_width=0.01)
    ref = scipy_reference("joglekar2009", stim, series_resistance=5e3)
    sim = simulate("joglekar2009", stim, series_resistance=5e3, rtol=1e-10)
    assert_matches_reference(sim, ref, rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(series_resistance=-1.0), "series_resistance must be a finite number >= 0"),
        (dict(compliance=0.0), "compliance must be a current > 0 A"),
        (dict(voltage_compliance=float("nan")), "voltage_compliance must be a voltage > 0 V"),
    ],
)
def test_bad_circuits_are_refused(kwargs, message):
    with pytest.raises(CircuitError, match=message):
        TestCircuit(**kwargs)
