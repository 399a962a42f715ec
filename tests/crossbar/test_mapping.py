"""Mapping: tiles, scales and clipping, bit slicing (recombination equals the weight), conductances."""

import numpy as np
import pytest

from memfit.crossbar import mapping as mp


def test_split_tiles_cover_the_matrix_once():
    tiles = mp.split_tiles(300, 700, (256, 128))
    hits = np.zeros((300, 700), int)
    for t in tiles:
        hits[t.out_start:t.out_stop, t.in_start:t.in_stop] += 1
    assert hits.min() == hits.max() == 1
    assert len(tiles) == 3 * 3


@pytest.mark.parametrize("X", [0, 1, 2, 3, 7])
def test_bit_sliced_recombination_equals_the_weight(X):
    rng = np.random.default_rng(X)
    w = np.concatenate([rng.uniform(-1, 1, 500), [0.0, 1.0, -1.0, 0.5, 0.75, -0.25, 0.80]]).reshape(1, -1)
    slices, sig = mp.slice_weights(w, {"binary": X, "analog": 1})
    assert slices.shape[0] == X + 1
    np.testing.assert_allclose(sig, [2.0 ** -k for k in range(1, X + 1)] + [2.0 ** -X])
    # binary slices hold only 0 / +-1, the analog remainder lies in [-1, 1]
    assert set(np.unique(np.abs(slices[:X]))) <= {0.0, 1.0}
    assert np.all(np.abs(slices[X]) <= 1.0)
    # powers-of-two recombination gives the weight back (to rounding)
    np.testing.assert_allclose(mp.recombine(slices, sig), w, rtol=0, atol=1e-15)


def test_thesis_example_0_80_two_binary_one_analog():
    # thesis sec. 3.3.3: 0.80 = 0.11001100b -> two binary devices on, remainder 0.05 on the analog one
    slices, sig = mp.slice_weights(np.array([[0.80]]), {"binary": 2, "analog": 1})
    assert slices[:2, 0, 0].tolist() == [1.0, 1.0]
    assert slices[2, 0, 0] * sig[2] == pytest.approx(0.05, abs=1e-15)


def test_scales_global_column_and_clipping():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 1000)) * np.array([[1.0], [2.0], [0.5], [3.0]])
    s_g = mp.weight_scales(w, "global")
    assert np.all(s_g == np.max(np.abs(w)))
    s_c = mp.weight_scales(w, "column")
    np.testing.assert_allclose(s_c, np.max(np.abs(w), axis=1))
    s_clip = mp.weight_scales(w, "column", clip=2.5, clip_type="std")
    np.testing.assert_allclose(s_clip, np.minimum(np.max(np.abs(w), axis=1), 2.5 * np.std(w, axis=1)))
    wn = mp.normalize(w, s_clip)
    assert np.max(np.abs(wn)) == 1.0


@pytest.mark.parametrize("differential", [True, False])
def test_conductances_round_trip(differential):
    w = np.linspace(-1, 1, 11).reshape(1, 1, 11)
    G = mp.target_conductances(w, 1e-9, 14e-9, differential)
    assert G.min() >= 1e-9 - 1e-24 and G.max() <= 14e-9 + 1e-24
    np.testing.assert_allclose(mp.conductance_to_weight(G, 1e-9, 14e-9, differential), w, atol=1e-12)
