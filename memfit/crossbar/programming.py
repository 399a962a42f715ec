r"""Programming the devices of a tile to their target conductances.

Methods (``CrossbarConfig.programming``):

``"ideal"``
    Every device lands exactly on its target.
``"direct"``
    Open-loop pulse programming (direct mapping), :func:`direct`: every device starts from the
    reset state ``g_min`` and gets the number of identical SET pulses that the device's *mean*
    pulse response ``dG_mean(G)`` says lands nearest to its target -- no read, no verify.  The
    achieved conductance is therefore quantized to the ladder of mean levels the pulses reach
    (spacing ~ the local step, ``dw_min`` in weight units) and perturbed by the step-size spread
    between devices (``dg_dtod``) and the cycle-to-cycle noise ``dG_std(G)`` of every pulse --
    the model of an aihwkit ``PiecewiseStepDevice`` (state-dependent, asymmetric steps; Gokmen &
    Vlasov, Front. Neurosci. 10, 333 (2016), doi:10.3389/fnins.2016.00333).  With n devices per
    weight (:func:`direct_split`) the devices take the two ladder levels around the target in the
    ratio that puts their mean nearest it: an n times finer ladder.
``"statistical"``
    From the preset's write-verify statistics: a fraction ``success_rate`` of the devices ends
    within tolerance with relative error ``N(0, residual_std)``; the others end outside the
    tolerance band (relative error ``+-tolerance (1 + |N(0, 1)|)``, an assumption: the presets
    give no failure distribution).  Conductances are clipped to the window.
``"write_verify"``
    Simulated pulse by pulse **on the fitted compact model of every device**
    (:func:`write_verify`): per-device parameters drawn from the preset's device-to-device
    distribution, the preset's incremental-step pulse programming (ISPP) scheme -- read, and if
    the read conductance is below (above) the tolerance band apply a SET (RESET) pulse of the
    current amplitude, raise that amplitude by ``v_step`` up to ``v_max`` for the next pulse in
    the same direction, restart from ``v_start`` after a reversal (overshoot) -- until the read
    is within tolerance or ``max_pulses`` were applied.  All devices of a tile run in one
    ``numba`` kernel (``prange`` over devices); each pulse is integrated with the model's own
    ``rhs`` kernel (passed as a first-class function, so numba specializes the loop for it).
    With ``backend="cuda"`` the same per-device function (``_ispp_device``) runs on a GPU, one
    thread per device (:mod:`memfit.crossbar._cuda_programming`).
``"tgdp"``
    Tile gradient-descent programming (thesis sec. 3.3.1, after Gokmen & Vlasov): read the tile's
    weights through its forward pass (identity inputs), compute the error ``E = W - W'`` and
    apply up/down pulses from the device's pulse-response tables (``dG`` per pulse with
    cycle-to-cycle noise) in proportion to the error, for a number of iterations; with n devices
    per weight a weight's pulses are dealt out over its devices (a pulse moves it by ``dw_min/n``).

Pulse integrator (write-verify)
-------------------------------
During a pulse the voltage is constant, so each pulse is integrated with the *exponential Euler*
method with a frozen diagonal Jacobian: ``x <- x + h phi1(h J_ii) f_i(x)``, ``phi1(z) = (e^z - 1)/z``,
``J_ii`` from finite differences at the start of the pulse, ``n_sub`` sub-steps per pulse.
It is exact for states that relax linearly at constant voltage (the FTJ's nucleation bins
``ds/dt = r(V)(target - s)``, the usual KAI/window forms) and stable for arbitrarily stiff
rates (the FTJ's fastest bins switch in 0.1 ns inside a 1 us pulse, which an explicit
Runge-Kutta step could not take).  It is validated against :func:`memfit.simulate.simulate`
(adaptive SDIRK) in ``tests/crossbar/test_programming.py``.  Reads do not disturb the state and
nothing relaxes between pulses (drift starts after programming).
"""

from __future__ import annotations

import math
import os
import time
import weakref
from dataclasses import dataclass, field

import numpy as np
from numba import njit, prange

from memfit import _gpu
from memfit.crossbar.nonideal import _next64, _normal32, seed_state
from memfit.errors import ParameterError

#: environment variable giving the write-verify backend when none is passed ("cpu", "cuda" or "auto")
BACKEND_ENV = "MEMFIT_PROGRAMMING_BACKEND"


@dataclass
class ProgrammingReport:
    """What programming achieved.

    Attributes
    ----------
    method : str
    n_devices : int
    n_within : int
        Devices whose read conductance ended within tolerance of the target.
    tolerance : float
        Relative tolerance [1] used to count them.
    pulses : ndarray of int or None
        Pulses applied per device (write-verify, tGDP).
    rel_error : ndarray
        Relative conductance error ``(G - G_target)/G_target`` per device (or a sample of it).
    wall_time : float
        Seconds spent.
    """

    method: str
    n_devices: int
    n_within: int
    tolerance: float
    pulses: np.ndarray | None = None
    rel_error: np.ndarray = field(default_factory=lambda: np.zeros(0))
    wall_time: float = 0.0

    @property
    def fraction_within_tolerance(self) -> float:
        """Fraction [1] of devices within tolerance."""
        return self.n_within / max(self.n_devices, 1)

    def pulse_histogram(self) -> tuple[np.ndarray, np.ndarray]:
        """(pulse count, number of devices) pairs."""
        if self.pulses is None or self.pulses.size == 0:
            return np.zeros(0, int), np.zeros(0, int)
        return np.unique(self.pulses, return_counts=True)

    def summary(self) -> str:
        """One line: method, fraction within tolerance, pulse statistics."""
        s = (f"{self.method}: {self.n_devices} devices, {100 * self.fraction_within_tolerance:.2f} % within "
             f"+-{100 * self.tolerance:g} %")
        if self.pulses is not None and self.pulses.size:
            s += (f", pulses mean {self.pulses.mean():.2f} / median {np.median(self.pulses):.0f} / "
                  f"max {self.pulses.max()}")
        if self.rel_error.size:
            s += f", relative error std {np.std(self.rel_error):.3g}"
        return s + f" ({self.wall_time:.2f} s)"

    @classmethod
    def merge(cls, reports: list["ProgrammingReport"]) -> "ProgrammingReport":
        """One report for several tiles."""
        pulses = [r.pulses for r in reports if r.pulses is not None]
        return cls(
            method=reports[0].method, n_devices=sum(r.n_devices for r in reports),
            n_within=sum(r.n_within for r in reports), tolerance=reports[0].tolerance,
            pulses=np.concatenate(pulses) if pulses else None,
            rel_error=np.concatenate([r.rel_error for r in reports]),
            wall_time=sum(r.wall_time for r in reports),
        )


def _wv(device, key, default=None):
    wv = dict(device.write_verify or {})
    if key in wv:
        return wv[key]
    if default is None:
        raise ParameterError(f"device {device.name!r}: write_verify has no {key!r} (needed for this programming)")
    return default


def _rel_error(G, targets):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(targets > 0, (G - targets) / np.where(targets > 0, targets, 1.0), G - targets)


def program_conductances(targets: np.ndarray, device, method: str, rng: np.random.Generator, **kw):
    """Program conductances to ``targets`` [S] (any shape) with ``method``; returns ``(G, report or None)``."""
    if method == "ideal":
        return np.array(targets, dtype=np.float64, copy=True), None
    if method == "statistical":
        return statistical(targets, device, rng)
    if method == "direct":
        flat = np.asarray(targets, dtype=np.float64).ravel()
        G, rep = direct(flat, device, rng, **kw)
        return G.reshape(np.shape(targets)), rep
    if method == "write_verify":
        flat = np.asarray(targets, dtype=np.float64).ravel()
        G, rep = write_verify(flat, device, rng, **kw)
        return G.reshape(np.shape(targets)), rep
    raise ParameterError(f"programming method {method!r} unknown here; use ideal, direct, statistical, write_verify "
                         "or tgdp")


def statistical(targets: np.ndarray, device, rng: np.random.Generator):
    """Programming error drawn from the preset's write-verify statistics (see module docstring)."""
    t0 = time.perf_counter()
    T = np.asarray(targets, dtype=np.float64)
    tol = float(_wv(device, "tolerance", 0.05))
    sd = float(_wv(device, "residual_std"))
    ok_rate = float(_wv(device, "success_rate", 1.0))
    ok = rng.random(T.shape) < ok_rate
    err = np.where(ok, np.clip(sd * rng.standard_normal(T.shape), -tol, tol),
                   np.sign(rng.standard_normal(T.shape)) * tol * (1.0 + np.abs(rng.standard_normal(T.shape))))
    G = np.clip(T * (1.0 + err), device.g_min, device.g_max)
    rel = _rel_error(G, T)
    pulses = None
    if "pulses_mean" in (device.write_verify or {}):
        pm, ps = float(device.write_verify["pulses_mean"]), float(device.write_verify.get("pulses_std", 0.0))
        pulses = np.maximum(np.rint(pm + ps * rng.standard_normal(T.size)), 0).astype(np.int64)
    rep = ProgrammingReport("statistical", T.size, int(np.sum(np.abs(rel) <= tol * (1 + 1e-12))), tol, pulses,
                            rel.ravel(), time.perf_counter() - t0)
    return G, rep


# ----------------------------------------------------------------------------- direct (open-loop) programming
def _up_table(device) -> dict:
    tab = device.pulse_up
    if tab is None:
        raise ParameterError(f"device {device.name!r}: direct (open-loop) programming needs the preset's "
                             "pulse_response tables (at least 'up'); this device has none")
    g = np.asarray(tab["g"], dtype=np.float64)
    if g.size < 2 or np.any(np.diff(g) <= 0):
        raise ParameterError(f"device {device.name!r}: pulse_up['g'] must be strictly increasing with >= 2 points [S]")
    return tab


def direct_levels(device, max_pulses: int | None = None) -> np.ndarray:
    """Mean conductance [S] after ``k = 0, 1, ..., max_pulses`` identical SET pulses from the reset state.

    ``L[0] = g_min``, ``L[k+1] = min(L[k] + |dG_mean(L[k])|, g_max)`` with ``dG_mean`` interpolated
    (linearly, clamped at the ends) in the device's ``pulse_up`` table -- the open-loop "ladder"
    that :func:`direct` programs onto.

    Parameters
    ----------
    device : CrossbarDevice
        Needs ``pulse_up`` (``g``, ``dg_mean`` [S]).
    max_pulses : int, optional
        Longest pulse train [pulses]; default the ``n_pulses`` of the table's ramp (150 if absent).

    Returns
    -------
    (max_pulses + 1,) array [S], non-decreasing.
    """
    tab = _up_table(device)
    n = int(tab.get("n_pulses", 150) if max_pulses is None else max_pulses)
    if n < 0:
        raise ParameterError(f"direct programming: max_pulses must be >= 0, got {n}")
    g_tab, dg_tab = np.asarray(tab["g"], float), np.abs(np.asarray(tab["dg_mean"], float))
    L = np.empty(n + 1)
    L[0] = device.g_min
    for k in range(n):
        L[k + 1] = min(L[k] + float(np.interp(L[k], g_tab, dg_tab)), device.g_max)
    return L


def direct(targets: np.ndarray, device, rng: np.random.Generator, max_pulses: int | None = None,
           tolerance: float | None = None):
    r"""Open-loop ("direct") pulse programming of every device from the reset state.

    For each device:

    1. pulse count ``n`` = the index of the level of :func:`direct_levels` nearest to the target
       (the mean response; ties go to the fewer pulses);
    2. a device-to-device step scale ``s ~ N(1, dg_dtod^2)`` (clipped at 0), drawn once per device
       (``dg_dtod`` from the preset's ``pulse_up`` table: relative std of each device's step size,
       measured on the d2d-drawn compact models);
    3. from ``G = g_min``, ``n`` pulses ``G <- clip(G + s dG_mean(G) + dG_std(G) z, g_min, g_max)``
       with a fresh ``z ~ N(0, 1)`` per pulse (cycle-to-cycle noise of the table).

    There is no read and no verify: the result is quantized to the level ladder (spacing ~ the
    local step, the device's ``dw_min``), and after ``n`` pulses on a locally constant step its
    spread is ``sqrt(n) dG_std`` (c2c) and ``n dG_mean dg_dtod`` (d2d).  Only SET ("up") pulses are
    used, so the down-table (the asymmetry) does not enter; the window bounds are the nominal
    ``g_min``/``g_max`` (the preset's window d2d is not applied).  All devices are advanced
    together, one pulse index at a time (devices sorted by pulse count, so the ones still pulsing
    are a contiguous prefix).

    Parameters
    ----------
    targets : (n,) array
        Target conductances [S].
    device : CrossbarDevice
        Needs ``pulse_up`` (``g``, ``dg_mean``, ``dg_std`` [S]; optional ``dg_dtod`` [1],
        ``n_pulses``).
    rng : numpy.random.Generator
    max_pulses : int, optional
        Longest pulse train [pulses] (default the table's ``n_pulses``, 150 if absent).
    tolerance : float, optional
        Relative tolerance [1] used only to *count* devices within tolerance in the report
        (default the preset's write-verify tolerance, else 0.05).

    Returns
    -------
    G : (n,) array
        Programmed conductances [S].
    report : ProgrammingReport
        Method ``"direct"``, pulses per device, relative errors.
    """
    t0 = time.perf_counter()
    T = np.asarray(targets, dtype=np.float64).ravel()
    tab = _up_table(device)
    L = direct_levels(device, max_pulses)
    # nearest level; L is non-decreasing, ties (and plateaus) resolve to the smallest index
    j = np.clip(np.searchsorted(L, T, side="left"), 1, L.size - 1) if L.size > 1 else np.zeros(T.size, np.intp)
    if L.size > 1:
        lower = j - 1
        j = np.where(np.abs(T - L[lower]) <= np.abs(L[j] - T), lower, j)
        # first index of a plateau (the same level reached with fewer pulses)
        first = np.searchsorted(L, L[j], side="left")
        j = np.minimum(j, first)
    n_p = j.astype(np.int64)
    g_tab = np.asarray(tab["g"], float)
    dg_tab = np.abs(np.asarray(tab["dg_mean"], float))
    sd_tab = np.asarray(tab["dg_std"], float)
    dtod = float(tab.get("dg_dtod", 0.0) or 0.0)
    if not (np.isfinite(dtod) and dtod >= 0):
        raise ParameterError(f"device {device.name!r}: pulse_up dg_dtod must be a finite number >= 0, got {dtod}")
    order = np.argsort(-n_p, kind="stable")  # most pulses first: the active devices are a prefix
    ns = n_p[order]
    # d2d step scale of the device at each sorted position (i.i.d., so drawing in sorted order is the same)
    scale = np.maximum(1.0 + dtod * rng.standard_normal(T.size), 0.0) if dtod > 0 else np.ones(T.size)
    G = np.full(T.size, device.g_min)
    n_max = int(ns[0]) if ns.size else 0
    # number of devices that get pulse k (k = 0..n_max-1): those with n > k
    active = np.searchsorted(-ns, -np.arange(n_max), side="left") if n_max else np.zeros(0, np.intp)
    for k in range(n_max):
        m = int(active[k])
        g = G[:m]
        step = scale[:m] * np.interp(g, g_tab, dg_tab)
        sd = np.interp(g, g_tab, sd_tab)
        g += step + sd * rng.standard_normal(m)
        np.clip(g, device.g_min, device.g_max, out=g)
    out = np.empty_like(G)
    out[order] = G
    tol = float(tolerance if tolerance is not None else dict(device.write_verify or {}).get("tolerance", 0.05))
    rel = _rel_error(out, T)
    rep = ProgrammingReport("direct", T.size, int(np.sum(np.abs(rel) <= tol * (1 + 1e-12))), tol, n_p, rel,
                            time.perf_counter() - t0)
    return out, rep


def direct_split(targets: np.ndarray, device, rng: np.random.Generator, n_dev: int, max_pulses: int | None = None,
                 tolerance: float | None = None):
    r"""Open-loop programming of ``n_dev`` devices per target whose *mean* should be the target.

    One pulse count for all the devices of a weight would give them the same ladder level and the
    same rounding error (with ftj-balanced's ladder -- 0, 0.44, 0.52, ... of the window after 0, 1,
    2, ... pulses -- 63 % of an MLP's weights round to no pulse at all, however many devices).  Here
    the devices of a weight take the two ladder rungs around its target, ``L[j] <= T < L[j+1]``:
    ``k = round(n_dev (T - L[j]) / (L[j+1] - L[j]))`` of them get ``j + 1`` pulses and the others
    ``j``, so that the mean of their levels is within ``(L[j+1] - L[j]) / (2 n_dev)`` of the target,
    ``n_dev`` times finer than one device.  Each device is then pulsed as in :func:`direct` (its own
    d2d step scale, c2c noise per pulse, no verify).  Still open loop: the counts come from the
    preset's mean pulse response only.

    Parameters
    ----------
    targets : array
        Target conductances [S] of the weights (any shape).
    n_dev : int
        Devices per weight (>= 1; 1 is :func:`direct`).
    device, rng, max_pulses, tolerance
        As in :func:`direct`.

    Returns
    -------
    G : (n_dev,) + targets.shape array
        Programmed conductances [S]; ``G.mean(axis=0)`` is what a weight reads.
    report : ProgrammingReport
        Method ``"direct"``, pulses per device; the error of each device is that of its weight's
        mean, ``(mean G - T) / T``, so "within tolerance" counts devices whose weight is.
    """
    T = np.asarray(targets, dtype=np.float64)
    n_dev = int(n_dev)
    if n_dev < 1:
        raise ParameterError(f"direct programming: n_dev must be >= 1, got {n_dev}")
    L = direct_levels(device, max_pulses)
    if L.size > 1:
        j = np.clip(np.searchsorted(L, T, side="right") - 1, 0, L.size - 2)
        lo, hi = L[j], L[j + 1]
        gap = hi - lo
        frac = np.where(gap > 0, np.clip((T - lo) / np.where(gap > 0, gap, 1.0), 0.0, 1.0), 0.0)
        k = np.floor(frac * n_dev + 0.5)  # devices on the upper rung (ties: the upper)
        idx = np.arange(n_dev).reshape((n_dev,) + (1,) * T.ndim)
        levels = np.where(idx < k, hi, lo)
    else:
        levels = np.broadcast_to(T, (n_dev,) + T.shape).copy()
    G, rep = direct(levels.ravel(), device, rng, max_pulses=max_pulses, tolerance=tolerance)
    G = G.reshape(levels.shape)
    rel = np.broadcast_to(_rel_error(G.mean(axis=0), T), G.shape).ravel()
    rep = ProgrammingReport("direct", G.size, int(np.sum(np.abs(rel) <= rep.tolerance * (1 + 1e-12))), rep.tolerance,
                            rep.pulses, rel, rep.wall_time)
    return G, rep


# ----------------------------------------------------------------------------- write-verify kernel
@njit(cache=False, inline="always")
def _fd_step(xi, lo, hi):
    span = hi - lo
    scale = 1e-3 * span if math.isfinite(span) and span > 0 else 1.0
    return 1e-7 * max(abs(xi), scale)


@njit(cache=False, inline="always")
def _phi1(z):
    if abs(z) < 1e-6:
        return 1.0 + 0.5 * z
    return math.expm1(z) / z


@njit(cache=False)
def _pulse(rhs, x, v, t, width, p, n_sub, lo, hi, f0, f1, xp, jd, rowsum):
    """Integrate one pulse of constant voltage v [V] and duration width [s] in place (exponential Euler).

    The diagonal Jacobian (frozen for the pulse) comes from forward differences: one state at a
    time (``rowsum=False``, n extra right-hand sides) or all states at once (``rowsum=True``, one
    extra right-hand side; exact when every state's rate depends on that state only).
    """
    n = x.shape[0]
    rhs(x, v, t, p, f0)
    if rowsum:
        for i in range(n):
            xp[i] = x[i] + _fd_step(x[i], lo[i], hi[i])
        rhs(xp, v, t, p, f1)
        for i in range(n):
            jd[i] = (f1[i] - f0[i]) / (xp[i] - x[i])
    else:
        for i in range(n):
            e = _fd_step(x[i], lo[i], hi[i])
            for k in range(n):
                xp[k] = x[k]
            xp[i] = x[i] + e
            rhs(xp, v, t, p, f1)
            jd[i] = (f1[i] - f0[i]) / e
    h = width / n_sub
    for m in range(n_sub):
        if m > 0:
            rhs(x, v, t + m * h, p, f0)
        for i in range(n):
            xi = x[i]
            if f0[i] != 0.0:  # a state at rest (e.g. saturated on its bound) stays: no inf * 0 when h J_ii overflows
                xi = x[i] + h * _phi1(h * jd[i]) * f0[i]
            if xi < lo[i]:
                xi = lo[i]
            elif xi > hi[i]:
                xi = hi[i]
            x[i] = xi


@njit(cache=False)
def _ispp_device(rhs, current, k, P, X, LO, HI, targets, v_read, tol, max_pulses, v_start, v_step, v_max, v_start_dn,
                 v_max_dn, width, polarity, n_sub, rowsum, f0, f1, xp, jd, G_out, pulses_out):
    """Write-verify device ``k`` (the ISPP loop of the module docstring); the body of both kernels.

    ``X[k]`` holds the device's starting state on entry and its final state on return;
    ``G_out[k]`` gets the last read conductance [S], ``pulses_out[k]`` the pulses applied.
    ``f0, f1, xp, jd`` are scratch of the state size.  Nothing is allocated and nothing
    raised, so numba-cuda compiles this, :func:`_pulse` and the model's ``rhs``/``current``
    as CUDA device functions (:mod:`memfit.crossbar._cuda_programming`).
    """
    x = X[k]
    p = P[k]
    lo = LO[k]
    hi = HI[k]
    T = targets[k]
    g = current(x, v_read, p) / v_read
    amp_up = v_start
    amp_dn = v_start_dn
    last = 0
    npulse = 0
    t = 0.0
    while npulse < max_pulses:
        if g < T * (1.0 - tol):
            if last == -1:
                amp_up = v_start
            v = polarity * amp_up
            amp_up = min(amp_up + v_step, v_max)
            last = 1
        elif g > T * (1.0 + tol):
            if last == 1:
                amp_dn = v_start_dn
            v = -polarity * amp_dn
            amp_dn = min(amp_dn + v_step, v_max_dn)
            last = -1
        else:
            break
        _pulse(rhs, x, v, t, width, p, n_sub, lo, hi, f0, f1, xp, jd, rowsum)
        t += 2.0 * width
        npulse += 1
        g = current(x, v_read, p) / v_read
    G_out[k] = g
    pulses_out[k] = npulse


@njit(cache=False, parallel=True)
def _write_verify_batch(rhs, current, P, X0, LO, HI, targets, v_read, tol, max_pulses, v_start, v_step, v_max,
                        v_start_dn, v_max_dn, width, polarity, n_sub, rowsum, G_out, pulses_out, X_out):
    """Write-verify every device on the CPU (``prange`` over devices); fills ``G_out, pulses_out, X_out``."""
    n, ns = X0.shape
    for k in prange(n):
        for i in range(ns):
            X_out[k, i] = X0[k, i]
        f0 = np.empty(ns)
        f1 = np.empty(ns)
        xp = np.empty(ns)
        jd = np.empty(ns)
        _ispp_device(rhs, current, k, P, X_out, LO, HI, targets, v_read, tol, max_pulses, v_start, v_step, v_max,
                     v_start_dn, v_max_dn, width, polarity, n_sub, rowsum, f0, f1, xp, jd, G_out, pulses_out)


def _run_write_verify(m, backend, P, X0, LO, HI, targets, v_read, tol, max_pulses, v_start, v_step, v_max,
                      v_start_dn, v_max_dn, width, polarity, n_sub, rowsum):
    """``(G, pulses, X)`` of write-verify on the resolved ``backend`` ("cpu" or "cuda")."""
    n = X0.shape[0]
    G = np.empty(n)
    pulses = np.empty(n, dtype=np.int64)
    X = np.empty_like(X0)
    args = (P, X0, LO, HI, targets, float(v_read), float(tol), int(max_pulses), float(v_start), float(v_step),
            float(v_max), float(v_start_dn), float(v_max_dn), float(width), float(polarity), int(n_sub), bool(rowsum))
    if backend == "cuda":
        from memfit.crossbar import _cuda_programming

        _cuda_programming.run_write_verify(m, *args, G, pulses, X)
    else:
        _write_verify_batch(m.rhs, m.current, *args, G, pulses, X)
    return G, pulses, X


def _resolve_backend(backend: str | None) -> str:
    """``"cpu"`` or ``"cuda"``; ``None`` takes the environment variable ``MEMFIT_PROGRAMMING_BACKEND`` (default cpu)."""
    if backend is None:
        env = os.environ.get(BACKEND_ENV, "cpu").strip() or "cpu"
        if env not in _gpu.BACKENDS:
            raise ParameterError(f"environment variable {BACKEND_ENV} must be one of "
                                 f"{', '.join(map(repr, _gpu.BACKENDS))}, got {env!r}")
        backend = env
    return _gpu.resolve_backend(backend)


def pulse_states(model, p: np.ndarray, x0: np.ndarray, amplitudes, width: float, n_sub: int = 2,
                 jacobian: str = "auto") -> np.ndarray:
    """States after each of a sequence of rectangular pulses [V], width [s], with the write-verify
    pulse integrator (for validation against :func:`memfit.simulate.simulate`); (n_pulses, n_states)."""
    p = model.check_params(p)
    lo, hi = model.state_bounds(p)
    x = np.array(x0, dtype=np.float64)
    ns = x.size
    out = np.empty((len(amplitudes), ns))
    f0, f1, xp, jd = (np.empty(ns) for _ in range(4))
    for k, v in enumerate(amplitudes):
        _pulse(model.rhs, x, float(v), 0.0, float(width), p, int(n_sub), lo, hi, f0, f1, xp, jd,
               _rowsum(model, jacobian))
        out[k] = x
    return out


def _rowsum(model, jacobian: str) -> bool:
    if jacobian not in ("auto", "diagonal", "rowsum"):
        raise ParameterError(f"jacobian must be 'auto', 'diagonal' or 'rowsum', got {jacobian!r}")
    return jacobian == "rowsum" or (jacobian == "auto" and model.n_states > 4)


def _scheme(device) -> tuple:
    """The checked ISPP scheme ``(tol, max_pulses, v_start, v_step, v_max, v_start_dn, v_max_dn, width)``."""
    tol = float(_wv(device, "tolerance"))
    max_pulses = int(_wv(device, "max_pulses"))
    v_start, v_step, v_max = (float(_wv(device, k)) for k in ("v_start", "v_step", "v_max"))
    width = float(_wv(device, "width"))
    # optional asymmetric RESET ramp (magnitudes; presets may store them signed)
    v_start_dn = abs(float(_wv(device, "v_start_down", v_start)))
    v_max_dn = abs(float(_wv(device, "v_max_down", v_max)))
    if not (0 < v_start_dn <= v_max_dn):
        raise ParameterError(f"device {device.name!r}: write_verify needs 0 < |v_start_down| <= |v_max_down|, got "
                             f"{v_start_dn} V, {v_max_dn} V")
    if not (0 < v_start <= v_max and v_step >= 0 and width > 0 and tol > 0 and max_pulses >= 0):
        raise ParameterError(f"device {device.name!r}: write_verify scheme needs 0 < v_start <= v_max, v_step >= 0, "
                             f"width > 0, tolerance > 0, max_pulses >= 0; got v_start={v_start} V, v_step={v_step} V, "
                             f"v_max={v_max} V, width={width} s, tolerance={tol}, max_pulses={max_pulses}")
    return tol, max_pulses, v_start, v_step, v_max, v_start_dn, v_max_dn, width


def write_verify(targets: np.ndarray, device, rng: np.random.Generator, n_sub: int = 2, params: np.ndarray | None = None,
                 x0: np.ndarray | None = None, jacobian: str = "auto", backend: str | None = None):
    """Write-verify every device on its compact model (see the module docstring).

    Parameters
    ----------
    targets : (n,) array
        Target read conductances [S].
    device : CrossbarDevice
        Needs ``model_name``, ``write_verify`` (``tolerance, max_pulses, v_start, v_step, v_max,
        width``; optional ``v_start_down, v_max_down`` for an asymmetric RESET ramp, default the
        SET values) and optionally ``d2d``.
    rng : numpy.random.Generator
        For the device-to-device parameter draws.
    n_sub : int
        Exponential-Euler sub-steps per pulse.
    jacobian : {"auto", "diagonal", "rowsum"}
        How the pulse integrator's diagonal Jacobian is estimated (see :func:`_pulse`); ``"auto"``:
        one state at a time for models with up to 4 states, all at once for more (the FTJ's 22
        states, whose bins relax independently -- validated against ``simulate``).
    params, x0 : arrays, optional
        Per-device parameter rows / initial states (default: drawn / the model's initial state).
    backend : {"cpu", "cuda", "auto"}, optional
        Where the devices are integrated: ``"cpu"`` (numba, parallel over cores), ``"cuda"`` (one
        GPU thread per device, the same per-device code compiled for CUDA; float64; raises
        :class:`memfit._gpu.GPUUnavailableError` without CUDA) or ``"auto"`` (the GPU when a real
        one is present).  Default: the environment variable ``MEMFIT_PROGRAMMING_BACKEND``,
        else ``"cpu"``.

    Returns
    -------
    G : (n,) array
        Read conductances [S] after programming.
    report : ProgrammingReport
    """
    T = np.ascontiguousarray(targets, dtype=np.float64).ravel()
    n = T.size
    m = device.model()
    if m.port != "i(v)":
        raise ParameterError(f"write-verify needs a conductive model (port i(v)); {m.name!r} has port {m.port!r}")
    tol, max_pulses, v_start, v_step, v_max, v_start_dn, v_max_dn, width = _scheme(device)
    be = _resolve_backend(backend)
    rowsum = _rowsum(m, jacobian)
    t0 = time.perf_counter()
    P = np.ascontiguousarray(device.draw_device_parameters(n, rng) if params is None else params, dtype=np.float64)
    X0 = np.ascontiguousarray(device.initial_state(P) if x0 is None else x0, dtype=np.float64)
    LO, HI = m.state_bounds(P)
    G, pulses, X = _run_write_verify(m, be, P, X0, np.ascontiguousarray(LO), np.ascontiguousarray(HI), T,
                                     device.read_voltage, tol, max_pulses, v_start, v_step, v_max, v_start_dn,
                                     v_max_dn, width, device.set_polarity, n_sub, rowsum)
    rel = _rel_error(G, T)
    rep = ProgrammingReport("write_verify", n, int(np.sum(np.abs(rel) <= tol * (1 + 1e-12))), tol, pulses, rel,
                            time.perf_counter() - t0)
    write_verify.last_states = X
    write_verify.last_params = P
    return G, rep


# ----------------------------------------------------------------------------- tGDP
def _pulse_tables(device) -> tuple:
    """(g, |dG_mean|, dG_std) of the up and down pulse-response tables, float64, for tGDP's kernel."""
    out = []
    for tab in (device.pulse_up, device.pulse_down):
        if tab is None:
            raise ParameterError(f"device {device.name!r}: tGDP needs pulse_response tables ('up' and 'down')")
        out += [np.ascontiguousarray(tab["g"], dtype=np.float64),
                np.abs(np.asarray(tab["dg_mean"], dtype=np.float64)),  # down-steps stored signed or not
                np.ascontiguousarray(tab["dg_std"], dtype=np.float64)]
    return tuple(out)


@njit(cache=True, inline="always")
def _table_at(x, xp, fp):
    """``np.interp(x, xp, fp)`` for a scalar ``x`` and increasing ``xp`` (bisection; numba's np.interp
    validated its arguments on every call: 90 % of tGDP's time)."""
    n = xp.shape[0]
    if x <= xp[0]:
        return fp[0]
    if x >= xp[n - 1]:
        return fp[n - 1]
    lo, hi = 0, n - 1
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if xp[mid] <= x:
            lo = mid
        else:
            hi = mid
    return fp[lo] + (fp[hi] - fp[lo]) * (x - xp[lo]) / (xp[hi] - xp[lo])


@njit(cache=True)
def _tgdp_pulses(G, n_p, sgn, g_up, m_up, s_up, g_dn, m_dn, s_dn, g_min, g_max, state):
    """Apply ``n_p[i]`` pulses towards ``sgn[i]`` to the pair ``(G[i, 0], G[i, 1]) = (G+, G-)``.

    Towards ``+``: an up-pulse on ``G+``, or, once ``G+`` is at ``g_max``, a down-pulse on ``G-``;
    towards ``-`` the mirror image.  A pulse moves ``g`` by ``+-|dG_mean(g)| + dG_std(g) z`` (the
    tables interpolated linearly, clamped at their ends; ``z`` standard normal from the xoshiro256**
    ``state``) and clips it to ``[g_min, g_max]``.
    """
    for i in range(G.shape[0]):
        s = sgn[i]
        if s == 0.0:
            continue
        pos = 0 if s > 0.0 else 1
        for _ in range(n_p[i]):
            z = np.float64(_normal32(state, np.int64(_next64(state) >> np.uint64(32))))
            g = G[i, pos]
            if g < g_max:
                g = g + _table_at(g, g_up, m_up) + _table_at(g, g_up, s_up) * z
                G[i, pos] = min(max(g, g_min), g_max)
            else:
                g = G[i, 1 - pos]
                g = g - _table_at(g, g_dn, m_dn) + _table_at(g, g_dn, s_dn) * z
                G[i, 1 - pos] = min(max(g, g_min), g_max)


def tgdp(tile, device, cfg, rng: np.random.Generator, iterations: int = 30, max_pulses_per_iter: int = 31,
         tolerance: float | None = None):
    """Tile gradient-descent programming (thesis sec. 3.3.1; Gokmen & Vlasov, Front. Neurosci. 10, 333
    (2016), doi:10.3389/fnins.2016.00333).

    Starts from statistical/ideal targets as an open-loop first write (all devices at their target
    with the pulse-table's cycle-to-cycle spread), then per iteration: read the tile's weights
    (identity inputs through the noisy read, i.e. ``W'`` plus read noise ``w_noise``), error
    ``E = W_norm - W'``, and per weight apply ``n = round(n_dev |E| / dw_min)`` pulses (at most
    ``max_pulses_per_iter`` per device pair): for ``E > 0`` up-pulses on ``G+`` (down-pulses on
    ``G-`` once ``G+`` is at ``g_max``), for ``E < 0`` the mirror image.  ``dw_min`` is the mean
    up-step at mid-window, in normalized weight units.  With ``n_dev`` device pairs per weight
    (whose mean is the weight) a pulse on one pair moves the weight by ``dw_min / n_dev``: the ``n``
    pulses are dealt out over the pairs, one more to the first ``n mod n_dev`` in an order that
    rotates every iteration, so more devices per weight reach a finer weight (the thesis' finding
    for tGDP, sec. 4.2).  Returns ``(G, report)``.
    """
    t0 = time.perf_counter()
    if not cfg.differential:
        raise ParameterError("tGDP programming needs differential pairs (config.differential=True)")
    dg_win = device.g_max - device.g_min
    G = np.broadcast_to(tile.targets[:, None], tile.G.shape).copy()
    # open-loop first write: one programming error of the size of a pulse step
    mid = 0.5 * (device.g_min + device.g_max)
    dw_min = float(np.interp(mid, device.pulse_up["g"], device.pulse_up["dg_mean"])) if device.pulse_up else 0.0
    if dw_min <= 0:
        raise ParameterError(f"device {device.name!r}: tGDP needs a positive mean up-step at mid-window")
    G = np.clip(G + 0.5 * dw_min * rng.standard_normal(G.shape), device.g_min, device.g_max)
    target_w = tile.targets[:, 0] - tile.targets[:, 1]  # (S, out, in) [S]
    pulses = np.zeros(G.shape[:2] + G.shape[3:], dtype=np.int64)  # per pair
    tol = 0.5 * dw_min / dg_win if tolerance is None else tolerance
    n_dev = G.shape[1]
    dev_idx = np.arange(n_dev).reshape((1, n_dev) + (1,) * (G.ndim - 3))
    tables = _pulse_tables(device)
    state = seed_state(rng)
    # pairs last: (S, n_dev, out, in, 2), so that the kernel sees one (G+, G-) row per pair
    Gq = np.ascontiguousarray(np.moveaxis(G, 2, -1))
    flat = Gq.reshape(-1, 2)
    for it in range(iterations):
        Wr = (Gq[..., 0] - Gq[..., 1]).mean(axis=1)  # (S, out, in)
        if cfg.w_noise > 0:
            Wr = Wr + cfg.w_noise * dg_win * rng.standard_normal(Wr.shape)
        E = (target_w - Wr) / dg_win
        n_w = np.minimum(np.rint(np.abs(E) * n_dev * dg_win / dw_min), max_pulses_per_iter * n_dev).astype(np.int64)
        if not n_w.any():
            break
        # the weight's pulses dealt out over its pairs (the extra ones to a rotating subset)
        n_p = n_w[:, None] // n_dev + ((dev_idx - it) % n_dev < (n_w % n_dev)[:, None])
        sgn = np.repeat(np.sign(E)[:, None], n_dev, axis=1)
        pulses += n_p
        _tgdp_pulses(flat, np.ascontiguousarray(n_p).ravel(), np.ascontiguousarray(sgn).ravel(), *tables,
                     float(device.g_min), float(device.g_max), state)
    G = np.ascontiguousarray(np.moveaxis(Gq, -1, 2))
    Wr = (G[:, :, 0] - G[:, :, 1]).mean(axis=1)
    err = (Wr - target_w) / dg_win
    rep = ProgrammingReport("tgdp", int(err.size), int(np.sum(np.abs(err) <= tol)), tol, pulses.ravel(),
                            err.ravel(), time.perf_counter() - t0)
    return G, rep


def reachable_window(device, rng: np.random.Generator, n: int = 1000, quantile: float = 0.001, n_sub: int = 2,
                     jacobian: str = "auto", backend: str | None = None) -> tuple[float, float]:
    """Conductance window [S] that the device population reliably reaches with the preset's ISPP scheme.

    ``n`` devices are drawn from the device-to-device distribution and driven with ``max_pulses``
    SET pulses at ``v_max`` (resp. RESET pulses at ``v_max_down``) -- the most a write-verify
    run may apply in one direction.  Returns ``(g_lo, g_hi)``: the ``1 - quantile`` quantile of
    the fully reset and the ``quantile`` quantile of the fully set read conductances.  Targets
    outside this window cannot be met by a fraction of about ``quantile`` or more of the devices,
    whatever the algorithm; a mapping that wants write-verify to succeed uses it as its window.
    ``n_sub``, ``jacobian`` and ``backend`` are those of :func:`write_verify`.
    """
    be = _resolve_backend(backend)
    m = device.model()
    wv = dict(device.write_verify or {})
    max_pulses = int(_wv(device, "max_pulses"))
    v_max = float(_wv(device, "v_max"))
    v_max_dn = abs(float(wv.get("v_max_down", v_max)))
    width = float(_wv(device, "width"))
    P = np.ascontiguousarray(device.draw_device_parameters(n, rng), dtype=np.float64)
    X0 = np.ascontiguousarray(device.initial_state(P), dtype=np.float64)
    LO, HI = (np.ascontiguousarray(a) for a in m.state_bounds(P))
    out = []
    for target in (np.inf, 0.0):  # always below / always above the band: only SET / only RESET pulses
        G, _, _ = _run_write_verify(m, be, P, X0, LO, HI, np.full(n, target), device.read_voltage, 0.5, max_pulses,
                                    v_max, 0.0, v_max, v_max_dn, v_max_dn, width, device.set_polarity, n_sub,
                                    _rowsum(m, jacobian))
        out.append(G)
    return float(np.quantile(out[1], 1.0 - quantile)), float(np.quantile(out[0], quantile))


#: reachable windows already computed, per device object (see :func:`mapping_window`)
_WINDOWS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def mapping_window(device, n: int = 1000, quantile: float = 0.001, seed: int = 0) -> tuple[float, float]:
    """The write-verify-reachable window ``(g_lo, g_hi)`` [S] used by ``CrossbarConfig.reachable_window``.

    :func:`reachable_window` with ``n`` devices, ``quantile`` and a fixed ``seed`` -- a property of
    the device population, not of one programming run -- computed once per device object and
    cached.  ``g_lo``/``g_hi`` are clipped into ``[g_min, g_max]``; a ParameterError names the
    device when the window is empty.
    """
    key = (int(n), float(quantile), int(seed))
    cache = _WINDOWS.setdefault(device, {})
    if key not in cache:
        g_lo, g_hi = reachable_window(device, np.random.default_rng(seed), n=n, quantile=quantile)
        g_lo, g_hi = max(g_lo, device.g_min), min(g_hi, device.g_max)
        if not g_hi > g_lo:
            raise ParameterError(f"device {device.name!r}: the write-verify-reachable window is empty "
                                 f"(g_lo = {g_lo:.4g} S >= g_hi = {g_hi:.4g} S); use reachable_window=False")
        cache[key] = (float(g_lo), float(g_hi))
    return cache[key]
