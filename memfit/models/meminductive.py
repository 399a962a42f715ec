r"""Meminductive elements: Biolek/Di Ventra/Pershin 2013 models L.1, L.3 and L.2.

All have the flux port ``"phi(i)"``: the ``current`` kernel returns the flux
phi [Wb] at device current I, and the device kernels take the *current* in
their ``v`` argument.  The simulator makes phi a circuit state: on a current
source the device voltage is ``dphi/dt`` by the chain rule (with the analytic
dI/dt of the source), on a voltage source behind ``R_s`` the current solves
``Phi(x, I) = phi`` and ``dphi/dt = V - R_s I``; phi is never differenced.

Definitions (Di Ventra, Pershin, Chua 2009, restated in Biolek et al. 2013):
a current-controlled meminductive system is ``phi = L(x, I, t) I, dx/dt =
f(x, I, t)``; an ideal meminductor has ``phi = L(q) I`` with ``q = int I dt``.
Fingerprint: a phi-I loop pinched at the origin whose lobes shrink as the
drive frequency rises.

``biolek2013_meminductor_ideal`` -- model L.1, ideal meminductor
------------------------------------------------------------------
State ``q_int`` = q = int I dt [C], starting at 0::

    dq/dt = I
    phi = L(q) I,   L(q) = Llow + (Lhigh - Llow) / (a exp(-4 k q) + 1),   a = (Lhigh - Lini)/(Lini - Llow)
    V = dphi/dt = L'(q) I^2 + L(q) dI/dt

(Biolek 2013 eqs. 52-54.)  Under ``I = I0 sin(w t)``: ``q = I0 (1 - cos w
t)/w`` and ``phi = L(q) I`` in closed form (the golden test).  Defaults from
the PSpice/LTspice listing of Supplementary Materials 9: Llow = 1 mH, Lhigh =
10 mH, Lini = 2 mH, k = 10e3 C^-1, driven by ``Iin 0 1 sin 0 5m 10`` (5 mA, 10
Hz, ``.tran 0 200m``: two periods, Fig. 20).  4 k q reaches 4 k 2 I0/w = 6.4:
L switches from 2 mH to ~9.9 mH and back each period.  Like C.1 it has no
threshold, drifts with any net charge, and may be active (the paper's caveats).

``biolek2013_meminductor`` (alias ``meminductor``) -- model L.3, bipolar meminductive system with threshold
------------------------------------------------------------------------------------------------------------
State ``x`` = L [H] in [Llow, Lhigh]::

    phi = x I                                                        (eq. 59)
    dx/dt = f(I) W(x, I)                                              (eq. 60)
    f(I) = beta (I - (|I + It| - |I - It|)/2)                         (eq. 61)   0 for |I| < It
    W(x, I) = H(I) H(Lhigh - x) + H(-I) H(x - Llow)                   (eq. 62)

with the listing's smoothing (Supplementary Materials 11): H(u) ->
``stps(u, b) = 1/(1 + exp(-u/b))``, |u| -> ``abss(u, b) = u (stps(u, b) -
stps(-u, b))``, ``W = stps(I, b1) stps(1 - x/Lhigh, b2) + stps(-I, b1)
stps(x/Llow - 1, b2)``; ``b1`` [A] and ``b2`` (relative) are parameters.  As
for the memcapacitor C.4 (see :mod:`memfit.models.memcapacitive` for the
details and numbers): each passage of |I| through It gives a short
wrong-sign pulse of the smoothed f (``beta b1^2 pi^2 / (12 |dI/dt|)`` per side,
~0.8 nH at the default drive); and memfit's guard multiplies a rate pointing
towards a limit by the listing's step moved 30 b2 inside the window,
``stps(d - 30 b2, b2)``, d the relative distance to that limit, so a
saturated x rests ~15-20 b2 inside [Llow, Lhigh] (the listing's SPICE solution
creeps ~15 b2 outside); farther than 50 b2 from a limit the rate is the
listing's to 1e-9.  Flagged stiff (boundary layer, short pulses).

Defaults (listing): Llow = 1 uH, Lhigh = 100 uH, Linit = 50 uH, beta = 10 MH/(A
s) (``10meg``), It = 10 uA, b1 = 10 nA, b2 = 1e-6; bench ``Isin 0 1 sin 0 12u
50k``, ``.tran 0 100u 40u 0.1u`` (Fig. 24).  Published behaviour (Sec. 5.3):
with the 12 uA drive the lower level of L is the initial 50 uH, not Llow --
the state swings up by ``dL = beta [2 I0 cos(t1)/w - It (pi - 2 t1)/w]``,
``t1 = asin(It/I0)``, = 49.4 uH in each positive half period (to 99.4 uH, just
below Lhigh) and back by the same amount in each negative one; only a larger
current drives L down to Llow.  The default stimulus is that current source;
a voltage drive needs a series resistor (the current then follows from the
flux) and may leave a DC offset in the current.

``biolek2013_meminductor_effective`` -- model L.2, effective meminductive system (negative control)
----------------------------------------------------------------------------------------------------
A coil L1 driven by I, coupled (M = k sqrt(L1 L2)) to a loop L2-R-C (Biolek
2013 eqs. 55-58, after Di Ventra & Pershin): ``phi = L1 I + M I_L2``,
``dq_C/dt = -I_L2``, ``L2 dI_L2/dt = q_C/C - R I_L2 - M dI/dt``.  memfit
integrates it without dI/dt using the states ``v_C = q_C/C`` [V] and ``j =
I_L2 + (M/L2) I`` [A] (flux linkage of L2 over L2)::

    I_L2 = j - (M/L2) I,   dv_C/dt = -I_L2/C,   dj/dt = (v_C - R I_L2)/L2
    phi = (L1 - M^2/L2) I + M j

It stores nothing (volatile) and its phi-I loop is **not pinched**: phi and I
cross zero at different times (Fig. 22) -- the control case for pinch tests.
Defaults from the listing (Supplementary Materials 10): L1 = L2 = 1 uH, k =
0.8, R = 1 Ohm, C = 1 uF, driven by ``I 0 in sin 0 1m 100k`` (1 mA, 100 kHz;
steady state after the loop's 2 us decay, shown at 40-60 us).

Not modelled: the OTA-based meminductor emulator of A. Singh,
"Mem-elements based Neuromorphic Hardware for Neural Network Application"
(arXiv:2403.03002; three OTAs and two MOS capacitors, TSMC 180 nm, reported
to work up to 60 MHz at 0.337 mW): its circuit equations were not retrievable
from the sources available to us (only a summary was), so no model is offered
rather than an invented one.

Variability hooks: as for the memcapacitors -- :func:`draw_parameters`
(re-exported here) gives parameter rows for ``simulate_batch``
(device-to-device) or one row per cycle (cycle-to-cycle); deterministic given
the seed.
"""

from __future__ import annotations

import numpy as np

from memfit.models._kernels import meminductive as _k
from memfit.models.base import DeviceModel, Parameter, StateVariable
from memfit.models.memcapacitive import BIOLEK2013, VARIED, draw_parameters
from memfit.models.registry import register

__all__ = [
    "biolek2013_meminductor",
    "biolek2013_meminductor_ideal",
    "biolek2013_meminductor_effective",
    "draw_parameters",
]

# ---------------------------------------------------------------------------
# L.1 ideal meminductor
# ---------------------------------------------------------------------------
_L1_PARAMS = (
    Parameter("Llow", "H", 1e-3, 1e-15, 1e3, "lower limit of the meminductance", log_scale=True),
    Parameter("Lhigh", "H", 10e-3, 1e-15, 1e3, "upper limit of the meminductance", log_scale=True),
    Parameter("Lini", "H", 2e-3, 1e-15, 1e3, "meminductance at q = 0 (must lie between Llow and Lhigh)",
              log_scale=True),
    Parameter("k", "1/C", 10e3, 1e-6, 1e12, "steepness of L(q): L switches over a charge of ~1/(4k)", log_scale=True),
)

biolek2013_meminductor_ideal = register(
    DeviceModel(
        name="biolek2013_meminductor_ideal",
        title="Ideal meminductor, sigmoidal L(q) (Biolek et al. 2013, model L.1)",
        reference=BIOLEK2013,
        states=(StateVariable("q_int", "C", -np.inf, np.inf, 0.0, "charge q = time integral of the device current"),),
        parameters=_L1_PARAMS,
        rhs=_k.rhs_l1,
        current=_k.flux_l1,
        doc=__doc__,
        default_stimulus="sine(amplitude=5e-3, f=10, cycles=2, mode='current')",
        sign_convention="positive charge (net positive current-time) raises L towards Lhigh",
        port="phi(i)",
    )
)

# ---------------------------------------------------------------------------
# L.3 bipolar meminductive system with threshold
# ---------------------------------------------------------------------------
_L3_PARAMS = (
    Parameter("Llow", "H", 1e-6, 1e-15, 1e3, "lower limit of x = L", log_scale=True),
    Parameter("Lhigh", "H", 100e-6, 1e-15, 1e3, "upper limit of x = L", log_scale=True),
    Parameter("Linit", "H", 50e-6, 1e-15, 1e3, "initial meminductance (initial state)", log_scale=True),
    Parameter("beta", "H/(A*s)", 10e6, 1e-6, 1e15, "rate of change of L per ampere beyond the threshold",
              log_scale=True),
    Parameter("It", "A", 10e-6, 0.0, 10.0, "threshold current: L is frozen for |I| < It"),
    Parameter("b1", "A", 10e-9, 1e-15, 0.1, "smoothing width of the current steps (listing's b1)", log_scale=True),
    Parameter("b2", "1", 1e-6, 1e-12, 0.1, "relative smoothing width of the window at Llow, Lhigh (listing's b2)",
              log_scale=True),
)

biolek2013_meminductor = register(
    DeviceModel(
        name="biolek2013_meminductor",
        title="Bipolar meminductive system with threshold (Biolek et al. 2013, model L.3)",
        reference=BIOLEK2013,
        states=(StateVariable("x", "H", "Llow", "Lhigh", "Linit", "meminductance L (x = L in Biolek 2013)"),),
        parameters=_L3_PARAMS,
        rhs=_k.rhs_l3,
        current=_k.flux_l3,
        doc=__doc__,
        default_stimulus="sine(amplitude=12e-6, f=50e3, cycles=2, mode='current')",
        stiff=True,
        sign_convention="I > It raises L towards Lhigh; I < -It lowers it towards Llow",
        port="phi(i)",
    )
)

# ---------------------------------------------------------------------------
# L.2 effective meminductive system
# ---------------------------------------------------------------------------
_L2_PARAMS = (
    Parameter("L1", "H", 1e-6, 1e-15, 1e3, "inductance of the driven coil", log_scale=True),
    Parameter("L2", "H", 1e-6, 1e-15, 1e3, "inductance of the coil in the L-C-R loop", log_scale=True),
    Parameter("k", "1", 0.8, 0.0, 1.0, "coupling coefficient, M = k sqrt(L1 L2)"),
    Parameter("R", "Ohm", 1.0, 0.0, 1e9, "loop resistance"),
    Parameter("C", "F", 1e-6, 1e-12, 1.0, "loop capacitance", log_scale=True),
)

biolek2013_meminductor_effective = register(
    DeviceModel(
        name="biolek2013_meminductor_effective",
        title="Effective meminductive system: coil coupled to an L-C-R loop (Biolek et al. 2013, model L.2)",
        reference=BIOLEK2013,
        states=(
            StateVariable("v_C", "V", -np.inf, np.inf, 0.0, "voltage of the loop capacitor, q_C / C"),
            StateVariable("j", "A", -np.inf, np.inf, 0.0,
                          "flux linkage of L2 divided by L2: I_L2 + (M/L2) I"),
        ),
        parameters=_L2_PARAMS,
        rhs=_k.rhs_l2,
        current=_k.flux_l2,
        doc=__doc__,
        default_stimulus="sine(amplitude=1e-3, f=100e3, cycles=6, mode='current')",
        stiff=True,
        sign_convention="linear and volatile: no switching polarity",
        port="phi(i)",
    )
)

VARIED.update(
    {
        "biolek2013_meminductor": ("Llow", "Lhigh", "beta", "It"),
        "biolek2013_meminductor_ideal": ("Llow", "Lhigh", "k"),
        "biolek2013_meminductor_effective": ("L1", "L2", "R", "C"),
    }
)
