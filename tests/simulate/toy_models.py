"""Small models with closed-form solutions, used to test the integrators and the test circuit.

They are not registered (the registry holds physical models only).
"""

import math

from numba import njit

from memfit.models.base import DeviceModel, Parameter, Reference, StateVariable

_REF = Reference("memfit test model (closed-form solution)", url="https://example.invalid/memfit-tests")


@njit(cache=True)
def flux_rhs(x, v, t, p, dxdt):
    dxdt[0] = v  # x = flux = integral of v dt


@njit(cache=True)
def ohmic_current(x, v, p):
    return v / p[0]


#: x(t) = int v dt exactly; i = v / R: a linear resistor that records its flux.
FLUXMETER = DeviceModel(
    name="fluxmeter",
    title="resistor with a flux state",
    reference=_REF,
    states=(StateVariable("phi", "V*s", -math.inf, math.inf, 0.0, "flux linkage"),),
    parameters=(Parameter("R", "Ohm", 1e3, 1e-3, 1e12, "resistance"),),
    rhs=flux_rhs,
    current=ohmic_current,
)


@njit(cache=True)
def relax_rhs(x, v, t, p, dxdt):
    dxdt[0] = (v - x[0]) / p[1]


#: dx/dt = (v - x)/tau with tau = 1 us: stiff under a 1 Hz drive.
RELAXATION = DeviceModel(
    name="relaxation",
    title="first-order lag (stiff for small tau)",
    reference=_REF,
    states=(StateVariable("x", "V", -math.inf, math.inf, 0.0, "lagged voltage"),),
    parameters=(
        Parameter("R", "Ohm", 1e3, 1e-3, 1e12, "resistance"),
        Parameter("tau", "s", 1e-6, 1e-15, 1e3, "time constant", log_scale=True),
    ),
    rhs=relax_rhs,
    current=ohmic_current,
    stiff=True,
)


@njit(cache=True)
def sinh_current(x, v, p):
    return p[0] * math.sinh(v / p[1])


@njit(cache=True)
def zero_rhs(x, v, t, p, dxdt):
    dxdt[0] = 0.0


#: i = I0 sinh(v / V0): a nonlinear (tunnelling-like) port with a frozen state.
SINH_DEVICE = DeviceModel(
    name="sinh_device",
    title="nonlinear sinh I-V, frozen state",
    reference=_REF,
    states=(StateVariable("x", "1", 0.0, 1.0, 0.5, "unused state"),),
    parameters=(
        Parameter("I0", "A", 1e-6, 1e-15, 1.0, "current scale"),
        Parameter("V0", "V", 0.25, 1e-3, 10.0, "voltage scale"),
    ),
    rhs=zero_rhs,
    current=sinh_current,
)


@njit(cache=True)
def linear_charge(x, v, p):
    return p[0] * v  # q = C0 v


#: A linear capacitor (charge port): q = C0 v.
CAPACITOR = DeviceModel(
    name="capacitor",
    title="linear capacitor, frozen state",
    reference=_REF,
    states=(StateVariable("x", "1", 0.0, 1.0, 0.5, "unused state"),),
    parameters=(Parameter("C0", "F", 1e-9, 1e-18, 1.0, "capacitance"),),
    rhs=zero_rhs,
    current=linear_charge,
    port="q(v)",
)


@njit(cache=True)
def linear_flux(x, i, p):
    return p[0] * i  # phi = L0 i


#: A linear inductor (flux port): phi = L0 i.
INDUCTOR = DeviceModel(
    name="inductor",
    title="linear inductor, frozen state",
    reference=_REF,
    states=(StateVariable("x", "1", 0.0, 1.0, 0.5, "unused state"),),
    parameters=(Parameter("L0", "H", 1e-3, 1e-15, 1e3, "inductance"),),
    rhs=zero_rhs,
    current=linear_flux,
    port="phi(i)",
)
