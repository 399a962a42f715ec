"""Every real data set of ../shared/datasets loads into the right Measurement type, in SI, with provenance.

The files are read in place (their licences forbid copying them into the project).  Values are
checked against an independent parse of the raw files (csv module / pandas), not against the reader.
The whole module is skipped when the shared folder is absent.
"""

import csv
import re

import numpy as np
import pandas as pd
import pytest

from memfit.data import IVSweep, Measurement, PulseTrain, Retention, test_circuit, to_stimulus
from memfit.data import shared_datasets as sd
from memfit.errors import MeasurementError

if not sd.available():
    pytest.skip(f"shared datasets folder not found (set {sd.ENV_VAR} or place it at <repo>/../shared/datasets)",
                allow_module_level=True)

ROOT = sd.root_dir()


def _need(name):
    if name not in sd.available():
        pytest.skip(f"{name} not in {ROOT}")
    return ROOT / name


def _provenance(m, name):
    text = (ROOT / name / "SOURCE.md").read_text(encoding="utf-8")
    for key in ("source", "license", "citation", "source_md"):
        assert m.meta.get(key), key
    assert m.meta["dataset"] == name
    lic = m.meta["license"].split()[0].split("-")[0]  # GPL, MIT, BSD, CC
    assert lic in text
    if m.meta.get("doi"):
        assert m.meta["doi"] in text
    commit = re.search(r"[0-9a-f]{40}", m.meta["source"])
    if commit:
        assert commit.group(0) in text


def _raw_rows(path, delimiter=","):
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return [r for r in csv.reader(fh, delimiter=delimiter) if any(c.strip() for c in r)]


# ----------------------------------------------------------------------------- I-V
def test_knowm_hysteresis_all_runs():
    d = _need("knowm_sdc_hysteresis")
    runs = sd.knowm_sdc_runs()
    assert len(runs) == 27
    for run in runs:
        m = sd.knowm_sdc_hysteresis(run)
        assert isinstance(m, IVSweep) and len(m) == 200 and m.columns == ["t", "v", "i", "v_dev"]
        rs = m.meta["series_resistance"]
        raw = np.array(_raw_rows(d / run.split("_")[0] / run / "Memristor.csv"), dtype=float)
        np.testing.assert_allclose(m.i, raw[:, 1] * 1e-6, rtol=1e-15)  # µA -> A
        np.testing.assert_array_equal(m["v_dev"], raw[:, 0])
        big = np.abs(m.i) > 1e-6
        np.testing.assert_allclose((m.v - m["v_dev"])[big] / m.i[big], rs, rtol=1e-6)  # the divider
        assert np.allclose(np.diff(m.t), 1 / (200 * m.meta["frequency"]))
    m = sd.knowm_sdc_hysteresis("47kohm_0.8V_1Hz_M1")
    assert m.meta["series_resistance"] == 47e3 and m.meta["device"] == "M1"
    assert np.max(np.abs(m.i)) == pytest.approx(14.7e-6, rel=0.01)  # SOURCE.md: peak 14.7 µA
    assert test_circuit(m).series_resistance == 47e3
    assert len(to_stimulus(m)) == 200
    _provenance(m, "knowm_sdc_hysteresis")
    with pytest.raises(MeasurementError, match="no such run"):
        sd.knowm_sdc_hysteresis("47kohm_0.8V_2Hz_M1")


def test_vo2_current_sweep():
    d = _need("vo2_pku_isweep")
    m = sd.vo2_isweep()
    assert isinstance(m, IVSweep) and len(m) == 202 and m.meta["source_mode"] == "current"
    clean = pd.read_csv(d / "vo2_30C_isweep_clean.csv")  # the same rows, extracted by hand
    np.testing.assert_array_equal(m.i, clean["I_A"].to_numpy())
    np.testing.assert_array_equal(m.v, clean["V_V"].to_numpy())
    assert m.i.max() == pytest.approx(1.5e-3) and 4.5 < m.v.max() < 6
    assert m.meta["voltage_compliance"] == 20.0 and m.meta["temperature"] == pytest.approx(303.15)
    assert m.meta["instrument"]["mainframe"] == "B1500A" and "synthetic_time" in m.meta
    st = to_stimulus(m)
    assert set(st.modes) == {"current"} and np.allclose(st.value(), m.i)
    assert test_circuit(m).voltage_compliance == 20.0
    _provenance(m, "vo2_pku_isweep")


def test_ferro_loops_and_leakage():
    d = _need("ferro_rit_hfo2_mfm")
    files = sd.ferro_hfo2_files()
    loops = [f for f in files if "leakage" not in f]
    assert len(loops) == 18 and len(files) == 23
    for name in loops:
        m = sd.ferro_hfo2_loop(name)
        assert type(m) is Measurement and m.meta["kind"] in ("pv_loop", "forc")
        raw = pd.read_csv(d / f"{name}.tsv", sep="\t")
        assert len(m) == len(raw)
        np.testing.assert_allclose(m["polarization"], raw["P1 uC_per_cm2"] * 1e-2, rtol=1e-12)  # µC/cm² -> C/m²
        np.testing.assert_array_equal(m.v, raw["Vplus V"])
        np.testing.assert_array_equal(m.i, raw["I1 A"])
        assert m.meta["units"]["polarization"] == "C/m^2" and m.meta["area"] == pytest.approx(6.579e-9)
    m = sd.ferro_hfo2_loop()
    assert len(m) == 401 and m.meta["frequency"] == 100 and m.meta["amplitude"] == 4
    assert -0.2 < m["polarization"].min() < -0.18 and 0.2 < m["polarization"].max() < 0.23  # ≈ -19..+22 µC/cm²
    assert sd.ferro_hfo2_loop("forc/H9_die9-4_0Hz_4V_Table1").meta["kind"] == "forc"
    assert sd.ferro_hfo2_loop("temps/H9_die9-4_S3_179C_100Hz_3V_Table5").meta["temperature"] == pytest.approx(452.15)
    leak = sd.ferro_hfo2_leakage("H9_die9-4_S3_127C_2s-step_Table3")
    raw = pd.read_csv(d / "temps_leakage/H9_die9-4_S3_127C_2s-step_Table3.tsv", sep="\t")
    assert isinstance(leak, IVSweep) and len(leak) == len(raw) == 25
    np.testing.assert_allclose(leak["j"], raw.iloc[:, 1] * 1e-2)  # µA/cm² -> A/m²
    np.testing.assert_allclose(leak.i, leak["j"] * 6.579e-9)
    assert leak.meta["temperature"] == pytest.approx(400.15)
    _provenance(m, "ferro_rit_hfo2_mfm")
    with pytest.raises(MeasurementError, match="is a leakage file"):
        sd.ferro_hfo2_loop("temps_leakage/H9_die9-4_S3_27C_2s-step_Table1")


# ----------------------------------------------------------------------------- single pulses
def test_ember_set_sweep():
    d = _need("ember_rram_set_sweep")
    m = sd.ember_set_sweep()
    raw = pd.read_csv(d / "set_sweep_subset_20ns_2us.csv")
    assert type(m) is Measurement and m.meta["kind"] == "set_sweep" and len(m) == len(raw) == 360
    assert set(m["width"]) == {2e-8, 2e-6}
    np.testing.assert_array_equal(m["r_after"], raw["R_after_ohm"])
    np.testing.assert_allclose(m["g_before"], 1 / raw["R_before_ohm"])
    assert m.meta["units"]["width"] == "s" and m.meta["units"]["g_after"] == "S"
    # SOURCE.md: V_WL >= 2 V and V_BL = 3 V -> median R_after ~ 6 kOhm
    sel = m.frame[(m["v_gate"] >= 2) & (m["v_write"] == 3.0)]
    assert 5e3 < sel["r_after"].median() < 7e3
    _provenance(m, "ember_rram_set_sweep")


# ----------------------------------------------------------------------------- pulse trains
def test_gong2018_normalised_ramps():
    d = _need("aihwkit_gong2018_reram_pulse")
    m = sd.aihwkit_gong2018()
    raw = np.array(_raw_rows(d / "gong_et_al.csv"), dtype=float)
    assert isinstance(m, PulseTrain) and len(m) == 2000 and m.reads_only and m.meta["normalized"]
    np.testing.assert_array_equal(m["g_read"], np.concatenate([raw[:, 0], raw[:, 1]]))
    assert m.meta["units"]["g_read"] == "1" and "v" not in m.columns
    r = m.reads()
    assert len(r) == 2000 and list(r["pulse"][:3]) == [1, 2, 3] and list(r["direction"].unique()) == ["up", "down"]
    with pytest.raises(MeasurementError, match="cannot be rebuilt"):
        to_stimulus(m)
    _provenance(m, "aihwkit_gong2018_reram_pulse")


@pytest.mark.parametrize("which, ramps", [("set", 39), ("reset", 40)])
def test_crosssim_ramps(which, ramps):
    d = _need("crosssim_example_pulse_ramps")
    m = sd.crosssim_pulse_ramps(which)
    rows = _raw_rows(d / f"{which}.csv")
    cells = [float(c) for r in rows[1:] for c in r if c.strip()]
    assert isinstance(m, PulseTrain) and len(m) == len(cells) and m["cycle"].nunique() == ramps
    assert np.isclose(m.i.sum(), sum(cells), rtol=1e-12)
    assert 155e-6 < m.i.min() and m.i.max() < 250e-6  # 160..248 µA
    np.testing.assert_allclose(m["g_read"], m.i / 0.1)
    first = m.where(cycle=1)
    col = [float(r[0]) for r in rows[1:] if r[0].strip()]
    np.testing.assert_array_equal(first.i, col)
    assert list(first["pulse"][:3]) == [0, 1, 2]
    trend = m.frame.groupby("pulse")["i"].mean()
    assert (trend.iloc[-5:].mean() > trend.iloc[:5].mean()) == (which == "set")
    st = to_stimulus(first, write_amplitude=1.0, write_width=1e-6)
    assert st.roles.count("read") == len(first)
    _provenance(m, "crosssim_example_pulse_ramps")


def test_yflash_cycle_to_cycle():
    d = _need("yflash_technion_c2c_d2d")
    m = sd.yflash_cycle_to_cycle()
    lines = (d / "data_cycle2cycle.txt").read_text().splitlines()[1:]
    n = sum(len([x for x in ln.split(",")[1:] if x.strip()]) for ln in lines if ln.strip())
    assert isinstance(m, PulseTrain) and len(m) == n and m["cycle"].nunique() == 400
    assert m.meta["device"] == "U2,2,4" and m.meta["write_pulse"]["width"] == {"down": 2e-4, "up": 1e-4}
    c1 = m.where(cycle=1)
    assert list(c1["direction"].unique()) == ["down", "up"]
    assert c1["g_read"].iloc[0] == pytest.approx(9.905e-07)  # first value of the file
    np.testing.assert_allclose(c1.i, c1["g_read"] * 2.0)
    down = c1.frame[c1["direction"] == "down"]["g_read"].to_numpy()
    assert down[-1] < down[0] / 100  # program: 1 µS -> 1 nS
    st = to_stimulus(c1)
    assert st.roles.count("read") == len(c1)
    assert sorted({float(st.segments[k, 3]) for k, r in enumerate(st.roles) if r == "write"}) == [-5.0, 8.0]
    _provenance(m, "yflash_technion_c2c_d2d")


def test_yflash_device_to_device():
    _need("yflash_technion_c2c_d2d")
    m = sd.yflash_device_to_device()
    assert isinstance(m, PulseTrain) and m["cell"].nunique() == 96
    one = m.where(cell="U2,0,0")
    assert one["g_read"].iloc[0] == pytest.approx(1.00925e-06)
    with pytest.raises(MeasurementError, match="replay one at a time"):
        to_stimulus(m)
    assert len(to_stimulus(one)) > len(one)


# ----------------------------------------------------------------------------- retention
@pytest.mark.parametrize("tech, rows, cells", [("C", 22336, 4073), ("B", 25847, 3991)])
def test_stanford_relaxation(tech, rows, cells):
    d = _need("stanford_rram_relaxation")
    m = sd.stanford_relaxation(tech)
    assert isinstance(m, Retention) and len(m) == rows and m["cell"].nunique() == cells
    raw = pd.read_csv(d / f"tech{tech}_relaxation_subset.csv")
    np.testing.assert_array_equal(m["g_read"], raw["g_S"])
    assert set(m.columns) == {"t", "g_read", "cell", "g0", "level", "timept"}
    assert m.meta["gmax"] == {"B": 128e-6, "C": 40e-6}[tech]
    _provenance(m, "stanford_rram_relaxation")


@pytest.mark.parametrize("tech", ["A", "B"])
def test_stanford_bake(tech):
    _need("stanford_rram_relaxation")
    m = sd.stanford_bake(tech)
    assert isinstance(m, Retention) and len(m) == 20480
    assert sorted(m["bake_temperature"].unique()) == pytest.approx([373.15, 413.15, 453.15, 493.15, 533.15])
    assert m.meta["units"]["bake_temperature"] == "K"
    with pytest.raises(MeasurementError, match="technology must be one of"):
        sd.stanford_bake("C")


def test_stanford_read_noise():
    _need("stanford_rram_relaxation")
    m = sd.stanford_read_noise()
    assert isinstance(m, Retention) and len(m) == 125000 and sorted(m.cells()) == [0, 8, 16, 24, 31]
    one = m.where(cell=31)
    assert one.t[-1] == pytest.approx(62.4975) and 2.3e-4 < one["g_read"].mean() < 2.6e-4


# ----------------------------------------------------------------------------- lookup table
def test_crosssim_enode_lut():
    _need("crosssim_enode_lut")
    m = sd.crosssim_enode_lut()
    assert type(m) is Measurement and m.meta["kind"] == "dg_lookup_table" and len(m) == 2 * 122 * 48
    up = m.where(direction="up").frame
    assert up["g"].nunique() == 48 and up["quantile"].nunique() == 122
    assert 0.29e-3 < up["g"].min() < 0.3e-3 and 0.97e-3 < up["g"].max() < 0.98e-3
    mid = up[(up["quantile"] - 0.5).abs() == (up["quantile"] - 0.5).abs().min()]
    assert 2e-6 < mid["dg"].median() < 8e-6  # median dG ≈ +5 µS
    down = m.where(direction="down").frame
    assert down[(down["quantile"] - 0.5).abs() == (down["quantile"] - 0.5).abs().min()]["dg"].median() < 0


# ----------------------------------------------------------------------------- lookup of the folder
def test_every_dataset_has_a_loader_and_mnist_is_not_one():
    names = sd.available()
    assert "mnist" not in sd.LOADERS
    for name in names:
        assert name in sd.LOADERS and sd.info(name)["license"]
    assert isinstance(sd.load("vo2_pku_isweep"), IVSweep)
    with pytest.raises(MeasurementError, match="MNIST is not a device measurement"):
        sd.load("mnist")


def test_root_from_argument_and_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(sd.ENV_VAR, str(tmp_path / "nowhere"))
    assert sd.available() == []
    with pytest.raises(MeasurementError, match=f"from \\${sd.ENV_VAR}.*does not exist"):
        sd.root_dir()
    assert sd.available(root=ROOT)  # the argument wins
    assert isinstance(sd.vo2_isweep(root=ROOT), IVSweep)
    monkeypatch.setenv(sd.ENV_VAR, str(ROOT))
    assert sd.root_dir() == ROOT
    (tmp_path / "vo2_pku_isweep").mkdir()
    with pytest.raises(MeasurementError, match="no such file"):
        sd.vo2_isweep(root=tmp_path)
