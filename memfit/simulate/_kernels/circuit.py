"""The test circuits, as jitted kernels: source, series resistance, compliance, parallel capacitor.

The integrators integrate ``y = [x, z]``: the device state ``x`` (``nx``
values) followed by the circuit's own state ``z`` (none or one value).
:func:`circuit_eval` gives ``dy/dt`` and the observables for every circuit
kind.  ``circ = [R_s, I_comp, V_comp, C_p]``.

Circuit kinds
-------------
``SERIES`` (conductive device, ``i = f(x, v)``)
    Source -> ``R_s`` -> device.  Voltage drive: ``v_dev + R_s i(x, v_dev) =
    V_src`` (safeguarded Newton, bracketed by ``[0, V_src]``); when ``|i|``
    would exceed ``I_comp`` the source folds back to ``+-I_comp`` and
    ``i(x, v_dev) = +-I_comp`` is solved instead.  Current drive: ``i(x,
    v_dev) = I_src`` within ``+-V_comp`` (clamped beyond).  No circuit state.
``PARALLEL_C`` (conductive device with a capacitor ``C_p`` across it)
    DC/any voltage source -> ``R_s`` -> node ``v_c``; device and ``C_p`` from
    the node to ground (the Pearson-Anson relaxation oscillator).  State
    ``z = v_c``: ``C_p dv_c/dt = (V_src - v_c)/R_s - i(x, v_c)``; source
    current clamped at ``I_comp``.
``CHARGE`` (capacitive device, the kernel ``current`` returns ``q = Q(x, v)``)
    State ``z = q``.  Voltage drive with ``R_s > 0``: ``Q(x, v_dev) = q``
    solved for ``v_dev``, ``dq/dt = (V_src - v_dev)/R_s``.  With ``R_s = 0``:
    ``v_dev = V_src`` and ``dq/dt`` follows from the chain rule
    ``Q_x dx/dt + Q_v dV/dt`` (never from differencing q).  Current drive:
    ``dq/dt = I_src``.
``FLUX`` (inductive device, ``current`` returns ``phi = Phi(x, i)``; the
    device kernels take the *current* as their drive argument)
    State ``z = phi``.  Current drive: ``i = I_src``, ``dphi/dt`` by the chain
    rule (this is the device voltage).  Voltage drive: ``Phi(x, i) = phi``
    solved for ``i``, ``dphi/dt = V_src - R_s i``.

Observables written to ``out``: ``[v_dev, i_terminal, v_terminal,
in_compliance, port]`` where ``port`` is the device current (SERIES,
PARALLEL_C), its charge (CHARGE) or its flux (FLUX).
"""

import math

from memfit._jit import kernel

# segment table columns (see memfit.simulate.stimulus)
_T0, _T1, _KIND, _A, _B, _C, _D, _MODE = 0, 1, 2, 3, 4, 5, 6, 7

SERIES = 0
PARALLEL_C = 1
CHARGE = 2
FLUX = 3

O_VDEV, O_I, O_VTERM, O_COMP, O_PORT = 0, 1, 2, 3, 4
N_OUT = 5


@kernel(inline="always")
def source_value(seg, s, tau):
    """Source value of segment ``s`` at local time ``tau`` (seconds since the segment started) [V or A]."""
    if seg[s, _KIND] == 1.0:
        return seg[s, _A] + seg[s, _B] * math.sin(2.0 * math.pi * seg[s, _C] * tau + seg[s, _D])
    return seg[s, _A] + (seg[s, _B] - seg[s, _A]) * tau / (seg[s, _T1] - seg[s, _T0])


@kernel
def source_slope(seg, s, tau):
    """Time derivative of the source in segment ``s`` at local time ``tau`` [V/s or A/s]."""
    if seg[s, _KIND] == 1.0:
        w = 2.0 * math.pi * seg[s, _C]
        return seg[s, _B] * w * math.cos(w * tau + seg[s, _D])
    return (seg[s, _B] - seg[s, _A]) / (seg[s, _T1] - seg[s, _T0])


@kernel
def _g(cur, x, p, a, b, target, v):
    return a * v + b * cur(x, v, p) - target


@kernel
def solve_port(cur, x, p, a, b, target, v_lo, v_hi):
    """Root of ``a u + b cur(x, u) - target`` between ``v_lo`` and ``v_hi``.

    Safeguarded Newton (finite-difference slope) that bisects whenever Newton
    would leave the bracket or fails to halve the step (the rtsafe rule:
    exponential ports otherwise creep from far away).  The bracket is widened
    (up to 2**20 times) if it does not change sign.  Returns NaN if no root
    was bracketed.
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
        tmp = glo
        glo = ghi
        ghi = tmp
    # start from the secant through the bracket ends: exact for a linear device, close for mild ones
    v = lo - glo * (hi - lo) / (ghi - glo)
    if not ((v - lo) * (v - hi) < 0.0):
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


@kernel(inline="always")
def _series_point(cur, x, p, src, mode, rs, icomp, vcomp):
    """(v_dev, i, comp) of a conductive device behind R_s.

    The common case -- a voltage source straight on the device, inside
    compliance -- is inlined into the integrators; the port solves are not
    (inlining them cost 40 s of compilation for no measurable gain).
    """
    if mode == 0.0 and (rs == 0.0 or src == 0.0):
        i = cur(x, src, p)
        if abs(i) <= icomp:
            return src, i, 0.0
    return _series_point_solved(cur, x, p, src, mode, rs, icomp, vcomp)


@kernel
def _series_point_solved(cur, x, p, src, mode, rs, icomp, vcomp):
    """:func:`_series_point` where the port equation must be solved (series resistance, compliance,
    current source)."""
    comp = 0.0
    if mode == 0.0:  # voltage source
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
        return vd, i, comp
    # current source with voltage compliance
    i0 = cur(x, vcomp, p)
    i1 = cur(x, -vcomp, p)
    if src >= max(i0, i1):
        vd = vcomp if i0 >= i1 else -vcomp
        return vd, cur(x, vd, p), 1.0
    if src <= min(i0, i1):
        vd = -vcomp if i0 >= i1 else vcomp
        return vd, cur(x, vd, p), 1.0
    vd = solve_port(cur, x, p, 0.0, 1.0, src, -vcomp, vcomp)
    return vd, src, 0.0


#: smallest finite-difference step: a subnormal drive or state (e.g. 5e-324 V) must not give h = 0
_MIN_FD_STEP = 1e-290


@kernel
def _partial_x(cur, x, u, p, k, scale):
    """d cur / d x_k by a central difference (step 6e-6 of the state's magnitude or scale)."""
    xk = x[k]
    h = max(6e-6 * max(abs(xk), scale), _MIN_FD_STEP)
    x[k] = xk + h
    q1 = cur(x, u, p)
    x[k] = xk - h
    q0 = cur(x, u, p)
    x[k] = xk
    return (q1 - q0) / (2.0 * h)


@kernel
def _partial_u(cur, x, u, p, scale):
    """d cur / d u by a central difference (step 6e-6 of the drive's magnitude or scale)."""
    h = max(6e-6 * max(abs(u), scale), _MIN_FD_STEP)
    return (cur(x, u + h, p) - cur(x, u - h, p)) / (2.0 * h)


@kernel
def _drive_scale(seg, s):
    """Magnitude of the source in segment s (the finite-difference scale of the port's drive)."""
    if seg[s, _KIND] == 1.0:
        m = abs(seg[s, _A]) + abs(seg[s, _B])
    else:
        m = max(abs(seg[s, _A]), abs(seg[s, _B]))
    return m if m > 0.0 else 1e-12


@kernel
def _chain_rule(cur, x, u, p, dx, nx, seg, s, tau, lo, hi):
    """d/dt of the port quantity cur(x, u(t)): Q_u du/dt + sum_k Q_xk dx_k/dt (analytic source slope)."""
    d = _partial_u(cur, x, u, p, _drive_scale(seg, s)) * source_slope(seg, s, tau)
    for k in range(nx):
        rng = hi[k] - lo[k]
        scale = 1e-3 * rng if math.isfinite(rng) and rng > 0.0 else 1e-3 * max(abs(x[k]), 1e-300)
        d += _partial_x(cur, x, u, p, k, scale) * dx[k]
    return d


@kernel(inline="always")
def circuit_eval(rhs, cur, ckind, nx, tau, y, p, seg, s, circ, dy, out, lo, hi):
    """dy/dt of device + circuit at local time ``tau`` of segment ``s``, and the observables.

    Returns False if no operating point exists.  The device kernels receive
    the absolute time (segment start + tau).  One small function per circuit
    kind: a single function holding every kind compiled to code three times
    slower on the common series path.
    """
    if ckind == SERIES:
        return _eval_series(rhs, cur, nx, tau, y, p, seg, s, circ, dy, out)
    if ckind == PARALLEL_C:
        return _eval_parallel_c(rhs, cur, nx, tau, y, p, seg, s, circ, dy, out)
    if ckind == CHARGE:
        return _eval_charge(rhs, cur, nx, tau, y, p, seg, s, circ, dy, out, lo, hi)
    return _eval_flux(rhs, cur, nx, tau, y, p, seg, s, circ, dy, out, lo, hi)


@kernel(inline="always")
def circuit_observe(rhs, cur, ckind, nx, tau, y, p, seg, s, circ, dy, out, lo, hi):
    """The observables only (what an output sample records); skips the state derivative where it
    is not needed for them (the series circuit)."""
    if ckind == SERIES:
        rs = circ[0]
        vd, i, comp = _series_point(cur, y[:nx], p, source_value(seg, s, tau), seg[s, _MODE], rs, circ[1], circ[2])
        if not math.isfinite(vd):
            return False
        out[O_VDEV] = vd
        out[O_I] = i
        out[O_VTERM] = vd + rs * i
        out[O_COMP] = comp
        out[O_PORT] = i
        return True
    return circuit_eval(rhs, cur, ckind, nx, tau, y, p, seg, s, circ, dy, out, lo, hi)


@kernel(inline="always")
def _eval_series(rhs, cur, nx, tau, y, p, seg, s, circ, dy, out):
    rs = circ[0]
    x = y[:nx]
    src = source_value(seg, s, tau)
    vd, i, comp = _series_point(cur, x, p, src, seg[s, _MODE], rs, circ[1], circ[2])
    if not math.isfinite(vd):
        return False
    rhs(x, vd, seg[s, _T0] + tau, p, dy[:nx])
    out[O_VDEV] = vd
    out[O_I] = i
    out[O_VTERM] = vd + rs * i
    out[O_COMP] = comp
    out[O_PORT] = i
    return True


@kernel
def _eval_parallel_c(rhs, cur, nx, tau, y, p, seg, s, circ, dy, out):
    rs = circ[0]
    icomp = circ[1]
    x = y[:nx]
    src = source_value(seg, s, tau)
    vc = y[nx]
    isrc = (src - vc) / rs
    comp = 0.0
    if abs(isrc) > icomp:
        isrc = icomp if isrc > 0.0 else -icomp
        comp = 1.0
    idev = cur(x, vc, p)
    rhs(x, vc, seg[s, _T0] + tau, p, dy[:nx])
    dy[nx] = (isrc - idev) / circ[3]
    out[O_VDEV] = vc
    out[O_I] = isrc
    out[O_VTERM] = vc + rs * isrc
    out[O_COMP] = comp
    out[O_PORT] = idev
    return True


@kernel
def _eval_charge(rhs, cur, nx, tau, y, p, seg, s, circ, dy, out, lo, hi):
    rs = circ[0]
    icomp = circ[1]
    vcomp = circ[2]
    x = y[:nx]
    dx = dy[:nx]
    src = source_value(seg, s, tau)
    t = seg[s, _T0] + tau
    mode = seg[s, _MODE]
    q = y[nx]
    if mode == 0.0 and rs == 0.0:
        vd = src
        rhs(x, vd, t, p, dx)
        q_port = cur(x, vd, p)
        dq = _chain_rule(cur, x, vd, p, dx, nx, seg, s, tau, lo, hi)
        dy[nx] = dq
        out[O_VDEV] = vd
        out[O_I] = dq
        out[O_VTERM] = vd
        out[O_COMP] = 0.0
        out[O_PORT] = q_port
        return True
    vd = solve_port(cur, x, p, 0.0, 1.0, q, -vcomp, vcomp)
    if not math.isfinite(vd):
        return False
    comp = 0.0
    if mode == 0.0:
        i = (src - vd) / rs
        if abs(i) > icomp:
            i = icomp if i > 0.0 else -icomp
            comp = 1.0
    else:
        i = src
    rhs(x, vd, t, p, dx)
    dy[nx] = i
    out[O_VDEV] = vd
    out[O_I] = i
    out[O_VTERM] = vd + rs * i
    out[O_COMP] = comp
    out[O_PORT] = q
    return True


@kernel
def _eval_flux(rhs, cur, nx, tau, y, p, seg, s, circ, dy, out, lo, hi):
    rs = circ[0]
    icomp = circ[1]
    vcomp = circ[2]
    x = y[:nx]
    dx = dy[:nx]
    src = source_value(seg, s, tau)
    t = seg[s, _T0] + tau
    mode = seg[s, _MODE]
    # FLUX: the device kernels are driven by the current
    phi = y[nx]
    if mode != 0.0:
        i = src
        rhs(x, i, t, p, dx)
        phi_port = cur(x, i, p)
        dphi = _chain_rule(cur, x, i, p, dx, nx, seg, s, tau, lo, hi)
        dy[nx] = dphi
        out[O_VDEV] = dphi
        out[O_I] = i
        out[O_VTERM] = dphi + rs * i
        out[O_COMP] = 0.0
        out[O_PORT] = phi_port
        return True
    ilim = icomp if math.isfinite(icomp) else 1e3
    i = solve_port(cur, x, p, 0.0, 1.0, phi, -ilim, ilim)
    if not math.isfinite(i):
        return False
    rhs(x, i, t, p, dx)
    vd = src - rs * i
    dy[nx] = vd
    out[O_VDEV] = vd
    out[O_I] = i
    out[O_VTERM] = src
    out[O_COMP] = 0.0
    out[O_PORT] = phi
    return True
