"""Programming: the write-verify pulse integrator vs memfit.simulate, write-verify on the FTJ model, tGDP."""

import numpy as np
import pytest

from memfit.crossbar import programming as pg
from memfit.crossbar.config import get_config
from memfit.crossbar.device import CrossbarDevice
from memfit.crossbar.tile import AnalogMatrix
from memfit.models import get_model
from memfit.simulate import pulse_train, simulate


def ftj_device(**wv):
    scheme = {"tolerance": 0.02, "max_pulses": 100, "v_start": 0.5, "v_step": 0.02, "v_max": 2.0, "width": 1e-6}
    scheme.update(wv)
    return CrossbarDevice(
        g_min=8e-9, g_max=13e-9, read_voltage=0.3, model_name="ftj_athle2023", model_parameters={},
        d2d={"parameters": {"G_on": {"distribution": "lognormal", "mean": 14e-9, "std": 0.3e-9},
                            "V_a": {"distribution": "normal", "mean": 7.5, "std": 0.05}},
             "correlation": {"names": ["G_on", "V_a"], "matrix": [[1.0, 0.3], [0.3, 1.0]]}},
        write_verify=scheme, name="ftj-test")


@pytest.mark.parametrize("jacobian", ["diagonal", "rowsum"])
def test_pulse_integrator_matches_simulate(jacobian):
    m = get_model("ftj_athle2023")
    p = m.params(G_on=13.5e-9, V_a=7.3)
    x0 = m.initial_state(p)
    amps = [0.8, 1.2, 1.25, -0.9, 1.5, -1.95, 2.0]
    sim = simulate(m, pulse_train(amplitude=amps, width=1e-6, rise=0, fall=0, read_v=0.3), params=p, rtol=1e-8)
    f = sim.frame
    reads = f[f["role"] == "read"]
    g_ref = (reads["i"] / reads["v"]).groupby(reads["segment"]).mean().to_numpy()
    X = pg.pulse_states(m, p, x0, amps, 1e-6, n_sub=2, jacobian=jacobian)
    g = np.array([m.current(x, 0.3, p) / 0.3 for x in X])
    assert len(g_ref) == len(amps)
    assert np.ptp(g_ref) > 0.3 * g_ref.max()  # the sequence really switches the device both ways
    np.testing.assert_allclose(g, g_ref, rtol=1e-6)


def test_write_verify_on_the_ftj_model_meets_tolerance():
    dev = ftj_device()
    rng = np.random.default_rng(0)
    T = rng.uniform(8e-9, 13e-9, 400)
    G, rep = pg.write_verify(T, dev, rng)
    assert rep.n_devices == 400 and rep.fraction_within_tolerance >= 0.99
    ok = np.abs(G / T - 1) <= 0.02
    assert ok.mean() == rep.fraction_within_tolerance
    assert rep.pulses.min() >= 1 and rep.pulses.max() <= 100
    # the reported conductance is what the model reads in the final state
    m = get_model("ftj_athle2023")
    k = 7
    assert m.current(pg.write_verify.last_states[k], 0.3, pg.write_verify.last_params[k]) / 0.3 == pytest.approx(G[k])
    # devices really differ (d2d draws) and the correlation is applied
    P = pg.write_verify.last_params
    names = m.param_names
    c = np.corrcoef(np.log(P[:, names.index("G_on")]), P[:, names.index("V_a")])[0, 1]
    assert 0.15 < c < 0.45
    # a budget too small leaves devices outside tolerance and says so
    G2, rep2 = pg.write_verify(T, ftj_device(max_pulses=3), np.random.default_rng(0))
    assert rep2.fraction_within_tolerance < 0.5 and rep2.pulses.max() == 3


def test_write_verify_programs_an_analog_matrix():
    W = np.random.default_rng(0).normal(size=(12, 20))
    cfg = get_config("baseline-ftj").ideal().replace(programming="write_verify", dtype="float64")
    am = AnalogMatrix(W, ftj_device(), cfg, rng=np.random.default_rng(0))
    rep = am.program()
    assert rep.n_devices == 2 * W.size and rep.fraction_within_tolerance >= 0.99
    err = am.effective_weight() - W
    # 2 % conductance tolerance on 8..13 nS pairs -> weight errors of a few % of max|W|
    assert np.max(np.abs(err)) < 0.15 * np.abs(W).max() and np.std(err) < 0.05 * np.abs(W).max()


def test_tgdp_reduces_the_weight_error():
    W = np.random.default_rng(1).normal(size=(30, 40))
    g = np.linspace(0, 14e-9, 8)
    dev = CrossbarDevice(g_min=0.0, g_max=14e-9,
                         pulse_up={"g": g, "dg_mean": 0.1e-9 * (1 - g / 15e-9), "dg_std": 0.02e-9 * np.ones(8)},
                         pulse_down={"g": g, "dg_mean": -0.1e-9 * (g / 14e-9 + 0.05), "dg_std": 0.02e-9 * np.ones(8)})
    cfg = get_config("baseline-ftj").ideal().replace(dtype="float64", w_noise=0.0)
    first = AnalogMatrix(W, dev, cfg.replace(programming="tgdp"), rng=np.random.default_rng(0))
    tile = first.tiles[0]
    G0, _ = pg.tgdp(tile, dev, first.config, np.random.default_rng(0), iterations=0)
    err0 = np.std((G0[:, :, 0] - G0[:, :, 1]).mean(axis=1) - (tile.targets[:, 0] - tile.targets[:, 1]))
    rep = first.program()
    err = np.std(rep.rel_error) * 14e-9
    assert err < 0.6 * err0
    assert rep.pulses.sum() > 0


def test_reachable_window_separates_reachable_from_unreachable_targets():
    dev = ftj_device(max_pulses=20, v_step=0.1)
    g_lo, g_hi = pg.reachable_window(dev, np.random.default_rng(0), n=300)
    assert 8e-9 * 0.9 < g_lo < g_hi < 14e-9
    # above what even the best 0.1 % of devices reach, (nearly) every device misses; well inside, all meet it
    _, g_best = pg.reachable_window(dev, np.random.default_rng(0), n=300, quantile=0.999)
    assert g_best > g_hi
    _, above = pg.write_verify(np.full(200, g_best * 1.03), dev, np.random.default_rng(1))
    _, inside = pg.write_verify(np.full(200, 0.5 * (g_lo + g_hi)), dev, np.random.default_rng(1))
    assert above.fraction_within_tolerance < 0.1 and inside.fraction_within_tolerance > 0.97


def test_preset_read_at_negative_voltage_is_wired_the_other_way_round():
    """The NbOx preset reads at -0.2 V: the crossbar reads it at +0.2 V through the swapped model, same conductance."""
    from memfit.models import get_model
    from memfit.presets import load_preset

    pre = load_preset("nbox")
    dev = CrossbarDevice.from_preset(pre)
    assert pre.read_voltage < 0 and dev.read_voltage == pytest.approx(-pre.read_voltage)
    assert dev.set_polarity == -1 and dev.electrodes_swapped
    raw, sw = get_model(pre.model_name), dev.model()
    p = dev.nominal_parameters()
    for x in (raw.initial_state(p), 0.5 * sum(raw.state_bounds(p))):
        x = np.ascontiguousarray(x, dtype=float)
        assert sw.current(x, dev.read_voltage, p) == pytest.approx(raw.current(x, pre.read_voltage, p) * -1, rel=1e-12)
    # the read table is the preset's, mirrored: 1 at +|V_read|, the preset's I(-v)/I(V_read) elsewhere
    assert dev.read_iv(np.array([dev.read_voltage]))[0] == pytest.approx(1.0)
    np.testing.assert_allclose(dev.read_iv(np.array([0.1, -0.3])), pre.read_iv(np.array([-0.1, 0.3])), rtol=1e-9)
    # write-verify on the swapped model reaches targets inside the preset's window
    T = np.full(16, pre.g_min + 0.5 * (pre.g_max - pre.g_min))
    G, rep = pg.write_verify(T, dev, np.random.default_rng(0))
    assert rep.fraction_within_tolerance > 0.9


@pytest.mark.parametrize("n_dev", [1, 3])
def test_tgdp_with_more_devices_per_weight_reaches_a_finer_weight(n_dev):
    """Noise-free constant steps: tGDP ends within half a step of each weight, and n pairs per weight
    (a pulse on one pair moves the mean by step / n) within half a step / n."""
    step = 0.25e-9
    g = np.array([0.0, 14e-9])
    dev = CrossbarDevice(g_min=0.0, g_max=14e-9, pulse_up={"g": g, "dg_mean": [step, step], "dg_std": [0.0, 0.0]},
                         pulse_down={"g": g, "dg_mean": [-step, -step], "dg_std": [0.0, 0.0]})
    W = np.random.default_rng(2).normal(size=(16, 24))
    cfg = get_config("baseline-ftj").ideal().replace(dtype="float64", w_noise=0.0, programming="tgdp",
                                                     devices_per_weight=n_dev)
    am = AnalogMatrix(W, dev, cfg, rng=np.random.default_rng(0))
    rep = am.program()
    tile = am.tiles[0]
    err = (tile.G[:, :, 0] - tile.G[:, :, 1]).mean(axis=1) - (tile.targets[:, 0] - tile.targets[:, 1])
    assert np.max(np.abs(err)) <= step / (2 * n_dev) * (1 + 1e-9)
    assert rep.n_devices == W.size and rep.pulses.size == n_dev * W.size
