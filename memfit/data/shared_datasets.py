"""Loaders for the real measured data sets of the project's shared folder (``../shared/datasets``).

The files are *not* part of memfit (their licences range from MIT to GPL-3
and CC BY-NC-SA); they are read in place.  The folder is found from, in
order: the ``root`` argument, the environment variable
``MEMFIT_SHARED_DATASETS``, ``<repository>/../shared/datasets``.

One loader per data set (per file type, where a data set has several), each
returning the matching Measurement type in SI units with the provenance from
the data set's ``SOURCE.md`` (``source``, ``license``, ``citation``,
``doi``) in ``meta``:

==================================  ====================  =========================================================
loader                              type                  columns (SI)
==================================  ====================  =========================================================
:func:`knowm_sdc_hysteresis`        IVSweep               t, v (across Rs + memristor), i, v_dev (memristor)
:func:`vo2_isweep`                  IVSweep (I forced)    t (synthetic), v, i
:func:`ferro_hfo2_loop`             Measurement           t, v, i, polarization [C/m^2] (+ the other channels)
                                    (kind "pv_loop")
:func:`ferro_hfo2_leakage`          IVSweep               t (synthetic, 2 s steps), v, i (= j x area), j, j_median
:func:`ember_set_sweep`             Measurement           cell, width, v_gate, v_write, r_before, r_after,
                                    (kind "set_sweep")    g_before, g_after
:func:`aihwkit_gong2018`            PulseTrain            t (synthetic), role, pulse, direction, g_read (normalised)
:func:`crosssim_pulse_ramps`        PulseTrain            t (synthetic), role, pulse, cycle, direction, v, i, g_read
:func:`yflash_cycle_to_cycle`       PulseTrain            t (synthetic), role, pulse, cycle, direction, v, i, g_read,
                                                          v_write, width
:func:`yflash_device_to_device`     PulseTrain            as above with cell instead of cycle
:func:`stanford_relaxation`         Retention             cell, t, g_read, g0, level, timept
:func:`stanford_bake`               Retention             cell, t, g_read, bake_temperature
:func:`stanford_read_noise`         Retention             cell, level, t, g_read
:func:`crosssim_enode_lut`          Measurement           direction, quantile, g, dg
                                    (kind "dg_lookup_table")
==================================  ====================  =========================================================

Time axes marked *synthetic* (``meta["synthetic_time"]`` says how) stand in
where the source records only the order of samples.  MNIST (also in the
shared folder) is not a device measurement and has no loader here.

>>> from memfit.data import shared_datasets as sd
>>> sd.available()                                       # doctest: +SKIP
>>> m = sd.knowm_sdc_hysteresis("47kohm_0.8V_1Hz_M1")     # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from memfit.data.io import read_easyexpert, read_table
from memfit.data.measurement import IVSweep, Measurement, PulseTrain, Retention
from memfit.errors import MeasurementError

__all__ = [
    "ENV_VAR",
    "DATASETS",
    "root_dir",
    "available",
    "info",
    "load",
    "knowm_sdc_hysteresis",
    "knowm_sdc_runs",
    "vo2_isweep",
    "ferro_hfo2_loop",
    "ferro_hfo2_leakage",
    "ferro_hfo2_files",
    "ember_set_sweep",
    "aihwkit_gong2018",
    "crosssim_pulse_ramps",
    "crosssim_enode_lut",
    "yflash_cycle_to_cycle",
    "yflash_device_to_device",
    "stanford_relaxation",
    "stanford_bake",
    "stanford_read_noise",
]

#: Environment variable naming the shared datasets folder.
ENV_VAR = "MEMFIT_SHARED_DATASETS"

#: Provenance of each data set, as stated in its SOURCE.md.
DATASETS: dict[str, dict] = {
    "knowm_sdc_hysteresis": {
        "source": "GitHub knowm/memristor-discovery, data/ (commit 9e01a9b7103545fa5fecabcaada6bac462c3ecda)",
        "license": "GPL-3.0",
        "citation": "Knowm Memristor Discovery from Knowm Inc (attribution requested by the data README)",
        "doi": "",
        "device_type": "Knowm W-SDC memristor (Ag-chalcogenide self-directed channel)",
    },
    "vo2_pku_isweep": {
        "source": "GitHub 3YanghaoW/NCS_Memristive-oscillator-at-the-edge-of-chaos, '30 1.5m.csv' "
                  "(commit f94c9c30dd4e233b3546786123c0abe766db974b)",
        "license": "MIT",
        "citation": "Y. Wang, P. J. Tiw, Y. Liu, Y. Tao, T. Zhang, Y. Yang, 'Local active memristive oscillator "
                    "enables controllable complex behaviours and frequency domain extraction', National Science "
                    "Review (2025)",
        "doi": "10.1093/nsr/nwaf546",
        "device_type": "VO2 Mott threshold switch",
    },
    "ferro_rit_hfo2_mfm": {
        "source": "GitHub JAnderson419/Ferro, tests/testData/hfo2_MFM/ "
                  "(commit d8478ddb634343de11cdbba1f1d15f5dcf175ce9)",
        "license": "CC BY-NC-SA 4.0",
        "citation": "J. Anderson, 'Measurement of Ferroelectric Films in MFM and MFIS Structures', RIT MSc thesis "
                    "(2018); Ferro development team, Rochester Institute of Technology",
        "doi": "",
        "device_type": "metal / ferroelectric HfO2 (13 nm) / metal capacitor",
    },
    "ember_rram_set_sweep": {
        "source": "GitHub akashlevy/ember-python, data/sweep/set_sweep.sapiens.tsv (commit "
                  "d9c00afdc6cfcf9562dcf9bf5976a6d1b6840e0a), subset PW = 20 ns and 2 us",
        "license": "MIT",
        "citation": "akashlevy/ember-python, Copyright (c) 2023 Akash Levy; likely paper: A. Levy et al., EMBER "
                    "(Stanford, ESSCIRC 2023), not cited by the repository",
        "doi": "",
        "device_type": "1T1R RRAM, 40 nm CMOS foundry process",
    },
    "aihwkit_gong2018_reram_pulse": {
        "source": "GitHub IBM/aihwkit, examples/csv/gong_et_al.csv (blob 0b98ead2924a0bdc1400e440ac587b8984b2e669)",
        "license": "MIT",
        "citation": "N. Gong, T. Ide, S. Kim, I. Boybat, A. Sebastian, V. Narayanan, T. Ando, 'Signal and noise "
                    "extraction from analog memory elements for neuromorphic computing', Nature Communications 9, "
                    "2102 (2018)",
        "doi": "10.1038/s41467-018-04485-1",
        "device_type": "IBM HfO2-based ReRAM",
    },
    "crosssim_example_pulse_ramps": {
        "source": "GitHub sandialabs/cross-sim, examples/lookup_table_generation/lookup_table_example/{set,reset}.csv "
                  "(commit 39fd461b7d214831ff7deb00f8d8656686f754c4)",
        "license": "BSD-3-Clause",
        "citation": "Sandia National Laboratories, CrossSim (Copyright 2017 Sandia Corporation)",
        "doi": "",
        "device_type": "not identified by the source (likely Sandia TaOx ReRAM)",
    },
    "crosssim_enode_lut": {
        "source": "GitHub sandialabs/cross-sim-data, lookup_tables/ENODe/dG_{increasing,decreasing}.txt "
                  "(commit 2ebec1f27cf1c7c05c7a779b42e16036a765023f)",
        "license": "BSD-3-Clause",
        "citation": "van de Burgt, ..., Talin, Salleo, Nature Materials 16, 414 (2017) (ENODe device); CrossSim lookup "
                    "tables, Copyright (c) 2022, Sandia National Laboratories",
        "doi": "",
        "device_type": "ENODe (PEDOT:PSS electrochemical synapse)",
    },
    "yflash_technion_c2c_d2d": {
        "source": "GitHub wangweifcc/memristive_dbn_yflash (commit fa79ffd5f75a54d72903fbcf746a20bae3d559b5)",
        "license": "CC BY-NC-SA 4.0",
        "citation": "W. Wang et al., 'A memristive deep belief neural network based on silicon synapses', Nature "
                    "Electronics 5, 870 (2022)",
        "doi": "10.1038/s41928-022-00878-9",
        "device_type": "Y-Flash two-terminal floating-gate memristor (180 nm CMOS)",
    },
    "stanford_rram_relaxation": {
        "source": "GitHub akashlevy/RRAM-Relaxation-Master-Model (commit ca0cfff655a7392dc8955585f7345303b3cffde8), "
                  "subsets",
        "license": "MIT",
        "citation": "A. Levy, H.-S. P. Wong group (Stanford), RRAM relaxation experimental data; Copyright (c) 2021 "
                    "Akash Levy",
        "doi": "",
        "device_type": "1T1R filamentary oxide RRAM, anonymised technologies A, B, C",
    },
}

#: Full-scale conductance [S] and time-series sample rate [Hz] of the Stanford technologies (settings.json).
_STANFORD = {"A": (240e-6, 400.0), "B": (128e-6, 300e3), "C": (40e-6, 400.0)}


def _repo_default() -> Path:
    return Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def root_dir(root: str | Path | None = None) -> Path:
    """The shared datasets folder: ``root``, else ``$MEMFIT_SHARED_DATASETS``, else ``<repo>/../shared/datasets``.

    Raises
    ------
    MeasurementError
        If the folder does not exist (the message says how to point memfit at it).
    """
    if root is not None:
        p, how = Path(root), "the root argument"
    elif os.environ.get(ENV_VAR):
        p, how = Path(os.environ[ENV_VAR]), f"${ENV_VAR}"
    else:
        p, how = _repo_default(), "the default <repository>/../shared/datasets"
    if not p.is_dir():
        raise MeasurementError(
            f"shared datasets folder {p} (from {how}) does not exist; pass root= or set {ENV_VAR} to the folder "
            "that holds knowm_sdc_hysteresis/, vo2_pku_isweep/, ..."
        )
    return p


def available(root: str | Path | None = None) -> list[str]:
    """Names of the known data sets present under the shared folder ([] when the folder is absent)."""
    try:
        r = root_dir(root)
    except MeasurementError:
        return []
    return [name for name in DATASETS if (r / name).is_dir()]


def info(name: str) -> dict:
    """Provenance of a data set (source, license, citation, doi, device_type)."""
    if name not in DATASETS:
        raise MeasurementError(f"unknown shared data set {name!r}; known: {sorted(DATASETS)}")
    return dict(DATASETS[name])


def _folder(name: str, root) -> Path:
    d = root_dir(root) / name
    if not d.is_dir():
        raise MeasurementError(f"data set folder {d} is missing (looked under {root_dir(root)})")
    return d


def _file(folder: Path, rel: str) -> Path:
    p = folder / rel
    if not p.is_file():
        raise MeasurementError(f"{p}: no such file in the data set folder {folder}")
    return p


def _meta(name: str, folder: Path, **extra) -> dict:
    m = {"dataset": name, **DATASETS[name], "source_md": str(folder / "SOURCE.md")}
    m.update(extra)
    return m


# ---------------------------------------------------------------------------
# I-V sweeps
# ---------------------------------------------------------------------------
_KNOWM_RUN = re.compile(r"^(?P<rs>\d+)kohm_(?P<amp>[\d.]+)V_(?P<f>[\d.]+)Hz_(?P<dev>M\d+)$")


def knowm_sdc_runs(root: str | Path | None = None) -> list[str]:
    """Run names of the Knowm hysteresis set, e.g. ``"47kohm_0.8V_1Hz_M1"``."""
    d = _folder("knowm_sdc_hysteresis", root)
    return sorted(p.name for p in d.glob("*/*") if p.is_dir() and _KNOWM_RUN.match(p.name))


def knowm_sdc_hysteresis(run: str = "47kohm_0.8V_1Hz_M1", root: str | Path | None = None) -> IVSweep:
    """One Knowm W-SDC sinusoidal I-V loop (one period, 200 samples) with its series resistor.

    Columns: ``t`` [s] (t_k = k / (200 f), the capture spans exactly one
    period), ``v`` [V] applied across series resistor + memristor, ``i`` [A]
    (the files give µA), ``v_dev`` [V] across the memristor.  ``meta``:
    ``series_resistance`` (47 kOhm or 5 kOhm), ``amplitude`` [V],
    ``frequency`` [Hz], ``device`` (M1..M3).  Fit with the series resistor in
    the test circuit (:func:`memfit.data.test_circuit` reads it from meta).
    """
    m = _KNOWM_RUN.match(run)
    if not m:
        raise MeasurementError(f"Knowm run names look like '47kohm_0.8V_1Hz_M1', got {run!r}")
    d = _folder("knowm_sdc_hysteresis", root)
    rdir = d / f"{m.group('rs')}kohm" / run
    if not rdir.is_dir():
        raise MeasurementError(f"{rdir}: no such run; available: {knowm_sdc_runs(root)}")
    f = float(m.group("f"))
    rs = float(m.group("rs")) * 1e3
    total = read_table(_file(rdir, "Resistor_plus_Memristor.csv"), columns={"v": 0, "i": 1}, units={"i": "uA"},
                       header=False, kind="measurement", dt=1.0 / (200 * f))
    mem = read_table(_file(rdir, "Memristor.csv"), columns={"v_dev": 0, "i": 1}, units={"i": "uA"}, header=False,
                     kind="measurement", dt=1.0 / (200 * f))
    if len(total) != len(mem) or not np.array_equal(total["i"].to_numpy(), mem["i"].to_numpy()):
        raise MeasurementError(f"{rdir}: the two files of the run disagree in length or current")
    frame = pd.DataFrame({"t": total["t"], "v": total["v"], "i": total["i"], "v_dev": mem["v_dev"]})
    meta = _meta(
        "knowm_sdc_hysteresis", d,
        device=m.group("dev"),
        run=run,
        series_resistance=rs,
        amplitude=float(m.group("amp")),
        frequency=f,
        source_mode="voltage",
        instrument="Knowm Memristor Discovery Board V2 + Digilent Analog Discovery 2",
        routine={"name": "hysteresis", "waveform": "sine", "samples_per_period": 200},
        time_axis="t_k = k / (200 f): one capture is exactly one period of 200 samples; start phase arbitrary",
        files=[str(rdir / "Resistor_plus_Memristor.csv"), str(rdir / "Memristor.csv")],
    )
    return IVSweep(frame, meta, source=str(rdir))


def vo2_isweep(root: str | Path | None = None, dt: float = 0.1) -> IVSweep:
    """VO2 current-forced static I-V sweep 0 -> 1.5 mA -> 0 (Keysight B1500A export, 30 °C).

    Read from the original EasyEXPERT file (``..._B1500A_raw.csv``).  Columns
    ``t`` [s], ``v`` [V] (measured), ``i`` [A] (forced); ``meta["source_mode"]
    = "current"``, ``voltage_compliance`` = 20 V, ``temperature`` = 303.15 K,
    the instrument settings in ``meta["instrument"]``.  The instrument
    recorded no time stamps (hold 0 s, delay 0 s, HR ADC): ``t`` is the step
    index times ``dt`` [s], a quasi-static axis (``meta["synthetic_time"]``).
    The B1500's derived column R = V/I is dropped.
    """
    d = _folder("vo2_pku_isweep", root)
    path = _file(d, "vo2_30C_isweep_0-1.5mA_B1500A_raw.csv")
    m = read_easyexpert(path, columns={"i": "I3", "v": "V3"}, kind="iv", dt=dt, extra="drop")
    params = m.meta["instrument"]["parameters"]
    vcomp = float(params.get("Measurement.Primary.Compliance", 20))
    meta = dict(m.meta)
    meta.update(_meta(
        "vo2_pku_isweep", d,
        device="VO2 (PKU, Yang group)",
        source_mode="current",
        voltage_compliance=vcomp,
        temperature=303.15,
        routine={"name": "I/V sweep", "locus": "double", "start": 0.0, "stop": 1.5e-3,
                 "step": float(params.get("Measurement.Primary.Step", 1.5e-5))},
    ))
    meta["synthetic_time"] = f"t = step index x {dt:g} s (no time stamps recorded; quasi-static sweep)"
    return IVSweep(m.frame, meta, source=str(path))


# ---------------------------------------------------------------------------
# ferroelectric HfO2
# ---------------------------------------------------------------------------
_FERRO_AREA = 6579e-12  # m^2 (6579 µm^2, bin/hfo2_mfm.py)
_FERRO_THICKNESS = 13e-9  # m
_FERRO_NAME = re.compile(r"(?:_(?P<temp>\d+)C)?_(?:(?P<f>\d+)Hz_(?P<amp>[\d.]+)V|2s-step)_Table(?P<table>\d+)$")


def ferro_hfo2_files(root: str | Path | None = None) -> list[str]:
    """Files of the ferroelectric set as ``"<folder>/<name>"`` without suffix.

    E.g. ``"freq/H9_die9-4_100Hz_4V_Table21"``.
    """
    d = _folder("ferro_rit_hfo2_mfm", root)
    return sorted(str(p.relative_to(d).with_suffix("")) for p in d.glob("*/*.tsv"))


def _ferro_conditions(name: str) -> dict:
    m = _FERRO_NAME.search(name)
    out: dict = {}
    if m and m.group("temp"):
        out["temperature"] = float(m.group("temp")) + 273.15
    if m and m.group("f"):
        out["frequency"] = float(m.group("f"))
        out["amplitude"] = float(m.group("amp"))
    return out


def ferro_hfo2_loop(name: str = "freq/H9_die9-4_100Hz_4V_Table21", root: str | Path | None = None) -> Measurement:
    """One P-V loop (or the FORC run) of the HfO2 MFM capacitor (Radiant tester export).

    A generic :class:`Measurement` with ``meta["kind"] = "pv_loop"`` (``"forc"``
    for the FORC file): it has ``t``, ``v``, ``i`` like an I-V sweep, but the
    current is the ferroelectric displacement current and the quantity of
    interest is ``polarization`` [C/m^2] (the file's P1 in µC/cm^2, x 0.01).
    Columns: ``t`` [s], ``v`` [V] (Vplus, applied), ``i`` [A] (I1),
    ``polarization`` (P1); the tester's other channels are kept as ``Vminus``
    [V], ``I2``, ``I3`` [A], ``P2``, ``P3`` [C/m^2] (copies/unused per SOURCE.md).
    ``meta``: ``area`` 6.579e-9 m^2, ``thickness`` 13 nm, ``temperature`` [K]
    (from the file name where given), ``frequency`` [Hz], ``amplitude`` [V].
    """
    d = _folder("ferro_rit_hfo2_mfm", root)
    path = _file(d, name if name.endswith(".tsv") else name + ".tsv")
    if "leakage" in path.parent.name:
        raise MeasurementError(f"{path} is a leakage file; use ferro_hfo2_leakage()")
    m = read_table(path, columns={"t": "Time s", "v": "Vplus V", "i": "I1 A", "polarization": "P1 uC_per_cm2"},
                   delimiter="\t", kind="measurement")
    meta = dict(m.meta)
    meta.update(_meta("ferro_rit_hfo2_mfm", d, kind="forc" if path.parent.name == "forc" and "0Hz" in path.name
                      else "pv_loop", device="H9 die (9,4)", stack="metal / HfO2 (ferroelectric) / metal",
                      area=_FERRO_AREA, thickness=_FERRO_THICKNESS, source_mode="voltage",
                      instrument="Radiant Technologies Precision tester (Vision export)",
                      **_ferro_conditions(path.stem)))
    return Measurement(m.frame, meta, source=str(path))


def ferro_hfo2_leakage(name: str = "temps_leakage/H9_die9-4_S3_31C_2s-step_Table1",
                       root: str | Path | None = None) -> IVSweep:
    """DC leakage I-V of the HfO2 capacitor at one temperature (2 s per voltage step).

    Columns: ``t`` [s] (step index x 2 s, synthetic), ``v`` [V], ``j`` [A/m^2]
    (leakage current density; file: µA/cm^2, x 0.01), ``j_median`` [A/m^2],
    ``i`` [A] = ``j`` x area.  ``meta["temperature"]`` [K] from the file name.
    """
    d = _folder("ferro_rit_hfo2_mfm", root)
    if "/" not in name:
        name = "temps_leakage/" + name
    path = _file(d, name if name.endswith(".tsv") else name + ".tsv")
    m = read_table(path, columns={"v": "Voltage V", "j": "Leakage Current Density uA_per_cm2",
                                  "j_median": "Median Current Density uA_per_cm2"},
                   delimiter="\t", kind="measurement", dt=2.0)
    frame = m.frame[["t", "v"]].copy()
    frame["i"] = m.frame["j"].to_numpy() * _FERRO_AREA
    frame["j"] = m.frame["j"]
    frame["j_median"] = m.frame["j_median"]
    meta = dict(m.meta)
    meta["units"] = {**meta["units"], "i": "A", "j_median": "A/m^2"}
    meta.update(_meta("ferro_rit_hfo2_mfm", d, device="H9 die (9,4)", area=_FERRO_AREA, thickness=_FERRO_THICKNESS,
                      source_mode="voltage", **_ferro_conditions(path.stem)))
    meta["synthetic_time"] = "t = step index x 2 s (2 s DC steps; no time stamps in the file)"
    return IVSweep(frame, meta, source=str(path))


# ---------------------------------------------------------------------------
# single-pulse SET statistics
# ---------------------------------------------------------------------------
def ember_set_sweep(root: str | Path | None = None) -> Measurement:
    """EMBER 1T1R single-pulse SET sweep: one SET attempt per cell, read before and after.

    Not a waveform: a generic :class:`Measurement` with ``meta["kind"] =
    "set_sweep"``, one row per cell.  Columns: ``cell`` (address), ``width``
    [s] (pulse width, 20 ns or 2 µs), ``v_gate`` [V] (word line, sets the
    compliance through the transistor), ``v_write`` [V] (bit-line pulse
    amplitude), ``r_before``, ``r_after`` [Ohm], ``g_before``, ``g_after``
    [S] (= 1/R).  The read voltage is not recorded.
    """
    d = _folder("ember_rram_set_sweep", root)
    path = _file(d, "set_sweep_subset_20ns_2us.csv")
    m = read_table(path, columns={"cell": "addr", "width": "pulse_width_s", "v_gate": "V_WL_V", "v_write": "V_BL_V",
                                  "r_before": "R_before_ohm", "r_after": "R_after_ohm"},
                   kind="measurement", extra="drop")
    frame = m.frame.copy()
    for a, b in (("r_before", "g_before"), ("r_after", "g_after")):
        r = frame[a].to_numpy()
        if np.any(r <= 0):
            k = int(np.argmax(r <= 0))
            raise MeasurementError(f"{path}, row {k + 1}: resistance {r[k]!r} Ohm is impossible (must be > 0)")
        frame[b] = 1.0 / r
    meta = dict(m.meta)
    meta["units"] = {**meta["units"], "r_before": "Ohm", "r_after": "Ohm", "g_before": "S", "g_after": "S"}
    meta.update(_meta("ember_rram_set_sweep", d, kind="set_sweep", device="EMBER macro 'sapiens'",
                      routine={"name": "SET sweep", "grid": "V_WL 0.5..3.4 V (0.1 V), V_BL 0.5..3.0 V (0.5 V)",
                               "note": "before/after assignment of the R columns inferred in SOURCE.md"}))
    return Measurement(frame, meta, source=str(path))


# ---------------------------------------------------------------------------
# pulse trains (reads only)
# ---------------------------------------------------------------------------
def _reads_frame(g_list, labels: dict[str, list], v_read: float | None, start_pulse: int = 0,
                 g_unit_normalized: bool = False) -> pd.DataFrame:
    """Stack ramps (arrays of read conductance) into a reads-only PulseTrain frame."""
    parts = []
    for k, g in enumerate(g_list):
        n = len(g)
        part = {"pulse": np.arange(start_pulse, start_pulse + n, dtype=np.int64)}
        for key, vals in labels.items():
            part[key] = np.repeat(np.asarray([vals[k]], dtype=object if isinstance(vals[k], str) else None), n)
        if v_read is not None:
            part["v"] = np.full(n, v_read)
            part["i"] = np.asarray(g) * v_read
        part["g_read"] = np.asarray(g, dtype=np.float64)
        parts.append(pd.DataFrame(part))
    frame = pd.concat(parts, ignore_index=True)
    frame.insert(0, "t", np.arange(len(frame), dtype=np.float64))
    frame.insert(1, "role", "read")
    return frame


_READS_TIME = "t = read index x 1 s (the source records the order of the reads, not their times)"


def aihwkit_gong2018(root: str | Path | None = None) -> PulseTrain:
    """IBM ReRAM potentiation/depression: 1000 up then 1000 down pulses, normalised conductance.

    Reads-only :class:`PulseTrain`: ``t`` (synthetic), ``role`` = read,
    ``direction`` ("up", then "down"), ``pulse`` (1..1000 within each
    direction: the read after that pulse), ``g_read`` *normalised*
    (dimensionless, ``meta["normalized"] = True``, unit "1").  No read
    voltage or pulse conditions are given by the source, so there are no
    ``v``/``i`` columns and the stimulus cannot be rebuilt.
    """
    d = _folder("aihwkit_gong2018_reram_pulse", root)
    path = _file(d, "gong_et_al.csv")
    m = read_table(path, columns={"g_up": 0, "g_down": 1}, header=False, kind="measurement", extra="drop")
    frame = _reads_frame([m["g_up"].to_numpy(), m["g_down"].to_numpy()], {"direction": ["up", "down"]}, None,
                         start_pulse=1)
    meta = dict(m.meta)
    meta.update(_meta("aihwkit_gong2018_reram_pulse", d, normalized=True, device="IBM HfO2 ReRAM (Gong 2018)",
                      synthetic_time=_READS_TIME,
                      note="values quantised to multiples of 1/90; aihwkit rescales to [-1, 1] with g_min = max(min "
                           "up, min down), g_max = min(max up, max down)"))
    meta["units"] = {"g_read": "1"}
    return PulseTrain(frame, meta, source=str(path))


def _ragged_columns(m: Measurement, path) -> list[np.ndarray]:
    """Columns of a NaN-padded table, each without its padding; a gap inside a column is an error."""
    out = []
    for col in m.columns:
        x = m.frame[col].to_numpy(dtype=np.float64)
        ok = np.isfinite(x)
        n = int(ok.sum())
        if not ok[:n].all():
            k = int(np.argmin(ok[:n]))
            raise MeasurementError(f"{path}, column {col!r}, data row {k + 1}: empty cell inside the ramp "
                                   "(only trailing cells may be empty)")
        out.append(x[:n])
    return out


def crosssim_pulse_ramps(which: str = "set", root: str | Path | None = None) -> PulseTrain:
    """Sandia CrossSim example: repeated identical-pulse SET or RESET ramps (read currents).

    Reads-only :class:`PulseTrain`, one row per read: ``cycle`` (ramp number
    1..39 for SET, 1..40 for RESET, from the ``rmp<k>`` columns), ``pulse``
    (pulses applied in the ramp; row 0 is the read before the first),
    ``direction`` ("up" for SET, "down" for RESET), ``v`` = 0.1 V (the read
    voltage assumed by CrossSim's ``create_lookup_table.py``), ``i`` [A]
    (measured), ``g_read`` = i / 0.1 V [S].  Pulse amplitude and width are not
    recorded: pass them to :func:`memfit.data.to_stimulus`.
    """
    if which not in ("set", "reset"):
        raise MeasurementError(f"which must be 'set' or 'reset', got {which!r}")
    d = _folder("crosssim_example_pulse_ramps", root)
    path = _file(d, f"{which}.csv")
    m = read_table(path, kind="measurement", allow_missing=True, units=None)
    ramps = _ragged_columns(m, path)
    names = m.columns
    cycles = [int(re.sub(r"\D", "", c) or k + 1) for k, c in enumerate(names)]
    v_read = 0.1
    frame = _reads_frame([r / v_read for r in ramps], {"cycle": cycles,
                                                        "direction": ["up" if which == "set" else "down"] * len(ramps)},
                         v_read)
    frame["i"] = np.concatenate(ramps)  # exactly the measured values
    meta = dict(m.meta)
    meta["units"] = {"v": "V", "i": "A", "g_read": "S"}
    meta.update(_meta("crosssim_example_pulse_ramps", d, read_voltage=v_read, synthetic_time=_READS_TIME,
                      write_pulse={"note": "identical pulses within a ramp; amplitude and width not recorded"},
                      note="read voltage 0.1 V is the value assumed by CrossSim's create_lookup_table.py"))
    return PulseTrain(frame, meta, source=str(path))


def _yflash_values(path: Path, no: int, text: str) -> np.ndarray:
    vals = []
    for tok in text.split(","):
        tok = tok.strip()
        if not tok:
            continue
        try:
            x = float(tok)
        except ValueError:
            raise MeasurementError(f"{path}, line {no}: {tok!r} is not a number (conductance in S expected)") from None
        if not np.isfinite(x) or x <= 0:
            raise MeasurementError(f"{path}, line {no}: conductance {tok!r} must be a finite number > 0 S")
        vals.append(x)
    if not vals:
        raise MeasurementError(f"{path}, line {no}: the ramp holds no values")
    return np.array(vals)


#: Y-Flash pulse conditions (SOURCE.md / the repository's model scripts): program lowers G, erase raises it.
_YFLASH = {"down": {"amplitude": -5.0, "name": "program"}, "up": {"amplitude": 8.0, "name": "erase"}}
_YFLASH_READ = 2.0
_YFLASH_NOTE = ("program 5 V / 200 us lowers G (hot-electron injection), erase 8 V / 100 us raises it (tunnelling); "
                "the amplitudes come from the repository's model scripts, the widths from the data headers; sign "
                "convention here: + for the conductance-increasing (erase) pulse, - for program, as a two-terminal "
                "stand-in for Y-Flash's separate program/erase terminals; reads at 2 V (G = I / 2 V)")


def _yflash_frame(ramps, labels, widths):
    frame = _reads_frame(ramps, labels, _YFLASH_READ)
    frame["v_write"] = np.concatenate([np.full(len(r), _YFLASH[dr]["amplitude"])
                                       for r, dr in zip(ramps, labels["direction"])])
    frame["width"] = np.concatenate([np.full(len(r), w) for r, w in zip(ramps, widths)])
    return frame


def yflash_cycle_to_cycle(root: str | Path | None = None) -> PulseTrain:
    """Y-Flash device (U2,2,4) cycled 400 times: a program ramp (G down) then an erase ramp (G up) per cycle.

    Reads-only :class:`PulseTrain`: ``cycle`` (1..400), ``direction`` ("down"
    = program, "up" = erase), ``pulse`` (pulses applied in the ramp; row 0
    is the read before the first pulse: it repeats the previous ramp's last
    value within ~1 %), ``v`` = 2 V read, ``i`` = G x 2 V [A], ``g_read`` [S]
    (as in the file), ``v_write`` [V] and ``width`` [s] of the pulses
    (``meta["write_pulse"]["note"]`` explains the sign convention).
    """
    d = _folder("yflash_technion_c2c_d2d", root)
    path = _file(d, "data_cycle2cycle.txt")
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    if not lines or not lines[0].strip():
        raise MeasurementError(f"{path}: the file is empty")
    head = re.match(r"^\s*\((?P<dev>[^)]*)\)\s*tprog:\s*(?P<tp>[\d.eE+-]+)\s*,\s*terase:\s*(?P<te>[\d.eE+-]+)",
                    lines[0])
    if not head:
        raise MeasurementError(f"{path}, line 1: expected '(U2,2,4) tprog: <s>, terase: <s>', got {lines[0]!r}")
    width = {"down": float(head.group("tp")), "up": float(head.group("te"))}
    ramps, dirs, cycles, widths = [], [], [], []
    cycle = 0
    for no, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        label, _, rest = line.partition(",")
        label = label.strip()
        if label not in ("Gprog", "Gerase"):
            raise MeasurementError(f"{path}, line {no}: expected a 'Gprog' or 'Gerase' line, got {label!r}")
        dr = "down" if label == "Gprog" else "up"
        if dr == "down":
            cycle += 1
        elif not dirs or dirs[-1] != "down":
            raise MeasurementError(f"{path}, line {no}: a Gerase line must follow a Gprog line")
        ramps.append(_yflash_values(path, no, rest))
        dirs.append(dr)
        cycles.append(cycle)
        widths.append(width[dr])
    frame = _yflash_frame(ramps, {"cycle": cycles, "direction": dirs}, widths)
    meta = _meta("yflash_technion_c2c_d2d", d, device=head.group("dev"), read_voltage=_YFLASH_READ,
                 synthetic_time=_READS_TIME, write_pulse={"width": width, "note": _YFLASH_NOTE},
                 units={"v": "V", "i": "A", "g_read": "S", "v_write": "V", "width": "s"})
    return PulseTrain(frame, meta, source=str(path))


def yflash_device_to_device(root: str | Path | None = None) -> PulseTrain:
    """96 Y-Flash devices (8 x 12 array), one program ramp and one erase ramp each.

    Reads-only :class:`PulseTrain` as :func:`yflash_cycle_to_cycle`, with
    ``cell`` ("U2,<row>,<col>") instead of ``cycle``.  Replay one device at a
    time: ``m.where(cell="U2,0,0")``.
    """
    d = _folder("yflash_technion_c2c_d2d", root)
    path = _file(d, "data_device2device_prog_erase.txt")
    pat = re.compile(r"^\s*\((?P<dev>[^)]*)\)\s*,\s*(?P<kind>tprog|terase)\s*=\s*(?P<w>[\d.eE+-]+)\s*,\s*"
                     r"(?P<label>Gprog|Gerase)\s*,(?P<rest>.*)$")
    ramps, dirs, cells, widths = [], [], [], []
    for no, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        m = pat.match(line)
        if not m:
            raise MeasurementError(f"{path}, line {no}: expected '(U2,r,c),tprog=<s>,Gprog, g1, g2, ...', "
                                   f"got {line[:60]!r}")
        dr = "down" if m.group("label") == "Gprog" else "up"
        ramps.append(_yflash_values(path, no, m.group("rest")))
        dirs.append(dr)
        cells.append(m.group("dev").replace(" ", ""))
        widths.append(float(m.group("w")))
    if not ramps:
        raise MeasurementError(f"{path}: the file is empty")
    frame = _yflash_frame(ramps, {"cell": cells, "direction": dirs}, widths)
    meta = _meta("yflash_technion_c2c_d2d", d, read_voltage=_YFLASH_READ, synthetic_time=_READS_TIME,
                 write_pulse={"width": {"down": 2e-4, "up": 1e-4}, "note": _YFLASH_NOTE},
                 units={"v": "V", "i": "A", "g_read": "S", "v_write": "V", "width": "s"})
    return PulseTrain(frame, meta, source=str(path))


# ---------------------------------------------------------------------------
# retention / relaxation
# ---------------------------------------------------------------------------
def _tech(tech: str, allowed: str) -> str:
    t = str(tech).upper()
    if t not in allowed:
        raise MeasurementError(f"technology must be one of {list(allowed)} for this file set, got {tech!r}")
    return t


def stanford_relaxation(tech: str = "C", root: str | Path | None = None) -> Retention:
    """Conductance relaxation of ~4000 RRAM cells on 32 levels (technology "B" or "C").

    :class:`Retention` with ``cell`` (address), ``t`` [s] (since the first
    read after programming; restarts per cell), ``g_read`` [S], ``g0`` [S]
    (first read), ``level`` (target level 0..31, higher possible for C),
    ``timept`` [s] (nominal time bucket).  Rows in file order.
    ``meta["gmax"]`` [S]: full-scale conductance of the technology.
    """
    t = _tech(tech, "BC")
    d = _folder("stanford_rram_relaxation", root)
    path = _file(d, f"tech{t}_relaxation_subset.csv")
    m = read_table(path, columns={"cell": "addr", "t": "t_s", "g_read": "g_S", "g0": "g0_S", "level": "level",
                                  "timept": "timept_s"}, kind="retention")
    meta = dict(m.meta)
    meta.update(_meta("stanford_rram_relaxation", d, device=f"technology {t}", gmax=_STANFORD[t][0],
                      subset="every 4th cell of relaxdata" + ("_10k" if t == "B" else "") + ".min"))
    return Retention(m.frame, meta, source=str(path))


def stanford_bake(tech: str = "A", root: str | Path | None = None) -> Retention:
    """Bake (temperature-accelerated retention) of 2048 cells at 100-260 °C (technology "A" or "B").

    :class:`Retention` with ``cell``, ``bake_temperature`` [K], ``t`` [s]
    (restarts per cell and bake step: the last read before the bake, t < 10 s,
    and the first read after it), ``g_read`` [S].
    """
    t = _tech(tech, "AB")
    d = _folder("stanford_rram_relaxation", root)
    path = _file(d, f"tech{t}_bake_subset.csv")
    m = read_table(path, columns={"cell": "addr", "t": "t_s", "g_read": "g_S", "bake_temperature": "temp_C"},
                   units={"bake_temperature": "degC"}, kind="retention")
    meta = dict(m.meta)
    meta.update(_meta("stanford_rram_relaxation", d, device=f"technology {t}", gmax=_STANFORD[t][0]))
    return Retention(m.frame, meta, source=str(path))


def stanford_read_noise(root: str | Path | None = None) -> Retention:
    """Continuous reads (400 Hz, 62.5 s) of five technology-A cells on levels 0, 8, 16, 24, 31.

    :class:`Retention` in long form: ``cell`` (= ``level``, one cell per
    level), ``level``, ``t`` [s], ``g_read`` [S]; 5 x 25 000 rows.  For read
    noise / RTN / 1/f analysis.
    """
    d = _folder("stanford_rram_relaxation", root)
    path = _file(d, "techA_timeseries_subset.csv")
    m = read_table(path, columns={"t": "t_s"}, kind="measurement")
    cols = [c for c in m.columns if c.startswith("g_level")]
    if not cols:
        raise MeasurementError(f"{path}: no g_level<k>_S columns")
    parts = []
    for c in cols:
        lev = int(re.sub(r"\D", "", c))
        parts.append(pd.DataFrame({"cell": lev, "level": lev, "t": m["t"].to_numpy(), "g_read": m[c].to_numpy()}))
    frame = pd.concat(parts, ignore_index=True)
    meta = {k: v for k, v in m.meta.items() if k != "units"}
    meta.update(_meta("stanford_rram_relaxation", d, device="technology A", gmax=_STANFORD["A"][0],
                      sample_rate=_STANFORD["A"][1]))
    return Retention(frame, meta, source=str(path))


# ---------------------------------------------------------------------------
# processed lookup table
# ---------------------------------------------------------------------------
def _numbers(path: Path, no: int, line: str) -> np.ndarray:
    toks = [x for x in re.split(r"[,\s]+", line.strip()) if x]
    try:
        return np.array([float(x) for x in toks])
    except ValueError:
        bad = next(x for x in toks if not _isfloat(x))
        raise MeasurementError(f"{path}, line {no}: {bad!r} is not a number") from None


def _isfloat(x: str) -> bool:
    try:
        float(x)
        return True
    except ValueError:
        return False


def crosssim_enode_lut(direction: str = "both", root: str | Path | None = None) -> Measurement:
    """CrossSim's ENODe conductance-update lookup tables (processed from measured pulse ramps, not raw data).

    A generic :class:`Measurement` with ``meta["kind"] = "dg_lookup_table"``
    in long form: ``direction`` ("up" = dG_increasing, "down" =
    dG_decreasing), ``quantile`` (CDF point, 0..1), ``g`` [S] (conductance
    bin centre), ``dg`` [S] (conductance change per pulse at that quantile);
    122 x 48 rows per direction.  ``direction`` is "up", "down" or "both".
    """
    files = {"up": "dG_increasing.txt", "down": "dG_decreasing.txt"}
    if direction not in ("up", "down", "both"):
        raise MeasurementError(f"direction must be 'up', 'down' or 'both', got {direction!r}")
    d = _folder("crosssim_enode_lut", root)
    parts = []
    for dr in (("up", "down") if direction == "both" else (direction,)):
        path = _file(d, files[dr])
        rows = [(no, ln) for no, ln in enumerate(path.read_text().splitlines(), start=1) if ln.strip()]
        if len(rows) < 4:
            raise MeasurementError(f"{path}: expected a description line, G bins, CDF points and a dG matrix")
        gbins = _numbers(path, rows[1][0], rows[1][1])
        cdf = _numbers(path, rows[2][0], rows[2][1])
        mat = []
        for no, ln in rows[3:]:
            r = _numbers(path, no, ln)
            if r.size != gbins.size:
                raise MeasurementError(f"{path}, line {no}: {r.size} values, but there are {gbins.size} G bins")
            mat.append(r)
        if len(mat) != cdf.size:
            raise MeasurementError(f"{path}: {len(mat)} dG rows, but {cdf.size} CDF points")
        dg = np.array(mat)
        q, g = np.meshgrid(cdf, gbins, indexing="ij")
        parts.append(pd.DataFrame({"direction": dr, "quantile": q.ravel(), "g": g.ravel(), "dg": dg.ravel()}))
    frame = pd.concat(parts, ignore_index=True)
    meta = _meta("crosssim_enode_lut", d, kind="dg_lookup_table", device="ENODe",
                 units={"direction": "", "quantile": "1", "g": "S", "dg": "S"},
                 note="lookup tables produced by CrossSim's create_lookup_table.py from measured pulse ramps")
    return Measurement(frame, meta, source=str(d))


# ---------------------------------------------------------------------------
# dispatch
# ---------------------------------------------------------------------------
#: Data set name -> its loaders (the first is the default of :func:`load`).
LOADERS: dict[str, tuple[Callable, ...]] = {
    "knowm_sdc_hysteresis": (knowm_sdc_hysteresis,),
    "vo2_pku_isweep": (vo2_isweep,),
    "ferro_rit_hfo2_mfm": (ferro_hfo2_loop, ferro_hfo2_leakage),
    "ember_rram_set_sweep": (ember_set_sweep,),
    "aihwkit_gong2018_reram_pulse": (aihwkit_gong2018,),
    "crosssim_example_pulse_ramps": (crosssim_pulse_ramps,),
    "crosssim_enode_lut": (crosssim_enode_lut,),
    "yflash_technion_c2c_d2d": (yflash_cycle_to_cycle, yflash_device_to_device),
    "stanford_rram_relaxation": (stanford_relaxation, stanford_bake, stanford_read_noise),
}


def load(name: str, *args, root: str | Path | None = None, **kwargs) -> Measurement:
    """Load a shared data set by folder name with its default loader (see :data:`LOADERS`)."""
    if name not in LOADERS:
        raise MeasurementError(f"unknown shared data set {name!r}; known: {sorted(LOADERS)} (MNIST is not a "
                               "device measurement and has no loader here)")
    return LOADERS[name][0](*args, root=root, **kwargs)
