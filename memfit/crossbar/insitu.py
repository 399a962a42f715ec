r"""Training on the array (in situ): weight updates applied as programming pulses to the tiles' devices.

The network's matrix layers live on analog tiles (:class:`memfit.crossbar.tile.AnalogMatrix`) of
differential device pairs, ``w = s (G+ - G-)/(G_max - G_min)`` with a fixed per-output periphery
gain ``s``.  One training step on a mini-batch (stochastic gradient descent, Gokmen & Vlasov,
"Acceleration of deep neural network training with resistive cross-point devices", Front.
Neurosci. 10, 333 (2016), doi:10.3389/fnins.2016.00333):

1. **forward** on the array: the inference forward pass of the configuration (DAC, the device's
   read I-V, weight and output noise, ADC with noise/bound management) on the devices' present
   conductances -- the same code as ``Network.on_crossbar(...).forward`` at ``t = 0``;
2. **backward** (``backward="array"``, default): the error vectors are read through the
   *transposed* array with the configuration's DAC, weight/output noise and ADC (noise management
   by the abs-max of each error vector; no bound management, the ADC clips) -- or
   ``backward="float"``: exact products with the weights the devices hold;
3. **update** by pulses on the devices, from the layer's input rows ``x`` and error rows ``d``
   (the gradient of the mean loss with respect to the layer outputs); the requested change of a
   normalized weight is ``-lr d_i x_j / s_i``, counted in units of the device's mean weight step
   ``dw_min`` at mid-window:

   * ``"deterministic"``: the batch-aggregated update ``-lr sum_b d_bi x_bj / s_i`` rounded to a
     pulse count per device (at most ``max_pulses``), applied once per batch;
   * ``"mixed-precision"``: the same update accumulated in a digital float matrix ``chi``; whole
     steps ``trunc(chi / dw_min)`` are applied as pulses and subtracted (Nandakumar et al.,
     "Mixed-precision deep learning based on computational memory", Front. Neurosci. 14, 406
     (2020), doi:10.3389/fnins.2020.00406);
   * ``"stochastic"``: stochastic pulse coincidence (Gokmen & Vlasov 2016), per input row: in each
     of ``bl`` time slots, row ``j`` fires with probability ``min(1, C_x |x_j|)`` and column ``i``
     with ``min(1, C_d |d_i|/s_i)``; a device receives one pulse per coincidence, of the sign of
     ``-d_i x_j``.  ``C_x C_d = lr / (bl dw_min)`` makes the expected update the SGD update;
     update management (Gokmen et al., Front. Neurosci. 11, 538 (2017),
     doi:10.3389/fnins.2017.00538) balances ``C_x/C_d = max|d/s| / max|x|``.

   The biases are updated digitally (plain SGD, same ``lr``).

**Pulses.**  A pulse moves a device by the fitted pulse response of the preset
(:attr:`CrossbarDevice.pulse_up` / ``pulse_down``: mean step ``dG_mean(G)``, c2c std
``dG_std(G)``, d2d step-size spread ``dg_dtod``), i.e. asymmetric and state dependent.
``n`` pulses are applied at once with the *pulse ladder* :class:`PulseLadder`: the mean response
iterated from the window edge, ``L[k+1] = L[k] + dG_mean(L[k])``, is tabulated against the pulse
index ``k``; a device at ``G`` sits at the (interpolated) index ``k(G)`` and ``n`` pulses take it
to ``L(k(G) + s n)`` (``s`` its d2d step scale, drawn once per device and direction), plus the
c2c noise of ``n`` independent pulses ``sqrt(n) dG_std(G_mid) z``, clipped to the window.  On
ladder points this equals ``n`` iterations of the table exactly; between them the error is of the
order of the curvature of ``dG_mean`` over one step.

**Pair schemes.**  ``"push-pull"`` (default): a weight increase is ``n`` SET pulses on ``G+`` and
``n`` RESET pulses on ``G-`` (a decrease the mirror image), so the up/down asymmetries of the
two devices partly cancel, ``dw_min = (dG_up + |dG_down|)/(G_max - G_min)`` at mid-window.
``"one-sided"`` (for devices that only potentiate gradually, e.g. PCM): increases are SET pulses
on ``G+``, decreases SET pulses on ``G-``; a pair with a device above ``refresh`` of the window is
refreshed (both devices reset to ``G_min`` and the difference rewritten), the refreshes counted.

Stuck devices (the configuration's faults) neither read differently nor move.  Drift is off
during training.  IR drop, bit slicing and several devices per weight are not supported here
(:class:`~memfit.errors.ParameterError`).
"""

from __future__ import annotations

import math
import time
from typing import Mapping

import numpy as np
from numba import njit

from memfit.crossbar import mapping as mp
from memfit.crossbar import train as tr
from memfit.crossbar.config import CrossbarConfig, get_config
from memfit.crossbar.device import CrossbarDevice
from memfit.crossbar.layers import BatchNorm, Conv2d, Dense, col2im
from memfit.crossbar.network import Network, NetworkError, _resolve_device, child_rngs
from memfit.crossbar.nonideal import _next64, _normal32, seed_state
from memfit.crossbar.tile import AnalogMatrix, quantize
from memfit.errors import ParameterError

__all__ = ["PulseLadder", "InSituNetwork", "train_insitu", "coincidence_counts", "UPDATES", "SCHEMES"]

UPDATES = ("deterministic", "mixed-precision", "stochastic")
SCHEMES = ("push-pull", "one-sided")


# ============================================================================ pulse ladder
class PulseLadder:
    """The mean ``n``-pulse response of one pulse direction of a device.

    Parameters
    ----------
    table : mapping
        ``{"g": [S], "dg_mean": [S], "dg_std": [S]}`` (optionally ``"dg_dtod"`` [1]): the
        pulse-response table of :class:`~memfit.crossbar.device.CrossbarDevice` (``pulse_up`` or
        ``pulse_down``; the sign of ``dg_mean`` is ignored, ``direction`` sets it).
    g_min, g_max : float
        Conductance window [S].
    direction : {+1, -1}
        +1 for SET (raises G), -1 for RESET.
    max_pulses : int
        Longest ladder [pulses] (the ladder also ends where the step vanishes or the window edge
        is reached).
    name : str
        For messages.

    Attributes
    ----------
    levels : (K + 1,) ndarray
        ``L[k]`` [S]: mean conductance after ``k`` pulses from the starting edge (``g_min`` for
        SET, ``g_max`` for RESET).
    dtod : float
        Relative std [1] of the per-device step size.
    """

    def __init__(self, table: Mapping, g_min: float, g_max: float, direction: int, max_pulses: int = 100_000,
                 name: str = "device"):
        if direction not in (1, -1):
            raise ParameterError(f"PulseLadder: direction must be +1 or -1, got {direction!r}")
        g = np.asarray(table["g"], dtype=np.float64)
        dg = np.abs(np.asarray(table["dg_mean"], dtype=np.float64))
        sd = np.asarray(table.get("dg_std", np.zeros_like(dg)), dtype=np.float64)
        if g.ndim != 1 or g.size < 2 or np.any(np.diff(g) <= 0) or dg.shape != g.shape or sd.shape != g.shape:
            raise ParameterError(f"device {name!r}: pulse table needs strictly increasing 'g' [S] and equal-length "
                                 "'dg_mean', 'dg_std' [S]")
        self.g_tab, self.dg_tab, self.sd_tab = g, dg, sd
        self.g_min, self.g_max, self.direction = float(g_min), float(g_max), int(direction)
        self.dtod = float(table.get("dg_dtod", 0.0) or 0.0)
        if not (np.isfinite(self.dtod) and self.dtod >= 0):
            raise ParameterError(f"device {name!r}: pulse table dg_dtod must be a finite number >= 0, got {self.dtod}")
        window = self.g_max - self.g_min
        start, end = (self.g_min, self.g_max) if direction > 0 else (self.g_max, self.g_min)
        levels = [start]
        tiny = 1e-9 * window
        while len(levels) <= max_pulses:
            step = float(np.interp(levels[-1], g, dg))
            if step <= tiny:
                break
            nxt = levels[-1] + direction * step
            if (nxt - end) * direction >= 0:
                levels.append(end)
                break
            levels.append(nxt)
        if len(levels) < 2:
            raise ParameterError(f"device {name!r}: the {'SET' if direction > 0 else 'RESET'} pulse table has no "
                                 f"positive step at the window edge {start:.4g} S; the device cannot be trained by pulses")
        self.levels = np.asarray(levels)
        self._k = np.arange(self.levels.size, dtype=np.float64)
        # increasing abscissa for np.interp
        self._xp, self._kp = (self.levels, self._k) if direction > 0 else (self.levels[::-1], self._k[::-1])

    @property
    def n_levels(self) -> int:
        """Pulses from one window edge until the ladder ends [pulses]."""
        return self.levels.size - 1

    def mean_step(self, g) -> np.ndarray:
        """Mean step magnitude ``|dG_mean(g)|`` [S] of one pulse at conductance ``g`` [S]."""
        return np.interp(g, self.g_tab, self.dg_tab)

    def index(self, g) -> np.ndarray:
        """Ladder position ``k(G)`` [pulses] of conductances ``g`` [S] (clamped to the ladder)."""
        return np.interp(g, self._xp, self._kp)

    def level(self, k) -> np.ndarray:
        """Mean conductance [S] at ladder position ``k`` [pulses] (clamped to the ladder)."""
        return np.interp(k, self._k, self.levels)

    def apply(self, g, n, scale=None, rng: np.random.Generator | None = None) -> np.ndarray:
        """Conductances [S] after ``n`` pulses of this direction from ``g`` [S].

        Parameters
        ----------
        g : ndarray
            Conductances before [S].
        n : ndarray
            Pulse counts (>= 0), broadcast with ``g``.
        scale : ndarray, optional
            Per-device step scales (d2d) [1]; default 1.
        rng : numpy.random.Generator, optional
            Draws the c2c noise ``sqrt(n) dG_std`` (None: the mean response).

        Returns
        -------
        ndarray
            Clipped to ``[g_min, g_max]``; a SET never lowers and a RESET never raises the mean.
        """
        g = np.asarray(g, dtype=np.float64)
        n = np.asarray(n, dtype=np.float64)
        eff = n if scale is None else n * scale
        g1 = self.level(self.index(g) + eff)
        g1 = np.maximum(g1, g) if self.direction > 0 else np.minimum(g1, g)
        if rng is not None:
            sd = np.interp(0.5 * (g + g1), self.g_tab, self.sd_tab)
            g1 = g1 + np.sqrt(n) * sd * rng.standard_normal(g1.shape)
        return np.clip(g1, self.g_min, self.g_max)

    def iterate(self, g, n: int, scale: float = 1.0) -> np.ndarray:
        """Reference: ``n`` single mean pulses ``G <- clip(G + dir s dG_mean(G))`` iterated one by one [S]."""
        g = np.array(g, dtype=np.float64)
        for _ in range(int(n)):
            g = np.clip(g + self.direction * scale * self.mean_step(g), self.g_min, self.g_max)
        return g


# ============================================================================ pulse kernel
# The ladders enter the kernel as ``lv = direction * levels`` (increasing), so one search serves
# both directions; a conductance g is located at ``direction * g``.
@njit(cache=True, inline="always")
def _bracket(xp, x):
    """``lo`` with ``xp[lo] <= x < xp[lo + 1]`` for increasing ``xp`` and ``xp[0] < x < xp[-1]`` (bisection)."""
    lo, hi = 0, xp.size - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if xp[mid] <= x:
            lo = mid
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _ladder_index(lv, gs):
    K = lv.size - 1
    if gs <= lv[0]:
        return 0.0
    if gs >= lv[K]:
        return float(K)
    lo = _bracket(lv, gs)
    return lo + (gs - lv[lo]) / (lv[lo + 1] - lv[lo])


@njit(cache=True, inline="always")
def _ladder_level(lv, k):
    K = lv.size - 1
    if k <= 0.0:
        return lv[0]
    if k >= K:
        return lv[K]
    i = int(k)
    return lv[i] + (k - i) * (lv[i + 1] - lv[i])


@njit(cache=True, inline="always")
def _interp(xp, fp, x):
    n = xp.size
    if x <= xp[0]:
        return fp[0]
    if x >= xp[n - 1]:
        return fp[n - 1]
    lo = _bracket(xp, x)
    return fp[lo] + (x - xp[lo]) * (fp[lo + 1] - fp[lo]) / (xp[lo + 1] - xp[lo])


@njit(cache=True, inline="always")
def _move(g, cnt, scale, lv, sgn, g_tab, sd_tab, c2c, state, gmin, gmax):
    """``cnt`` pulses of one direction (``sgn``) from ``g`` [S]: ladder mean + sqrt(cnt) c2c noise."""
    gs = sgn * g
    g1s = _ladder_level(lv, _ladder_index(lv, gs) + scale * cnt)
    if g1s < gs:
        g1s = gs
    g1 = sgn * g1s
    if c2c:
        sd = _interp(g_tab, sd_tab, 0.5 * (g + g1))
        if sd > 0.0:
            z = _normal32(state, np.int64(_next64(state) >> np.uint64(32)))
            g1 += math.sqrt(cnt) * sd * z
    if g1 < gmin:
        g1 = gmin
    elif g1 > gmax:
        g1 = gmax
    return g1


@njit(cache=True)
def _pulse_pairs(Gp, Gm, n, stuck_p, stuck_m, push_pull, lv_up, lv_dn, g_up, sd_up, g_dn, sd_dn, su_p, su_m, sd_p,
                 sd_m, c2c, state, gmin, gmax, refresh_lim):
    """Apply the signed pulse counts ``n`` to the pairs ``(Gp, Gm)`` (flat, in place).

    Empty ``stuck_*`` / ``su_*`` / ``sd_*`` arrays mean "no stuck devices" / "unit step scales".
    Returns (device pulses applied, one-sided refreshes).
    """
    pulses = 0
    refreshes = 0
    has_stuck = stuck_p.size > 0
    has_su = su_p.size > 0
    has_sd = sd_p.size > 0
    for i in range(n.size):
        v = n[i]
        if v == 0.0:
            continue
        if has_stuck and (stuck_p[i] or stuck_m[i]):
            continue
        cnt = abs(v)
        sup = su_p[i] if has_su else 1.0
        sum_ = su_m[i] if has_su else 1.0
        if push_pull:
            sdp = sd_p[i] if has_sd else 1.0
            sdm = sd_m[i] if has_sd else 1.0
            if v > 0:  # w up: G+ SET, G- RESET
                Gp[i] = _move(Gp[i], cnt, sup, lv_up, 1.0, g_up, sd_up, c2c, state, gmin, gmax)
                Gm[i] = _move(Gm[i], cnt, sdm, lv_dn, -1.0, g_dn, sd_dn, c2c, state, gmin, gmax)
            else:  # w down: G+ RESET, G- SET
                Gp[i] = _move(Gp[i], cnt, sdp, lv_dn, -1.0, g_dn, sd_dn, c2c, state, gmin, gmax)
                Gm[i] = _move(Gm[i], cnt, sum_, lv_up, 1.0, g_up, sd_up, c2c, state, gmin, gmax)
            pulses += 2 * int(cnt)
        else:
            if v > 0:
                Gp[i] = _move(Gp[i], cnt, sup, lv_up, 1.0, g_up, sd_up, c2c, state, gmin, gmax)
            else:
                Gm[i] = _move(Gm[i], cnt, sum_, lv_up, 1.0, g_up, sd_up, c2c, state, gmin, gmax)
            pulses += int(cnt)
            if Gp[i] > refresh_lim or Gm[i] > refresh_lim:
                w = Gp[i] - Gm[i]
                Gp[i] = gmin + (w if w > 0.0 else 0.0)
                Gm[i] = gmin + (-w if w < 0.0 else 0.0)
                refreshes += 1
    return pulses, refreshes


def coincidence_counts(x: np.ndarray, d: np.ndarray, c: float, bl: int, rng: np.random.Generator):
    """Signed pulse counts of one stochastic pulse-coincidence update (Gokmen & Vlasov 2016).

    Parameters
    ----------
    x : (in,) ndarray
        Input row (the update's row side).
    d : (out,) ndarray
        Error row, in normalized-weight units (the gradient factor of each output).
    c : float
        ``lr / (bl dw_min)`` [1]: the product ``C_x C_d`` of the two probability scales.
    bl : int
        Pulse slots.
    rng : numpy.random.Generator

    Returns
    -------
    (out, in) float32 ndarray or None
        ``n_ij`` = number of slots in which row ``j`` and column ``i`` both fired, signed
        ``-sign(d_i x_j)``; ``E[n_ij] = bl p_x,j p_d,i = c bl |x_j d_i|`` while both
        probabilities are below 1.  None when ``x`` or ``d`` is all zero.  Update management:
        ``C_x = sqrt(c max|d| / max|x|)``, ``C_d = c / C_x``.
    """
    ax, ad = np.abs(x), np.abs(d)
    mx, md = float(ax.max()), float(ad.max())
    if mx == 0 or md == 0:
        return None
    cx = np.sqrt(c * md / mx)
    cd = c / cx
    px = np.minimum(cx * ax, 1.0)
    pd = np.minimum(cd * ad, 1.0)
    bx = (rng.random((bl, px.size)) < px).astype(np.float32) * np.sign(x).astype(np.float32)
    bd = (rng.random((bl, pd.size)) < pd).astype(np.float32) * (-np.sign(d)).astype(np.float32)
    return bd.T @ bx


# ============================================================================ the trainable network
def _check_config(cfg: CrossbarConfig, device: CrossbarDevice, scheme: str):
    problems = []
    if cfg.bit_slicing is not None:
        problems.append("bit_slicing (use None)")
    if cfg.devices_per_weight != 1:
        problems.append(f"devices_per_weight = {cfg.devices_per_weight} (use 1)")
    if not cfg.differential:
        problems.append("differential = False (in-situ training uses device pairs)")
    if cfg.ir_drop:
        problems.append("ir_drop = True")
    if problems:
        raise ParameterError("in-situ training: configuration " + repr(cfg.name) + " is not supported: "
                             + "; ".join(problems))
    need = ("pulse_up",) if scheme == "one-sided" else ("pulse_up", "pulse_down")
    missing = [k for k in need if getattr(device, k) is None]
    if missing:
        raise ParameterError(f"in-situ training: device {device.name!r} has no pulse-response table {missing} "
                             f"(needed by scheme {scheme!r}); derive the preset with pulses")


class _LayerState:
    """One matrix layer's analog tiles and the per-device update data."""

    def __init__(self, am: AnalogMatrix, up: PulseLadder, down: PulseLadder | None, rng, d2d: bool):
        self.am = am
        self.tiles = am.tiles
        self.scale_up, self.scale_down, self.chi = [], [], []
        for tile in self.tiles:
            shape = tile.G.shape[3:]
            su = np.maximum(1.0 + up.dtod * rng.standard_normal((2,) + shape), 0.0) if d2d and up.dtod > 0 else None
            sdn = None
            if down is not None and d2d and down.dtod > 0:
                sdn = np.maximum(1.0 + down.dtod * rng.standard_normal((2,) + shape), 0.0)
            self.scale_up.append(su)
            self.scale_down.append(sdn)
            self.chi.append(np.zeros(shape))
        self.pulses = 0
        self.refreshes = 0


class InSituNetwork:
    """A network whose matrix layers are trained on analog tiles by programming pulses.

    Parameters
    ----------
    network : Network
        Its weights are the initial weights (copied; batch-norms are folded).
    device : CrossbarDevice, Preset or str
        Needs the pulse-response tables.
    config : CrossbarConfig or str
        Forward/backward non-idealities and the mapping (``tile_size``, ``mapping``); programming
        is ideal for the initial weights, drift is off; see the module docstring for what is not
        supported.
    update : {"deterministic", "mixed-precision", "stochastic"}
    scheme : {"push-pull", "one-sided"}
    lr : float
        SGD learning rate [weight units per unit gradient].
    bl : int
        Pulse slots per update of the stochastic mode.
    max_pulses : int
        Most pulses per device and update (deterministic and mixed-precision modes).
    init_fraction : float
        Fraction (0, 1] of the conductance window that the initial weights' largest magnitude
        occupies; fixes the periphery gain ``s`` (the weight of a full-window pair) per tile
        (``mapping="global"``) or per output (``"column"``).
    backward : {"array", "float"}
    c2c, d2d : bool
        Cycle-to-cycle pulse noise and device-to-device step spread on/off.
    refresh : float
        One-sided scheme: refresh a pair when a device exceeds this fraction of the window.
    rng : numpy.random.Generator or int, optional
    """

    def __init__(self, network: Network, device, config="baseline-ftj", *, update: str = "deterministic",
                 scheme: str = "push-pull", lr: float = 0.05, bl: int = 31, max_pulses: int = 100,
                 init_fraction: float = 0.5, backward: str = "array", c2c: bool = True, d2d: bool = True,
                 refresh: float = 0.9, rng=None):
        if update not in UPDATES:
            raise ParameterError(f"in-situ training: update = {update!r} is not allowed; expected one of {UPDATES}")
        if scheme not in SCHEMES:
            raise ParameterError(f"in-situ training: scheme = {scheme!r} is not allowed; expected one of {SCHEMES}")
        if backward not in ("array", "float"):
            raise ParameterError(f"in-situ training: backward = {backward!r} is not allowed; expected 'array' or 'float'")
        for nm, v in (("lr", lr), ("init_fraction", init_fraction), ("refresh", refresh)):
            if not (np.isfinite(v) and v > 0):
                raise ParameterError(f"in-situ training: {nm} must be a finite number > 0, got {v!r}")
        if init_fraction > 1 or refresh > 1:
            raise ParameterError(f"in-situ training: init_fraction ({init_fraction}) and refresh ({refresh}) must be <= 1")
        if int(bl) != bl or bl < 1 or int(max_pulses) != max_pulses or max_pulses < 1:
            raise ParameterError(f"in-situ training: bl ({bl}) and max_pulses ({max_pulses}) must be integers >= 1")
        if any(isinstance(layer, BatchNorm) for layer in network.layers):
            network = network.fold_batchnorm()
        self.network = network.copy()
        for layer in self.network.matrix_layers():
            if not isinstance(layer, (Dense, Conv2d)):
                raise NetworkError(f"in-situ training supports dense and convolution layers, not {layer.name!r}")
        self.device = device if isinstance(device, CrossbarDevice) else _resolve_device(device)
        base = get_config(config)
        _check_config(base, self.device, scheme)
        self.config = base.replace(name=f"{base.name} (in-situ)", programming="ideal", drift=False,
                                   drift_compensation=None, reachable_window=None)
        self.update, self.scheme, self.lr, self.bl = update, scheme, float(lr), int(bl)
        self.max_pulses, self.init_fraction, self.backward = int(max_pulses), float(init_fraction), backward
        self.c2c, self.d2d, self.refresh = bool(c2c), bool(d2d), float(refresh)
        dev = self.device
        self.window = dev.g_max - dev.g_min
        self.up = PulseLadder(dev.pulse_up, dev.g_min, dev.g_max, +1, name=dev.name)
        self.down = (PulseLadder(dev.pulse_down, dev.g_min, dev.g_max, -1, name=dev.name)
                     if dev.pulse_down is not None and scheme == "push-pull" else None)
        mid = 0.5 * (dev.g_min + dev.g_max)
        step = float(self.up.mean_step(mid)) + (float(self.down.mean_step(mid)) if self.down is not None else 0.0)
        #: mean normalized weight change of one update pulse at mid-window [1]
        self.dw_min = step / self.window
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.layers: dict[str, _LayerState] = {}
        mats = self.network.matrix_layers()
        for layer, r in zip(mats, child_rngs(self.rng, len(mats))):
            am = AnalogMatrix(layer.matrix(), device=dev, config=self.config, rng=r)
            for tile in am.tiles:
                tile.scale = tile.scale / self.init_fraction
                tile.w_norm = tile.w_norm * self.init_fraction
                tile.targets = mp.target_conductances(tile.w_norm[None], dev.g_min, dev.g_max, True)
                tile.G = tile.targets[:, None].copy()
            am.program()
            self.layers[layer.name] = _LayerState(am, self.up, self.down, r, self.d2d)
        self.steps = 0

    # ------------------------------------------------------------------ reading the array
    def effective_weight(self, name: str) -> np.ndarray:
        """(out, in) weights [weight units] the devices of layer ``name`` hold now."""
        return self.layers[name].am.effective_weight(0.0)

    def effective_network(self) -> Network:
        """A digital copy of the network with the weights the devices hold (biases as trained)."""
        net = self.network.copy()
        for name in self.layers:
            net[name].set_matrix(self.effective_weight(name))
        return net

    def _mvm(self, capture: dict | None = None):
        def make(name, st):
            def f(rows):
                if capture is not None:
                    capture[name] = rows
                return st.am.forward(rows, t=0.0).astype(np.float64)
            return f
        return {name: make(name, st) for name, st in self.layers.items()}

    def forward(self, x: np.ndarray, batch_size: int | None = 1024) -> np.ndarray:
        """The network's output with the matrix layers read on the array (inference forward, t = 0)."""
        return self.network.forward(x, mvm=self._mvm(), batch_size=batch_size)

    def accuracy(self, x, labels, batch_size: int | None = 1024) -> float:
        """Classification accuracy of :meth:`forward` [1]."""
        return float(np.mean(np.argmax(self.forward(x, batch_size), axis=-1) == np.asarray(labels)))

    def _transpose_read(self, st: _LayerState, d: np.ndarray) -> np.ndarray:
        """``d @ W`` through the transposed tiles (``backward="array"``) or exactly (``"float"``)."""
        am = st.am
        if self.backward == "float":
            return d @ am.effective_weight(0.0)
        cfg = self.config
        out = np.zeros((d.shape[0], am.shape[1]))
        for tile in am.tiles:
            s = tile.spec
            wn = (tile.G[0, 0, 0] - tile.G[0, 0, 1]) / self.window  # (out, in) normalized
            dd = d[:, s.out_start:s.out_stop] * tile.scale[None, :]
            alpha = np.ones(dd.shape[0])
            if cfg.noise_management == "abs_max":
                alpha = np.max(np.abs(dd), axis=1)
                alpha[alpha == 0] = 1.0
            dq = quantize(dd / alpha[:, None], cfg.dac_bits, cfg.in_bound)
            y = dq @ wn
            var = cfg.out_noise ** 2 + cfg.w_noise ** 2 * np.einsum("bi,bi->b", dq, dq)[:, None]
            if cfg.out_noise > 0 or cfg.w_noise > 0:
                y = y + np.sqrt(var) * am.rng.standard_normal(y.shape)
            y = quantize(y, cfg.adc_bits, cfg.out_bound)
            out[:, s.in_start:s.in_stop] += y * alpha[:, None]
        return out

    # ------------------------------------------------------------------ pulses
    def _apply(self, st: _LayerState, k: int, n: np.ndarray):
        """Apply signed pulse counts ``n`` (out, in) [pulses] to tile ``k``'s pairs (scheme, noise, faults)."""
        tile = st.tiles[k]
        empty_b, empty_f = np.zeros(0, dtype=np.bool_), np.zeros(0)
        if tile.stuck is not None:
            stuck_p, stuck_m = tile.stuck[0, 0, 0].reshape(-1), tile.stuck[0, 0, 1].reshape(-1)
        else:
            stuck_p = stuck_m = empty_b
        su, sd = st.scale_up[k], st.scale_down[k]
        su_p, su_m = (su[0].reshape(-1), su[1].reshape(-1)) if su is not None else (empty_f, empty_f)
        sd_p, sd_m = (sd[0].reshape(-1), sd[1].reshape(-1)) if sd is not None else (empty_f, empty_f)
        dn = self.down if self.down is not None else self.up
        state = seed_state(st.am.rng) if self.c2c else np.ones(4, dtype=np.uint64)
        pulses, refreshes = _pulse_pairs(
            tile.G[0, 0, 0].reshape(-1), tile.G[0, 0, 1].reshape(-1),
            np.ascontiguousarray(n, dtype=np.float64).reshape(-1), stuck_p, stuck_m, self.scheme == "push-pull",
            self.up.levels * 1.0, dn.levels * -1.0, self.up.g_tab, self.up.sd_tab, dn.g_tab, dn.sd_tab,
            su_p, su_m, sd_p, sd_m, self.c2c, state, self.up.g_min, self.up.g_max,
            self.up.g_min + self.refresh * self.window)
        st.pulses += int(pulses)
        st.refreshes += int(refreshes)
        tile.invalidate()

    def _update_layer(self, name: str, rows: np.ndarray, d: np.ndarray):
        """Pulse update of layer ``name`` from its input rows (R, in) and output errors (R, out)."""
        st = self.layers[name]
        for k, tile in enumerate(st.tiles):
            s = tile.spec
            x = rows[:, s.in_start:s.in_stop]
            dd = d[:, s.out_start:s.out_stop] / tile.scale[None, :]  # normalized-weight gradient factor
            if self.update == "stochastic":
                self._stochastic(st, k, x, dd)
                continue
            dw = -self.lr * (dd.T @ x)  # requested normalized weight change (out, in)
            if self.update == "mixed-precision":
                chi = st.chi[k]
                chi += dw
                n = np.clip(np.trunc(chi / self.dw_min), -self.max_pulses, self.max_pulses)
                chi -= n * self.dw_min
            else:
                n = np.clip(np.rint(dw / self.dw_min), -self.max_pulses, self.max_pulses)
            self._apply(st, k, n)

    def _stochastic(self, st: _LayerState, k: int, x: np.ndarray, dd: np.ndarray):
        """Stochastic pulse-coincidence update, one input row after another."""
        c = self.lr / (self.bl * self.dw_min)
        for r in range(x.shape[0]):
            n = coincidence_counts(x[r], dd[r], c, self.bl, st.am.rng)
            if n is not None:
                self._apply(st, k, n)

    # ------------------------------------------------------------------ one step
    def step(self, x: np.ndarray, labels: np.ndarray):
        """One training step on a mini-batch: array forward, backward, pulse update.

        Returns
        -------
        loss : float
            Mean cross-entropy [nats] of the array's logits.
        logits : ndarray (batch, classes)
        """
        net = self.network
        rows_in: dict = {}
        values = net.forward(x, mvm=self._mvm(rows_in), return_all=True)
        updates = []

        def backward(layer, xs, y, dy):
            """Matrix layers on tiles: the input gradient read through the transposed array."""
            if layer.name not in self.layers:
                return tr._backward_layer(layer, xs, y, dy)
            st = self.layers[layer.name]
            if isinstance(layer, Conv2d):
                dyr = dy.transpose(0, 2, 3, 1).reshape(-1, dy.shape[1])
                dx = col2im(self._transpose_read(st, dyr), xs[0].shape, layer.kernel, layer.stride, layer.padding,
                            layer.dilation)
            else:
                dyr = dy
                dx = self._transpose_read(st, dyr)
            updates.append((layer, rows_in[layer.name], dyr))
            return [dx], {}

        loss, logits, _ = tr.backprop(net, values, labels, backward)
        # the whole backward pass reads the array before any device is pulsed
        for layer, rows, dyr in updates:
            if layer.bias is not None:
                layer.bias -= self.lr * dyr.sum(axis=0)
            self._update_layer(layer.name, np.asarray(rows, dtype=np.float64), dyr)
        self.steps += 1
        return loss, logits

    def pulse_counts(self) -> dict:
        """Pulses applied so far per layer (both devices of a pair counted) and one-sided refreshes."""
        return {name: {"pulses": st.pulses, "refreshes": st.refreshes} for name, st in self.layers.items()}


# ============================================================================ training loop
def train_insitu(network: Network, x, y, device, config="baseline-ftj", *, epochs: int = 10, batch_size: int = 32,
                 lr: float = 0.05, lr_decay: float = 1.0, update: str = "deterministic", scheme: str = "push-pull",
                 bl: int = 31, max_pulses: int = 100, init_fraction: float = 0.5, backward: str = "array",
                 c2c: bool = True, d2d: bool = True, seed: int = 0, x_val=None, y_val=None, progress: bool = False,
                 verbose: bool = False):
    """Train ``network`` on the array by pulses (see the module docstring).

    Parameters
    ----------
    network : Network
        Initial weights (e.g. a freshly initialised :func:`memfit.crossbar.train.mlp`); not modified.
    x : ndarray (n, *input_shape)
    y : ndarray (n,) int
    device : CrossbarDevice, Preset or str
    config : CrossbarConfig or str
    epochs, batch_size : int
    lr : float
        SGD learning rate; ``lr_decay`` multiplies it after every epoch.
    update, scheme, bl, max_pulses, init_fraction, backward, c2c, d2d
        See :class:`InSituNetwork`.
    seed : int
        Seeds the batch order, the device draws and all noise.
    x_val, y_val : ndarray, optional
        Evaluated on the array after every epoch.
    progress : bool
        A progress bar on stderr.
    verbose : bool
        One line per epoch.

    Returns
    -------
    InSituNetwork
        The trained array (``forward``, ``accuracy``, ``effective_network``).
    pandas.DataFrame
        One row per epoch: ``epoch``, ``loss`` [nats], ``train_accuracy`` (of the array's forward
        passes during the epoch), ``pulses`` (cumulative, all layers), ``seconds`` and, with
        validation data, ``val_accuracy``.
    """
    import pandas as pd

    from memfit.crossbar.evaluate import Progress

    x, y = tr._training_arrays(network, x, y, "train_insitu")
    if int(epochs) != epochs or epochs < 1 or int(batch_size) != batch_size or batch_size < 1:
        raise ParameterError(f"train_insitu: epochs ({epochs}) and batch_size ({batch_size}) must be integers >= 1")
    rng = np.random.default_rng(seed)
    net = InSituNetwork(network, device, config, update=update, scheme=scheme, lr=lr, bl=bl, max_pulses=max_pulses,
                        init_fraction=init_fraction, backward=backward, c2c=c2c, d2d=d2d, rng=rng)
    n = x.shape[0]
    n_batches = -(-n // batch_size)
    bar = Progress(epochs * n_batches, label=f"in-situ {update}", enabled=progress)
    rows = []
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n)
        tot, correct = 0.0, 0
        for i in range(0, n, batch_size):
            idx = order[i: i + batch_size]
            loss, logits = net.step(x[idx], y[idx])
            tot += loss * idx.size
            correct += int((logits.argmax(axis=1) == y[idx]).sum())
            bar.update(1, f"epoch {epoch} loss {tot / (i + idx.size):.3f}")
        tr.end_epoch(rows, {"epoch": epoch, "loss": tot / n, "train_accuracy": correct / n,
                            "pulses": int(sum(st.pulses for st in net.layers.values())),
                            "seconds": time.perf_counter() - t0}, net, x_val, y_val, verbose)
        net.lr *= lr_decay
    bar.close()
    net.network.meta["insitu_training"] = {
        "device": net.device.name, "config": net.config.name, "update": update, "scheme": scheme, "lr": lr,
        "lr_decay": lr_decay, "bl": bl, "max_pulses": max_pulses, "init_fraction": init_fraction,
        "backward": backward, "c2c": c2c, "d2d": d2d, "epochs": epochs, "batch_size": batch_size, "seed": seed,
        "dw_min": net.dw_min, "n_samples": int(n)}
    return net, pd.DataFrame(rows)
