r"""HP linear ion-drift memristor (Strukov et al. 2008) and its classic window functions.

Equations (normalised state :math:`x = w/D \in [0, 1]`, x = 1 is fully ON)::

    v = [R_on x + R_off (1 - x)] i                     port equation (Strukov eq. 5)
    dx/dt = k i f(x, i),     k = mu_v R_on / D^2        state equation (Strukov eq. 6, Biolek 2009 eq. 4)

Windows ``f``:

``strukov2008``
    f = 1 (linear drift, the original model); the integrator clamps x to [0, 1].
``joglekar2009``
    f = 1 - (2x - 1)^(2p) (Joglekar & Wolf 2009).  Zero at both ends: a state
    placed exactly at 0 or 1 never moves ("sticks").
``biolek2009``
    f = 1 - (x - stp(-i))^(2p), stp(u) = 1 for u >= 0 (Biolek, Biolek, Biolkova
    2009, eqs. 10-11).  Zero only at the boundary the current drives towards,
    so the state leaves a boundary when the current reverses.
``prodromakis2011``
    f = j (1 - [(x - 0.5)^2 + 0.75]^p) (Prodromakis et al. 2011).

Windows are clamped at zero outside [0, 1] so that a trial step that
overshoots a boundary cannot run away (reference note, pitfall 3).

Defaults: R_on = 100 Ohm, R_off = 16 kOhm, D = 10 nm, mu_v = 1e-14 m^2/(V s)
(Strukov 2008; the HP device set used by Biolek 2009 Fig. 5 and the TEAM
report Fig. 2), initial R = 11 kOhm, i.e. x0 = (R_off - R_init)/(R_off - R_on)
= 0.3145 (Biolek 2009 Fig. 5).  Biolek 2009 uses p = 10; Joglekar p = 2 is the
common choice of the window paper's examples; Prodromakis p = 2, j = 1 is a
representative setting inside the range the paper explores (not a fit).
Characteristic drive: 1.2 V, 1 Hz sine (Biolek 2009 Fig. 5).

Without window, while x stays inside (0, 1) the model has the closed form
``M(t)^2 = M0^2 - 2 k (R_off - R_on) phi(t)``, ``phi = int v dt`` (the golden
test of the integrators).
"""

from memfit.models._kernels import hp
from memfit.models.base import DeviceModel, Parameter, Reference, StateVariable
from memfit.models.registry import register

STRUKOV = Reference(
    "D. B. Strukov, G. S. Snider, D. R. Stewart, R. S. Williams, 'The missing memristor found', Nature 453, 80-83 (2008)",
    doi="10.1038/nature06932",
    note="equations 5-6 and parameter values read in the paper",
)
JOGLEKAR = Reference(
    "Y. N. Joglekar, S. J. Wolf, 'The elusive memristor: properties of basic electrical circuits', Eur. J. Phys. 30, 661 (2009)",
    doi="10.1088/0143-0807/30/4/001",
    note="window form as quoted by Biolek 2009 eq. 5 and Kvatinsky 2013 eq. 5",
)
BIOLEK = Reference(
    "Z. Biolek, D. Biolek, V. Biolkova, 'SPICE model of memristor with nonlinear dopant drift', Radioengineering 18(2), 210-214 (2009)",
    url="https://www.radioeng.cz/fulltexts/2009/09_02_210_214.pdf",
    note="window eqs. 10-11 and the PSpice subcircuit read in the paper",
)
PRODROMAKIS = Reference(
    "T. Prodromakis, B. P. Peh, C. Papavassiliou, C. Toumazou, 'A versatile memristor model with nonlinear dopant kinetics', IEEE TED 58(9), 3099-3105 (2011)",
    doi="10.1109/TED.2011.2158004",
    note="window form as quoted in Kvatinsky 2013 (TEAM) eq. 8",
)

_STATE = (
    StateVariable("x", "1", 0.0, 1.0, 0.3145, "normalised doped-region width w/D (1 = ON, R_on)"),
)


def _params(p_default: float | None, with_j: bool = False):
    ps = [
        Parameter("R_on", "Ohm", 100.0, 1e-3, 1e12, "resistance when fully doped (x = 1)", log_scale=True),
        Parameter("R_off", "Ohm", 16e3, 1e-3, 1e12, "resistance when undoped (x = 0)", log_scale=True),
        Parameter("D", "m", 10e-9, 1e-10, 1e-5, "film thickness", log_scale=True),
        Parameter("mu_v", "m^2/(V*s)", 1e-14, 1e-22, 1e-6, "dopant (oxygen-vacancy) mobility", log_scale=True),
    ]
    if p_default is not None:
        ps.append(Parameter("p", "1", p_default, 1.0, 50.0, "window exponent (steepness near the boundaries)", integer=True))
    if with_j:
        ps.append(Parameter("j", "1", 1.0, 1e-3, 1e3, "window scale (maximum of f is j(1 - 0.75^p))"))
    return tuple(ps)


# The windowless model has no exponent; pad the vector so every variant shares P_* indices.
_NOWIN = _params(None)

strukov2008 = register(
    DeviceModel(
        name="strukov2008",
        title="HP linear ion drift, no window",
        reference=STRUKOV,
        states=_STATE,
        parameters=_NOWIN,
        rhs=hp.rhs_nowindow,
        current=hp.current,
        doc=__doc__,
        default_stimulus="sine(amplitude=1.0, f=1, cycles=2)",
        sign_convention="positive current moves x towards 1 (ON, low resistance)",
    )
)

joglekar2009 = register(
    DeviceModel(
        name="joglekar2009",
        title="HP linear ion drift with the Joglekar window",
        reference=JOGLEKAR,
        states=_STATE,
        parameters=_params(2.0),
        rhs=hp.rhs_joglekar,
        current=hp.current,
        doc=__doc__,
        default_stimulus="sine(amplitude=1.2, f=1, cycles=2)",
        sign_convention="positive current moves x towards 1 (ON, low resistance)",
    )
)

biolek2009 = register(
    DeviceModel(
        name="biolek2009",
        title="HP linear ion drift with the Biolek window",
        reference=BIOLEK,
        states=_STATE,
        parameters=_params(10.0),
        rhs=hp.rhs_biolek,
        current=hp.current,
        doc=__doc__,
        default_stimulus="sine(amplitude=1.2, f=1, cycles=2)",
        sign_convention="positive current moves x towards 1 (ON, low resistance)",
    )
)

prodromakis2011 = register(
    DeviceModel(
        name="prodromakis2011",
        title="HP linear ion drift with the Prodromakis window",
        reference=PRODROMAKIS,
        states=_STATE,
        parameters=_params(2.0, with_j=True),
        rhs=hp.rhs_prodromakis,
        current=hp.current,
        doc=__doc__,
        default_stimulus="sine(amplitude=1.2, f=1, cycles=2)",
        sign_convention="positive current moves x towards 1 (ON, low resistance)",
    )
)
