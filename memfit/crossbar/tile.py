r"""Analog tiles: :class:`AnalogMatrix` holds one weight matrix on crossbar tiles of devices.

``AnalogMatrix(W, device, config, rng)`` maps ``W`` (out, in) onto tiles (:mod:`memfit.crossbar.mapping`),
``program()`` sets every device's conductance (:mod:`memfit.crossbar.programming`) and
``forward(x, t)`` computes ``x @ W.T`` the way the hardware does, ``t`` seconds after programming.

The forward pass of one tile, for a batch of input vectors (normalized units, see
:mod:`memfit.crossbar.config`):

1. noise management: ``alpha = max|x|`` per vector (``x/alpha`` uses the whole DAC range);
2. DAC: clip to ``+-in_bound``, round to ``2**dac_bits - 1`` levels;
3. the array: each slice's column currents ``sum_i G_ij V_read h(x_i V_read)`` (``h`` = the device's
   read I-V, or ``x_i`` for an ohmic read) -- or, with ``ir_drop``, the nodal solution of the array with
   its wire resistance (:mod:`memfit.crossbar.irdrop`) -- as normalized outputs;
4. output-referred noise: ``N(0, out_noise^2 + (w_noise ||x||_2)^2)`` (+ the device read noise);
5. ADC: clip to ``+-out_bound``, round to ``2**adc_bits - 1`` levels; bound management: while an
   output saturated, halve the input (double ``alpha``) and read that vector again (the fused engine
   reads a tile whose vectors mostly saturate in column blocks and stops reading a vector at its
   first saturated block: same decisions, fewer wasted outputs);
6. digital periphery: slices recombined with their powers of two, times ``alpha``, divided by the
   global drift-compensation factor, times the tile's weight scale; tiles that share outputs are
   summed.  The bias is *not* added (the layers add it digitally).

Conductances drift as ``G(t) = G_prog ((t + t0)/t0)^-nu`` with per-device ``nu`` drawn at
programming from the device's ``nu(G)`` tables; stuck devices neither program nor drift.
Global drift compensation (thesis eqs. 3.6-3.7, Joshi et al., Nat. Commun. 11, 2473 (2020),
doi:10.1038/s41467-020-16108-9): right after programming, and again at ``t``, all rows are driven
with the calibration voltage (input +1) and the summed magnitude of the tile's outputs is read;
``alpha_drift = I_cal(t)/I_cal(0)`` and outputs are divided by it.
"""

from __future__ import annotations

import contextlib

import numpy as np

from memfit._threads import blas_serial
from memfit.crossbar import mapping as mp
from memfit.crossbar.config import CrossbarConfig, get_config
from memfit.crossbar.device import CrossbarDevice
from memfit.errors import ParameterError


def quantize(x: np.ndarray, bits: int | None, bound: float) -> np.ndarray:
    """Clip to ``[-bound, bound]`` and round to ``2**bits - 1`` symmetric levels (None: unchanged).

    The step is ``2 bound / (2**bits - 2)``: levels ``k * step`` for ``k = -(2**(bits-1) - 1) ..
    2**(bits-1) - 1``, zero included (aihwkit's ``res = 1/(2**bits - 2)`` of the full range).
    """
    if bits is None:
        return x
    step = 2.0 * bound / (2 ** bits - 2)
    return np.rint(np.clip(x, -bound, bound) * (1.0 / step)) * step


def _device_mean(G: np.ndarray) -> np.ndarray:
    """Mean over the devices-per-weight axis (1) of ``(S, n_dev, P, out, in)`` conductances (a view for one)."""
    return G[:, 0] if G.shape[1] == 1 else G.mean(axis=1)


#: the empty normals array of a noise-free read (finish_outputs adds no noise)
_NO_NOISE = np.zeros((0, 0, 0), dtype=np.float32)
#: most outputs of a first read that AnalogMatrix._screened_reads reads before reading it in full
_SCREEN_CANDIDATES = 3


class _Tile:
    """One tile: its place in the matrix, scales, target and programmed conductances, drift data."""

    def __init__(self, spec: mp.TileSpec, w: np.ndarray, device: CrossbarDevice, cfg: CrossbarConfig):
        self.spec = spec
        self.scale = mp.weight_scales(w, cfg.mapping, cfg.clip, cfg.clip_type)  # (out,)
        w_norm = mp.normalize(w, self.scale)
        slices, self.significance = mp.slice_weights(w_norm, cfg.bit_slicing)
        self.w_norm = w_norm
        g_lo, g_hi = device.g_min, device.g_max
        if cfg.uses_reachable_window:
            from memfit.crossbar.programming import mapping_window

            g_lo, g_hi = mapping_window(device)
            # pairs span (g_hi - g_lo) instead of (g_max - g_min): the periphery restores the gain
            self.scale = self.scale * ((device.g_max - device.g_min) / (g_hi - g_lo))
        #: conductance window [S] the weights are mapped onto
        self.window = (g_lo, g_hi)
        #: (S, P, out, in) target conductances [S]
        self.targets = mp.target_conductances(slices, g_lo, g_hi, cfg.differential)
        n_dev = cfg.devices_per_weight
        #: (S, n_dev, P, out, in) programmed conductances [S]
        self.G = np.repeat(self.targets[:, None], n_dev, axis=1)
        self.nu = None
        self.stuck = None
        self.cal0 = 0.0
        self._cache_t = None
        self._cache = None
        #: fraction of the vectors whose first read saturated the ADC, last forward call
        self.sat_fraction = 0.0
        self._bm_for = None
        self._bm_blocks = None
        self._wt_for = None
        self._wt = None
        self._fused_for = None
        self._fused = None

    def invalidate(self):
        self._cache_t = None
        self._cache = None
        self._fused_for = None


class AnalogMatrix:
    """A weight matrix on analog crossbar tiles.

    Parameters
    ----------
    weight : (out, in) array
        The weights (any real values; the mapping scales them).
    device : CrossbarDevice, optional
        The device of every cross-point (default: ideal ohmic device, 0..14 nS).
    config : CrossbarConfig or str, optional
        Hardware configuration (default ``"baseline-ftj"``).
    rng : numpy.random.Generator, optional
        Random source for programming, faults, drift exponents and read noise.
    engine : {"fused", "numpy"}
        ``"fused"`` (default): the input and output sides of each read run as one jitted loop each
        (:mod:`memfit.crossbar.nonideal`) around the BLAS product -- float32 configurations
        without IR drop or per-device read noise; everything else, and ``"numpy"``, uses the
        plain numpy reference path (same arithmetic, numpy's normals).

    Examples
    --------
    >>> import numpy as np
    >>> from memfit.crossbar.config import get_config
    >>> from memfit.crossbar.device import CrossbarDevice
    >>> W = np.random.default_rng(0).normal(size=(10, 20))
    >>> am = AnalogMatrix(W, CrossbarDevice.ideal(), get_config("baseline-ftj").ideal())
    >>> x = np.ones((2, 20))
    >>> bool(np.allclose(am.forward(x), x @ W.T, rtol=1e-5, atol=1e-5))
    True
    """

    def __init__(self, weight, device: CrossbarDevice | None = None, config: CrossbarConfig | str | None = None,
                 rng: np.random.Generator | None = None, *, engine: str = "fused"):
        W = np.asarray(weight, dtype=np.float64)
        if W.ndim != 2 or not np.all(np.isfinite(W)):
            raise ParameterError(f"AnalogMatrix: weight must be a finite 2-D (out, in) array, got shape {W.shape}"
                                 + ("" if W.ndim != 2 else " with non-finite entries"))
        self.weight = W
        if engine not in ("fused", "numpy"):
            raise ParameterError(f"AnalogMatrix: engine = {engine!r} is not allowed; expected 'fused' or 'numpy'")
        self.engine = engine
        self.device = device if device is not None else CrossbarDevice.ideal()
        self.config = get_config(config if config is not None else "baseline-ftj")
        self.rng = rng if rng is not None else np.random.default_rng()
        self.dtype = np.dtype(self.config.dtype)
        self.tiles = [_Tile(s, W[s.out_start:s.out_stop, s.in_start:s.in_stop], self.device, self.config)
                      for s in mp.split_tiles(W.shape[0], W.shape[1], self.config.tile_size)]
        self.programmed = False
        self.report = None
        self._lut = None
        #: the read I-V is applied (nonlinear device and read_nonlinearity on); checked once here
        self._nonlinear = bool(self.config.read_nonlinearity and not self.device.ohmic)
        if self._nonlinear and self.config.dac_bits is not None:
            # read I-V at the DAC levels (inputs are quantized, so a lookup table is exact)
            b = self.config.dac_bits
            kmax = 2 ** (b - 1) - 1
            step = 2.0 * self.config.in_bound / (2 ** b - 2)
            levels = np.arange(-kmax, kmax + 1) * step
            self._lut = (self.device.read_iv(levels * self.device.read_voltage)).astype(self.dtype)
            self._lut_k = kmax
            self._lut_step = step
        self._kernel_args = self._fused_constants()

    # ------------------------------------------------------------------ programming
    @property
    def shape(self) -> tuple[int, int]:
        """(out, in) of the weight matrix."""
        return self.weight.shape

    def program(self):
        """Program every device of every tile per ``config.programming``; draw faults and drift exponents.

        Returns
        -------
        ProgrammingReport or None
            Fraction of devices within tolerance and pulse counts (None for ideal programming).
        """
        from memfit.crossbar import programming as pg

        cfg, dev = self.config, self.device
        reports = []
        for tile in self.tiles:
            shape = tile.G.shape
            targets = np.broadcast_to(tile.targets[:, None], shape).copy()
            if cfg.programming == "tgdp":
                G, rep = pg.tgdp(tile, dev, cfg, self.rng)
            elif cfg.programming == "direct" and shape[1] > 1:
                # the devices of a weight on the two ladder rungs around it, so that their mean is
                # nearest the target (one pulse count for all would repeat one rounding error)
                G, rep = pg.direct_split(tile.targets, dev, self.rng, shape[1])
                G = np.ascontiguousarray(np.moveaxis(G, 0, 1))
            elif cfg.programming == "ideal":
                G, rep = targets, None  # already a fresh copy
            else:
                G, rep = pg.program_conductances(targets, dev, cfg.programming, self.rng)
            if rep is not None:
                reports.append(rep)
            tile.stuck = None
            if cfg.faults and (dev.faults["stuck_on"] > 0 or dev.faults["stuck_off"] > 0):
                u = self.rng.random(shape)
                on = u < dev.faults["stuck_on"]
                off = (u >= dev.faults["stuck_on"]) & (u < dev.faults["stuck_on"] + dev.faults["stuck_off"])
                G = np.where(on, dev.g_max, np.where(off, dev.g_min, G))
                tile.stuck = on | off
            tile.G = G
            drifts = cfg.drift and dev.drift is not None
            # the calibration read is only used by global drift compensation
            tile.cal0 = self._calibration_read(tile, G) if drifts and cfg.drift_compensation == "global" else 0.0
            if drifts:
                nu = dev.draw_nu(G, self.rng)
                if tile.stuck is not None:
                    nu[tile.stuck] = 0.0
                tile.nu = nu
            else:
                tile.nu = None
            tile.invalidate()
        self.programmed = True
        self.report = pg.ProgrammingReport.merge(reports) if reports else None
        return self.report

    def _ensure_programmed(self):
        if not self.programmed:
            self.program()

    def _calibration_read(self, tile: _Tile, G: np.ndarray) -> float:
        """Global drift compensation read: all inputs at +1 (V_read), sum of |outputs| (noise-free).

        ``sum_j |sum_i w_ij|`` with the slices recombined -- the known-input read of the thesis's
        eq. 3.7 / aihwkit's ``GlobalDriftCompensation``.
        """
        dev = self.device
        w = mp.conductance_to_weight(_device_mean(G), dev.g_min, dev.g_max, self.config.differential)
        return float(np.sum(np.abs(np.tensordot(tile.significance, w.sum(axis=2), axes=1))))

    # ------------------------------------------------------------------ state at time t
    def _conductances(self, tile: _Tile, t: float) -> np.ndarray:
        if tile.nu is None or t <= 0:
            return tile.G
        t0 = self.device.drift_t0
        return tile.G * ((t + t0) / t0) ** (-tile.nu)

    def _state(self, tile: _Tile, t: float):
        """(W_eff (S, out, in) in dtype, G_t, drift factor) at time t, cached per t."""
        if tile._cache_t == t and tile._cache is not None:
            return tile._cache
        cfg, dev = self.config, self.device
        Gt = self._conductances(tile, t)
        w = mp.conductance_to_weight(_device_mean(Gt), dev.g_min, dev.g_max, cfg.differential)  # (S, out, in)
        alpha = 1.0
        if cfg.drift_compensation == "global" and tile.nu is not None and t > 0 and tile.cal0 > 0:
            alpha = self._calibration_read(tile, Gt) / tile.cal0
        weff = np.ascontiguousarray(np.swapaxes(w, 1, 2)).astype(self.dtype)  # (S, in, out): x @ weff
        gsq = None
        if cfg.device_read_noise and dev.read_noise > 0:
            dg = dev.g_max - dev.g_min
            k = 1.0 if cfg.differential else 2.0
            gsq = np.ascontiguousarray(np.swapaxes((Gt ** 2).sum(axis=(1, 2)), 1, 2) * (k * dev.read_noise / dg) ** 2
                                       / Gt.shape[1] ** 2).astype(self.dtype)
        tile._cache = (weff, Gt, alpha, gsq)
        tile._cache_t = t
        return tile._cache

    def effective_weight(self, t: float = 0.0) -> np.ndarray:
        """(out, in) weights the hardware holds at time ``t`` [s] (drift and compensation included,
        read nonlinearity, converters and noise not)."""
        self._ensure_programmed()
        out = np.zeros(self.weight.shape)
        for tile in self.tiles:
            weff, _, alpha, _ = self._state(tile, float(t))
            w = np.tensordot(tile.significance, weff.astype(np.float64), axes=1).T  # (out, in)
            s = tile.spec
            out[s.out_start:s.out_stop, s.in_start:s.in_stop] = w * tile.scale[:, None] / alpha
        return out

    # ------------------------------------------------------------------ forward
    def _read_inputs(self, xq: np.ndarray, codes) -> np.ndarray:
        """What the rows pass per unit conductance: the read I-V at the DAC outputs ``xq`` (the lookup
        table by DAC code when there is one), or ``xq`` itself for an ohmic read."""
        if not self._nonlinear:
            return xq
        if codes is not None:
            return np.take(self._lut, codes + self._lut_k)
        dev = self.device
        return dev.read_iv(xq.astype(np.float64) * dev.read_voltage).astype(self.dtype)

    def _noise_var(self, xq: np.ndarray, gsq) -> np.ndarray | None:
        """Variance of the output-referred read noise of DAC outputs ``xq``: ``out_noise^2 +
        w_noise^2 ||xq||^2`` (batch, 1), plus the per-device read noise ``(S, batch, out)`` when
        ``gsq`` is given; None without noise."""
        cfg, dev = self.config, self.device
        if not cfg.any_noise:
            return None
        var = None
        if cfg.out_noise > 0:
            var = np.full((xq.shape[0], 1), cfg.out_noise ** 2, dtype=self.dtype)
        if cfg.w_noise > 0:
            wv = (cfg.w_noise ** 2) * np.einsum("bi,bi->b", xq, xq)[:, None]
            var = wv if var is None else var + wv
        if gsq is not None:
            if self._nonlinear:
                xe_ = dev.read_iv(xq.astype(np.float64) * dev.read_voltage).astype(self.dtype)
                xe2 = xe_ * xe_
            else:
                xe2 = xq * xq
            dv = np.matmul(xe2[None], gsq)  # (S, batch, out)
            var = dv if var is None else var + dv
        return var

    def _array(self, tile: _Tile, xq: np.ndarray, codes, state, z: np.ndarray | None = None) -> np.ndarray:
        """Normalized, noisy, pre-ADC outputs (S, batch, out) of the array for DAC outputs ``xq``.

        ``z``: the standard normals of the output noise, (S, batch, out), when drawn beforehand
        (by the IR-drop saturation screen); default drawn here.
        """
        cfg, dev = self.config, self.device
        weff, Gt, _, gsq = state
        S = weff.shape[0]
        if cfg.ir_drop:
            from memfit.crossbar.irdrop import solve_ir_drop, wire_resistance

            vr = dev.read_voltage
            r = wire_resistance(cfg.wire_ratio, dev.g_max)
            iv = dev.iv_grid() if self._nonlinear else None
            V = xq.astype(np.float64) * vr
            dg = dev.g_max - dev.g_min
            n_dev, P = Gt.shape[1], Gt.shape[2]
            y = np.zeros((S, xq.shape[0], Gt.shape[3]))
            for s in range(S):
                for d in range(n_dev):
                    for p in range(P):
                        I = solve_ir_drop(Gt[s, d, p].T, V, r, iv=iv, read_voltage=vr, tol=cfg.ir_drop_tol)
                        y[s] += (I if p == 0 else -I)
                if not cfg.differential:
                    h = dev.read_iv(V) if iv is not None else V / vr
                    y[s] -= n_dev * 0.5 * (dev.g_min + dev.g_max) * vr * h.sum(axis=1)[:, None]
                y[s] *= (1.0 if cfg.differential else 2.0) / (vr * dg * n_dev)
            y = y.astype(self.dtype)
        else:
            xe = self._read_inputs(xq, codes)
            y = np.matmul(xe[None], weff) if S > 1 else (xe @ weff[0])[None]
        var = self._noise_var(xq, gsq)
        if var is not None:
            std = np.sqrt(var, dtype=self.dtype)
            y = y + std * (self.rng.standard_normal(y.shape, dtype=self.dtype) if z is None else z)
        return y

    @property
    def fused(self) -> bool:
        """True when the forward pass runs the fused kernels (see ``engine``)."""
        cfg = self.config
        return (self.engine == "fused" and self.dtype == np.float32 and not cfg.ir_drop
                and not (cfg.device_read_noise and self.device.read_noise > 0)
                and not (self._nonlinear and cfg.dac_bits is None))

    def _tile_forward(self, tile: _Tile, x: np.ndarray, t: float) -> np.ndarray:
        """The tile's outputs for the layer input ``x`` (C-contiguous; the tile reads its column range)."""
        if self.fused:
            return self._tile_forward_fused(tile, x, t)
        return self._tile_forward_reference(tile, x[:, tile.spec.in_start:tile.spec.in_stop], t)

    def _tile_forward_fused(self, tile: _Tile, x: np.ndarray, t: float) -> np.ndarray:
        """The forward pass of one tile with the fused input/output kernels (float32).

        ``x`` is the whole (C-contiguous) layer input; the tile reads its columns
        ``spec.in_start:spec.in_stop``.  Same steps and float32 roundings as
        :meth:`_tile_forward_reference`; the normals come from the in-kernel generator of
        :mod:`memfit.crossbar.nonideal`.
        """
        from memfit.crossbar import nonideal as nl  # (imports numba: kept off this module's import)

        cfg = self.config
        state = self._state(tile, t)
        weff, _, drift_alpha, _ = state
        B = x.shape[0]
        c0 = tile.spec.in_start
        n_in = tile.spec.in_stop - c0
        S, n_out = weff.shape[0], weff.shape[2]
        f32 = np.float32
        if tile._fused_for is not state:  # per-tile constants of the kernels, once per state
            tile._fused = ((tile.scale / drift_alpha).astype(f32), np.ascontiguousarray(tile.significance, dtype=f32),
                           np.arange(n_out, dtype=np.intp))
            tile._fused_for = state
        colscale, sig32, all_cols = tile._fused
        (dac, abs_max, in_bound, dstep, lut, lut_k, noise, on2, wn2, adc, out_bound, astep, bm,
         max_it) = self._kernel_args
        alpha = np.empty(B, dtype=f32)
        rows = np.arange(B, dtype=np.intp)
        res = np.empty((B, n_out), dtype=f32)
        rstate = nl.seed_stream(self.rng) if noise else None
        no_noise = _NO_NOISE
        blocks = None
        it0 = 0
        if bm and max_it >= 1 and S == 1 and tile.sat_fraction > 0.5:
            # most vectors saturated last time: their read at twice the input scale first, then only
            # as much of the first read as tells whether it saturates (see _screened_reads)
            rows = self._screened_reads(tile, weff, x, c0, n_in, alpha, res, rstate)
            it0 = 2
        for it in range(it0, max_it + 1):
            nr = rows.shape[0]
            if nr == 0:
                break
            xe = np.empty((nr, n_in), dtype=f32)
            xsq = np.empty(nr, dtype=f32)
            nl.prepare_inputs(x, c0, rows, alpha, it == 0, abs_max, dac, in_bound, dstep, 1.0 / dstep, lut, lut_k, xe,
                              xsq)
            sat = np.zeros(nr, dtype=np.bool_)
            check = bm and it < max_it
            # blocks pay when most vectors saturate (the last call of this tile tells; one slice then
            # screens its first read instead, above, so this is for bit slices); the result is the
            # same either way
            blocked = check and it == 0 and tile.sat_fraction > 0.5
            if blocked:
                blocks = self._bm_blocks(tile, weff)
                blocked = blocks[0] is not None
            if not blocked:
                y = (xe @ weff[0])[None] if S == 1 else np.matmul(xe[None], weff)
                z = nl.draw_normals(rstate, y.shape) if noise else no_noise
                nl.finish_outputs(y, rows, all_cols, xsq, on2, wn2, z, adc, out_bound, astep, 1.0 / astep, check,
                                  sig32, alpha, colscale, res, sat)
            else:
                # early saturation detection: read the columns in blocks (the likeliest to saturate
                # first); a vector stops being read at the first block in which an output saturated
                # (it is read again anyway, with its input halved), so the wasted part of its read is
                # one block instead of the whole product.  Each output read gets its own noise draw,
                # as in the single-block read.
                order, w_sorted, edges = blocks
                alive = np.arange(nr, dtype=np.intp)
                for a, b in zip(edges[:-1], edges[1:]):
                    xa = xe if alive.shape[0] == nr else xe[alive]
                    wb = w_sorted[:, :, a:b]
                    y = (xa @ wb[0])[None] if S == 1 else np.matmul(xa[None], wb)
                    sb = np.zeros(alive.shape[0], dtype=np.bool_)
                    z = nl.draw_normals(rstate, y.shape) if noise else no_noise
                    nl.finish_outputs(y, rows[alive], order[a:b], xsq[alive], on2, wn2, z, adc, out_bound, astep,
                                      1.0 / astep, True, sig32, alpha, colscale, res, sb)
                    if sb.any():
                        sat[alive[sb]] = True
                        alive = alive[~sb]
                        if alive.shape[0] == 0:
                            break
            if check and it == 0:
                tile.sat_fraction = np.count_nonzero(sat) / nr if nr else 0.0
            if not check or not sat.any():
                break
            rows = rows[sat]
            alpha[rows] *= f32(2.0)
        return res

    def _screened_reads(self, tile: _Tile, weff: np.ndarray, x: np.ndarray, c0: int, n_in: int, alpha: np.ndarray,
                        res: np.ndarray, rstate) -> np.ndarray:
        """The first two reads of iterative bound management when most vectors saturate (one slice).

        Bound management reads every vector at input scale ``alpha`` and re-reads the ones with a
        saturated output at ``2 alpha``.  When nearly all saturate (a Gaussian 512 x 512 matrix on
        uniform inputs at the baseline's out_bound 10: 98 %), the first read is mostly wasted, and
        all that is needed of it is *whether* it saturates.  So:

        1. the read at ``2 alpha`` of every vector, pre-noise (one BLAS product, as the re-read was);
        2. :func:`memfit.crossbar.nonideal.screen_first_read`: per vector, its ``alpha`` outputs in
           decreasing order of the ``2 alpha`` ones (the likeliest to saturate first), each with its
           own noise draw, until one saturates -- usually the first;
        3. the vectors it could not decide are read in full at ``alpha`` (BLAS, with the noise
           already drawn for the outputs step 2 read), which decides them as a plain read would;
        4. noise, ADC and saturation flags of the ``2 alpha`` read for every vector; the vectors
           whose first read did not saturate keep that read instead.

        Every output of a read has one noise draw, and the decision "this read saturates" has the
        probability of a plain read's; without noise the result equals the plain reads' (tested).
        Returns the rows whose ``2 alpha`` read saturated too, with ``alpha`` doubled again for
        them (the caller's loop goes on from the third read); ``alpha`` holds each row's scale.
        """
        from memfit.crossbar import nonideal as nl

        (dac, abs_max, in_bound, dstep, lut, lut_k, noise, on2, wn2, adc, out_bound, astep, bm,
         max_it) = self._kernel_args
        colscale, sig32, all_cols = tile._fused
        f32 = np.float32
        B, n_out = x.shape[0], weff.shape[2]
        rows = np.arange(B, dtype=np.intp)
        xa = np.empty((B, n_in), dtype=f32)
        xsa = np.empty(B, dtype=f32)
        nl.prepare_inputs(x, c0, rows, alpha, True, abs_max, dac, in_bound, dstep, 1.0 / dstep, lut, lut_k, xa, xsa)
        alpha2 = alpha * f32(2.0)
        xb = np.empty((B, n_in), dtype=f32)
        xsb = np.empty(B, dtype=f32)
        nl.prepare_inputs(x, c0, rows, alpha2, False, abs_max, dac, in_bound, dstep, 1.0 / dstep, lut, lut_k, xb,
                          xsb)
        yb = xb @ weff[0]
        if tile._wt_for is not weff:  # (the reference keeps the key's identity unique)
            tile._wt = np.ascontiguousarray(weff[0].T)
            tile._wt_for = weff
        sat = np.zeros(B, dtype=np.bool_)
        n_c = _SCREEN_CANDIDATES
        cand_j = np.empty((B, n_c), dtype=np.intp)
        cand_z = np.empty((B, n_c), dtype=f32)
        n_cand = np.empty(B, dtype=np.intp)
        zstate = nl.seed_state(self.rng) if noise else np.ones(4, dtype=np.uint64)
        first = np.argmax(np.abs(yb), axis=1)
        nl.screen_first_read(xa, tile._wt, yb, first, xsa, on2, wn2, out_bound, noise, n_c, zstate, sat, cand_j,
                             cand_z, n_cand, np.empty(n_out, dtype=f32))
        und = np.flatnonzero(~sat)
        res_u = sat_u = None
        if und.size:  # the undecided: read in full at alpha
            ya = (xa[und] @ weff[0])[None]
            za = _NO_NOISE
            if noise:
                za = nl.draw_normals(rstate, ya.shape)
                nl.put_candidate_noise(za, cand_j[und], cand_z[und], n_cand[und])
            res_u = np.empty((und.size, n_out), dtype=f32)
            sat_u = np.zeros(und.size, dtype=np.bool_)
            nl.finish_outputs(ya, np.arange(und.size, dtype=np.intp), all_cols, xsa[und], on2, wn2, za, adc,
                              out_bound, astep, 1.0 / astep, True, sig32, alpha[und], colscale, res_u, sat_u)
            sat[und[sat_u]] = True
        tile.sat_fraction = np.count_nonzero(sat) / B if B else 0.0
        zb = nl.draw_normals(rstate, (1, B, n_out)) if noise else _NO_NOISE
        sat2 = np.zeros(B, dtype=np.bool_)
        nl.finish_outputs(yb[None], rows, all_cols, xsb, on2, wn2, zb, adc, out_bound, astep, 1.0 / astep,
                          max_it >= 2, sig32, alpha2, colscale, res, sat2)
        if res_u is not None:  # first reads that did not saturate: theirs is the result
            keep = ~sat_u
            res[und[keep]] = res_u[keep]
        alpha[sat] = alpha2[sat]
        again = np.flatnonzero(sat & sat2)
        alpha[again] *= f32(2.0)
        return again

    def _fused_constants(self) -> tuple:
        """The fused kernels' scalar arguments, derived from the configuration once (in ``__init__``):
        (dac, abs_max, in_bound, DAC step, lookup table, its code offset, noise, out_noise^2, w_noise^2,
        adc, out_bound, ADC step, iterative bound management, its most re-reads)."""
        cfg = self.config
        dac = cfg.dac_bits is not None
        adc = cfg.adc_bits is not None
        return (dac, cfg.noise_management == "abs_max", float(cfg.in_bound),
                2.0 * cfg.in_bound / (2 ** cfg.dac_bits - 2) if dac else 1.0,
                self._lut if self._lut is not None else np.zeros(0, dtype=np.float32),
                int(self._lut_k) if self._lut is not None else 0,
                cfg.out_noise > 0 or cfg.w_noise > 0, cfg.out_noise ** 2, cfg.w_noise ** 2,
                adc, float(cfg.out_bound), 2.0 * cfg.out_bound / (2 ** cfg.adc_bits - 2) if adc else 1.0,
                adc and cfg.bound_management == "iterative", int(cfg.max_bm_iterations))

    def _bm_blocks(self, tile: _Tile, weff: np.ndarray):
        """Column blocks of the saturation-checking reads: (order, weights in that order, edges), cached.

        Columns are read in decreasing order of their weight norm (the outputs with the widest
        spread saturate first) in blocks of growing size (n_out/8, n_out/4, the rest); ``(None,)``
        when the tile is too narrow for blocks to pay.
        """
        if tile._bm_for is weff:  # the reference keeps the key's identity unique
            return tile._bm_blocks
        S, _, n_out = weff.shape
        if n_out < 64:
            blocks = (None,)
        else:
            norm = np.zeros(n_out)
            for s in range(S):
                norm += float(tile.significance[s]) ** 2 * np.sum(weff[s].astype(np.float64) ** 2, axis=0)
            order = np.argsort(-norm, kind="stable").astype(np.intp)
            w_sorted = np.ascontiguousarray(weff[:, :, order])
            b0 = n_out // 8
            edges = [0, b0, 3 * b0, n_out]
            blocks = (order, w_sorted, edges)
        tile._bm_for = weff
        tile._bm_blocks = blocks
        return blocks

    def _surely_saturated(self, tile: _Tile, xq: np.ndarray, codes, state):
        """Vectors whose IR-drop read saturates the ADC whatever the drop, and the read's noise draws.

        The output noise is drawn here, as :meth:`_array` would draw it (same generator, same shape
        and order), so the decision is exact for the draw that the read then uses: the drop-free
        outputs ``y0`` (one BLAS product) differ from the IR-drop outputs by at most
        ``eps (|x_e| @ |W|)`` with ``eps = 10 n_in n_out / (2 wire_ratio)`` (ten times the relative
        drop of a uniform array at ``G_max``, ``n^2/(2 wire_ratio)``; no screening when
        ``eps >= 0.5``), so a vector with ``|y0 + noise| - eps (|x_e| @ |W|) >= out_bound`` at some
        output saturates with certainty.

        Returns
        -------
        clear : (batch,) bool ndarray or None
            None: no screening (drop too strong).
        z : (S, batch, out) ndarray or None
            The standard normals of the read's output noise (None without output noise).
        """
        cfg = self.config
        weff, _, _, gsq = state
        n_out, n_in = tile.spec.shape
        eps = 10.0 * n_in * n_out / (2.0 * cfg.wire_ratio)
        if eps >= 0.5:
            return None, None
        xe = self._read_inputs(xq, codes)
        y0 = np.matmul(xe[None], weff)
        z = None
        var = self._noise_var(xq, gsq)
        if var is not None:
            z = self.rng.standard_normal(y0.shape, dtype=self.dtype)
            y0 = y0 + np.sqrt(var, dtype=self.dtype) * z
        margin = eps * np.matmul(np.abs(xe)[None], np.abs(weff))
        return np.any(np.abs(y0) - margin >= cfg.out_bound, axis=(0, 2)), z

    def _tile_forward_reference(self, tile: _Tile, x: np.ndarray, t: float) -> np.ndarray:
        """The forward pass of one tile in plain numpy (the reference of the fused kernels)."""
        cfg = self.config
        state = self._state(tile, t)
        alpha = np.ones(x.shape[0], dtype=self.dtype)
        if cfg.noise_management == "abs_max":
            alpha = np.max(np.abs(x), axis=1)
            alpha[alpha == 0] = 1.0
        rows = np.arange(x.shape[0])
        y_out = np.empty((len(tile.significance), x.shape[0], tile.spec.shape[0]), dtype=self.dtype)
        bits, ob = cfg.adc_bits, cfg.out_bound
        for it in range(cfg.max_bm_iterations + 1):
            xs = x[rows] * (1.0 / alpha[rows])[:, None]
            codes = None
            if cfg.dac_bits is not None:
                step = 2.0 * cfg.in_bound / (2 ** cfg.dac_bits - 2)
                q = np.rint(np.clip(xs, -cfg.in_bound, cfg.in_bound) * (1.0 / step))
                if self._lut is not None:
                    codes = q.astype(np.intp)
                xq = (q * step).astype(self.dtype)
            else:
                xq = xs.astype(self.dtype)
            screen = (cfg.ir_drop and bits is not None and cfg.bound_management == "iterative"
                      and it < cfg.max_bm_iterations)
            clear, z = self._surely_saturated(tile, xq, codes, state) if screen else (None, None)
            if clear is not None and clear.any():
                # the IR-drop solve of a read that is certain to saturate is wasted (it is read again at
                # half the input): solve only the others, with the noise draws they would have had
                keep = ~clear
                sat = clear.copy()
                if keep.any():
                    y = self._array(tile, xq[keep], None if codes is None else codes[keep], state,
                                    z=None if z is None else z[:, keep])
                    sat[keep] = np.any(np.abs(y) >= ob, axis=(0, 2))
                    y_out[:, rows[keep]] = quantize(y, bits, ob)
                rows = rows[sat]
                alpha[rows] *= 2.0
                continue
            if clear is not None:  # nothing certain: an ordinary read, with the draws already made
                y = self._array(tile, xq, codes, state, z=z)
                sat = np.any(np.abs(y) >= ob, axis=(0, 2))
                y_out[:, rows] = quantize(y, bits, ob)
                if not sat.any():
                    break
                rows = rows[sat]
                alpha[rows] *= 2.0
                continue
            y = self._array(tile, xq, codes, state)
            if bits is None:
                y_out[:, rows] = y
                break
            sat = np.any(np.abs(y) >= ob, axis=(0, 2))
            y_out[:, rows] = quantize(y, bits, ob)
            if cfg.bound_management != "iterative" or not sat.any() or it == cfg.max_bm_iterations:
                break
            rows = rows[sat]
            alpha[rows] *= 2.0
        # recombined in the configured precision (float32: as the fused kernel does)
        if len(tile.significance) == 1:
            y = y_out[0] * self.dtype.type(tile.significance[0])
        else:
            y = np.tensordot(tile.significance.astype(self.dtype), y_out, axes=1)
        _, _, drift_alpha, _ = state
        return y * alpha[:, None] * (tile.scale / drift_alpha).astype(self.dtype)[None, :]

    def forward(self, x, t: float = 0.0) -> np.ndarray:
        """``x @ W.T`` on the hardware, ``t`` [s] after programming (bias not included).

        Parameters
        ----------
        x : (batch, in) or (in,) array
        t : float
            Time since programming [s] (drift; 0 = right after programming).

        Returns
        -------
        (batch, out) or (out,) array in the configured dtype.
        """
        x = np.asarray(x)
        single = x.ndim == 1
        x2 = np.ascontiguousarray(np.atleast_2d(x), dtype=self.dtype)
        if x2.ndim != 2 or x2.shape[1] != self.weight.shape[1]:
            raise ParameterError(f"AnalogMatrix.forward: input has shape {x.shape}, expected (batch, "
                                 f"{self.weight.shape[1]})")
        if not t >= 0:
            raise ParameterError(f"AnalogMatrix.forward: t must be >= 0 s, got {t}")
        self._ensure_programmed()
        out = np.empty((x2.shape[0], self.weight.shape[0]), dtype=self.dtype)
        # the IR-drop solves are numba-parallel between BLAS calls: BLAS on one thread (memfit._threads;
        # 1.6x on 2 cores); the plain read is one BLAS product per tile, which keeps its threads
        with blas_serial() if self.config.ir_drop else contextlib.nullcontext():
            for tile in self.tiles:  # per output block, the tile at input 0 comes first (mapping.split_tiles)
                s = tile.spec
                y = self._tile_forward(tile, x2, float(t))
                if s.in_start == 0:
                    out[:, s.out_start:s.out_stop] = y
                else:
                    out[:, s.out_start:s.out_stop] += y
        return out[0] if single else out

    __call__ = forward
