"""Fitting: parameters recovered from data generated with known values and realistic noise."""

import json

import numpy as np
import pytest

from memfit.errors import FitError
from memfit.fitting import FitResult, fit
from memfit.simulate import pulse_train, simulate, sine_sweep

TRUE = {"R_off": 18e3, "mu_v": 1.3e-14}


def _noisy(sim, rel, seed, floor=0.0):
    """Multiplicative (gain) noise plus an additive floor, like an SMU on a fixed range."""
    rng = np.random.default_rng(seed)
    i = sim.frame["i"].to_numpy()
    sim.frame["i"] = i * (1 + rel * rng.standard_normal(i.size)) + floor * rng.standard_normal(i.size)
    return sim


def _iv(seed, rel=0.02):
    stim = sine_sweep(amplitude=1.2, frequency=1.0, cycles=2, points_per_cycle=300)
    return _noisy(simulate("biolek2009", stim, params=TRUE), rel, seed)


def _pulses(seed, rel=0.01):
    stim = pulse_train(amplitude=[1.4] * 8 + [-1.4] * 8, width=0.02, period=0.08, read_v=0.1, read_width=0.01)
    return _noisy(simulate("biolek2009", stim, params=TRUE), rel, seed)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_recovers_true_parameters_within_three_sigma(seed):
    res = fit("biolek2009", _iv(seed), vary=["R_off", "mu_v"], initial={"R_off": 14e3, "mu_v": 0.7e-14})
    for name, true in TRUE.items():
        v, e = res.values[name], res.stderr[name]
        assert np.isfinite(e) and e > 0
        assert abs(v - true) < 3 * e, f"{name}: {v:g} +/- {e:g} vs true {true:g}"
    assert res.datasets.loc[0, "r2"] > 0.99


def test_joint_fit_beats_each_single_fit():
    """I-V and pulse data together pin the shared parameters better than either alone."""
    iv, pl = _iv(11), _pulses(12)
    kw = dict(vary=["R_off", "mu_v"], initial={"R_off": 15e3, "mu_v": 1.0e-14})
    joint = fit("biolek2009", [iv, pl], **kw)
    alone = [fit("biolek2009", d, **kw) for d in (iv, pl)]
    assert list(joint.datasets["kind"]) == ["iv", "pulse"]
    for name in TRUE:
        assert joint.stderr[name] < min(a.stderr[name] for a in alone), name
        assert abs(joint.values[name] - TRUE[name]) < 3 * joint.stderr[name]


def test_per_dataset_initial_state():
    """The state at the start of each cycle differs; fit_x0 recovers it per dataset."""
    stim = sine_sweep(amplitude=1.2, frequency=1.0, cycles=1, points_per_cycle=300)
    d0 = _noisy(simulate("biolek2009", stim, params=TRUE, x0={"x": 0.2}), 0.01, 5)
    d1 = _noisy(simulate("biolek2009", stim, params=TRUE, x0={"x": 0.5}), 0.01, 6)
    res = fit("biolek2009", [d0, d1], vary=["mu_v"], fix={"R_off": TRUE["R_off"]}, fit_x0=["x"])
    for d, x0 in enumerate((0.2, 0.5)):
        v, e = res.values[f"x0_x__d{d}"], res.stderr[f"x0_x__d{d}"]
        assert abs(v - x0) < max(3 * e, 1e-6), (v, e)
    assert res.initial_state(1)["x"] == pytest.approx(res.values["x0_x__d1"])


def test_series_resistance_is_part_of_the_circuit():
    """Data taken behind 2 kOhm: fitting with the circuit recovers the device, without it does not."""
    stim = sine_sweep(amplitude=1.5, frequency=1.0, cycles=1, points_per_cycle=300)
    sim = _noisy(simulate("biolek2009", stim, params=TRUE, series_resistance=2e3), 0.01, 7)
    good = fit("biolek2009", sim, vary=["R_off", "mu_v"])  # the simulation's metadata carries Rs
    assert abs(good.values["R_off"] - TRUE["R_off"]) < 3 * good.stderr["R_off"]
    bad = fit("biolek2009", sim, vary=["R_off", "mu_v"], series_resistance=0.0)
    assert abs(bad.values["R_off"] - TRUE["R_off"]) > 10 * good.stderr["R_off"]


def test_unidentifiable_pair_is_reported():
    """HP model: mu_v and R_on enter the I-V almost only through k = mu_v R_on / D^2 (pitfall 2)."""
    res = fit("biolek2009", _iv(21), vary=["mu_v", "D"])
    pairs = {(a, b) for a, b, _ in res.unidentifiable}
    assert ("mu_v", "D") in pairs
    assert "correlated" in res.report()


def test_fit_that_cannot_move_raises():
    """A parameter with no influence on the data leaves the fit at its start -> FitError, not 'success'.

    strukov2008 held at x = 0 by a purely negative drive: the device is R_off whatever R_on is.
    """
    stim = sine_sweep(amplitude=0.0, amplitude_neg=1.0, frequency=1.0, cycles=1, points_per_cycle=100)
    sim = simulate("strukov2008", stim, x0={"x": 0.0})
    assert sim["x"].max() == 0.0
    with pytest.raises(FitError, match="did not move from its start"):
        fit("strukov2008", sim, vary=["R_on"], initial={"R_on": 100.0}, x0={"x": 0.0})
    # the simulation records x0 = 0, so by default the fit starts there too and stays flat
    with pytest.raises(FitError, match="did not move from its start"):
        fit("strukov2008", sim, vary=["R_on"], initial={"R_on": 100.0})
    # from another state (x = 0.3145) R_on does matter, and the fit finds the data's device: R = R_off
    res = fit("strukov2008", sim, vary=["R_on"], initial={"R_on": 100.0}, x0={"x": 0.3145})
    assert res.values["R_on"] == pytest.approx(16e3, rel=1e-4)


def test_bad_arguments_are_clear():
    sim = _iv(1)
    with pytest.raises(Exception, match="has no parameter 'Roff'"):
        fit("biolek2009", sim, vary=["Roff"])
    with pytest.raises(FitError, match="both varied and fixed"):
        fit("biolek2009", sim, vary=["R_off"], fix={"R_off": 1e4})
    with pytest.raises(FitError, match="does not apply to iv data"):
        fit("biolek2009", sim, vary=["R_off"], residual="linear")
    with pytest.raises(FitError, match="bounds for 'R_off' must lie inside"):
        fit("biolek2009", sim, vary=["R_off"], bounds={"R_off": (-1.0, 1e5)})
    with pytest.raises(FitError, match="global_method must be"):
        fit("biolek2009", sim, vary=["R_off"], global_method="anneal")
    with pytest.raises(FitError, match="per_dataset parameters .* must also be in vary"):
        fit("biolek2009", sim, vary=["R_off"], per_dataset=["mu_v"])
    with pytest.raises(FitError, match="weights has 2 entries for 1 datasets"):
        fit("biolek2009", sim, vary=["R_off"], weights=[1, 2])


def test_global_stage_then_local(tmp_path):
    res = fit("biolek2009", _iv(4), vary=["R_off", "mu_v"], global_method="differential_evolution",
              bounds={"R_off": (5e3, 5e4), "mu_v": (3e-15, 5e-14)})
    assert res.info["stages"][0] == "differential_evolution"
    for name, true in TRUE.items():
        assert abs(res.values[name] - true) < 3 * res.stderr[name]


def test_save_load_report_plot(tmp_path):
    res = fit("biolek2009", [_iv(8), _pulses(9)], vary=["R_off", "mu_v"])
    p = res.save(tmp_path / "fit.json")
    back = FitResult.load(p)
    assert back.values == pytest.approx(res.values)
    assert back.stderr["R_off"] == pytest.approx(res.stderr["R_off"])
    assert back.correlation.loc["R_off", "mu_v"] == pytest.approx(res.correlation.loc["R_off", "mu_v"])
    assert json.loads(p.read_text())["info"]["sources"][0]["sha256_data"]
    txt = res.report()
    assert "R_off" in txt and "NRMSE" in txt
    html = res.to_html()
    assert "<img src='data:image/png;base64," in html and "R_off" in html
    res.plot(tmp_path / "fit.png")
    assert (tmp_path / "fit.png").stat().st_size > 10_000
    with pytest.raises(FitError, match="not a memfit fit result"):
        (tmp_path / "x.json").write_text("{}")
        FitResult.load(tmp_path / "x.json")


def test_standard_errors_equal_lmfit_propagation_through_its_expressions():
    """memfit computes the errors of its transformed quantities (10**v, -10**v, v*scale) from the
    internal variables' covariance directly; lmfit's own route (numerical differentiation of each
    expression with the uncertainties package) must give the same numbers."""
    data = [_iv(21), _pulses(22)]
    kw = dict(vary=["R_off", "mu_v", "R_on"], initial={"R_off": 14e3, "mu_v": 0.7e-14})
    _same_errors_both_ways("biolek2009", data, kw)
    # log-scaled negative (k_on) and linear (v_off, v_on) quantities
    true = dict(R_on=1e3, R_off=1e5, k_off=0.8, k_on=-3.0, v_off=0.3, v_on=-0.4, alpha_off=2.5, alpha_on=3.0)
    stim = sine_sweep(amplitude=1.0, frequency=1.0, cycles=2, points_per_cycle=300)
    vt = _noisy(simulate("vteam", stim, params=true, x0={"x": 0.3}), 0.01, 23)
    varied = ("k_on", "v_off", "v_on")
    _same_errors_both_ways("vteam", [vt], dict(vary=list(varied), x0={"x": 0.3},
                                               initial={"k_on": -2.5, "v_off": 0.32, "v_on": -0.37},
                                               fix={k: v for k, v in true.items() if k not in varied}))


def _same_errors_both_ways(model, data, kw):
    from memfit.fitting.core import _minimizer_class, attach_transform_exprs

    ours = fit(model, data, **kw)
    cls = _minimizer_class()
    mine = cls._calculate_uncertainties_correlations

    def lmfit_route(self):  # lmfit's own propagation, through the expressions (put on first)
        attach_transform_exprs(self.result.params, self._transforms)
        return super(cls, self)._calculate_uncertainties_correlations()

    cls._calculate_uncertainties_correlations = lmfit_route
    try:
        theirs = fit(model, data, **kw)
    finally:
        cls._calculate_uncertainties_correlations = mine
    for name in kw["vary"]:
        assert ours.values[name] == theirs.values[name]
        assert ours.stderr[name] == pytest.approx(theirs.stderr[name], rel=1e-6), name
    np.testing.assert_allclose(ours.correlation.to_numpy(), theirs.correlation.to_numpy(), atol=1e-9)


VTEAM_TRUE = dict(R_on=1e3, R_off=1e5, k_off=0.8, k_on=-3.0, v_off=0.3, v_on=-0.4, alpha_off=2.5, alpha_on=3.0)


def _count_batch_rows(monkeypatch) -> list:
    """The row counts of every Simulator.run_batch call from now on (the method wrapped)."""
    from memfit.simulate.core import Simulator

    rows = []
    run_batch = Simulator.run_batch

    def counting_run_batch(self, P, X0=None):
        rows.append(len(P))
        return run_batch(self, P, X0)

    monkeypatch.setattr(Simulator, "run_batch", counting_run_batch)
    return rows


@pytest.mark.parametrize("model", ["biolek2009", "vteam_biolek"])
def test_jacobian_reuses_the_residual_just_evaluated(monkeypatch, model):
    """Least squares asks for the Jacobian where it has just evaluated the residual: the base row
    comes from that evaluation (one integration fewer per Jacobian), and the Jacobian is exactly the
    one that integrates its base row again -- for VTEAM too, whose Jacobian perturbs a switching
    threshold (each batch row is cut at its own thresholds, as a single run is)."""
    from memfit.fitting import core

    batch_rows = _count_batch_rows(monkeypatch)
    gaps = []
    jacobian = core._Problem.jacobian

    def checked_jacobian(self, pars, names, rel_step):
        j_reuse = jacobian(self, pars, names, rel_step)
        last, self._last = self._last, None
        try:
            j_full = jacobian(self, pars, names, rel_step)
        finally:
            self._last = last
        scale = np.max(np.abs(j_full), axis=0)  # per parameter (J is points x parameters)
        gaps.append(float(np.max(np.abs(j_reuse - j_full).max(axis=0) / scale)))
        return j_reuse

    monkeypatch.setattr(core._Problem, "jacobian", checked_jacobian)
    if model == "biolek2009":
        vary, start = ["R_off", "mu_v"], {"R_off": 15e3, "mu_v": 1.0e-14}
        res = fit(model, _iv(1), vary=vary, initial=start)
        for k, v in TRUE.items():
            assert abs(res.values[k] - v) < 3 * res.stderr[k]
    else:
        vary = ["R_off", "k_off", "v_off"]
        stim = sine_sweep(amplitude=1.0, frequency=1.0, cycles=2, points_per_cycle=300)
        data = _noisy(simulate(model, stim, params=VTEAM_TRUE, x0={"x": 0.3}), 0.01, 1)
        fit(model, data, vary=vary, initial={k: 1.1 * VTEAM_TRUE[k] for k in vary},
            fix={k: v for k, v in VTEAM_TRUE.items() if k not in vary})
    # every Jacobian integrated its perturbed rows only (the checking call, with the cache cleared, one more)
    n = len(batch_rows) // 2
    assert batch_rows[0::2] == [len(vary)] * n and batch_rows[1::2] == [len(vary) + 1] * n
    assert gaps and max(gaps) == 0.0


def test_jacobian_integrates_its_base_row_when_the_batch_shares_one_table(monkeypatch):
    """Past the table budget a batch shares one table cut at all its rows' thresholds; its rows then
    differ from single runs, so the Jacobian integrates its base row with the others."""
    from memfit.simulate import core as sim_core

    batch_rows = _count_batch_rows(monkeypatch)
    monkeypatch.setattr(sim_core, "_MAX_CUT_ROWS", 1)
    vary = ["R_off", "k_off", "v_off"]
    stim = sine_sweep(amplitude=1.0, frequency=1.0, cycles=2, points_per_cycle=300)
    data = _noisy(simulate("vteam_biolek", stim, params=VTEAM_TRUE, x0={"x": 0.3}), 0.01, 1)
    fit("vteam_biolek", data, vary=vary, initial={k: 1.1 * VTEAM_TRUE[k] for k in vary},
        fix={k: v for k, v in VTEAM_TRUE.items() if k not in vary})
    assert batch_rows and set(batch_rows) == {len(vary) + 1}


def _retention(seed):
    """A SET pulse, then 40 reads at 0.1 V over 100 s (log-spaced), one sample each."""
    from memfit.simulate import hold

    stim = pulse_train(amplitude=[1.4], width=0.02) + hold(0.1, 100.0, points=40, log=True, role="read")
    return _noisy(simulate("biolek2009", stim, params=TRUE), 0.01, seed)


@pytest.mark.parametrize("kind,residual", [("iv", "log"), ("iv", "relative"), ("iv", "absolute"), ("pulse", None),
                                           ("retention", None)])
def test_batch_residuals_equal_the_per_run_residuals(kind, residual):
    """FitData.residual_matrix (a Jacobian's batch at once, in place) gives each run's residual_vector."""
    from memfit.fitting.objective import FitData
    from memfit.models import get_model
    from memfit.simulate import Simulator

    rec = {"iv": _iv, "pulse": _pulses, "retention": _retention}[kind](31)
    fd = FitData.build(rec, "d", kind, residual)
    m = get_model("biolek2009")
    P = np.stack([m.params({**TRUE, "R_off": r}) for r in (15e3, 18e3, 21e3)])
    OUT, status = Simulator(m, fd.stimulus).run_batch(P)
    assert (status == 0).all()
    expect = np.stack([fd.residual_vector(o) for o in OUT])
    np.testing.assert_allclose(fd.residual_matrix(OUT), expect, rtol=1e-14, atol=1e-15)
    into = np.full((5, fd.n), np.nan)
    fd.residual_matrix(OUT, into[1:4])
    np.testing.assert_allclose(into[1:4], expect, rtol=1e-14, atol=1e-15)
    assert np.isnan(into[[0, 4]]).all()


def test_the_point_evaluated_last_is_not_integrated_again(monkeypatch):
    """lmfit re-evaluates the best point, and the reweighting and the reweighted pass start there:
    residual() reuses that evaluation (only the weights change), three times in a reweighted joint
    fit, with results identical to integrating again."""
    from memfit.fitting import core

    data = [_iv(41), _pulses(42)]
    kw = dict(vary=["R_off", "mu_v"], initial={"R_off": 15e3, "mu_v": 1.0e-14})
    residual = core._Problem.residual
    reused = []

    def counting(self, pars):
        n = self.nfev
        r = residual(self, pars)
        reused.append(self.nfev == n)
        return r

    monkeypatch.setattr(core._Problem, "residual", counting)
    cached = fit("biolek2009", data, **kw)
    assert sum(reused) == 3
    monkeypatch.setattr(core._Problem, "_at_last", lambda self, P, X0: False)
    fresh = fit("biolek2009", data, **kw)
    for name in kw["vary"]:
        assert cached.values[name] == fresh.values[name]
        assert cached.stderr[name] == fresh.stderr[name]
    np.testing.assert_array_equal(cached.datasets["r2"], fresh.datasets["r2"])


def test_jacobian_skips_rows_that_leave_a_dataset_unchanged(monkeypatch):
    """With initial states fitted per cycle, each cycle's Jacobian batch holds the shared parameter's row
    and its own initial state's row only; the Jacobian equals one-sided differences of residual()."""
    from memfit.fitting import core

    stim = sine_sweep(amplitude=1.2, frequency=1.0, cycles=1, points_per_cycle=200)
    data = []
    for k, x0 in enumerate((0.2, 0.4, 0.6)):
        d = _noisy(simulate("biolek2009", stim, params=TRUE, x0={"x": x0}), 0.01, 20 + k)
        d.meta.pop("x0", None)
        data.append(d)
    sizes = _count_batch_rows(monkeypatch)
    checked = []
    real_jac = core._Problem.jacobian

    def jacobian(self, pars, names, rel_step):
        J = real_jac(self, pars, names, rel_step)
        if not checked:  # the same differences from whole-objective evaluations (all datasets integrated)
            r0 = self.residual(pars)
            for c, n in enumerate(names):
                v = pars[n].value
                h = rel_step if n.startswith(("_l_", "_n_")) else rel_step * max(abs(v), 0.1)
                if v + h > pars[n].max:
                    h = -h
                pars[n].value = v + h
                col = (self.residual(pars) - r0) / h
                pars[n].value = v
                np.testing.assert_allclose(J[:, c], col, rtol=1e-9, atol=1e-9 * np.abs(col).max())
            checked.append(True)
        return J

    monkeypatch.setattr(core._Problem, "jacobian", jacobian)
    res = fit("biolek2009", data, vary=["mu_v"], fix={"R_off": TRUE["R_off"]}, fit_x0=["x"])
    assert checked
    # 5 columns' rows (mu_v and three initial states): 2 change a given cycle, plus its base row at most
    assert sizes and max(sizes) <= 3
    for d, x0 in enumerate((0.2, 0.4, 0.6)):
        v, e = res.values[f"x0_x__d{d}"], res.stderr[f"x0_x__d{d}"]
        assert abs(v - x0) < max(3 * e, 1e-6), (d, v, e)


def test_read_conductance_is_the_ratio_of_the_event_means():
    """A read event's conductance is mean(i) / mean(v) over its samples: one simulation or a batch."""
    from memfit.fitting.objective import FitData
    from memfit.models import get_model
    from memfit.simulate import Simulator
    from memfit.simulate._kernels import circuit as C

    fd = FitData.build(_pulses(33), "d", "pulse")
    assert len(fd.events) == 16 and all(e.size > 1 for e in fd.events)
    m = get_model("biolek2009")
    out, _ = Simulator(m, fd.stimulus).run(m.params(TRUE))
    v, i = out[:, C.O_VTERM], out[:, C.O_I]
    ref = np.array([np.mean(i[e]) / np.mean(v[e]) for e in fd.events])
    np.testing.assert_allclose(fd.conductance(v, i), ref, rtol=1e-13)
    both = fd.conductance(np.stack([v, 2 * v]), np.stack([i, i]))
    np.testing.assert_allclose(both, np.stack([ref, ref / 2]), rtol=1e-13)
    np.testing.assert_allclose(fd.measured(), [np.mean(fd.record.frame["i"].to_numpy()[e])
                                               / np.mean(fd.record.frame["v"].to_numpy()[e]) for e in fd.events],
                               rtol=1e-13)
