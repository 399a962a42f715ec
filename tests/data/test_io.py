"""Readers and writers: round trips, units in headers, and one test per kind of bad input.

Every bad file is written into tmp_path here; each error must name the file, the column, the row and
line, the value and what was expected.
"""

import re
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memfit.data import (
    IVSweep,
    Measurement,
    MeasurementWarning,
    PulseTrain,
    Retention,
    as_measurement,
    read,
    read_csv,
    read_easyexpert,
    read_parquet,
    read_table,
    write,
    write_csv,
    write_parquet,
)
from memfit.data.units import convert, is_unit, parse_unit, split_header, to_si
from memfit.errors import MeasurementError
from memfit.simulate import pulse_train, simulate


def _write(tmp_path, text, name="data.csv", encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def _iv(n=6):
    t = np.arange(n) * 0.01
    return IVSweep(pd.DataFrame({"t": t, "v": np.sin(t * 50), "i": 1e-4 * np.sin(t * 50) + 1e-7}),
                   {"device": "D7", "area": 1e-12, "compliance": 1e-3, "temperature": 300.0,
                    "instrument": {"model": "2450", "nplc": 1}, "routine": "sweep"})


# ----------------------------------------------------------------------------- units module
@pytest.mark.parametrize(
    "unit, factor, quantity",
    [("A", 1, "current"), ("mA", 1e-3, "current"), ("µA", 1e-6, "current"), ("uA", 1e-6, "current"),
     ("μA", 1e-6, "current"), ("nA", 1e-9, "current"), ("pA", 1e-12, "current"), ("V", 1, "voltage"),
     ("mV", 1e-3, "voltage"), ("s", 1, "time"), ("ms", 1e-3, "time"), ("µs", 1e-6, "time"), ("us", 1e-6, "time"),
     ("ns", 1e-9, "time"), ("S", 1, "conductance"), ("mS", 1e-3, "conductance"), ("µS", 1e-6, "conductance"),
     ("uS", 1e-6, "conductance"), ("Ω", 1, "resistance"), ("Ohm", 1, "resistance"), ("ohm", 1, "resistance"),
     ("kΩ", 1e3, "resistance"), ("kOhm", 1e3, "resistance"), ("MΩ", 1e6, "resistance"),
     ("MOhm", 1e6, "resistance"), ("\u2126", 1, "resistance"), ("uC/cm2", 1e-2, "polarization"),
     ("uA_per_cm2", 1e-2, "current_density"), ("min", 60, "time"), ("1", 1, "dimensionless")],
)
def test_parse_unit(unit, factor, quantity):
    u = parse_unit(unit)
    assert u.factor == pytest.approx(factor, rel=1e-15) and u.quantity == quantity


def test_units_helpers():
    assert to_si([25.0], "degC")[0] == pytest.approx(298.15)
    assert convert(1.5, "mA", "uA") == pytest.approx(1500.0)
    with pytest.raises(MeasurementError, match="cannot convert 'mA' \\(current\\) to 'mV'"):
        convert(1, "mA", "mV")
    with pytest.raises(MeasurementError, match="unknown unit 'furlongs'.*use e.g. A, mA"):
        parse_unit("furlongs")
    assert is_unit("kOhm") and not is_unit("Vplus")


@pytest.mark.parametrize(
    "header, expect",
    [("Current (mA)", ("Current", "mA")), ("I [uA]", ("I", "uA")), ("V/mV", ("V", "mV")), ("Time(s)", ("Time", "s")),
     ("Time s", ("Time", "s")), ("I1 A", ("I1", "A")), ("P1 uC_per_cm2", ("P1", "uC_per_cm2")), ("I_A", ("I", "A")),
     ("R_before_ohm", ("R_before", "ohm")), ("dI/dV", ("dI/dV", None)), ("g_read", ("g_read", None)),
     ("Device 1", ("Device 1", None)), ("temp_C", ("temp_C", None)), ("R (kΩ)", ("R", "kΩ"))],
)
def test_split_header(header, expect):
    assert split_header(header) == expect


# ----------------------------------------------------------------------------- round trips
def test_csv_round_trip(tmp_path):
    m = _iv()
    p = write_csv(m, tmp_path / "sub" / "iv.csv")
    back = read_csv(p)
    assert isinstance(back, IVSweep)
    pd.testing.assert_frame_equal(back.frame, m.frame)
    for k in ("device", "area", "compliance", "temperature", "instrument", "routine", "units", "kind"):
        assert back.meta[k] == m.meta[k]
    assert back.meta["source_file"] == str(p)


def test_csv_round_trip_of_simulation_and_record_to_csv(tmp_path):
    sim = simulate("biolek2009", pulse_train([1.0, -1.0], width=0.01, read_v=0.1, points_per_pulse=4))
    p = sim.to_csv(tmp_path / "sim.csv")  # Record.to_csv
    back = read_csv(p, kind="pulse")
    assert isinstance(back, PulseTrain)
    ref = as_measurement(sim, "pulse").frame
    for col in ("t", "v", "i", "v_dev", "x"):
        np.testing.assert_array_equal(back[col].to_numpy(), ref[col].to_numpy())
    assert back["compliance"].dtype == bool and back["segment"].dtype == np.int64
    assert list(back["role"].astype(str)) == list(ref["role"].astype(str))
    assert back.meta["params"] == sim.meta["params"] and back.meta["units"]["x"] == "1"
    assert len(back.reads()) == 2


def test_retention_round_trip(tmp_path):
    f = pd.DataFrame({"cell": [3, 3, 4, 4], "t": [0.0, 10.0, 0.0, 10.0], "g_read": [1e-5, 0.9e-5, 2e-5, 1.8e-5]})
    m = Retention(f, {"device": "array 1"})
    back = read(write(m, tmp_path / "r.csv"))
    assert isinstance(back, Retention) and back.cells() == [3, 4]
    pd.testing.assert_frame_equal(back.frame[f.columns], f)


def test_parquet_round_trip(tmp_path):
    pytest.importorskip("pyarrow")
    sim = simulate("biolek2009", pulse_train([1.0, -1.0], width=0.01, read_v=0.1, points_per_pulse=4))
    m = as_measurement(sim, "pulse")
    m.meta["device"] = "D9"
    p = write(m, tmp_path / "p.parquet")
    back = read(p)
    assert isinstance(back, PulseTrain)
    pd.testing.assert_frame_equal(back.frame, m.frame)
    assert back.meta["device"] == "D9" and back.meta["params"] == sim.meta["params"]
    assert m.to_parquet(tmp_path / "q.parquet").is_file()


def test_parquet_foreign_file_with_columns_and_units(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"Time": [0.0, 1.0], "V1": [0.1, 0.2], "I1": [1.0, 2.0]}), tmp_path / "f.parquet")
    m = read_parquet(tmp_path / "f.parquet", kind="iv", columns={"t": "Time", "v": "V1", "i": "I1"},
                     units={"i": "mA"})
    assert np.allclose(m.i, [1e-3, 2e-3]) and m.meta["units"]["i"] == "A"
    with pytest.raises(MeasurementError, match="missing column"):
        read_parquet(tmp_path / "f.parquet", columns={"t": "Zeit"})


def test_parquet_without_pyarrow_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(MeasurementError, match=r"pip install memfit\[parquet\]"):
        write_parquet(_iv(), tmp_path / "x.parquet")
    with pytest.raises(MeasurementError, match=r"pip install memfit\[parquet\]"):
        read_parquet(tmp_path / "x.parquet")


def test_memfit_data_imports_without_pyarrow():
    import subprocess

    code = "import sys; sys.modules['pyarrow'] = None; import memfit.data; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


# ----------------------------------------------------------------------------- read_table: good files
def test_column_mapping_and_units(tmp_path):
    p = _write(tmp_path, "Time,V1,I1\n0,0,0\n1,0.5,1.5\n2,1.0,3.0\n")
    m = read_table(p, columns={"t": "Time", "v": "V1", "i": "I1"}, units={"i": "mA"}, kind="iv")
    assert isinstance(m, IVSweep) and np.allclose(m.i, [0, 1.5e-3, 3e-3]) and m.meta["units"]["i"] == "A"


@pytest.mark.parametrize(
    "t_head, v_head, i_head, t_f, v_f, i_f",
    [("Time (s)", "Voltage (V)", "Current (mA)", 1, 1, 1e-3),
     ("Time(s)", "V/mV", "I [uA]", 1, 1e-3, 1e-6),
     ("t [ms]", "V (V)", "Current (nA)", 1e-3, 1, 1e-9),
     ("Time (µs)", "Voltage (mV)", "I (µA)", 1e-6, 1e-3, 1e-6),
     ("Time s", "V V", "I A", 1, 1, 1),
     ("t_s", "v_V", "i_pA", 1, 1, 1e-12)],
)
def test_units_parsed_from_headers(tmp_path, t_head, v_head, i_head, t_f, v_f, i_f):
    p = _write(tmp_path, f"{t_head},{v_head},{i_head}\n0,0,0\n1,2,0.3\n2,4,0.6\n")
    m = read_table(p, kind="iv")
    assert np.allclose(m.t, np.array([0, 1, 2]) * t_f)
    assert np.allclose(m.v, np.array([0, 2, 4]) * v_f)
    assert np.allclose(m.i, np.array([0, 0.3, 0.6]) * i_f)
    assert m.meta["units"] == {"t": "s", "v": "V", "i": "A"}


def test_metadata_lines_delimiters_and_extras(tmp_path):
    text = ("# device: \"R12\"\n# area: 1e-12\n# note: free text, not json\n"
            "Time (s);Voltage (V);Current (uA);Vsense (mV);Comment\n"
            "0;0;0;0;start\n0.1;0.5;2;499;x\n\n0.2;1.0;4;1001;end\n")
    p = _write(tmp_path, text)
    m = read_table(p, kind="iv")  # ';' detected, blank line skipped
    assert m.meta["device"] == "R12" and m.meta["area"] == 1e-12 and m.meta["note"] == "free text, not json"
    assert np.allclose(m["Vsense"], [0, 0.499, 1.001]) and m.meta["units"]["Vsense"] == "V"
    assert list(m["Comment"]) == ["start", "x", "end"]
    assert list(read_table(p, kind="iv", extra="drop").columns) == ["t", "v", "i"]


def test_tab_whitespace_decimal_comma_headerless(tmp_path):
    m = read_table(_write(tmp_path, "t\tv\ti\n0\t0\t0\n1\t1\t1e-6\n"), kind="iv")
    assert m.i[1] == 1e-6
    m = read_table(_write(tmp_path, "t  v  i\n0  0  0\n1  1  1e-6\n"), kind="iv")
    assert m.i[1] == 1e-6
    m = read_table(_write(tmp_path, "t;v;i\n0;0,5;0\n1;1,5;1e-6\n"), kind="iv", decimal=",")
    assert np.allclose(m.v, [0.5, 1.5])
    m = read_table(_write(tmp_path, "0,0.1\n1,0.2\n"), columns={"v": 0, "i": 1}, units={"i": "uA"}, header=False,
                   dt=0.5, kind="iv")
    assert np.allclose(m.t, [0, 0.5]) and np.allclose(m.i, [1e-7, 2e-7]) and "synthetic_time" in m.meta


def test_assumed_si_units_are_recorded(tmp_path):
    m = read_table(_write(tmp_path, "t,v,i\n0,0,0\n1,1,1e-6\n"), kind="iv")
    assert m.meta["units_assumed"] == ["t [s] from 't'", "v [V] from 'v'", "i [A] from 'i'"]


def test_encodings(tmp_path):
    p = _write(tmp_path, "Time (s),V (V),I (µA)\n0,0,0\n1,1,2\n", encoding="cp1252")
    assert read_table(p, kind="iv").i[1] == pytest.approx(2e-6)
    p = _write(tmp_path, "\ufeffTime (s),V (V),I (µA)\n0,0,0\n1,1,2\n", encoding="utf-8")
    assert read_table(p, kind="iv").i[1] == pytest.approx(2e-6)


def test_easyexpert_export(tmp_path):
    text = ("\ufeff\nSetupTitle, Test\nPrimitiveTest, I/V Sweep\nTestParameter, Context.MainFrame, B1500A\n"
            "TestParameter, Measurement.Primary.Compliance, 20\nDataName, I3, V3, R\n"
            "DataValue, 0, -0.005, \nDataValue, 1.5E-05, 0.25, 16666.7\nDataValue, 3E-05, 0.5, 16666.7\n")
    p = _write(tmp_path, text, name="b1500.csv")
    m = read_easyexpert(p, columns={"i": "I3", "v": "V3"}, kind="iv", dt=0.1, extra="drop")
    assert np.allclose(m.i, [0, 1.5e-5, 3e-5]) and m.meta["instrument"]["mainframe"] == "B1500A"
    assert m.meta["instrument"]["parameters"]["Measurement.Primary.Compliance"] == "20"
    assert isinstance(read(p, columns={"i": "I3", "v": "V3"}, kind="iv", dt=0.1), IVSweep)
    with pytest.raises(MeasurementError, match="no 'DataName' line"):
        read_easyexpert(_write(tmp_path, "SetupTitle, x\n", name="e.csv"))


# ----------------------------------------------------------------------------- read_table: bad files
def test_missing_column_names_file_header_and_suggestion(tmp_path):
    p = _write(tmp_path, "Time (s),Voltage (V),Currnt (A)\n0,0,0\n")
    with pytest.raises(MeasurementError) as exc:
        read_table(p, columns={"i": "Current"}, kind="iv")
    msg = str(exc.value)
    assert str(p) in msg and "line 1 (header)" in msg and "missing column 'Current' for 'i'" in msg
    assert "current [A]" in msg and "did you mean 'Currnt'" in msg
    with pytest.raises(MeasurementError, match="missing column 't / time / timestamp / elapsed time' for 't'.*dt="):
        read_table(_write(tmp_path, "V,I\n0,0\n"), kind="iv")
    with pytest.raises(MeasurementError, match="column position 5 for 'i' is out of range"):
        read_table(_write(tmp_path, "0,1\n"), header=False, columns={"i": 5})


def test_duplicated_columns(tmp_path):
    p = _write(tmp_path, "t,v,i,i\n0,0,0,0\n")
    with pytest.raises(MeasurementError, match=r"line 1: duplicated column 'i': 'i' \(column 3\), 'i' \(column 4\)"):
        read_table(p, kind="iv")
    with pytest.raises(MeasurementError, match="column 'v' is mapped to both"):
        read_table(_write(tmp_path, "t,v,i\n0,0,0\n"), columns={"v": "v", "v_dev": "v"}, kind="iv")


@pytest.mark.parametrize(
    "cell, expect",
    [("", "an empty cell; expected a number in mA"),
     ("NaN", "the missing-value marker 'NaN'; expected a number in mA"),
     ("inf", "value 'inf' is infinite; expected a finite a number in mA"),
     ("abc", "value 'abc' is not a number; expected a number in mA"),
     ("1,5", "uses a decimal comma; pass decimal=','")],
)
def test_bad_cells_name_file_column_row_line_value(tmp_path, cell, expect):
    p = _write(tmp_path, f"# device: \"x\"\nt,v,Current (mA)\n0,0,0\n1,1,\"{cell}\"\n2,2,2\n")
    with pytest.raises(MeasurementError) as exc:
        read_table(p, kind="iv")
    msg = str(exc.value)
    assert f"{p}, column 'Current (mA)' (i), data row 2 (line 4): " in msg
    assert expect.replace("a finite a", "a finite") in msg.replace("a finite a", "a finite")


def test_allow_missing_keeps_nan_in_extras(tmp_path):
    p = _write(tmp_path, "a,b\n1,2\n3,\n")
    m = read_table(p, allow_missing=True)
    assert np.isnan(m["b"].iloc[1])


def test_non_monotonic_time(tmp_path):
    p = _write(tmp_path, "Time (ms),V,I\n0,0,0\n2,1,1e-6\n1,2,2e-6\n")
    with pytest.raises(MeasurementError) as exc:
        read_table(p, kind="iv")
    msg = str(exc.value)
    assert f"{p}, column 't', row 3 (line 4): time 0.001 s is earlier than 0.002 s at row 2 (line 3)" in msg
    assert "must not decrease" in msg


def test_mixed_units_two_columns_of_one_name(tmp_path):
    p = _write(tmp_path, "t,V,I (A),I (mA)\n0,0,0,0\n")
    with pytest.raises(MeasurementError, match=r"mixed units: 2 columns named 'I' in different units: 'I \(A\)'"):
        read_table(p, kind="iv")
    m = read_table(p, kind="iv", columns={"i": "I (mA)"})  # mapped exactly: fine
    assert m.meta["units"]["i"] == "A"


def test_mixed_units_between_mapped_columns(tmp_path):
    p = _write(tmp_path, "t,V (V),Vdev (mV),I (A)\n0,0,0,0\n1,1,900,1e-6\n")
    with pytest.raises(MeasurementError, match=r"mixed units: voltage columns in different units .*confirm with"):
        read_table(p, kind="iv", columns={"v_dev": "Vdev"})
    m = read_table(p, kind="iv", columns={"v_dev": "Vdev"}, units={"v_dev": "mV", "v": "V"})
    assert m["v_dev"].iloc[1] == pytest.approx(0.9)


def test_mixed_units_inside_cells(tmp_path):
    p = _write(tmp_path, "t,v,I (A)\n0,0,1e-6\n1,1,1.5 mA\n")
    with pytest.raises(MeasurementError) as exc:
        read_table(p, kind="iv")
    msg = str(exc.value)
    assert "data row 2 (line 3)" in msg and "value '1.5 mA' has a unit inside the cell ('mA')" in msg
    assert "the column unit is 'A': mixed units" in msg


def test_header_and_units_argument_disagree(tmp_path):
    p = _write(tmp_path, "t,v,Current (mA)\n0,0,0\n")
    with pytest.raises(MeasurementError, match="mixed units: the header says 'mA' but units= says 'A'"):
        read_table(p, kind="iv", units={"i": "A"})
    with pytest.raises(MeasurementError, match="units=\\{'i': 'mV'\\} is a voltage unit, but 'i' is a current"):
        read_table(_write(tmp_path, "t,v,i\n0,0,0\n", name="b.csv"), kind="iv", units={"i": "mV"})
    with pytest.raises(MeasurementError, match="header unit 'mA' is a current unit, but 'v' is a voltage"):
        read_table(p, kind="iv", columns={"v": "Current (mA)", "i": "v"})
    with pytest.raises(MeasurementError, match="unknown unit 'furlongs'"):
        read_table(_write(tmp_path, "t,v,Current (furlongs)\n0,0,0\n", name="c.csv"), kind="iv")


def test_repeated_header_inside_the_data(tmp_path):
    p = _write(tmp_path, "t,v,I (A)\n0,0,0\n1,1,1e-6\nt,v,I (uA)\n2,2,2\n")
    with pytest.raises(MeasurementError, match=r"data row 3 \(line 4\): the line looks like another header.*mixes"):
        read_table(p, kind="iv")


@pytest.mark.parametrize("text", ["", "   \n\n", "# device: \"x\"\n# area: 1e-12\n"])
def test_empty_files(tmp_path, text):
    p = _write(tmp_path, text)
    with pytest.raises(MeasurementError, match=f"{p}: the file is empty"):
        read_table(p)


def test_header_without_data(tmp_path):
    p = _write(tmp_path, "# kind: \"iv\"\nt,v,i\n")
    with pytest.raises(MeasurementError, match=r"has a header \(line 2\) but no data rows"):
        read_table(p)
    with pytest.raises(MeasurementError, match="no such file"):
        read_table(tmp_path / "nope.csv")


@pytest.mark.parametrize("delim, name", [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_wrong_delimiter(tmp_path, delim, name):
    p = _write(tmp_path, delim.join(["Time (s)", "V (V)", "I (A)"]) + "\n" + delim.join("000") + "\n")
    with pytest.raises(MeasurementError) as exc:
        read_table(p, kind="iv", delimiter=",")
    msg = str(exc.value)
    assert f"{p}, line 1 (the header)" in msg and "is a single column with delimiter ','" in msg
    assert f"the file looks {name}-separated; pass delimiter={delim!r}" in msg
    assert read_table(p, kind="iv").v[0] == 0  # detected
    with pytest.raises(MeasurementError, match=re.escape(f"pass delimiter={delim!r}")):
        read_csv(p, kind="iv")


def test_wrong_delimiter_in_data_lines(tmp_path):
    p = _write(tmp_path, "t,v,i\n0,0,0\n1;1;1\n2,2,2\n")
    with pytest.raises(MeasurementError, match=r"line 3 \(data row 2\): 1 fields, but the header has 3.*semicolons"):
        read_table(p, kind="iv")


@pytest.mark.parametrize("scale, unit_text, guess", [(250.0, "I (A)", "mA"), (14.7, "I", "mA"), (2e5, "I [A]", "µA")])
def test_current_in_the_wrong_unit(tmp_path, scale, unit_text, guess):
    p = _write(tmp_path, f"t,v,{unit_text}\n0,0,0\n1,1,{scale * 0.5}\n2,2,{-scale}\n")
    with pytest.raises(MeasurementError) as exc:
        read_table(p, kind="iv")
    msg = str(exc.value)
    assert f"column '{unit_text}' (i), data row 3 (line 4): |I| = {scale:.6g} A" in msg
    assert f"look like {guess}" in msg and f"Pass units={{'i': '{guess}'}}" in msg
    assert ("no unit is given, so A was assumed" if unit_text == "I" else "says A") in msg
    m = read_table(p, kind="iv", max_current=None)
    assert m.i[2] == -scale


def test_partial_last_line_reported_not_dropped(tmp_path):
    p = _write(tmp_path, "t,v,i\n0,0,0\n1,1,1e-6\n2,2")
    with pytest.raises(MeasurementError) as exc:
        read_table(p, kind="iv")
    msg = str(exc.value)
    assert f"{p}, line 4 (data row 3): the last line has 2 of 3 fields and looks truncated" in msg
    assert "allow_partial=True" in msg
    with pytest.warns(MeasurementWarning, match=r"dropped the truncated last line 4 \(data row 3"):
        m = read_table(p, kind="iv", allow_partial=True)
    assert len(m) == 2


def test_partial_last_value_without_newline(tmp_path):
    p = _write(tmp_path, "t,v,i\n0,0,0\n1,1,1e-")
    with pytest.raises(MeasurementError, match=r"line 3 \(data row 2\): the last line does not end with a newline"):
        read_table(p, kind="iv")
    with pytest.warns(MeasurementWarning):
        assert len(read_table(p, kind="iv", allow_partial=True)) == 1
    # a complete last line without a newline is fine
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(read_table(_write(tmp_path, "t,v,i\n0,0,0\n1,1,1e-6"), kind="iv")) == 2


def test_short_or_long_rows_in_the_middle(tmp_path):
    with pytest.raises(MeasurementError, match=r"line 3 \(data row 2\): 2 fields, but the header has 3"):
        read_table(_write(tmp_path, "t,v,i\n0,0,0\n1,1\n2,2,2\n"), kind="iv")
    with pytest.raises(MeasurementError, match=r"line 2 \(data row 1\): 4 fields, but the header \(line 1\) has 3"):
        read_table(_write(tmp_path, "t,v,i\n0,0,0,7\n"), kind="iv")
    assert len(read_table(_write(tmp_path, "t,v,i,\n0,0,0,\n"), kind="iv")) == 1  # trailing delimiters


def test_dt_with_time_column_and_bad_options(tmp_path):
    p = _write(tmp_path, "t,v,i\n0,0,0\n")
    with pytest.raises(MeasurementError, match="dt=0.1 given but the file has a time column 't'"):
        read_table(p, kind="iv", dt=0.1)
    with pytest.raises(MeasurementError, match="extra must be 'keep' or 'drop'"):
        read_table(p, kind="iv", extra="maybe")
    with pytest.raises(MeasurementError, match=r"units given for \['curent'\], which name no column"):
        read_table(p, kind="iv", units={"curent": "mA"})


def test_generic_measurement_and_kind_from_file(tmp_path):
    p = _write(tmp_path, "# kind: \"pv_loop\"\nTime (s),V (V),P (uC/cm2)\n0,0,1\n1,1,2\n")
    m = read_table(p)
    assert type(m) is Measurement and m.meta["kind"] == "pv_loop"
    assert np.allclose(m["P"], [0.01, 0.02]) and m.meta["units"]["P"] == "C/m^2"


# ----------------------------------------------------------------------------- property: lossless round trip
_floats = st.floats(min_value=-0.999, max_value=0.999, allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    dts=st.lists(st.floats(min_value=0.0, max_value=1e3, allow_nan=False), min_size=1, max_size=30),
    data=st.data(),
    device=st.text(min_size=0, max_size=20),
    area=st.floats(min_value=1e-18, max_value=1e-6),
)
def test_csv_and_parquet_round_trips_are_lossless(tmp_path, dts, data, device, area):
    n = len(dts)
    v = data.draw(st.lists(_floats, min_size=n, max_size=n))
    i = data.draw(st.lists(_floats, min_size=n, max_size=n))
    m = IVSweep(pd.DataFrame({"t": np.cumsum(dts), "v": v, "i": i}), {"device": device, "area": area})
    back = read_csv(write_csv(m, tmp_path / "h.csv"))
    pd.testing.assert_frame_equal(back.frame, m.frame, check_exact=True)
    assert back.meta["device"] == device and back.meta["area"] == area
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return
    back = read_parquet(write_parquet(m, tmp_path / "h.parquet"))
    pd.testing.assert_frame_equal(back.frame, m.frame, check_exact=True)


def test_bad_value_on_the_last_line_is_a_partial_line(tmp_path):
    p = _write(tmp_path, "t,v,I (A)\n0,0,0\n1,1,1e-6\n2,2,1e-\n")
    with pytest.raises(MeasurementError, match=r"line 4 \(data row 3\): the last line has '1e-' \(not a number\)"):
        read_table(p, kind="iv")
    with pytest.warns(MeasurementWarning, match="line 4"):
        assert len(read_table(p, kind="iv", allow_partial=True)) == 2
