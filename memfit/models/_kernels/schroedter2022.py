"""Kernels of the Schroedter et al. (2022) analog NbOx memristor (NaMLab Al2O3/Nb2O5 bi-layer).

The device is the core memductance with a parallel resistor ``R_p`` across it
and a series resistor ``R_s`` in front of both (the authors' LTspice bench)::

    v    --R_s--+--[core G(x, u)]--+--  0
                |                  |
                +------[R_p]-------+

``v`` is the device terminal voltage (what the simulator's circuit applies),
``u`` the voltage across the core.  Kirchhoff gives

    v = u + R_s (i_core(x, u) + u / R_p),     i_core = G(x, u) u,
    i(v) = i_core(x, u) + u / R_p                    (terminal current)
    G(x, u) = A_r x exp(B_r sgn(u) sqrt(|u|/x)) + A_s x exp(-B_s sgn(u) sqrt(|u|))
    dx/dt = c1 [exp(c2 x i_core + w_off(x)) - exp(-c3 x i_core + w_on(x))]
    w_off(x) = -exp((x - x_off) w_c),   w_on(x) = -exp(-(x - x_on) w_c)

``u`` is solved from the first line inside both kernels by a bracketed,
safeguarded Newton iteration (:func:`core_voltage`); the rate equation is
driven by the *core* current, as in the netlist.  Parameter order: see the
``P_*`` constants.

Numerical guards (none is active in the physical range of the defaults):

* every exponent is capped at :data:`EXP_MAX`, so no term overflows;
* ``x`` enters ``G`` and the drive terms as ``max(x, X_FLOOR)`` (the netlist
  divides by ``x`` under the square root); the windows see the raw ``x``;
* the terminal current is computed as ``i_core(u) + u/R_p``, never as
  ``(v - u)/R_s`` (which cancels catastrophically when ``R_s i << v``).
"""

import math

from memfit._jit import kernel

P_AR = 0  # A_r [S]: prefactor of the sqrt(|u|/x) (positive-branch, Poole-Frenkel-like) term
P_AS = 1  # A_s [S]: prefactor of the sqrt(|u|) (negative-branch) term
P_BR = 2  # B_r [V^-1/2]
P_BS = 3  # B_s [V^-1/2]
P_C1 = 4  # c1 [1/s]: rate prefactor
P_C2 = 5  # c2 [1/A]: SET (x up) drive per unit x*i
P_C3 = 6  # c3 [1/A]: RESET (x down) drive per unit x*i
P_WC = 7  # w_c [1]: window steepness
P_X_ON = 8  # x_on [1]: lower soft bound of x
P_X_OFF = 9  # x_off [1]: upper soft bound of x
P_RS = 10  # R_s [Ohm]: series resistor (0: none)
P_RP = 11  # R_p [Ohm]: parallel resistor across the core

#: Cap on every exponent: exp(690) ~ 1.4e299, finite times any prefactor inside the parameter bounds.
EXP_MAX = 690.0
#: Floor on x where it is a divisor or a prefactor (trial stages may overshoot below 0).
X_FLOOR = 1e-6
#: Cap on the drive exponents c2 x i, c3 x i before the windows are added (finite sums).
DRIVE_MAX = 1e300


@kernel
def _capped_exp(e):
    """exp(e) with e capped at EXP_MAX; returns (value, 1.0 if not capped else 0.0)."""
    if e > EXP_MAX:
        return math.exp(EXP_MAX), 0.0
    return math.exp(e), 1.0


@kernel
def core_iv(x, u, p):
    """Core current i_core = G(x, u) u [A] and its slope d i_core / du [S].

    With E_r = B_r sgn(u) sqrt(|u|/x) and E_s = -B_s sgn(u) sqrt(|u|):
    ``d i_core/du = A_r x e^E_r (1 + E_r/2) + A_s x e^E_s (1 + E_s/2)``
    (finite at u = 0; a capped exponent contributes no E/2 term).
    """
    xg = x if x > X_FLOOR else X_FLOOR
    a = abs(u)
    sg = 1.0 if u > 0.0 else (-1.0 if u < 0.0 else 0.0)
    er = p[P_BR] * sg * math.sqrt(a / xg)
    es = -p[P_BS] * sg * math.sqrt(a)
    fr, kr = _capped_exp(er)
    fs, ks = _capped_exp(es)
    tr = p[P_AR] * xg * fr
    ts = p[P_AS] * xg * fs
    i = u * (tr + ts)
    di = tr * (1.0 + 0.5 * er * kr) + ts * (1.0 + 0.5 * es * ks)
    return i, di


@kernel
def core_voltage(x, v, p):
    """Core voltage u [V] for device voltage v [V]: root of h(u) = u + R_s (i_core(u) + u/R_p) - v.

    i_core has the sign of u, so the root lies between 0 and u0 = v/(1 + R_s/R_p)
    (the root without core current).  Safeguarded Newton (the rtsafe rule):
    start at u0, bisect whenever a Newton step would leave the bracket or would
    not halve the previous step (steep exponential branches otherwise creep);
    stop when the step reaches the rounding level of h.
    """
    rs = p[P_RS]
    if v == 0.0 or rs == 0.0:
        return v
    gp = 1.0 / p[P_RP]
    u0 = v / (1.0 + rs * gp)
    # a: point with h < 0, b: point with h > 0 (h increasing in u)
    if v > 0.0:
        a = 0.0
        b = u0
    else:
        a = u0
        b = 0.0
    u = u0
    step_old = abs(u0)
    for _ in range(400):
        i, di = core_iv(x, u, p)
        h = u + rs * (i + gp * u) - v
        if h == 0.0:
            return u
        if h < 0.0:
            a = u
        else:
            b = u
        dh = 1.0 + rs * (di + gp)
        newton = dh > 0.0 and abs(2.0 * h) <= abs(step_old * dh)
        un = u - h / dh if newton else 0.5 * (a + b)
        if not (min(a, b) < un < max(a, b)):
            un = 0.5 * (a + b)
        dhs = dh if dh > 1.0 else 1.0
        step = abs(un - u)
        # converged: the step is at the rounding level of h (eps |v|) mapped through the slope
        if step <= 4.5e-16 * (abs(un) + abs(v) / dhs) or abs(b - a) <= 4.5e-16 * max(abs(a), abs(b)):
            return un
        step_old = step
        u = un
    return u


@kernel
def rate(x, i_core, p):
    """dx/dt [1/s] for state x and core current i_core [A] (netlist F(Vm, x), i_core = Vm G(x, Vm))."""
    xg = x if x > X_FLOOR else X_FLOOR
    d_up = p[P_C2] * xg * i_core
    d_dn = -p[P_C3] * xg * i_core
    if d_up > DRIVE_MAX:
        d_up = DRIVE_MAX
    if d_dn > DRIVE_MAX:
        d_dn = DRIVE_MAX
    w_off = -_capped_exp((x - p[P_X_OFF]) * p[P_WC])[0]
    w_on = -_capped_exp(-(x - p[P_X_ON]) * p[P_WC])[0]
    e_up = d_up + w_off
    e_dn = d_dn + w_on
    return p[P_C1] * (_capped_exp(e_up)[0] - _capped_exp(e_dn)[0])


@kernel
def current(x, v, p):
    """Terminal current i [A] at device voltage v [V]: i_core(u) + u/R_p with u = core_voltage(x, v)."""
    u = core_voltage(x[0], v, p)
    i, _ = core_iv(x[0], u, p)
    return i + u / p[P_RP]


@kernel
def rhs(x, v, t, p, dxdt):
    """dx/dt = F(u, x) with u the core voltage at device voltage v."""
    u = core_voltage(x[0], v, p)
    i, _ = core_iv(x[0], u, p)
    dxdt[0] = rate(x[0], i, p)
