"""Joint I-V + pulse + retention fit: three experiments on one relaxing device pin its shared parameters.

The dynamic memdiode (``memdiode_dmm``) is the model whose three experiments share parameters
meaningfully: its state obeys ``d lam/dt = (1 - lam)/tau_S(V) - lam/tau_R(V)`` with ``tau_S = T0s
exp(-V/V0s)`` and ``tau_R = T0r exp(V/V0r)`` at *every* bias, so

* the I-V sweep sees T0s and T0r through where SET and RESET happen on the +-1 V triangle,
* the pulse train (10 SET then 10 RESET pulses of +-0.8 V, 10 ms, reads at 0.1 V) sees them through
  the step size of the gradual potentiation and depression,
* the retention run (one 1 V SET pulse, then reads at 0.05 V for 300 s) sees them through the
  relaxation towards ``lam_inf = tau_R/(tau_S + tau_R)`` with ``tau = tau_S tau_R/(tau_S + tau_R)``,

and all three read the LRS current prefactor I_max.  (In the FTJ model the drift law's coefficients
appear only in retention data, so its three experiments share little beyond G_on and G_off.)
"""

import numpy as np
import pytest

from memfit.fitting import fit
from memfit.simulate import hold, pulse_train, simulate, triangle_sweep

MODEL = "memdiode_dmm"
TRUE = {"I_max": 1.15e-4, "T0s": 150.0, "T0r": 90.0}  # defaults 9.576e-5 A, 120.2 s, 120.2 s
KINDS = ["iv", "pulse", "retention"]


def _noisy(sim, rel, seed, floor=1e-10):
    """Multiplicative (gain) noise plus an additive floor, like an SMU on a fixed range."""
    rng = np.random.default_rng(seed)
    i = sim.frame["i"].to_numpy()
    sim.frame["i"] = i * (1 + rel * rng.standard_normal(i.size)) + floor * rng.standard_normal(i.size)
    return sim


def _experiments(seed):
    iv = triangle_sweep(vmax=1.0, frequency=1, cycles=1, points_per_cycle=300)
    pulses = pulse_train(amplitude=[0.8] * 10 + [-0.8] * 10, width=0.01, read_v=0.1, read_width=0.01,
                         rise=1e-4, fall=1e-4)
    retention = (pulse_train(amplitude=[1.0], width=0.05, rise=1e-4, fall=1e-4)
                 + hold(0.05, 300.0, points=60, log=True, role="read"))
    sims = [simulate(MODEL, s, params=TRUE, rtol=1e-9) for s in (iv, pulses, retention)]
    return [_noisy(sims[0], 0.02, seed), _noisy(sims[1], 0.01, seed + 100), _noisy(sims[2], 0.01, seed + 200)]


@pytest.mark.parametrize("seed", [1, 2])
def test_joint_iv_pulse_retention_beats_every_single_experiment(seed):
    data = _experiments(seed)
    kw = dict(vary=list(TRUE), rtol=1e-8)  # start: the model's defaults
    alone = {k: fit(MODEL, d, kinds=[k], **kw) for k, d in zip(KINDS, data)}
    joint = fit(MODEL, data, kinds=KINDS, **kw)
    assert list(joint.datasets["kind"]) == KINDS
    assert "least_squares (reweighted)" in joint.info["stages"]
    for name, true in TRUE.items():
        e = joint.stderr[name]
        assert np.isfinite(e) and e > 0
        best_single = min(a.stderr[name] for a in alone.values())
        assert e < best_single, f"{name}: joint {e:g} vs best single {best_single:g}"
        assert abs(joint.values[name] - true) < 3 * e, f"{name}: {joint.values[name]:g} +/- {e:g} vs {true:g}"
    # each experiment alone determines all three (so the comparison is between honest fits)
    for k, a in alone.items():
        assert not a.unidentifiable, (k, a.unidentifiable)
        assert all(np.isfinite(a.stderr[n]) for n in TRUE), k
    assert (joint.datasets["r2"] > 0.99).all(), joint.datasets
    # reweighting found each dataset's own scatter: 2 % on the I-V (asinh ~ relative), 1 % on ln g (retention)
    noise = dict(zip(joint.datasets["kind"], joint.datasets["noise"]))
    assert noise["iv"] == pytest.approx(0.02, rel=0.25)
    assert noise["retention"] == pytest.approx(0.01, rel=0.25)
