"""Training on the array (memfit.crossbar.insitu): pulses against the fitted model, updates against
their definitions, reads against direct products, and training that learns."""

import numpy as np
import pytest

from memfit.crossbar import train as tr
from memfit.crossbar.config import get_config
from memfit.crossbar.data import load_digits
from memfit.crossbar.device import CrossbarDevice
from memfit.crossbar.insitu import InSituNetwork, PulseLadder, coincidence_counts, train_insitu
from memfit.crossbar.layers import Dense
from memfit.crossbar.network import Network
from memfit.errors import ParameterError


@pytest.fixture(scope="module")
def ftj():
    return CrossbarDevice.from_preset("ftj-constrained")


@pytest.fixture(scope="module")
def nbox():
    return CrossbarDevice.from_preset("nbox")


def _model_ramp(preset_name: str, n: int):
    """Read conductance [S] before and after each of ``n`` SET pulses, simulated on the preset's compact model."""
    from memfit.models import get_model
    from memfit.presets import load_preset
    from memfit.simulate import hold, pulse_train, simulate_batch

    pre = load_preset(preset_name)
    up = pre.pulse_response("up")
    m = get_model(pre.model_name)
    p = m.params(dict(pre.model_parameters))
    x0 = m.initial_state(p, **dict(pre.model_x0 or {}))
    vr, w = float(pre.read_voltage), float(up["width"])
    stim = hold(vr, w, points=3, role="read") + pulse_train([float(up["amplitude"])] * n, w, read_v=vr, rise=0.01 * w,
                                                            fall=0.01 * w, read_width=w, read_delay=w,
                                                            points_per_pulse=4)
    b = simulate_batch(m, stim, p[None, :].copy(), x0[None, :].copy(), rtol=1e-6, atol=1e-8)
    roles, seg = stim.roles_at(), stim.segment_index()
    reads = [np.nonzero((seg == k) & (roles == "read"))[0] for k, r in enumerate(stim.roles) if r == "read"]
    return np.array([b.i[0, s].mean() for s in reads]) / vr


@pytest.mark.parametrize("name, tol", [("ftj-constrained", 0.015), ("nbox", 0.06)])
def test_pulse_update_follows_the_fitted_model(name, tol):
    """n pulses on one device (no c2c, no d2d) = the compact model's SET ramp, to the table's resolution."""
    n = 40
    G_model = _model_ramp(name, n)
    dev = CrossbarDevice.from_preset(name)
    W = dev.g_max - dev.g_min
    # through the trainer's own pulse path: a 1x1 layer, one update of +1 pulse at a time
    net = Network.sequential([Dense(np.array([[0.0]]), np.zeros(1), name="fc")], input_shape=(1,))
    ins = InSituNetwork(net, dev, get_config("baseline-ftj").ideal(), scheme="one-sided", c2c=False, d2d=False,
                        refresh=1.0)
    st = ins.layers["fc"]
    tile = st.tiles[0]
    tile.G[0, 0, 0, 0, 0] = G_model[0]
    got = [G_model[0]]
    for _ in range(n):
        ins._apply(st, 0, np.array([[1.0]]))
        got.append(tile.G[0, 0, 0, 0, 0])
    err = np.abs(np.array(got) - G_model) / W
    assert err.max() < tol, err.max()
    # the model's ramp really moves: the test is not comparing two constants
    assert (G_model[-1] - G_model[0]) / W > 0.2


def test_ladder_equals_iterated_table(ftj, nbox):
    for dev in (ftj, nbox):
        for direction, tab in ((+1, dev.pulse_up), (-1, dev.pulse_down)):
            lad = PulseLadder(tab, dev.g_min, dev.g_max, direction)
            start = dev.g_min if direction > 0 else dev.g_max
            for n in (1, 3, 10, 25):
                # from a ladder point, n pulses at once == n single pulses of the mean table
                np.testing.assert_allclose(lad.apply(np.array([start]), n), lad.iterate([start], n),
                                           rtol=1e-12, atol=1e-12 * dev.g_max)
            # between ladder points: second-order error, well below one step
            g = np.array([start + direction * 0.37 * lad.mean_step(start)])
            step = lad.mean_step(g)
            assert abs(lad.apply(g, 5)[0] - lad.iterate(g, 5)[0]) < 0.2 * step[0]
            # d2d step scale 2 == twice the pulses
            np.testing.assert_allclose(lad.apply(np.array([start]), 4, scale=np.array([2.0])),
                                       lad.apply(np.array([start]), 8), rtol=1e-12)


def test_c2c_spread_of_n_pulses(ftj):
    """std of G after n noisy pulses = sqrt(n) dG_std at the mid conductance (Gaussian sum)."""
    lad = PulseLadder(ftj.pulse_up, ftj.g_min, ftj.g_max, +1)
    g0 = np.full(40_000, ftj.g_min + 0.3 * (ftj.g_max - ftj.g_min))
    n = 9
    mean_end = lad.apply(g0[:1], n)[0]
    expect = np.sqrt(n) * np.interp(0.5 * (g0[0] + mean_end), lad.g_tab, lad.sd_tab)
    g = lad.apply(g0, np.full(g0.size, n), rng=np.random.default_rng(3))
    assert g.std() == pytest.approx(expect, rel=0.03)
    assert g.mean() == pytest.approx(mean_end, abs=3 * expect / np.sqrt(g0.size))


def test_push_pull_pair_moves_both_devices(ftj):
    net = Network.sequential([Dense(np.array([[0.3, -0.2]]), np.zeros(1), name="fc")], input_shape=(2,))
    ins = InSituNetwork(net, ftj, get_config("baseline-ftj").ideal(), c2c=False, d2d=False)
    st = ins.layers["fc"]
    G0 = st.tiles[0].G[0, 0].copy()  # (2 pair members, 1, 2)
    ins._apply(st, 0, np.array([[3.0, -2.0]]))
    G1 = st.tiles[0].G[0, 0]
    np.testing.assert_allclose(G1[0, 0, 0], ins.up.apply(G0[0, 0, 0:1], 3)[0], rtol=1e-12)   # G+ SET x3
    np.testing.assert_allclose(G1[1, 0, 0], ins.down.apply(G0[1, 0, 0:1], 3)[0], rtol=1e-12)  # G- RESET x3
    np.testing.assert_allclose(G1[0, 0, 1], ins.down.apply(G0[0, 0, 1:2], 2)[0], rtol=1e-12)  # G+ RESET x2
    np.testing.assert_allclose(G1[1, 0, 1], ins.up.apply(G0[1, 0, 1:2], 2)[0], rtol=1e-12)   # G- SET x2
    assert ins.pulse_counts()["fc"]["pulses"] == 2 * (3 + 2)


def test_stuck_devices_do_not_move(ftj):
    net = Network.sequential([Dense(np.zeros((4, 4)), np.zeros(4), name="fc")], input_shape=(4,))
    dev = ftj.replace(faults={"stuck_on": 0.3, "stuck_off": 0.3})
    ins = InSituNetwork(net, dev, get_config("baseline-ftj").ideal().replace(faults=True), c2c=False, rng=5)
    st = ins.layers["fc"]
    stuck = st.tiles[0].stuck[0, 0]
    assert stuck.any()
    G0 = st.tiles[0].G.copy()
    ins._apply(st, 0, np.full((4, 4), 5.0))
    frozen = stuck[0] | stuck[1]
    np.testing.assert_array_equal(st.tiles[0].G[0, 0][:, frozen], G0[0, 0][:, frozen])
    assert np.all(st.tiles[0].G[0, 0, 0][~frozen] > G0[0, 0, 0][~frozen])


def test_coincidence_counts_have_the_sgd_mean():
    rng = np.random.default_rng(0)
    x = np.array([0.2, -0.5, 1.0, 0.0])
    d = np.array([0.3, -0.1, 0.05])
    c, bl = 0.5, 31
    reps = 4000
    tot = np.zeros((3, 4))
    for _ in range(reps):
        tot += coincidence_counts(x, d, c, bl, rng)
    mean = tot / reps
    expect = -c * bl * np.outer(d, x)  # E[n] = bl p_x p_d, signed -sign(d x)
    # binomial counts: std of the mean <= sqrt(bl/4/reps)
    np.testing.assert_allclose(mean, expect, atol=4 * np.sqrt(bl / 4 / reps))
    assert np.all(mean[:, 3] == 0)


def test_deterministic_pulse_counts_match_the_rounded_sgd_step(ftj):
    rng = np.random.default_rng(1)
    W = rng.normal(0, 0.3, (6, 5))
    net = Network.sequential([Dense(W, np.zeros(6), name="fc")], input_shape=(5,))
    ins = InSituNetwork(net, ftj, get_config("baseline-ftj").ideal(), lr=2.0, backward="float", c2c=False, d2d=False)
    x = rng.normal(size=(8, 5))
    y = rng.integers(0, 6, 8)
    W_eff = ins.effective_weight("fc")
    # independent gradient of the mean cross-entropy with respect to the outputs
    logits = x @ W_eff.T
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(8), y] -= 1.0
    d = p / 8
    scale = ins.layers["fc"].tiles[0].scale
    n = np.clip(np.rint(-2.0 * (d.T @ x) / scale[:, None] / ins.dw_min), -100, 100)
    assert np.abs(n).sum() > 0
    ins.step(x, y)
    assert ins.pulse_counts()["fc"]["pulses"] == 2 * int(np.abs(n).sum())


def test_ideal_reads_equal_direct_products(ftj):
    rng = np.random.default_rng(2)
    net = tr.mlp([12, 9, 4], seed=3)
    ins = InSituNetwork(net, ftj, get_config("baseline-ftj").ideal().replace(dtype="float64"), rng=4)
    x = rng.normal(size=(7, 12))
    eff = ins.effective_network()
    np.testing.assert_allclose(ins.forward(x), eff.forward(x), rtol=1e-9, atol=1e-12)
    d = rng.normal(size=(7, 9))
    np.testing.assert_allclose(ins._transpose_read(ins.layers["fc1"], d), d @ eff["fc1"].matrix(), rtol=1e-9,
                               atol=1e-12)
    # the initial weights are held as given (ideal programming), at init_fraction of the window
    np.testing.assert_allclose(eff["fc1"].matrix(), net["fc1"].matrix(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("device, update, lr, floor", [("nbox", "mixed-precision", 0.1, 0.85),
                                                       ("ftj-constrained", "deterministic", 0.5, 0.8)])
def test_training_on_the_array_learns_digits(device, update, lr, floor):
    d = load_digits()
    net0 = tr.mlp([64, 64, 10], seed=0)
    assert net0.accuracy(d.x_test, d.y_test) < 0.3
    ins, hist = train_insitu(net0, d.x_train, d.y_train, device, "baseline-ftj", epochs=6, lr=lr, update=update,
                             seed=0)
    acc = ins.accuracy(d.x_test, d.y_test)
    assert acc > floor, acc
    assert hist["loss"].iloc[-1] < hist["loss"].iloc[0]
    assert hist["pulses"].iloc[-1] > 0
    # training did not touch the caller's network
    assert net0.accuracy(d.x_test, d.y_test) < 0.3


def test_cnn_trains_on_the_array():
    d = load_digits(image=True)
    net0 = tr.small_cnn((1, 8, 8), (4,), 10, seed=0)
    assert net0.accuracy(d.x_test, d.y_test) < 0.3
    ins, hist = train_insitu(net0, d.x_train, d.y_train, "nbox", "baseline-ftj", epochs=5, lr=0.1,
                             update="mixed-precision", seed=0)
    assert ins.accuracy(d.x_test, d.y_test) > 0.65  # float SGD, same lr and epochs: 87 %


def test_bad_settings_get_one_line_errors(ftj):
    net = tr.mlp([4, 3], seed=0)
    cfg = get_config("baseline-ftj")
    with pytest.raises(ParameterError, match="bit_slicing"):
        InSituNetwork(net, ftj, cfg.replace(bit_slicing={"binary": 2, "analog": 1}))
    with pytest.raises(ParameterError, match="update"):
        InSituNetwork(net, ftj, cfg, update="magic")
    with pytest.raises(ParameterError, match="pulse-response"):
        InSituNetwork(net, "pcm-reference", cfg)
    with pytest.raises(ParameterError, match="lr"):
        InSituNetwork(net, ftj, cfg, lr=-1.0)
