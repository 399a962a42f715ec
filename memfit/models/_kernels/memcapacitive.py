"""Kernels of the memcapacitive models (charge port, ``current`` returns q [C]).

Three families, each with its own ``P_*`` parameter order:

* Biolek/Di Ventra/Pershin 2013 model C.1, the ideal memcapacitor with a
  sigmoidal C(phi) (``rhs_c1``, ``charge_c1``);
* model C.4, the bipolar memcapacitive system with threshold, state x = C
  (``rhs_c4``, ``charge_c4``), with the listing's logistic smoothing of the
  step functions;
* the memristor-based pseudo-memcapacitor of Schroedter et al. 2023
  (``rhs_mnt``, ``charge_mnt``).

Numerical guards (kernels must stay finite at every parameter edge and for
states slightly outside their bounds): logistic functions are evaluated in
their overflow-free form, exponents are capped at :data:`MAX_EXP`, sinh is
evaluated with a capped argument.
"""

import math

from memfit._jit import kernel

#: Cap on exponents (exp(60) ~ 1.1e26): rates faster than that are instantaneous on every time scale memfit resolves.
MAX_EXP = 60.0

# --- C.1 ideal memcapacitor --------------------------------------------------
C1_CLOW = 0  # lower limit of the memcapacitance [F]
C1_CHIGH = 1  # upper limit [F]
C1_CINI = 2  # C at phi = 0 [F]
C1_K = 3  # steepness of C(phi) [1/(V s)]

# --- C.4 bipolar memcapacitive system with threshold ------------------------
C4_CLOW = 0  # lower limit of x = C [F]
C4_CHIGH = 1  # upper limit [F]
C4_CINIT = 2  # initial C [F] (initial state only; unused by the kernels)
C4_BETA = 3  # switching rate [F/(V s)]
C4_VT = 4  # threshold voltage [V]
C4_B1 = 5  # smoothing width of the voltage steps [V]
C4_B2 = 6  # relative smoothing width of the window steps [1]

# --- Schroedter et al. 2023 memristor-based pseudo-memcapacitor -------------
M_ION = 0  # current prefactor, ON state (x = 1) [A]
M_IOFF = 1  # current prefactor, OFF state (x = 0) [A]
M_AON = 2  # sinh slope, ON state [1/V]
M_AOFF = 3  # sinh slope, OFF state [1/V]
M_ETAS = 4  # set exponent [1/V]
M_ETAR = 5  # reset exponent [1/V]
M_VS = 6  # set threshold [V]
M_VR = 7  # reset threshold [V] (negative)
M_CPAR = 8  # capacitor across the memristor branch [F]
M_CGS = 9  # gate(-source) capacitor in series [F]
M_RPAR = 10  # resistor across the memristor branch [Ohm]
M_RSER = 11  # resistor in series with the memristor [Ohm]
M_ICC = 12  # current limit of the memristor [A]
M_TAU0 = 13  # time unit of the switching law [s]
M_JIT = 14  # relative half-width of the uniform threshold jitter averaged over [1]


@kernel
def logistic(z):
    """1/(1 + exp(-z)) without overflow for any finite or infinite z."""
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@kernel
def stps(x, b):
    """The listing's smoothed step ``stps(x, b) = 1/(1 + exp(-x/b))`` (b > 0)."""
    return logistic(x / b)


@kernel
def abss(x, b):
    """The listing's smoothed |x|: ``x (stps(x, b) - stps(-x, b))`` = ``x tanh(x / 2b)``."""
    return x * math.tanh(0.5 * x / b)


@kernel
def threshold_drive(u, beta, ut, b1):
    """``fs``: beta (u - (abss(u + ut) - abss(u - ut))/2); ~0 for |u| < ut, beta (|u| - ut) sgn(u) beyond."""
    return beta * (u - 0.5 * (abss(u + ut, b1) - abss(u - ut, b1)))


@kernel
def window(x, u, lo, hi, b1, b2):
    """``ws``: stps(u) stps(1 - x/hi) + stps(-u) stps(x/lo - 1) (window of the 2013 listings)."""
    return stps(u, b1) * stps(1.0 - x / hi, b2) + stps(-u, b1) * stps(x / lo - 1.0, b2)


#: The guard at the limits of C.4 / L.3 is the listing's step stps(d, b2) moved this many b2 inside the window.
GUARD_SHIFT = 30.0


@kernel
def threshold_rate(x, u, beta, ut, lo, hi, b1, b2):
    """dx/dt of C.4 / L.3: f(u) W(x, u) as in the listings, times a guard towards the limit it points to.

    memfit's state bounds are hard, the listing's window is 1/2 (not 0) at
    the limits, and the smoothed f has a short sub-threshold pulse whose
    sign need not match the window's assumption (f < 0 for 0 < u < ut).  A
    rate pointing to a limit is therefore multiplied by ``stps(d - 30 b2,
    b2)``, d the relative distance to that limit (``1 - x/hi`` or ``x/lo -
    1``): smooth, 1 - 1e-9 for d > 50 b2, ~1e-13 at the limit itself, so the
    state stops ~15-20 b2 inside the window (the listing's SPICE solution
    creeps ~15 b2 outside) and never needs the integrators' clamp.
    """
    r = threshold_drive(u, beta, ut, b1) * window(x, u, lo, hi, b1, b2)
    if r > 0.0:
        return r * logistic((1.0 - x / hi) / b2 - GUARD_SHIFT)
    if r < 0.0:
        return r * logistic((x / lo - 1.0) / b2 - GUARD_SHIFT)
    return 0.0


@kernel
def sigmoid_element(s, low, high, ini, k):
    """low + (high - low)/(a exp(-4 k s) + 1), a = (high - ini)/(ini - low) (Biolek 2013 eqs. 34, 54).

    Written as ``low + (high - low) logistic(4 k s - ln a)``; the two
    differences in ``ln a`` are floored at a tiny positive number so that an
    initial value at (or outside) a limit stays finite.
    """
    tiny = 1e-300
    d_hi = high - ini
    d_lo = ini - low
    if d_hi < tiny:
        d_hi = tiny
    if d_lo < tiny:
        d_lo = tiny
    return low + (high - low) * logistic(4.0 * k * s - (math.log(d_hi) - math.log(d_lo)))


# ---------------------------------------------------------------------------
# C.1
# ---------------------------------------------------------------------------
@kernel
def rhs_c1(x, v, t, p, dxdt):
    """d phi/dt = V (the state is the flux phi = int V dt)."""
    dxdt[0] = v


@kernel
def charge_c1(x, v, p):
    """q = C(phi) V."""
    return sigmoid_element(x[0], p[C1_CLOW], p[C1_CHIGH], p[C1_CINI], p[C1_K]) * v


# ---------------------------------------------------------------------------
# C.4
# ---------------------------------------------------------------------------
@kernel
def rhs_c4(x, v, t, p, dxdt):
    """dx/dt = f(V) W(x, V), x = C (Biolek 2013 eqs. 49-51, smoothed as in the listing)."""
    dxdt[0] = threshold_rate(x[0], v, p[C4_BETA], p[C4_VT], p[C4_CLOW], p[C4_CHIGH], p[C4_B1], p[C4_B2])


@kernel
def charge_c4(x, v, p):
    """q = x V (eq. 48)."""
    return x[0] * v


# ---------------------------------------------------------------------------
# Schroedter et al. 2023 pseudo-memcapacitor (memristor || C_par || R_par, in series with C_gs)
# ---------------------------------------------------------------------------
@kernel
def _k(x, on, off):
    """K(x) = off + (on - off) limit(x, 0, 1) (linear state dependence of the netlist)."""
    xl = x
    if xl < 0.0:
        xl = 0.0
    elif xl > 1.0:
        xl = 1.0
    return off + (on - off) * xl


@kernel
def memristor_current(x, vm, p):
    """I_m = limit(K(x, I_on, I_off) sinh(K(x, a_on, a_off) vm), -I_cc, I_cc) [A]."""
    a = _k(x, p[M_AON], p[M_AOFF]) * vm
    if a > 700.0:
        a = 700.0
    elif a < -700.0:
        a = -700.0
    i = _k(x, p[M_ION], p[M_IOFF]) * math.sinh(a)
    icc = p[M_ICC]
    if i > icc:
        return icc
    if i < -icc:
        return -icc
    return i


@kernel
def branch_current(x, w, p):
    """Current [A] of R_ser + memristor driven by w [V]: root of vm + R_ser I_m(vm) = w.

    The left side is non-decreasing in vm and the root lies between 0 and w;
    safeguarded Newton (bisection whenever Newton leaves the bracket), at
    most 100 iterations, relative tolerance 1e-15.
    """
    rs = p[M_RSER]
    if rs == 0.0 or w == 0.0:
        return memristor_current(x, w, p)
    lo = min(0.0, w)
    hi = max(0.0, w)
    vm = w
    for _ in range(100):
        i = memristor_current(x, vm, p)
        g = vm + rs * i - w
        if g > 0.0:
            hi = vm
        else:
            lo = vm
        h = 1e-7 * (abs(vm) + 1e-6)
        dg = 1.0 + rs * (memristor_current(x, vm + h, p) - i) / h
        vn = vm - g / dg
        if not (lo < vn < hi):
            vn = 0.5 * (lo + hi)
        if abs(vn - vm) <= 1e-15 * (abs(vm) + 1e-300) or hi - lo <= 1e-15 * max(abs(lo), abs(hi)):
            vm = vn
            break
        vm = vn
    return memristor_current(x, vm, p)


@kernel
def gate_voltage(x, v, p):
    """u = V(G, S) = s + v C_par/(C_par + C_gs); s = x[1] is the gate voltage at v = 0 [V]."""
    return x[1] + v * p[M_CPAR] / (p[M_CPAR] + p[M_CGS])


@kernel
def log_sinhc(a):
    """ln(sinh(a)/a) for a >= 0 (0 at a = 0), overflow-free."""
    if a < 1e-4:
        return a * a / 6.0
    return a - math.log(2.0 * a) + math.log1p(-math.exp(-2.0 * a))


@kernel
def switching_rate(x, vg, p):
    """Netlist state law, control voltage vg = V(G, IN) [V], averaged over the threshold jitter:

    vg >= 0: (1 - x) exp(eta_s (vg - V_s)) g(eta_s V_s j) / tau0   (set, towards x = 1)
    vg <  0: (0 - x) exp(eta_r (V_r - vg)) g(eta_r |V_r| j) / tau0 (reset, towards x = 0)

    g(a) = sinh(a)/a is the mean of exp(a n) for n uniform in [-1, 1], i.e.
    the rate averaged over thresholds V_th (1 + n j); j = 0 gives the
    noiseless law.  Exponents capped at MAX_EXP.
    """
    j = p[M_JIT]
    if vg >= 0.0:
        e = p[M_ETAS] * (vg - p[M_VS]) + log_sinhc(p[M_ETAS] * abs(p[M_VS]) * j)
        if e > MAX_EXP:
            e = MAX_EXP
        return (1.0 - x) * math.exp(e) / p[M_TAU0]
    e = p[M_ETAR] * (p[M_VR] - vg) + log_sinhc(p[M_ETAR] * abs(p[M_VR]) * j)
    if e > MAX_EXP:
        e = MAX_EXP
    return -x * math.exp(e) / p[M_TAU0]


@kernel
def rhs_mnt(x, v, t, p, dxdt):
    """x[0]: memristor state in [0, 1]; x[1]: s = (charge on the gate node)/(C_par + C_gs) [V].

    w = v - u is the voltage across the IN-G stack (memristor branch || R_par || C_par);
    ds/dt = (w/R_par + I_branch(x, w)) / (C_par + C_gs);  dx/dt from the netlist law with V(G, IN) = -w.
    """
    w = v - gate_voltage(x, v, p)
    dxdt[0] = switching_rate(x[0], -w, p)
    dxdt[1] = (w / p[M_RPAR] + branch_current(x[0], w, p)) / (p[M_CPAR] + p[M_CGS])


@kernel
def charge_mnt(x, v, p):
    """q = C_gs u: all charge entering the IN terminal ends on the gate capacitor."""
    return p[M_CGS] * gate_voltage(x, v, p)
