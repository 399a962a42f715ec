"""Derivation by simulation, checked against closed forms of a soft VTEAM device and the FTJ drift law."""

import numpy as np
import pytest

from memfit.errors import PresetError
from memfit.models import get_model
from memfit.presets import derive_preset
from memfit.presets.derive import _ispp, count_levels, drift_exponents

from .conftest import PULSES, READ_V, VTEAM, vteam_g, vteam_x


def analytic_dg(g, dx):
    """Exact conductance change of one pulse moving x by dx (clamped to [0, 1]) from conductance g."""
    return vteam_g(np.clip(vteam_x(g) + dx, 0, 1)) - g


def test_window(vteam_preset):
    p = vteam_preset
    assert p.g_min == pytest.approx(1e-4, rel=1e-6)  # x = 1: 1/R_off
    assert p.g_max == pytest.approx(1e-3, rel=1e-6)  # 50 up pulses of dx = -0.02 reach x = 0: 1/R_on


def test_pulse_response_matches_closed_form(vteam_preset):
    for direction, dx in (("up", -0.02), ("down", 0.01)):
        t = vteam_preset.pulse_response(direction)
        exact = analytic_dg(t["g"], dx)
        scale = np.max(np.abs(exact))
        # away from the bound: within two steps of it the c2c mean of a clipped step differs from the nominal one
        x_after = vteam_x(t["g"]) + 2 * dx
        inner = (x_after > 0) & (x_after < 1)
        assert inner.sum() > 15
        # the table is the mean of 40 cycles with 10 % spread: sampling error 1.6 % per point
        err = np.abs(t["dg_mean"][inner] - exact[inner]) / scale
        assert err.max() < 0.05 and err.mean() < 0.02, direction
        assert t["amplitude"] == PULSES[direction]["amplitude"] and t["width"] == 1e-3


def test_cycle_to_cycle_spread(vteam_preset):
    # dx is proportional to k_on (k_off), drawn with 10 % relative std per cycle; away from the bound dG is
    # nearly linear in dx, so std(dG)/|dG| ~ 0.10 (40 cycles: sampling error ~ 11 %)
    for direction in ("up", "down"):
        t = vteam_preset.pulse_response(direction)
        mid = slice(6, 18)
        ratio = t["dg_std"][mid] / np.abs(t["dg_mean"][mid])
        assert 0.07 < np.median(ratio) < 0.13, direction


def test_device_to_device(vteam_preset):
    # R_off log-normal with 10 % std -> g_min = 1/R_off spreads by ~10 % (16 devices)
    assert 0.05 < vteam_preset.g_min_dtod < 0.16
    assert vteam_preset.g_max_dtod < 1e-9  # R_on does not vary
    assert vteam_preset.d2d["parameters"]["R_off"]["std"] == pytest.approx(0.1 * 1e4)


def test_read_iv_and_no_drift(vteam_preset):
    v = np.linspace(-0.07, 0.07, 9)
    assert np.allclose(vteam_preset.read_iv(v), v / READ_V, atol=1e-12)  # linear port: ohmic
    assert np.all(np.abs(vteam_preset.drift["nu_mean"]) < 1e-9)  # below threshold VTEAM does not move


def test_levels_and_write_verify(vteam_preset):
    wv = vteam_preset.write_verify
    assert wv["success_rate"] >= 0.75 and wv["residual_std"] < 0.05
    sigma = np.hypot(wv["residual_std"], 0.01)
    # greedy count: G_k = g_min r^k, r = (1 + 3 s)/(1 - 3 s), while G_k <= g_max
    r = (1 + 3 * sigma) / (1 - 3 * sigma)
    assert vteam_preset.levels == int(np.floor(np.log(10.0) / np.log(r))) + 1
    assert count_levels(1.0, 2.0, 0.0) == 100_000 and count_levels(1.0, 2.0, 0.5) == 1


def test_ispp_pulse_count_against_hand_calculation():
    m = get_model("vteam")
    p = m.params(VTEAM)
    scheme = {"tolerance": 0.05, "max_pulses": 30, "v_start": -0.25, "v_step": 0.02, "v_max": -0.5,
              "v_start_down": 0.25, "v_max_down": 0.5, "width": 1e-3}
    targets = np.array([3e-4, 6e-4])
    res = _ispp(m, np.tile(p, (2, 1)), np.array([[1.0], [1.0]]), targets, scheme, READ_V, None, 0.0, None)
    # hand ISPP with the closed form dx = k (|V|/|v_th| - 1) width, k = k_on (up) or k_off (down)
    for j, target in enumerate(targets):
        x, step, last, n = 1.0, 0, 0, 0
        while abs(vteam_g(x) - target) > 0.05 * target and n < 30:
            d = 1 if vteam_g(x) < target else -1
            step = 0 if d != last else step
            last = d
            if d > 0:
                a = max(-0.25 - step * 0.02, -0.5)
                x = min(max(x + VTEAM["k_on"] * (a / -0.2 - 1) * 1e-3, 0), 1)
            else:
                a = min(0.25 + step * 0.02, 0.5)
                x = min(max(x + VTEAM["k_off"] * (a / 0.2 - 1) * 1e-3, 0), 1)
            step += 1
            n += 1
        assert res["pulses"][j] == n
        assert res["G"][j] == pytest.approx(vteam_g(x), rel=1e-5)
        assert bool(res["success"][j]) == (abs(vteam_g(x) - target) <= 0.05 * target)
    assert res["success"].any()


def test_ftj_drift_exponent_matches_thesis_law():
    m = get_model("ftj")
    p = m.params()
    X = np.zeros((3, m.n_states))
    for row, k in enumerate((0, 8, 20)):
        X[row, :k] = 1.0  # k of 20 bins switched
    g0, nu = drift_exponents(m, np.tile(p, (3, 1)), X, 0.3, 20.0, duration=1e4, points=30)
    w = g0 / 14e-9
    expected = 0.0122 * w ** 3 - 0.0241 * w ** 2 + 0.0112 * w + 0.001  # thesis eq. 3.5
    assert np.allclose(nu, expected, atol=2e-6)
    assert g0[0] == pytest.approx(7.45e-9, rel=1e-6) and g0[2] == pytest.approx(14e-9, rel=1e-6)


def test_bad_inputs():
    with pytest.raises(PresetError, match="pulses.up: .* do not raise the read conductance"):
        derive_preset("vteam", VTEAM, name="x", read_v=READ_V, x0={"x": 0.5}, rise=0.0, n_grid=4,
                      pulses={"up": {"amplitude": 0.4, "width": 1e-3, "n": 3},
                              "down": {"amplitude": -0.4, "width": 1e-3, "n": 3}})
    with pytest.raises(PresetError, match="pulses: missing 'down'"):
        derive_preset("vteam", VTEAM, name="x", read_v=READ_V, pulses={"up": (-0.4, 1e-3, 3)})
    with pytest.raises(PresetError, match="pulses.up.width: must be > 0 s"):
        derive_preset("vteam", VTEAM, name="x", read_v=READ_V, pulses={"up": (-0.4, 0, 3), "down": (0.4, 1e-3, 3)})
    with pytest.raises(PresetError, match="read_v: must be a non-zero voltage"):
        derive_preset("vteam", VTEAM, name="x", read_v=0.0, pulses=PULSES)
