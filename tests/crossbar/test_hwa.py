"""Hardware-aware training: the training forward is the inference forward, and HWA fine-tuning pays off."""

import numpy as np
import pytest

from memfit.crossbar import hwa
from memfit.crossbar import train as tr
from memfit.crossbar.config import get_config
from memfit.crossbar.device import CrossbarDevice
from memfit.crossbar.layers import Dense, ReLU
from memfit.crossbar.network import Network


def _small_net(seed=0):
    rng = np.random.default_rng(seed)
    return Network.sequential([Dense(rng.normal(0, 0.5, (12, 20)), rng.normal(0, 0.1, 12), name="fc1"), ReLU(name="r"),
                               Dense(rng.normal(0, 0.5, (5, 12)), rng.normal(0, 0.1, 5), name="fc2")],
                              input_shape=(20,))


@pytest.mark.parametrize("device", [CrossbarDevice.ideal(), CrossbarDevice.from_preset("ftj-balanced")],
                         ids=["ideal-device", "ftj-read-iv"])
def test_hwa_forward_equals_inference_forward_with_same_draws(device):
    net = _small_net()
    x = np.random.default_rng(1).normal(size=(40, 20))
    cfg = hwa.training_config(get_config("baseline-ftj").replace(w_noise=0.2, out_noise=0.1, tile_size=8))
    vals = hwa.hwa_forward(net, x, cfg, device, rng=np.random.default_rng(7))
    inf = net.on_crossbar(device, cfg, rng=np.random.default_rng(7)).forward(x, batch_size=None)
    np.testing.assert_array_equal(vals["fc2"], inf)
    # different draws give different outputs (the noise is really there), of the configured size
    other = hwa.hwa_forward(net, x, cfg, device, rng=np.random.default_rng(8))["fc2"]
    assert np.abs(other - inf).mean() > 1e-3


def test_hwa_forward_noise_free_matches_hand_computation():
    """Noise off, 8-bit DAC/ADC, column mapping, one tile: abs-max scaling, DAC, W/max|W_col|, ADC, rescale."""
    rng = np.random.default_rng(3)
    W = rng.normal(0, 1, (6, 10))
    b = rng.normal(0, 0.1, 6)
    net = Network.sequential([Dense(W, b, name="fc")], input_shape=(10,))
    x = rng.normal(size=(25, 10))
    cfg = get_config("baseline-ftj").replace(w_noise=0.0, out_noise=0.0, read_nonlinearity=False,
                                             bound_management=None, out_bound=1.0)
    y = hwa.hwa_forward(net, x, hwa.training_config(cfg), CrossbarDevice.ideal(), rng=0)["fc"]
    alpha = np.abs(x).max(axis=1, keepdims=True)
    dstep = 2.0 / 254
    xq = np.rint(np.clip(x / alpha, -1, 1) / dstep) * dstep
    scale = np.abs(W).max(axis=1)
    z = xq @ (W / scale[:, None]).T
    astep = 2.0 * 1.0 / 254
    zq = np.rint(np.clip(z, -1.0, 1.0) / astep) * astep
    ref = zq * alpha * scale + b
    assert np.any(np.abs(z) > 1.0)  # the ADC clips somewhere: the test sees the clipping
    # float32 arithmetic: at most one ADC step apart where a value sits on a rounding edge
    err = np.abs(y - ref) / (alpha * scale * astep)
    assert np.mean(err < 1e-3) > 0.97 and err.max() < 1.001


def test_hwa_gradients_are_straight_through():
    """With every non-ideality off, the HWA gradients equal the float trainer's."""
    net = _small_net(2)
    x = np.random.default_rng(4).normal(size=(16, 20))
    labels = np.arange(16) % 5
    cfg = get_config("baseline-ftj").ideal()
    loss_h, _, g_h = hwa.hwa_loss_and_gradients(net, x, labels, cfg, CrossbarDevice.ideal(), rng=0)
    loss_f, _, g_f = tr.loss_and_gradients(net, x, labels)
    assert loss_h == pytest.approx(loss_f, rel=1e-5)
    assert set(g_h) == set(g_f)
    for k in g_f:
        np.testing.assert_allclose(g_h[k], g_f[k], rtol=1e-4, atol=1e-6)


def test_hwa_training_beats_direct_deployment_on_digits():
    from memfit.crossbar.data import load_digits

    net = tr.builtin_network("digits-mlp")
    d = load_digits(seed=0)
    dev = CrossbarDevice.from_preset("ftj-balanced")
    cfg = get_config("baseline-ftj").replace(w_noise=0.2, out_noise=0.1)
    hwa_net = net.copy()
    hist = hwa.train_hwa(hwa_net, d.x_train, d.y_train, cfg, dev, epochs=30, lr=3e-3, seed=0, noise_scale=1.5)
    assert len(hist) == 30 and "hwa_training" in hwa_net.meta

    def accuracies(n, seeds):
        return np.array([n.on_crossbar(dev, cfg, rng=s).accuracy(d.x_test, d.y_test) for s in seeds])

    direct = accuracies(net, range(100, 108))
    trained = accuracies(hwa_net, range(200, 208))  # independent programming draws
    sem = np.hypot(direct.std(ddof=1), trained.std(ddof=1)) / np.sqrt(8)
    gain = trained.mean() - direct.mean()
    assert gain > 2 * sem, (direct.mean(), trained.mean(), sem)


def test_train_hwa_rejects_bad_input():
    net = _small_net()
    with pytest.raises(Exception, match="samples but"):
        hwa.train_hwa(net, np.zeros((4, 20)), np.zeros(3, int), "baseline-ftj")
    with pytest.raises(Exception, match="noise_scale"):
        hwa.training_config("baseline-ftj", noise_scale=-1.0)
