r"""VTEAM: the Voltage ThrEshold Adaptive Memristor model (Kvatinsky et al. 2015).

Equations (normalised state :math:`x = (w - w_{on})/(w_{off} - w_{on}) \in [0, 1]`;
x = 0 is fully ON, ``R_on``; x = 1 is fully OFF, ``R_off``)::

    dx/dt = g(v) f(x, v)
    g(v)  = k_off (v/v_off - 1)**alpha_off     v > v_off > 0     (OFF switching, x -> 1)
          = 0                                  v_on <= v <= v_off (sub-threshold: no motion at all)
          = k_on  (v/v_on - 1)**alpha_on       v < v_on < 0      (ON switching,  x -> 0; k_on < 0)

    linear port       (vteam, vteam_biolek):  v = [R_on + (R_off - R_on) x] i
    exponential port  (vteam_exp):            v = R_on exp(lambda x) i,   lambda = ln(R_off/R_on)

(VTEAM state equation and both port equations as restated by Biolek, Kolka,
Biolkova, Biolek & Kvatinsky 2021, eqs. 1-3; identical to the VTEAM branch
``model==4`` of the Technion Verilog-A and MATLAB code.)  The rates are the
published ones divided by the state range, ``k [1/s] = k [m/s] / (w_off -
w_on)``: in normalised form only that ratio is identifiable, so it is the
parameter (see ``baselines_and_pitfalls.md``, pitfall 2).

Windows ``f``
-------------
``vteam``, ``vteam_exp``
    No window (f = 1, the rectangular window), with saturation: the
    integrators clamp x to [0, 1] after every step ("integration with
    saturation", Biolek et al. 2021 sec. III-B).  This is the configuration
    the Technion manual recommends for VTEAM (``window_type = 0``), and the
    Technion code clips ``x`` to ``[0, D]`` the same way.  The exact solution
    is the projection of ``x0 + int g dt`` onto [0, 1]: the state rests at the
    bound the drive pushes it into and leaves it as soon as the drive
    reverses, so it never sticks.  In the kernel the rate is zeroed only when
    x sits *exactly* on that bound (where the clamp puts a saturated state),
    so a resting state costs the step-size control nothing, while trial
    stages that overshoot a bound see the unchanged rate (no jump in the
    right-hand side for the error estimate or the implicit stage equations).
    An integrator that does not clamp (e.g. ``scipy.integrate.solve_ivp``)
    reproduces these two variants only while x stays inside (0, 1); use
    ``vteam_biolek`` where an unclamped solver must follow saturation.
``vteam_biolek``
    The Biolek window in VTEAM orientation: ``f = 1 - x**(2p)`` while g > 0,
    ``f = 1 - (1 - x)**(2p)`` while g < 0 (Biolek, Biolek & Biolkova 2009,
    eqs. 10-11; the Technion code's VTEAM Biolek window, ``1 - (x/D -
    stp(-v))**(2p)``).  It vanishes only at the bound being approached (no
    stick effect) and keeps x inside [0, 1] without clamping.  The symmetric
    windows that vanish at both ends (Joglekar, Prodromakis) are not offered
    here: they make both bounds fixed points (the stick effect, Biolek et al.
    2021 sec. II).  The Kvatinsky window is not implemented.

The thresholds are not smoothed: g is continuous at v_off and v_on (the
bracket vanishes there) for every alpha > 0, only its slope jumps (for
alpha <= 1), so the published model is used exactly.  A step that straddles a
kink loses the integrator's order (and ``sdirk4``'s embedded estimate can
underrate it: about 1e-6 relative current error on a 1 Hz sweep with alpha = 1
at rtol = 1e-10).  The models therefore declare both thresholds
(``voltage_thresholds``): when the source drives the device directly, the
integrators stop at the crossing times, as at pulse edges, and the error
follows the tolerance again.  Behind a series resistor the device voltage is
not known in advance and the crossings are not cut; prefer ``dopri5`` there
when they matter at that level.  Powers are evaluated only
inside their active branch (no NaN for fractional alpha), in log form with a
capped exponent (no overflow at absurd bias).

Defaults and their provenance
-----------------------------
The VTEAM paper (TCAS-II 62(8), 2015) itself was **not read**; its own table
of fitted parameters was not found in the stores searched (UNVERIFIED).  The
defaults are the VTEAM column of the "suggested parameters" table of the
Technion *Manual for Using Memristor Models* (D. Fliter, K. Talisveyberg,
Dec 2011; edited by M. Ramadan, a VTEAM co-author, Nov 2014), distributed
with the authors' Verilog-A/MATLAB models (asic2.group/tools/memristor-models;
copy read in ``zp2130/memristor_models:Manual.pdf``, VERIFIED):

=============  ==================  =====================================
parameter      manual value        here
=============  ==================  =====================================
R_on, R_off    50 Ohm, 1000 Ohm    50 Ohm, 1000 Ohm
D = x_off      3e-9 m (x_on = 0)   (normalised away)
k_off          5e-4 m/s            5e-4 / 3e-9 = 1.667e5 1/s
k_on           -10 m/s             -10 / 3e-9 = -3.333e9 1/s
v_off, v_on    0.02 V, -0.2 V      0.02 V, -0.2 V
alpha_off/on   1, 3                1, 3
initial state  0.5                 x0 = 0.5
window         none                ``vteam``
source         1 V sine, 50 MHz    ``default_stimulus``
=============  ==================  =====================================

The same numbers are MemTorch's VTEAM defaults
(``coreylammie/MemTorch:memtorch/bh/memristor/VTEAM.py``, whose hysteresis
plot also uses 1 V, 50 MHz).  Whether they are one of the fits in the VTEAM
paper is UNVERIFIED.  Other sets seen but not used: the Technion Verilog-A
(Dec 2015) shares one TEAM/VTEAM parameter block whose defaults (K_off =
-K_on = 8e-13 m/s, v_on = -1.78 V, v_off = 0.0115 V, alpha = 3, R_on = 100 Ohm,
R_off = 200 kOhm) are code placeholders, not a device; the MATLAB file uses
k_off = -k_on = 8e-5 m/s, v_off = -v_on = 0.02 V; a MAGIC-logic README quotes
R_on 1 kOhm, R_off 300 kOhm, k_on -216.2 m/s, k_off 0.091 m/s, alpha 4/4,
v_on -1.5 V, v_off 0.3 V, D = 3 nm (reference note: UNVERIFIED).  The Biolek
window exponent p = 10 is the value Biolek et al. 2021 (sec. V-B) used for
their Biolek-window VTEAM models (VERIFIED in that text).

Characteristic drive
--------------------
1 V, 50 MHz sine (the manual's): ON switching (v < -0.2 V) is
near-instantaneous (|g| ~ 2e11 1/s at -1 V), OFF switching gradual (g ~ 8e6
1/s at +1 V, a few % of the range per cycle), so the loop is strongly
asymmetric.  Under slow sweeps such as ``triangle(vmax=1.2, vmin=-1.2, f=1)``
the device switches abruptly as soon as the threshold is crossed (fully OFF
about 0.2 ms after v passes v_off, i.e. at ~21 mV; fully ON ~0.5 ms after v
passes v_on, at ~-0.203 V): the I-V curve is two straight lines (R_off for
v > 0, R_on for v < v_on on the way down and for v < 0 on the way back)
joined by vertical jumps, pinched at the origin, with its hysteresis between
v_on and 0 -- the expected picture for a nanosecond switch driven at 1 Hz.

Sign convention: v > v_off moves x towards 1 (OFF, R_off); v < v_on moves x
towards 0 (ON, R_on).  This is the VTEAM paper's convention; devices that
switch the other way (e.g. the CNN memristor of Biolek et al. 2021, whose
table has v_on > 0 > v_off) are described by swapping the roles of ON and
OFF, not by negative thresholds.
"""

from memfit.models._kernels import vteam as _k
from memfit.models.base import DeviceModel, Parameter, Reference, StateVariable
from memfit.models.registry import register

VTEAM = Reference(
    "S. Kvatinsky, M. Ramadan, E. G. Friedman, A. Kolodny, 'VTEAM: A general model for voltage-controlled "
    "memristors', IEEE Trans. Circuits Syst. II 62(8), 786-790 (2015)",
    doi="10.1109/TCSII.2015.2433536",
    note=(
        "paper not read; equations checked against Biolek, Kolka, Biolkova, Biolek, Kvatinsky, IEEE Access 9, "
        "30242 (2021), doi:10.1109/ACCESS.2021.3059241, eqs. 1-3 and 7, and the Technion Verilog-A/MATLAB code "
        "(Dec 2015); defaults from the Technion 'Manual for Using Memristor Models' (Nov 2014), VTEAM column"
    ),
)
BIOLEK2021 = Reference(
    "D. Biolek, Z. Kolka, V. Biolkova, Z. Biolek, S. Kvatinsky, '(V)TEAM for SPICE simulation of memristive "
    "devices with improved numerical performance', IEEE Access 9, 30242-30255 (2021)",
    doi="10.1109/ACCESS.2021.3059241",
    note="VTEAM eqs. 1-3 and the Biolek-window variant (sec. V-B, p = 10) read in the CC BY text",
)

#: The state range of the Technion manual's VTEAM device (x_off - x_on = D), used to normalise its rates.
MANUAL_D = 3e-9  # m

_STATE = (
    StateVariable(
        "x", "1", 0.0, 1.0, 0.5,
        "normalised state (w - w_on)/(w_off - w_on): 0 = ON (R_on), 1 = OFF (R_off)",
    ),
)

_PARAMS = (
    Parameter("R_on", "Ohm", 50.0, 1e-3, 1e12, "resistance in the ON state (x = 0)", log_scale=True),
    Parameter("R_off", "Ohm", 1000.0, 1e-3, 1e12, "resistance in the OFF state (x = 1)", log_scale=True),
    Parameter(
        "k_off", "1/s", 5e-4 / MANUAL_D, 1e-6, 1e13,
        "OFF rate constant (> 0): dx/dt = k_off (v/v_off - 1)^alpha_off above v_off", log_scale=True,
    ),
    Parameter(
        "k_on", "1/s", -10.0 / MANUAL_D, -1e13, -1e-6,
        "ON rate constant (< 0): dx/dt = k_on (v/v_on - 1)^alpha_on below v_on", log_scale=True,
    ),
    Parameter("v_off", "V", 0.02, 1e-3, 10.0, "OFF threshold voltage (> 0)"),
    Parameter("v_on", "V", -0.2, -10.0, -1e-3, "ON threshold voltage (< 0)"),
    Parameter("alpha_off", "1", 1.0, 0.1, 15.0, "OFF nonlinearity exponent"),
    Parameter("alpha_on", "1", 3.0, 0.1, 15.0, "ON nonlinearity exponent"),
)

_P_BIOLEK = Parameter("p", "1", 10.0, 1.0, 50.0, "Biolek window exponent (steepness near the bounds)", integer=True)

_SIGN = "v > v_off > 0 moves x towards 1 (OFF, R_off); v < v_on < 0 moves x towards 0 (ON, R_on)"
_STIMULUS = "sine(amplitude=1.0, f=50e6, cycles=2)"
#: g(v) has kinks at both thresholds (continuous, not smoothed): integrator breakpoints under direct drive
_THRESHOLDS = (("v_off", 1.0), ("v_on", 1.0))

vteam = register(
    DeviceModel(
        name="vteam",
        title="VTEAM voltage-threshold memristor, linear port, no window (saturating state)",
        reference=VTEAM,
        states=_STATE,
        parameters=_PARAMS,
        rhs=_k.rhs,
        current=_k.current,
        doc=__doc__,
        default_stimulus=_STIMULUS,
        sign_convention=_SIGN,
        voltage_thresholds=_THRESHOLDS,
    )
)

vteam_exp = register(
    DeviceModel(
        name="vteam_exp",
        title="VTEAM voltage-threshold memristor, exponential port, no window (saturating state)",
        reference=VTEAM,
        states=_STATE,
        parameters=_PARAMS,
        rhs=_k.rhs,
        current=_k.current_exp,
        doc=__doc__,
        default_stimulus=_STIMULUS,
        sign_convention=_SIGN,
        voltage_thresholds=_THRESHOLDS,
    )
)

vteam_biolek = register(
    DeviceModel(
        name="vteam_biolek",
        title="VTEAM voltage-threshold memristor, linear port, Biolek window",
        reference=BIOLEK2021,
        states=_STATE,
        parameters=_PARAMS + (_P_BIOLEK,),
        rhs=_k.rhs_biolek,
        current=_k.current,
        doc=__doc__,
        default_stimulus=_STIMULUS,
        sign_convention=_SIGN,
        voltage_thresholds=_THRESHOLDS,
    )
)
