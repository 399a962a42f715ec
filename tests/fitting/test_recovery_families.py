"""Parameter recovery for every model family: data generated with known parameters, fitted back.

For each family the data come from the model's characteristic experiment (the stimulus its docstring
describes, or the sweep regime in which the varied parameters act), generated with parameters shifted
10-30 % from the published defaults and a tighter integration tolerance than the fit's, with
instrument-like noise (multiplicative gain noise plus a small additive floor).  The fit starts from the
defaults and must land within 3 standard errors of every true value, for two noise seeds.

Which parameters are fitted, and why those (the others are held at their defaults):

``vteam``, ``vteam_biolek``
    R_on, R_off, k_off on the 1 V, 50 MHz sine: OFF switching is gradual there, so its rate is
    determined; ON switching is near-instantaneous (k_on only bounded) and alpha_off = 1 makes
    k_off / v_off the slope, so one of that pair is enough.
``yakopcic2011``
    a1, Ap, An on a 1.2 V, 1 kHz sine: at the docstring's 1 Hz drive x sits on its bounds each half
    period (rates unmeasurable); at 1 kHz both rates shape the lobes.  b is not fitted: b V << 1
    makes a1 sinh(b V) ~ a1 b V, so only a1 b is determined.
``stanford_pku``
    I0, g0, V0 (port) on the guide's 1.5 V, 100 Hz triangle (RESET and SET visible).  The SET
    threshold (F_min) is recoverable but its standard error is ~1.7x too small (abrupt SET: the
    residual is nearly a step function of F_min), so it is not asserted here.
``memdiode_dmm``
    I_max, T0s, T0r on the +-1 V, 1 Hz triangle (set and reset time scales; T0s/V0s are
    correlated at -0.97 on one sweep rate, so V0s stays fixed).
``memdiode_qmm``
    I_min, V_set, V_res on one +-1 V, 1 Hz triangle cycle (the ridge centres are where lam jumps).
``schroedter2022``
    A_s, c2, c3 from the default potentiation/depression pulse train with reads at -0.2 V (c1 and
    c2 are correlated at -0.99: c1 exp(c2 x i) under positive drive).
``ftj_athle2023``
    G_off, V_a, V_imp from the published amplitude-stepped 1 us pulse scheme (every other step:
    8 + 8 pulses) with 0.3 V reads.
``biolek2013_memcapacitor`` (q(v) port)
    Clow, Chigh, beta from the terminal current of the 4 V, 50 kHz sine (the iv residual compares
    the current, which the q(v) port gives as dq/dt).  The data start from Cinit = 20 pF: see
    ``test_memcapacitor_from_the_default_initial_state`` for the default 50 pF.
``vo2_demirkol2022``
    R0, S_th, w from a unipolar voltage sweep 0 -> 30 V -> 0 at 1 kHz through the Pearson-Anson
    bench's 12 kOhm load (quasi-static for the 241 ns thermal time; the load line crosses the
    NDR region stably, so the hysteretic I-V is continuous).  The docstring's characteristic
    current sweep cannot be fitted: see ``test_vo2_current_sweep``.
"""

import time

import numpy as np
import pytest

from memfit.errors import FitError, ParameterError
from memfit.fitting import fit
from memfit.models import get_model
from memfit.simulate import parse_stimulus, pulse_train, simulate, sine_sweep, triangle_sweep

SEEDS = (1, 2)
GEN_RTOL = 1e-9  # data are generated more accurately than they are fitted

#: Published FTJ scheme (+0.5..+2.0 V, -0.4..-1.9 V in 0.1 V steps), every other amplitude.
FTJ_AMPLITUDES = [round(0.5 + 0.2 * k, 1) for k in range(8)] + [round(-0.4 - 0.2 * k, 1) for k in range(8)]


def _noisy(sim, rel, seed, floor=0.0):
    """Multiplicative (gain) noise plus an additive floor, like an SMU on a fixed range."""
    rng = np.random.default_rng(seed)
    i = sim.frame["i"].to_numpy()
    sim.frame["i"] = i * (1 + rel * rng.standard_normal(i.size)) + floor * rng.standard_normal(i.size)
    return sim


# model -> stimulus builder, true values of the fitted parameters, noise (relative, floor [A]),
# extra arguments of simulate() (the test circuit; other parameter values), fit rtol
CASES = {
    "vteam": dict(
        stim=lambda: sine_sweep(amplitude=1.0, frequency=50e6, cycles=2, points_per_cycle=200),
        true={"R_on": 60.0, "R_off": 800.0, "k_off": 2.1e5}, rel=0.02, floor=1e-7,
    ),
    "vteam_biolek": dict(
        stim=lambda: sine_sweep(amplitude=1.0, frequency=50e6, cycles=2, points_per_cycle=200),
        true={"R_on": 60.0, "R_off": 800.0, "k_off": 2.1e5}, rel=0.02, floor=1e-7,
    ),
    "yakopcic2011": dict(
        stim=lambda: sine_sweep(amplitude=1.2, frequency=1e3, cycles=2, points_per_cycle=300),
        true={"a1": 0.21, "Ap": 5000.0, "An": 3200.0}, rel=0.02, floor=1e-7,
    ),
    "stanford_pku": dict(
        stim=lambda: triangle_sweep(vmax=1.5, frequency=100, cycles=2, points_per_cycle=400),
        true={"I0": 1.25e-3, "g0": 0.3e-9, "V0": 0.22}, rel=0.02, floor=1e-9,
    ),
    "memdiode_dmm": dict(
        stim=lambda: triangle_sweep(vmax=1.0, frequency=1, cycles=2, points_per_cycle=400),
        true={"I_max": 1.15e-4, "T0s": 150.0, "T0r": 90.0}, rel=0.02, floor=1e-10,
    ),
    "memdiode_qmm": dict(
        stim=lambda: triangle_sweep(vmax=1.0, frequency=1, cycles=1, points_per_cycle=400),
        true={"I_min": 1.5e-6, "V_set": 0.6, "V_res": -0.42}, rel=0.02, floor=1e-10,
    ),
    "schroedter2022": dict(
        stim=lambda: parse_stimulus(get_model("schroedter2022").default_stimulus),
        true={"A_s": 1.4e-8, "c2": 48000.0, "c3": 13500.0}, rel=0.01, floor=1e-12,
    ),
    "ftj_athle2023": dict(
        stim=lambda: pulse_train(amplitude=FTJ_AMPLITUDES, width=1e-6, read_v=0.3),
        true={"G_off": 6.2e-9, "V_a": 6.2, "V_imp": 0.06}, rel=0.01, floor=1e-13, rtol=1e-7,
    ),
    "biolek2013_memcapacitor": dict(
        stim=lambda: sine_sweep(amplitude=4.0, frequency=50e3, cycles=2, points_per_cycle=300),
        true={"Clow": 1.25e-12, "Chigh": 80e-12, "beta": 85e-6}, rel=0.01, floor=1e-9,
        sim={"params": {"Cinit": 20e-12}},
    ),
    "vo2_demirkol2022": dict(
        stim=lambda: triangle_sweep(vmax=30.0, vmin=0.0, frequency=1e3, points_per_cycle=400),
        true={"R0": 6.5e-3, "S_th": 2.4e-4, "w": 6.0}, rel=0.01, floor=1e-8,
        sim={"series_resistance": 12e3},
    ),
}


def _data(model, case, seed):
    sim_kw = dict(case.get("sim", {}))
    params = {**sim_kw.pop("params", {}), **case["true"]}
    sim = simulate(model, case["stim"](), params=params, rtol=GEN_RTOL, **sim_kw)
    return _noisy(sim, case["rel"], seed, case["floor"])


def _assert_recovered(res, true):
    for name, value in true.items():
        v, e = res.values[name], res.stderr[name]
        assert np.isfinite(e) and e > 0, f"{name}: no standard error ({e})"
        assert abs(v - value) < 3 * e, f"{name}: {v:g} +/- {e:g} vs true {value:g}"


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("model", list(CASES))
def test_family_recovers_true_parameters_within_three_sigma(model, seed):
    case = CASES[model]
    data = _data(model, case, seed)
    defaults = get_model(model).defaults()
    assert all(abs(case["true"][n] / defaults[n] - 1) >= 0.09 for n in case["true"]), "truth too close to start"
    t0 = time.perf_counter()
    res = fit(model, data, vary=list(case["true"]), rtol=case.get("rtol", 1e-8))
    wall = time.perf_counter() - t0
    assert all(res.start[n] == pytest.approx(defaults[n]) for n in case["true"])  # started from the defaults
    _assert_recovered(res, case["true"])
    assert not res.unidentifiable, res.unidentifiable
    assert res.datasets.loc[0, "r2"] > 0.99
    assert wall < 30, f"fit took {wall:.1f} s"  # generous: a loaded 2-core CI machine


# ------------------------------------------------------- trial steps past state bounds; current-forced data
def test_memcapacitor_from_the_default_initial_state():
    case = CASES["biolek2013_memcapacitor"]
    sim = simulate("biolek2013_memcapacitor", case["stim"](), params=case["true"], rtol=GEN_RTOL)  # Cinit 50 pF
    res = fit("biolek2013_memcapacitor", _noisy(sim, case["rel"], 1, case["floor"]), vary=list(case["true"]),
              rtol=1e-8)
    _assert_recovered(res, case["true"])


def test_vo2_current_sweep():
    """The docstring's characteristic drive: current sweep 0 -> 3 mA -> 0; the device voltage carries the data."""
    true = {"R0": 6.5e-3, "S_th": 2.4e-4, "w": 6.0}
    sim = simulate("vo2_demirkol2022", get_model("vo2_demirkol2022").default_stimulus, params=true, rtol=GEN_RTOL)
    rng = np.random.default_rng(1)
    sim.frame["v"] = sim.frame["v"] * (1 + 0.01 * rng.standard_normal(len(sim.frame)))
    res = fit("vo2_demirkol2022", sim, vary=list(true), rtol=1e-8)
    _assert_recovered(res, true)
