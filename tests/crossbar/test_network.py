"""Network runtime: layers against independent references, graph checks, save/load, BN folding, analog hook."""

import numpy as np
import pytest
from scipy.signal import correlate
from scipy.special import expit

from memfit.crossbar.layers import (
    Add,
    AvgPool2d,
    BatchNorm,
    Conv2d,
    Dense,
    Flatten,
    GlobalAvgPool2d,
    MaxPool2d,
    NetworkError,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from memfit.crossbar.network import AnalogNetwork, Network, load_network


def _conv_reference(x, w, b, stride, pads, dilation):
    """Direct cross-correlation with scipy on the padded, dilated kernel, then strided sampling."""
    n, c, h, wd = x.shape
    pt, pl, pb, pr = pads
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    kd = np.zeros((w.shape[0], c, (w.shape[2] - 1) * dilation[0] + 1, (w.shape[3] - 1) * dilation[1] + 1))
    kd[:, :, ::dilation[0], ::dilation[1]] = w
    out = []
    for i in range(n):
        maps = [sum(correlate(xp[i, ci], kd[o, ci], mode="valid") for ci in range(c)) + b[o] for o in range(w.shape[0])]
        out.append(np.stack(maps)[:, ::stride[0], ::stride[1]])
    return np.stack(out)


@pytest.mark.parametrize("stride,pads,dilation", [((1, 1), (0, 0, 0, 0), (1, 1)), ((2, 1), (1, 2, 0, 1), (1, 1)),
                                                  ((1, 2), (2, 2, 2, 2), (2, 1))])
def test_conv_im2col_matches_scipy_correlate(stride, pads, dilation):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 2, 9, 8))
    w, b = rng.normal(size=(4, 2, 3, 2)), rng.normal(size=4)
    conv = Conv2d(w, b, stride=stride, padding=pads, dilation=dilation, name="c")
    np.testing.assert_allclose(conv.forward(x), _conv_reference(x, w, b, stride, pads, dilation), atol=1e-12)


def test_pooling_against_loops():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 7, 6))
    mp = MaxPool2d(3, stride=2, padding=1).forward(x)
    ap = AvgPool2d(3, stride=2, padding=1).forward(x)            # padding not counted (ONNX default)
    api = AvgPool2d(3, stride=2, padding=1, count_include_pad=True).forward(x)
    assert mp.shape == ap.shape == (2, 3, 4, 3)
    for i in range(4):
        for j in range(3):
            r0, r1 = max(2 * i - 1, 0), min(2 * i + 2, 7)
            c0, c1 = max(2 * j - 1, 0), min(2 * j + 2, 6)
            win = x[:, :, r0:r1, c0:c1]
            np.testing.assert_allclose(mp[:, :, i, j], win.max(axis=(2, 3)))
            np.testing.assert_allclose(ap[:, :, i, j], win.mean(axis=(2, 3)))
            np.testing.assert_allclose(api[:, :, i, j], win.sum(axis=(2, 3)) / 9)
    np.testing.assert_allclose(GlobalAvgPool2d().forward(x)[:, :, 0, 0], x.mean(axis=(2, 3)))


def test_elementwise_layers():
    x = np.array([[-800.0, -1.0, 0.0, 2.0, 800.0]])
    np.testing.assert_allclose(Sigmoid().forward(x), expit(x), rtol=1e-15)  # no overflow warning at +-800
    np.testing.assert_allclose(Tanh().forward(x), np.tanh(x))
    np.testing.assert_array_equal(ReLU().forward(x), [[0, 0, 0, 2, 800]])
    s = Softmax().forward(np.array([[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(s[0], np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum())
    bn = BatchNorm([2.0], [1.0], [3.0], [4.0], eps=0.0)
    np.testing.assert_allclose(bn.forward(np.array([[5.0]])), [[(5 - 3) / 2 * 2 + 1]])


def _residual_net(rng):
    layers = [
        Conv2d(rng.normal(0, 0.5, (3, 1, 3, 3)), rng.normal(0, 0.1, 3), padding=1, name="conv1", inputs=["input"]),
        BatchNorm(rng.uniform(0.5, 2, 3), rng.normal(size=3), rng.normal(size=3), rng.uniform(0.5, 2, 3),
                  name="bn1", inputs=["conv1"]),
        ReLU(name="relu1", inputs=["bn1"]),
        Conv2d(rng.normal(0, 0.5, (3, 3, 3, 3)), None, padding=1, name="conv2", inputs=["relu1"]),
        Add(name="res", inputs=["conv2", "relu1"]),
        MaxPool2d(2, name="pool", inputs=["res"]),
        Flatten(name="flat", inputs=["pool"]),
        Dense(rng.normal(0, 0.3, (4, 12)), rng.normal(size=4), name="fc", inputs=["flat"]),
        BatchNorm(rng.uniform(0.5, 2, 4), rng.normal(size=4), rng.normal(size=4), rng.uniform(0.5, 2, 4),
                  name="bn2", inputs=["fc"]),
    ]
    return Network(layers, input_shape=(1, 4, 4))


def test_graph_forward_fold_and_save_load(tmp_path):
    rng = np.random.default_rng(2)
    net = _residual_net(rng)
    x = rng.uniform(size=(5, 16))                       # flat input is reshaped to the input shape
    y = net.forward(x)
    # hand-written forward pass of the same graph
    L = {layer.name: layer for layer in net.layers}
    h = L["relu1"].forward(L["bn1"].forward(L["conv1"].forward(x.reshape(5, 1, 4, 4))))
    r = L["conv2"].forward(h) + h
    ref = L["bn2"].forward(L["fc"].forward(L["pool"].forward(r).reshape(5, -1)))
    np.testing.assert_array_equal(y, ref)
    folded = net.fold_batchnorm()
    assert [layer.name for layer in folded.layers] == ["conv1", "relu1", "conv2", "res", "pool", "flat", "fc"]
    assert folded.output == "fc"
    np.testing.assert_allclose(folded.forward(x), y, rtol=1e-12, atol=1e-12)
    assert np.all(net["conv1"].weight != folded["conv1"].weight)   # the copy was changed, not the original
    back = load_network(net.save(tmp_path / "net.npz"))
    np.testing.assert_array_equal(back.forward(x), y)
    assert back.input_shape == (1, 4, 4)
    np.testing.assert_allclose(net.forward(x, batch_size=2), y, rtol=1e-13, atol=1e-13)


def test_graph_errors(tmp_path):
    with pytest.raises(NetworkError, match="not an earlier layer"):
        Network([ReLU(name="a", inputs=["b"]), ReLU(name="b", inputs=["input"])])
    with pytest.raises(NetworkError, match="used twice"):
        Network([ReLU(name="a", inputs=["input"]), ReLU(name="a", inputs=["a"])])
    net = Network.sequential([Dense(np.ones((2, 3)))], input_shape=(3,))
    with pytest.raises(NetworkError, match=r"input of shape \(4, 5\)"):
        net.forward(np.ones((4, 5)))
    bad = tmp_path / "bad.npz"
    np.savez(bad, w=np.ones(3))
    with pytest.raises(NetworkError, match=r"bad\.npz.*__graph__"):
        Network.load(bad)
    with pytest.raises(NetworkError, match="expected 'builtin:NAME'"):
        load_network(tmp_path / "weights.h5")
    with pytest.raises(NetworkError, match="unknown built-in"):
        load_network("builtin:imagenet")


class _ScaledTile:
    """Test stand-in for an analog matrix: holds 1.1 x the weight and counts its calls."""

    def __init__(self, weight, device, config, rng):
        self.w = 1.1 * weight
        self.calls, self.programmed = 0, False

    def program(self):
        self.programmed = True
        return "report"

    def forward(self, x, t=0.0):
        self.calls += 1
        return x @ self.w.T * (1.0 + t)

    def effective_weight(self, t=0.0):
        return self.w * (1.0 + t)


def test_analog_network_routes_matrix_layers_through_tiles():
    rng = np.random.default_rng(3)
    net = _residual_net(rng)
    x = rng.uniform(size=(6, 1, 4, 4))
    anet = AnalogNetwork(net, device=None, config=object(), layer_configs={"conv2": None},
                         matrix_factory=_ScaledTile)
    assert set(anet.tiles) == {"conv1", "fc"}                       # conv2 stays digital
    assert anet.reports == {"conv1": "report", "fc": "report"}
    y = anet.forward(x, t=0.5)
    # reference: the folded network with conv1 and fc weights scaled by 1.1 * 1.5 (biases digital, unscaled)
    ref = net.fold_batchnorm()
    ref["conv1"].weight *= 1.65
    ref["fc"].weight *= 1.65
    np.testing.assert_allclose(y, ref.forward(x), rtol=1e-12)
    np.testing.assert_allclose(anet.effective_network(t=0.5).forward(x), y, rtol=1e-12)
    assert anet.tiles["conv1"].calls == 1
    with pytest.raises(NetworkError, match="not matrix layers"):
        AnalogNetwork(net, None, object(), layer_configs={"relu1": None}, matrix_factory=_ScaledTile)
