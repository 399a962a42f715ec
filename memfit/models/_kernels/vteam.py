"""Kernels of the VTEAM voltage-threshold memristor (Kvatinsky et al. 2015).

State ``x`` in [0, 1] is the normalised state variable
``(w - w_on) / (w_off - w_on)``: x = 0 is fully ON (``R_on``), x = 1 fully OFF
(``R_off``).  Rates are normalised accordingly (``k [1/s] = k [m/s] / (w_off -
w_on)``).  Parameter order (shared by every variant): see the ``P_*``
constants.

Numerical notes (reference note, section 2 pitfalls):

* the power ``(v/v_th - 1)**alpha`` is evaluated only inside its active
  branch, where the base is strictly positive, as ``exp(alpha log u)`` with
  the exponent capped at :data:`MAX_EXP` (no NaN for fractional ``alpha``,
  no overflow at absurd bias);
* windows are clamped at 0 outside [0, 1], and the port equations clamp the
  state into [0, 1], so trial stages slightly outside the bounds stay finite
  and passive.
"""

import math

from memfit._jit import kernel

P_R_ON = 0  # resistance at x = 0 [Ohm]
P_R_OFF = 1  # resistance at x = 1 [Ohm]
P_K_OFF = 2  # OFF rate constant [1/s], > 0
P_K_ON = 3  # ON rate constant [1/s], < 0
P_V_OFF = 4  # OFF threshold [V], > 0
P_V_ON = 5  # ON threshold [V], < 0
P_ALPHA_OFF = 6  # OFF nonlinearity exponent
P_ALPHA_ON = 7  # ON nonlinearity exponent
P_P = 8  # Biolek window exponent (vteam_biolek only)

#: Cap on ``alpha * log(v/v_th - 1)``: exp(600) ~ 4e260 keeps ``k * power`` finite.
MAX_EXP = 600.0


#: ``exp(MAX_EXP)``: the cap of :func:`_power`'s result
MAX_POWER = math.exp(MAX_EXP)


@kernel
def _power(u, a):
    """``u**a`` for ``u > 0``, capped at ``exp(MAX_EXP)``.

    Integer exponents 1..8 (the published VTEAM values are 1, 3 and 4) by repeated
    multiplication -- exact to rounding and ~10x cheaper than the two libm calls of the
    general path, ``exp(a log u)``, which were one of the costliest parts of a VTEAM step
    (kernel of ``python -m benchmarks integrators``: 225 -> 185 us).  ``a`` is a validated
    parameter (finite, within [0.1, 15]), so ``int(a)`` is defined.
    """
    n = int(a)
    if n == a and 1 <= n <= 8:
        r = u
        for _ in range(n - 1):
            r *= u
        return min(r, MAX_POWER)
    e = a * math.log(u)
    if e > MAX_EXP:
        e = MAX_EXP
    return math.exp(e)


@kernel
def drift(v, p):
    """Window-free VTEAM rate g(v) [1/s] (Kvatinsky 2015 eq. 1; Biolek 2021 eq. 3).

    ``k_off (v/v_off - 1)**alpha_off`` for ``v > v_off``; ``k_on (v/v_on -
    1)**alpha_on`` for ``v < v_on``; exactly 0 in between (sub-threshold).
    """
    v_off = p[P_V_OFF]
    v_on = p[P_V_ON]
    if v > v_off:
        return p[P_K_OFF] * _power(v / v_off - 1.0, p[P_ALPHA_OFF])
    if v < v_on:
        return p[P_K_ON] * _power(v / v_on - 1.0, p[P_ALPHA_ON])
    return 0.0


@kernel
def _clamp01(x):
    if x < 0.0:
        return 0.0
    if x > 1.0:
        return 1.0
    return x


@kernel
def current(x, v, p):
    """Linear port: v = [R_on + (R_off - R_on) x] i  ->  i [A] (x clamped to [0, 1])."""
    xc = _clamp01(x[0])
    return v / (p[P_R_ON] + (p[P_R_OFF] - p[P_R_ON]) * xc)


@kernel
def current_exp(x, v, p):
    """Exponential port: v = R_on exp(lambda x) i, lambda = ln(R_off/R_on)  ->  i [A]."""
    xc = _clamp01(x[0])
    return v / (p[P_R_ON] * math.exp(math.log(p[P_R_OFF] / p[P_R_ON]) * xc))


@kernel
def rhs(x, v, t, p, dxdt):
    """dx/dt = g(v): no window (f = 1), saturating at the bounds.

    The rate is set to zero only when the state sits *exactly* on the bound
    the drive pushes it into (x == 1 with g > 0, x == 0 with g < 0); the
    integrators clamp every step to [0, 1], so a saturated state is exactly
    on its bound and rests there ("integration with saturation", Biolek et
    al. 2021, sec. III-B; the Technion Verilog-A clips x likewise).  Off the
    bounds -- including trial stages that overshoot them -- the rate is the
    window-free g(v), so the right-hand side has no jump for the step-size
    control or the implicit stage equations to trip over.  The exact solution
    is the projection of ``x0 + int g dt`` onto [0, 1] (no stick effect: the
    state leaves a bound as soon as the drive reverses).
    """
    g = drift(v, p)
    if (g > 0.0 and x[0] == 1.0) or (g < 0.0 and x[0] == 0.0):
        g = 0.0
    dxdt[0] = g


@kernel
def _window_power(b, q):
    """``b**q`` for ``b >= 0``: by squaring for an integer ``q`` up to 128 (the window exponent
    ``2p`` of an integer ``p`` in [1, 50], validated, so ``int(q)`` is defined), else ``math.pow``.
    Squaring is exact to a few ulp and several times cheaper than ``pow``."""
    n = int(q)
    if n == q and 0 < n <= 128:
        r = 1.0
        while n > 0:
            if n & 1:
                r *= b
            b *= b
            n >>= 1
        return r
    return math.pow(b, q)


@kernel
def rhs_biolek(x, v, t, p, dxdt):
    """dx/dt = g(v) f(x, v) with the Biolek window (Biolek 2009 eq. 10, VTEAM orientation).

    g > 0 (towards x = 1): f = 1 - x**(2p); g < 0 (towards x = 0):
    f = 1 - (1 - x)**(2p).  f vanishes only at the bound being approached,
    so the state never sticks; clamped at 0 outside [0, 1].
    """
    g = drift(v, p)
    if g == 0.0:
        dxdt[0] = 0.0
        return
    q = 2.0 * p[P_P]
    if g > 0.0:
        f = 1.0 - _window_power(abs(x[0]), q)
    else:
        f = 1.0 - _window_power(abs(1.0 - x[0]), q)
    if f < 0.0:
        f = 0.0
    dxdt[0] = g * f
