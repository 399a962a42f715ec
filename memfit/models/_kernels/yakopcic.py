"""Kernels of the Yakopcic generalized memristive device model (Yakopcic et al. 2011/2013).

State ``x`` in [0, 1] (dimensionless).  Parameter order: see the ``P_*``
constants.  The equations follow the author's SPICE subcircuit ("Created by
Chris Yakopcic, Last Update 8/9/2011") line by line; see
:mod:`memfit.models.yakopcic` for the provenance.

Numerical notes (reference note, section 3 pitfalls): the windows ``wp`` and
``wn`` are clamped at 0 so that a trial state outside [0, 1] cannot reverse
the motion; the port equation clamps x into [0, 1] (no negative
conductance); the arguments of ``exp`` and ``sinh`` are capped at
:data:`MAX_ARG` so that absurd biases give large but finite numbers.
"""

import math

from memfit._jit import kernel

P_A1 = 0  # I-V magnitude for V >= 0 [A]
P_A2 = 1  # I-V magnitude for V < 0 [A]
P_B = 2  # I-V curvature [1/V]
P_VP = 3  # positive threshold [V]
P_VN = 4  # negative threshold magnitude [V] (threshold at -Vn)
P_AP = 5  # positive state-rate magnitude [1/s]
P_AN = 6  # negative state-rate magnitude [1/s]
P_XP = 7  # state where positive motion starts to decay
P_XN = 8  # 1 - xn: state where negative motion starts to decay
P_ALPHAP = 9  # decay rate of positive motion
P_ALPHAN = 10  # decay rate of negative motion
P_ETA = 11  # direction of motion relative to the voltage polarity (+1 or -1)

#: Cap on the arguments of exp and sinh (exp(600) ~ 4e260: products stay finite).
MAX_ARG = 600.0


@kernel
def _exp(u):
    if u > MAX_ARG:
        u = MAX_ARG
    return math.exp(u)


@kernel
def threshold(v, p):
    """g(V) [1/s]: ``Ap (e^V - e^Vp)`` above Vp, ``-An (e^-V - e^Vn)`` below -Vn, else exactly 0."""
    if v > p[P_VP]:
        return p[P_AP] * (_exp(v) - math.exp(p[P_VP]))
    if v < -p[P_VN]:
        return -p[P_AN] * (_exp(-v) - math.exp(p[P_VN]))
    return 0.0


@kernel
def window(x, v, p):
    """f(x, V): motion decay near the bound being approached (clamped at 0).

    eta V >= 0:  exp(-alphap (x - xp)) wp(x) for x >= xp, else 1;  wp = (xp - x)/(1 - xp) + 1
    eta V <  0:  exp(alphan (x + xn - 1)) wn(x) for x <= 1 - xn, else 1;  wn = x/(1 - xn)
    """
    if p[P_ETA] * v >= 0.0:
        xp = p[P_XP]
        if x >= xp:
            wp = (xp - x) / (1.0 - xp) + 1.0
            if wp <= 0.0:
                return 0.0
            return math.exp(-p[P_ALPHAP] * (x - xp)) * wp
        return 1.0
    xn = p[P_XN]
    if x <= 1.0 - xn:
        wn = x / (1.0 - xn)
        if wn <= 0.0:
            return 0.0
        return math.exp(p[P_ALPHAN] * (x + xn - 1.0)) * wn
    return 1.0


@kernel
def rhs(x, v, t, p, dxdt):
    """dx/dt = eta g(V) f(x, V)."""
    g = threshold(v, p)
    if g == 0.0:
        dxdt[0] = 0.0
        return
    dxdt[0] = p[P_ETA] * g * window(x[0], v, p)


@kernel
def current(x, v, p):
    """I = a1 x sinh(bV) for V >= 0, a2 x sinh(bV) for V < 0 [A] (x clamped to [0, 1])."""
    xc = x[0]
    if xc < 0.0:
        xc = 0.0
    elif xc > 1.0:
        xc = 1.0
    u = p[P_B] * v
    if u > MAX_ARG:
        u = MAX_ARG
    elif u < -MAX_ARG:
        u = -MAX_ARG
    a = p[P_A1] if v >= 0.0 else p[P_A2]
    return a * xc * math.sinh(u)
