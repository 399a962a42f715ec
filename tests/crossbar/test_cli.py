"""``memfit crossbar`` subcommands: run end to end (CSV + HTML), train, configs, one-line errors."""

import argparse

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("memfit.crossbar.tile", reason="engineer B's AnalogMatrix not present yet")

from memfit.crossbar.cli import add_parsers, main  # noqa: E402
from memfit.crossbar.data import load_digits  # noqa: E402
from memfit.crossbar.train import builtin_network  # noqa: E402


def test_add_parsers_wires_into_a_parser():
    parser = argparse.ArgumentParser(prog="memfit")
    add_parsers(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["crossbar", "run", "--preset", "ideal", "--network", "builtin:digits-mlp"])
    assert args.func.__name__ == "_cmd_run" and args.config == "baseline-ftj" and args.repeats == 10
    assert args.times == "0,3600,86400,3.15e7"


def test_run_ideal_hardware_reproduces_float_accuracy(tmp_path, capsys):
    csv, html = tmp_path / "r.csv", tmp_path / "r.html"
    rc = main(["run", "--preset", "ideal", "--network", "builtin:digits-mlp", "--config", "ideal", "--set",
               "dtype=float64", "--times", "0,3600", "--repeats", "2", "--csv", str(csv), "--report", str(html), "-q"])
    out = capsys.readouterr().out
    assert rc == 0
    acc = builtin_network("digits-mlp").meta["test_accuracy"]
    assert f"float     accuracy {100 * acc:.2f} %" in out
    assert f"t = 1 h     accuracy {100 * acc:6.2f} ± 0.00 %   A* 100.00 %" in out
    df = pd.read_csv(csv)
    assert len(df) == 4 and set(df["study"]) == {"accuracy"}
    np.testing.assert_array_equal(df["accuracy"], acc)
    text = html.read_text()
    assert "Accuracy over time" in text and "data:image/png;base64," in text and "digits test split" in text


def test_train_then_run_a_weight_file_with_a_json_config(tmp_path, capsys):
    net_path = tmp_path / "small.npz"
    assert main(["train", "--data", "digits", "--hidden", "24", "--epochs", "8", "--lr", "3e-3", "--out",
                 str(net_path), "-q"]) == 0
    assert "test accuracy" in capsys.readouterr().out
    cfg = tmp_path / "cfg.json"
    cfg.write_text('{"base": "baseline-ftj", "programming": "ideal", "drift": false, "out_noise": 0.0}')
    csv = tmp_path / "o.csv"
    rc = main(["run", "--preset", "ideal", "--network", str(net_path), "--config", str(cfg), "--times", "0",
               "--repeats", "2", "--csv", str(csv), "--layers", "-q"])
    assert rc == 0
    df = pd.read_csv(csv)
    assert set(df["study"]) == {"accuracy", "layers"}
    d = load_digits(seed=0)
    from memfit.crossbar.network import Network

    fp = Network.load(net_path).accuracy(d.x_test, d.y_test)
    assert df["accuracy_fp"].dropna().iloc[0] == pytest.approx(fp)
    assert (df[df["study"] == "accuracy"]["accuracy"] > fp - 0.05).all()   # 8-bit converters, w_noise only


@pytest.mark.parametrize("argv,message", [
    (["--preset", "no-such-device"], "unknown preset 'no-such-device'"),
    (["--network", "missing.npz"], "network file missing.npz does not exist"),
    (["--network", "weights.h5"], "expected 'builtin:NAME', a .onnx file or a .npz weight file"),
    (["--config", "nonexistent-config"], "unknown crossbar config 'nonexistent-config'"),
    (["--config", "cfg_missing.json"], "config file cfg_missing.json: cannot read it"),
    (["--set", "adc_bits=99"], "adc_bits = 99 is not allowed"),
    (["--set", "adcbits=6"], "no field(s) ['adcbits']"),
    (["--times", "0,1h"], "--times: '1h' is not a number"),
    (["--data", "mnist:/no/such/folder"], "MNIST folder /no/such/folder does not exist"),
])
def test_bad_input_gives_one_line_error(argv, message, capsys):
    base = {"--preset": "ideal", "--network": "builtin:digits-mlp", "--programming": "ideal"}
    for k, v in zip(argv[::2], argv[1::2]):
        base[k] = v
    args = ["run", "-q", "--repeats", "1", "--times", "0"] + [a for kv in base.items() for a in kv]
    if "--times" in argv:
        args = ["run", "-q"] + [a for kv in base.items() for a in kv]
    rc = main(args)
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and message in err, err


def test_bad_json_config_file_is_named(tmp_path, capsys):
    cfg = tmp_path / "broken.json"
    cfg.write_text("{not json")
    assert main(["run", "--preset", "ideal", "--network", "builtin:digits-mlp", "--config", str(cfg), "-q"]) == 2
    assert "broken.json: not valid JSON" in capsys.readouterr().err


def test_configs_lists_the_baseline(capsys):
    assert main(["configs"]) == 0
    assert "baseline-ftj" in capsys.readouterr().out
    assert main(["configs", "baseline-ftj"]) == 0
    assert "out_noise            0.04" in capsys.readouterr().out


def test_run_on_local_workers_matches_in_process(tmp_path):
    """--workers runs the Monte Carlo repeats on worker processes; same numbers for the same seed (issue 9)."""
    import pandas as pd

    from memfit.cli import main

    common = ["crossbar", "run", "--preset", "ftj-balanced", "--network", "builtin:digits-mlp", "--config",
              "baseline-ftj", "--times", "0,3600", "--repeats", "2", "--limit", "100", "--quiet"]
    assert main(common + ["--csv", str(tmp_path / "a.csv")]) == 0
    assert main(common + ["--workers", "2", "--csv", str(tmp_path / "b.csv")]) == 0
    a, b = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")
    key = ["repeat", "t"]
    assert (a.sort_values(key)["accuracy"].to_numpy() == b.sort_values(key)["accuracy"].to_numpy()).all()
    assert main(common + ["--scheduler", "spark"]) == 2


def test_train_with_hardware_aware_fine_tuning(tmp_path):
    """memfit crossbar train --hwa CONFIG fine-tunes after the float training and records how (issue 13)."""
    from memfit.cli import main
    from memfit.crossbar.network import load_network

    out = tmp_path / "hwa.npz"
    assert main(["crossbar", "train", "--epochs", "3", "--hidden", "32", "--hwa", "baseline-ftj", "--preset",
                 "ftj-balanced", "--hwa-epochs", "1", "--noise-scale", "2", "--out", str(out), "--quiet"]) == 0
    net = load_network(str(out))
    assert net.meta["hwa_training"]["noise_scale"] == 2.0 and net.meta["hwa_training"]["epochs"] == 1
    assert main(["crossbar", "train", "--epochs", "1", "--hwa", "nope", "--out", str(tmp_path / "x.npz")]) == 2


def test_train_on_the_array_from_the_cli(tmp_path, capsys):
    """memfit crossbar train --insitu PRESET: the same initial network trained by pulses, saved, compared (issue 13)."""
    from memfit.cli import main
    from memfit.crossbar.network import load_network

    out = tmp_path / "f.npz"
    assert main(["crossbar", "train", "--epochs", "4", "--hidden", "32", "--insitu", "nbox", "--update",
                 "mixed-precision", "--insitu-lr", "0.1", "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "test accuracy on the array" in text and "float SGD with the same lr" in text
    net = load_network(str(tmp_path / "f-insitu.npz"))
    info = net.meta["insitu_training"]
    assert info["update"] == "mixed-precision" and info["device"] == "nbox" and info["epochs"] == 4
    d = load_digits(seed=0)
    # the saved weights are the devices' and they learned something (chance is 10 %)
    assert net.accuracy(d.x_test, d.y_test) > 0.5
    assert main(["crossbar", "train", "--epochs", "1", "--insitu", "pcm-reference", "--out",
                 str(tmp_path / "x.npz"), "-q"]) == 2
    assert "pulse-response" in capsys.readouterr().err
