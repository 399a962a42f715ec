"""Kernels of the thermally driven VO2 locally active memristor (``vo2_demirkol2022``).

State ``x = [T, T_p, xi]``: device temperature ``T`` [K]; the temperature
``T_p`` [K] seen by the phase state, ``T`` passed through a narrow soft play
(dead band +-delta); the hysteron ``xi`` in [-1, 1] (+1: on the heating branch
of the R(T) loop, -1: on the cooling branch).  Parameter order: the ``P_*``
constants.  Equations and provenance: :mod:`memfit.models.vo2`.
"""

import math

from memfit._jit import kernel

P_R0 = 0  # insulating prefactor [Ohm]
P_EA = 1  # activation temperature [K]
P_RM = 2  # metallic resistance [Ohm]
P_TC = 3  # transition centre [K]
P_W = 4  # hysteresis width [K]
P_BETA = 5  # transition sharpness [1/K]
P_GAMMA = 6  # minor-curve slope parameter [1]
P_EPS = 7  # hysteron smoothing at the branches [1]
P_DELTA = 8  # reversal dead band (half width of the soft play) [K]
P_CTH = 9  # heat capacity [J/K]
P_STH = 10  # thermal conductance to the substrate [W/K]
P_TAMB = 11  # substrate (ambient) temperature [K]
P_RS = 12  # parasitic series resistance [Ohm]
P_RP = 13  # parasitic parallel resistance [Ohm]

S_T = 0
S_TP = 1
S_XI = 2

_T_FLOOR = 50.0  # K; keeps exp(E_a/T) finite for trial stages far below the declared bound


@kernel
def insulating_fraction(tp, xi, p):
    """g = 1/2 + 1/2 tanh(beta (T_c - theta)),  theta = T_p - xi w/2 (effective temperature of the phase)."""
    theta = tp - 0.5 * xi * p[P_W]
    return 0.5 + 0.5 * math.tanh(p[P_BETA] * (p[P_TC] - theta))


@kernel
def resistance(T, tp, xi, p):
    """Core resistance R = R0 exp(E_a/T) g(T_p, xi) + R_m [Ohm]."""
    tk = T if T > _T_FLOOR else _T_FLOOR
    return p[P_R0] * math.exp(p[P_EA] / tk) * insulating_fraction(tp, xi, p) + p[P_RM]


@kernel
def core_voltage(v, r, p):
    """Voltage u across the core behind the parasitic series R_s, with R_p across the core [V]."""
    return v / (1.0 + p[P_RS] * (1.0 / r + 1.0 / p[P_RP]))


@kernel
def current(x, v, p):
    """Device current i = u (1/R + 1/R_p) [A]."""
    r = resistance(x[S_T], x[S_TP], x[S_XI], p)
    u = core_voltage(v, r, p)
    return u * (1.0 / r + 1.0 / p[P_RP])


@kernel
def minor_rate(r, p):
    """Hysteron rate F(r) = gamma s / (s^2 + eps^4)^(1/4),  s = r (2 - r).

    ``r`` is the distance (in units of w) between the effective temperature
    and the branch the temperature moves towards.  For eps -> 0,
    F = gamma sqrt(r (2 - r)): the slope law of the Zhang et al. minor curve
    r = 1 - sin(gamma (T - T_r)/w) after a reversal on the major loop.  Odd in
    s, so a state pushed past the branch (r < 0) is pulled back.
    """
    s = r * (2.0 - r)
    e2 = p[P_EPS] * p[P_EPS]
    return p[P_GAMMA] * s / math.sqrt(math.sqrt(s * s + e2 * e2))


@kernel
def play_rate(T, tp, p):
    """dT_p/dt of the soft play: (T - T_p) ((T - T_p)/delta)^8 S_th/C_th [K/s].

    Negligible while |T - T_p| < delta (T_p, hence the phase state, holds),
    steep beyond (T_p is dragged at delta behind T).  Smooth (a polynomial),
    its sign is that of T - T_p.
    """
    d = T - tp
    z = d / p[P_DELTA]
    z2 = z * z
    z4 = z2 * z2
    return d * z4 * z4 * p[P_STH] / p[P_CTH]


@kernel
def rhs(x, v, t, p, dxdt):
    """Thermal balance, soft play and hysteron.

    C_th dT/dt = u^2/R - S_th (T - T_amb);   dT_p/dt = play_rate(T, T_p);
    dxi/dt = (2/w) dT_p/dt F((1 - xi)/2) while T_p rises, (2/w) dT_p/dt F((1 + xi)/2) while it falls.
    """
    T = x[S_T]
    tp = x[S_TP]
    xi = x[S_XI]
    r = resistance(T, tp, xi, p)
    u = core_voltage(v, r, p)
    dxdt[S_T] = (u * u / r - p[P_STH] * (T - p[P_TAMB])) / p[P_CTH]
    rate = play_rate(T, tp, p)
    dxdt[S_TP] = rate
    k = 2.0 / p[P_W]
    if rate > 0.0:
        dxdt[S_XI] = k * rate * minor_rate(0.5 * (1.0 - xi), p)
    elif rate < 0.0:
        dxdt[S_XI] = k * rate * minor_rate(0.5 * (1.0 + xi), p)
    else:
        dxdt[S_XI] = 0.0
