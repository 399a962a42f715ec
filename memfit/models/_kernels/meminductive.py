"""Kernels of the meminductive models (flux port: ``current`` returns phi [Wb]).

The device kernels of a ``"phi(i)"`` model take the device *current* i [A]
in their ``v`` argument (see :mod:`memfit.models.base`).  Parameter orders:
the ``L1_*``, ``L3_*`` and ``L2_*`` constants.

* Biolek/Di Ventra/Pershin 2013 model L.1, the ideal meminductor with a
  sigmoidal L(q), state q = int I dt (``rhs_l1``, ``flux_l1``);
* model L.3, the bipolar meminductive system with threshold, state x = L
  (``rhs_l3``, ``flux_l3``), with the listing's logistic smoothing;
* model L.2, the effective (volatile, non-pinched) meminductive system of a
  coil coupled to an L-C-R loop (``rhs_l2``, ``flux_l2``).

The smoothed steps, threshold drive, window and sigmoid are shared with the
memcapacitive kernels (:mod:`memfit.models._kernels.memcapacitive`).  Numba's
on-disk cache does not notice edits to callees in another module: after
changing those helpers, remove this module's cache files
(``__pycache__/meminductive.*.nbi``/``.nbc``) or touch this file.
"""

from memfit._jit import kernel

from memfit.models._kernels.memcapacitive import sigmoid_element, threshold_rate

# --- L.1 ideal meminductor -------------------------------------------------
L1_LLOW = 0  # lower limit of the meminductance [H]
L1_LHIGH = 1  # upper limit [H]
L1_LINI = 2  # L at q = 0 [H]
L1_K = 3  # steepness of L(q) [1/C]

# --- L.3 bipolar meminductive system with threshold -------------------------
L3_LLOW = 0  # lower limit of x = L [H]
L3_LHIGH = 1  # upper limit [H]
L3_LINIT = 2  # initial L [H] (initial state only)
L3_BETA = 3  # switching rate [H/(A s)]
L3_IT = 4  # threshold current [A]
L3_B1 = 5  # smoothing width of the current steps [A]
L3_B2 = 6  # relative smoothing width of the window steps [1]

# --- L.2 effective meminductive system --------------------------------------
L2_L1 = 0  # driven coil [H]
L2_L2 = 1  # coil of the L-C-R loop [H]
L2_K = 2  # coupling coefficient [1], M = k sqrt(L1 L2)
L2_R = 3  # loop resistance [Ohm]
L2_C = 4  # loop capacitance [F]


# ---------------------------------------------------------------------------
# L.1
# ---------------------------------------------------------------------------
@kernel
def rhs_l1(x, i, t, p, dxdt):
    """dq/dt = I (the state is the charge q = int I dt)."""
    dxdt[0] = i


@kernel
def flux_l1(x, i, p):
    """phi = L(q) I."""
    return sigmoid_element(x[0], p[L1_LLOW], p[L1_LHIGH], p[L1_LINI], p[L1_K]) * i


# ---------------------------------------------------------------------------
# L.3
# ---------------------------------------------------------------------------
@kernel
def rhs_l3(x, i, t, p, dxdt):
    """dx/dt = f(I) W(x, I), x = L (Biolek 2013 eqs. 60-62, smoothed as in the listing)."""
    dxdt[0] = threshold_rate(x[0], i, p[L3_BETA], p[L3_IT], p[L3_LLOW], p[L3_LHIGH], p[L3_B1], p[L3_B2])


@kernel
def flux_l3(x, i, p):
    """phi = x I (eq. 59)."""
    return x[0] * i


# ---------------------------------------------------------------------------
# L.2
# ---------------------------------------------------------------------------
@kernel
def _mutual(p):
    """M = k sqrt(L1 L2) [H]."""
    return p[L2_K] * (p[L2_L1] * p[L2_L2]) ** 0.5


@kernel
def rhs_l2(x, i, t, p, dxdt):
    """x[0] = v_C = q_C/C [V]; x[1] = j = I_L2 + (M/L2) I [A] (flux linkage of L2 over L2).

    With I_L2 = j - (M/L2) I (Biolek 2013 eqs. 56-57 rewritten without dI/dt):
    dv_C/dt = -I_L2 / C,   dj/dt = (v_C - R I_L2) / L2.
    """
    m = _mutual(p)
    il2 = x[1] - m / p[L2_L2] * i
    dxdt[0] = -il2 / p[L2_C]
    dxdt[1] = (x[0] - p[L2_R] * il2) / p[L2_L2]


@kernel
def flux_l2(x, i, p):
    """phi = L1 I + M I_L2 = (L1 - M^2/L2) I + M j (eqs. 55, 58)."""
    m = _mutual(p)
    return (p[L2_L1] - m * m / p[L2_L2]) * i + m * x[1]
