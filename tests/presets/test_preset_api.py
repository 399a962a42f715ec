"""The Preset API the crossbar engine uses, and the built-ins checked against their published numbers."""

import json

import numpy as np
import pytest

from memfit.errors import PresetError
from memfit.presets import Preset, load_preset


def thesis_nu(w):
    """FTJ drift exponent, thesis eq. 3.5 (seed 001): nu = 0.0122|w|^3 - 0.0241 w^2 + 0.0112|w| + 0.001."""
    w = np.abs(w)
    return 0.0122 * w ** 3 - 0.0241 * w ** 2 + 0.0112 * w + 0.001


def test_contract_types():
    p = load_preset("ftj-balanced")
    assert p.model_name == "ftj_athle2023"
    assert isinstance(p.model_parameters["G_on"], float) and p.model_x0 is None
    assert p.read_voltage == 0.3 and 0 < p.g_min < p.g_max
    pr = p.pulse_response("up")
    assert set(pr) >= {"g", "dg_mean", "dg_std", "amplitude", "width"}
    assert pr["g"].shape == pr["dg_mean"].shape == pr["dg_std"].shape
    assert p.pulse_response("down")["dg_mean"].max() <= 0
    wv = p.write_verify
    for k in ("tolerance", "max_pulses", "v_start", "v_step", "v_max", "width", "success_rate", "pulses_mean",
              "pulses_std", "residual_std"):
        assert k in wv
    assert set(p.faults) == {"stuck_on", "stuck_off"} and p.levels >= 1
    assert p.drift["law"] == "power"
    P = p.draw_device_parameters(5, np.random.default_rng(0))
    assert P.shape == (5, p.model.n_params)
    with pytest.raises(PresetError, match="direction must be 'up' or 'down'"):
        p.pulse_response("sideways")


@pytest.mark.parametrize("name", ["ftj-extreme", "ftj-balanced", "ftj-constrained", "nbox", "pcm-reference"])
def test_read_iv_is_one_at_the_read_voltage(name):
    p = load_preset(name)
    assert p.read_iv(np.array([p.read_voltage]))[0] == pytest.approx(1.0, abs=1e-12)
    assert p.read_iv(np.array([0.0]))[0] == pytest.approx(0.0, abs=1e-12)


def test_read_iv_ohmic_and_ftj_sinh():
    pcm = load_preset("pcm-reference")
    v = np.linspace(-0.5, 0.5, 11)  # beyond the table on both sides: linear extension
    assert np.allclose(pcm.read_iv(v), v / 0.2, atol=1e-12)
    ftj = load_preset("ftj-extreme")
    # the FTJ read law I ~ V sinh(V/V0)/(V/V0) ... at fixed state: I(v)/I(0.3) = sinh(v/V0)/sinh(0.3/V0), V0 = 0.25 V
    v = np.array([-0.4, 0.1, 0.2, 0.4])
    assert np.allclose(ftj.read_iv(v), np.sinh(v / 0.25) / np.sinh(0.3 / 0.25), rtol=1e-3)


def test_draws_follow_the_d2d_distribution():
    d = load_preset("nbox").to_dict()
    c1, ar = d["model"]["parameters"]["c1"]["value"], d["model"]["parameters"]["A_r"]["value"]
    d["d2d"] = {"parameters": {
        "c1": {"distribution": "lognormal", "mean": {"value": c1, "unit": "1/s"}, "std": {"value": 0.2 * c1, "unit": "1/s"}},
        "B_r": {"distribution": "normal", "mean": {"value": 2.7, "unit": "V^-1/2"}, "std": {"value": 0.1, "unit": "V^-1/2"}}},
        "correlation": {"names": ["c1", "B_r"], "matrix": [[1.0, 0.6], [0.6, 1.0]]}}
    p = Preset.from_dict(d)
    P = p.draw_device_parameters(40000, 1)
    names = p.model.param_names
    x, y = P[:, names.index("c1")], P[:, names.index("B_r")]
    assert x.mean() == pytest.approx(c1, rel=0.01) and x.std() == pytest.approx(0.2 * c1, rel=0.03)
    assert y.mean() == pytest.approx(2.7, abs=0.003) and y.std() == pytest.approx(0.1, rel=0.03)
    assert np.corrcoef(np.log(x), y)[0, 1] == pytest.approx(0.6, abs=0.02)
    assert np.all(P[:, names.index("A_r")] == ar)  # no distribution: nominal


def test_drift_nu_interpolates():
    p = load_preset("pcm-reference")
    d = p.drift
    g = 0.5 * (d["nu_g"][3] + d["nu_g"][4])
    assert p.drift_nu(g) == pytest.approx(0.5 * (d["nu_mean"][3] + d["nu_mean"][4]))
    # aihwkit PCMLikeNoiseModel mean drift exponent at g = g_max/2 (Nandakumar et al. 2019)
    assert p.drift_nu(12.5e-6) == pytest.approx(min(max(-0.0155 * np.log(0.5) + 0.0244, 0.049), 0.1), abs=2e-3)


def test_statistical_preset_has_no_model_tables():
    p = load_preset("pcm-reference")
    assert p.model_name is None and p.model_parameters == {} and not p.has_pulse_response
    with pytest.raises(PresetError, match="no pulse-response tables"):
        p.pulse_response("up")
    with pytest.raises(PresetError, match="no compact model"):
        p.draw_device_parameters(3)
    # Joshi et al. 2020 (Fig. 3b): ~1 uS programming error at mid-window (~12.6 uS), i.e. ~8 % there and
    # larger at low conductance: the RMS over the middle 80 % of the window lies between 5 and 15 %
    assert 0.05 < p.write_verify["residual_std"] < 0.15


# ------------------------------------------------------------------ FTJ built-ins vs the thesis (seed 001)
def _dw(p, direction, window):
    """Step at mid-window in aihwkit weight units (w in [-1, 1] over ``window`` [S])."""
    m, _ = p.dg(0.5 * (p.g_min + p.g_max), direction)
    return 2 * abs(float(m)) / window


def test_ftj_window_and_drift_law():
    for name in ("ftj-extreme", "ftj-balanced", "ftj-constrained"):
        p = load_preset(name)
        d = p.drift
        # the derived exponents follow the thesis's nu(w), w = G/G_max with G_max = 14 nS
        assert np.allclose(d["nu_mean"], thesis_nu(d["nu_g"] / 14e-9), atol=3e-5), name
    ext = load_preset("ftj-extreme")
    assert ext.g_max == pytest.approx(14e-9, rel=0.01)  # thesis Table 3.1: G_max 14 nS
    assert load_preset("ftj-balanced").g_max == pytest.approx(14e-9, rel=0.03)


def test_ftj_cases_step_sizes():
    ext, bal, con = (load_preset(n) for n in ("ftj-extreme", "ftj-balanced", "ftj-constrained"))
    window = bal.g_max - bal.g_min
    dw_bal = 0.5 * (_dw(bal, "up", window) + _dw(bal, "down", window))
    dw_con = 0.5 * (_dw(con, "up", window) + _dw(con, "down", window))
    assert 0.07 < dw_bal < 0.15  # thesis: Balanced dw_min = 0.1
    assert abs(_dw(bal, "up", window) / _dw(bal, "down", window) - 1) > 0.2  # asymmetric
    assert 30 < dw_bal / dw_con < 80  # thesis: Constrained ~50x smaller dw_min
    assert _dw(ext, "up", ext.g_max - ext.g_min) > 0.5  # Extreme: the largest steps
    # Constrained operates in the middle of the window
    assert bal.g_min < con.g_min < con.g_max < bal.g_max
