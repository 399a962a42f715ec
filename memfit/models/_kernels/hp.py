"""Kernels of the HP linear ion-drift memristor (Strukov 2008) and its window functions.

State ``x = w/D`` in [0, 1] (x = 1: fully doped, R = R_on).  Parameter order
(shared by all four variants): see the ``P_*`` constants.
"""

from memfit._jit import kernel

P_R_ON = 0
P_R_OFF = 1
P_D = 2
P_MU_V = 3
P_P = 4  # window exponent (unused by strukov2008)
P_J = 5  # Prodromakis scale (prodromakis2011 only)


@kernel
def current(x, v, p):
    """Port equation v = [R_on x + R_off (1 - x)] i  ->  i [A].

    The state is clamped to [0, 1] here, so a trial stage past a bound sees
    the bound's resistance (with R_on >> R_off a state just below 0 would
    otherwise give zero or negative resistance).
    """
    xc = min(max(x[0], 0.0), 1.0)
    m = p[P_R_ON] * xc + p[P_R_OFF] * (1.0 - xc)
    return v / m


@kernel
def _rate(x, v, p):
    """k * i with k = mu_v R_on / D^2 [1/(A s)]."""
    k = p[P_MU_V] * p[P_R_ON] / (p[P_D] * p[P_D])
    return k * current(x, v, p)


@kernel
def rhs_nowindow(x, v, t, p, dxdt):
    """dx/dt = k i (no window; the integrator clamps x to [0, 1])."""
    dxdt[0] = _rate(x, v, p)


@kernel
def rhs_joglekar(x, v, t, p, dxdt):
    """dx/dt = k i f(x),  f = 1 - (2x - 1)^(2p), clamped at 0 outside [0, 1]."""
    s = 2.0 * x[0] - 1.0
    f = 1.0 - abs(s) ** (2.0 * p[P_P])
    if f < 0.0:
        f = 0.0
    dxdt[0] = _rate(x, v, p) * f


@kernel
def rhs_biolek(x, v, t, p, dxdt):
    """dx/dt = k i f(x, i),  f = 1 - (x - stp(-i))^(2p),  stp(u) = 1 for u >= 0 else 0."""
    r = _rate(x, v, p)
    # stp(-i) = 1 when i <= 0; i has the sign of v (passive device)
    c = 1.0 if v <= 0.0 else 0.0
    f = 1.0 - abs(x[0] - c) ** (2.0 * p[P_P])
    if f < 0.0:
        f = 0.0
    dxdt[0] = r * f


@kernel
def rhs_prodromakis(x, v, t, p, dxdt):
    """dx/dt = k i f(x),  f = j (1 - [(x - 0.5)^2 + 0.75]^p), clamped at 0."""
    d = x[0] - 0.5
    f = p[P_J] * (1.0 - (d * d + 0.75) ** p[P_P])
    if f < 0.0:
        f = 0.0
    dxdt[0] = _rate(x, v, p) * f
