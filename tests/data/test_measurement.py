"""Measurement types: column validation, reads(), simulations as measurements, replay as a stimulus."""

import numpy as np
import pandas as pd
import pytest

from memfit.data import (
    IVSweep,
    Measurement,
    PulseTrain,
    Retention,
    as_measurement,
    concat,
    measurement_class,
    test_circuit,
    to_stimulus,
)
from memfit.data.record import Record
from memfit.errors import MeasurementError
from memfit.simulate import Simulation, hold, pulse_train, simulate, triangle_sweep


def _iv(n=5, **cols):
    f = {"t": np.arange(n) * 0.1, "v": np.linspace(0, 1, n), "i": np.linspace(0, 1e-3, n)}
    f.update(cols)
    return pd.DataFrame(f)


# ----------------------------------------------------------------------------- validation
def test_types_are_records_with_kind_and_units():
    m = IVSweep(_iv(), {"device": "D1", "area": 1e-12})
    assert isinstance(m, Record) and isinstance(m, Measurement)
    assert m.meta["kind"] == "iv" and m.meta["units"] == {"t": "s", "v": "V", "i": "A"}
    assert m.device == "D1" and m.area == 1e-12 and m.source_mode == "voltage" and m.series_resistance == 0.0
    assert Measurement(pd.DataFrame({"x": [1.0]}), {"kind": "pv_loop"}).meta["kind"] == "pv_loop"


@pytest.mark.parametrize(
    "cls, frame, missing",
    [
        (IVSweep, pd.DataFrame({"t": [0.0], "v": [0.0]}), "'i'"),
        (PulseTrain, _iv(), "'role'"),
        (Retention, pd.DataFrame({"t": [0.0, 1.0]}), "'g_read'"),
    ],
)
def test_missing_columns(cls, frame, missing):
    with pytest.raises(MeasurementError, match=missing) as exc:
        cls(frame)
    assert "the table has" in str(exc.value)


def test_pulse_train_needs_vi_or_g_read():
    f = pd.DataFrame({"t": [0.0, 1.0], "role": ["read", "read"], "pulse": [0, 1]})
    with pytest.raises(MeasurementError, match="'v' \\[V\\] and 'i' \\[A\\], or 'g_read'"):
        PulseTrain(f)
    PulseTrain(f.assign(g_read=[1e-6, 2e-6]))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_name_column_row_and_value(bad):
    i = np.linspace(0, 1e-3, 5)
    i[3] = bad
    with pytest.raises(MeasurementError, match=r"column 'i', row 4: value .* is not a finite number"):
        IVSweep(_iv(i=i))


def test_time_must_not_decrease_but_may_restart_per_cell():
    with pytest.raises(MeasurementError, match=r"column 't', row 3: time 0.05 s is earlier than 0.1 s at row 2"):
        IVSweep(_iv(3, t=[0.0, 0.1, 0.05]))
    f = pd.DataFrame({"cell": [1, 1, 2, 2], "t": [0.0, 1.0, 0.0, 1.0], "g_read": [1e-5] * 4})
    Retention(f)  # restarts per cell
    with pytest.raises(MeasurementError, match="same series"):
        Retention(f.assign(t=[0.0, 1.0, 1.0, 0.5]))


def test_lines_and_source_in_messages():
    with pytest.raises(MeasurementError, match=r"f.csv, column 't', row 2 \(line 5\)"):
        IVSweep(_iv(2, t=[1.0, 0.0]), source="f.csv", lines=np.array([4, 5]))


@pytest.mark.parametrize(
    "key, value, text",
    [("area", -1e-12, "must be > 0 m\\^2"), ("compliance", 0.0, "must be > 0 A"),
     ("series_resistance", -5, "must be >= 0 Ohm"), ("temperature", "hot", "must be a number in K"),
     ("source_mode", "charge", "'voltage' or 'current'")],
)
def test_impossible_metadata(key, value, text):
    with pytest.raises(MeasurementError, match=text):
        IVSweep(_iv(), {key: value})


def test_roles_and_pulse_counts_validated():
    f = pd.DataFrame({"t": [0.0, 1.0], "v": [0.1, 0.1], "i": [1e-6, 1e-6], "pulse": [0, 1]})
    with pytest.raises(MeasurementError, match="unknown role 'reed'"):
        PulseTrain(f.assign(role=["read", "reed"]))
    with pytest.raises(MeasurementError, match="pulse count -1.0 must be a whole number"):
        PulseTrain(f.assign(role="read", pulse=[0, -1]))


def test_empty_and_duplicated():
    with pytest.raises(MeasurementError, match="has no rows"):
        IVSweep(_iv(0))
    f = pd.concat([_iv(), _iv()["i"]], axis=1)
    with pytest.raises(MeasurementError, match="duplicated column"):
        IVSweep(f)


def test_measurement_class():
    assert measurement_class("iv") is IVSweep and measurement_class("pulse_train") is PulseTrain
    assert measurement_class(Retention) is Retention and measurement_class(None) is Measurement
    with pytest.raises(MeasurementError, match="unknown measurement kind"):
        measurement_class("spectra")


def test_where_and_concat():
    a, b = IVSweep(_iv()), IVSweep(_iv())
    both = concat([a, b], key="cycle", labels=[1, 2])
    assert isinstance(both, IVSweep) and len(both) == 10 and both.cycles() == [1, 2]
    assert len(both.where(cycle=2)) == 5
    with pytest.raises(MeasurementError, match="no column 'cell'"):
        both.where(cell=1)
    with pytest.raises(MeasurementError, match="no rows"):
        both.where(cycle=3)


# ----------------------------------------------------------------------------- simulations as measurements
@pytest.fixture(scope="module")
def sim_pulses():
    return simulate("biolek2009", pulse_train([1.0] * 4 + [-1.0] * 3, width=0.03, read_v=0.1, read_width=0.005,
                                              points_per_pulse=6), x0={"x": 0.1})


def test_simulation_is_accepted_as_a_measurement(sim_pulses):
    sim = simulate("biolek2009", triangle_sweep(1.2, frequency=1, cycles=1, points_per_cycle=100))
    iv = as_measurement(sim)
    assert isinstance(iv, IVSweep) and iv.meta["source"] == "simulation"
    IVSweep(sim.frame, sim.meta)  # same columns: constructs directly
    pt = as_measurement(sim_pulses)
    assert isinstance(pt, PulseTrain)
    assert pt["pulse"].max() == 7


def test_reads_one_row_per_read_with_conductance(sim_pulses):
    reads = as_measurement(sim_pulses, "pulse").reads()
    assert list(reads["pulse"]) == list(range(1, 8))
    assert (reads["samples"] == 3).all()
    # the model's conductance at the read (Biolek: R = R_on x + R_off (1 - x)), averaged over the read
    f = sim_pulses.frame
    p = sim_pulses.meta["params"]
    for _, r in reads.iterrows():
        rows = f.iloc[int(r["row"]): int(r["row"]) + int(r["samples"])]
        g = 1.0 / (p["R_on"] * rows["x"] + p["R_off"] * (1 - rows["x"]))
        assert r["g_read"] == pytest.approx(np.mean(rows["i"]) / 0.1, rel=1e-12)
        assert r["g_read"] == pytest.approx(g.mean(), rel=1e-6)
    assert reads["g_read"].iloc[3] > reads["g_read"].iloc[0]  # potentiation
    assert reads["g_read"].iloc[6] < reads["g_read"].iloc[3]  # depression


def test_pulse_counted_from_roles_when_absent():
    f = pd.DataFrame({"t": np.arange(6.0), "v": 0.1, "i": 1e-6,
                      "role": ["hold", "write", "write", "read", "write", "read"]})
    assert list(PulseTrain(f)["pulse"]) == [0, 1, 1, 1, 2, 2]


def test_reads_only_form_and_zero_volt_read():
    f = pd.DataFrame({"t": [0.0, 1.0, 2.0], "role": "read", "pulse": [0, 1, 2], "v": 0.1,
                      "i": [1e-6, 2e-6, 3e-6]})
    r = PulseTrain(f).reads()
    assert list(r["pulse"]) == [0, 1, 2] and np.allclose(r["g_read"], [1e-5, 2e-5, 3e-5])
    with pytest.raises(MeasurementError, match="is at 0 V"):
        PulseTrain(f.assign(v=[0.1, 0.0, 0.1])).reads()
    with pytest.raises(MeasurementError, match="no rows with role 'read'"):
        PulseTrain(f.assign(role="write")).reads()


def test_retention_from_vi_and_from_simulation():
    f = pd.DataFrame({"t": [0.0, 1.0], "v": [0.1, 0.1], "i": [1e-6, 1.1e-6]})
    r = Retention(f)
    assert np.allclose(r["g_read"], [1e-5, 1.1e-5])
    with pytest.raises(MeasurementError, match="read voltage is 0 V"):
        Retention(f.assign(v=[0.1, 0.0]))
    sim = simulate("biolek2009", hold(0.01, 1.0, points=10, log=True, role="read"))
    ret = as_measurement(sim, "retention")
    assert isinstance(ret, Retention) and np.allclose(ret["g_read"], sim.i / sim.v)


# ----------------------------------------------------------------------------- replay
def test_replay_reproduces_a_piecewise_linear_sweep():
    # a triangle sweep is linear between its samples, so the replay is the same waveform
    stim = triangle_sweep(1.2, frequency=1, cycles=1, points_per_cycle=200)
    sim = simulate("biolek2009", stim, series_resistance=50.0)
    m = as_measurement(sim)
    m.meta["series_resistance"] = 50.0
    replay = to_stimulus(m)
    assert np.array_equal(replay.t, stim.t) and np.allclose(replay.value(), stim.value(), atol=1e-15)
    again = simulate("biolek2009", replay, circuit=test_circuit(m))
    assert np.allclose(again.i, sim.i, rtol=1e-6, atol=1e-12)


def test_replay_keeps_roles_and_accepts_a_simulation(sim_pulses):
    st = to_stimulus(sim_pulses)  # a Simulation directly
    assert len(st) == len(sim_pulses)
    assert list(st.roles_at()[:-1]) == list(sim_pulses["role"].astype(str)[:-1])


def test_replay_current_forced():
    f = _iv(4)
    m = IVSweep(f, {"source_mode": "current", "voltage_compliance": 20.0})
    st = to_stimulus(m)
    assert st.modes == ["current"] * 3 and np.allclose(st.value(), f["i"])
    assert test_circuit(m).voltage_compliance == 20.0


def test_replay_errors():
    with pytest.raises(MeasurementError, match="strictly increasing"):
        to_stimulus(IVSweep(_iv(3, t=[0.0, 0.1, 0.1])))
    f = pd.DataFrame({"cell": [1, 1, 2, 2], "t": [0.0, 1.0, 0.0, 1.0], "g_read": 1e-5, "v": 0.1, "i": 1e-6})
    with pytest.raises(MeasurementError, match=r"replay one at a time, e.g. m.where\(cell=1\)"):
        to_stimulus(Retention(f))
    assert to_stimulus(Retention(f).where(cell=2)).roles == ("read",)


def test_replay_reads_only_pulse_train():
    f = pd.DataFrame({"t": np.arange(5.0), "role": "read", "pulse": [0, 1, 2, 0, 1], "v": 2.0,
                      "i": 1e-6, "direction": ["down"] * 3 + ["up"] * 2})
    m = PulseTrain(f)
    with pytest.raises(MeasurementError, match="pass write_amplitude="):
        to_stimulus(m)
    st = to_stimulus(m, write_amplitude={"up": 8.0, "down": -5.0}, write_width=1e-4)
    assert st.roles.count("read") == 5 and st.roles.count("write") == 3
    writes = [k for k, r in enumerate(st.roles) if r == "write"]
    assert [st.segments[k, 3] for k in writes] == [-5.0, -5.0, 8.0]
    with pytest.raises(MeasurementError, match="no value for direction"):
        to_stimulus(m, write_amplitude={"up": 8.0}, write_width=1e-4)
    # a simulation under the rebuilt stimulus has one read per measured read, in order
    sim = simulate("biolek2009", st)
    assert len(as_measurement(sim, "pulse").reads()) == len(m.reads())


def test_replay_reads_only_from_columns_and_meta():
    f = pd.DataFrame({"t": [0.0, 1.0], "role": "read", "pulse": [0, 1], "v": 0.1, "i": 1e-6,
                      "v_write": [1.0, 1.0], "width": [1e-3, 1e-3]})
    st = to_stimulus(PulseTrain(f))
    assert st.roles.count("write") == 1
    g = PulseTrain(f.drop(columns=["v", "i", "v_write", "width"]).assign(g_read=1e-5), {"normalized": True})
    with pytest.raises(MeasurementError, match="conductances only"):
        to_stimulus(g)
    m = PulseTrain(f.drop(columns=["v_write", "width"]), {"write_pulse": {"amplitude": 1.5, "width": 1e-3}})
    st = to_stimulus(m)
    assert st.segments[st.roles.index("write"), 3] == 1.5


def test_simulation_subclass_untouched():
    # Simulation stays a Record, not a Measurement: as_measurement makes the typed copy
    assert not issubclass(Simulation, Measurement)
