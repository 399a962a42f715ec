"""Jitted integrators and the test circuit: the time loop of every simulation.

Everything here works on flat float64 arrays in SI units.  The device model
enters as two first-class functions (``rhs`` and ``current``, see
:mod:`memfit.models.base`); the functions below are compiled once for every
model (their argument types are signatures, not particular functions), which
is what lets numba cache them on disk.

The test circuit (source, series resistance, compliance, parallel capacitor,
charge and flux ports) lives in :mod:`memfit.simulate._kernels.circuit`; the
integrators see one system ``y = [device state, circuit state]``.

Integrators
-----------
``dopri5``  Dormand-Prince 5(4), FSAL, with Shampine's 4th-order dense output
            (the coefficients used by SciPy's RK45) for output times inside a
            step.
``sdirk4``  Hairer-Wanner SDIRK4 (5 stages, order 4, L-stable, stiffly
            accurate, embedded order 3), simplified Newton with a
            finite-difference Jacobian, error estimate filtered through
            ``(I - h gamma J)^-1``.  Steps end on every output time.

Both step exactly onto every segment boundary (breakpoint), clamp the state
to its bounds after every accepted step, and stop with a status code (never
hang) when the step budget is spent, the step size underflows or the state
becomes non-finite.

CPU and GPU share this code
---------------------------
Each method is one core function that allocates nothing
(:func:`dopri5_core`, :func:`sdirk4_core`): every scratch array is an
argument.  The CPU entry points (:func:`_dopri5`, :func:`_sdirk4`, called by
:func:`run_single` / :func:`run_batch`) allocate them with ``np.empty``; the
CUDA kernel (:mod:`memfit.simulate._cuda`) allocates them per thread with
``cuda.local.array`` and numba-cuda compiles the same core -- with the
circuit kernels and the model's own ``rhs``/``current`` -- as device
functions.  Code reachable from the cores must therefore stay within what
CUDA compiles: no allocation, no exceptions, no objects.
"""

import math

import numpy as np
from numba import njit, prange

from memfit._jit import kernel

from memfit.simulate._kernels.circuit import (  # noqa: F401
    O_COMP,
    SERIES,
    circuit_eval,
    circuit_observe,
    source_value,
)

# segment table columns (see memfit.simulate.stimulus)
_T0, _T1, _KIND, _A, _B, _C, _D, _MODE = 0, 1, 2, 3, 4, 5, 6, 7

# status codes
OK = 0
MAX_STEPS = 1
STEP_UNDERFLOW = 2
NOT_FINITE = 3
NO_OPERATING_POINT = 4

# method codes
DOPRI5 = 0
SDIRK4 = 1

# indices into the stats array
ST_STEPS, ST_REJECTED, ST_FEV = 0, 1, 2

# ---------------------------------------------------------------------------
# Dormand-Prince 5(4) tableau (Dormand & Prince 1980) and dense output
# (Shampine 1986, as in scipy.integrate.RK45)
# ---------------------------------------------------------------------------
DP_C = np.array([0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0])
DP_A = np.array(
    [
        [0, 0, 0, 0, 0, 0],
        [1 / 5, 0, 0, 0, 0, 0],
        [3 / 40, 9 / 40, 0, 0, 0, 0],
        [44 / 45, -56 / 15, 32 / 9, 0, 0, 0],
        [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729, 0, 0],
        [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656, 0],
        [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
    ]
)
DP_B = np.array([35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0])
# b - b_hat (5th minus 4th order weights)
DP_E = np.array([71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40])
DP_P = np.array(
    [
        [1, -8048581381 / 2820520608, 8663915743 / 2820520608, -12715105075 / 11282082432],
        [0, 0, 0, 0],
        [0, 131558114200 / 32700410799, -68118460800 / 10900136933, 87487479700 / 32700410799],
        [0, -1754552775 / 470086768, 14199869525 / 1410260304, -10690763975 / 1880347072],
        [0, 127303824393 / 49829197408, -318862633887 / 49829197408, 701980252875 / 199316789632],
        [0, -282668133 / 205662961, 2019193451 / 616988883, -1453857185 / 822651844],
        [0, 40617522 / 29380423, -110615467 / 29380423, 69997945 / 29380423],
    ]
)

# ---------------------------------------------------------------------------
# SDIRK4 (Hairer & Wanner, Solving ODEs II, Table 6.5; gamma = 1/4)
# ---------------------------------------------------------------------------
SD_GAMMA = 0.25
SD_C = np.array([1 / 4, 3 / 4, 11 / 20, 1 / 2, 1.0])
SD_A = np.array(
    [
        [1 / 4, 0, 0, 0, 0],
        [1 / 2, 1 / 4, 0, 0, 0],
        [17 / 50, -1 / 25, 1 / 4, 0, 0],
        [371 / 1360, -137 / 2720, 15 / 544, 1 / 4, 0],
        [25 / 24, -49 / 48, 125 / 16, -85 / 12, 1 / 4],
    ]
)
SD_B = np.array([25 / 24, -49 / 48, 125 / 16, -85 / 12, 1 / 4])
SD_BHAT = np.array([59 / 48, -17 / 96, 225 / 32, -85 / 12, 0.0])


# ---------------------------------------------------------------------------
# system right-hand side and output
# ---------------------------------------------------------------------------
# inline="always" (numba IR inlining) on the thin layers between a stage and the model kernels
# (system_rhs -> circuit_eval/_eval_series -> _series_point's direct path, source_value): every call
# boundary that passes the first-class model functions and eight arrays cost ~30-80 ns, more than the
# VTEAM right-hand side itself.  Measured: integrator kernel 2.61 -> 1.56 ms on the VTEAM benchmark,
# for ~10 s more cold compilation.  Inlining the port solves or the output recorder as well added
# 20-40 s of compilation for < 10 %.
@kernel(inline="always")
def system_rhs(rhs, cur, ck, nx, t, y, p, seg, s, circ, dy, ob, lo, hi, beyond=False):
    """dy/dt of device + circuit at time t (observables into ``ob``); False if no operating point.

    Saturated dynamics: a state on a bound (where the clamp after each step
    puts it) whose derivative pushes it outward does not move, so a windowless
    model pinned at a bound integrates with large steps instead of
    overshooting and being pulled back at every step.  Explicit stages
    (``beyond=True``) apply this also past the bound, where a windowless model
    with a huge rate would otherwise push every stage further out; implicit
    stages keep the true rate past the bound, or a stage that crosses it would
    have no solution.
    """
    if not circuit_eval(rhs, cur, ck, nx, t, y, p, seg, s, circ, dy, ob, lo, hi):
        return False
    _saturate(y, dy, lo, hi, nx, beyond)
    return True


@kernel(inline="always")
def _saturate(y, dy, lo, hi, nx, beyond):
    """Zero the rate of each device state that sits on (``beyond``: on or past) the bound it is
    pushed into (see :func:`system_rhs`)."""
    for j in range(nx):
        if beyond:
            if (y[j] <= lo[j] and dy[j] < 0.0) or (y[j] >= hi[j] and dy[j] > 0.0):
                dy[j] = 0.0
        elif (y[j] == lo[j] and dy[j] < 0.0) or (y[j] == hi[j] and dy[j] > 0.0):
            dy[j] = 0.0


@kernel(inline="always")
def _store_clamped(y, lo, hi, X, row, yy):
    """``X[row] = yy = y`` clamped into ``[lo, hi]`` (the state an output sample records)."""
    for j in range(y.shape[0]):
        v = y[j]
        if v < lo[j]:
            v = lo[j]
        elif v > hi[j]:
            v = hi[j]
        X[row, j] = v
        yy[j] = v


@kernel
def _record(rhs, cur, ck, nx, y, p, seg, s, t, circ, lo, hi, k, X, OUT, yy, dy, ob):
    """Store the (clamped) state and the circuit observables of output time k.

    X and OUT have either one row per output time or a single row (then only
    the latest value is kept).  ``yy``, ``dy``, ``ob`` are scratch arrays (no
    allocation per output: it cost more than the evaluation).
    """
    _store_clamped(y, lo, hi, X, k if X.shape[0] > 1 else 0, yy)
    ko = k if OUT.shape[0] > 1 else 0
    if circuit_observe(rhs, cur, ck, nx, t, yy, p, seg, s, circ, dy, ob, lo, hi):
        for j in range(ob.shape[0]):
            OUT[ko, j] = ob[j]
    else:
        for j in range(ob.shape[0]):
            OUT[ko, j] = math.nan


@kernel
def _err_norm(e, y0, y1, rtol, atol):
    acc = 0.0
    n = e.shape[0]
    for j in range(n):
        sc = atol[j] + rtol * max(abs(y0[j]), abs(y1[j]))
        r = e[j] / sc
        acc += r * r
    return math.sqrt(acc / n)


@kernel
def _clip(y, lo, hi):
    changed = False
    for j in range(y.shape[0]):
        if y[j] < lo[j]:
            y[j] = lo[j]
            changed = True
        elif y[j] > hi[j]:
            y[j] = hi[j]
            changed = True
    return changed


@kernel
def _finite(y):
    for j in range(y.shape[0]):
        if not math.isfinite(y[j]):
            return False
    return True


@kernel
def _outside(y, lo, hi):
    """True if y leaves its bounds by more than 1 % of the range (a trial stage overshooting).

    Windows are clamped to zero outside the physical range, so stages far
    outside can look stationary and fool the error estimate; such steps are
    rejected instead.
    """
    for j in range(y.shape[0]):
        m = 0.01 * (hi[j] - lo[j])
        if y[j] < lo[j] - m or y[j] > hi[j] + m:
            return True
    return False


@kernel
def _snap_to_bounds(y_old, y, lo, hi, nx, rtol):
    """Put a state that moves towards a bound and is within ``rtol`` of the range from it onto the bound.

    Some windowless models reach a bound with an infinite slope (HP drift
    with R_on >> R_off arrives like sqrt(T - t)); no step size resolves that,
    while the last ``rtol`` of the range is within the tolerance anyway.  On
    the bound the saturated dynamics hold the state.  Returns True if a state
    was moved.
    """
    moved = False
    for j in range(nx):
        band = rtol * (hi[j] - lo[j])
        if not math.isfinite(band):
            continue
        if y[j] < y_old[j] and lo[j] < y[j] <= lo[j] + band:
            y[j] = lo[j]
            moved = True
        elif y[j] > y_old[j] and hi[j] - band <= y[j] < hi[j]:
            y[j] = hi[j]
            moved = True
    return moved


@kernel
def _aim_at_bounds(y, f, lo, hi, nx, h, atol):
    """Shorten a step that would carry a state past its bound, so it lands about on the bound.

    A state reaching its bound at a finite rate is a kink in the solution (the
    clamp stops it dead); a step across the kink makes the error estimate
    demand ever smaller steps.  Aiming at the bound (linear extrapolation with
    the rate at the step start) puts the kink at a step end instead; the clamp
    after the step does the rest.  A state already within its absolute
    tolerance of the bound is left to the clamp (aiming at a bound 1e-9 away
    with a fast rate would shrink the step below any useful size).
    """
    for j in range(nx):
        if f[j] < 0.0 and y[j] > lo[j]:
            if y[j] - lo[j] <= atol[j]:
                continue
            t_hit = (y[j] - lo[j]) / (-f[j])
        elif f[j] > 0.0 and y[j] < hi[j]:
            if hi[j] - y[j] <= atol[j]:
                continue
            t_hit = (hi[j] - y[j]) / f[j]
        else:
            continue
        if t_hit < h:
            h = max(t_hit, 1e-3 * h)
    return h


@kernel
def _max_step(seg, s, span):
    """Largest step in segment s: the segment, or 1/20 of a sine period (so a
    threshold crossed only near a crest is not stepped over)."""
    if seg[s, _KIND] == 1.0 and seg[s, _C] > 0.0:
        return min(span, 0.05 / seg[s, _C])
    return span


@kernel
def _initial_step(rhs, cur, ck, nx, t, y, p, seg, s, circ, rtol, atol, f0, tmp, f1, span, stats, ob, lo, hi):
    """Hairer's starting-step heuristic, limited to the segment span (``tmp``, ``f1``: scratch).

    Floored at ``1e-10 span``: with most states at a bound (zero) and fast rates the heuristic's
    ``0.01 |y|/|f|`` can fall far below the step-underflow limit (``1e-14 span``) before a single
    step is tried; from the floor the error control shrinks the step if it must.
    """
    n = y.shape[0]
    d0 = 0.0
    d1 = 0.0
    for j in range(n):
        sc = atol[j] + rtol * abs(y[j])
        d0 += (y[j] / sc) ** 2
        d1 += (f0[j] / sc) ** 2
    d0 = math.sqrt(d0 / n)
    d1 = math.sqrt(d1 / n)
    if d0 < 1e-5 or d1 < 1e-5:
        h0 = 1e-6 * span
    else:
        h0 = 0.01 * d0 / d1
    h0 = min(h0, span)
    for j in range(n):
        tmp[j] = y[j] + h0 * f0[j]
    if not system_rhs(rhs, cur, ck, nx, t + h0, tmp, p, seg, s, circ, f1, ob, lo, hi):
        return max(min(h0, 1e-3 * span), 1e-10 * span)
    stats[ST_FEV] += 1
    d2 = 0.0
    for j in range(n):
        sc = atol[j] + rtol * abs(y[j])
        d2 += ((f1[j] - f0[j]) / sc) ** 2
    d2 = math.sqrt(d2 / n) / h0
    if max(d1, d2) <= 1e-15:
        h1 = max(1e-6 * span, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** 0.2
    return max(min(100.0 * h0, h1, span), 1e-10 * span)


# ---------------------------------------------------------------------------
# Dormand-Prince 5(4)
# ---------------------------------------------------------------------------
@njit(cache=True)
def _dopri5(rhs, cur, ck, nx, seg, tout, uout, x0, p, lo, hi, circ, rtol, atol, max_steps, X, OUT, stats):
    """CPU entry: allocate the scratch arrays and run :func:`dopri5_core`."""
    n = x0.shape[0]
    return dopri5_core(rhs, cur, ck, nx, seg, tout, uout, x0, p, lo, hi, circ, rtol, atol, max_steps, X, OUT, stats,
                       np.empty(n), np.empty(n), np.empty(n), np.empty(n), np.empty(n), np.empty(n), np.empty(n),
                       np.empty(OUT.shape[1]), np.empty((7, n)))


@kernel
def dopri5_core(rhs, cur, ck, nx, seg, tout, uout, x0, p, lo, hi, circ, rtol, atol, max_steps, X, OUT, stats,
                y, ynew, tmp, err, yd, scr_y, scr_dy, ob, K):
    """Dormand-Prince 5(4) over the whole stimulus; returns a status code.

    Allocates nothing: the scratch arrays ``y, ynew, tmp, err, yd, scr_y,
    scr_dy`` (each ``ny``), ``ob`` (``N_OUT``) and ``K`` (7, ``ny``) come
    from the caller -- ``np.empty`` on the CPU (:func:`_dopri5`), per-thread
    ``cuda.local.array`` on a GPU (:mod:`memfit.simulate._cuda`).  This one
    function is what both targets compile.
    """
    n = x0.shape[0]
    nseg = seg.shape[0]
    m = tout.shape[0]
    # a voltage source straight on a conductive device (series circuit, no series resistance): its
    # stages are evaluated and its outputs inside a step recorded here, without the calls to
    # system_rhs / _record, whose array arguments cost more than the model (VTEAM: 3x faster)
    direct = ck == SERIES and n == nx and circ[0] == 0.0
    full_x = X.shape[0] > 1  # X / OUT: one row per output time, or only the latest (see _record)
    full_out = OUT.shape[0] > 1
    limited = math.isfinite(circ[1])  # a current compliance: each stage checks the device current
    for j in range(n):
        y[j] = x0[j]
    _clip(y, lo, hi)
    k_out = 0
    h = 0.0
    for s in range(nseg):
        # time runs locally within the segment (t = 0 at its start): steps keep their
        # resolution late in a long stimulus (absolute-time arithmetic loses ~1e-11 s at 1e5 s)
        ta = seg[s, _T0]
        span = seg[s, _T1] - ta
        tb = span
        t = 0.0
        # outputs at the start of this segment (right-continuous source)
        while k_out < m and tout[k_out] <= ta:
            _record(rhs, cur, ck, nx, y, p, seg, s, 0.0, circ, lo, hi, k_out, X, OUT, scr_y, scr_dy, ob)
            k_out += 1
        if not system_rhs(rhs, cur, ck, nx, t, y, p, seg, s, circ, K[0], ob, lo, hi):
            return NO_OPERATING_POINT
        stats[ST_FEV] += 1
        comp = ob[O_COMP]  # circuit regime (in compliance or not) at t: see h_kink
        hmax = _max_step(seg, s, span)
        h_kink = 1e-2 * math.sqrt(rtol) * span  # longest step accepted across a compliance kink
        if h <= 0.0:
            h = _initial_step(rhs, cur, ck, nx, t, y, p, seg, s, circ, rtol, atol, K[0], tmp, err, span, stats, ob,
                              lo, hi)
        h = min(h, hmax)
        rejected = False
        while t < tb:
            if stats[ST_STEPS] + stats[ST_REJECTED] >= max_steps:
                return MAX_STEPS
            last = False
            hp = h  # proposed step; h is the step taken
            h = _aim_at_bounds(y, K[0], lo, hi, nx, h, atol)
            if t + h >= tb or (tb - (t + h)) < 1e-12 * span:
                h = tb - t
                last = True
            if h <= 1e-14 * span:
                return STEP_UNDERFLOW
            ok = True
            comp_end = comp
            for st in range(1, 7):
                for j in range(n):
                    acc = y[j]
                    for q in range(st):
                        acc += h * DP_A[st, q] * K[q, j]
                    tmp[j] = acc
                if _outside(tmp, lo, hi):
                    ok = False
                    break
                tau = t + DP_C[st] * h
                if direct and seg[s, _MODE] == 0.0:
                    # system_rhs of the direct circuit written out (its call cost more than the model)
                    u = source_value(seg, s, tau)
                    if math.isfinite(u) and (not limited or abs(cur(tmp, u, p)) <= circ[1]):
                        rhs(tmp, u, seg[s, _T0] + tau, p, K[st])
                        _saturate(tmp, K[st], lo, hi, n, False)
                        comp_end = 0.0
                        continue
                if not system_rhs(rhs, cur, ck, nx, tau, tmp, p, seg, s, circ, K[st], ob, lo, hi):
                    ok = False
                    break
                comp_end = ob[O_COMP]  # the last stage is at t + h
            stats[ST_FEV] += 6
            if ok:
                for j in range(n):
                    ynew[j] = tmp[j]  # stage 7 is evaluated at y_{n+1} (FSAL)
                    e = 0.0
                    for q in range(7):
                        e += DP_E[q] * K[q, j]
                    err[j] = h * e
                en = _err_norm(err, y, ynew, rtol, atol)
                if not math.isfinite(en):
                    en = 1e10
                if comp_end != comp and h > h_kink:
                    # the circuit changed regime inside the step: a kink in the right-hand side that
                    # the embedded estimate misses (directly driven into compliance, the state came
                    # out ~100 rtol off); cut the step until the kink sits in one of <= h_kink
                    en = max(en, 16.0)
            else:
                en = 1e10
            if en <= 1.0:
                tnew = tb if last else t + h
                # dense output for output times inside (t, tnew)
                # outputs inside (t, tnew]; tnew itself only when it is not the segment end
                # (the end belongs to the next segment, recorded at its start)
                inv_h = 0.0  # set with the interpolant's coefficients, at the step's first output
                while k_out < m and tout[k_out] - ta > t and (
                    tout[k_out] - ta < tnew or (tout[k_out] - ta == tnew and not last)
                ):
                    if inv_h == 0.0:
                        # the interpolant's coefficients, once per step (a step holds dozens of outputs
                        # on a fit's densely sampled sweeps): sum_q K_q P_q(th) = th (C0 + th (C1 +
                        # th (C2 + th C3))), stored in K's rows 1-4 (the stages are no longer needed;
                        # rows 0 and 6 are kept for the FSAL swap)
                        for j in range(n):
                            c0 = 0.0
                            c1 = 0.0
                            c2 = 0.0
                            c3 = 0.0
                            for q in range(7):
                                c0 += K[q, j] * DP_P[q, 0]
                                c1 += K[q, j] * DP_P[q, 1]
                                c2 += K[q, j] * DP_P[q, 2]
                                c3 += K[q, j] * DP_P[q, 3]
                            K[1, j] = c0
                            K[2, j] = c1
                            K[3, j] = c2
                            K[4, j] = c3
                        inv_h = 1.0 / h
                    th = (tout[k_out] - ta - t) * inv_h
                    for j in range(n):
                        yd[j] = y[j] + h * (th * (K[1, j] + th * (K[2, j] + th * (K[3, j] + th * K[4, j]))))
                    if direct and seg[s, _MODE] == 0.0:
                        # the common case written out (no call: ~30 instead of ~190 ns per output, and
                        # a fit's objective records 1e4 outputs per evaluation); same values as _record
                        _store_clamped(yd, lo, hi, X, k_out if full_x else 0, scr_y)
                        u = uout[k_out]
                        i = cur(scr_y, u, p)
                        if abs(i) <= circ[1] and math.isfinite(u):
                            ko = k_out if full_out else 0
                            OUT[ko, 0] = u
                            OUT[ko, 1] = i
                            OUT[ko, 2] = u + circ[0] * i
                            OUT[ko, 3] = 0.0
                            OUT[ko, 4] = i
                            k_out += 1
                            continue
                    _record(rhs, cur, ck, nx, yd, p, seg, s, tout[k_out] - ta, circ, lo, hi, k_out, X, OUT, scr_y,
                            scr_dy, ob)
                    k_out += 1
                t = tnew
                for j in range(n):
                    tmp[j] = y[j]
                    y[j] = ynew[j]
                    K[0, j] = K[6, j]
                if not _finite(y):
                    return NOT_FINITE
                comp = comp_end
                if _clip(y, lo, hi) | _snap_to_bounds(tmp, y, lo, hi, nx, rtol):
                    if not system_rhs(rhs, cur, ck, nx, t, y, p, seg, s, circ, K[0], ob, lo, hi):
                        return NO_OPERATING_POINT
                    stats[ST_FEV] += 1
                    comp = ob[O_COMP]
                stats[ST_STEPS] += 1
                fac = 0.9 * en ** -0.2 if en > 0.0 else 10.0
                fac = min(10.0, max(0.2, fac))
                if rejected:
                    fac = min(1.0, fac)
                h_next = h * fac
                # a step truncated at the breakpoint must not shrink the next proposal
                h = min(max(hp, h_next) if last else h_next, hmax)
                rejected = False
            else:
                stats[ST_REJECTED] += 1
                fac = 0.9 * en ** -0.2 if en < 1e10 else 0.25
                h = h * max(0.1, fac)
                rejected = True
    # final output (end of the last segment, left limit)
    while k_out < m:
        last_s = nseg - 1
        _record(rhs, cur, ck, nx, y, p, seg, last_s, tout[k_out] - seg[last_s, _T0], circ, lo, hi, k_out, X, OUT, scr_y, scr_dy, ob)
        k_out += 1
    if X.shape[0] == 1:
        for j in range(n):
            X[0, j] = y[j]
    return OK


# ---------------------------------------------------------------------------
# SDIRK4
# ---------------------------------------------------------------------------
@kernel
def _lu_factor(M, piv):
    """In-place LU with partial pivoting; returns False if singular."""
    n = M.shape[0]
    for k in range(n):
        r = k
        big = abs(M[k, k])
        for i in range(k + 1, n):
            if abs(M[i, k]) > big:
                big = abs(M[i, k])
                r = i
        if big == 0.0:
            return False
        piv[k] = r
        if r != k:
            for j in range(n):
                tmp = M[k, j]
                M[k, j] = M[r, j]
                M[r, j] = tmp
        for i in range(k + 1, n):
            M[i, k] /= M[k, k]
            for j in range(k + 1, n):
                M[i, j] -= M[i, k] * M[k, j]
    return True


@kernel
def _lu_solve(M, piv, b):
    """Solve in place using the factors from :func:`_lu_factor`."""
    n = M.shape[0]
    for k in range(n):
        r = piv[k]
        if r != k:
            tmp = b[k]
            b[k] = b[r]
            b[r] = tmp
    for i in range(n):
        for j in range(i):
            b[i] -= M[i, j] * b[j]
    for i in range(n - 1, -1, -1):
        for j in range(i + 1, n):
            b[i] -= M[i, j] * b[j]
        b[i] /= M[i, i]


@kernel
def _sdirk_step(rhs, cur, ck, nx, t, h, y, p, seg, s, circ, rtol, atol, lo, hi, K, Y, base, F, M, piv, ynew, err, stats,
                ob, fj, yj, fs, dY, h_kink):
    """One SDIRK4 step; returns the error norm (inf when Newton failed).  ``fj, yj, fs, dY``: scratch.

    A step longer than ``h_kink`` in which the circuit changes regime (the source enters or
    leaves compliance: the right-hand side has a kink there) is rejected (error norm 16): the
    embedded estimate misses a kink inside the step -- directly driven into compliance, the
    state came out 5.9e-6 of its range off at rtol 1e-10 -- so the step is cut until the kink
    sits in a step of at most ``h_kink``.
    """
    n = y.shape[0]
    # finite-difference Jacobian at (t, y)
    f0 = F
    if not system_rhs(rhs, cur, ck, nx, t, y, p, seg, s, circ, f0, ob, lo, hi):
        return math.inf
    stats[ST_FEV] += 1
    comp0 = ob[O_COMP]
    for j in range(n):
        yj[j] = y[j]
    for c in range(n):
        scale = max(abs(y[c]), 1e-3 * (atol[c] / max(rtol, 1e-14)))
        if scale == 0.0:
            scale = 1e-8
        d = 1.4901161193847656e-08 * scale
        # step inward when at the upper bound, so the column is evaluated inside the domain
        if y[c] + d > hi[c]:
            d = -d
        yj[c] = y[c] + d
        if not system_rhs(rhs, cur, ck, nx, t, yj, p, seg, s, circ, fj, ob, lo, hi):
            return math.inf
        stats[ST_FEV] += 1
        for r in range(n):
            M[r, c] = -h * SD_GAMMA * (fj[r] - f0[r]) / d
        M[c, c] += 1.0
        yj[c] = y[c]
    if not _lu_factor(M, piv):
        return math.inf
    for st in range(5):
        for j in range(n):
            acc = y[j]
            for q in range(st):
                acc += h * SD_A[st, q] * K[q, j]
            base[j] = acc
            # predictor: previous stage's slope
            Y[j] = acc + (h * SD_GAMMA * K[st - 1, j] if st > 0 else h * SD_GAMMA * f0[j])
        ts = t + SD_C[st] * h
        conv = False
        prev = math.inf
        for it in range(12):
            if not system_rhs(rhs, cur, ck, nx, ts, Y, p, seg, s, circ, fs, ob, lo, hi):
                return math.inf
            stats[ST_FEV] += 1
            for j in range(n):
                dY[j] = -(Y[j] - base[j] - h * SD_GAMMA * fs[j])
            _lu_solve(M, piv, dY)
            nrm = 0.0
            for j in range(n):
                Y[j] += dY[j]
                sc = atol[j] + rtol * abs(Y[j])
                nrm += (dY[j] / sc) ** 2
            nrm = math.sqrt(nrm / n)
            if not math.isfinite(nrm):
                return math.inf
            if nrm <= 1e-3 or (it > 0 and nrm * nrm / prev <= 1e-3 and nrm < 1.0):
                conv = True
                break
            if it > 1 and nrm > 0.9 * prev:
                break  # diverging or stalling
            prev = nrm
        if not conv or _outside(Y, lo, hi):
            return math.inf
        for j in range(n):
            K[st, j] = (Y[j] - base[j]) / (h * SD_GAMMA)
    if ob[O_COMP] != comp0 and h > h_kink:  # ob: the last stage, at t + h
        return 16.0
    for j in range(n):
        ynew[j] = Y[j]
        e = 0.0
        for q in range(5):
            e += (SD_B[q] - SD_BHAT[q]) * K[q, j]
        err[j] = h * e
    _lu_solve(M, piv, err)  # filter the estimate for stiff components
    return _err_norm(err, y, ynew, rtol, atol)


@njit(cache=True)
def _sdirk4(rhs, cur, ck, nx, seg, tout, x0, p, lo, hi, circ, rtol, atol, max_steps, X, OUT, stats):
    """CPU entry: allocate the scratch arrays and run :func:`sdirk4_core`."""
    n = x0.shape[0]
    return sdirk4_core(rhs, cur, ck, nx, seg, tout, x0, p, lo, hi, circ, rtol, atol, max_steps, X, OUT, stats,
                       np.empty(n), np.empty(n), np.empty(n), np.empty(OUT.shape[1]), np.empty((5, n)), np.empty(n),
                       np.empty(n), np.empty(n), np.empty((n, n)), np.empty(n, dtype=np.int64), np.empty(n),
                       np.empty(n), np.empty(n), np.empty(n), np.empty(n), np.empty(n))


@kernel
def sdirk4_core(rhs, cur, ck, nx, seg, tout, x0, p, lo, hi, circ, rtol, atol, max_steps, X, OUT, stats,
                y, scr_y, scr_dy, ob, K, Y, base, F, M, piv, ynew, err, fj, yj, fs, dY):
    """SDIRK4 over the whole stimulus; returns a status code.

    Allocates nothing (see :func:`dopri5_core`): scratch ``y, scr_y, scr_dy,
    Y, base, F, ynew, err, fj, yj, fs, dY`` (each ``ny``), ``ob``
    (``N_OUT``), ``K`` (5, ``ny``), ``M`` (``ny``, ``ny``) and the integer
    pivots ``piv`` (``ny``).
    """
    n = x0.shape[0]
    nseg = seg.shape[0]
    m = tout.shape[0]
    for j in range(n):
        y[j] = x0[j]
    _clip(y, lo, hi)
    k_out = 0
    h = 0.0
    for s in range(nseg):
        ta = seg[s, _T0]  # local time within the segment, as in _dopri5
        span = seg[s, _T1] - ta
        tb = span
        t = 0.0
        while k_out < m and tout[k_out] <= ta:
            _record(rhs, cur, ck, nx, y, p, seg, s, 0.0, circ, lo, hi, k_out, X, OUT, scr_y, scr_dy, ob)
            k_out += 1
        if h <= 0.0:
            if not system_rhs(rhs, cur, ck, nx, t, y, p, seg, s, circ, F, ob, lo, hi):
                return NO_OPERATING_POINT
            stats[ST_FEV] += 1
            h = _initial_step(rhs, cur, ck, nx, t, y, p, seg, s, circ, rtol, atol, F, ynew, err, span, stats, ob,
                              lo, hi)
        hmax = _max_step(seg, s, span)
        h = min(h, hmax)
        h_kink = 1e-2 * math.sqrt(rtol) * span  # longest step accepted across a compliance kink
        rejected = False
        while t < tb:
            # next stop: the next output time inside the segment, or its end
            t_stop = tb
            if k_out < m and tout[k_out] - ta < tb:
                t_stop = tout[k_out] - ta
            while t < t_stop:
                if stats[ST_STEPS] + stats[ST_REJECTED] >= max_steps:
                    return MAX_STEPS
                last = False
                if t + h >= t_stop or (t_stop - (t + h)) < 1e-12 * span:
                    h_try = t_stop - t
                    last = True
                else:
                    h_try = h
                if h_try <= 1e-14 * span:
                    return STEP_UNDERFLOW
                en = _sdirk_step(rhs, cur, ck, nx, t, h_try, y, p, seg, s, circ, rtol, atol, lo, hi, K, Y, base, F,
                                 M, piv, ynew, err, stats, ob, fj, yj, fs, dY, h_kink)
                if en <= 1.0:
                    t = t_stop if last else t + h_try
                    for j in range(n):
                        base[j] = y[j]
                        y[j] = ynew[j]
                    if not _finite(y):
                        return NOT_FINITE
                    _clip(y, lo, hi)
                    _snap_to_bounds(base, y, lo, hi, nx, rtol)
                    stats[ST_STEPS] += 1
                    fac = 0.9 * en ** -0.25 if en > 0.0 else 5.0
                    fac = min(5.0, max(0.2, fac))
                    if rejected:
                        fac = min(1.0, fac)
                    h_next = h_try * fac
                    h = min(max(h, h_next) if last else h_next, hmax)
                    rejected = False
                else:
                    stats[ST_REJECTED] += 1
                    if math.isfinite(en):
                        h = h_try * max(0.1, 0.9 * en ** -0.25)
                    else:
                        h = h_try * 0.25
                    rejected = True
            if t_stop < tb:
                _record(rhs, cur, ck, nx, y, p, seg, s, t_stop, circ, lo, hi, k_out, X, OUT, scr_y, scr_dy, ob)
                k_out += 1
    while k_out < m:
        last_s = nseg - 1
        _record(rhs, cur, ck, nx, y, p, seg, last_s, tout[k_out] - seg[last_s, _T0], circ, lo, hi, k_out, X, OUT, scr_y, scr_dy, ob)
        k_out += 1
    if X.shape[0] == 1:
        for j in range(n):
            X[0, j] = y[j]
    return OK


# ---------------------------------------------------------------------------
# entry points (compiled with explicit signatures in memfit.simulate._compile)
# ---------------------------------------------------------------------------
def run_single(rhs, cur, method, ck, nx, seg, tout, uout, y0, p, lo, hi, circ, rtol, atol, max_steps, X, OUT, stats):
    """Integrate one device (+ circuit); returns a status code (``OK`` = 0).

    ``uout``: the source value at each output time (the stimulus evaluated once, reused by every
    run: a sine costs a libm call per output otherwise); ``X``: (M or 1, ny) states; ``OUT``: (M or
    1, 5) observables (see :mod:`memfit.simulate._kernels.circuit`); ``stats``: steps, rejected, RHS
    evaluations."""
    if method == SDIRK4:
        return _sdirk4(rhs, cur, ck, nx, seg, tout, y0, p, lo, hi, circ, rtol, atol, max_steps, X, OUT, stats)
    return _dopri5(rhs, cur, ck, nx, seg, tout, uout, y0, p, lo, hi, circ, rtol, atol, max_steps, X, OUT, stats)


def run_batch(rhs, cur, method, ck, nx, SEG, SEG_START, SEG_GROUP, tout, uout, Y0, P, LO, HI, circ, rtol, ATOL,
              max_steps, X, OUT, STATUS, STATS):
    """Integrate N devices (rows of Y0, P, LO, HI, ATOL) in parallel over cores.

    Device ``d`` runs on the segment table ``SEG[SEG_START[g]:SEG_START[g + 1]]``, ``g = SEG_GROUP[d]``
    (one table per group of devices with the same switching thresholds: see
    :func:`memfit.simulate.core._batch_segments`)."""
    N = Y0.shape[0]
    for d in prange(N):
        g = SEG_GROUP[d]
        seg = SEG[SEG_START[g]:SEG_START[g + 1]]
        if method == SDIRK4:
            STATUS[d] = _sdirk4(rhs, cur, ck, nx, seg, tout, Y0[d], P[d], LO[d], HI[d], circ, rtol, ATOL[d],
                                max_steps, X[d], OUT[d], STATS[d])
        else:
            STATUS[d] = _dopri5(rhs, cur, ck, nx, seg, tout, uout, Y0[d], P[d], LO[d], HI[d], circ, rtol, ATOL[d],
                                max_steps, X[d], OUT[d], STATS[d])
