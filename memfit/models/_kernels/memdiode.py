"""Kernels of the memdiode models of Miranda, Sune and Aguirre: quasi-static (QMM) and dynamic (DMM).

State ``x[0] = lam``: the memory state in [0, 1] (0 = HRS, 1 = LRS).  Both
models share the port equation and its parameters (indices 0-7); the memory
equations have their own (indices 8-12).  Equations and the provenance of the
defaults are in :mod:`memfit.models.memdiode`.

Port: ``I = I0(lam) [exp(beta a(lam) V_D) - exp(-(1 - beta) a(lam) V_D)] + EI``
with ``V_D = V - I Rs(lam)``, implicit in ``I``.  :func:`current` solves it
for ``V_D`` with a safeguarded Newton iteration (bisection whenever Newton
would leave the bracket or does not halve the step), bracketed by
``[0, V - EI Rs]`` (``[0, V]`` for ``EI = 0``), to a relative step of 1e-15.
Exponent arguments are clamped at :data:`MAX_EXP`, so nothing overflows at
any bias; ``lam`` is clamped into [0, 1] in the port, so trial stages
slightly outside the bounds see a passive diode.

Memory equations: exponent arguments of the DMM rates are clamped at
+-:data:`MAX_RATE_EXP`; the QMM logistics are evaluated in the form that
never overflows.
"""

import math

from memfit._jit import kernel

# port (both models)
P_I_MIN = 0  # current prefactor in HRS (lam = 0) [A]
P_I_MAX = 1  # current prefactor in LRS (lam = 1) [A]
P_ALPHA_MIN = 2  # exponential factor in HRS [1/V]
P_ALPHA_MAX = 3  # exponential factor in LRS [1/V]
P_RS_MIN = 4  # series resistance in HRS [Ohm]
P_RS_MAX = 5  # series resistance in LRS [Ohm]
P_BETA = 6  # asymmetry of the two exponentials [1]
P_EI = 7  # offset current [A]
# DMM memory equation
P_T0S = 8  # set time prefactor [s]
P_V0S = 9  # set voltage slope [V]
P_T0R = 10  # reset time prefactor [s]
P_V0R = 11  # reset voltage slope [V]
# QMM memory equation (same positions, other model)
P_ETA_SET = 8  # set-ridge slope [1/V]
P_V_SET = 9  # set-ridge centre [V]
P_ETA_RES = 10  # reset-ridge slope [1/V]
P_V_RES = 11  # reset-ridge centre [V]
P_C_H0 = 12  # relaxation capacitance [F]; tau = C_H0 * 1 Ohm

#: Clamp on the exponent arguments of the port (exp(600) ~ 4e260).
MAX_EXP = 600.0
#: Clamp on the log of the DMM rates 1/tau [1/s]: rates stay within [e^-80, e^80] ~ [1.8e-35, 5.5e34] 1/s.
MAX_RATE_EXP = 80.0
#: Relative step at which the port Newton iteration stops.
PORT_RTOL = 1e-15


@kernel
def _clamp01(x):
    if x < 0.0:
        return 0.0
    if x > 1.0:
        return 1.0
    return x


@kernel
def _exp(z, cap):
    """exp(z) with z clamped to [-cap, cap]."""
    if z > cap:
        z = cap
    elif z < -cap:
        z = -cap
    return math.exp(z)


@kernel
def port_coefficients(lam, p):
    """(I0, alpha, Rs) interpolated linearly in lam (clamped into [0, 1])."""
    s = _clamp01(lam)
    i0 = p[P_I_MIN] + (p[P_I_MAX] - p[P_I_MIN]) * s
    a = p[P_ALPHA_MIN] + (p[P_ALPHA_MAX] - p[P_ALPHA_MIN]) * s
    rs = p[P_RS_MIN] + (p[P_RS_MAX] - p[P_RS_MIN]) * s
    return i0, a, rs


@kernel
def diode(vd, i0, a, beta):
    """I0 [exp(beta a V_D) - exp(-(1 - beta) a V_D)] [A] (exponents clamped at MAX_EXP)."""
    return i0 * (_exp(beta * a * vd, MAX_EXP) - _exp(-(1.0 - beta) * a * vd, MAX_EXP))


@kernel
def diode_slope(vd, i0, a, beta):
    """d diode / d V_D [A/V] (same clamps)."""
    return i0 * a * (beta * _exp(beta * a * vd, MAX_EXP) + (1.0 - beta) * _exp(-(1.0 - beta) * a * vd, MAX_EXP))


@kernel
def diode_voltage(v, i0, a, rs, beta, ei):
    """V_D solving diode(V_D) + EI = (v - V_D)/Rs, in the bracket [0, v - EI Rs].

    h(V_D) = diode(V_D) + EI - (v - V_D)/Rs is strictly increasing, negative
    at one end of the bracket and positive at the other, so the root is
    unique.  Safeguarded Newton (the ``rtsafe`` rule): a Newton step that
    leaves the bracket or does not halve the previous step is replaced by
    bisection.  Stops at a relative step of PORT_RTOL.
    """
    if rs <= 0.0:
        return v
    b = v - ei * rs
    if b == 0.0:
        return 0.0
    lo = 0.0 if b > 0.0 else b
    hi = b if b > 0.0 else 0.0
    # starting point: the smaller (in magnitude) of the diode-limited (b) and the Rs-limited estimate
    ab = abs(b)
    w = beta if b > 0.0 else 1.0 - beta
    x = b
    if w * a > 0.0 and i0 > 0.0:
        est = math.log1p(ab / (rs * i0)) / (w * a)
        if est < ab:
            x = est if b > 0.0 else -est
    dx_old = hi - lo
    dx = dx_old
    for _ in range(200):
        f = diode(x, i0, a, beta) + ei - (v - x) / rs
        if f == 0.0:
            return x
        if f < 0.0:
            lo = x
        else:
            hi = x
        fp = diode_slope(x, i0, a, beta) + 1.0 / rs
        xn = x - f / fp
        if not (lo < xn < hi) or abs(2.0 * f) > abs(dx_old * fp):
            xn = 0.5 * (lo + hi)
        dx_old = dx
        dx = abs(xn - x)
        if dx <= PORT_RTOL * abs(xn) or hi - lo <= PORT_RTOL * max(abs(lo), abs(hi)):
            return xn
        x = xn
    return x


@kernel
def port_current(lam, v, p):
    """Memdiode current [A] at memory state lam and device voltage v [V] (series resistance included)."""
    i0, a, rs = port_coefficients(lam, p)
    beta = p[P_BETA]
    ei = p[P_EI]
    vd = diode_voltage(v, i0, a, rs, beta, ei)
    return diode(vd, i0, a, beta) + ei


@kernel
def current(x, v, p):
    """Port equation I = I0 [exp(beta a V_D) - exp(-(1-beta) a V_D)] + EI, V_D = v - I Rs [A]."""
    return port_current(x[0], v, p)


# --------------------------------------------------------------------------------------------- DMM
@kernel
def dmm_rates(v, p):
    """(1/tau_S, 1/tau_R) [1/s]: tau_S = T0s exp(-v/V0s), tau_R = T0r exp(v/V0r), log clamped."""
    rs = _exp(v / p[P_V0S] - math.log(p[P_T0S]), MAX_RATE_EXP)
    rr = _exp(-v / p[P_V0R] - math.log(p[P_T0R]), MAX_RATE_EXP)
    return rs, rr


@kernel
def rhs_dmm(x, v, t, p, dxdt):
    """DMM balance equation d lam/dt = (1 - lam)/tau_S(v) - lam/tau_R(v)."""
    rs, rr = dmm_rates(v, p)
    lam = x[0]
    dxdt[0] = (1.0 - lam) * rs - lam * rr


# --------------------------------------------------------------------------------------------- QMM
@kernel
def logistic(z):
    """1/(1 + exp(-z)) without overflow."""
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@kernel
def qmm_target(lam, v, p):
    """The hysteron min(Gr(v), max(Gs(v), lam)) with the logistic set and reset ridges."""
    gs = logistic(p[P_ETA_SET] * (v - p[P_V_SET]))
    gr = logistic(p[P_ETA_RES] * (v - p[P_V_RES]))
    return min(gr, max(gs, lam))


@kernel
def rhs_qmm(x, v, t, p, dxdt):
    """QMM relaxation C_H0 * 1 Ohm * d lam/dt = min(Gr(v), max(Gs(v), lam)) - lam."""
    lam = x[0]
    dxdt[0] = (qmm_target(lam, v, p) - lam) / p[P_C_H0]
