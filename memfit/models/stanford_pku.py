r"""Stanford/PKU metal-oxide RRAM model (Guan, Yu, Wong 2012; Jiang et al. 2014/2016), standard (deterministic) model.

One dominant filament; the state is the tunnelling gap g [m] between its tip
and the top electrode, g in [gap_min, gap_max] (small gap = LRS).  With
V = V(TE, BE) the device voltage (official Verilog-A v1.0.0, ``rram_v_1_0_0.va``)::

    I      = I0 exp(-g/g0) sinh(V/V0)                                  port equation
    T      = T0 + |V I| Rth                                             algebraic self-heating
    gamma  = gamma0 - beta (g / 1 nm)^3        (V >= 0)                 local field enhancement
           = gamma0_reset - beta (g / 1 nm)^3  (V <  0; the code's literal 16)
    F      = gamma |V| / tox                                            local field
    dg/dt  = -Vel0 exp(-q Ea / (kB T)) sinh(gamma a0 q V / (tox kB T)) * w(F) * b(g)

Positive V shrinks the gap (SET), negative V grows it (RESET).  Ea is in eV
(``q Ea / (kB T) = Ea / (kB T / q)``, kB/q = 8.617333e-5 V/K, CODATA 2018).
Only the standard model (``model_switch = 0``) is implemented: the dynamic
model adds N(0,1) deltaGap0 / (1 + exp((T_crit - T)/T_smth)) to dg/dt once
per simulator step, i.e. noise whose size depends on the step (an SDE that
needs its own integrator), so deltaGap0, T_crit, T_smth are not parameters.

What is changed against the official v1.0.0 code, and why
-----------------------------------------------------------
1. **Field threshold (F_min) smoothed.**  The code sets gamma = 0 when
   ``gamma |V|/tox < F_min``: dg/dt jumps between a finite value and 0, a true
   discontinuity in V *and in g* (``baselines_and_pitfalls.md``, pitfall 4).
   Here dg/dt is multiplied by the gate ``w(F) = (1 + tanh((F - F_min)/F_smooth))/2``
   (the Granada variant, ``LabL4/stanford_rram_model_l4_mod:veriloga.va``,
   instead smooths gamma itself, with a width of 1e-4 V/m).  ``F_smooth = 0``
   gives the official hard step exactly (w = 1 for F >= F_min, else 0).
   Default F_smooth = 1e5 V/m = 7e-5 F_min, i.e. a threshold smeared over
   about F_smooth tox / gamma = 0.1 mV.  What it changes: during a slow RESET
   sweep the gap rides the threshold (sliding mode, g = g*(V) below); with the
   smooth gate it runs ahead of g*(V) by up to ~10 ``F_smooth / |dF/dg|``
   (2e-12 m; the offset is proportional to F_smooth), so on the default sweep the current differs from the F_smooth -> 0 limit
   by at most 0.8 % (1e6 V/m: 22 %; 1e4 V/m: 0.07 %; measured with rtol 1e-10).
   Below the threshold by more than ~20 F_smooth (about 1.5 mV) the gate is
   below 1e-17 and the gap does not move in floating point.  Why: with
   F_smooth = 0 neither integrator gets through a slow RESET sweep (dopri5
   exhausts 1e6 steps, sdirk4 underflows its step; measured on
   ``triangle(vmax=1.5, f=1)``): the sliding mode needs the gate to be smooth.
   (In SPICE the code leans on the simulator's own step control and its
   ``$bound_step(1 ns)``.)
2. **Saturation at the gap bounds.**  The code clips the *output* of
   ``idt()``, so the internal integral winds up past the bounds and the
   device responds late on reversal.  Here the state itself is bounded: the
   rate driving g towards a bound is multiplied by ``b = tanh(distance /
   gap_smooth)`` (0 at and beyond that bound; the rate away from it is
   untouched), and the integrators clamp g to [gap_min, gap_max].  Default
   gap_smooth = 1e-11 m (4 % of g0): the current differs from the
   gap_smooth -> 0 limit by < 3e-5 on the default sweep (only while the gap
   is within ~0.03 nm of a bound).  ``gap_smooth = 0`` is the hard clip, with
   which an implicit step cannot land on a bound that the state reaches at a
   finite rate (its stage equations then have no solution) and dopri5 fails
   at tight tolerances; keep it > 0.  Because the saturation is in the
   right-hand side, an ODE solver that does not clamp (SciPy's) follows the
   same solution.
3. **gamma for V < 0 is a parameter.**  The code overrides gamma0 by the
   literal 16 when V < 0 (lines marked "added" in the official file, not in
   Guan 2012).  We keep that behaviour with defaults (``gamma0_reset = 16``)
   but make it a parameter, so changing gamma0 for a fit does not silently
   leave RESET at 16; set ``gamma0_reset = gamma0`` for the single-gamma model.
4. **gamma floored at 0.**  A negative gamma (beta g^3 > gamma0) is always
   below the threshold, where the code sets gamma = 0; the floor keeps a
   smoothed gate from reversing the rate there.  No effect with F_smooth = 0.
5. **Constants.**  q and kB: CODATA 2018 (exact SI).  The code takes them from
   the simulator's ``constants.vams`` (``P_Q``, ``P_K``; the OVI file defines
   1.6021918e-19 C and 1.3806226e-23 J/K, within 3e-5 of CODATA); its
   comments (and MemTorch) use 1.6e-19 and 1.3806503e-23, whose ratio is 0.13 %
   lower (exp(-Ea/kT) 3 % larger at 298 K).
6. Both sinh terms are evaluated in log form with capped exponents (no
   overflow or 0 * inf at parameter bounds); no change at any realistic bias.

Behaviour (derived from the equations; checked by the tests)
------------------------------------------------------------
* Fixed gap: ``ln(I / (I0 sinh(V/V0))) = -g/g0``; I = 0 at V = 0 (pinched).
* Dead band: for |V| < F_min tox / gamma(g) (1.05 V at g = 0.2 nm, 1.39 V at
  1.7 nm with the defaults) the gap does not move.
* RESET is gradual and self-limiting: under slow negative bias the gap sits on
  the threshold, ``g*(V) = ((gamma0_reset - F_min tox/|V|)/beta)^(1/3) nm``,
  from 1.05 V (g = gap_min) to 1.39 V (g = gap_max).
* SET is abrupt: once past the threshold, a shrinking gap raises gamma (and
  the current, hence T), which accelerates dg/dt; on a 100 Hz sweep the gap
  crosses 90 % -> 10 % of its range within 0.1 mV at about 1.392 V.  Self-
  heating sharpens the end of SET (Rth = 0 makes it slower), but the
  beta g^3 feedback alone already makes it a jump.

Defaults and their provenance
-----------------------------
All defaults are the official v1.0.0 code's parameter defaults (Stanford RRAM
Verilog-A v1.0.0, Z. Jiang, S. Yu, X. Guan, H.-S. P. Wong, 12/05/2013,
archived on nanoHUB/NEEDS, doi:10.4231/D37H1DN48; file read in
``bcrafton/rram:1.0/v1/10_4231_D37H1DN48/rram_v_1_0_0.va``, VERIFIED), and
agree with Table 3 of its Quick User Guide (May 2014, same archive) except
where noted:

==============  ==================  ===========================================
parameter       default             note
==============  ==================  ===========================================
I0              1e-3 A              code ``I0 = 1000e-6``; guide "1 mA"
g0              0.25e-9 m           code; guide 0.25 nm
V0              0.25 V              code; guide
Vel0            10 m/s              code (gap in m); guide "10 nm/ns"
Ea              0.6 eV              code
a0              0.25e-9 m           code
tox             12e-9 m             code; guide 12 nm
gamma0          16                  code; guide
gamma0_reset    16                  code's literal for V < 0 (see change 3)
beta            0.8                 code; guide
F_min           1.4e9 V/m           code; guide
Rth             2.1e3 K/W           code; guide
T0              298 K               code ``T_ini = 273 + 25``; guide 298 K
gap_min         0.2e-9 m            code; guide 0.2 nm
gap_max         1.7e-9 m            code (the guide's table says 1.8 nm)
initial gap     gap_min (0.2 nm)    code ``gap_ini = 2e-10`` (the guide's table
                                    says 1.8 nm; its DCSweep.sp template uses
                                    2e-10 for LRS and 19e-10 for HRS)
F_smooth        1e5 V/m             **ours** (change 1); 0 = official
gap_smooth      1e-11 m             **ours** (change 2); 0 = official clip
==============  ==================  ===========================================

MemTorch's ``Stanford_PKU.py`` uses the same defaults.  Fitted parameter sets
for specific HfOx devices in Guan 2012 and Jiang 2016 were not read
(UNVERIFIED); Jiang 2016 reportedly separates SET/RESET parameters and adds a
thermal time constant (not implemented).  Parameter bounds are physical
ranges wide enough for fitting (the code's own ranges are narrower, e.g.
Vel0 in (0, 20) m/s, while the Granada variant uses Vel0 = 7.8e5 m/s).  a0
stops at 0.5 nm (sinh argument ~30 at the threshold with the other
defaults, still integrable): at 1 nm the argument is ~60, the gap velocity
at the threshold ~1e14 m/s, the gap is crossed within the gate's own
switching time on a pulse edge, and both integrators stop with a
step-underflow IntegrationError.  Other combinations that make
``gamma a0 V_th / (tox kT/q)`` that large do the same.

Characteristic drive
--------------------
``triangle(vmax=1.5, vmin=-1.5, f=100, cycles=2)`` -- the guide's DC template
ramps 0 -> +-2 V in 4 ms (500 V/s); 1.5 V at 100 Hz (600 V/s) passes both
thresholds without the 0.67 A that 2 V would drive through the LRS.  The
device starts in LRS (code default), so cycle 1 shows the gradual RESET
(1.05 -> 1.39 V) and cycle 2 the abrupt SET at about 1.39 V, then RESET again.
Switching itself takes ns-us (|dg/dt| ~ 3e-4 m/s just past the threshold,
0.1-5 m/s at 1.8-2 V), so the guide's pulse template uses 100 ns pulses
(SET 1.8 V, RESET -1.3 V).

Integration: both methods work; ``dopri5`` (the default, ``stiff=False``) was
as fast as or faster than ``sdirk4`` on sweeps from 0.01 Hz to 1 MHz, DC
holds and pulses.  Prefer dopri5 for pulse trains whose edges cut a
switching transient short: sdirk4 has no stage at the start of a step and
can miss motion confined to the first quarter of a step (see tests).
"""

from memfit.models._kernels import stanford_pku as _k
from memfit.models.base import DeviceModel, Parameter, Reference, StateVariable
from memfit.models.registry import register

JIANG2014 = Reference(
    "Z. Jiang, S. Yu, Y. Wu, J. H. Engel, X. Guan, H.-S. P. Wong, 'Verilog-A compact model for oxide-based "
    "resistive random access memory (RRAM)', Proc. SISPAD 2014, 41-44",
    doi="10.1109/SISPAD.2014.6931558",
    note=(
        "paper not read; equations and defaults verified against the official Stanford RRAM Verilog-A model "
        "v1.0.0 (rram_v_1_0_0.va, 12/05/2013, doi:10.4231/D37H1DN48) and its Quick User Guide (May 2014), "
        "copies in bcrafton/rram:1.0/v1/10_4231_D37H1DN48/"
    ),
)

_STATE = (
    StateVariable(
        "gap", "m", "gap_min", "gap_max", "gap_min",
        "tunnelling gap between the filament tip and the top electrode (small = LRS)",
    ),
)

_PARAMS = (
    Parameter("I0", "A", 1e-3, 1e-12, 1e-1, "current scale of I = I0 exp(-g/g0) sinh(V/V0)", log_scale=True),
    Parameter("g0", "m", 0.25e-9, 1e-12, 2e-9, "gap decay length of the current", log_scale=True),
    Parameter("V0", "V", 0.25, 1e-3, 10.0, "I-V nonlinearity voltage", log_scale=True),
    Parameter("Vel0", "m/s", 10.0, 1e-9, 1e9, "gap velocity prefactor (m/s = nm/ns)", log_scale=True),
    Parameter("Ea", "eV", 0.6, 0.0, 2.0, "activation energy of vacancy generation/migration"),
    Parameter("a0", "m", 0.25e-9, 1e-11, 5e-10, "hop distance (atom spacing)", log_scale=True),
    Parameter("tox", "m", 12e-9, 5e-10, 1e-7, "oxide thickness", log_scale=True),
    Parameter("gamma0", "1", 16.0, 0.0, 100.0, "field-enhancement factor for V >= 0 (SET)"),
    Parameter(
        "gamma0_reset", "1", 16.0, 0.0, 100.0,
        "field-enhancement factor for V < 0 (RESET; the v1.0.0 code's literal 16)",
    ),
    Parameter("beta", "1", 0.8, 0.0, 100.0, "gap dependence of gamma: gamma = gamma0 - beta (g / 1 nm)^3"),
    Parameter("F_min", "V/m", 1.4e9, 0.0, 1e10, "minimum field for gap change (threshold)"),
    Parameter(
        "F_smooth", "V/m", 1e5, 0.0, 1e9,
        "width of the tanh field gate around F_min (0: the official hard threshold)",
    ),
    Parameter("Rth", "K/W", 2.1e3, 0.0, 1e8, "effective thermal resistance (0: no self-heating)"),
    Parameter("T0", "K", 298.0, 4.0, 600.0, "ambient temperature (T_ini)"),
    Parameter("gap_min", "m", 0.2e-9, 0.0, 1e-8, "minimum gap (LRS bound)"),
    Parameter("gap_max", "m", 1.7e-9, 0.0, 1e-8, "maximum gap (HRS bound)"),
    Parameter(
        "gap_smooth", "m", 1e-11, 0.0, 1e-10,
        "width of the tanh boundary layer in which dg/dt fades to 0 at the bound it drives towards (0: hard clip)",
    ),
)

stanford_pku = register(
    DeviceModel(
        name="stanford_pku",
        title="Stanford/PKU metal-oxide RRAM (gap model, v1.0.0 standard model)",
        reference=JIANG2014,
        states=_STATE,
        parameters=_PARAMS,
        rhs=_k.rhs,
        current=_k.current,
        doc=__doc__,
        default_stimulus="triangle(vmax=1.5, vmin=-1.5, f=100, cycles=2)",
        stiff=False,
        sign_convention="V(TE, BE) > 0 shrinks the gap (SET, towards gap_min, LRS); V < 0 grows it (RESET)",
    )
)
