"""ONNX import: the digital forward pass matches onnxruntime to 1e-5; unsupported operators are named."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from memfit.crossbar.layers import BatchNorm, Dense, NetworkError  # noqa: E402
from memfit.crossbar.network import Network, load_network  # noqa: E402
from memfit.crossbar.onnx_import import load_onnx  # noqa: E402


def _init(name, a):
    return numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)


def _model(nodes, inits, in_shape, out_shape, opset=17):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *in_shape])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", *out_shape])], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="memfit-test")
    onnx.checker.check_model(m)
    return m


def _ort(model, x):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x.astype(np.float32)})[0]


def _mlp_model(rng, use_gemm):
    w1, b1 = rng.normal(0, 0.3, (20, 12)), rng.normal(0, 0.1, 20)   # (out, in)
    w2, b2 = rng.normal(0, 0.3, (5, 20)), rng.normal(0, 0.1, 5)
    if use_gemm:
        nodes = [helper.make_node("Gemm", ["x", "W1", "B1"], ["h1"], name="fc1", transB=1),
                 helper.make_node("Tanh", ["h1"], ["a1"], name="act1"),
                 helper.make_node("Gemm", ["a1", "W2", "B2"], ["h2"], name="fc2", transB=0, alpha=0.5, beta=2.0),
                 helper.make_node("Softmax", ["h2"], ["y"], name="sm")]
        inits = [_init("W1", w1), _init("B1", b1), _init("W2", w2.T), _init("B2", b2)]
    else:
        nodes = [helper.make_node("MatMul", ["x", "W1"], ["m1"], name="mm1"),
                 helper.make_node("Add", ["m1", "B1"], ["h1"], name="add1"),
                 helper.make_node("Sigmoid", ["h1"], ["a1"], name="act1"),
                 helper.make_node("MatMul", ["a1", "W2"], ["m2"], name="mm2"),
                 helper.make_node("Add", ["B2", "m2"], ["y"], name="add2")]
        inits = [_init("W1", w1.T), _init("B1", b1), _init("W2", w2.T), _init("B2", b2)]
    return _model(nodes, inits, [12], [5])


@pytest.mark.parametrize("use_gemm", [True, False])
def test_mlp_matches_onnxruntime(use_gemm):
    rng = np.random.default_rng(1)
    model = _mlp_model(rng, use_gemm)
    net = load_onnx(model)
    x = rng.uniform(-1, 1, (64, 12)).astype(np.float32)
    np.testing.assert_allclose(net.forward(x), _ort(model, x), atol=1e-5, rtol=1e-5)
    assert len(net.matrix_layers()) == 2
    if not use_gemm:  # MatMul + Add(constant) fused into dense layers with a bias
        assert all(isinstance(m, Dense) and m.bias is not None for m in net.matrix_layers())
        assert len(net.layers) == 3
    assert net.input_shape == (12,)


def _cnn_model(rng):
    c = 4

    def bn(prefix, n):
        return [_init(f"{prefix}_s", rng.uniform(0.5, 1.5, n)), _init(f"{prefix}_b", rng.normal(0, 0.2, n)),
                _init(f"{prefix}_m", rng.normal(0, 0.2, n)), _init(f"{prefix}_v", rng.uniform(0.5, 2.0, n))]

    inits = [_init("W1", rng.normal(0, 0.4, (c, 2, 3, 3))), _init("B1", rng.normal(0, 0.1, c)),
             _init("W2", rng.normal(0, 0.3, (c, c, 3, 3))),
             _init("W3", rng.normal(0, 0.3, (c, c, 2, 2))), _init("B3", rng.normal(0, 0.1, c)),
             _init("Wf", rng.normal(0, 0.2, (3, c * 3 * 3))), _init("Bf", rng.normal(0, 0.1, 3)),
             _init("shape", np.array([0, -1]))]
    inits[-1] = numpy_helper.from_array(np.array([0, -1], dtype=np.int64), "shape")
    inits += bn("bn1", c) + bn("bn2", c)
    nodes = [
        helper.make_node("Conv", ["x", "W1", "B1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn1_s", "bn1_b", "bn1_m", "bn1_v"], ["n1"], name="bn1",
                         epsilon=1e-3),
        helper.make_node("Relu", ["n1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "W2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c2", "bn2_s", "bn2_b", "bn2_m", "bn2_v"], ["n2"], name="bn2"),
        helper.make_node("Add", ["n2", "r1"], ["res"], name="residual"),
        helper.make_node("Relu", ["res"], ["r2"], name="relu2"),
        helper.make_node("MaxPool", ["r2"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("AveragePool", ["p1"], ["p2"], name="pool2", kernel_shape=[3, 3], strides=[1, 1],
                         pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["p2", "W3", "B3"], ["c3"], name="conv3", strides=[2, 2], pads=[0, 0, 1, 1]),
        helper.make_node("Tanh", ["c3"], ["t3"], name="tanh3"),
        helper.make_node("Reshape", ["t3", "shape"], ["f"], name="reshape"),
        helper.make_node("Gemm", ["f", "Wf", "Bf"], ["logits"], name="fc", transB=1),
        helper.make_node("Softmax", ["logits"], ["y"], name="softmax", axis=1),
    ]
    return _model(nodes, inits, [2, 10, 10], [3])


def test_cnn_with_batchnorm_and_residual_matches_onnxruntime(tmp_path):
    rng = np.random.default_rng(2)
    model = _cnn_model(rng)
    path = tmp_path / "cnn.onnx"
    onnx.save(model, str(path))
    net = load_network(path)
    x = rng.uniform(0, 1, (16, 2, 10, 10)).astype(np.float32)
    ref = _ort(model, x)
    assert ref.shape == (16, 3)
    np.testing.assert_allclose(net.forward(x), ref, atol=1e-5, rtol=1e-5)
    # folding the batch-norms into conv1/conv2 (the analog path) changes nothing but rounding
    folded = net.fold_batchnorm()
    assert not any(isinstance(layer, BatchNorm) for layer in folded.layers)
    assert sum(isinstance(layer, BatchNorm) for layer in net.layers) == 2  # the original keeps them
    np.testing.assert_allclose(folded.forward(x), net.forward(x), atol=1e-12, rtol=1e-10)
    # and the imported network round-trips through the .npz format
    back = Network.load(net.save(tmp_path / "cnn.npz"))
    np.testing.assert_array_equal(back.forward(x), net.forward(x))


def test_unsupported_operator_is_named():
    w = np.ones((3, 3))
    nodes = [helper.make_node("Gemm", ["x", "W"], ["h"], name="fc"),
             helper.make_node("LeakyRelu", ["h"], ["y"], name="leaky_one", alpha=0.1)]
    model = _model(nodes, [_init("W", w)], [3], [3])
    with pytest.raises(NetworkError, match=r"'leaky_one'.*'LeakyRelu' is not supported"):
        load_onnx(model)


def test_grouped_conv_and_computed_weight_are_refused():
    nodes = [helper.make_node("Conv", ["x", "W"], ["y"], name="dw", group=2)]
    model = _model(nodes, [_init("W", np.ones((2, 1, 3, 3)))], [2, 5, 5], [2, 3, 3])
    with pytest.raises(NetworkError, match=r"'dw'.*group=2"):
        load_onnx(model)
    nodes = [helper.make_node("MatMul", ["x", "x"], ["y"], name="xx")]
    with pytest.raises(NetworkError, match=r"'xx'.*must be a constant"):
        load_onnx(_model(nodes, [], [3], [3]))


def test_bad_file_is_named(tmp_path):
    p = tmp_path / "broken.onnx"
    p.write_bytes(b"this is not protobuf \x00\xff\x13")
    with pytest.raises(NetworkError, match="broken.onnx"):
        load_network(p)
    with pytest.raises(NetworkError, match="does not exist"):
        load_network(tmp_path / "missing.onnx")
