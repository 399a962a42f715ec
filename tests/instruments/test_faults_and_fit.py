"""Faults (dropped connection, timeout, forced compliance, Ctrl-C) and the closed loop measure -> fit."""

from __future__ import annotations

import numpy as np
import pytest

from instruments.drivers import Keithley2450
from instruments.routines import forming, load, pulse_train, write_verify
from instruments.simulated import SimulatedSMU
from memfit.data import read_csv
from memfit.errors import InstrumentError


def test_connection_dropped_mid_routine(tmp_path):
    """The server drops the link after 60 commands: InstrumentError, every point before it on disk and loadable."""
    with SimulatedSMU("nbox", drop_after=60) as sim:
        smu = Keithley2450(sim.resource, timeout=0.5)
        with pytest.raises(InstrumentError, match="Keithley 2450 at TCPIP::127.0.0.1"):
            pulse_train(smu, [2.7] * 30, width=0.01, read_v=-0.2, compliance=1e-2, read_compliance=1e-3,
                        out=tmp_path)
        assert sim.dropped
        # points the instrument answered before the drop = rows on disk
        n_answered = sum(c.startswith((":READ?", ":TRAC:DATA?")) for c in sim.commands)
    m = read_csv(tmp_path / "pulses.csv")
    assert len(m) == n_answered > 5
    side = load(tmp_path / "pulses.json").meta["run"]
    assert side["status"] == "failed" and "InstrumentError" in side["error"]
    # output-off was attempted; with the link gone it could not be delivered, and that is recorded
    assert side["shutdown_problems"] and any("OUTP OFF" in p for p in side["shutdown_problems"])


def test_timeout_still_sends_output_off(tmp_path):
    """The instrument stops answering (hang): InstrumentError, and 0 V / output off still reach it."""
    with SimulatedSMU("nbox", hang_after=40) as sim:
        smu = Keithley2450(sim.resource, timeout=0.3)
        with pytest.raises(InstrumentError, match="reading the answer"):
            write_verify(smu, 3.0e-7, read_v=-0.2, v_start=2.4, v_step=0.02, v_max=3.3, width=0.01,
                         compliance=1e-2, read_compliance=1e-3, out=tmp_path)
        tail = sim.commands[-3:]
    assert tail == [":ABOR", ":SOUR:VOLT 0", ":OUTP OFF"]
    m = load(tmp_path / "write_verify.csv")
    assert len(m) >= 1 and m.meta["run"]["status"] == "failed" and not m.meta["run"]["shutdown_problems"]


def test_keyboard_interrupt_leaves_output_off(smu, sim, tmp_path):
    def stop(done, total, msg):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pulse_train(smu, [2.7] * 10, width=0.01, read_v=-0.2, compliance=1e-2, out=tmp_path, progress=stop)
    assert sim.commands[-2:] == [":SOUR:VOLT 0", ":OUTP OFF"] and sim.emulator.output is False
    m = load(tmp_path / "pulses.csv")
    assert m.meta["run"]["status"] == "interrupted" and len(m) == 1 + 2 * 3


def test_reported_compliance_stops_forming_at_first_point():
    with SimulatedSMU("nbox", force_compliance=True) as sim:
        smu = Keithley2450(sim.resource)
        m = forming(smu, v_max=3.0, step=0.1, compliance=1e-4)
        assert smu.in_compliance() is True
    assert m.meta["result"]["formed"] and len(m) == 1 and m.frame["compliance"].iloc[0]


def test_iv_sweep_on_simulated_smu_fits_back_to_server_parameters():
    """Measure an I-V sweep on a simulated device with known (non-default) parameters and fit it.

    The fitted values must match the server's within a few standard errors or 0.5 %: the staircase the
    instrument applied is replayed as a piecewise-linear stimulus by memfit, which is the only model error.
    """
    from instruments.routines import iv_sweep
    from memfit.fitting import fit

    truth = {"A_r": 6.0e-8, "B_s": 9.0}
    with SimulatedSMU("nbox", params=truth, seed=3) as sim:
        smu = Keithley2450(sim.resource)
        m = iv_sweep(smu, v_max=1.5, step=0.02, rate=1.0, compliance=1e-3, nplc=0.5)
        server = sim.device.params
    res = fit("nbox", m, vary=["A_r", "A_s", "B_r", "B_s"])
    for name in ("A_r", "A_s", "B_r", "B_s"):
        val, err, true = res.values[name], res.stderr[name], server[name]
        assert abs(val - true) <= max(3 * err, 5e-3 * abs(true)), (name, val, err, true)
