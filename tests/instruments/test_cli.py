"""The ``characterize`` and ``sim-smu`` subcommands (through instruments.cli.add_parsers)."""

from __future__ import annotations

import argparse

import pytest

from instruments.cli import add_parsers, main
from memfit.data import read_csv
from memfit.errors import LimitError, ModelError


def _parse(argv):
    parser = argparse.ArgumentParser(prog="memfit")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_characterize_iv_and_write_verify_against_the_simulated_smu(sim, tmp_path, capsys):
    args = _parse(["characterize", "iv", "--resource", sim.resource, "--out", str(tmp_path), "--v-max", "1.0",
                   "--step", "0.1", "--rate", "2", "--compliance", "1e-3", "--quiet"])
    assert args.func(args) == 0
    m = read_csv(tmp_path / "iv.csv")
    assert len(m) == 40 and m.meta["routine"]["name"] == "iv_sweep"
    rc = main(["characterize", "write-verify", "--resource", sim.resource, "--out", str(tmp_path), "--target",
               "2.5e-7", "--read-v", "-0.2", "--v-start", "2.4", "--v-step", "0.02", "--v-max", "3.3", "--width",
               "0.01", "--compliance", "1e-2", "--read-compliance", "1e-3", "--max-pulses", "200"])
    assert rc == 0
    out = capsys.readouterr()
    assert "'success': True" in out.out and "[" in out.err  # result printed, progress shown


def test_characterize_limit_is_a_clean_error(sim, tmp_path, capsys):
    rc = main(["characterize", "iv", "--resource", sim.resource, "--out", str(tmp_path), "--v-max", "6",
               "--quiet"])
    assert rc == 2 and "exceeds the limit" in capsys.readouterr().err
    assert sim.commands == ["*IDN?"] or sim.commands == []  # identification only; nothing sourced
    args = _parse(["characterize", "iv", "--resource", sim.resource, "--v-max", "6"])
    with pytest.raises(LimitError):
        args.func(args)


def test_sim_smu_parser_and_unknown_model():
    args = _parse(["sim-smu", "--model", "nbox", "--port", "0", "--param", "A_r=5e-8", "--drop-after", "10"])
    assert args.model == "nbox" and args.drop_after == 10 and args.param == ["A_r=5e-8"]
    bad = _parse(["sim-smu", "--model", "no-such-model"])
    with pytest.raises(ModelError):
        bad.func(bad)
