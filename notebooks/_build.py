"""Generate the example notebooks of ``notebooks/`` from the cell sources in this file.

The ``.ipynb`` files are generated, never edited by hand, and committed without outputs:

    python notebooks/_build.py            # (re)write every notebook
    python notebooks/_build.py --check    # exit 1 if a notebook differs from this file

``tests/test_notebooks.py`` executes every notebook top to bottom (and checks that they
are up to date with this file and carry no outputs).

Each notebook is a list of cells: ``md(text)`` for markdown, ``code(text)`` for code.
Keep every notebook runnable in well under a minute on two cores: small populations,
few Monte Carlo repeats, short simulations.  Notebooks use only memfit's public API.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent


def md(text: str):
    return new_markdown_cell(textwrap.dedent(text).strip("\n"))


def code(text: str):
    return new_code_cell(textwrap.dedent(text).strip("\n"))


# =====================================================================================
# 01: joint fit of I-V + pulses + retention
# =====================================================================================
NB01 = [
    md("""
    # Fitting one model to I-V, pulse and retention data at once

    A compact model is only as good as the experiments that pin its parameters.  Here three
    experiments on one device are fitted **jointly** with `memfit.fitting.fit`:

    * an **I-V sweep** (a ±1 V triangle),
    * a **pulse train** (10 SET then 10 RESET pulses, each followed by a read),
    * a **retention** run (one SET pulse, then reads for 300 s while the state relaxes).

    The device is the dynamic memdiode (`memdiode_dmm`, Miranda & Suñé, IEEE TNANO 19, 837 (2020)),
    whose state obeys `dλ/dt = (1 - λ)/τ_S(V) - λ/τ_R(V)` at every bias: the switching time
    constants `T0s`, `T0r` show up in all three experiments, so they are **shared**.  The LRS current
    prefactor `I_max` is allowed to differ between the three measurements (say, taken on different
    days, at slightly different temperature): it is fitted **per dataset**.

    The "measurements" are simulated from known parameters with 1-2 % noise, so we can check the fit
    against the truth.  At the end, the example files that ship with memfit (`memfit.datasets`) are
    fitted the same way.
    """),
    code("""
    import time

    import matplotlib.pyplot as plt
    import numpy as np

    from memfit.fitting import fit
    from memfit.simulate import hold, pulse_train, simulate, triangle_sweep

    MODEL = "memdiode_dmm"
    t_start = time.perf_counter()
    """),
    md("""
    ## 1. Stand-ins for measured data

    True values: `T0s = 150 s`, `T0r = 90 s` (the model defaults are 120.2 s for both), and
    `I_max` = 115, 105 and 125 µA in the three experiments.  Noise: a gain error of 2 % (I-V) or
    1 % (pulses, retention) per point plus a 0.1 nA floor, like an SMU on a fixed range.
    """),
    code("""
    TRUE_SHARED = {"T0s": 150.0, "T0r": 90.0}           # [s]
    TRUE_I_MAX = [1.15e-4, 1.05e-4, 1.25e-4]            # [A], one per experiment
    LABELS = ["iv", "pulses", "retention"]

    stimuli = [
        triangle_sweep(vmax=1.0, frequency=1, cycles=1, points_per_cycle=300),
        pulse_train(amplitude=[0.8] * 10 + [-0.8] * 10, width=0.01, read_v=0.1, read_width=0.01,
                    rise=1e-4, fall=1e-4),
        pulse_train(amplitude=[1.0], width=0.05, rise=1e-4, fall=1e-4)
        + hold(0.05, 300.0, points=60, log=True, role="read"),
    ]
    rng = np.random.default_rng(1)
    data = []
    for stim, i_max, rel in zip(stimuli, TRUE_I_MAX, (0.02, 0.01, 0.01)):
        sim = simulate(MODEL, stim, params={**TRUE_SHARED, "I_max": i_max}, rtol=1e-9)
        i = sim.frame["i"].to_numpy()
        sim.frame["i"] = i * (1 + rel * rng.standard_normal(i.size)) + 1e-10 * rng.standard_normal(i.size)
        data.append(sim)
    for label, d in zip(LABELS, data):
        print(f"{label:10s} {len(d.frame):4d} samples, {d.frame['t'].iloc[-1]:8.2f} s")
    """),
    md("""
    ## 2. The joint fit

    `vary` lists the fitted parameters (start: the model's published defaults); `per_dataset`
    makes `I_max` one parameter per dataset (`I_max__d0`, `I_max__d1`, `I_max__d2`); `kinds` says
    what each dataset is, which picks its residual (log-current for the I-V, read conductance for
    pulses and retention).  A second pass re-weights each dataset by its own scatter, so the
    standard errors are honest.
    """),
    code("""
    res = fit(MODEL, data, kinds=["iv", "pulse", "retention"], labels=LABELS,
              vary=["I_max", "T0s", "T0r"], per_dataset=["I_max"], rtol=1e-8)
    print(res.report())
    """),
    md("## 3. Compare with the truth"),
    code("""
    truth = {**TRUE_SHARED, **{f"I_max__d{k}": v for k, v in enumerate(TRUE_I_MAX)}}
    table = res.params_table()[["value", "stderr", "unit"]].copy()
    table["true"] = [truth[n] for n in table.index]
    table["z = (fit - true) / stderr"] = (table["value"] - table["true"]) / table["stderr"]
    print(table.to_string(float_format=lambda x: f"{x:.5g}"))
    assert (table["z = (fit - true) / stderr"].abs() < 3).all(), "a parameter is more than 3 sigma off"
    print("every parameter within 3 standard errors of the truth")
    """),
    md("""
    `res.plot()` overlays data and model for every dataset, with the residuals and the simulated
    state.  (`res.plot("fit.png")` saves the figure instead.)
    """),
    code("""
    fig = res.plot()
    """),
    md("""
    The retention run on its own axes: the read conductance relaxes from the SET state towards
    `λ∞ = τ_R/(τ_S + τ_R)`, and the fitted model follows it.
    """),
    code("""
    ret, sim = data[2].frame, res.simulated(2).frame
    reads, sim_reads = ret[ret["role"] == "read"], sim[sim["role"] == "read"]
    t0 = reads["t"].iloc[0]
    fig, ax = plt.subplots(figsize=(5.5, 3.4), constrained_layout=True)
    ax.semilogx(reads["t"] - t0 + 1e-3, reads["i"] / reads["v"] * 1e3, ".", label="data")
    ax.semilogx(sim_reads["t"] - t0 + 1e-3, sim_reads["i"] / sim_reads["v"] * 1e3, "-", label="fit")
    ax.set_xlabel("time after the SET pulse [s]")
    ax.set_ylabel("read conductance [mS]")
    ax.legend();
    """),
    md("""
    ## 4. The example files that ship with memfit

    `memfit.datasets` holds example measurements generated by memfit's own models; the manifest
    records their true parameters, so they make a quick self-check of a fit.
    """),
    code("""
    import memfit.datasets as ds

    print(ds.available())
    iv, pulses = ds.load("biolek2009_iv"), ds.load("biolek2009_pulses")
    true = ds.info("biolek2009_iv")["true_parameters"]
    res_ex = fit("biolek2009", [iv, pulses], vary=["R_off", "mu_v"])
    for name in ("R_off", "mu_v"):
        z = (res_ex.values[name] - true[name]) / res_ex.stderr[name]
        print(f"{name:6s} fit {res_ex.values[name]:.5g} +/- {res_ex.stderr[name]:.2g}, "
              f"true {true[name]:.5g}, z = {z:+.2f}")
        assert abs(z) < 3
    print(f"notebook ran in {time.perf_counter() - t_start:.1f} s")
    """),
]

# =====================================================================================
# 02: characterization against the simulated SMU
# =====================================================================================
NB02 = [
    md("""
    # Scripting a characterization (simulated SMU → files → memfit)

    The `instruments` package drives a source-measure unit through pyvisa.  This notebook runs
    against the **simulated SMU**: a real SCPI server on `127.0.0.1` that imitates a Keithley 2450
    and is backed by the NbOx compact model (`nbox`, Schroedter et al. 2022).  The driver talks to it
    over TCP exactly as it would to the instrument.

    Three routines, each streaming every point to disk as it is measured:

    1. `iv_sweep` — a bipolar staircase I-V sweep with current compliance,
    2. `pulse_train` — potentiation / depression pulses, each followed by a read,
    3. `write_verify` — program the read conductance to a target within ±2 %.

    Then the files are loaded back.  The last section shows **which lines change for a real
    instrument**.
    """),
    code("""
    import tempfile
    import time
    from pathlib import Path

    import matplotlib.pyplot as plt
    import numpy as np

    from instruments.drivers import Keithley2450
    from instruments.routines import Limits, iv_sweep, load, pulse_train, ramp_amplitudes, write_verify
    from instruments.simulated import SimulatedSMU

    t_start = time.perf_counter()
    OUT = Path(tempfile.mkdtemp(prefix="memfit-characterize-"))   # where the routines stream their files
    print("data folder:", OUT)
    """),
    md("""
    `Limits` are **your** limits for this device (not the instrument's): every routine checks its
    whole plan against them *before* sending anything, and refuses (`LimitError`) rather than clips.
    """),
    code("""
    limits = Limits(v_max=3.5, i_max=1e-2, pulse_width_max=0.1)
    READ_V = -0.2                      # [V] read voltage of this NbOx device (reads at negative bias)
    WV = dict(read_v=READ_V, v_start=2.4, v_step=0.02, v_max=3.3, width=0.01,          # set pulses
              reset_v_start=2.2, reset_v_step=0.02, reset_v_max=3.2,                 # reset pulses
              compliance=1e-2, read_compliance=1e-3, max_pulses=200)

    with SimulatedSMU("nbox", seed=0) as sim:            # the simulated instrument, on a free port
        smu = Keithley2450(sim.resource, timeout=5.0)     # <- the only instrument-specific line
        print("resource:", sim.resource)
        print("*IDN?   :", smu.query("*IDN?"))
        iv = iv_sweep(smu, v_max=2.0, v_min=-1.5, step=0.05, rate=1.0, compliance=1e-3,
                      limits=limits, out=OUT, device="D1")
        pulses = pulse_train(smu, ramp_amplitudes(15, 2.7, 15, -3.0), width=0.01, read_v=READ_V,
                             compliance=1e-2, read_compliance=1e-3, limits=limits, out=OUT, device="D1")
        wv = write_verify(smu, 2.6e-7, **WV, limits=limits, out=OUT, device="D1")
        smu.close()
        print("commands sent:", len(sim.commands), "- the last two:", sim.commands[-2:])

    print(wv.meta["result"])
    assert wv.meta["result"]["success"] and abs(wv.meta["result"]["error"]) <= 0.02
    """),
    md("""
    The limits at work: a sweep to 4 V is refused before a single command reaches the instrument.
    """),
    code("""
    from memfit.errors import LimitError

    with SimulatedSMU("nbox", seed=0) as sim:
        smu = Keithley2450(sim.resource, timeout=5.0)
        try:
            iv_sweep(smu, v_max=4.0, limits=limits, out=OUT, name="refused")
        except LimitError as exc:
            print("LimitError:", exc)
        smu.close()
        assert not any(c.startswith(":SOUR:LIST") for c in sim.commands)
    """),
    md("""
    ## Loading the files back

    Each routine wrote `<name>.csv` (one line per point, appended as measured) and `<name>.json`
    (instrument snapshot, routine parameters, run status).  `instruments.routines.load` reads them
    into memfit measurement types (`IVSweep`, `PulseTrain`), ready for `memfit.fitting.fit`.
    """),
    code("""
    print(sorted(p.name for p in OUT.iterdir()))
    iv_back = load(OUT / "iv.csv")
    pulses_back = load(OUT / "pulses.csv")
    wv_back = load(OUT / "write_verify.json")
    print(type(iv_back).__name__, len(iv_back), "points, run status:", iv_back.meta["run"]["status"])
    print("instrument:", iv_back.meta["instrument"]["driver"], "| routine:", iv_back.meta["routine"]["name"])
    assert np.allclose(iv_back.frame["i"], iv.frame["i"])
    pulses_back.reads().head()
    """),
    code("""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), constrained_layout=True)
    f = iv_back.frame
    axes[0].semilogy(f["v"], np.abs(f["i"]), ".-", ms=3)
    axes[0].set(xlabel="V [V]", ylabel="|I| [A]", title="I-V sweep")
    r = pulses_back.reads()
    axes[1].plot(r["pulse"], r["g_read"] * 1e9, "o-", ms=3)
    axes[1].set(xlabel="pulse", ylabel="G read [nS]", title="pulse train (15 up, 15 down)")
    w = wv_back.reads()
    axes[2].plot(w["pulse"], w["g_read"] * 1e9, "o-", ms=3)
    axes[2].axhspan(2.6e-7 * 0.98 * 1e9, 2.6e-7 * 1.02 * 1e9, color="g", alpha=0.2, label="target ±2 %")
    axes[2].set(xlabel="pulse", ylabel="G read [nS]", title="write-verify")
    axes[2].legend()
    print(f"notebook ran in {time.perf_counter() - t_start:.1f} s")
    """),
    md("""
    ## The same script on a real instrument

    Only the lines that open the instrument change; the routines, limits and files stay the same.
    Install a VISA backend (`pip install pyvisa-py`, or NI-VISA / Keysight IO Libraries), connect the
    SMU and replace the `with SimulatedSMU(...)` block's first two lines:

    ```python
    # simulated (this notebook)
    with SimulatedSMU("nbox", seed=0) as sim:
        smu = Keithley2450(sim.resource)

    # a real Keithley 2450 over USB or LAN (no `with SimulatedSMU`; dedent the rest of the block)
    from instruments.drivers import Keithley2450
    smu = Keithley2450("USB0::0x05E6::0x2450::04123456::INSTR")       # serial from the rear panel / NI MAX
    smu = Keithley2450("TCPIP::192.168.0.5::5025::SOCKET")             # or raw socket over LAN

    # a Keithley 2600B (TSP command set), channel A or B
    from instruments.drivers import Keithley2600B
    smu = Keithley2600B("USB0::0x05E6::0x2636::04123456::INSTR", channel="smua")
    smu = Keithley2600B("TCPIP::192.168.0.6::INSTR", channel="smub")

    # a Keysight B2900 (B2901A/B2902A/B2911A/B2912A), channel 1 or 2
    from instruments.drivers import KeysightB2900
    smu = KeysightB2900("TCPIP::192.168.0.7::5025::SOCKET", channel=1)

    # or let memfit identify the instrument by *IDN?
    from instruments.drivers import open_smu
    smu = open_smu("TCPIP::192.168.0.5::5025::SOCKET")
    ```

    Set `Limits` to what **your device** tolerates before the first run (the drivers separately refuse
    anything outside the instrument's own ranges; see `Keithley2450.capabilities`).  Any error or
    Ctrl-C leaves the source at 0 V with the output off, and what was measured stays on disk.
    From the shell the same routines run as `memfit characterize iv|pulses|write-verify ... --resource
    USB0::0x05E6::0x2450::04123456::INSTR --out data/`.
    """),
]

# =====================================================================================
# 03: population statistics -> preset -> SPICE / aihwkit
# =====================================================================================
NB03 = [
    md("""
    # From a population of devices to a preset, exported to SPICE and aihwkit

    1. **Population fit.**  Twelve devices of one wafer, each measured with one I-V sweep, are fitted
       in parallel with `memfit.fitting.fit_population`; `statistics()` gives the device-to-device
       distribution of every fitted parameter (mean, σ, the better of normal / log-normal) and
       `correlation()` how they vary together.
    2. **Preset.**  A "golden" device is characterized in more detail (I-V + pulse train) and
       fitted; `FitResult.to_preset(..., population=pop)` derives a crossbar preset from it by
       simulation, with the device-to-device spread from the population.
    3. **Export** to a SPICE subcircuit (run in ngspice if it is installed) and to an aihwkit
       device configuration.

    The devices are VTEAM memristors (Kvatinsky et al., IEEE TCAS-II 62, 786 (2015)) with linear
    switching rates, simulated from known parameters with 1 % current noise.
    """),
    code("""
    import json
    import shutil
    import tempfile
    import time
    from pathlib import Path

    import matplotlib.pyplot as plt
    import numpy as np

    from memfit.fitting import fit, fit_population
    from memfit.simulate import pulse_train, simulate, triangle_sweep

    t_start = time.perf_counter()
    OUT = Path(tempfile.mkdtemp(prefix="memfit-preset-"))
    NOMINAL = {"R_on": 1e3, "R_off": 1e4, "k_off": 10.0, "k_on": -20.0, "v_off": 0.2, "v_on": -0.2,
               "alpha_off": 1.0, "alpha_on": 1.0}     # [Ohm], [1/s], [V], [1]
    READ_V = 0.05                                     # [V]
    """),
    md("""
    ## 1. A population with correlated device-to-device spread

    `R_on` and `R_off` are drawn log-normal with 8 % and 12 % spread and correlation 0.6 (a thicker
    oxide raises both); twelve draws have their own sample spread, which is what the fits should
    recover.  Each device gets one 1 Hz, ±0.4 V triangle sweep from its OFF state.
    """),
    code("""
    N = 12
    rng = np.random.default_rng(7)
    z = rng.multivariate_normal([0.0, 0.0], [[1.0, 0.6], [0.6, 1.0]], size=N)
    r_on_true = NOMINAL["R_on"] * np.exp(0.08 * z[:, 0])
    r_off_true = NOMINAL["R_off"] * np.exp(0.12 * z[:, 1])

    sweep = triangle_sweep(vmax=0.4, frequency=1.0, cycles=1, points_per_cycle=300)
    devices = []
    for k in range(N):
        sim = simulate("vteam", sweep, params={**NOMINAL, "R_on": r_on_true[k], "R_off": r_off_true[k]},
                       x0={"x": 1.0})
        sim.frame["i"] *= 1 + 0.01 * rng.standard_normal(len(sim.frame))
        sim.meta["device"] = f"die{k:02d}"
        devices.append(sim)

    # workers=1 fits in this process; on a workstation leave it out (all cores), on a cluster pass backend=
    pop = fit_population("vteam", devices, vary=["R_on", "R_off"], initial=NOMINAL, x0={"x": 1.0},
                         workers=1, progress=False)
    print(pop.summary())
    """),
    code("""
    table = pop.table[["label", "R_on", "R_on_stderr", "R_off", "R_off_stderr"]].copy()
    table["R_on true"], table["R_off true"] = r_on_true, r_off_true
    print(table.to_string(float_format=lambda x: f"{x:.5g}"))
    np.testing.assert_allclose(table["R_on"], r_on_true, rtol=0.03)
    np.testing.assert_allclose(table["R_off"], r_off_true, rtol=0.03)
    """),
    code("""
    stats = pop.statistics()
    columns = ["n", "mean", "std", "rel_std", "distribution", "loc", "scale"]
    print(stats[columns].to_string(float_format=lambda x: f"{x:.4g}"))
    print("\\nfitted correlation:\\n", pop.correlation().round(3))
    log_on, log_off = np.log(r_on_true), np.log(r_off_true)
    print(f"\\nthe drawn (true) values: log-normal scale R_on {np.std(log_on):.4f}, R_off {np.std(log_off):.4f}, "
          f"correlation {np.corrcoef(log_on, log_off)[0, 1]:.3f}")
    print(f"fitted:                  log-normal scale R_on {stats.loc['R_on', 'scale']:.4f}, "
          f"R_off {stats.loc['R_off', 'scale']:.4f}")

    fig, ax = plt.subplots(figsize=(4.5, 3.6), constrained_layout=True)
    ax.errorbar(pop.table["R_on"], pop.table["R_off"], xerr=pop.table["R_on_stderr"],
                yerr=pop.table["R_off_stderr"], fmt="o", label="fitted")
    ax.plot(r_on_true, r_off_true, "x", label="true")
    ax.set(xlabel="R_on [Ohm]", ylabel="R_off [Ohm]", title="device-to-device spread")
    ax.legend();
    """),
    md("""
    ## 2. A golden device and its preset

    One device is measured in more detail: the I-V sweep plus 20 potentiating (−0.4 V, 1 ms) and
    20 depressing (+0.4 V) pulses with reads at 50 mV.  The joint fit pins the resistances and the
    switching rates; `to_preset` then simulates the fitted model to tabulate what a crossbar needs
    (conductance window, pulse response ΔG(G) up and down, write-verify statistics, drift) and
    attaches the population's device-to-device distribution.  Cycle-to-cycle spread and read noise
    are not in these data, so they are given explicitly (5 % on the rates, 1 % read noise).
    """),
    code("""
    golden_true = {**NOMINAL, "R_on": 1.05e3, "R_off": 9.6e3, "k_on": -22.0, "k_off": 9.0}
    train = pulse_train(amplitude=[-0.4] * 20 + [0.4] * 20, width=1e-3, read_v=READ_V, rise=1e-5)
    golden = [simulate("vteam", s, params=golden_true, x0={"x": 1.0}) for s in (sweep, train)]
    for d in golden:
        d.frame["i"] *= 1 + 0.01 * rng.standard_normal(len(d.frame))
    res = fit("vteam", golden, vary=["R_on", "R_off", "k_on", "k_off"], initial=NOMINAL, x0={"x": 1.0},
              labels=["iv", "pulses"])
    print(res.report())
    for name in ("R_on", "R_off", "k_on", "k_off"):
        assert abs(res.values[name] - golden_true[name]) < 3 * res.stderr[name], name
    """),
    code("""
    PULSES = {"up": {"amplitude": -0.4, "width": 1e-3, "n": 60},      # raises G (towards R_on)
              "down": {"amplitude": 0.4, "width": 1e-3, "n": 110}}    # lowers G
    WRITE_VERIFY = {"tolerance": 0.05, "max_pulses": 40, "v_start": -0.25, "v_step": 0.02, "v_max": -0.5,
                    "v_start_down": 0.25, "v_max_down": 0.5, "width": 1e-3, "n_devices": 8}
    preset = res.to_preset(name="vteam-lab", pulses=PULSES, read_v=READ_V, population=pop,
                           c2c={"k_on": 0.05, "k_off": 0.05}, read_noise=0.01, write_verify=WRITE_VERIFY,
                           n_devices=16, n_c2c=16, x0={"x": 1.0},
                           description="VTEAM test device of the notebook, fitted to simulated data")
    print(preset.summary())
    path = preset.save(OUT / "vteam-lab.json")
    print("saved", path)
    """),
    code("""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), constrained_layout=True)
    for ax, direction in zip(axes, ("up", "down")):
        t = preset.pulse_response(direction)
        ax.errorbar(np.asarray(t["g"]) * 1e3, np.asarray(t["dg_mean"]) * 1e6, yerr=np.asarray(t["dg_std"]) * 1e6,
                    fmt=".-", capsize=2)
        ax.set(xlabel="G [mS]", ylabel="ΔG per pulse [µS]", title=f"pulse response, {direction}")
    """),
    md("""
    The same preset can be derived without a `FitResult`, from parameter values, with
    `memfit.presets.derive_preset("vteam", params, name=..., pulses=..., read_v=..., d2d=...)`;
    `memfit.presets.derive.d2d_from_population(pop)` turns a population into the `d2d` argument.

    ## 3. Export: SPICE subcircuit and aihwkit configuration
    """),
    code("""
    from memfit.presets.exporters import export_preset, spice

    cir = export_preset(preset, "spice")
    (OUT / "vteam-lab.cir").write_text(cir)
    print(cir)
    """),
    md("""
    With ngspice on the `PATH`, drive the subcircuit with a ±0.3 V, 2 Hz triangle in a transient
    simulation and compare its current with memfit's own integrator of the same parameters.
    (The sweep keeps the state inside its window: a drive that pins `x` on a bound of the VTEAM
    state makes ngspice stop with "timestep too small" at the hard clamp.)
    """),
    code("""
    exe = shutil.which("ngspice")
    if exe is None:
        print("ngspice is not on the PATH: skipping the SPICE run (Debian/Ubuntu: apt-get install ngspice)")
    else:
        check = triangle_sweep(vmax=0.3, frequency=2.0, cycles=1, points_per_cycle=400)
        workdir = Path(tempfile.mkdtemp(prefix="memfit-ngspice-"))
        t, v, i_spice, x_spice = spice.run_ngspice(spice.testbench(preset, check, tmax=1e-4), workdir, exe=exe)
        assert t[-1] >= 0.999 * check.t[-1], f"ngspice stopped at t = {t[-1]:g} s"
        ref = simulate("vteam", check, params=preset.model_parameters, x0=preset.model_x0, rtol=1e-9)
        i_ref = ref.frame["i"].to_numpy()
        err = np.max(np.abs(np.interp(ref.frame["t"], t, i_spice) - i_ref)) / np.max(np.abs(i_ref))
        print(f"ngspice vs memfit: max |dI| = {100 * err:.3f} % of the peak current ({len(t)} SPICE time points)")
        fig, ax = plt.subplots(figsize=(4.5, 3.4), constrained_layout=True)
        ax.plot(ref.frame["v"], i_ref * 1e3, label="memfit")
        ax.plot(v, i_spice * 1e3, "--", label="ngspice")
        ax.set(xlabel="V [V]", ylabel="I [mA]", title="exported subcircuit in ngspice")
        ax.legend()
        assert err < 0.01
    """),
    code("""
    aihwkit_json = export_preset(preset, "aihwkit")
    (OUT / "vteam-lab.aihwkit.json").write_text(aihwkit_json)
    doc = json.loads(aihwkit_json)
    print("keys:", list(doc))
    print("mapping:", doc["mapping"])
    print("noise model:", doc["noise_model"]["class"])
    print("\\nPython to build the aihwkit objects (needs `pip install aihwkit`):\\n")
    print(doc["python"][:1200], "...")
    print(f"\\nfiles in {OUT}: {sorted(p.name for p in OUT.iterdir())}")
    print(f"notebook ran in {time.perf_counter() - t_start:.1f} s")
    """),
]

# =====================================================================================
# 04: ONNX network on a crossbar, sensitivity
# =====================================================================================
NB04 = [
    md("""
    # An ONNX network on a crossbar of FTJs, and what it is sensitive to

    1. Train a small MLP (64-32-10) on scikit-learn's bundled 8×8 digits with memfit's numpy
       trainer and write it as an **ONNX** file (as any framework would).
    2. Import the ONNX file with `memfit.crossbar` and run it on crossbar tiles of the
       `ftj-balanced` preset (Lund HfZrO ferroelectric tunnel junctions) with the `baseline-ftj`
       tile configuration: accuracy just after programming, after 1 h and after 1 year of drift.
    3. A small **sensitivity sweep** (ADC resolution, weight noise) and a **per-layer sensitivity**.

    The ONNX part needs `pip install "memfit[onnx]"`; without it the notebook says so and runs the
    trained network directly.
    """),
    code("""
    import tempfile
    import time
    from pathlib import Path

    import numpy as np

    from memfit.crossbar.data import load_digits
    from memfit.crossbar.evaluate import evaluate_accuracy, layer_sensitivity, sensitivity_sweep, summarize
    from memfit.crossbar.train import mlp, train
    from memfit.plotting.crossbar import plot_accuracy_vs_time, plot_layer_sensitivity, plot_sensitivity

    t_start = time.perf_counter()
    OUT = Path(tempfile.mkdtemp(prefix="memfit-crossbar-"))
    data = load_digits()
    print(f"{len(data.x_train)} training / {len(data.x_test)} test images of {data.x_train.shape[1]} pixels")
    """),
    md("## 1. Train, then write ONNX"),
    code("""
    net = mlp((64, 32, 10), activation="relu", seed=0)
    history = train(net, data.x_train, data.y_train, epochs=30, batch_size=64, lr=3e-3, seed=0,
                    x_val=data.x_test, y_val=data.y_test)
    print(history.tail(3).to_string(index=False))
    """),
    code("""
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        onnx = None
        print('onnx is not installed (pip install "memfit[onnx]"): using the trained network directly')

    if onnx is not None:
        fc1, fc2 = net.matrix_layers()            # Dense layers: weight (out, in), bias (out,)
        inits = [numpy_helper.from_array(a.astype(np.float32), name)
                 for name, a in [("W1", fc1.weight), ("B1", fc1.bias), ("W2", fc2.weight), ("B2", fc2.bias)]]
        nodes = [helper.make_node("Gemm", ["x", "W1", "B1"], ["h1"], name="fc1", transB=1),
                 helper.make_node("Relu", ["h1"], ["a1"], name="relu1"),
                 helper.make_node("Gemm", ["a1", "W2", "B2"], ["logits"], name="fc2", transB=1),
                 helper.make_node("Softmax", ["logits"], ["y"], name="softmax", axis=1)]
        graph = helper.make_graph(
            nodes, "digits_mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 64])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])], initializer=inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="notebook")
        onnx.checker.check_model(model)
        onnx_path = OUT / "digits_mlp.onnx"
        onnx.save(model, str(onnx_path))
        print("wrote", onnx_path, f"({onnx_path.stat().st_size} bytes)")
    """),
    md("""
    ## 2. Import it and run it on FTJ crossbars

    `load_network` accepts an `.onnx` file (also `.npz` weight files and `builtin:digits-mlp`).  The
    imported network's digital forward pass matches the trained one to float32 rounding.
    """),
    code("""
    from memfit.crossbar.network import load_network

    network = load_network(onnx_path) if onnx is not None else net
    print(network)
    pred = network.forward(data.x_test).argmax(axis=1)
    same = np.mean(pred == net.forward(data.x_test).argmax(axis=1))
    print(f"floating-point accuracy: {100 * np.mean(pred == data.y_test):.2f} %; "
          f"same class as the trained numpy network for {100 * same:.1f} % of the test images")
    assert same == 1.0
    """),
    code("""
    TIMES = [0.0, 3600.0, 3.15e7]          # [s] read times after programming: 0, 1 h, 1 year
    acc = evaluate_accuracy(network, data.x_test, data.y_test, device="ftj-balanced", config="baseline-ftj",
                            times=TIMES, repeats=3, seed=0, progress=False)
    summary = summarize(acc)
    print(summary[["time", "accuracy_mean", "accuracy_sem", "normalized_accuracy_mean"]].to_string(index=False))
    plot_accuracy_vs_time(acc, title="digits MLP on ftj-balanced (baseline-ftj)");
    """),
    md("""
    ## 3. Sensitivity

    `sensitivity_sweep` changes one field of the tile configuration at a time (every other field
    keeps its `baseline-ftj` value) and re-runs the Monte Carlo.  Here a reduced sweep: ADC bits and
    the relative weight (programming) noise.
    """),
    code("""
    sweep = sensitivity_sweep(network, data.x_test, data.y_test, device="ftj-balanced", config="baseline-ftj",
                              sweeps={"adc_bits": [3, 4, 6, 8], "w_noise": [0.0, 0.1, 0.2, 0.4]},
                              repeats=2, seed=0, progress=False)
    s = summarize(sweep, by=["field", "value"])
    print(s[["field", "value", "accuracy_mean", "accuracy_sem"]].to_string(index=False))
    acc_of = s.set_index(["field", "value"])["accuracy_mean"]
    assert acc_of["adc_bits", 3] < acc_of["adc_bits", 8] - 0.1      # a 3-bit ADC costs accuracy
    assert acc_of["w_noise", 0.4] < acc_of["w_noise", 0.0] - 0.2    # so does 40 % programming noise
    plot_sensitivity(sweep);
    """),
    md("""
    `layer_sensitivity` moves one layer at a time to another tile configuration, here a much
    noisier one (output noise 40 %), with the same random seeds: the layer whose move costs the most
    accuracy is the most sensitive, the one to keep on the best tiles (or in digital).
    """),
    code("""
    from memfit.crossbar.config import get_config

    noisy = get_config("baseline-ftj").replace(out_noise=0.4)
    layers = layer_sensitivity(network, data.x_test, data.y_test, device="ftj-balanced", config="baseline-ftj",
                               layer_config=noisy, repeats=3, seed=0, progress=False)
    print(layers[["layer", "accuracy", "sem", "delta", "rank"]].to_string(index=False))
    plot_layer_sensitivity(layers);
    print(f"notebook ran in {time.perf_counter() - t_start:.1f} s")
    """),
]

# =====================================================================================
# 05: device gallery
# =====================================================================================
NB05 = [
    md("""
    # The seed devices

    memfit's models of the lab's devices, each simulated in its characteristic experiment:

    | device | model (alias) | reference |
    |---|---|---|
    | NbOx analog memristor | `schroedter2022` (`nbox`) | Schroedter et al., IEEE MOCAST 2022, doi:10.1109/MOCAST54814.2022.9837726 |
    | VO2 locally active memristor | `vo2_demirkol2022` (`vo2`) | Demirkol et al., JJAP 61, SM0807 (2022), doi:10.35848/1347-4065/ac8489 |
    | HfZrO ferroelectric tunnel junction | `ftj_athle2023` (`ftj`) | Athle & Borg, IEEE TED 70(3), 1412 (2023) |
    | memcapacitor | `biolek2013_memcapacitor` (`memcapacitor`) | Biolek, Di Ventra, Pershin, Radioengineering 22(4), 945 (2013) |
    | meminductor | `biolek2013_meminductor` (`meminductor`) | same |

    `memfit models NAME --equations` prints each model's equations.
    """),
    code("""
    import time

    import matplotlib.pyplot as plt
    import numpy as np

    from memfit.models import get_model
    from memfit.simulate import TestCircuit, hold, pulse_train, simulate, sine_sweep, triangle_sweep

    t_start = time.perf_counter()
    """),
    md("""
    ## NbOx: analog switching

    A slow ±3 V triangle (0.02 Hz): the state `x` (filament) grows on the positive branch and shrinks
    on the negative one, giving the pinched hysteresis loop.
    """),
    code("""
    nbox = simulate("nbox", triangle_sweep(vmax=3.0, frequency=0.02, cycles=1, points_per_cycle=400))
    f = nbox.frame
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), constrained_layout=True)
    axes[0].semilogy(f["v"], np.abs(f["i"]))
    axes[0].set(xlabel="V [V]", ylabel="|I| [A]", title="NbOx I-V (0.02 Hz)")
    axes[1].plot(f["t"], f["x"])
    axes[1].set(xlabel="t [s]", ylabel="state x", title="state")
    print(f"x from {f['x'].min():.3f} to {f['x'].max():.3f}")
    """),
    md("""
    ## VO2: the Pearson-Anson oscillator

    A VO2 device is locally active (negative differential resistance while it heats through the
    insulator-metal transition).  With a 12 kΩ series resistor, a 145 pF capacitor across the device
    (`TestCircuit(series_resistance=..., parallel_capacitance=...)`) and a DC source of 12 V, it
    oscillates at about 330 kHz.
    """),
    code("""
    cell = TestCircuit(series_resistance=12e3, parallel_capacitance=145e-12)
    osc = simulate("vo2", hold(12.0, 50e-6, points=2500), circuit=cell)
    f = osc.frame
    t, i_dev = f["t"].to_numpy(), f["i_dev"].to_numpy()
    late = t > 15e-6                                 # after the start-up transient
    d = i_dev[late] - i_dev[late].mean()
    rising = np.flatnonzero((d[:-1] < 0) & (d[1:] >= 0))
    freq = (rising.size - 1) / (t[late][rising[-1]] - t[late][rising[0]])
    print(f"oscillation frequency {freq / 1e3:.0f} kHz, device current {1e3 * i_dev[late].min():.2f}"
          f" .. {1e3 * i_dev[late].max():.2f} mA, temperature {f['T'][late].min():.0f} .. {f['T'][late].max():.0f} K")
    assert 300e3 < freq < 360e3

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), constrained_layout=True)
    axes[0].plot(t * 1e6, i_dev * 1e3)
    axes[0].set(xlabel="t [µs]", ylabel="device current [mA]", title="VO2 relaxation oscillator, 12 V")
    axes[1].plot(f["v_dev"][late], i_dev[late] * 1e3)
    axes[1].set(xlabel="device voltage [V]", ylabel="device current [mA]", title="limit cycle");
    """),
    md("""
    ## FTJ: multilevel programming and drift

    The FTJ model switches its polarization in 20 bins with Merz-law rates, so pulses of growing
    amplitude from the OFF state program intermediate levels; the conductance read at 0.3 V then
    drifts with a state-dependent power law `G(t) = G(t0) (t/t0)^-ν(G)`.  Each level: one 1 µs
    pulse, then reads for 10⁷ s (about four months).
    """),
    code("""
    ftj = get_model("ftj")
    p = ftj.defaults()
    print(f"read voltage {p['V_read']} V; G_off = {p['G_off']:.3g} S, G_on = {p['G_on']:.3g} S")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), constrained_layout=True)
    g_start = []
    for amp in (0.9, 1.1, 1.3, 1.5, 1.8):
        run = simulate("ftj", pulse_train([amp], width=1e-6, read_v=0.3)
                       + hold(0.3, 1e7, points=40, log=True, role="read"))
        r = run.frame[run.frame["role"] == "read"]
        g = (r["i"] / r["v"]).to_numpy()
        t_after = r["t"].to_numpy() - r["t"].iloc[0] + 1.0
        axes[1].loglog(t_after, g * 1e9, label=f"{amp} V")
        g_start.append(g[0])
    axes[0].plot([0.9, 1.1, 1.3, 1.5, 1.8], np.array(g_start) * 1e9, "o-")
    axes[0].set(xlabel="pulse amplitude [V] (1 µs, from OFF)", ylabel="G read [nS]", title="FTJ levels")
    axes[1].set(xlabel="time after programming + 1 s [s]", ylabel="G read [nS]", title="drift")
    axes[1].legend(fontsize=8)
    assert np.all(np.diff(g_start) > 0)
    """),
    md("""
    And a potentiation/depression train: ten +1.2 V pulses raise the conductance step by step
    (accumulated partial switching), ten −2 V pulses bring it back down.
    """),
    code("""
    run = simulate("ftj", pulse_train([1.2] * 10 + [-2.0] * 10, width=1e-6, read_v=0.3))
    r = run.frame[run.frame["role"] == "read"]
    fig, ax = plt.subplots(figsize=(5, 3.4), constrained_layout=True)
    ax.plot(np.arange(len(r)), (r["i"] / r["v"]) * 1e9, "o-")
    ax.set(xlabel="read after pulse", ylabel="G read [nS]", title="FTJ pulse train");
    """),
    md("""
    ## Memcapacitor and meminductor

    Mem-capacitive and mem-inductive systems have pinched loops in charge-voltage and flux-current:
    the memcapacitor's `q(v)` port under a 4 V, 100 kHz sine (threshold 3 V), the meminductor's
    `φ(i)` port under a 12 µA, 50 kHz sine current (threshold 10 µA).
    """),
    code("""
    mc = simulate("memcapacitor", sine_sweep(amplitude=4.0, frequency=100e3, cycles=2, points_per_cycle=400))
    ml = simulate("meminductor", sine_sweep(amplitude=12e-6, frequency=50e3, cycles=2, points_per_cycle=400,
                                            mode="current"))
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), constrained_layout=True)
    axes[0].plot(mc.frame["v"], mc.frame["q"] * 1e12)
    axes[0].set(xlabel="V [V]", ylabel="q [pC]", title="memcapacitor q-v")
    axes[1].plot(ml.frame["i"] * 1e6, ml.frame["phi"] * 1e9)
    axes[1].set(xlabel="I [µA]", ylabel="φ [nWb]", title="meminductor φ-i")
    axes[2].plot(mc.frame["t"] * 1e6, mc.frame["x"] * 1e12, label="C [pF]")
    axes[2].plot(ml.frame["t"] * 1e6, ml.frame["x"] * 1e6, label="L [µH]")
    axes[2].set(xlabel="t [µs]", title="memory state")
    axes[2].legend()
    print(f"C swings {mc.frame['x'].min() * 1e12:.1f} .. {mc.frame['x'].max() * 1e12:.1f} pF, "
          f"L swings {ml.frame['x'].min() * 1e6:.1f} .. {ml.frame['x'].max() * 1e6:.1f} uH")
    print(f"notebook ran in {time.perf_counter() - t_start:.1f} s")
    """),
]

NOTEBOOKS = {
    "01_fit_iv_pulse_drift.ipynb": NB01,
    "02_characterize_simulated_smu.ipynb": NB02,
    "03_population_to_preset_export.ipynb": NB03,
    "04_crossbar_onnx_sensitivity.ipynb": NB04,
    "05_device_gallery.ipynb": NB05,
}

METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def _cell_ids(nb, stem: str) -> None:
    """Deterministic cell ids (nbformat 4.5), so regenerating gives identical files."""
    for k, cell in enumerate(nb.cells):
        cell["id"] = f"{stem[:2]}-{k:02d}"


def build_notebook(name: str):
    """The notebook ``name`` (a key of :data:`NOTEBOOKS`) as an nbformat node, without outputs."""
    nb = new_notebook(cells=[dict(c) for c in NOTEBOOKS[name]], metadata=METADATA)
    nb = nbformat.from_dict(nb)
    _cell_ids(nb, name)
    nbformat.validate(nb)
    return nb


def render(name: str) -> str:
    """The JSON text of notebook ``name`` as written to disk."""
    return nbformat.writes(build_notebook(name)) + "\n"


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in argv
    stale = []
    for name in NOTEBOOKS:
        path = HERE / name
        text = render(name)
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print("wrote", path)
    if stale:
        print("out of date with notebooks/_build.py (run `python notebooks/_build.py`):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
