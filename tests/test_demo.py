"""`memfit demo` end to end (quick mode): simulated SMU -> joint fit -> preset -> crossbar -> one report.

The truth is outside the code: the simulated instrument's device parameters (the server's model
parameters, shifted from the published defaults) are what the fit must recover within 3 standard
errors; the report and summary must carry every promised section, plot and number.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import pytest

pytest.importorskip("pyvisa")
pytest.importorskip("pyvisa_py")
pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from memfit.demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    report = run_demo("nbox", out, quick=True, progress=False)
    return out, report


def _check_report(out, report) -> str:
    """Every section, a real PNG for every plot, and the CSV/JSON files; returns the HTML text."""
    assert report == out / "report.html" and report.is_file()
    text = report.read_text()
    for anchor in ("checks", "characterization", "fit", "preset", "crossbar", "notes", "files"):
        assert f"id='{anchor}'" in text, anchor
    for fig in ("iv", "pulse_response", "write_verify", "retention", "accuracy"):
        m = re.search(rf"id='fig-{fig}'><img src='data:image/png;base64,([A-Za-z0-9+/=]+)'", text)
        assert m and len(m.group(1)) > 2000, fig  # a real PNG, not an empty placeholder
    for f in ("summary.json", "fit_parameters.csv", "fit.json", "preset.json", "accuracy.csv"):
        assert (out / f).is_file(), f
    return text


def test_report_has_every_section_and_plot(demo):
    out, report = demo
    _check_report(out, report)
    data = {p.name for p in (out / "data").iterdir()}
    assert {"iv.csv", "iv.json", "pulses.csv", "multilevel.csv", "retention.csv"} <= data


def test_fitted_parameters_within_three_sigma_of_the_simulated_device(demo):
    out, _ = demo
    s = json.loads((out / "summary.json").read_text())
    from memfit.demo import DEVICES

    true = DEVICES["nbox"].true
    assert s["true_parameters"]["A_r"] == pytest.approx(true["A_r"])  # the server really ran these values
    rows = {r["parameter"]: r for r in s["fit"]["parameters"]}
    for name, value in true.items():
        r = rows[name]
        assert r["true"] == pytest.approx(value)
        assert r["stderr"] > 0 and math.isfinite(r["stderr"])
        assert abs(r["fitted"] - value) < 3 * r["stderr"], r
        assert abs(r["start"] / value - 1) > 0.05  # the fit started away from the truth
    assert s["checks"]["fitted_within_3_sigma"]["pass"] is True


def test_crossbar_numbers_and_levels(demo):
    out, _ = demo
    s = json.loads((out / "summary.json").read_text())
    wv = s["checks"]["write_verify_recovers_accuracy"]
    for k in ("direct_mapping_0s", "write_verify_0s", "float"):
        assert 0.5 < wv[k] <= 1.0, (k, wv[k])  # 10 classes: far above chance (0.1)
    # write-verify on the fitted model is no worse than direct mapping and no better than floating point
    assert wv["direct_mapping_0s"] <= wv["write_verify_0s"] <= wv["float"] + 0.02
    for setting in ("direct mapping", "write-verify"):
        for t in ("0 s", "1 h", "1 year"):
            assert f"{setting} @ {t}" in s["accuracy"]
            assert f"{setting}, no compensation @ {t}" in s["accuracy"]
    levels = s["characterization"]["levels"]
    assert len(levels) == 8 and all(lv["success"] for lv in levels)
    assert all(abs(lv["g_mean"] / lv["target"] - 1) <= 0.025 for lv in levels)
    preset = json.loads((out / "preset.json").read_text())
    assert preset["model"]["name"] == "schroedter2022"
    assert preset["conductance"]["g_max"]["value"] > preset["conductance"]["g_min"]["value"] > 0


def test_unknown_device_is_one_clear_line(tmp_path):
    from memfit.demo import run_demo
    from memfit.errors import ParameterError

    with pytest.raises(ParameterError, match="allowed: nbox"):
        run_demo("nonesuch", tmp_path, quick=True, progress=False)


@pytest.mark.slow
def test_cli_prints_the_report_path_last(tmp_path):
    """``add_parsers`` wiring: the command's last stdout line is the report path."""
    code = ("import argparse, sys; from memfit.demo import add_parsers; p = argparse.ArgumentParser(); "
            "add_parsers(p.add_subparsers(dest='cmd')); a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))")
    r = subprocess.run([sys.executable, "-c", code, "demo", "--quick", "--quiet", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    last = r.stdout.strip().splitlines()[-1]
    assert last == str(tmp_path / "report.html")


def test_never_clears_a_data_folder_it_did_not_write(tmp_path):
    from memfit.demo import run_demo
    from memfit.errors import ParameterError

    (tmp_path / "data").mkdir()
    keep = tmp_path / "data" / "my_measurement.csv"
    keep.write_text("t,v,i\n")
    with pytest.raises(ParameterError, match="not written by memfit demo"):
        run_demo("nbox", tmp_path, quick=True, progress=False)
    assert keep.read_text() == "t,v,i\n"


# --------------------------------------------------------------------------- FTJ (`--device ftj`)
@pytest.fixture(scope="module")
def demo_ftj(tmp_path_factory):
    from memfit.demo import run_demo

    out = tmp_path_factory.mktemp("demo_ftj")
    report = run_demo("ftj", out, quick=True, progress=False)
    return out, report


def test_ftj_report_has_every_section_and_plot(demo_ftj):
    out, report = demo_ftj
    text = _check_report(out, report)
    assert "saturating RESET" in text  # every experiment starts from a known state
    data = {p.name for p in (out / "data").iterdir()}
    assert {"iv.csv", "pulses.csv", "wv_reset.csv", "multilevel.csv", "reset.csv", "retention.csv"} <= data


def test_ftj_fitted_parameters_within_three_sigma_of_the_simulated_device(demo_ftj):
    out, _ = demo_ftj
    s = json.loads((out / "summary.json").read_text())
    from memfit.demo import DEVICES
    from memfit.models import get_model

    true = DEVICES["ftj"].true
    defaults = get_model("ftj_athle2023").defaults()
    assert s["true_parameters"]["V_th"] == pytest.approx(true["V_th"])  # the server really ran these values
    rows = {r["parameter"]: r for r in s["fit"]["parameters"]}
    assert set(rows) == set(true)  # no fitted initial states: every experiment starts from a known state
    for name, value in true.items():
        r = rows[name]
        assert r["true"] == pytest.approx(value)
        assert r["start"] == pytest.approx(defaults[name])  # the fit started at the published values
        assert abs(r["start"] / value - 1) > 0.05
        assert r["stderr"] > 0 and math.isfinite(r["stderr"])
        assert abs(r["fitted"] - value) < 3 * r["stderr"], r
    assert s["checks"]["fitted_within_3_sigma"]["pass"] is True


def test_ftj_levels_preset_and_crossbar(demo_ftj):
    out, _ = demo_ftj
    s = json.loads((out / "summary.json").read_text())
    from memfit.demo import DEVICES

    true = DEVICES["ftj"].true
    levels = s["characterization"]["levels"]
    assert len(levels) == 8 and all(lv["success"] for lv in levels)
    assert all(abs(lv["g_mean"] / lv["target"] - 1) <= 0.025 for lv in levels)
    # every level lies inside the simulated device's window G_off .. G_on (read chord conductances)
    assert all(true["G_off"] < lv["g_mean"] < true["G_on"] for lv in levels)
    preset = json.loads((out / "preset.json").read_text())
    assert preset["model"]["name"] == "ftj_athle2023"
    g_min, g_max = preset["conductance"]["g_min"]["value"], preset["conductance"]["g_max"]["value"]
    # the preset's ramps (from the fully OFF state) start at G_off and stay within the window
    assert g_min == pytest.approx(true["G_off"], rel=0.01) and g_min < g_max <= true["G_on"] * 1.001
    wv = s["checks"]["write_verify_recovers_accuracy"]
    for k in ("direct_mapping_0s", "write_verify_0s", "float"):
        assert 0.5 < wv[k] <= 1.0, (k, wv[k])
    assert wv["direct_mapping_0s"] <= wv["write_verify_0s"] <= wv["float"] + 0.02
    for setting in ("direct mapping", "write-verify"):
        for t in ("0 s", "1 h", "1 year"):
            assert f"{setting} @ {t}" in s["accuracy"]
            assert f"{setting}, no compensation @ {t}" in s["accuracy"]
