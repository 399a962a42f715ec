"""Direct (open-loop) pulse programming and the write-verify-reachable mapping window, against hand calculations."""

import numpy as np
import pytest

from memfit.crossbar import programming as pg
from memfit.crossbar.config import CrossbarConfig, get_config
from memfit.crossbar.device import CrossbarDevice
from memfit.crossbar.tile import AnalogMatrix
from memfit.errors import ParameterError

G_MIN, G_MAX, STEP = 1e-9, 11e-9, 0.5e-9  # constant-step device: 20 steps span the window


def const_device(std=0.0, dtod=0.0, n_pulses=30, **kw):
    g = np.array([G_MIN, G_MAX])
    return CrossbarDevice(g_min=G_MIN, g_max=G_MAX, name="const-step",
                          pulse_up={"g": g, "dg_mean": [STEP, STEP], "dg_std": [std, std], "dg_dtod": dtod,
                                    "n_pulses": n_pulses}, **kw)


def test_constant_step_without_noise_lands_on_the_quantized_grid():
    rng = np.random.default_rng(0)
    k = rng.uniform(-1.9, 25, 5000)  # targets from 0.05 g_min up to beyond g_max
    k = k[np.abs(k - np.floor(k) - 0.5) > 1e-6]  # no exact half-way targets (ties)
    T = G_MIN + k * STEP
    G, rep = pg.direct(T, const_device(), rng)
    n_expected = np.clip(np.rint(k), 0, 20).astype(int)  # 20 steps reach g_max; more would not move it
    np.testing.assert_array_equal(rep.pulses, n_expected)
    np.testing.assert_allclose(G, G_MIN + n_expected * STEP, rtol=1e-12)
    assert rep.method == "direct" and rep.n_devices == T.size
    # the report's relative errors are those of the grid
    np.testing.assert_allclose(rep.rel_error, (G - T) / T, rtol=1e-9, atol=1e-15)


def test_levels_of_a_saturating_response_follow_the_geometric_closed_form():
    # dG = a (g_max - G) is linear in G, so the table interpolates it exactly:
    # L_k = g_max - (g_max - g_min) (1 - a)^k
    a = 0.3
    g = np.linspace(G_MIN, G_MAX, 5)
    dev = CrossbarDevice(g_min=G_MIN, g_max=G_MAX, pulse_up={"g": g, "dg_mean": a * (G_MAX - g), "dg_std": 0 * g})
    L = pg.direct_levels(dev, max_pulses=12)
    np.testing.assert_allclose(L, G_MAX - (G_MAX - G_MIN) * (1 - a) ** np.arange(13), rtol=1e-12)
    assert pg.direct_levels(dev).size == 151  # default: 150 pulses when the table names no ramp length


@pytest.mark.parametrize("n", [4, 16])
def test_cycle_to_cycle_spread_grows_as_sqrt_of_the_pulse_count(n):
    sd = 0.05e-9
    N = 20000
    G, rep = pg.direct(np.full(N, G_MIN + n * STEP), const_device(std=sd), np.random.default_rng(n))
    assert np.all(rep.pulses == n)
    # a sum of n independent N(0, sd^2) steps (the window is far away): std sqrt(n) sd, mean n STEP
    assert np.std(G, ddof=1) == pytest.approx(np.sqrt(n) * sd, rel=0.03)  # 3 % ~ 4 x the s.e. of a std
    assert abs(np.mean(G) - (G_MIN + n * STEP)) < 4 * np.sqrt(n) * sd / np.sqrt(N)


def test_device_to_device_step_spread_grows_linearly_with_the_pulse_count():
    N, n, dtod = 20000, 10, 0.05
    G, _ = pg.direct(np.full(N, G_MIN + n * STEP), const_device(dtod=dtod), np.random.default_rng(3))
    # every pulse of a device has the same step s * STEP, s ~ N(1, dtod^2): G - g_min = n STEP s
    assert np.std(G, ddof=1) == pytest.approx(n * STEP * dtod, rel=0.03)


def test_direct_without_pulse_tables_is_a_named_error():
    with pytest.raises(ParameterError, match="ideal.*pulse_response"):
        pg.direct(np.full(3, 5e-9), CrossbarDevice.ideal(), np.random.default_rng(0))


def test_analog_matrix_with_direct_programming_holds_the_quantized_weights():
    W = np.random.default_rng(0).normal(size=(12, 30))
    cfg = get_config("baseline-ftj").ideal().replace(programming="direct", dtype="float64", mapping="column")
    am = AnalogMatrix(W, const_device(), cfg, rng=np.random.default_rng(1))
    rep = am.program()
    assert rep.method == "direct" and rep.n_devices == 2 * W.size
    s = np.max(np.abs(W), axis=1, keepdims=True)
    q = STEP / (G_MAX - G_MIN)  # one pulse in normalized weight units
    expected = np.rint(W / s / q) * q * s  # no ties: W is continuous
    np.testing.assert_allclose(am.effective_weight(), expected, rtol=1e-9, atol=1e-12)
    # n devices per weight take the two grid points around the weight: their mean is on a grid n
    # times finer, the nearest point of it
    for n in (2, 4):
        am_n = AnalogMatrix(W, const_device(), cfg.replace(devices_per_weight=n), rng=np.random.default_rng(1))
        rep_n = am_n.program()
        assert rep_n.n_devices == 2 * n * W.size
        fine = np.rint(W / s / (q / n)) * (q / n) * s
        np.testing.assert_allclose(am_n.effective_weight(), fine, rtol=1e-9, atol=1e-12)
        assert np.max(np.abs(am_n.effective_weight() - W) / s) <= q / (2 * n) * (1 + 1e-9)
        # every device sits on one of the two levels around its weight's target
        G = am_n.tiles[0].G  # (S, n, P, out, in)
        assert np.all(np.ptp(G, axis=1) <= STEP * (1 + 1e-9))


def test_config_accepts_direct_and_validates_reachable_window():
    cfg = get_config("baseline-ftj").replace(programming="direct")
    assert cfg.programming == "direct" and not cfg.uses_reachable_window
    assert cfg.replace(programming="write_verify").uses_reachable_window  # default: on for write-verify
    assert not cfg.replace(programming="write_verify", reachable_window=False).uses_reachable_window
    assert cfg.replace(reachable_window=True).uses_reachable_window
    assert not cfg.replace(programming="write_verify", differential=False).uses_reachable_window
    with pytest.raises(ParameterError, match="programming.*direct"):
        CrossbarConfig(programming="open-loop")
    with pytest.raises(ParameterError, match="reachable_window"):
        CrossbarConfig(reachable_window="yes")
    with pytest.raises(ParameterError, match="reachable_window.*differential"):
        CrossbarConfig(reachable_window=True, differential=False)
    assert CrossbarConfig.from_dict(cfg.to_dict()) == cfg


def ftj_device():
    # nominal window up to 14 nS: the median device reaches ~14 nS with these pulses, the worst 0.1 % only ~13.1 nS
    return CrossbarDevice(
        g_min=7.45e-9, g_max=14.0e-9, read_voltage=0.3, model_name="ftj_athle2023", model_parameters={},
        d2d={"parameters": {"G_on": {"distribution": "lognormal", "mean": 14e-9, "std": 0.3e-9},
                            "V_a": {"distribution": "normal", "mean": 7.5, "std": 0.05}}},
        write_verify={"tolerance": 0.02, "max_pulses": 20, "v_start": 0.5, "v_step": 0.1, "v_max": 2.0,
                      "width": 1e-6}, name="ftj-window-test")


def test_write_verify_maps_onto_the_reachable_window_and_restores_the_gain():
    dev = ftj_device()
    g_lo, g_hi = pg.mapping_window(dev)
    assert pg.mapping_window(dev) == (g_lo, g_hi)  # cached: computed once per device
    ref = pg.reachable_window(dev, np.random.default_rng(0), n=1000, quantile=0.001)
    assert (g_lo, g_hi) == (max(ref[0], dev.g_min), min(ref[1], dev.g_max))
    assert dev.g_min <= g_lo < g_hi < dev.g_max  # the set side is not reliably reachable at max_pulses 20
    W = np.random.default_rng(2).normal(size=(10, 16))
    # ideal programming on the window: the targets span [g_lo, g_hi] and the periphery undoes the gain exactly
    cfg = get_config("baseline-ftj").ideal().replace(dtype="float64", reachable_window=True)
    am = AnalogMatrix(W, dev, cfg)
    t = am.tiles[0].targets
    assert t.min() == pytest.approx(g_lo) and t.max() == pytest.approx(g_hi)
    np.testing.assert_allclose(am.effective_weight(), W, rtol=1e-12, atol=1e-12)
    # write-verify (window on by default) meets the tolerance on more devices than on the nominal window
    # (weights near +-max|W|: half the devices aim at the top of the window, many of them cannot reach 14 nS)
    rng = np.random.default_rng(5)
    W2 = np.sign(rng.normal(size=(20, 30))) * rng.uniform(0.85, 1.0, (20, 30))
    wv = cfg.replace(programming="write_verify", reachable_window=None, mapping="global")
    on = AnalogMatrix(W2, dev, wv, rng=np.random.default_rng(4)).program()
    off = AnalogMatrix(W2, dev, wv.replace(reachable_window=False), rng=np.random.default_rng(4)).program()
    assert on.fraction_within_tolerance >= 0.995 and off.fraction_within_tolerance < 0.99


def test_direct_split_means_and_report():
    """direct_split: the mean of a weight's devices is within half a rung / n of the target (noise-free
    ladder), the report counts the weights' errors, and one device per weight is direct()."""
    rng = np.random.default_rng(7)
    T = G_MIN + rng.uniform(0, 1, 500) * (G_MAX - G_MIN)
    for n in (1, 3, 8):
        G, rep = pg.direct_split(T, const_device(), np.random.default_rng(0), n)
        assert G.shape == (n, T.size)
        assert np.max(np.abs(G.mean(axis=0) - T)) <= STEP / (2 * n) * (1 + 1e-9)
        rel = (G.mean(axis=0) - T) / T
        assert rep.n_devices == n * T.size
        assert rep.n_within == n * int(np.sum(np.abs(rel) <= rep.tolerance * (1 + 1e-12)))
        np.testing.assert_allclose(rep.rel_error.reshape(n, -1), np.broadcast_to(rel, (n, T.size)))
    # one device per weight: direct() itself (continuous targets: no rounding ties), same draws
    noisy = const_device(dtod=0.05)
    G1, _ = pg.direct_split(T, noisy, np.random.default_rng(3), 1)
    G0, _ = pg.direct(T, noisy, np.random.default_rng(3))
    np.testing.assert_array_equal(G1[0], G0)
    with pytest.raises(ParameterError, match="n_dev"):
        pg.direct_split(T, noisy, np.random.default_rng(3), 0)
