r"""Analog, non-volatile NbOx memristor of Schroedter et al. (MOCAST 2022), NaMLab Ti/Al2O3/Nb2O5/Ti stack.

Equations
---------
The device is the core memductance ``G(x, u)`` with a parallel resistor
``R_p`` across it and a series resistor ``R_s`` in front of both ("core
memductance accompanied by a parallel and series resistor", the paper's
abstract; the topology of the authors' LTspice bench ``sine_input.asc``)::

    i_core = G(x, u) u
    G(x, u) = A_r x exp( B_r sgn(u) sqrt(|u|/x) ) + A_s x exp( -B_s sgn(u) sqrt(|u|) )
    dx/dt  = c1 [ exp( c2 x i_core + w_off(x) ) - exp( -c3 x i_core + w_on(x) ) ]
    w_off(x) = -exp( (x - x_off) w_c ),      w_on(x) = -exp( -(x - x_on) w_c )

    device voltage   v = u + R_s (i_core + u/R_p)       (solved for the core voltage u)
    device current   i = i_core(x, u) + u/R_p

``u`` is the voltage across the core (top electrode TE minus bottom electrode
BE), ``v`` the voltage across the whole device (what the simulator's test
circuit applies; an *additional* external series resistance of the set-up can
still be given to :func:`memfit.simulate.simulate`).  The state equation is
driven by the *core* current, exactly as in the netlist.  The kernels solve
the divider for ``u`` by a bracketed safeguarded Newton iteration (the root
lies between 0 and ``v R_p/(R_p + R_s)``; ``h(u) = u + R_s(i_core + u/R_p)``
is increasing for every parameter set inside the declared bounds: each term
of ``d i_core/du = A_r x e^E_r (1 + E_r/2) + A_s x e^E_s (1 + E_s/2)`` is at
least ``-e^-3/2 = -0.025`` times its prefactor, so ``dh/du >= 1 - 0.025 x R_s
(A_r + A_s) >= 1 - 0.5 x > 0`` with ``R_s <= 1e5 Ohm``, ``A <= 1e-4 S`` and
``x <= 1``).

Physical reading (ours, not the paper's text): the ``sqrt(|u|/x)`` exponent is
Poole-Frenkel emission with a field ``u/x``, i.e. ``x`` behaves like an
effective barrier thickness; the abstract states that Poole-Frenkel emission
is assumed.  ``R_s`` and ``R_p`` are model parameters (defaults: the bench
values) so that a fit sees the same device the authors simulated; set
``R_s = 0`` and ``R_p`` at its upper bound (1e16 Ohm) for the bare core.

State bounds
------------
The windows are *soft*: in the interior (x_on < x < x_off) both are ~0, so
``dx/dt ~ c1 (e^{c2 x i} - e^{-c3 x i})`` vanishes at zero current (non-
volatile) and has the sign of the current; near a bound the double exponential
pushes the rate to ~0.  Under drive the state settles slightly *beyond* the
bound, where ``exp((x - x_off) w_c) ~ (c2 + c3) x i``: about 2.5e-3 above
x_off at the bench's +0.65 mA and 3e-3 below x_on at -2.9 mA.  At zero bias a
state on a bound relaxes inward at ``c1 (1 - 1/e) = 1.86e-4 /s``.  So that the
integrators never clip this physics, the *declared* bounds of ``x`` are wide
numbers, [0.01, 1.0] (a safety net; ``x_on``/``x_off`` are fit parameters and
cannot be declared bounds without clipping the overshoot); the physical range
is ``[x_on, x_off]`` within a few 1e-3 (the tests check ``[x_on - 0.005,
x_off + 0.005]`` for random pulse trains).

Defaults and their provenance
-----------------------------
Every default is read in the authors' own netlist, GitHub
``SchroedterR/Memristor`` (Apache-2.0, April 2022): ``MEM_NAMLAB_CORE.cir``/
``.sub`` (``.params`` line: A_r = 4.7447e-8, A_s = 1.1253e-8, B_r = 2.6831,
B_s = 9.3348, c1 = 2.9457e-4, c2 = 57414, c3 = 11103, w_c = 1000, x_on = 0.1,
x_off = 0.284, and the ``.func`` lines above) and the bench ``sine_input.asc``
(R_s = 278 Ohm in series with the memristor ``||`` R_p = 8 MOhm, source
``SINE(0 3 0.02 0)``, ``.tran 50``, ``.param x0=0.1``).  VERIFIED by reading
those files.  The netlist gives no units; the ones here follow from the
equations (x dimensionless).  The MOCAST full text was not available; its
abstract (TU Dresden research portal) was read.

Characteristic behaviour (default stimulus)
-------------------------------------------
Positive bias raises x.  Raising x *lowers* the positive-branch conductance
but *raises* the negative-branch one (G(+1 V): 2.3e-5 -> 2.1e-6 S, G(-1 V):
1.27e-5 -> 3.6e-5 S for x = 0.1 -> 0.284); the read at +0.1 V is almost
state-independent.  Here "potentiation" is therefore defined by a read at
**negative** bias, -0.2 V: positive write pulses raise the conductance read at
-0.2 V, negative ones lower it.  The default stimulus is 32 identical +2.5 V,
0.1 s pulses (x: 0.1 -> 0.143 after the 1st, 0.175 after the 10th, 0.197
after the 32nd; terminal read conductance 1.98e-7 S at x = 0.1, 2.30e-7 S
after the 1st and 2.69e-7 S after the 32nd pulse -- a narrow window because
R_p = 8 MOhm is in parallel) followed by 32 identical -3 V, 0.1 s pulses (x back to
0.104), each followed by a 20 ms read at -0.2 V: gradual, saturating,
multi-level potentiation and depression (self-compliance).  The depression
amplitude is our choice (-2.5 V, 10 ms pulses, the other setting of the lab's
note, move x only from 0.207 to 0.194 in 50 pulses).
"""

from memfit.models._kernels import schroedter2022 as _k
from memfit.models.base import DeviceModel, Parameter, Reference, StateVariable
from memfit.models.registry import register

SCHROEDTER2022 = Reference(
    "R. Schroedter et al., 'SPICE Compact Model for an Analog Switching "
    "Niobium Oxide Memristor', 11th Int. Conf. on Modern Circuits and Systems Technologies (MOCAST), 2022, pp. 1-4",
    doi="10.1109/MOCAST54814.2022.9837726",
    url="https://github.com/SchroedterR/Memristor",
    note=(
        "full text not read (abstract only); equations, parameters and the bench circuit (R_s = 278 Ohm, "
        "R_p = 8 MOhm, SINE(0 3 0.02 0), x0 = 0.1) read in the authors' netlist MEM_NAMLAB_CORE.cir/.sub and "
        "sine_input.asc (GitHub SchroedterR/Memristor, April 2022)"
    ),
)

_STATE = (
    StateVariable(
        "x", "1", 0.01, 1.0, 0.1,
        "internal state (effective Poole-Frenkel barrier thickness, our reading); physical range "
        "[x_on, x_off] held by the soft windows; declared bounds are a wide safety net",
    ),
)

_PARAMS = (
    Parameter("A_r", "S", 4.7447e-8, 1e-16, 1e-4,
              "prefactor of the sqrt(|u|/x) Poole-Frenkel term (dominates for u > 0)", log_scale=True),
    Parameter("A_s", "S", 1.1253e-8, 1e-16, 1e-4,
              "prefactor of the sqrt(|u|) term (dominates for u < 0)", log_scale=True),
    Parameter("B_r", "V^-1/2", 2.6831, 0.0, 50.0, "exponent coefficient of the sqrt(|u|/x) term"),
    Parameter("B_s", "V^-1/2", 9.3348, 0.0, 50.0, "exponent coefficient of the sqrt(|u|) term"),
    Parameter("c1", "1/s", 2.9457e-4, 1e-12, 1e6, "rate prefactor of the state equation", log_scale=True),
    Parameter("c2", "1/A", 57414.0, 1e-3, 1e9, "SET drive: exponent c2 x i_core raises x", log_scale=True),
    Parameter("c3", "1/A", 11103.0, 1e-3, 1e9, "RESET drive: exponent c3 x i_core lowers x", log_scale=True),
    Parameter("w_c", "1", 1000.0, 50.0, 1e5, "window steepness (soft bounds at x_on, x_off)", log_scale=True),
    Parameter("x_on", "1", 0.1, 0.02, 0.9, "lower soft bound of x (low negative-read conductance)"),
    Parameter("x_off", "1", 0.284, 0.03, 0.98, "upper soft bound of x (high negative-read conductance)"),
    Parameter("R_s", "Ohm", 278.0, 0.0, 1e5, "series resistor in front of core || R_p (0: none)"),
    Parameter("R_p", "Ohm", 8e6, 1e2, 1e16, "resistor in parallel with the core (1e16: none)", log_scale=True),
)

#: 32 identical potentiating pulses, then 32 identical depressing pulses, each followed by a read at -0.2 V.
DEFAULT_STIMULUS = (
    "pulses(amplitude=2.5, width=0.1, period=0.3, n=32, rise=1e-3, fall=1e-3, read_v=-0.2, read_width=0.02) + "
    "pulses(amplitude=-3.0, width=0.1, period=0.3, n=32, rise=1e-3, fall=1e-3, read_v=-0.2, read_width=0.02)"
)

schroedter2022 = register(
    DeviceModel(
        name="schroedter2022",
        title="NaMLab analog NbOx memristor (Poole-Frenkel core, double-exponential windows, R_s and R_p)",
        reference=SCHROEDTER2022,
        states=_STATE,
        parameters=_PARAMS,
        rhs=_k.rhs,
        current=_k.current,
        doc=__doc__,
        default_stimulus=DEFAULT_STIMULUS,
        stiff=False,
        sign_convention=(
            "v = V(TE) - V(BE); positive core current raises x (potentiation: higher conductance read at "
            "negative bias, slightly lower at positive bias); negative current lowers x (depression)"
        ),
    )
)
