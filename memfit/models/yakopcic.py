r"""Yakopcic generalized memristive device model (Yakopcic et al., IEEE EDL 2011; TCAD 2013).

Equations (state :math:`x \in [0, 1]`, V the device voltage)::

    I(t)  = a1 x sinh(b V)                    V >= 0
          = a2 x sinh(b V)                    V <  0
    dx/dt = eta g(V) f(x, V)
    g(V)  =  Ap (exp(V) - exp(Vp))            V >  Vp
          = -An (exp(-V) - exp(Vn))           V < -Vn
          =  0                                -Vn <= V <= Vp   (dead band: x exactly constant)
    f(x, V), eta V >= 0:  exp(-alphap (x - xp)) wp(x)      x >= xp,   else 1
    f(x, V), eta V <  0:  exp( alphan (x + xn - 1)) wn(x)  x <= 1 - xn, else 1
    wp(x) = (xp - x)/(1 - xp) + 1     (= 0 at x = 1)
    wn(x) = x/(1 - xn)                (= 0 at x = 0)

``exp(V)`` is ``exp(V / 1 V)``.  With eta = +1 a positive voltage increases
x (and the current, I is proportional to x); eta = -1 reverses the
direction.  f vanishes only at the bound being approached, so the state
stays in [0, 1] for exact integration and never sticks; the windows are
clamped at 0 outside [0, 1] (trial stages), and the integrators clamp x to
[0, 1] as a safety net.

The thresholds are not smoothed: g is continuous at Vp and -Vn
(``exp(V) - exp(Vp)`` vanishes there) and f is continuous at xp and 1 - xn;
only slopes jump, and the published model is used exactly.  ``sdirk4``'s
embedded error estimate underrates the kink in g(V(t)) where a step straddles
a threshold crossing out of the dead band (up to ~3e-4 relative current error
on 1 Hz sweeps at rtol = 1e-10).  The model declares Vp and -Vn as
``voltage_thresholds``, so under direct drive the crossings are integrator
breakpoints and both integrators meet 1e-6 (see the tests); behind a series
resistor they are not cut, and ``dopri5`` (the default here) is the safer
choice.  The model has no leakage floor (I -> 0 as x -> 0):
fits of log|I| need a state away from 0 (reference note, section 3).

Provenance
----------
The EDL 2011 and TCAD 2013 papers were **not read**.  The equations were
VERIFIED line by line against the author's SPICE subcircuit ("SPICE model for
memristive devices, Created by Chris Yakopcic, Last Update: 8/9/2011"),
copied in ``knowm/memristor-models-4-all:Yakopcic/LTSpice/memristor_yakopcic.sub``
(functions ``wp``, ``wn``, ``G``, ``F``, ``IVRel``; ``dx/dt = eta F G``).

Defaults (``yakopcic2011``): a1 = a2 = 0.17 A, b = 0.05 1/V, Vp = 0.16 V,
Vn = 0.15 V, Ap = An = 4000 1/s, xp = 0.3, xn = 0.5, alphap = 1, alphan = 5,
x0 = 0.11, eta = 1 -- the parameter set written (commented out) at the top of
that subcircuit, and the set of the Knowm Xyce demo
``Yakopcic/Xyce/yakopcic.cir`` (level-3 memristor, same values), which drives
it with a 1.2 V, 1 Hz sine: the characteristic drive used as
``default_stimulus`` here.  The reference note attributes this set to the EDL
2011 fit of the Boise State chalcogenide device; that attribution is
UNVERIFIED against the paper itself.  (The subcircuit's active line uses
Vp = 0.65 V, Vn = 0.56 V with otherwise identical values; the TCAD-2013
device table was not read.)

With these values the state moves fast once |V| exceeds the thresholds
(g = 8.6e3 1/s at 1.2 V: from x0 = 0.11 to xp in ~20 us, then slowed by the
window), so the 1 Hz demo drive pushes x essentially onto its bounds each
half period (within 1e-15 in a tight SciPy solution) and the loop is narrow;
it is pinched at the origin, and above ~1 kHz its lobe area falls as the
frequency rises.
"""

from memfit.models._kernels import yakopcic as _k
from memfit.models.base import DeviceModel, Parameter, Reference, StateVariable
from memfit.models.registry import register

YAKOPCIC2011 = Reference(
    "C. Yakopcic, T. M. Taha, G. Subramanyam, R. E. Pino, S. Rogers, 'A memristor device model', "
    "IEEE Electron Device Lett. 32(10), 1436-1438 (2011)",
    doi="10.1109/LED.2011.2163292",
    note=(
        "paper not read; equations checked against the author's SPICE subcircuit (8/9/2011, "
        "knowm/memristor-models-4-all:Yakopcic/LTSpice/memristor_yakopcic.sub); generalized form: Yakopcic, "
        "Taha, Subramanyam, Pino, IEEE TCAD 32(8), 1201-1214 (2013), doi:10.1109/TCAD.2013.2252057 (not read)"
    ),
)

_STATE = (
    StateVariable(
        "x", "1", 0.0, 1.0, 0.11,
        "normalised state (conducting fraction); the current is proportional to x",
    ),
)

_PARAMS = (
    Parameter("a1", "A", 0.17, 1e-12, 10.0, "I-V magnitude for V >= 0: I = a1 x sinh(b V)", log_scale=True),
    Parameter("a2", "A", 0.17, 1e-12, 10.0, "I-V magnitude for V < 0: I = a2 x sinh(b V)", log_scale=True),
    Parameter("b", "1/V", 0.05, 1e-3, 20.0, "I-V curvature (argument scale of sinh)", log_scale=True),
    Parameter("Vp", "V", 0.16, 0.0, 10.0, "positive threshold: no state motion for -Vn <= V <= Vp"),
    Parameter("Vn", "V", 0.15, 0.0, 10.0, "negative threshold magnitude (the threshold is at -Vn)"),
    Parameter("Ap", "1/s", 4000.0, 1e-6, 1e9, "state-rate magnitude above Vp: Ap (e^V - e^Vp)", log_scale=True),
    Parameter("An", "1/s", 4000.0, 1e-6, 1e9, "state-rate magnitude below -Vn: An (e^-V - e^Vn)", log_scale=True),
    Parameter("xp", "1", 0.3, 0.0, 0.99, "state above which motion towards x = 1 decays"),
    Parameter("xn", "1", 0.5, 0.0, 0.99, "motion towards x = 0 decays below x = 1 - xn"),
    Parameter("alphap", "1", 1.0, 0.0, 50.0, "decay rate of the motion towards x = 1"),
    Parameter("alphan", "1", 5.0, 0.0, 50.0, "decay rate of the motion towards x = 0"),
    Parameter(
        "eta", "1", 1.0, -1.0, 1.0,
        "direction of state motion relative to the voltage polarity (+1 or -1; 0 freezes the state)",
        integer=True,
    ),
)

yakopcic2011 = register(
    DeviceModel(
        name="yakopcic2011",
        title="Yakopcic generalized memristive device model (EDL 2011 parameter set)",
        reference=YAKOPCIC2011,
        states=_STATE,
        parameters=_PARAMS,
        rhs=_k.rhs,
        current=_k.current,
        doc=__doc__,
        default_stimulus="sine(amplitude=1.2, f=1, cycles=2)",
        sign_convention="with eta = +1, V > Vp moves x towards 1 (more current); V < -Vn towards 0",
        voltage_thresholds=(("Vp", 1.0), ("Vn", -1.0)),
    )
)
