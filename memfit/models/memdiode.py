r"""Memdiode models of Miranda, Suñé and Aguirre: quasi-static (QMM) and dynamic (DMM).

The memdiode is a diode with series resistance whose parameters are
interpolated in a memory state :math:`\lambda \in [0, 1]` (0 = HRS, 1 = LRS).

Port equation (both models; the authors' SPICE form)::

    I     = I0(lam) [exp(beta a(lam) V_D) - exp(-(1 - beta) a(lam) V_D)] + EI
    V_D   = V - I Rs(lam)                                 implicit in I
    I0(lam) = I_min + (I_max - I_min) lam                   linear interpolation
    a(lam)  = alpha_min + (alpha_max - alpha_min) lam
    Rs(lam) = Rs_min + (Rs_max - Rs_min) lam

(``GD``/``RS`` elements of the netlists: ``I0(x)*(exp(beta*A(x)*V(D,n)) -
exp(-(1-beta)*A(x)*V(D,n))) + EI`` behind ``RS p D R='Rss(V(H))'``.)  With
beta = 0.5 this is ``2 I0 sinh(a V_D / 2)``; the papers write ``I0 sinh(a (V
- I R))`` (as quoted in the reference note; papers not read) -- mind the
factor 2 and the halved exponent.  ``V`` is the voltage
across the memdiode, series resistance included (``V(p,n)``).

The port is implicit in I; :func:`memfit.models._kernels.memdiode.current`
solves ``diode(V_D) + EI = (V - V_D)/Rs`` for V_D with a safeguarded Newton
iteration bracketed by ``[0, V - EI Rs]`` (``[0, V]`` for EI = 0) to a
relative step of 1e-15, exponent arguments clamped at 600 so nothing
overflows, lam clamped into [0, 1].  For beta = 1 (one exponential) the exact
solution is ``I = W(a Rs I0 exp(a (V + Rs I0)))/(a Rs) - I0`` (Lambert W; the
golden test).  With EI = 0 the loop is pinched: I = 0 at V = 0 for every lam.

``memdiode_dmm`` -- dynamic memdiode model (Miranda & Suñé 2020; Aguirre, Suñé &
Miranda 2022)::

    d lam/dt = (1 - lam)/tau_S(V) - lam/tau_R(V)
    tau_S(V) = T0s exp(-V/V0s),    tau_R(V) = T0r exp(V/V0r)

This is the LTspice netlists' H-V circuit (a 1 V source, ``RH = T0s*exp(-V(p,n)/V0s)``
to node H, ``RD = T0r*exp(V(p,n)/V0r)`` from H to ground, C = 1 F), with V
the memdiode voltage.  The log of each rate 1/tau is clamped at +-80
(rates within 1.8e-35 ... 5.5e34 1/s), which changes nothing at any
realistic bias (with the defaults the argument is 26 at 3 V).  At constant V
the equation is linear in lam: ``lam(t) = lam_inf + (lam0 - lam_inf)
exp(-t/tau)``, ``lam_inf = tau_R/(tau_S + tau_R)``, ``tau = tau_S tau_R/(tau_S +
tau_R)`` (the golden test); it keeps lam in [0, 1] by itself.  Not
implemented: the snapback/snapforward (SBSF) terms and the HSPICE
"oxidation" variant (rates from V_D, split by polarity).

``memdiode_qmm`` -- quasi-static memdiode model (Miranda 2015; the "old"
HSPICE netlist written by the authors' fitting script)::

    Gs(V) = 1/(1 + exp(-eta_set (V - V_set)))       set ridge
    Gr(V) = 1/(1 + exp(-eta_res (V - V_res)))       reset ridge (V_res < 0)
    C_H0 * 1 Ohm * d lam/dt = min(Gr(V), max(Gs(V), lam)) - lam

(netlist: ``GH gnd! H cur='min(R(V(p,n)),max(S(V(p,n)),V(H)))'``, ``Rpar gnd!
H R=1``, ``CH H gnd! C='CH0'``).  In the quasi-static limit (C_H0 -> 0) lam
follows Miranda's recursive hysteron ``lam_k = min(Gr(V_k), max(Gs(V_k),
lam_{k-1}))``; the lag of the ODE behind it is at most C_H0 * 1 Ohm * max|d
G/dt| (the golden test).  min/max make the right-hand side continuous but
not differentiable in lam (kinks when lam meets a ridge); the integrators
handle this by step rejection.  The logistics are evaluated without
overflow.  Not implemented: the SBSF variant (``VSB``, ``ISF``).

Defaults and their provenance
-----------------------------
Papers not read (abstracts only; reference note section 5).  Values are from
the first author's public code for the Nat. Commun. 2024 review,
``aguirref/memristive_ANN_sim`` (snapshot ce51424; read for this module):

======================  ===================================================  =====================
parameter               source                                               status
======================  ===================================================  =====================
I_min = 1.8e-6 A        ``memdiode_LTspice_DMM_A2.sp``: imin                  verified (netlist)
I_max = 9.576e-5 A      DMM_A2: imax                                         verified (netlist)
alpha_min = 1.0 1/V     DMM_A2: alphamin                                     verified (netlist)
alpha_max = 0.9999 1/V  DMM_A2: alphamax                                     verified (netlist)
Rs_min = Rs_max = 30    DMM_A2: rsmin, rsmax [Ohm]                           verified (netlist)
beta = 0.5              DMM_A2: beta (also every other netlist)              verified (netlist)
EI = 0 A                DMM_A2: EI                                           verified (netlist)
T0s = 120.2042 s        DMM_A2: T0s                                          verified (netlist)
V0s = 0.09789 V         DMM_A2: V0s                                          verified (netlist)
T0r = 120.2042 s        **our choice** (netlist: NaN)                        not published
V0r = 0.09789 V         **our choice** (netlist: NaN)                        not published
eta_res = 50 1/V        fit_memdiode_SET_RESET.m starting value etares_opt   verified (script), not a fit
V_res = -0.5 V          same script, vres_opt                                verified (script), not a fit
C_H0 = 1e-4 F           same script, CH0_opt (sim_memd_DB.m uses 1e-3)       verified (script), not a fit
eta_set = 50 1/V        **our choice**: mirror of eta_res                    not published
V_set = 0.5 V           **our choice**: mirror of V_res                      not published
initial lam = 0         every netlist: ``H0=0`` (HRS)                        verified (netlist)
======================  ===================================================  =====================

**The reset branch of the DMM is not published:** the shipped DMM_A2 netlist
(and A4, C2 and the Frontiers set) has ``T0r = NaN`` and ``V0r = NaN`` --
only the set branch was fitted.  We set ``T0r = T0s`` and ``V0r = V0s``,
i.e. the reset at -V mirrors the set at +V (tau_R(-V) = tau_S(V); tau = 1 s
at |V| = V0s ln(T0s / 1 s) = 0.469 V).  A consequence at V = 0: lam relaxes
to 1/2 with tau = T0s/2 = 60 s (the A2 fit itself has tau_S(0) = 120 s, so
A2 is not a long-retention device).  Fit T0r, V0r to reset data before
trusting RESET.

**No fitted QMM netlist is published** in that repository: its fitting
script writes the QMM netlist from optimiser starting values (eta_res = 50,
V_res = -0.5 V, C_H0 = 1e-4 F, beta = 0.5; eta_set and V_set have no default
there).  The QMM here therefore uses the DMM_A2 port parameters (the same
device's I-V) with those starting values and the mirrored set ridge (eta_set
= 50 1/V, V_set = 0.5 V): a representative hysteron, not a fitted device.

Other parameter sets in the same code, not used: DMM_C2 (I_min 5e-7 A, I_max
9.5e-5 A, Rs 38.2 Ohm, T0s 8488 s, V0s 0.068 V), the Frontiers 2021 set
(I_max 2.5e-5 A, I_min 2.047e-7 A, alpha_max 0.1025, alpha_min 0, Rs 102.4
Ohm, T0s 1.098e4 s, V0s 3.889e-4 V) and the HSPICE "oxidation" set.

Characteristic drive
--------------------
``triangle(vmax=1, vmin=-1, f=1, cycles=2)``.  DMM: tau_S = 1 s at 0.47 V
and 4.4 ms at 1 V, so the device SETs between about 0.7 and 1.0 V on the
rising leg (lam = 0.5 at 0.8 V) and RESETs symmetrically on the negative
leg; LRS/HRS current ratio about 50 at 1 V.  QMM: lam jumps to the set ridge around V_set = 0.5 V
and back down around V_res = -0.5 V (ridge width 1/eta = 20 mV).

Integration
-----------
The DMM is stiff (``stiff=True``, so ``method="auto"`` picks ``sdirk4``): its
rates grow as exp(|V|/V0s), e.g. 1/tau_S = 6e6 1/s at 2 V.  On the default
sweep both methods take a few hundred to two thousand steps, but at +-2 V
dopri5 needs ~2e5 steps where sdirk4 needs ~2e3, and at +-3 V dopri5
exhausts 1e7 steps.  The QMM is not marked stiff: with C_H0 = 1e-4 F its
relaxation limits dopri5 to steps of ~3 tau (about 7e3 steps for the
default 2 s sweep, 0.04 s), and sdirk4 is no faster because the min/max
kinks change the Jacobian between 0 and -1/tau within a step, which its
frozen-Jacobian Newton iteration cannot follow; both cost ~duration/C_H0
steps, so keep C_H0 well below the sweep time but not needlessly small (its
lower bound, 1e-7 F, is set by that cost, not by physics: C_H0 is a
numerical device of the quasi-static model).

Sign convention: V > 0 drives lam towards 1 (SET, LRS); V < 0 towards 0.
"""

from memfit.models._kernels import memdiode as _k
from memfit.models.base import DeviceModel, Parameter, Reference, StateVariable
from memfit.models.registry import register

_CODE = (
    "equations and defaults checked against the first author's SPICE netlists in aguirref/memristive_ANN_sim "
    "(snapshot ce51424; Aguirre et al., Nat. Commun. 15, 1974 (2024), doi:10.1038/s41467-024-45670-9)"
)

MIRANDA2015 = Reference(
    "E. Miranda, 'Compact model for the major and minor hysteretic I-V loops in nonlinear memristive devices', "
    "IEEE Trans. Nanotechnol. 14(5), 787-789 (2015)",
    doi="10.1109/TNANO.2015.2455235",
    note="paper not read; QMM " + _CODE + ": models/memdiode fitting script fit_memdiode_SET_RESET.m ('old' netlist)",
)
MIRANDA2020 = Reference(
    "E. Miranda, J. Suñé, 'Memristive state equation for bipolar resistive switching devices based on a dynamic "
    "balance model and its equivalent circuit representation', IEEE Trans. Nanotechnol. 19, 837-840 (2020)",
    doi="10.1109/TNANO.2020.3039391",
    note=(
        "paper not read (abstract only); SPICE form as in F. L. Aguirre, J. Suñé, E. Miranda, 'SPICE implementation "
        "of the dynamic memdiode model for bipolar resistive switching devices', Micromachines 13(2), 330 (2022), "
        "doi:10.3390/mi13020330 (abstract only); DMM " + _CODE
        + ": models/memdiode/DMM/LTspice/memdiode_LTspice_DMM_A2.sp"
    ),
)

_STATE = (StateVariable("lam", "1", 0.0, 1.0, 0.0, "memory state (0 = HRS, 1 = LRS)"),)

_PORT = (
    Parameter("I_min", "A", 1.8e-6, 1e-15, 1.0, "diode current prefactor I0 in HRS (lam = 0)", log_scale=True),
    Parameter("I_max", "A", 9.576e-5, 1e-15, 1.0, "diode current prefactor I0 in LRS (lam = 1)", log_scale=True),
    Parameter("alpha_min", "1/V", 1.0, 0.0, 50.0, "exponential factor alpha in HRS"),
    Parameter("alpha_max", "1/V", 0.9999, 0.0, 50.0, "exponential factor alpha in LRS"),
    Parameter("Rs_min", "Ohm", 30.0, 0.0, 1e6, "series resistance in HRS"),
    Parameter("Rs_max", "Ohm", 30.0, 0.0, 1e6, "series resistance in LRS"),
    Parameter("beta", "1", 0.5, 0.0, 1.0, "asymmetry: share beta of alpha V_D in the forward exponential"),
    Parameter("EI", "A", 0.0, -1e-3, 1e-3, "offset current (0: pinched loop)"),
)

_DMM = (
    Parameter("T0s", "s", 120.2042, 1e-15, 1e15, "set time prefactor: tau_S = T0s exp(-V/V0s)", log_scale=True),
    Parameter("V0s", "V", 0.09789, 1e-5, 10.0, "set voltage slope", log_scale=True),
    Parameter(
        "T0r", "s", 120.2042, 1e-15, 1e15,
        "reset time prefactor: tau_R = T0r exp(V/V0r) (not published; mirror of T0s)", log_scale=True,
    ),
    Parameter("V0r", "V", 0.09789, 1e-5, 10.0, "reset voltage slope (not published; mirror of V0s)", log_scale=True),
)

_QMM = (
    Parameter("eta_set", "1/V", 50.0, 1e-2, 1e4, "slope of the set ridge Gs(V)", log_scale=True),
    Parameter("V_set", "V", 0.5, 0.0, 10.0, "centre of the set ridge (Gs = 1/2)"),
    Parameter("eta_res", "1/V", 50.0, 1e-2, 1e4, "slope of the reset ridge Gr(V)", log_scale=True),
    Parameter("V_res", "V", -0.5, -10.0, 0.0, "centre of the reset ridge (Gr = 1/2)"),
    Parameter(
        "C_H0", "F", 1e-4, 1e-7, 1e3,
        "relaxation capacitance: tau = C_H0 * 1 Ohm (a numerical device; steps grow as duration/tau)", log_scale=True,
    ),
)

_SIGN = "V > 0 drives lam towards 1 (SET, LRS); V < 0 towards 0 (RESET, HRS)"
_STIMULUS = "triangle(vmax=1.0, vmin=-1.0, f=1, cycles=2)"

memdiode_dmm = register(
    DeviceModel(
        name="memdiode_dmm",
        title="Dynamic memdiode model (DMM), DMM_A2 parameters",
        reference=MIRANDA2020,
        states=_STATE,
        parameters=_PORT + _DMM,
        rhs=_k.rhs_dmm,
        current=_k.current,
        doc=__doc__,
        default_stimulus=_STIMULUS,
        stiff=True,
        sign_convention=_SIGN,
    )
)

memdiode_qmm = register(
    DeviceModel(
        name="memdiode_qmm",
        title="Quasi-static memdiode model (QMM), logistic-ridge hysteron",
        reference=MIRANDA2015,
        states=_STATE,
        parameters=_PORT + _QMM,
        rhs=_k.rhs_qmm,
        current=_k.current,
        doc=__doc__,
        default_stimulus=_STIMULUS,
        sign_convention=_SIGN,
    )
)
