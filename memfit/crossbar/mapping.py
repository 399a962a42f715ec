r"""Weight -> tile -> conductance mapping.

A weight matrix ``W`` (out, in) is cut into tiles of ``rows x cols = tile_size`` (rows take inputs,
columns give outputs); partial sums of tiles that share outputs are added digitally.  Inside a tile:

1. **Clipping and scaling** (thesis sec. 3.4.1): weights are clipped at ``clip`` x std (or x max)
   -- of the whole tile (``mapping="global"``) or of each output column (``"column"``) -- and divided
   by the scale ``s`` (the largest remaining |w|), so ``w_norm = clip(W)/s`` lies in ``[-1, 1]``.
   The digital periphery multiplies the tile's outputs by ``s`` again.
2. **Bit slicing** (thesis sec. 3.3.3, "X binary + one analog"): ``|w_norm| = sum_k b_k 2^-k +
   r 2^-X`` with bits ``b_1..b_X`` (MSB first) on binary devices and the remainder ``r`` in [0, 1]
   on one analog device; every slice has its own ADC and the digital periphery recombines them
   with the powers of two (:func:`recombine`).
3. **Conductances**: a differential pair per slice, ``G+ = g_min + max(w, 0) dG``,
   ``G- = g_min + max(-w, 0) dG`` (``dG = g_max - g_min``); without pairs, one device at
   ``g_min + (w + 1) dG / 2`` against an ideal mid-scale reference column.  With
   ``devices_per_weight = n`` the n currents are averaged; every device is programmed to the
   weight's target, except with open-loop ``"direct"`` programming, where the devices take the
   two pulse-ladder levels around the target in the ratio that puts their mean nearest it
   (:func:`memfit.crossbar.programming.direct_split`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memfit.errors import ParameterError


@dataclass(frozen=True)
class TileSpec:
    """Where a tile sits in its matrix: input (row) and output (column) index ranges."""

    in_start: int
    in_stop: int
    out_start: int
    out_stop: int

    @property
    def shape(self) -> tuple[int, int]:
        """(outputs, inputs) of the tile."""
        return self.out_stop - self.out_start, self.in_stop - self.in_start


def split_tiles(n_out: int, n_in: int, tile_size: tuple[int, int]) -> list[TileSpec]:
    """Cut an (n_out, n_in) matrix into tiles of at most ``tile_size = (rows=inputs, cols=outputs)``."""
    rows, cols = tile_size
    if n_out < 1 or n_in < 1:
        raise ParameterError(f"weight matrix must have at least one row and column, got ({n_out}, {n_in})")
    return [TileSpec(i, min(i + rows, n_in), o, min(o + cols, n_out))
            for o in range(0, n_out, cols) for i in range(0, n_in, rows)]


def weight_scales(w: np.ndarray, mapping: str = "global", clip: float | None = None,
                  clip_type: str = "std") -> np.ndarray:
    """Per-output scale ``s`` (out,) so that ``clip(w)/s`` lies in [-1, 1].

    Parameters
    ----------
    w : (out, in) array
        The tile's weights.
    mapping : {"global", "column"}
        One scale for the tile, or one per output column.
    clip : float or None
        Clip level: ``clip * std`` (``clip_type="std"``) or ``clip * max|w|`` (``"max"``),
        per tile or per column like the scale.
    """
    w = np.asarray(w, dtype=np.float64)
    if mapping == "global":
        amax = np.full(w.shape[0], np.max(np.abs(w)))
    else:
        amax = np.max(np.abs(w), axis=1)
    if clip is None:
        s = amax
    else:
        if clip_type == "std":
            lim = np.full(w.shape[0], np.std(w)) if mapping == "global" else np.std(w, axis=1)
        else:
            lim = amax
        s = np.minimum(amax, clip * lim)
    s = np.array(s, dtype=np.float64)
    s[~(s > 0)] = 1.0  # all-zero column: any scale maps it to zero conductance difference
    return s


def normalize(w: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """``clip(w / s, -1, 1)`` with per-output scales ``s`` (out,)."""
    return np.clip(np.asarray(w, dtype=np.float64) / scales[:, None], -1.0, 1.0)


def slice_weights(w_norm: np.ndarray, bit_slicing: dict | None) -> tuple[np.ndarray, np.ndarray]:
    """Split normalized weights into slices.

    Returns
    -------
    slices : (n_slices, out, in) array in [-1, 1]
        Signed slice weights: ``sign(w) b_k`` for the X binary slices, ``sign(w) r`` for the analog one.
    significance : (n_slices,) array
        ``2^-1 .. 2^-X, 2^-X``; ``w_norm == sum_k significance[k] * slices[k]`` (:func:`recombine`).
    """
    w_norm = np.asarray(w_norm, dtype=np.float64)
    if bit_slicing is None:
        return w_norm[None].copy(), np.ones(1)
    X = int(bit_slicing["binary"])
    sign = np.sign(w_norm)
    rem = np.abs(w_norm)
    out = np.empty((X + 1,) + w_norm.shape)
    sig = np.empty(X + 1)
    for k in range(1, X + 1):
        step = 2.0 ** -k
        bit = rem >= step
        out[k - 1] = sign * bit
        rem = rem - step * bit
        sig[k - 1] = step
    sig[X] = 2.0 ** -X
    out[X] = sign * np.clip(rem * 2.0 ** X, 0.0, 1.0)
    return out, sig


def recombine(slices: np.ndarray, significance: np.ndarray) -> np.ndarray:
    """Digital shift-and-add of slice values: ``sum_k significance[k] * slices[k]``."""
    return np.tensordot(np.asarray(significance), np.asarray(slices), axes=1)


def target_conductances(w_slices: np.ndarray, g_min: float, g_max: float, differential: bool = True) -> np.ndarray:
    """Target conductances [S] of slice weights.

    Returns an array of shape ``(n_slices, 2, out, in)`` for pairs (index 0 = G+, 1 = G-) or
    ``(n_slices, 1, out, in)`` for single devices against the mid-scale reference.
    """
    dg = g_max - g_min
    w = np.asarray(w_slices, dtype=np.float64)
    if differential:
        return np.stack([g_min + np.maximum(w, 0.0) * dg, g_min + np.maximum(-w, 0.0) * dg], axis=1)
    return (g_min + 0.5 * (w + 1.0) * dg)[:, None]


def conductance_to_weight(G: np.ndarray, g_min: float, g_max: float, differential: bool = True) -> np.ndarray:
    """Normalized slice weights of conductances ``G`` (``(..., 2 or 1, out, in)``, the inverse of
    :func:`target_conductances`; devices-per-weight axes are averaged by the caller)."""
    dg = g_max - g_min
    if differential:
        return (G[..., 0, :, :] - G[..., 1, :, :]) / dg
    return 2.0 * (G[..., 0, :, :] - 0.5 * (g_min + g_max)) / dg
