"""Every routine end-to-end through real pyvisa (pyvisa-py) I/O against the simulated SMU.

The simulated 2450 is backed by the NbOx model (``nbox`` = schroedter2022,
default parameters): positive pulses raise the state x and with it the
conductance read at -0.2 V, from 1.98e-7 S (x = 0.1) to 3.34e-7 S (x = 0.284);
set pulses from ~2.5 V and reset pulses from ~-2.2 V move it in 10 ms.
"""

from __future__ import annotations

import numpy as np
import pytest

from instruments.routines import (
    Limits,
    endurance,
    forming,
    iv_sweep,
    linear_levels,
    load,
    multilevel,
    pulse_train,
    ramp_amplitudes,
    retention,
    write_verify,
)
from memfit.data import IVSweep, PulseTrain, Retention, read_csv

READ_V = -0.2
WV = dict(read_v=READ_V, v_start=2.4, v_step=0.02, v_max=3.3, width=0.01, reset_v_start=2.2, reset_v_step=0.02,
          reset_v_max=3.2, compliance=1e-2, read_compliance=1e-3, max_pulses=200, nplc=0.1)


def _g(sim, v=READ_V):
    """True read conductance of the simulated device now [S] (model current at the read voltage)."""
    dev = sim.device
    return float(dev.model.current(dev.x.copy(), v, dev.p)) / v


def test_iv_sweep_bipolar_with_separate_compliance(smu, sim, tmp_path):
    m = iv_sweep(smu, v_max=2.0, v_min=-1.5, step=0.1, rate=2.0, compliance=1e-4, compliance_neg=5e-4,
                 cycles=2, out=tmp_path, device="D1")
    assert isinstance(m, IVSweep) and len(m) == 2 * (40 + 30)
    f = m.frame
    assert f["v"].max() == pytest.approx(2.0) and f["v"].min() == pytest.approx(-1.5)
    pos, neg = f[f.v > 0], f[f.v < 0]
    # positive branch clamps at 100 uA (the device draws ~0.2 mA at 2 V), negative never above 500 uA
    assert pos["i"].max() == pytest.approx(1e-4, rel=1e-3) and pos["compliance"].any()
    assert neg["i"].abs().max() <= 5e-4 * 1.001
    assert np.all(np.diff(f["t"]) > 0)
    # 0.05 s per point (step / rate), timed by the instrument
    assert np.median(np.diff(f["t"])) == pytest.approx(0.05, rel=1e-6)
    assert m.meta["routine"]["name"] == "iv_sweep" and m.meta["routine"]["params"]["compliance_neg"] == 5e-4
    assert m.meta["instrument"]["driver"] == "keithley2450" and m.meta["device"] == "D1"
    back = read_csv(tmp_path / "iv.csv")
    assert len(back) == len(m) and np.allclose(back.frame["i"], f["i"])
    assert load(tmp_path / "iv.json").meta["run"]["status"] == "complete"
    assert sim.commands[-1] == ":OUTP OFF" and sim.commands[-2] == ":SOUR:VOLT 0"


def test_pulse_train_potentiation_depression(smu, sim, tmp_path):
    m = pulse_train(smu, ramp_amplitudes(10, 2.7, 10, -3.0), width=0.01, read_v=READ_V, compliance=1e-2,
                    read_compliance=1e-3, out=tmp_path)
    assert isinstance(m, PulseTrain)
    r = m.reads()
    assert len(r) == 21 and list(r["pulse"]) == list(range(21))
    g = r["g_read"].to_numpy()
    assert np.all(np.diff(g[:11]) > 0), "positive pulses potentiate (read at -0.2 V)"
    assert np.all(np.diff(g[10:]) < 0), "negative pulses depress"
    # the last read agrees with the model's conductance at the final state (noise ~1e-4)
    assert g[-1] == pytest.approx(_g(sim), rel=2e-3)


def test_write_verify_single_target(smu, sim, tmp_path):
    target = 2.6e-7
    m = write_verify(smu, target, **WV, out=tmp_path)
    res = m.meta["result"]
    assert res["success"] and 1 <= res["pulses"] <= 200
    assert abs(res["g_final"] / target - 1) <= 0.02
    assert abs(_g(sim) / target - 1) <= 0.021  # the device really is there
    r = m.reads()
    assert r["pulse"].iloc[-1] == res["pulses"]
    assert load(tmp_path / "write_verify.json").meta["run"]["result"]["pulses"] == res["pulses"]


def test_write_verify_reverses_on_overshoot(smu, sim):
    """A coarse set step overshoots; reset pulses bring it back into the band."""
    m = write_verify(smu, 2.3e-7, **{**WV, "v_start": 2.9, "v_step": 0.1}, tolerance=0.01)
    res = m.meta["result"]
    assert res["success"] and res["reversals"] >= 1
    assert set(m.frame.loc[m.frame.role == "write", "direction"]) == {"up", "down"}


def test_multilevel_eight_levels_within_2_percent(smu, sim, tmp_path):
    """8 levels between 2.1e-7 and 3.0e-7 S, each programmed by write-verify within +-2 % and read back."""
    targets = linear_levels(2.1e-7, 3.0e-7, 8)
    m = multilevel(smu, targets, n_reads=3, **WV, out=tmp_path)
    levels = m.meta["levels"]
    assert len(levels) == 8
    for lv, t in zip(levels, targets):
        assert lv["success"], lv
        assert abs(lv["g_mean"] / t - 1) <= 0.02, lv
        assert lv["pulses"] >= 1
    print("pulses used per level:", [lv["pulses"] for lv in levels])
    assert set(m.frame["level"]) == set(range(8))


def test_retention_log_spaced(smu, sim, tmp_path):
    m = retention(smu, read_v=READ_V, duration=1000.0, points=8, out=tmp_path)
    assert isinstance(m, Retention) and len(m) == 8
    t = m.frame["t"].to_numpy()
    nominal = np.concatenate([[0.0], np.geomspace(1.0, 1000.0, 7)])
    assert np.allclose(t, nominal, rtol=1e-6, atol=1e-9)  # the instrument clock waited exactly
    assert sim.device.t > 1000.0
    # at x = x_on the unbiased state relaxes inward (c1 (1 - 1/e) per second): the last read matches an
    # independent memfit simulation of a 1000 s hold at 0 V from x0 = 0.1
    from memfit.models import get_model
    from memfit.simulate import hold, simulate

    model = get_model("nbox")
    x_end = simulate(model, hold(0.0, 1000.0, points=10), x0={"x": 0.1}).frame["x"].iloc[-1]
    g_ref = float(model.current(np.array([x_end]), READ_V, model.params())) / READ_V
    g = m.frame["g_read"].to_numpy()
    assert g[-1] == pytest.approx(g_ref, rel=2e-3)
    assert g[-1] > g[0] * 1.01


def test_forming_stops_at_compliance(smu, sim, tmp_path):
    m = forming(smu, v_max=4.0, step=0.05, rate=0.5, compliance=1e-4, out=tmp_path)
    res = m.meta["result"]
    assert res["formed"] and res["reason"] == "compliance reached"
    v_stop = res["v_form"]
    assert 1.0 < v_stop < 4.0 and m.frame["v"].max() == pytest.approx(v_stop)
    # nothing beyond the stop point was ever applied
    levels = [float(c.split()[1].split(",")[0]) for c in sim.commands if c.startswith(":SOUR:LIST:VOLT ")]
    assert max(levels) == pytest.approx(v_stop)


def test_endurance(smu, sim, tmp_path):
    m = endurance(smu, cycles=6, v_set=3.0, v_reset=-3.0, width=0.01, read_v=READ_V, compliance=1e-2,
                  read_compliance=1e-3, read_every=2, out=tmp_path)
    res = m.meta["result"]
    assert res["pulses"] == 12 and len(res["g_on"]) == len(res["g_off"]) == 4  # cycles 0, 2, 4 and the last
    assert all(on > off for on, off in zip(res["g_on"], res["g_off"]))
    assert set(m.frame["cycle"]) == set(range(6))


def test_limits_never_reach_the_wire(smu, sim, tmp_path):
    """Every user-limit violation is refused before the first command: the server sees nothing."""
    from memfit.errors import LimitError

    lim = Limits(v_max=3.0, i_max=1e-3, pulse_width_max=0.1, pulse_energy_max=1e-5)
    cases = [
        lambda: iv_sweep(smu, v_max=3.5, limits=lim, out=tmp_path),
        lambda: iv_sweep(smu, v_max=1.0, compliance=2e-3, limits=lim),
        lambda: pulse_train(smu, [2.0, 3.1], width=0.01, read_v=-0.2, compliance=1e-4, limits=lim),
        lambda: pulse_train(smu, [2.0], width=0.2, read_v=-0.2, compliance=1e-4, limits=lim),
        lambda: pulse_train(smu, [3.0], width=0.01, read_v=-0.2, compliance=1e-3, limits=lim),  # 3e-5 J
        lambda: write_verify(smu, 2.5e-7, **WV, limits=lim),
        lambda: forming(smu, v_max=5.0, limits=lim),
        lambda: retention(smu, read_v=-4.0, duration=10.0, limits=lim),
        lambda: endurance(smu, cycles=2, v_set=2.0, v_reset=-3.5, width=0.01, read_v=-0.2, compliance=1e-4,
                          limits=lim),
    ]
    for case in cases:
        with pytest.raises(LimitError):
            case()
    assert sim.commands == []
    assert not list(tmp_path.iterdir())  # not even an empty file
