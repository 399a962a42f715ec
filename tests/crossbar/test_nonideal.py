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
    # the tails have the right mass (the polynomial log and sine/cosine of the Box-Muller pairs)
    for t in (1.0, 2.5, 3.654, 4.5, 5.0):
        p = np.mean(np.abs(z) > t)
        expect = 2 * stats.norm.sf(t)
        assert abs(p - expect) < 5 * np.sqrt(expect / z.size) + 1e-7, t
    # the two normals of a pair (first and second half of a block) are independent: no correlation
    # of the values, nor of their squares (which share the pair's radius)
    pairs = nl.FILL_PAIRS
    blocks = z[: z.size // (2 * pairs) * 2 * pairs].reshape(-1, 2, pairs)
    a, b = blocks[:, 0].ravel(), blocks[:, 1].ravel()
    tol = 5 / np.sqrt(a.size)
    assert abs(np.corrcoef(a, b)[0, 1]) < tol and abs(np.corrcoef(a * a, b * b)[0, 1]) < tol
    # and the angle is uniform: the pair's polar angle falls in each octant equally often
    octant = np.floor((np.arctan2(b, a) + np.pi) / (np.pi / 4)).astype(int) % 8
    counts = np.bincount(octant, minlength=8)
    assert stats.chisquare(counts).pvalue > 1e-3
    # fresh draws each call, reproducible from the seed
    a = nl.standard_normals(1000, np.random.default_rng(5))
    assert np.array_equal(a, nl.standard_normals(1000, np.random.default_rng(5)))
    assert not np.array_equal(a, nl.standard_normals(1000, np.random.default_rng(6)))
    # bit for bit whatever the buffer's alignment (which elements the vectorized loop body takes)
    for off in range(1, 9):
        buf = np.empty(1000 + off, dtype=np.float32)[off:]
        nl._fill_normals(nl.seed_stream(np.random.default_rng(5)), buf)
        assert np.array_equal(buf, a), off


@pytest.mark.parametrize("changes", [{}, {"bit_slicing": {"binary": 2, "analog": 1}}, {"tile_size": (128, 96)},
                                     {"max_bm_iterations": 1}, {"max_bm_iterations": 2}])
@pytest.mark.parametrize("blocked", [True, False])
def test_bound_management_with_early_saturation_detection_equals_the_reference(changes, blocked):
    """Noise-free reads with most vectors re-read (several times): the fused engine's early saturation
    detection -- the screened first read for one slice (the read at twice the input scale first, then
    the first read's likeliest outputs), column blocks for bit slices -- decides exactly as the numpy
    reference's full reads."""
    rng = np.random.default_rng(5)
    W = rng.normal(size=(160, 300))
    x = rng.uniform(-1, 1, (57, 300)).astype(np.float32)
    x[1::7, :150] = 0.0  # some vectors with half the inputs off: fewer re-reads
    cfg = BASE.replace(out_noise=0.0, w_noise=0.0, programming="ideal", out_bound=3.0, **changes)
    fused = AnalogMatrix(W, _sinh_device(), cfg, rng=np.random.default_rng(1))
    ref = AnalogMatrix(W, _sinh_device(), cfg, rng=np.random.default_rng(1), engine="numpy")
    fused.program()
    for tile in fused.tiles:
        tile.sat_fraction = 1.0 if blocked else 0.0  # choose the read strategy of the first call
    yf, yr = fused.forward(x), ref.forward(x)
    if blocked and "bit_slicing" in changes:
        assert all(t._bm_blocks is not None and t._bm_blocks[0] is not None for t in fused.tiles)
    elif blocked:
        assert all(t._wt is not None and t._bm_blocks is None for t in fused.tiles)
    else:
        assert all(t._bm_blocks is None and t._wt is None for t in fused.tiles)
    # most first reads saturated (the fused engine records the fraction of each call)
    assert all(t.sat_fraction > 0.5 for t in fused.tiles)
    np.testing.assert_allclose(yf, yr, rtol=1e-6, atol=1e-6 * np.abs(yr).max())


def test_bound_management_with_noise_matches_the_reference_statistically():
    """With noise deciding which reads saturate, the screened fused read (the first read's outputs read
    in the order the second read suggests, one noise draw per output read, and a full read, with those
    draws, of the vectors not decided that way) gives the same output distribution as the reference's
    full reads."""
    rng = np.random.default_rng(6)
    W = rng.normal(size=(96, 128))
    x0 = rng.uniform(-1, 1, 128).astype(np.float32)
    cfg = BASE.replace(programming="ideal", drift=False, out_noise=0.3, w_noise=0.0)
    clean = AnalogMatrix(W, _sinh_device(), cfg.replace(out_noise=0.0, adc_bits=None), engine="numpy")
    yc = clean.forward(x0[None])[0] / (np.abs(x0).max() * clean.tiles[0].scale)  # normalized outputs
    # out_bound just above the largest clean output: the noise decides whether a read saturates
    cfg = cfg.replace(out_bound=float(np.abs(yc).max()) + 0.1)
    x = np.repeat(x0[None], 1500, axis=0)
    res = {}
    for eng in ("fused", "numpy"):
        am = AnalogMatrix(W, _sinh_device(), cfg, rng=np.random.default_rng(7), engine=eng)
        am.program()
        am.tiles[0].sat_fraction = 1.0  # the fused engine screens the first reads
        res[eng] = am.forward(x) / (np.abs(x0).max() * am.tiles[0].scale)
    # re-read vectors have their outputs on the ADC grid of twice the step: fraction of re-reads
    step = 2.0 * cfg.out_bound / (2 ** cfg.adc_bits - 2)
    j = int(np.argmax(np.abs(yc)))
    frac = {}
    for eng, r in res.items():
        k = np.rint(r[:, j] / step)
        assert np.allclose(r[:, j], k * step, atol=1e-4 * step)
        frac[eng] = np.mean(k % 2 == 1)  # odd level: certainly a first read
    assert 0.1 < frac["numpy"] < 0.6  # the noise decides a good part of the reads
    assert abs(frac["fused"] - frac["numpy"]) < 4 * np.sqrt(0.25 / 1500) * np.sqrt(2)
    for jj in np.argsort(-np.abs(yc))[:5]:
        assert stats.ks_2samp(res["fused"][:, jj], res["numpy"][:, jj]).pvalue > 1e-3
