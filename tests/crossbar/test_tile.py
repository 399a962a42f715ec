"""AnalogMatrix forward: exact digital equivalence when ideal, and each non-ideality against a hand calculation."""

import numpy as np
import pytest

from memfit.crossbar.config import get_config
from memfit.crossbar.device import CrossbarDevice
from memfit.crossbar.tile import AnalogMatrix

BASE = get_config("baseline-ftj")
IDEAL64 = BASE.ideal().replace(dtype="float64")


@pytest.fixture
def wx():
    rng = np.random.default_rng(1)
    return rng.normal(size=(70, 600)), rng.uniform(-1, 1, (16, 600))


@pytest.mark.parametrize("changes", [
    {},
    {"tile_size": (256, 32)},
    {"mapping": "global", "tile_size": 128},
    {"devices_per_weight": 3},
    {"bit_slicing": {"binary": 3, "analog": 1}},
    {"differential": False},
    {"noise_management": None},
])
def test_ideal_forward_equals_digital(wx, changes):
    W, x = wx
    am = AnalogMatrix(W, CrossbarDevice.ideal(g_min=1e-9), IDEAL64.replace(**changes), rng=np.random.default_rng(0))
    assert am.program() is None
    np.testing.assert_allclose(am.forward(x), x @ W.T, rtol=1e-12, atol=1e-12 * np.abs(x @ W.T).max())
    np.testing.assert_allclose(am.effective_weight(), W, rtol=1e-12, atol=1e-14)


def test_ideal_float32_within_float_rounding(wx):
    W, x = wx
    am = AnalogMatrix(W, CrossbarDevice.ideal(), BASE.ideal(), rng=np.random.default_rng(0))
    y = am.forward(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, x @ W.T, rtol=0, atol=2e-5 * np.abs(x @ W.T).max())


def _one_tile(W, **ch):
    cfg = IDEAL64.replace(tile_size=1024, mapping="global", noise_management=None, bound_management=None, **ch)
    return AnalogMatrix(W, CrossbarDevice.ideal(), cfg, rng=np.random.default_rng(0))


def test_adc_quantization_levels(wx):
    W, x = wx
    am = _one_tile(W, adc_bits=4, out_bound=2.0)
    s = np.max(np.abs(W))
    step = 2 * 2.0 / (2 ** 4 - 2)  # 15 levels over [-2, 2]
    y = am.forward(x) / s
    ref = np.round(np.clip(x @ (W / s).T, -2.0, 2.0) / step) * step
    np.testing.assert_allclose(y, ref, rtol=0, atol=1e-12)
    levels = np.unique(np.round(y / step, 9))
    assert np.all(levels == np.round(levels)) and levels.min() >= -7 and levels.max() <= 7
    assert {-7, 7} <= set(levels.astype(int))  # saturated outputs sit on the end levels


def test_dac_quantization_levels(wx):
    W, x = wx
    am = _one_tile(W, dac_bits=3, in_bound=0.8)
    step = 2 * 0.8 / (2 ** 3 - 2)
    xq = np.round(np.clip(x, -0.8, 0.8) / step) * step
    np.testing.assert_allclose(am.forward(x), xq @ W.T, rtol=1e-12, atol=1e-12)


def test_noise_and_bound_management(wx):
    W, _ = wx
    W = np.abs(W)
    x = np.full((3, 600), 0.01) * np.array([[1.0], [5.0], [30.0]])
    # without management the outputs clip at out_bound
    plain = _one_tile(W, adc_bits=12, out_bound=20.0)
    s = np.max(W)
    assert np.all(np.abs(plain.forward(x)[2]) <= 20.0 * s + 1e-9)
    # noise management (x/max|x|) + iterative bound management recover the true product to ADC resolution
    managed = _one_tile(W, adc_bits=12, out_bound=20.0).config.replace(noise_management="abs_max",
                                                                       bound_management="iterative")
    am = AnalogMatrix(W, CrossbarDevice.ideal(), managed, rng=np.random.default_rng(0))
    y = am.forward(x)
    ideal = x @ W.T
    # each vector's alpha = max|x| * 2^k with k halvings until nothing saturates; error <= half an LSB * alpha
    step = 2 * 20.0 / (2 ** 12 - 2)
    for b in range(3):
        k = int(np.ceil(np.log2(max(np.max(np.abs(ideal[b] / s)) / np.max(np.abs(x[b])) / 20.0, 1.0)) + 1e-12))
        k = max(k, 0)
        alpha = np.max(np.abs(x[b])) * 2 ** k
        assert np.max(np.abs(y[b] - ideal[b])) <= 0.5 * step * alpha * s * (1 + 1e-9)
    assert np.max(np.abs(y - ideal)) < 1e-2 * np.max(np.abs(ideal))


def test_output_and_weight_noise_statistics():
    rng = np.random.default_rng(5)
    W = rng.normal(size=(400, 300))
    x = rng.uniform(-1, 1, (200, 300))
    s = np.max(np.abs(W))
    ideal = x @ W.T
    am = _one_tile(W, out_noise=0.1)
    r = (am.forward(x) - ideal) / s
    assert np.std(r) == pytest.approx(0.1, rel=0.02) and abs(np.mean(r)) < 3e-3
    am = _one_tile(W, w_noise=0.035)
    r = (am.forward(x) - ideal) / s / np.linalg.norm(x, axis=1)[:, None]
    assert np.std(r) == pytest.approx(0.035, rel=0.02)


def _drift_device(nu_lo, nu_hi, nu_std=0.0):
    return CrossbarDevice(g_min=1e-9, g_max=14e-9, drift={"law": "power", "t0": 20.0, "nu_g": [1e-9, 14e-9],
                                                           "nu_mean": [nu_lo, nu_hi], "nu_std": [nu_std, nu_std]})


def test_drift_without_compensation_follows_the_power_law(wx):
    W, x = wx
    cfg = IDEAL64.replace(drift=True, drift_compensation=None)
    am = AnalogMatrix(W, _drift_device(0.05, 0.05), cfg, rng=np.random.default_rng(0))
    t = 1e5
    factor = ((t + 20.0) / 20.0) ** -0.05
    np.testing.assert_allclose(am.forward(x, t=t), factor * (x @ W.T), rtol=1e-10, atol=1e-10)


def test_global_drift_compensation_restores_the_output(wx):
    W, x = wx
    t = 3.15e7
    # uniform nu: the calibration ratio undoes drift exactly
    am = AnalogMatrix(W, _drift_device(0.05, 0.05), IDEAL64.replace(drift=True, drift_compensation="global"),
                      rng=np.random.default_rng(0))
    np.testing.assert_allclose(am.forward(x, t=t), x @ W.T, rtol=1e-10, atol=1e-10)
    # conductance-dependent, random nu: the mean output magnitude is restored (not each output)
    dev = _drift_device(0.01, 0.08, nu_std=0.01)
    y0 = np.abs(x @ W.T).mean()
    raw = AnalogMatrix(W, dev, IDEAL64.replace(drift=True, drift_compensation=None), rng=np.random.default_rng(2))
    comp = AnalogMatrix(W, dev, IDEAL64.replace(drift=True, drift_compensation="global"), rng=np.random.default_rng(2))
    r_raw = np.abs(raw.forward(x, t=t)).mean() / y0
    r_comp = np.abs(comp.forward(x, t=t)).mean() / y0
    assert r_raw < 0.6  # drifted a lot
    assert abs(r_comp - 1) < 0.1 and abs(r_comp - 1) < 0.2 * abs(r_raw - 1)


def test_stuck_faults_fraction_and_values():
    W = np.random.default_rng(0).normal(size=(200, 250))
    dev = CrossbarDevice(g_min=1e-9, g_max=14e-9, faults={"stuck_on": 0.02, "stuck_off": 0.05})
    am = AnalogMatrix(W, dev, IDEAL64.replace(faults=True, tile_size=512), rng=np.random.default_rng(0))
    am.program()
    tile = am.tiles[0]
    assert tile.stuck.mean() == pytest.approx(0.07, abs=0.004)
    G = tile.G[tile.stuck]
    assert np.all((G == 1e-9) | (G == 14e-9))
    assert np.mean(G == 14e-9) == pytest.approx(0.02 / 0.07, abs=0.03)


def test_read_nonlinearity_uses_the_device_iv_at_the_input_voltage(wx):
    W, x = wx
    v = np.linspace(-0.6, 0.6, 241)
    iv = np.sinh(v / 0.25) / np.sinh(0.3 / 0.25)  # I(v)/I(0.3 V)
    dev = CrossbarDevice(g_min=0.0, g_max=14e-9, read_voltage=0.3, iv_table=(v, iv))
    am = _one_tile(W, read_nonlinearity=True, dac_bits=8)
    am = AnalogMatrix(W, dev, am.config, rng=np.random.default_rng(0))
    step = 2.0 / 254
    xq = np.round(np.clip(x, -1, 1) / step) * step
    np.testing.assert_allclose(am.forward(x), np.interp(xq * 0.3, v, iv) @ W.T, rtol=1e-10, atol=1e-10)


def test_ir_drop_negligible_at_thesis_ratio_visible_at_small_ratio():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(32, 64))
    x = rng.uniform(-1, 1, (4, 64))
    ideal = x @ W.T
    am = _one_tile(W, ir_drop=True, wire_ratio=2.857e8)
    np.testing.assert_allclose(am.forward(x), ideal, rtol=1e-5, atol=1e-5 * np.abs(ideal).max())
    am = _one_tile(W, ir_drop=True, wire_ratio=2e3)
    assert np.max(np.abs(am.forward(x) - ideal)) > 1e-3 * np.abs(ideal).max()


def test_statistical_programming_error():
    W = np.random.default_rng(0).normal(size=(100, 200))
    dev = CrossbarDevice(g_min=1e-9, g_max=14e-9, write_verify={"tolerance": 0.05, "residual_std": 0.01,
                                                                  "success_rate": 0.99, "max_pulses": 50})
    am = AnalogMatrix(W, dev, IDEAL64.replace(programming="statistical", tile_size=512), rng=np.random.default_rng(0))
    rep = am.program()
    T = np.broadcast_to(am.tiles[0].targets[:, None], am.tiles[0].G.shape).ravel()
    inner = (T > 1.2e-9) & (T < 13e-9)  # away from the window edges, where clipping hides errors
    err = rep.rel_error[inner]
    np.testing.assert_allclose(err, (am.tiles[0].G.ravel()[inner] - T[inner]) / T[inner])
    assert np.mean(np.abs(err) <= 0.05) == pytest.approx(0.99, abs=0.004)
    assert np.std(err[np.abs(err) <= 0.05]) == pytest.approx(0.01, rel=0.05)


def test_bad_input_shape_is_named():
    am = AnalogMatrix(np.ones((3, 4)), config=IDEAL64)
    with pytest.raises(ValueError, match=r"expected \(batch, 4\)"):
        am.forward(np.ones((2, 5)))


def test_ir_drop_saturation_screen_changes_nothing(monkeypatch):
    """Skipping the IR-drop solve of reads that surely saturate gives bit-identical outputs (same noise draws)."""
    from memfit.crossbar.device import CrossbarDevice

    dev = CrossbarDevice.from_preset("ftj-balanced")
    rng = np.random.default_rng(0)
    W = rng.normal(size=(48, 64))
    x = rng.uniform(-1, 1, (40, 64)).astype(np.float32)
    cfg = get_config("baseline-ftj").replace(tile_size=64, ir_drop=True, out_bound=3.0)  # most reads saturate

    def run(screen: bool):
        am = AnalogMatrix(W, dev, cfg, rng=np.random.default_rng(7))
        am.program()
        if not screen:
            monkeypatch.setattr(am, "_surely_saturated", lambda *a: (None, None))
        return am.forward(x)

    calls = []
    orig = AnalogMatrix._surely_saturated

    def spy(self, *a):
        out = orig(self, *a)
        calls.append(out[0].mean())
        return out

    monkeypatch.setattr(AnalogMatrix, "_surely_saturated", spy)
    screened = run(True)
    assert calls and calls[0] > 0.3  # the screen really skipped solves
    plain = run(False)
    np.testing.assert_array_equal(screened, plain)
