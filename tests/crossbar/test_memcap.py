"""Memcapacitive crossbar (charge-domain MAC) against hand/numpy calculations and the model itself."""

import numpy as np
import pytest
from scipy.integrate import cumulative_trapezoid

from memfit.crossbar.energy import capacitive_array_energy
from memfit.crossbar.memcap import CapacitiveMatrix, capacitance_window
from memfit.errors import MemfitError, ModelError, ParameterError
from memfit.models import get_model
from memfit.simulate import simulate, sine_sweep

W = np.array([[0.5, -1.0, 0.25],
              [0.0, 0.75, -0.5],
              [-0.25, 0.1, 1.0],
              [1.0, 0.0, -0.75]])  # 4 outputs x 3 inputs: a 3 x 4 array


def test_charge_mac_equals_sum_c_v_by_hand():
    m = CapacitiveMatrix(W, "memcapacitor", read_voltage=1.0)
    # default C.4 window is Clow = 1 pF .. Chigh = 100 pF, w_max = 1
    c_min, c_max = 1e-12, 100e-12
    x = np.array([[0.2, -0.4, 1.0], [1.0, 0.5, -0.3]])
    q_plus, q_minus = m.column_charges(m.input_voltages(x)[0])
    for b in range(2):
        v = x[b] / np.max(np.abs(x[b])) * 1.0  # V_j = v_read x_j / max|x|
        for i in range(4):  # column i (output), rows j (inputs)
            cp = [c_min + (c_max - c_min) * max(W[i, j], 0.0) for j in range(3)]
            cm = [c_min + (c_max - c_min) * max(-W[i, j], 0.0) for j in range(3)]
            assert q_plus[b, i] == pytest.approx(sum(c * vj for c, vj in zip(cp, v)), rel=1e-12)
            assert q_minus[b, i] == pytest.approx(sum(c * vj for c, vj in zip(cm, v)), rel=1e-12)
    # one explicit hand value: column 0, sample 0: V = (0.2, -0.4, 1.0) V
    # C+ = (50.5, 1, 25.75) pF -> Q+ = 10.1 - 0.4 + 25.75 = 35.45 pC
    assert q_plus[0, 0] == pytest.approx(35.45e-12, rel=1e-12)
    np.testing.assert_allclose(m.forward(x), x @ W.T, rtol=1e-12, atol=1e-15)
    # supply energy sum C V^2 over both arrays
    c_all = np.concatenate([m.c_plus, m.c_minus], axis=1)
    v0 = x[0] / 1.0
    assert m.energy(x)[0] == pytest.approx(float(np.sum(c_all * (v0 ** 2)[:, None])), rel=1e-12)
    assert m.energy(x)[0] == pytest.approx(capacitive_array_energy(c_all, v0), rel=1e-12)


def test_parasitic_adds_charge_but_cancels_in_forward():
    cp = 0.5e-12
    m = CapacitiveMatrix(W, read_voltage=0.5, c_parasitic=cp)
    x = np.array([[0.3, 1.0, -0.6]])
    v = 0.5 * x[0]
    q_plus, _ = m.column_charges(v)
    np.testing.assert_allclose(q_plus[0], v @ m.c_plus + cp * v.sum(), rtol=1e-12)
    np.testing.assert_allclose(m.forward(x), x @ W.T, rtol=1e-12, atol=1e-15)


def test_adc_levels_exact():
    m = CapacitiveMatrix(W, adc_bits=4, q_full_scale=7e-12)
    # 4 bits mid-tread: step = 7 pC / (2**3 - 1) = 1 pC, levels -7 .. 7 pC
    q = np.array([0.49e-12, 0.51e-12, -2.6e-12, 6.9e-12, 9e-12, -20e-12, 0.0])
    np.testing.assert_allclose(m.adc(q), np.array([0, 1, -3, 7, 7, -7, 0]) * 1e-12, rtol=0, atol=1e-24)
    levels = np.unique(m.adc(np.linspace(-10e-12, 10e-12, 10001)))
    assert levels.size == 2 ** 4 - 1
    # forward with ADC equals hand-quantized differential charge scaled back
    x = np.array([[1.0, 0.0, 0.0]])
    dq = 99e-12 * W[:, 0]  # V = 1 V on row 0 only, dC = (Chigh - Clow) W / w_max
    expected = np.round(np.clip(dq, -7e-12, 7e-12) / 1e-12) * 1e-12 / 99e-12
    np.testing.assert_allclose(m.forward(x)[0], expected, rtol=1e-12)


def test_window_matches_simulated_q_over_v():
    model = get_model("memcapacitor")
    p = model.defaults()
    p.update(Clow=2e-12, Chigh=40e-12)
    c_min, c_max = capacitance_window("memcapacitor", p, read_voltage=1.0)
    # kernel directly: q = x V at the state bounds
    for x, c in ((2e-12, c_min), (40e-12, c_max)):
        q = model.current(np.array([x]), 1.0, model.params(p))
        assert c == pytest.approx(q / 1.0, rel=1e-12)
    # independent: simulate a 1 V sine (below Vt = 3 V) from each bound, q(t) = int i dt
    for x0, c in ((2e-12, c_min), (40e-12, c_max)):
        f = simulate("memcapacitor", sine_sweep(amplitude=1.0, frequency=50e3, cycles=1), params=p, x0=[x0]).frame
        k = int(np.argmax(f.v.to_numpy()))
        q_int = cumulative_trapezoid(f.i.to_numpy(), f.t.to_numpy(), initial=0.0)[k]
        assert q_int / f.v.to_numpy()[k] == pytest.approx(c, rel=1e-3)
        assert f.q.to_numpy()[k] / f.v.to_numpy()[k] == pytest.approx(c, rel=1e-9)
    m = CapacitiveMatrix(W, "memcapacitor", p)
    assert (m.c_min, m.c_max) == (c_min, c_max)
    assert m.c_plus.min() == pytest.approx(2e-12) and m.c_plus.max() == pytest.approx(40e-12)


def test_variation_seeded_and_statistics():
    w = np.full((200, 100), 0.5)
    a = CapacitiveMatrix(w, d2d_std=0.05, seed=3, w_max=1.0)  # mid-window: no clipping at C_max
    b = CapacitiveMatrix(w, d2d_std=0.05, seed=3, w_max=1.0)
    np.testing.assert_array_equal(a.c_plus, b.c_plus)
    nominal = 1e-12 + 99e-12 * 0.5
    assert np.std(a.c_plus) / nominal == pytest.approx(0.05, rel=0.05)
    m = CapacitiveMatrix(w, c2c_std=0.02, seed=1, w_max=1.0)
    cp1, _ = m.cell_capacitances()
    cp2, _ = m.cell_capacitances()
    assert not np.array_equal(cp1, cp2)  # redrawn per read
    assert np.std(cp1 - m.c_plus) / nominal == pytest.approx(0.02, rel=0.05)
    np.testing.assert_allclose(m.c_plus, nominal, rtol=1e-14)  # programmed state untouched


@pytest.mark.parametrize("device", ["nbox", "strukov2008"])
def test_resistive_model_rejected(device):
    with pytest.raises(ModelError) as e:
        CapacitiveMatrix(W, device)
    assert "not a memcapacitor" in str(e.value) and "\n" not in str(e.value)


def test_resistive_preset_rejected():
    class FakePreset:  # the attributes of the preset contract that matter here
        name = "ftj_lund"
        model_name = "ftj"
        model_parameters = None

    with pytest.raises(MemfitError, match="port 'i\\(v\\)'"):
        CapacitiveMatrix(W, FakePreset())


def test_bad_configuration_messages():
    with pytest.raises(ParameterError, match="switches model"):
        CapacitiveMatrix(W, read_voltage=4.0)  # above Vt = 3 V
    with pytest.raises(ParameterError, match="unbounded states"):
        CapacitiveMatrix(W, "biolek2013_memcapacitor_ideal")
    with pytest.raises(ParameterError, match="adc_bits"):
        CapacitiveMatrix(W, adc_bits=1)
    with pytest.raises(ParameterError, match="d2d_std"):
        CapacitiveMatrix(W, d2d_std=-0.1)
    with pytest.raises(ParameterError, match="expected 3"):
        CapacitiveMatrix(W).forward(np.ones((2, 4)))
