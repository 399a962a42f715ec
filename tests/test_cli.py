"""The memfit command: help, simulate to CSV and PNG, one-line errors."""

import subprocess
import sys

import pandas as pd
import pytest

from memfit.cli import main


def _run(*args):
    return subprocess.run([sys.executable, "-m", "memfit.cli", *args], capture_output=True, text=True, timeout=300)


def test_help_lists_subcommands():
    out = _run("--help")
    assert out.returncode == 0
    for cmd in ("simulate", "fit", "models"):
        assert cmd in out.stdout


def test_simulate_writes_csv_and_plot(tmp_path):
    csv, png = tmp_path / "out.csv", tmp_path / "out.png"
    rc = main(["simulate", "--model", "biolek2009", "--stimulus", "triangle(vmax=1.2, vmin=-1.2, f=1, cycles=3)",
               "--csv", str(csv), "--plot", str(png)])
    assert rc == 0
    df = pd.read_csv(csv, comment="#")
    assert list(df.columns[:5]) == ["t", "v", "i", "v_dev", "x"]
    assert df["t"].iloc[-1] == pytest.approx(3.0)
    assert df["v"].max() == pytest.approx(1.2)
    header = csv.read_text().splitlines()[:3]
    assert header[0].startswith("# source:")
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"


def test_simulate_with_params_circuit_and_default_stimulus(capsys):
    rc = main(["simulate", "-m", "joglekar2009", "-p", "R_off=2e4", "--x0", "x=0.5", "--rs", "100",
               "--compliance", "5e-3"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "joglekar2009" in out and "sine(amplitude=1.2" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "nope"], "unknown model 'nope'; available models:"),
        (["--model", "biolek2009", "--stimulus", "triangle(vmax=1.2, foo=1)"], "has no argument 'foo'"),
        (["--model", "biolek2009", "--param", "R_on=-3"], "'R_on' = -3 Ohm is outside its bounds"),
        (["--model", "biolek2009", "--param", "Ron=3"], "has no parameter 'Ron'; its parameters are"),
        (["--model", "biolek2009", "--param", "R_on"], "must look like name=value"),
        (["--model", "biolek2009", "--x0", "x=2"], "initial x = [2.0] 1 is outside its bounds"),
        (["--model", "biolek2009", "--rs", "-5"], "series_resistance must be"),
    ],
)
def test_bad_input_gives_one_line_error(args, message):
    out = _run("simulate", *args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert message in lines[0]
    assert "Traceback" not in out.stderr


def test_models_lists_and_describes(capsys):
    assert main(["models"]) == 0
    assert "biolek2009" in capsys.readouterr().out
    assert main(["models", "biolek2009", "--equations"]) == 0
    out = capsys.readouterr().out
    assert "R_on" in out and "stp(-i)" in out


def test_fit_the_example_datasets_jointly(tmp_path, capsys):
    """memfit fit on the shipped example files recovers their recorded true parameters within 3 sigma."""
    import json

    from memfit.datasets import info, path

    files = [str(path("biolek2009_iv")), str(path("biolek2009_pulses"))]
    out = tmp_path / "fit.json"
    rc = main(["fit", *files, "--model", "biolek2009", "--vary", "R_off,mu_v", "--initial", "R_off=12000",
               "--result", str(out), "--report", str(tmp_path / "fit.html"), "--plot", str(tmp_path / "fit.png")])
    assert rc == 0
    res = json.loads(out.read_text())
    truth = info("biolek2009_iv")["true_parameters"]
    for name in ("R_off", "mu_v"):
        assert abs(res["values"][name] - truth[name]) < 3 * res["stderr"][name], name
    assert "R_off" in capsys.readouterr().out
    assert (tmp_path / "fit.html").read_text().startswith("<html>")


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope.csv", "--model", "biolek2009"], "nope.csv: no such file"),
        (["--model", "biolek2009", "--vary", "Roff"], "has no parameter 'Roff'"),
        (["--model", "biolek2009", "--bounds", "R_off=1"], "must look like name=lower:upper"),
    ],
)
def test_fit_bad_input_one_line(args, message):
    from memfit.datasets import path

    if args[0] != "nope.csv":
        args = [str(path("biolek2009_iv")), *args]
    out = _run("fit", *args)
    assert out.returncode == 2, out.stderr
    assert message in out.stderr.strip().splitlines()[-1]
    assert "Traceback" not in out.stderr


def _gallery():
    from memfit.models import available_models

    return available_models()


@pytest.mark.parametrize("name", _gallery())
def test_gallery_every_model_simulates_and_plots_its_default(name, tmp_path):
    """`memfit simulate --model <name>` works for every model with its characteristic default stimulus."""
    png = tmp_path / f"{name}.png"
    assert main(["simulate", "--model", name, "--plot", str(png)]) == 0
    assert png.stat().st_size > 10_000
