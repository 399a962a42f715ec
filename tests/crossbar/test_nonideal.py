"""Fused forward kernels vs the numpy reference path of AnalogMatrix, and the in-kernel normal generator."""

import numpy as np
import pytest
from scipy import stats

from memfit.crossbar import nonideal as nl
from memfit.crossbar.config import get_config
from memfit.crossbar.device import CrossbarDevice
from memfit.crossbar.tile import AnalogMatrix

BASE = get_config("baseline-ftj")


def _sinh_device():
    v = np.linspace(-0.6, 0.6, 241)
    return CrossbarDevice(g_min=1e-9, g_max=14e-9, read_voltage=0.3, iv_table=(v, np.sinh(v / 0.25) / np.sinh(1.2)))


@pytest.mark.parametrize("changes", [
    {},
    {"tile_size": (128, 48)},
    {"bit_slicing": {"binary": 2, "analog": 1}},
    {"dac_bits": None, "read_nonlinearity": False},
    {"adc_bits": None},
    {"noise_management": None, "out_bound": 3.0},
    {"mapping": "global", "devices_per_weight": 2, "differential": False},
])
def test_fused_forward_without_noise_equals_the_numpy_reference(changes):
    rng = np.random.default_rng(0)
    W = rng.normal(size=(70, 300))
    x = rng.uniform(-1, 1, (33, 300)).astype(np.float32)
    cfg = BASE.replace(out_noise=0.0, w_noise=0.0, programming="ideal", **changes)
    fused = AnalogMatrix(W, _sinh_device(), cfg, rng=np.random.default_rng(1))
    ref = AnalogMatrix(W, _sinh_device(), cfg, rng=np.random.default_rng(1), engine="numpy")
    assert fused.fused and not ref.fused
    yf, yr = fused.forward(x), ref.forward(x)
    # same float32 operations: equal up to the last rounding of the partial-sum additions
    np.testing.assert_allclose(yf, yr, rtol=1e-6, atol=1e-6 * np.abs(yr).max())


def test_fused_forward_noise_statistics_match_the_reference():
    rng = np.random.default_rng(3)
    W = rng.normal(size=(200, 256))
    x = rng.uniform(-1, 1, (400, 256)).astype(np.float32)
    cfg = BASE.replace(programming="ideal", adc_bits=None, bound_management=None, drift=False)
    clean = AnalogMatrix(W, _sinh_device(), cfg.replace(out_noise=0.0, w_noise=0.0), engine="numpy").forward(x)
    res = {}
    for eng in ("fused", "numpy"):
        am = AnalogMatrix(W, _sinh_device(), cfg, rng=np.random.default_rng(4), engine=eng)
        alpha = np.abs(x).max(axis=1)[:, None]
        scale = am.tiles[0].scale[None, :]
        r = (am.forward(x) - clean) / (alpha * scale)  # in normalized output units
        res[eng] = r
    # expected std per row: sqrt(out_noise^2 + w_noise^2 ||x_q||^2) (x_q after the DAC, ~ x/alpha)
    xs = x / np.abs(x).max(axis=1)[:, None]
    sd = np.sqrt(0.04 ** 2 + 0.035 ** 2 * np.sum(xs.astype(np.float64) ** 2, axis=1))[:, None]
    for eng, r in res.items():
        z = (r / sd).ravel()
        assert abs(z.mean()) < 0.01 and z.std() == pytest.approx(1.0, abs=0.01), eng
    assert stats.ks_2samp(res["fused"].ravel(), res["numpy"].ravel()).pvalue > 1e-3


def test_in_kernel_normals_are_standard_normal():
    z = nl.standard_normals(2_000_000, np.random.default_rng(0)).astype(np.float64)
    assert abs(z.mean()) < 3e-3 and z.std() == pytest.approx(1.0, abs=2e-3)
    assert stats.kstest(z[:200_000], "norm").pvalue > 1e-3
    assert stats.skew(z) == pytest.approx(0.0, abs=0.01) and stats.kurtosis(z) == pytest.approx(0.0, abs=0.02)
    # the tail beyond the ziggurat's base strip (r = 3.654) and the wedges have the right mass
    for t in (1.0, 2.5, 3.654, 4.5):
        p = np.mean(np.abs(z) > t)
        expect = 2 * stats.norm.sf(t)
        assert abs(p - expect) < 5 * np.sqrt(expect / z.size) + 1e-7, t
    # fresh draws each call, reproducible from the seed
    a = nl.standard_normals(1000, np.random.default_rng(5))
    assert np.array_equal(a, nl.standard_normals(1000, np.random.default_rng(5)))
    assert not np.array_equal(a, nl.standard_normals(1000, np.random.default_rng(6)))
