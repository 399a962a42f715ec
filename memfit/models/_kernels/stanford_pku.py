"""Kernels of the Stanford/PKU metal-oxide RRAM model (Guan, Yu, Wong 2012; Jiang et al. 2014/2016).

State ``x[0] = g``: the tunnelling gap between the filament tip and the top
electrode [m], in ``[gap_min, gap_max]``.  Positive ``v = V(TE, BE)`` shrinks
the gap (SET), negative ``v`` grows it (RESET).  Parameter order: see the
``P_*`` constants.  The equations and the provenance of every default are in
:mod:`memfit.models.stanford_pku`.

Numerical notes:

* ``I0 exp(-g/g0) sinh(v/V0)`` and ``Vel0 exp(-Ea/kT) sinh(u)`` are evaluated
  in log form once ``|argument|`` exceeds :data:`_SINH_DIRECT`, with the log
  of the result capped (:data:`MAX_LOG_I`, :data:`MAX_LOG_RATE`), so no
  parameter at its bounds gives ``inf * 0 = NaN``;
* the field gate is a tanh step of width ``F_smooth`` (``F_smooth = 0``: the
  official hard step, ``gamma = 0`` when ``gamma |v|/tox < F_min``);
* saturation at the gap bounds is part of the right-hand side: at or beyond a
  bound, a rate pushing further out is zero (what the official code's clip of
  ``idt()`` does, without its wind-up), so any ODE solver -- also SciPy's,
  which does not clamp -- follows the same saturating solution.
"""

import math

from memfit._jit import kernel

P_I0 = 0  # current scale [A]
P_G0 = 1  # gap decay length of the current [m]
P_V0 = 2  # I-V nonlinearity voltage [V]
P_VEL0 = 3  # gap velocity prefactor [m/s]
P_EA = 4  # activation energy [eV]
P_A0 = 5  # hop distance (atom spacing) [m]
P_TOX = 6  # oxide thickness [m]
P_GAMMA0 = 7  # field-enhancement factor for v >= 0 (SET)
P_GAMMA0_RESET = 8  # field-enhancement factor for v < 0 (RESET; the code's literal 16)
P_BETA = 9  # gap dependence of gamma [1]: gamma = gamma0 - beta (g / 1 nm)^3
P_F_MIN = 10  # field threshold [V/m]
P_F_SMOOTH = 11  # width of the tanh field gate [V/m]; 0 = hard threshold
P_RTH = 12  # thermal resistance [K/W]
P_T0 = 13  # ambient temperature [K]
P_GAP_MIN = 14  # lower gap bound [m]
P_GAP_MAX = 15  # upper gap bound [m]
P_GAP_SMOOTH = 16  # width of the tanh boundary layer at the gap bounds [m]; 0 = hard saturation

#: Boltzmann constant over the elementary charge [V/K] (CODATA 2018, exact SI).
K_B_OVER_Q = 1.380649e-23 / 1.602176634e-19
#: Below this |argument| sinh is evaluated directly, above it in log form.
_SINH_DIRECT = 20.0
#: Cap on log|I / 1 A|: |I| <= e^300 A keeps |v I| Rth (the temperature) finite.
MAX_LOG_I = 300.0
#: Cap on log|dg/dt / (1 m/s)|.
MAX_LOG_RATE = 300.0
_LN2 = math.log(2.0)


@kernel
def _scaled_sinh(log_a, z, cap):
    """``exp(log_a) * sinh(z)`` without overflow or ``0 * inf``; log of the magnitude capped at ``cap``."""
    if z == 0.0:
        return 0.0
    az = abs(z)
    if az < _SINH_DIRECT:
        s = math.sinh(az)
        la = log_a + math.log(s)
    else:
        la = log_a + az - _LN2 + math.log1p(-math.exp(-2.0 * az))
    if la > cap:
        la = cap
    r = math.exp(la)
    return r if z > 0.0 else -r


@kernel
def port_current(g, v, p):
    """``I0 exp(-g/g0) sinh(v/V0)`` [A] at gap ``g`` [m] and device voltage ``v`` [V]."""
    return _scaled_sinh(math.log(p[P_I0]) - g / p[P_G0], v / p[P_V0], MAX_LOG_I)


@kernel
def current(x, v, p):
    """Port equation I = I0 exp(-g/g0) sinh(v/V0) [A] (zero at v = 0)."""
    return port_current(x[0], v, p)


@kernel
def temperature(g, v, p):
    """Algebraic self-heating T = T0 + |v I(g, v)| Rth [K]."""
    return p[P_T0] + abs(v * port_current(g, v, p)) * p[P_RTH]


@kernel
def gamma(g, v, p):
    """Local field-enhancement factor gamma0 - beta (g / 1 nm)^3, floored at 0.

    ``gamma0`` for ``v >= 0``, ``gamma0_reset`` for ``v < 0`` (the official
    code's ``if (Vtb < 0) gamma_ini = 16``).  A negative value (beta g^3 >
    gamma0) always lies below the field threshold, where the official code
    sets gamma = 0; the floor makes that explicit for smoothed gates too.
    """
    g_nm = g * 1e9
    g0 = p[P_GAMMA0] if v >= 0.0 else p[P_GAMMA0_RESET]
    gm = g0 - p[P_BETA] * g_nm * g_nm * g_nm
    return gm if gm > 0.0 else 0.0


@kernel
def field_gate(g, v, p):
    """Field gate w in [0, 1]: 0.5 (1 + tanh((F - F_min)/F_smooth)), F = gamma |v| / tox.

    With ``F_smooth = 0``: the official hard step, 1 for F >= F_min, else 0.
    """
    f = gamma(g, v, p) * abs(v) / p[P_TOX]
    fs = p[P_F_SMOOTH]
    if fs > 0.0:
        return 0.5 * (1.0 + math.tanh((f - p[P_F_MIN]) / fs))
    return 1.0 if f >= p[P_F_MIN] else 0.0


@kernel
def gap_rate(g, v, p):
    """Ungated, unsaturated gap velocity -Vel0 exp(-Ea/kT) sinh(gamma a0 v / (tox kT/q)) [m/s]."""
    if v == 0.0:
        return 0.0
    vt = K_B_OVER_Q * temperature(g, v, p)
    u = gamma(g, v, p) * p[P_A0] * v / (p[P_TOX] * vt)
    return -_scaled_sinh(math.log(p[P_VEL0]) - p[P_EA] / vt, u, MAX_LOG_RATE)


@kernel
def boundary_factor(s, width):
    """tanh(s / width) for distance ``s`` > 0 to the bound being approached, 0 at or beyond it.

    ``width = 0``: hard saturation (1 inside, 0 at or beyond the bound).
    """
    if s <= 0.0:
        return 0.0
    if width > 0.0:
        return math.tanh(s / width)
    return 1.0


@kernel
def rhs(x, v, t, p, dxdt):
    """dg/dt = w(F) * gap_rate * b, b the boundary factor of the bound the rate drives towards."""
    g = x[0]
    w = field_gate(g, v, p)
    d = 0.0
    if w > 0.0:
        d = w * gap_rate(g, v, p)
    if d < 0.0:
        d *= boundary_factor(g - p[P_GAP_MIN], p[P_GAP_SMOOTH])
    elif d > 0.0:
        d *= boundary_factor(p[P_GAP_MAX] - g, p[P_GAP_SMOOTH])
    dxdt[0] = d
