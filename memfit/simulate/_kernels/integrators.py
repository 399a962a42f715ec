"""Jitted integrators and the test circuit: the time loop of every simulation.

Everything here works on flat float64 arrays in SI units.  The device model
enters as two first-class functions (``rhs`` and ``current``, see
:mod:`memfit.models.base`); the functions below are compiled once for every
model (their argument types are signatures, not particular functions), which
is what lets numba cache them on disk.

Test circuit (``circ`` = ``[R_s, I_comp, V_comp]``)
---------------------------------------------------
Source -> series resistance ``R_s`` -> device.  In a voltage-driven segment the
device voltage solves ``v_dev + R_s i(x, v_dev) = V_src`` (safeguarded Newton,
bracketed by ``[0, V_src]`` for a passive device); when ``|i|`` would exceed
the current compliance ``I_comp`` the source folds back: the device current
is clamped to ``+-I_comp`` and the device voltage solves ``i(x, v_dev) = +-I_comp``
(the SMU's terminal voltage drops to ``v_dev + R_s I_comp``).  In a
current-driven segment the device voltage solves ``i(x, v_dev) = I_src`` within
``+-V_comp``; beyond it the source clamps the voltage.  The operating point is
solved at every right-hand-side evaluation, never lagged.

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
"""

import math

import numpy as np
from numba import njit, prange

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
# source and circuit
# ---------------------------------------------------------------------------
@njit(cache=True)
def source_value(seg, s, t):
    """Source value of segment ``s`` at time ``t`` [V or A]."""
    t0 = seg[s, _T0]
    if seg[s, _KIND] == 1.0:
        return seg[s, _A] + seg[s, _B] * math.sin(2.0 * math.pi * seg[s, _C] * (t - t0) + seg[s, _D])
    return seg[s, _A] + (seg[s, _B] - seg[s, _A]) * (t - t0) / (seg[s, _T1] - t0)


@njit(cache=True)
def _g(cur, x, p, a, b, target, v):
    return a * v + b * cur(x, v, p) - target


@njit(cache=True)
def solve_port(cur, x, p, a, b, target, v_lo, v_hi):
    """Root of ``a v + b i(x, v) - target`` between ``v_lo`` and ``v_hi``.

    Safeguarded Newton (finite-difference slope, bisection whenever Newton
    leaves the bracket).  The bracket is widened (up to 2**20 times) if it
    does not change sign.  Returns NaN if no root was bracketed.
    """
    lo = v_lo
    hi = v_hi
    glo = _g(cur, x, p, a, b, target, lo)
    ghi = _g(cur, x, p, a, b, target, hi)
    if glo == 0.0:
        return lo
    if ghi == 0.0:
        return hi
    width = hi - lo
    grow = 0
    while glo * ghi > 0.0:
        grow += 1
        if grow > 20 or width == 0.0:
            return math.nan
        width *= 2.0
        lo = v_lo - width
        hi = v_hi + width
        glo = _g(cur, x, p, a, b, target, lo)
        ghi = _g(cur, x, p, a, b, target, hi)
    if glo > 0.0:  # orient so that g(lo) < 0 < g(hi)
        tmp = lo
        lo = hi
        hi = tmp
    v = 0.5 * (lo + hi)
    dx_old = abs(hi - lo)
    dx = dx_old
    for _ in range(300):
        gv = _g(cur, x, p, a, b, target, v)
        if gv == 0.0:
            return v
        if gv < 0.0:
            lo = v
        else:
            hi = v
        dv = 1e-7 * (abs(v) + 1e-9 * abs(hi - lo) + 1e-30)
        slope = (_g(cur, x, p, a, b, target, v + dv) - gv) / dv
        # Newton, unless it leaves the bracket or does not halve the step (rtsafe rule):
        # exponential ports converge slowly from far away otherwise
        use_newton = slope != 0.0 and abs(2.0 * gv) <= abs(dx_old * slope)
        if use_newton:
            vn = v - gv / slope
            use_newton = (vn - lo) * (vn - hi) < 0.0
        if not use_newton:
            vn = 0.5 * (lo + hi)
        dx_old = dx
        dx = abs(vn - v)
        if dx <= 2e-16 * abs(vn) or abs(hi - lo) <= 2e-16 * max(abs(lo), abs(hi)):
            return vn
        v = vn
    return v


@njit(cache=True)
def operating_point(cur, x, p, seg, s, t, circ):
    """Device voltage, current, terminal voltage and compliance flag at time ``t``.

    Returns ``(v_dev [V], i [A], v_terminal [V], in_compliance (0.0 / 1.0))``.
    v_dev is NaN if no operating point exists.
    """
    rs = circ[0]
    icomp = circ[1]
    vcomp = circ[2]
    src = source_value(seg, s, t)
    comp = 0.0
    if seg[s, _MODE] == 0.0:  # voltage source
        if rs == 0.0 or src == 0.0:
            vd = src
        else:
            vd = solve_port(cur, x, p, 1.0, rs, src, 0.0, src)
        i = cur(x, vd, p)
        if abs(i) > icomp:
            target = icomp if i > 0.0 else -icomp
            vd = solve_port(cur, x, p, 0.0, 1.0, target, 0.0, vd)
            i = target
            comp = 1.0
    else:  # current source, voltage compliance vcomp
        i0 = cur(x, vcomp, p)
        i1 = cur(x, -vcomp, p)
        if src >= max(i0, i1):
            vd = vcomp if i0 >= i1 else -vcomp
            comp = 1.0
        elif src <= min(i0, i1):
            vd = -vcomp if i0 >= i1 else vcomp
            comp = 1.0
        else:
            vd = solve_port(cur, x, p, 0.0, 1.0, src, -vcomp, vcomp)
        i = cur(x, vd, p) if comp == 1.0 else src
    return vd, i, vd + rs * i, comp


@njit(cache=True)
def system_rhs(rhs, cur, t, y, p, seg, s, circ, dy):
    """dy/dt of the circuit + device at time t; returns False if no operating point."""
    vd, i, vt, comp = operating_point(cur, y, p, seg, s, t, circ)
    if not math.isfinite(vd):
        return False
    rhs(y, vd, t, p, dy)
    return True


@njit(cache=True)
def _record(cur, y, p, seg, s, t, circ, lo, hi, k, X, VD, I, VT, CMP):
    n = y.shape[0]
    ky = k if X.shape[0] > 1 else 0
    for j in range(n):
        v = y[j]
        if v < lo[j]:
            v = lo[j]
        elif v > hi[j]:
            v = hi[j]
        X[ky, j] = v
    vd, i, vt, comp = operating_point(cur, X[ky], p, seg, s, t, circ)
    if VD.shape[0] > 1:
        VD[k] = vd
        VT[k] = vt
        CMP[k] = comp
    else:
        VD[0] = vd
        VT[0] = vt
        CMP[0] = comp
    if I.shape[0] > 1:
        I[k] = i
    else:
        I[0] = i


@njit(cache=True)
def _err_norm(e, y0, y1, rtol, atol):
    acc = 0.0
    n = e.shape[0]
    for j in range(n):
        sc = atol[j] + rtol * max(abs(y0[j]), abs(y1[j]))
        r = e[j] / sc
        acc += r * r
    return math.sqrt(acc / n)


@njit(cache=True)
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


@njit(cache=True)
def _finite(y):
    for j in range(y.shape[0]):
        if not math.isfinite(y[j]):
            return False
    return True


@njit(cache=True)
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


@njit(cache=True)
def _max_step(seg, s, span):
    """Largest step in segment s: the segment, or 1/20 of a sine period (so a
    threshold crossed only near a crest is not stepped over)."""
    if seg[s, _KIND] == 1.0 and seg[s, _C] > 0.0:
        return min(span, 0.05 / seg[s, _C])
    return span


@njit(cache=True)
def _initial_step(rhs, cur, t, y, p, seg, s, circ, rtol, atol, f0, tmp, span, stats):
    """Hairer's starting-step heuristic, limited to the segment span."""
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
    f1 = np.empty(n)
    if not system_rhs(rhs, cur, t + h0, tmp, p, seg, s, circ, f1):
        return min(h0, 1e-3 * span)
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
    return min(100.0 * h0, h1, span)


# ---------------------------------------------------------------------------
# Dormand-Prince 5(4)
# ---------------------------------------------------------------------------
@njit(cache=True)
def _dopri5(rhs, cur, seg, tout, x0, p, lo, hi, circ, rtol, atol, max_steps, X, VD, I, VT, CMP, stats):
    n = x0.shape[0]
    nseg = seg.shape[0]
    m = tout.shape[0]
    y = x0.copy()
    _clip(y, lo, hi)
    ynew = np.empty(n)
    tmp = np.empty(n)
    err = np.empty(n)
    K = np.empty((7, n))
    yd = np.empty(n)
    k_out = 0
    h = 0.0
    for s in range(nseg):
        ta = seg[s, _T0]
        tb = seg[s, _T1]
        t = ta
        # outputs at the start of this segment (right-continuous source)
        while k_out < m and tout[k_out] <= ta:
            _record(cur, y, p, seg, s, tout[k_out], circ, lo, hi, k_out, X, VD, I, VT, CMP)
            k_out += 1
        if not system_rhs(rhs, cur, t, y, p, seg, s, circ, K[0]):
            return NO_OPERATING_POINT
        stats[ST_FEV] += 1
        span = tb - ta
        hmax = _max_step(seg, s, span)
        if h <= 0.0:
            h = _initial_step(rhs, cur, t, y, p, seg, s, circ, rtol, atol, K[0], tmp, span, stats)
        h = min(h, hmax)
        rejected = False
        while t < tb:
            if stats[ST_STEPS] + stats[ST_REJECTED] >= max_steps:
                return MAX_STEPS
            last = False
            hp = h  # proposed step; h is the step taken
            if t + h >= tb or (tb - (t + h)) < 1e-12 * span:
                h = tb - t
                last = True
            if h <= 1e-14 * max(abs(t), span):
                return STEP_UNDERFLOW
            ok = True
            for st in range(1, 7):
                for j in range(n):
                    acc = y[j]
                    for q in range(st):
                        acc += h * DP_A[st, q] * K[q, j]
                    tmp[j] = acc
                if _outside(tmp, lo, hi) or not system_rhs(rhs, cur, t + DP_C[st] * h, tmp, p, seg, s, circ, K[st]):
                    ok = False
                    break
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
            else:
                en = 1e10
            if en <= 1.0:
                tnew = tb if last else t + h
                # dense output for output times inside (t, tnew)
                while k_out < m and tout[k_out] < tnew and tout[k_out] > t:
                    th = (tout[k_out] - t) / h
                    for j in range(n):
                        acc = 0.0
                        for q in range(7):
                            w = th * (DP_P[q, 0] + th * (DP_P[q, 1] + th * (DP_P[q, 2] + th * DP_P[q, 3])))
                            acc += K[q, j] * w
                        yd[j] = y[j] + h * acc
                    _record(cur, yd, p, seg, s, tout[k_out], circ, lo, hi, k_out, X, VD, I, VT, CMP)
                    k_out += 1
                t = tnew
                for j in range(n):
                    y[j] = ynew[j]
                    K[0, j] = K[6, j]
                if not _finite(y):
                    return NOT_FINITE
                if _clip(y, lo, hi):
                    if not system_rhs(rhs, cur, t, y, p, seg, s, circ, K[0]):
                        return NO_OPERATING_POINT
                    stats[ST_FEV] += 1
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
        _record(cur, y, p, seg, nseg - 1, tout[k_out], circ, lo, hi, k_out, X, VD, I, VT, CMP)
        k_out += 1
    if X.shape[0] == 1:
        for j in range(n):
            X[0, j] = y[j]
    return OK


# ---------------------------------------------------------------------------
# SDIRK4
# ---------------------------------------------------------------------------
@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
def _sdirk_step(rhs, cur, t, h, y, p, seg, s, circ, rtol, atol, lo, hi, K, Y, base, F, M, piv, ynew, err, stats):
    """One SDIRK4 step; returns the error norm (inf when Newton failed)."""
    n = y.shape[0]
    # finite-difference Jacobian at (t, y)
    f0 = F
    if not system_rhs(rhs, cur, t, y, p, seg, s, circ, f0):
        return math.inf
    stats[ST_FEV] += 1
    fj = np.empty(n)
    yj = y.copy()
    for c in range(n):
        scale = max(abs(y[c]), 1e-3 * (atol[c] / max(rtol, 1e-14)))
        if scale == 0.0:
            scale = 1e-8
        d = 1.4901161193847656e-08 * scale
        # step inward when at the upper bound, so the column is evaluated inside the domain
        if y[c] + d > hi[c]:
            d = -d
        yj[c] = y[c] + d
        if not system_rhs(rhs, cur, t, yj, p, seg, s, circ, fj):
            return math.inf
        stats[ST_FEV] += 1
        for r in range(n):
            M[r, c] = -h * SD_GAMMA * (fj[r] - f0[r]) / d
        M[c, c] += 1.0
        yj[c] = y[c]
    if not _lu_factor(M, piv):
        return math.inf
    fs = np.empty(n)
    dY = np.empty(n)
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
            if not system_rhs(rhs, cur, ts, Y, p, seg, s, circ, fs):
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
    for j in range(n):
        ynew[j] = Y[j]
        e = 0.0
        for q in range(5):
            e += (SD_B[q] - SD_BHAT[q]) * K[q, j]
        err[j] = h * e
    _lu_solve(M, piv, err)  # filter the estimate for stiff components
    return _err_norm(err, y, ynew, rtol, atol)


@njit(cache=True)
def _sdirk4(rhs, cur, seg, tout, x0, p, lo, hi, circ, rtol, atol, max_steps, X, VD, I, VT, CMP, stats):
    n = x0.shape[0]
    nseg = seg.shape[0]
    m = tout.shape[0]
    y = x0.copy()
    _clip(y, lo, hi)
    K = np.empty((5, n))
    Y = np.empty(n)
    base = np.empty(n)
    F = np.empty(n)
    M = np.empty((n, n))
    piv = np.empty(n, dtype=np.int64)
    ynew = np.empty(n)
    err = np.empty(n)
    k_out = 0
    h = 0.0
    for s in range(nseg):
        ta = seg[s, _T0]
        tb = seg[s, _T1]
        t = ta
        while k_out < m and tout[k_out] <= ta:
            _record(cur, y, p, seg, s, tout[k_out], circ, lo, hi, k_out, X, VD, I, VT, CMP)
            k_out += 1
        span = tb - ta
        if h <= 0.0:
            if not system_rhs(rhs, cur, t, y, p, seg, s, circ, F):
                return NO_OPERATING_POINT
            stats[ST_FEV] += 1
            h = _initial_step(rhs, cur, t, y, p, seg, s, circ, rtol, atol, F, ynew, span, stats)
        hmax = _max_step(seg, s, span)
        h = min(h, hmax)
        rejected = False
        while t < tb:
            # next stop: the next output time inside the segment, or its end
            t_stop = tb
            if k_out < m and tout[k_out] < tb:
                t_stop = tout[k_out]
            while t < t_stop:
                if stats[ST_STEPS] + stats[ST_REJECTED] >= max_steps:
                    return MAX_STEPS
                last = False
                if t + h >= t_stop or (t_stop - (t + h)) < 1e-12 * span:
                    h_try = t_stop - t
                    last = True
                else:
                    h_try = h
                if h_try <= 1e-14 * max(abs(t), span):
                    return STEP_UNDERFLOW
                en = _sdirk_step(rhs, cur, t, h_try, y, p, seg, s, circ, rtol, atol, lo, hi, K, Y, base, F, M,
                                 piv, ynew, err, stats)
                if en <= 1.0:
                    t = t_stop if last else t + h_try
                    for j in range(n):
                        y[j] = ynew[j]
                    if not _finite(y):
                        return NOT_FINITE
                    _clip(y, lo, hi)
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
                _record(cur, y, p, seg, s, tout[k_out], circ, lo, hi, k_out, X, VD, I, VT, CMP)
                k_out += 1
    while k_out < m:
        _record(cur, y, p, seg, nseg - 1, tout[k_out], circ, lo, hi, k_out, X, VD, I, VT, CMP)
        k_out += 1
    if X.shape[0] == 1:
        for j in range(n):
            X[0, j] = y[j]
    return OK


# ---------------------------------------------------------------------------
# entry points (compiled with explicit signatures in memfit.simulate._compile)
# ---------------------------------------------------------------------------
def run_single(rhs, cur, method, seg, tout, x0, p, lo, hi, circ, rtol, atol, max_steps, X, VD, I, VT, CMP, stats):
    """Integrate one device; returns a status code (``OK`` = 0)."""
    if method == SDIRK4:
        return _sdirk4(rhs, cur, seg, tout, x0, p, lo, hi, circ, rtol, atol, max_steps, X, VD, I, VT, CMP, stats)
    return _dopri5(rhs, cur, seg, tout, x0, p, lo, hi, circ, rtol, atol, max_steps, X, VD, I, VT, CMP, stats)


def run_batch(rhs, cur, method, seg, tout, X0, P, LO, HI, circ, rtol, ATOL, max_steps, X, VD, I, VT, CMP, STATUS,
              STATS):
    """Integrate N devices (rows of X0, P, LO, HI, ATOL) in parallel over cores."""
    N = X0.shape[0]
    for d in prange(N):
        if method == SDIRK4:
            STATUS[d] = _sdirk4(rhs, cur, seg, tout, X0[d], P[d], LO[d], HI[d], circ, rtol, ATOL[d], max_steps,
                                X[d], VD[d], I[d], VT[d], CMP[d], STATS[d])
        else:
            STATUS[d] = _dopri5(rhs, cur, seg, tout, X0[d], P[d], LO[d], HI[d], circ, rtol, ATOL[d], max_steps,
                                X[d], VD[d], I[d], VT[d], CMP[d], STATS[d])
