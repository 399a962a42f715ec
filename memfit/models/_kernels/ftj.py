"""Kernels of the HfZrO ferroelectric tunnel junction (multi-bin NLS/Merz switching, drift as state).

State vector (``N_BINS + 2`` entries, see :mod:`memfit.models.ftj` for the physics):

``x[0 .. N_BINS-1]``
    Switched fraction ``s_k`` of bin ``k`` (1 = polarization pointing in the
    ON / low-resistance direction).  Bins are ordered by activation voltage,
    lowest first; the device's switched fraction is their plain mean.
``x[X_TAU]``
    Log-age ``tau = ln(1 + age/t0_drift)``, ``age`` = time since the
    ferroelectric last switched [s].
``x[X_LG]``
    ``ln(g_drift / g_prog)``: the accumulated conductance drift.

Parameter order: see the ``P_*`` constants.

Numerical notes:

* Merz rates are evaluated as ``exp(-V_a / V_ov) / t_inf`` (never as
  ``1/tau``): ``V_a, V_ov > 0`` so the exponent is <= 0, the rate is bounded by
  ``1/t_inf`` and underflows harmlessly to 0 near the threshold.  Below the
  threshold (``V_ov <= 0``) the rate is exactly 0, and ``exp(-a/V_ov)``
  joins 0 with all derivatives at ``V_ov -> 0+`` (no kink).
* The KAI n = 1 form ``ds/dt = r (target - s)`` keeps trial stages that
  overshoot [0, 1] finite and pulls them back.
* The tunnelling bias factor ``sinh(u)/u`` has its argument capped at
  :data:`U_CAP` (no overflow at absurd bias) and a series near u = 0.
"""

import math

from memfit._jit import kernel

#: Number of switching bins (NLS regions with their own activation voltage).
N_BINS = 20
X_TAU = N_BINS  # log-age since the last switching
X_LG = N_BINS + 1  # ln(g_drift / g_prog)

P_G_ON = 0  # read conductance (I/V at V_read) of the fully ON state [S]
P_G_OFF = 1  # read conductance of the fully OFF state [S]
P_V_READ = 2  # voltage at which G_on, G_off are chord conductances [V]
P_V0 = 3  # tunnelling nonlinearity voltage of sinh(V/V0)/(V/V0) [V]
P_T_INF = 4  # Merz attempt time [s]
P_V_A = 5  # mean activation voltage of the bins [V]
P_DELTA_A = 6  # relative half-width of the uniform activation-voltage distribution [1]
P_V_TH = 7  # nucleation threshold: no switching while |V - V_imp| <= V_th [V]
P_V_IMP = 8  # imprint voltage (centre of the switching window) [V]
P_T0_DRIFT = 9  # drift reference time t0 of g = g_prog ((age + t0)/t0)^-nu [s]
P_NU3 = 10  # drift exponent nu(w) = nu3 |w|^3 + nu2 w^2 + nu1 |w| + nu0
P_NU2 = 11
P_NU1 = 12
P_NU0 = 13

#: Cap on |V|/V0 in the bias factor: sinh(300)/300 ~ 3e127 keeps the current finite.
U_CAP = 300.0
#: Floor of tau in exp(-tau): the state bound is 0, trial stages of an unclamped solver (SciPy's Radau)
#: may go far below it; exp(-tau) is capped at exp(5) there.
TAU_FLOOR = -5.0
#: Cap on |ln_gdrift| in exp(ln_gdrift) (the state bound is 50).
LG_CAP = 60.0


@kernel
def bin_activation(k, p):
    """Activation voltage V_a,k [V] of bin k: midpoints of a uniform distribution on V_a (1 +- delta_a)."""
    return p[P_V_A] * (1.0 + p[P_DELTA_A] * ((2.0 * k + 1.0) / N_BINS - 1.0))


@kernel
def overdrive(v, p):
    """Effective voltage ``v - V_imp`` and overdrive ``|v - V_imp| - V_th`` [V]."""
    ve = v - p[P_V_IMP]
    return ve, abs(ve) - p[P_V_TH]


@kernel
def merz_rate(va, vov, t_inf):
    """KAI n = 1 switching rate [1/s] of a bin: exp(-V_a/V_ov)/t_inf above threshold, else 0."""
    if vov <= 0.0:
        return 0.0
    return math.exp(-va / vov) / t_inf


@kernel
def switched_fraction(x):
    """Mean switched fraction s of the bins (not clamped: stages may sit slightly outside [0, 1])."""
    acc = 0.0
    for k in range(N_BINS):
        acc += x[k]
    return acc / N_BINS


@kernel
def g_prog(x, p):
    """Programmed (undrifted) read conductance [S]: ln G = ln G_off + s ln(G_on/G_off).

    s is limited to [-1, 2] (far outside its bounds [0, 1]) only to keep wild
    trial iterates of unclamped solvers finite.
    """
    s = min(max(switched_fraction(x), -1.0), 2.0)
    return p[P_G_OFF] * math.exp(s * math.log(p[P_G_ON] / p[P_G_OFF]))


@kernel
def drift_exponent(x, p):
    """nu(w) = nu3|w|^3 + nu2 w^2 + nu1|w| + nu0 with w = G_prog/G_on clipped to [0, 1] (thesis eq. 3.5)."""
    w = g_prog(x, p) / p[P_G_ON]
    if w > 1.0:
        w = 1.0
    elif w < 0.0:
        w = 0.0
    return ((p[P_NU3] * w + p[P_NU2]) * w + p[P_NU1]) * w + p[P_NU0]


@kernel
def bias_factor(v, v0):
    """sinh(u)/u with u = |v|/v0 capped at U_CAP (1 at v = 0; even in v)."""
    u = abs(v) / v0
    if u > U_CAP:
        u = U_CAP
    if u < 1e-4:
        return 1.0 + u * u / 6.0
    return math.sinh(u) / u


@kernel
def current(x, v, p):
    """Tunnelling current [A]: I = G_prog(s) exp(ln_gdrift) v F(v)/F(V_read), F(v) = sinh(v/V0)/(v/V0)."""
    lg = x[X_LG]
    if lg > LG_CAP:
        lg = LG_CAP
    elif lg < -LG_CAP:
        lg = -LG_CAP
    g = g_prog(x, p) * math.exp(lg)
    v0 = p[P_V0]
    return g * v * bias_factor(v, v0) / bias_factor(p[P_V_READ], v0)


@kernel
def rhs(x, v, t, p, dxdt):
    """State equations (module docstring of :mod:`memfit.models.ftj`).

    ds_k/dt = r_k(v) (target - s_k), target = 1 for v > V_imp else 0, r_k = exp(-V_a,k/V_ov)/t_inf;
    dtau/dt = exp(-tau)/t0 - R tau;   dlg/dt = -nu(w) exp(-tau)/t0 - R lg;   R = r_0 (fastest bin).
    """
    ve, vov = overdrive(v, p)
    t_inf = p[P_T_INF]
    target = 1.0 if ve > 0.0 else 0.0
    reset = 0.0
    if vov > 0.0:
        for k in range(N_BINS):
            r = merz_rate(bin_activation(k, p), vov, t_inf)
            dxdt[k] = r * (target - x[k])
        # the lowest activation voltage (bin 0) has the largest rate
        reset = merz_rate(bin_activation(0, p), vov, t_inf)
    else:
        for k in range(N_BINS):
            dxdt[k] = 0.0
    tau = x[X_TAU]
    clock = math.exp(-max(tau, TAU_FLOOR)) / p[P_T0_DRIFT]  # d tau/dt during a hold = 1/(age + t0)
    dxdt[X_TAU] = clock - reset * tau
    dxdt[X_LG] = -drift_exponent(x, p) * clock - reset * x[X_LG]
