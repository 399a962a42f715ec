"""``memfit preset ...`` through the parsers this package adds (the lead wires them into memfit.cli)."""

import argparse
import json

import numpy as np
import pandas as pd
import pytest

from memfit.errors import PresetError
from memfit.presets.cli import add_parsers, parse_pulses

from .conftest import VTEAM


def run(argv):
    ap = argparse.ArgumentParser(prog="memfit")
    add_parsers(ap.add_subparsers(dest="command"))
    args = ap.parse_args(argv)
    return args.func(args)


def test_show_validate_export(tmp_path, capsys):
    assert run(["preset", "show"]) == 0
    assert "ftj-balanced" in capsys.readouterr().out
    assert run(["preset", "show", "nbox"]) == 0
    assert "schroedter2022" in capsys.readouterr().out
    out = tmp_path / "nbox.cir"
    assert run(["preset", "export", "nbox", "--to", "spice", "-o", str(out)]) == 0
    assert ".subckt memfit_nbox p n" in out.read_text()
    doc = tmp_path / "p.json"
    assert run(["preset", "show", "pcm-reference", "--json"]) == 0
    doc.write_text(capsys.readouterr().out)
    assert run(["preset", "validate", str(doc)]) == 0
    d = json.loads(doc.read_text())
    d["levels"] = 0
    doc.write_text(json.dumps(d))
    with pytest.raises(PresetError, match="levels: 0 is less than the minimum of 1"):
        run(["preset", "validate", str(doc)])


def test_parse_pulses():
    assert parse_pulses("up=-0.4@1e-3x20, down=0.4@1e-3") == {
        "up": {"amplitude": -0.4, "width": 1e-3, "n": 20}, "down": {"amplitude": 0.4, "width": 1e-3, "n": 50}}
    with pytest.raises(PresetError, match="--pulses: cannot read 'up=fast'"):
        parse_pulses("up=fast,down=0.4@1e-3")
    with pytest.raises(PresetError, match="missing the 'down' pulses"):
        parse_pulses("up=-0.4@1e-3")


def test_derive_from_a_saved_fit(tmp_path, capsys):
    from memfit.fitting import FitResult

    values = dict(VTEAM)
    fit = FitResult("vteam", values, {"k_on": 2.0, "k_off": 1.0, **{k: float("nan") for k in VTEAM if k not in ("k_on", "k_off")}},
                    ["k_on", "k_off"], pd.DataFrame(np.eye(2), index=["k_on", "k_off"], columns=["k_on", "k_off"]),
                    pd.DataFrame([{"label": "d0"}]), {}, {"sources": [{"file": "pulses.csv", "sha256_file": "ab12"}],
                                                          "x0": {"x": 1.0}})
    path = fit.save(tmp_path / "fit.json")
    out = tmp_path / "dev.json"
    assert run(["preset", "derive", str(path), "--pulses", "up=-0.4@1e-3x30,down=0.4@1e-3x40", "--read-v", "0.05",
                "--n-devices", "4", "--c2c", "k_on=0.1,k_off=0.1", "-o", str(out)]) == 0
    from memfit.presets import load_preset

    p = load_preset(str(out))
    assert p.model_name == "vteam" and p.provenance["fit_report"] == str(path)
    assert p.provenance["sources"][0] == {"file": "pulses.csv", "sha256": "ab12"}
    assert p.model_stderr["k_on"] == 2.0
    # --c2c: 10 % on k_on and k_off per pulse -> about 10 % spread of the (linear-rate) steps
    t = p.pulse_response("up")
    assert 0.05 < np.median(t["dg_std"][4:18] / np.abs(t["dg_mean"][4:18])) < 0.15
    # without variability data the preset claims none (the fit's standard errors are not device variability)
    out2 = tmp_path / "dev2.json"
    assert run(["preset", "derive", str(path), "--pulses", "up=-0.4@1e-3x30,down=0.4@1e-3x40", "--read-v", "0.05",
                "--n-devices", "4", "-o", str(out2)]) == 0
    p2 = load_preset(str(out2))
    assert np.all(p2.pulse_response("up")["dg_std"] == 0.0)
    assert any("no cycle-to-cycle data" in n for n in p2.provenance.get("notes", []))
    with pytest.raises(PresetError, match="--c2c"):
        run(["preset", "derive", str(path), "--pulses", "up=-0.4@1e-3,down=0.4@1e-3", "--read-v", "0.05", "--c2c", "k_on"])
