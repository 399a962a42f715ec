r"""Memcapacitive elements: Biolek/Di Ventra/Pershin 2013 models C.1 and C.4, and a memristor-based pseudo-memcapacitor.

All three have the charge port ``"q(v)"``: the ``current`` kernel returns the
charge q [C] at device voltage V; the simulator makes q a circuit state and
obtains the current from it (chain rule on an ideal voltage source, ``V =
Q^-1(q)`` behind a series resistor), never by differencing q.

Definitions (Di Ventra, Pershin, Chua 2009, as restated in Biolek et al.
2013, eqs. 1-2): a voltage-controlled memcapacitive system is ``q = C(x, V, t)
V, dx/dt = f(x, V, t)``; an ideal memcapacitor has ``q = C(phi) V`` with the
flux ``phi = int V dt``.  Fingerprint: a q-V loop pinched at the origin whose
lobes shrink as the drive frequency rises.

``biolek2013_memcapacitor_ideal`` -- model C.1, ideal memcapacitor
-------------------------------------------------------------------
State ``phi_int`` = phi = int V dt [V s], starting at 0::

    d phi/dt = V
    q = C(phi) V,   C(phi) = Clow + (Chigh - Clow) / (a exp(-4 k phi) + 1),   a = (Chigh - Cini)/(Cini - Clow)

(Biolek 2013 eqs. 31-34.)  No threshold: any net flux moves the state
("over-delayed switching", sensitivity to drift and to numerical error that
accumulates in phi -- the paper's caveats).  Under ``V = V0 sin(w t)`` the
solution is closed: ``phi = V0 (1 - cos w t)/w``, ``q = C(phi) V`` (the golden
test).  Defaults from the PSpice/LTspice listing of Supplementary Materials 5:
Clow = 1 pF, Chigh = 100 pF, Cini = 2 pF, k = 100 (V s)^-1, driven by ``Vin 1
0 sin 0 1 10`` (1 V, 10 Hz, ``.tran 0 0.2``: two periods; the text says
1 V/1 Hz, the listing and the 0-200 ms axis of Fig. 12 say 10 Hz).  With
these values 4 k phi reaches 4 k 2 V0/w = 12.7 at the crest of phi: the
capacitance switches hard from 2 pF to ~100 pF and back within each period
(Fig. 12).

``biolek2013_memcapacitor`` (alias ``memcapacitor``) -- model C.4, bipolar memcapacitive system with threshold
-----------------------------------------------------------------------------------------------------------------
State ``x`` = C [F] in [Clow, Chigh]::

    q = x V                                                         (eq. 48)
    dx/dt = f(V) W(x, V)                                             (eq. 49)
    f(V) = beta (V - (|V + Vt| - |V - Vt|)/2)                        (eq. 50)   0 for |V| < Vt
    W(x, V) = H(V) H(Chigh - x) + H(-V) H(x - Clow)                  (eq. 51)

Smoothing exactly as in the listing (Supplementary Materials 8): the step H
becomes ``stps(u, b) = 1/(1 + exp(-u/b))`` and |u| becomes ``abss(u, b) = u
(stps(u, b) - stps(-u, b))`` (= u tanh(u/2b)), with ``W = stps(V, b1)
stps(1 - x/Chigh, b2) + stps(-V, b1) stps(x/Clow - 1, b2)``.  ``b1`` [V] and
``b2`` (relative to the limit) are model parameters.  A consequence of the
smoothing worth knowing: near the threshold f is ``beta (|V| - Vt) stps(|V| -
Vt, b1) sgn(V)``, so each time |V| passes Vt the state takes a short (~b1/|dV/dt|
~ 10 ns) pulse of the *wrong* sign just below Vt, and f is reduced by the same
amount just above it: ``beta b1^2 pi^2 / (12 |dV/dt|)`` on each side (~7 fF at
the default drive, 7e-5 of the window; a half-period swing is ~4 such amounts
smaller than the unsmoothed closed form below).  f vanishes faster than
exp(-(Vt - |V|)/b1) below threshold (< 1e-20 F/s at |V| <= Vt - 0.4 V).

**One addition to the listing (memfit guard):** memfit's state bounds are
hard, while the listing's window is 1/2 (not 0) at Clow and Chigh (in SPICE
the state creeps ~15 b2 past a limit, ~b2 ln(beta t / (b2 C))) and the
wrong-sign pulses above could push a state resting on a limit out of the
window.  So a rate pointing towards a limit is multiplied by the listing's own
step moved 30 b2 inside the window, ``stps(d - 30 b2, b2)``, d the relative
distance to that limit (``1 - x/Chigh`` or ``x/Clow - 1``).  It is smooth,
equals 1 to within 1e-9 for d > 50 b2 (5e-5 of the limit: the listing's rate
is unchanged there), and is ~1e-13 at the limit, so a saturated state creeps
into the same kind of logistic tail as in SPICE but ~15-20 b2 *inside* the
window (x_max ~ Chigh (1 - 1.7e-5) with the defaults, x_min ~ Clow (1 +
1.7e-5)) and never needs the integrators' clamp; the chain-rule current ``x
dV/dt + V dx/dt`` therefore never counts a dx/dt that a clamp removes.  In
that tail the rate depends on x on the scale b2 C, so the tiny creep current
``V dx/dt`` (< 1e-4 of the peak current) is ill-conditioned; currents are
accurate to ~1e-6 relative where |i| > 5 % of its peak and to a few 1e-8 of
the peak elsewhere (the shared chain rule's finite-difference partials set
that floor).  The boundary layer is stiff and the wrong-sign pulses are short,
so the model is flagged stiff (``method="auto"`` uses SDIRK4); an explicit
method with ``atol`` above ~1e-12 may step over a pulse while the state rests
(an error of the pulse size, 7e-5 of the window).

Defaults (listing, PSpice/LTspice version): Clow = 1 pF, Chigh = 100 pF, Cinit
= 50 pF, beta = 70e-6 F/(V s), Vt = 3 V, b1 = 10 mV, b2 = 1e-6 (the HSPICE
version uses b2 = 1e-5).  Test bench: ``Vsin 1 0 sin 0 4 50k`` through ``Ri =
1m`` (1 Ohm in the HSPICE version), ``.tran 0 100u 20u 0.1u``.  The default
stimulus drives the device directly from an ideal 4 V, 50 kHz source
(``series_resistance=0``: the chain-rule path; the listing's 1 mOhm gives an
R C of 1e-13 s, far below anything visible).  Pass ``series_resistance=1e-3``
(or 1 Ohm) to reproduce the listing's circuit exactly; that circuit is stiff
(R C / period = 5e-9), use ``method="sdirk4"``.  Published behaviour (Fig. 18):
C switches periodically between Clow and Chigh; per half-cycle the closed form
of the state change below saturation is ``dC = beta [2 V0 cos(t1)/w - Vt (pi -
2 t1)/w]``, ``t1 = asin(Vt/V0)`` (213 pF at 4 V, 50 kHz: saturating every half
period).

``schroedter2023_memcapacitor`` -- memristor-based pseudo-memcapacitor (emulator)
----------------------------------------------------------------------------------
The memristor-based memcapacitor of the TU Dresden neurotransistor
(Schroedter et al., MOCAST 2023; the lab's project "Neuro-transistor
simulation with memristor-based memcapacitor"): a threshold memristor M(x)
with a series resistor, shunted by C_par and R_par, in series with the gate
capacitor C_gs of a MOSFET.  The two-terminal element modelled here is IN ->
[ (R_ser + M) || R_par || C_par ] -> G -> C_gs -> S; the transistor itself
is not part of it (its gate draws no current; the level-3 MOSFET's own
gate capacitance, ~12 fF, is neglected next to C_gs).  Equations (authors'
LTspice netlist ``MemNeuroTransistor.cir``, VERIFIED; the second state, s =
``v_g0``, is our change of variables that removes dV/dt from the state
equations: the netlist's node voltages follow from it)::

    u = V(G, S) = s + V C_par/(C_par + C_gs)          gate voltage; w = V - u across the IN-G stack
    ds/dt = (w / R_par + I_b(x, w)) / (C_par + C_gs)  s = (charge on the gate node)/(C_par + C_gs)
    I_b: root of  w = v_m + R_ser I_m(x, v_m)          memristor branch current, IN -> G
    I_m(x, v) = limit(K(x, I_on, I_off) sinh(K(x, a_on, a_off) v), -I_cc, I_cc),  K(x, on, off) = off + (on - off) x
    dx/dt = (1 - x) exp(eta_s (V_GI - V_s)) g_s / tau0    if V_GI = V(G, IN) = -w >= 0   (set, x -> 1: ON)
          = (0 - x) exp(eta_r (V_r - V_GI)) g_r / tau0    otherwise                       (reset, x -> 0)
    q = C_gs u                                            (all charge entering IN ends on C_gs)

Defaults: the netlist's ``.params`` (Icc = 1m, ion = 1u, ioff = 100n, aon =
4, aoff = 2, etas = 250, etar = 100, Vs = 0.5, Vr = -0.5, Cp = 5p, Cgs = 45p,
Rp = 200Meg, Rs = 10, x0 = 0).  ``tau0 = 1 s`` makes explicit the time unit
implied by the netlist (state integrated on a 1 F capacitor, ``TS = exp(...)``
in seconds).

The netlist's thresholds are noisy: ``Vs (1 + n)`` and ``Vr (1 + n)`` with
``n = white(1e8 time)``: LTspice's white() gives a random value in [-0.5, 0.5]
(range as used by the LTwiki Box-Muller noise example, which feeds
``white() + 0.5`` to a logarithm), a new one per unit of its argument, i.e.
every 10 ns, smoothly joined.  A memfit kernel is deterministic, so the rates are replaced by their
average over that noise (valid when the state moves little within 10 ns; when
it does not, switching is instantaneous either way): for ``n`` uniform in
[-j, j] the mean of ``exp(eta V_th n)`` is ``g = sinh(a)/a``, ``a = eta
|V_th| j``, with ``jitter`` j = 0.5 by default (``jitter = 0`` is the
noiseless law).  The average matters: g_s = sinh(62.5)/62.5 ~ 1e25 makes the
effective set threshold ~0.27 V instead of 0.5 V.  To model the noise as
cycle-to-cycle or device-to-device scatter instead, set ``jitter = 0`` and draw
V_s, V_r per cycle or device with :func:`draw_parameters`.  Exponents are
capped at 60 (rates above 1e26/s are instantaneous anyway).

The element is *not* an ideal memcapacitor: q(V = 0) = C_gs s is the charge
left on the gate, so its q-V loop is in general not pinched (hence
"pseudo-memcapacitive").  q depends on V only through C_par, so a series
resistor or a current source (which need V from q) requires C_par > 0; with
C_par = 0 drive it from an ideal voltage source.  Its characteristic behaviour
is integrate-and-fire:
1.8 V, 10 us input pulses (the authors' bench ``pulse_input.asc``) each raise
the gate voltage through C_par and the OFF memristor; between pulses V(G, IN)
= u; once the memristor sets it discharges the gate (the neuron fires), and
the next pulse (V(G, IN) < V_r) resets it.  Reproduced from the bench's
figure (``MemNeuroTransistor.png``, read by eye): pulses 200 us apart raise
the gate to a steady peak of ~0.48 V and do not fire; pulses 100 us apart
fire every few pulses.  The set law is extremely steep (eta_s = 250/V: the
time constant falls by e every 4 mV): the model is flagged stiff.

Other memristor-based memcapacitor emulators (mutator/integrator op-amp
circuits, e.g. Pershin & Di Ventra, Electron. Lett. 46, 517 (2010)) were
not modelled: their circuit equations were not available in the stores
searched.

Variability hooks
-----------------
*Device-to-device*: :func:`memfit.simulate.simulate_batch` takes one
parameter row per device (a DataFrame with parameter columns); build the
rows with :func:`draw_parameters`, e.g. ``simulate_batch("memcapacitor",
stim, draw_parameters("memcapacitor", 100, 0.1, seed=1))``.
*Cycle-to-cycle*: a pure ODE has no per-event randomness, so c2c variation is
a parameter row per cycle: draw ``n_cycles`` rows with
:func:`draw_parameters` and simulate cycle k with row k, starting from the
final state of cycle k - 1 (``x0={"x": sim["x"].iloc[-1]}``; when the limits
themselves vary, clip the carried state into row k's limits).  Both are
deterministic given the seed.  Example (switching rate and threshold varying
from cycle to cycle)::

    rows = draw_parameters("memcapacitor", 50, {"beta": 0.1, "Vt": 0.01}, seed=1, names=["beta", "Vt"])
    x = 10e-12
    for k in range(50):
        sim = simulate("memcapacitor", "sine(amplitude=3.3, f=50e3)", params=rows.iloc[k].to_dict(), x0={"x": x})
        x = sim["x"].iloc[-1]
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from memfit.errors import ParameterError
from memfit.models._kernels import memcapacitive as _k
from memfit.models.base import DeviceModel, Parameter, Reference, StateVariable
from memfit.models.registry import get_model, register

BIOLEK2013 = Reference(
    "D. Biolek, M. Di Ventra, Y. V. Pershin, 'Reliable SPICE simulations of memristors, memcapacitors and "
    "meminductors', Radioengineering 22(4), 945-968 (2013)",
    url="https://www.radioeng.cz/fulltexts/2013/13_04_0945_0968.pdf",
    note=(
        "equations 31-34 (C.1) and 48-51 (C.4), the PSpice/LTspice listings of Supplementary Materials 5 and 8 "
        "and Figs. 12 and 18 read in the full text (copy: captaindpt/analog-gradients:papers/papers-markdown/"
        "05_reliable_spice_memristors.md); the URL follows the journal's file naming (not opened)"
    ),
)

SCHROEDTER2023 = Reference(
    "R. Schroedter et al., 'A pseudo-memcapacitive neurotransistor for spiking neural networks', 12th Int. Conf. "
    "on Modern Circuits and Systems Technologies (MOCAST), Athens, 2023, pp. 1-5",
    doi="10.1109/MOCAST57943.2023.10176398",
    note=(
        "paper not read; equations and defaults from the authors' LTspice netlist MemNeuroTransistor.cir and bench "
        "pulse_input.asc (github.com/SchroedterR/Neurotransistor, commit 078b353, 2023-06-15)"
    ),
)

# ---------------------------------------------------------------------------
# C.1 ideal memcapacitor
# ---------------------------------------------------------------------------
_C1_PARAMS = (
    Parameter("Clow", "F", 1e-12, 1e-18, 1e-3, "lower limit of the memcapacitance", log_scale=True),
    Parameter("Chigh", "F", 100e-12, 1e-18, 1e-3, "upper limit of the memcapacitance", log_scale=True),
    Parameter("Cini", "F", 2e-12, 1e-18, 1e-3, "memcapacitance at phi = 0 (must lie between Clow and Chigh)",
              log_scale=True),
    Parameter("k", "1/(V*s)", 100.0, 1e-6, 1e9, "steepness of C(phi): C switches over a flux of ~1/(4k)",
              log_scale=True),
)

biolek2013_memcapacitor_ideal = register(
    DeviceModel(
        name="biolek2013_memcapacitor_ideal",
        title="Ideal memcapacitor, sigmoidal C(phi) (Biolek et al. 2013, model C.1)",
        reference=BIOLEK2013,
        states=(
            StateVariable("phi_int", "V*s", -np.inf, np.inf, 0.0, "flux phi = time integral of the device voltage"),
        ),
        parameters=_C1_PARAMS,
        rhs=_k.rhs_c1,
        current=_k.charge_c1,
        doc=__doc__,
        default_stimulus="sine(amplitude=1.0, f=10, cycles=2)",
        sign_convention="positive flux (net positive voltage-time) raises C towards Chigh",
        port="q(v)",
    )
)

# ---------------------------------------------------------------------------
# C.4 bipolar memcapacitive system with threshold
# ---------------------------------------------------------------------------
_C4_PARAMS = (
    Parameter("Clow", "F", 1e-12, 1e-18, 1e-3, "lower limit of x = C", log_scale=True),
    Parameter("Chigh", "F", 100e-12, 1e-18, 1e-3, "upper limit of x = C", log_scale=True),
    Parameter("Cinit", "F", 50e-12, 1e-18, 1e-3, "initial memcapacitance (initial state)", log_scale=True),
    Parameter("beta", "F/(V*s)", 70e-6, 1e-18, 1e3, "rate of change of C per volt beyond the threshold",
              log_scale=True),
    Parameter("Vt", "V", 3.0, 0.0, 100.0, "threshold voltage: C is frozen for |V| < Vt"),
    Parameter("b1", "V", 10e-3, 1e-9, 1.0, "smoothing width of the voltage steps (listing's b1)", log_scale=True),
    Parameter("b2", "1", 1e-6, 1e-12, 0.1, "relative smoothing width of the window at Clow, Chigh (listing's b2)",
              log_scale=True),
)

biolek2013_memcapacitor = register(
    DeviceModel(
        name="biolek2013_memcapacitor",
        title="Bipolar memcapacitive system with threshold (Biolek et al. 2013, model C.4)",
        reference=BIOLEK2013,
        states=(StateVariable("x", "F", "Clow", "Chigh", "Cinit", "memcapacitance C (x = C in Biolek 2013)"),),
        parameters=_C4_PARAMS,
        rhs=_k.rhs_c4,
        current=_k.charge_c4,
        doc=__doc__,
        default_stimulus="sine(amplitude=4.0, f=50e3, cycles=2)",
        stiff=True,
        sign_convention="V > Vt raises C towards Chigh; V < -Vt lowers it towards Clow",
        port="q(v)",
    )
)

# ---------------------------------------------------------------------------
# Schroedter et al. 2023 memristor-based pseudo-memcapacitor
# ---------------------------------------------------------------------------
_MNT_PARAMS = (
    Parameter("I_on", "A", 1e-6, 1e-15, 1.0, "memristor current prefactor in the ON state (x = 1)", log_scale=True),
    Parameter("I_off", "A", 100e-9, 1e-15, 1.0, "memristor current prefactor in the OFF state (x = 0)",
              log_scale=True),
    Parameter("a_on", "1/V", 4.0, 0.0, 100.0, "sinh slope of the memristor I-V, ON state"),
    Parameter("a_off", "1/V", 2.0, 0.0, 100.0, "sinh slope of the memristor I-V, OFF state"),
    Parameter("eta_s", "1/V", 250.0, 0.0, 1e4, "set steepness: the set time constant falls by e per 1/eta_s volts"),
    Parameter("eta_r", "1/V", 100.0, 0.0, 1e4, "reset steepness"),
    Parameter("V_s", "V", 0.5, 0.0, 10.0, "set threshold of V(G, IN) (time constant tau0 there)"),
    Parameter("V_r", "V", -0.5, -10.0, 0.0, "reset threshold of V(G, IN)"),
    Parameter("C_par", "F", 5e-12, 0.0, 1e-6, "capacitor across the memristor branch (netlist Cp)"),
    Parameter("C_gs", "F", 45e-12, 1e-18, 1e-6, "gate capacitor in series with the memristor stack (netlist Cgs)",
              log_scale=True),
    Parameter("R_par", "Ohm", 200e6, 1.0, 1e15, "resistor across the memristor branch (netlist Rp)", log_scale=True),
    Parameter("R_ser", "Ohm", 10.0, 0.0, 1e9, "resistor in series with the memristor (netlist Rs; not the test "
              "circuit's series_resistance)"),
    Parameter("I_cc", "A", 1e-3, 1e-12, 10.0, "current limit of the memristor (netlist Icc)", log_scale=True),
    Parameter("tau0", "s", 1.0, 1e-15, 1e6, "time constant of the switching law at threshold (netlist: 1 s)",
              log_scale=True),
    Parameter("jitter", "1", 0.5, 0.0, 0.99, "relative half-width of the uniform threshold noise the rates are "
              "averaged over (netlist: white() in [-0.5, 0.5]; 0 = noiseless)"),
)

schroedter2023_memcapacitor = register(
    DeviceModel(
        name="schroedter2023_memcapacitor",
        title="Memristor-based pseudo-memcapacitor of the neurotransistor gate (Schroedter et al. 2023)",
        reference=SCHROEDTER2023,
        states=(
            StateVariable("x", "1", 0.0, 1.0, 0.0, "memristor state (0 = OFF, 1 = ON)"),
            StateVariable("v_g0", "V", -np.inf, np.inf, 0.0,
                          "gate voltage at zero terminal voltage = gate-node charge / (C_par + C_gs)"),
        ),
        parameters=_MNT_PARAMS,
        rhs=_k.rhs_mnt,
        current=_k.charge_mnt,
        doc=__doc__,
        default_stimulus="pulses(amplitude=1.8, width=10e-6, period=100e-6, n=13, rise=20e-9, fall=20e-9)",
        stiff=True,
        sign_convention="V(G, IN) > V_s sets the memristor (x -> 1, gate discharges); V(G, IN) < V_r resets it",
        port="q(v)",
    )
)

# ---------------------------------------------------------------------------
# variability hooks
# ---------------------------------------------------------------------------
#: Parameters varied by :func:`draw_parameters` when ``names`` is not given (others: all parameters).
VARIED: dict[str, tuple[str, ...]] = {
    "biolek2013_memcapacitor": ("Clow", "Chigh", "beta", "Vt"),
    "biolek2013_memcapacitor_ideal": ("Clow", "Chigh", "k"),
    "schroedter2023_memcapacitor": ("V_s", "V_r", "I_on", "I_off", "C_gs"),
}


def draw_parameters(
    model: str | DeviceModel,
    n: int,
    rel_sigma: float | Mapping[str, float],
    seed: int | None,
    names: Sequence[str] | None = None,
    base: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Parameter rows for device-to-device or cycle-to-cycle variation.

    Each varied parameter is drawn log-normally around its nominal value:
    ``p = p0 exp(sigma xi)``, ``xi ~ N(0, 1)`` independent per row and
    parameter, so the median is ``p0``, the sign is kept, and the standard
    deviation of ``ln(p/p0)`` is ``sigma`` (relative spread ~ sigma for small
    sigma).  Values are clipped to the parameter's bounds.

    Parameters
    ----------
    model : str or DeviceModel
        Registered name, alias or model.
    n : int
        Number of rows (devices for ``simulate_batch``, or cycles).
    rel_sigma : float or mapping
        sigma for every varied parameter, or name -> sigma (>= 0).
    seed : int or None
        Seed of :func:`numpy.random.default_rng`; the same seed gives the
        same rows.
    names : sequence of str, optional
        Parameters to vary (default: :data:`VARIED` for this model, else all).
    base : mapping, optional
        Nominal values (default: the model's defaults).

    Returns
    -------
    pandas.DataFrame
        ``n`` rows, one column per varied parameter plus a constant column
        for every other parameter named in ``base``; pass it to
        :func:`memfit.simulate.simulate_batch` (parameters without a column
        take their defaults there).

    Raises
    ------
    ParameterError
        Unknown names, negative sigma, or a row whose state bounds or
        initial state become inconsistent (e.g. Cinit outside [Clow, Chigh]).
    """
    m = get_model(model)
    n = int(n)
    if n < 1:
        raise ParameterError(f"draw_parameters(): n must be >= 1, got {n}")
    if names is None:
        names = VARIED.get(m.name, tuple(m.param_names))
    names = list(names)
    nominal = m.params(dict(base or {}))
    if isinstance(rel_sigma, Mapping):
        unknown = set(rel_sigma) - set(names)
        if unknown:
            raise ParameterError(f"draw_parameters(): sigma given for parameters not varied: {sorted(unknown)}")
        sig = {k: float(rel_sigma.get(k, 0.0)) for k in names}
    else:
        sig = {k: float(rel_sigma) for k in names}
    for k, s in sig.items():
        m.parameter(k)  # raises for unknown names
        if not (np.isfinite(s) and s >= 0):
            raise ParameterError(f"draw_parameters(): sigma for {k!r} must be a finite number >= 0, got {s}")
    rng = np.random.default_rng(seed)
    xi = rng.standard_normal((n, len(names)))
    cols = {}
    for j, name in enumerate(names):
        q = m.parameter(name)
        p0 = nominal[m.param_names.index(name)]
        vals = np.clip(p0 * np.exp(sig[name] * xi[:, j]), q.lower, q.upper)
        if q.integer:
            vals = np.round(vals)
        cols[name] = vals
    frame = pd.DataFrame(cols)
    full = np.tile(nominal, (n, 1))
    for name in names:
        full[:, m.param_names.index(name)] = frame[name].to_numpy()
    m.check_params(full)
    try:
        m.initial_state(full)
    except ParameterError as exc:
        raise ParameterError(f"draw_parameters(): {exc}; lower rel_sigma or vary fewer parameters") from None
    extra = {k: v for k, v in (base or {}).items() if k not in cols}
    for k, v in extra.items():
        frame[k] = float(v)
    return frame
