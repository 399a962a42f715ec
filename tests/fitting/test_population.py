"""Population fits: device-to-device statistics recovered from a simulated population."""

import numpy as np
import pytest

from memfit.fitting import fit_population
from memfit.models import get_model
from memfit.simulate import sine_sweep, simulate


def _population(n, seed, rel_sigma=0.1):
    rng = np.random.default_rng(seed)
    stim = sine_sweep(amplitude=1.2, frequency=1.0, cycles=1, points_per_cycle=200)
    r_off = 16e3 * np.exp(rel_sigma * rng.standard_normal(n))  # log-normal device-to-device spread
    data = []
    for k in range(n):
        sim = simulate("biolek2009", stim, params={"R_off": r_off[k]})
        sim.frame["i"] *= 1 + 0.01 * rng.standard_normal(len(sim.frame))
        sim.meta["device"] = f"dev{k:03d}"
        data.append(sim)
    return data, r_off


def test_population_statistics_match_the_generating_distribution():
    data, r_off = _population(40, seed=3)
    res = fit_population("biolek2009", data, vary=["R_off"], workers=1, progress=False)
    assert res.complete and res.table["success"].all()
    fitted = res.table["R_off"].to_numpy()
    np.testing.assert_allclose(fitted, r_off, rtol=5e-3)  # each device recovered
    st = res.statistics().loc["R_off"]
    assert st["n"] == 40
    assert st["distribution"] == "lognormal"
    assert st["loc"] == pytest.approx(np.mean(np.log(r_off)), abs=2e-3)
    assert st["scale"] == pytest.approx(np.std(np.log(r_off)), rel=0.02)
    assert list(res.table["label"][:2]) == ["dev000", "dev001"]


def test_failures_are_kept_not_fatal_and_rows_stream_out():
    data, _ = _population(3, seed=4)
    bad = simulate("strukov2008", sine_sweep(amplitude=0.0, amplitude_neg=1.0, frequency=1.0, cycles=1,
                                             points_per_cycle=50), x0={"x": 0.0})
    seen = []
    res = fit_population("strukov2008", [bad], vary=["R_on"], x0={"x": 0.0}, workers=1, progress=False,
                         on_result=seen.append)
    assert not res.table["success"].iloc[0]
    assert "did not move" in res.table["error"].iloc[0]
    assert len(seen) == 1


@pytest.mark.slow
def test_parallel_workers_give_the_same_table():
    data, _ = _population(8, seed=5)
    one = fit_population("biolek2009", data, vary=["R_off", "mu_v"], workers=1, progress=False)
    two = fit_population("biolek2009", data, vary=["R_off", "mu_v"], workers=2, chunk_size=3, progress=False)
    np.testing.assert_allclose(two.table["R_off"], one.table["R_off"], rtol=1e-10)
    assert two.settings["workers"] == 2
    corr = two.correlation()
    assert corr.shape == (2, 2)
