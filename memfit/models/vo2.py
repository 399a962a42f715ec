r"""Thermally driven VO2 locally active ("Mott") memristor, as used by Demirkol et al. (JJAP 2022).

What is whose
-------------
**Demirkol, Ascoli, Messaris, Tetzlaff, JJAP 61, SM0807 (2022)** -- abstract
and keywords read; the full text (core-model equations, the "simple variable
transformation", the parasitic-resistor values, the parameter table) was *not*
found.  What the abstract states and this model implements: a locally active
(NDR) VO2 memristor, a core model complemented by parasitic resistors, cells
``V_dc -> R_s -> node, memristor || C to ground`` biased on the edge of chaos.
Here: temperature as the state, Joule heating against Newton cooling, an
insulator-metal transition with thermal hysteresis (volatile threshold
switching), optional parasitic series/parallel resistors ``R_s``/``R_p``
(default: none, the paper's values being unknown).

**Zhang, Sipling, Qiu, Schuller, Di Ventra**, "Collective dynamics and
long-range order in thermal neuristor networks", arXiv:2312.12899, code GitHub
``yuanhangzhang98/collective_dynamics_neuristor`` (``model.py``, ``main.py``,
MIT) -- the R(T) law, the major hysteresis loop, the minor-curve slope
parameter ``gamma`` and every physical default (VERIFIED by reading the code).

**Ours** (in neither source): the state variables ``T_p`` and ``xi`` that
replace the Zhang code's reversal-point bookkeeping, and the smoothing ``eps``
of that replacement.

Equations
---------
States ``T`` [K], ``T_p`` [K], ``xi`` in [-1, 1]::

    R        = R0 exp(E_a/T) g + R_m                       core resistance
    g        = 1/2 + 1/2 tanh( beta (T_c - theta) )        insulating fraction
    theta    = T_p - xi w/2                                effective temperature of the phase state
    C_th dT/dt = u^2/R - S_th (T - T_amb)                  Joule heating vs Newton cooling
    dT_p/dt  = (T - T_p) ((T - T_p)/delta)^8 S_th/C_th      soft play: T seen through a +-delta dead band
    dxi/dt   = (2/w) dT_p/dt F((1 - xi)/2)   while T_p rises,
               (2/w) dT_p/dt F((1 + xi)/2)   while T_p falls
    F(r)     = gamma s / (s^2 + eps^4)^(1/4),  s = r (2 - r)

    device:  v = u + R_s i,  i = u/R + u/R_p  ->  u = v / (1 + R_s (1/R + 1/R_p))

On the heating branch (``xi = +1``) ``g = 1/2 + 1/2 tanh(beta (T_c + w/2 -
T_p))``, on the cooling branch (``xi = -1``) ``g = 1/2 + 1/2 tanh(beta (T_c -
w/2 - T_p))``: the Zhang code's ``g_major`` with ``delta = +1``/``-1``, i.e.
the major loop is the heating/cooling pair offset by ``w``.  While T moves at
rate ``dT/dt``, ``T_p`` trails it by ``delta (|dT/dt| C_th/(S_th delta))^(1/9)``:
0.2-0.5 delta (delta = 0.01 K) at 0.01-100 K/s, ~delta in a 1 ms sweep, 2-3
delta in the fastest switching (1e8-1e9 K/s); the branches are the Zhang
code's to within that shift.  ``R_m`` belongs to the core
and is heated with it, as in the Zhang code; ``R_s`` and ``R_p`` are unheated
parasitics; the Joule power is the core's ``u^2/R``.  At zero bias ``T``
relaxes to ``T_amb`` as ``exp(-t S_th/C_th)`` (volatile); ``T_amb`` = 325 K lies
inside the transition, so after a pulse the device rests on the *cooling*
branch (R about 10 % lower than before the pulse), as in the Zhang code.

The hysteron (our formulation) and how it relates to the Zhang code
-------------------------------------------------------------------
The Zhang code stores the last reversal temperature ``T_r``, the insulating
fraction there and the branch sign in Python-side arrays, updated once per
Euler step when T has moved more than 0.01 K since the last update; after a
reversal it evaluates the new branch at the shifted temperature ``T + T_pr
P((T - T_r)/T_pr)``, ``P(x) = 1/2 (1 - sin(gamma x)) (1 + tanh(pi^2 - 2 pi
x))``, which starts at the reversal point (R continuous) and rejoins the new
major branch after ``|T - T_r| ~ 1.6 |T_pr|``.  Kernels are pure functions, so
here the memory is held in states:

* ``T_p`` replaces the 0.01 K update threshold: a soft *play* (backlash)
  operator of half width ``delta`` = 0.01 K.  Inside the dead band ``T_p`` (and
  with it the phase state) holds; beyond it, ``T_p`` is dragged along.  Its
  rate is a smooth polynomial whose sign is that of ``T - T_p``; it is
  measured in the device's own time unit ``C_th/S_th``.
* ``theta = T_p - xi w/2`` is a smoothed play of width ``w`` on ``T_p``: ``r``
  is the distance (in units of ``w``) between ``theta`` and the branch ``T_p``
  moves towards, and ``dr/dT_p = -F(r)/w``.  With ``eps -> 0``, ``F = gamma
  sqrt(r (2 - r))`` integrates to ``r = 1 - sin(gamma (T - T_r)/w)``: the
  Zhang curve ``P`` (without its tanh cut-off near the end) for every reversal
  that starts on the major loop (``T_pr = +-w``) -- the case of every
  relaxation-oscillation cycle.  In both, R(T) just after a reversal moves at
  ``1 - gamma`` times the branch slope.  Minor curves starting *inside* the
  loop differ: the Zhang curve always starts with slope factor ``1 - gamma``,
  ours with ``1 - F(r)``.  Along the Zhang code's own test path (325 -> 360 ->
  325 -> 360 -> 330 -> 360 -> 335 -> 360 K, 0.03 K grid) the two R(T) agree
  within 0.8 % (tests).  ``xi`` stays in [-1, 1]: ``F(0) = 0`` makes the
  branch absorbing and ``F < 0`` beyond it pulls the state back.  ``eps`` only rounds the
  ``sqrt`` at the branch (Lipschitz right-hand side; the state approaches the
  branch over ``~eps w/(2 gamma)`` = 0.2 K).

Why not drive ``xi`` by ``dT/dt`` directly (a first version of this model): a
rate-independent hysteron needs the direction of the temperature change, and
``dT/dt`` is the stiff thermal derivative -- inside an implicit step its stage
values carry the Newton residual divided by ``C_th/S_th`` and flip sign.  On
the default current sweep (0 -> 3 mA -> 0, 1200 outputs) that version needed
2,200 ``sdirk4`` steps at 1 ms, 75,000 at 1 s and ran out of 300,000 at 100 s
(and at any sweep time for C_th = 1e-15 J/K).  Through the dead band the
direction is a difference of two smooth states that stays >= ~0.2 delta in
magnitude while T moves: this model needs 2,200-2,700 steps for 1 ms, 1 s and
100 s at the default C_th, and 2,300 / 5,700 / 20,000 at C_th = 1e-15 J/K
(tau_th = 5 ps).  Inside the dead band the phase state is frozen, so a cell at rest
is not made *more* active by numerical noise (with ``theta`` following ``T``
inside the band, small spurious limit cycles of +-delta appeared at 10 V and
16 V).  The Zhang code's clamp of T to [305, 370] K inside R(T) is not copied
(an Euler safeguard; above 370 K the insulating term is < 1e-3 Ohm).

Defaults and their provenance
-----------------------------
``model.py`` (VERIFIED, read; the code forms R in Ohm and divides by 1000 for
its kOhm unit, so R0 and R_m are in Ohm): R0 = 5.35882879e-3 Ohm, E_a =
5220.47417 K, R_m = 262.5 x 4.90025335 = 1286.32 Ohm, T_c = 332.805839 K, w =
7.19357064 K, beta = 0.252796285 1/K, gamma = 0.956269682; C_th = 49.62776831
mW ns/K = 4.962776831e-11 J/K; S_th = 0.20558726 mW/K = 2.0558726e-4 W/K
(tau_th = C_th/S_th = 241 ns).  ``main.py``: T_base = 325 K (``T_amb`` here),
load 12 kOhm; ``model.py``: C = 145.34619293 pF -- circuit elements, not model
parameters: use ``TestCircuit(series_resistance=12e3,
parallel_capacitance=145e-12)``.  delta = 0.01 K is the Zhang code's
reversal threshold (``reversal()``: ``dT.abs().max() > 0.01``); eps = 0.05,
R_s = 0 and R_p = 1e16 Ohm (none) are ours.

What the defaults reproduce (see ``tests/models/test_vo2.py``)
----------------------------------------------------------------
* DC S-curve (current forced, T_amb = 325 K): heating branch NDR from 0.236 mA
  (7.09 V, 333.1 K) to 1.77 mA (2.49 V, 346.4 K), cooling branch 0.179 mA
  (4.38 V) to 1.39 mA (2.06 V) -- the lab note's values.
* A slow current sweep 0 -> 3 mA -> 0 (the default stimulus) climbs the
  heating-branch S-curve and descends the cooling-branch one: NDR plus
  hysteresis (3.31 V up, 2.25 V down at 1 mA).
* Pearson-Anson cell (12 kOhm, 145 pF, DC hold from a cold start): no
  oscillation at <= 10.0 V; 207 kHz at 10.1 V, 218 kHz at 10.2 V, 329 kHz at
  12 V, 415 kHz at 14 V, 566 kHz at 15.4 V, rest (metallic side) at 15.5 and
  16 V; T swings 327-373 K, ~4 mA peak to peak -- the note's values.  With the
  Zhang code's own C = 145.346 pF, our port of its per-step bookkeeping
  (explicit Euler, 1 ns) and this model agree within 0.25 % from 10.05 to 14 V
  (0.9 % at 15.4 V, where the Euler result still depends on its step).  The
  heating-branch small-signal Hopf boundary (C_crit = 174 pF at 10.05 V, 119
  pF at 10.10 V) lies between 10.05 and 10.10 V (~210 kHz); from a cold start
  the relaxation cycle is entered already at 10.02 V (the Zhang code: 10.01
  V), because the start-up overshoot lands on the coexisting limit cycle while
  a cell resting inside the loop is less active (minor-curve slope ``1 - F``).

The model is stiff (``C_th/S_th`` = 241 ns and the play's steep drag against
microsecond-to-second drives): ``stiff=True`` selects ``sdirk4``.
"""

from memfit.models._kernels import vo2 as _k
from memfit.models.base import DeviceModel, Parameter, Reference, StateVariable
from memfit.models.registry import register

DEMIRKOL2022 = Reference(
    "A. S. Demirkol, A. Ascoli, I. Messaris, R. Tetzlaff, 'Pattern formation dynamics in a Memristor Cellular "
    "Nonlinear Network structure with a numerically stable VO2 memristor model', Jpn. J. Appl. Phys. 61, SM0807 (2022)",
    doi="10.35848/1347-4065/ac8489",
    url="https://github.com/yuanhangzhang98/collective_dynamics_neuristor",
    note=(
        "paper: abstract and keywords read (thermally driven, locally active VO2 core model with parasitic resistors, "
        "edge-of-chaos cells); its equations, variable transformation and parameter table were not found. "
        "R(T) law, hysteresis loop and all physical defaults VERIFIED in the code of Y.-H. Zhang, C. Sipling, E. Qiu, "
        "I. K. Schuller, M. Di Ventra, 'Collective dynamics and long-range order in thermal neuristor networks', "
        "arXiv:2312.12899 (model.py, main.py, MIT). The states T_p and xi (and eps) are our replacement of "
        "that code's reversal-point bookkeeping."
    ),
)

_STATES = (
    StateVariable("T", "K", 100.0, 1500.0, "T_amb", "device (VO2 core) temperature"),
    StateVariable("T_p", "K", 100.0, 1500.0, "T_amb",
                  "temperature seen by the phase state: T through a soft play of half width delta"),
    StateVariable(
        "xi", "1", -1.0, 1.0, 1.0,
        "hysteron (branch memory): +1 on the heating branch of the R(T) loop, -1 on the cooling branch; "
        "effective temperature of the phase state theta = T_p - xi w/2",
    ),
)

_PARAMS = (
    Parameter("R0", "Ohm", 5.35882879e-3, 1e-9, 1e3, "prefactor of the activated insulating resistance",
              log_scale=True),
    Parameter("E_a", "K", 5220.47417, 0.0, 2e4, "activation temperature of the insulating phase (E_a/k_B)"),
    Parameter("R_m", "Ohm", 262.5 * 4.90025335, 1.0, 1e6, "metallic resistance (heated, part of the core)",
              log_scale=True),
    Parameter("T_c", "K", 332.805839, 200.0, 1000.0, "centre of the transition (midway between the branches)"),
    Parameter("w", "K", 7.19357064, 0.01, 50.0, "hysteresis width: heating and cooling centres are T_c +- w/2"),
    Parameter("beta", "1/K", 0.252796285, 1e-3, 10.0, "sharpness of the insulator-metal transition"),
    Parameter("gamma", "1", 0.956269682, 0.05, 1.0,
              "minor-curve shape: just after a reversal R(T) moves at (1 - gamma) times the branch slope"),
    Parameter("eps", "1", 0.05, 1e-3, 0.5, "hysteron smoothing at the branches (ours; results insensitive)"),
    Parameter("delta", "K", 0.01, 1e-3, 1.0,
              "reversal dead band: the phase state holds until T has moved delta (Zhang code: 0.01 K)"),
    Parameter("C_th", "J/K", 49.62776831e-12, 1e-18, 1e-6, "heat capacity of the device", log_scale=True),
    Parameter("S_th", "W/K", 0.20558726e-3, 1e-9, 1.0, "thermal conductance to the substrate (1/R_th)",
              log_scale=True),
    Parameter("T_amb", "K", 325.0, 200.0, 500.0, "substrate (ambient) temperature"),
    Parameter("R_s", "Ohm", 0.0, 0.0, 1e5, "parasitic series resistance, unheated (0: none)"),
    Parameter("R_p", "Ohm", 1e16, 1e2, 1e16, "parasitic parallel resistance across the core (1e16: none)",
              log_scale=True),
)

#: Slow unipolar current sweep 0 -> 3 mA -> 0: heating-branch S-curve up, cooling-branch S-curve down.
DEFAULT_STIMULUS = "isweep(imax=3e-3, imin=0, f=1e3, points=1200)"

vo2_demirkol2022 = register(
    DeviceModel(
        name="vo2_demirkol2022",
        title="VO2 locally active memristor: thermal state, hysteretic insulator-metal transition (Zhang R(T))",
        reference=DEMIRKOL2022,
        states=_STATES,
        parameters=_PARAMS,
        rhs=_k.rhs,
        current=_k.current,
        doc=__doc__,
        default_stimulus=DEFAULT_STIMULUS,
        stiff=True,
        sign_convention=(
            "symmetric in v (Joule heating ~ v^2): either polarity heats T, lowers R and drives the "
            "insulator-metal transition; T is volatile (relaxes to T_amb at zero bias)"
        ),
    )
)
