"""Evaluation: A* by hand, Monte Carlo bookkeeping, Ctrl-C, layer ranking, VMM error, analog == digital."""

import io

import numpy as np
import pandas as pd
import pytest

from memfit.crossbar import evaluate as ev
from memfit.crossbar.data import load_digits
from memfit.crossbar.layers import BatchNorm, Conv2d, Dense, Flatten, MaxPool2d, ReLU
from memfit.crossbar.network import Network
from memfit.crossbar.train import builtin_network, mlp, train


def test_normalized_accuracy_by_hand():
    # eps = 0.10, eps_FP = 0.02, eps_chance = 0.9  ->  A* = 1 - 0.08 / 0.88
    assert ev.normalized_accuracy(0.90, 0.98, 10) == pytest.approx(1 - 0.08 / 0.88, rel=1e-15)
    assert ev.normalized_accuracy(0.98, 0.98, 10) == 1.0
    assert ev.normalized_accuracy(0.10, 0.98, 10) == pytest.approx(0.0, abs=1e-15)     # chance level
    np.testing.assert_allclose(ev.normalized_accuracy(np.array([0.75, 0.5]), 0.9, 2), [1 - 0.15 / 0.4, 1 - 0.4 / 0.4])
    with pytest.raises(ValueError, match="above chance"):
        ev.normalized_accuracy(0.5, 0.1, 10)


@pytest.fixture(scope="module")
def digits():
    return load_digits(seed=0)


@pytest.fixture(scope="module")
def small_net(digits):
    net = mlp([64, 32, 10], seed=1)
    train(net, digits.x_train, digits.y_train, epochs=15, batch_size=64, lr=3e-3, seed=1)
    return net


class NoisyTile:
    """Test back end: y = x @ (W + s E).T with E ~ N(0, 1) drawn at programming, s = config['noise']."""

    built = 0

    def __init__(self, w, device, config, rng):
        NoisyTile.built += 1
        self.w, self.s, self.rng = w, config["noise"], rng

    def program(self):
        self.e = self.rng.standard_normal(self.w.shape)

    def forward(self, x, t=0.0):
        return x @ (self.w + self.s * self.e * (1 + t)).T

    def effective_weight(self, t=0.0):
        return self.w + self.s * self.e * (1 + t)


def test_monte_carlo_is_seeded_and_summarized(digits, small_net):
    kw = dict(device=None, config={"noise": 0.3}, times=[0.0, 1.0], matrix_factory=NoisyTile, progress=False)
    df = ev.evaluate_accuracy(small_net, digits.x_test, digits.y_test, repeats=4, seed=7, **kw)
    assert len(df) == 8 and list(df["t"].unique()) == [0.0, 1.0]
    acc_fp = small_net.accuracy(digits.x_test, digits.y_test)
    assert df.attrs["accuracy_fp"] == acc_fp and not df.attrs["interrupted"]
    np.testing.assert_allclose(df["normalized_accuracy"], ev.normalized_accuracy(df["accuracy"].to_numpy(), acc_fp))
    assert df["accuracy"].std() > 0                                   # the repeats really differ
    again = ev.evaluate_accuracy(small_net, digits.x_test, digits.y_test, repeats=2, seed=7, **kw)
    pd.testing.assert_frame_equal(again, df.iloc[:4].reset_index(drop=True), check_like=True)   # repeat r = seed [7, r]
    s = ev.summarize(df)
    sub = df[df["t"] == 1.0]["accuracy"].to_numpy()
    row = s[s["t"] == 1.0].iloc[0]
    assert row["accuracy_mean"] == pytest.approx(sub.mean())
    assert row["accuracy_sem"] == pytest.approx(sub.std(ddof=1) / 2.0)
    assert row["time"] == "1 s" and row["n"] == 4


def test_ctrl_c_keeps_finished_repeats(digits, small_net):
    class Interrupting(NoisyTile):
        def __init__(self, *a):
            if NoisyTile.built >= 4:     # 2 layers per repeat: the third repeat is interrupted
                raise KeyboardInterrupt
            super().__init__(*a)

    NoisyTile.built = 0
    df = ev.evaluate_accuracy(small_net, digits.x_test, digits.y_test, None, {"noise": 0.1}, times=[0, 10],
                              repeats=5, matrix_factory=Interrupting, progress=False)
    assert df.attrs["interrupted"] and sorted(df["repeat"].unique()) == [0, 1] and len(df) == 4


def test_progress_printer():
    out = io.StringIO()
    p = ev.Progress(3, "job", stream=out, min_interval=0.0)
    for _ in range(3):
        p.update(1, "x")
    p.close("done")
    lines = out.getvalue().splitlines()
    assert lines[-2].startswith("job [####################] 3/3") and lines[-1] == "job: done"
    assert "1/3" in lines[0] and "left" in lines[0]


def test_time_labels():
    assert [ev.time_label(t) for t in ev.DEFAULT_TIMES] == ["0 s", "1 h", "1 day", "1 year"]
    assert ev.time_label(7200) == "2 h"


# ------------------------------------------------------------------ with the real analog tiles
tile = pytest.importorskip("memfit.crossbar.tile", reason="engineer B's AnalogMatrix not present yet")
from memfit.crossbar.config import get_config  # noqa: E402
from memfit.crossbar.device import CrossbarDevice  # noqa: E402


def _ideal_cfg(**kw):
    return get_config("baseline-ftj").ideal().replace(dtype="float64", **kw)


def test_all_nonidealities_off_analog_equals_digital(digits):
    net = builtin_network("digits-mlp", cache=False)
    dev = CrossbarDevice.ideal()
    anet = net.on_crossbar(dev, _ideal_cfg(tile_size=48), rng=0)       # 64x128 and 128x10 split over tiles
    y_dig = net.forward(digits.x_test)
    for t in (0.0, 3.15e7):
        y = anet.forward(digits.x_test, t=t)
        np.testing.assert_allclose(y, y_dig, rtol=1e-12, atol=1e-12 * np.abs(y_dig).max())
        np.testing.assert_array_equal(np.argmax(y, 1), np.argmax(y_dig, 1))
    df = ev.evaluate_accuracy(net, digits.x_test, digits.y_test, dev, _ideal_cfg(), repeats=2, progress=False)
    assert (df["accuracy"] == net.meta["test_accuracy"]).all() and (df["normalized_accuracy"] == 1.0).all()


def test_cnn_with_batchnorm_on_ideal_tiles_equals_digital():
    rng = np.random.default_rng(4)
    net = Network.sequential([
        Conv2d(rng.normal(0, 0.5, (6, 1, 3, 3)), rng.normal(0, 0.1, 6), padding=1),
        BatchNorm(rng.uniform(0.5, 2, 6), rng.normal(size=6), rng.normal(size=6), rng.uniform(0.5, 2, 6)),
        ReLU(), MaxPool2d(2), Flatten(), Dense(rng.normal(0, 0.3, (10, 96)), rng.normal(0, 0.1, 10))],
        input_shape=(1, 8, 8))
    x = rng.uniform(size=(20, 1, 8, 8))
    anet = net.on_crossbar(CrossbarDevice.ideal(), _ideal_cfg(tile_size=(5, 4)), rng=1)   # 9x6 conv over 4 tiles
    y, y_dig = anet.forward(x), net.forward(x)
    np.testing.assert_allclose(y, y_dig, rtol=1e-12, atol=1e-12 * np.abs(y_dig).max())


def test_layer_sensitivity_ranks_the_broken_layer(digits):
    class HalfDead:
        """Noisy config -> every second output row of the layer reads zero (deterministic)."""

        def __init__(self, w, device, config, rng):
            self.w = w.copy()
            if config.out_noise > 0:
                self.w[::2] = 0.0

        def program(self):
            return None

        def forward(self, x, t=0.0):
            return x @ self.w.T

        def effective_weight(self, t=0.0):
            return self.w

    net = builtin_network("digits-mlp")
    cfg = get_config("baseline-ftj").replace(programming="ideal")
    df = ev.layer_sensitivity(net, digits.x_test, digits.y_test, None, cfg, repeats=1, matrix_factory=HalfDead,
                              progress=False)
    assert list(df["layer"]) == ["(none)", "fc1", "fc2"]

    def acc_with_dead(layers):            # independent: the digital network with those rows zeroed
        ref = net.copy()
        for name in layers:
            ref[name].weight[::2] = 0.0
        return ref.accuracy(digits.x_test, digits.y_test)

    expected = [acc_with_dead(["fc1", "fc2"]), acc_with_dead(["fc2"]), acc_with_dead(["fc1"])]
    np.testing.assert_allclose(df["accuracy"], expected, rtol=0, atol=1e-15)
    gains = np.array(expected[1:]) - expected[0]
    assert list(df["rank"].iloc[1:]) == list(np.argsort(np.argsort(-np.abs(gains))) + 1)


def test_vmm_error():
    dev = CrossbarDevice.ideal()
    e0 = ev.vmm_error(dev, _ideal_cfg(), n=64, batch=16, repeats=2)
    assert (e0["vmm_error"] < 1e-13).all()

    class Scaled(NoisyTile):          # y = 1.1 x @ W.T exactly -> error 0.1
        def forward(self, x, t=0.0):
            return 1.1 * (x @ self.w.T)

    e1 = ev.vmm_error(None, {"noise": 0}, n=32, batch=8, repeats=1, matrix_factory=Scaled)
    assert e1["vmm_error"].iloc[0] == pytest.approx(0.1, rel=1e-12)


def test_sensitivity_sweep_on_real_tiles(digits):
    net = builtin_network("digits-mlp")
    cfg = get_config("baseline-ftj").replace(programming="ideal", drift=False)
    df = ev.sensitivity_sweep(net, digits.x_test, digits.y_test, CrossbarDevice.ideal(), cfg,
                              sweeps={"adc_bits": [3, 8], "out_noise": [0.0, 1.0]}, repeats=2, progress=False)
    s = ev.summarize(df).set_index(["field", "value"])["accuracy_mean"]
    assert set(df["field"]) == {"adc_bits", "out_noise"} and len(df) == 8
    assert s[("adc_bits", 8)] > s[("adc_bits", 3)]
    assert s[("out_noise", 0.0)] > s[("out_noise", 1.0)]
    with pytest.raises(Exception, match="no field"):
        ev.sensitivity_sweep(net, digits.x_test, digits.y_test, CrossbarDevice.ideal(), cfg, sweeps={"adc": [4]})
