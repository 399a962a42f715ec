"""A preset derived from a fit to real pulse data reproduces that data's pulse response (issue 5, "Must show").

Data: the Sandia CrossSim example ramps of ``../shared/datasets/crosssim_example_pulse_ramps``
(39 SET and 40 RESET ramps of identical pulses, read currents at 0.1 V; BSD-3-Clause, read in
place and never copied into memfit, so this preset is produced here and not shipped).  The
whole module is skipped when the shared folder is absent.

Chain under test: reads-only :class:`~memfit.data.PulseTrain` ramps -> :func:`memfit.fitting.fit`
of ``vteam`` on two SET and two RESET ramps -> ``FitResult.to_preset`` with the data's pulse scheme,
read voltage and circuit -> the preset's ``dG(G)`` tables, compared with ``dG(G)`` computed directly
from *all* 79 measured ramps.

Model set-up: the approach of ``benchmarks/real_data.py`` (section 3) -- linear port with the roles
swapped so that positive pulses raise G, ``R_on``/``R_off`` fixed 5 % outside the measured window,
the initial state fitted per ramp, one rate per direction -- plus an *assumed* 100 Ohm series
resistance (the source records no circuit) and a fitted RESET threshold ``v_on``.  Why: the linear
port makes every step scale as G^2.  That suits the SET ramps (steps grow from ~2 to ~7.5 uS across
the window) but not the RESET ramps, whose steps are nearly flat (-5.2 .. -6.2 uS); with the
benchmark's set-up (no resistor, thresholds +-0.5 V) the derived preset met the 2-sigma criterion
below in 12/12 SET bins but only 7/12 RESET bins.  Behind a series resistor the device voltage falls
as G rises, and near a threshold that lowers the RESET drive at high G, flattening its steps (with
the fitted v_on ~ -0.66 V: device voltage 0.84 V at the low end of the window, 0.75 V at the high
end, drive |v|/|v_on| - 1 from 0.27 to 0.15, which offsets the 2.3x of G^2).  The SET threshold is
fixed low (0.15 V, above the <= 0.1 V the reads put on the device) because a free one ran to its
lower bound: the SET steps show no such attenuation.  In a development scan of the same fit, 100 and
200 Ohm met the criterion in 24/24 and 23/24 bins, 300 Ohm in 17/24 (SET steps flattened too much).

The write pulses of this data set are not recorded: the +1 V / -1 V, 1 us pulses below are an
assumption stored in the measurements' ``meta["write_pulse"]`` (as in the benchmark).  Only
combinations such as rate x width and threshold / amplitude are identified, and the preset is derived
with the very same pulses and circuit, so its dG per pulse does not depend on that assumption.

Reference quantity: the data's cycle-to-cycle spread of one pulse's conductance change at a
given conductance, i.e. in each conductance bin the mean and standard deviation of the measured
steps ``g[k+1] - g[k]`` of all ramps whose read ``g[k]`` falls in the bin (the quantity the preset's
``dg_mean``/``dg_std`` describe: one pulse at conductance G, parameters redrawn per cycle).
"""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from memfit.data import PulseTrain
from memfit.data import test_circuit as circuit_of  # aliased: pytest would collect a test_* name
from memfit.data import shared_datasets as sd

DATASET = "crosssim_example_pulse_ramps"

if DATASET not in sd.available():
    pytest.skip(f"shared data set {DATASET} not found (set {sd.ENV_VAR} or place the shared folder at "
                "<repo>/../shared/datasets)", allow_module_level=True)

#: Write pulses ASSUMED (not recorded by the source): SET (up, raises G) +1 V, RESET (down) -1 V, 1 us.
WRITE_PULSE = {"amplitude": {"up": 1.0, "down": -1.0}, "width": 1e-6, "read_width": 1e-6, "read_delay": 1e-6,
               "note": "ASSUMED by the test (not recorded): only rate x drive x width per pulse is identified"}
#: Ramps used for the fit (a subset keeps the test fast; the comparison uses all ramps).
FIT_CYCLES = (1, 20)
#: Series resistance ASSUMED between source and device [Ohm] (see the module docstring).
R_SERIES = 100.0
#: Fixed vteam parameters: identical pulses make alpha irrelevant; SET threshold low but above the reads.
FIXED = {"v_off": 0.15, "alpha_off": 1.0, "alpha_on": 1.0}
N_BINS = 12
#: A bin counts when it holds at least this many measured steps from at least this many ramps.
MIN_STEPS, MIN_RAMPS = 30, 10
WINDOW_TOL = 0.05  # relative agreement of g_min / g_max


def _sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def ramps():
    """All measured ramps: {"up": [(cycle, g array)], "down": [...]} plus the raw measurements."""
    out = {}
    for which, direction in (("set", "up"), ("reset", "down")):
        m = sd.crosssim_pulse_ramps(which)
        f = m.frame
        per = []
        for c, part in f.groupby("cycle", sort=True):
            part = part.sort_values("pulse")
            assert np.all(np.diff(part["pulse"].to_numpy()) == 1)  # one pulse between consecutive reads
            per.append((int(c), part["g_read"].to_numpy()))
        out[direction] = {"measurement": m, "ramps": per}
    return out


def _fit_record(m, cycle: int) -> PulseTrain:
    """One ramp as its own reads-only PulseTrain, with the assumed pulses (meta keeps ``source_file``:
    the fit hashes that file itself)."""
    f = m.frame[m.frame["cycle"] == cycle].reset_index(drop=True)
    f["t"] = np.arange(len(f), dtype=float)
    meta = dict(m.meta)
    meta["write_pulse"] = dict(WRITE_PULSE)
    meta["series_resistance"] = R_SERIES
    return PulseTrain(f, meta)


def data_dg(ramp_list, n_bins: int = N_BINS):
    """Measured dG(G): per conductance bin, mean / std of the one-pulse steps, over all ramps.

    Returns
    -------
    dict of ndarray
        ``g`` [S] mean conductance before the pulse in each bin, ``mean``, ``std`` [S] of the
        steps (ddof = 1), ``n`` steps, ``ramps`` distinct ramps contributing; unpopulated bins
        (fewer than MIN_STEPS steps or MIN_RAMPS ramps) are dropped.
    """
    g_before = np.concatenate([g[:-1] for _, g in ramp_list])
    steps = np.concatenate([np.diff(g) for _, g in ramp_list])
    owner = np.concatenate([np.full(g.size - 1, c) for c, g in ramp_list])
    edges = np.linspace(g_before.min(), g_before.max(), n_bins + 1)
    idx = np.clip(np.searchsorted(edges, g_before, side="right") - 1, 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        sel = idx == b
        n, n_ramps = int(sel.sum()), int(np.unique(owner[sel]).size)
        if n >= MIN_STEPS and n_ramps >= MIN_RAMPS:
            rows.append((g_before[sel].mean(), steps[sel].mean(), steps[sel].std(ddof=1), n, n_ramps))
    a = np.array(rows)
    return {"g": a[:, 0], "mean": a[:, 1], "std": a[:, 2], "n": a[:, 3].astype(int), "ramps": a[:, 4].astype(int)}


def data_window(ramps):
    """Mean (and c2c std) over all ramps of each ramp's lowest and highest read [S]."""
    lows = np.array([g.min() for d in ("up", "down") for _, g in ramps[d]["ramps"]])
    highs = np.array([g.max() for d in ("up", "down") for _, g in ramps[d]["ramps"]])
    return lows.mean(), lows.std(ddof=1), highs.mean(), highs.std(ddof=1)


@pytest.fixture(scope="module")
def fitted(ramps):
    from memfit.fitting import fit

    data, labels = [], []
    for direction in ("up", "down"):
        for c in FIT_CYCLES:
            data.append(_fit_record(ramps[direction]["measurement"], c))
            labels.append(f"{direction} ramp {c}")
    g = np.concatenate([d.frame["g_read"].to_numpy() for d in data])
    # device resistance = read resistance - series resistor; roles swapped: R_off = low-resistance end
    fixed = dict(FIXED, R_on=1.05 / g.min() - R_SERIES, R_off=0.95 / g.max() - R_SERIES)
    res = fit("vteam", data, vary=["k_off", "k_on", "v_on"], initial={"k_off": 1e3, "k_on": -1e3, "v_on": -0.6},
              fix=fixed, bounds={"v_on": (-0.95, -0.15)}, fit_x0=["x"], rtol=1e-6, max_nfev=100, max_steps=200_000,
              labels=labels)
    return res, data


@pytest.fixture(scope="module")
def preset(fitted, ramps):
    res, data = fitted
    m_up = data[0]
    wp = m_up.meta["write_pulse"]
    # the data's own pulse scheme: amplitude / width of the (assumed) write pulses, pulses per ramp as measured
    n = {d: int(np.median([g.size - 1 for _, g in ramps[d]["ramps"]])) for d in ("up", "down")}
    pulses = {d: {"amplitude": wp["amplitude"][d], "width": wp["width"], "n": n[d]} for d in ("up", "down")}
    # cycle-to-cycle spread of the rates: the data's median relative spread of one pulse's step
    c2c = {}
    for d, rate in (("up", "k_off"), ("down", "k_on")):
        t = data_dg(ramps[d]["ramps"])
        c2c[rate] = float(np.median(t["std"] / np.abs(t["mean"])))
    # nominal device starts where a SET ramp typically starts: the mean fitted initial state of the SET ramps
    x0 = {"x": float(np.mean([res.initial_state(k)["x"] for k in range(len(FIT_CYCLES))]))}
    return res.to_preset(name="crosssim-rram-ramps", pulses=pulses, read_v=m_up.meta["read_voltage"],
                         read_width=wp["read_width"], circuit=circuit_of(m_up), x0=x0, c2c=c2c, n_c2c=24, n_grid=24,
                         seed=1,
                         description="Sandia CrossSim example RRAM ramps, vteam fit (test-only, not shipped)",
                         reference=m_up.meta["source"], write_verify={"n_devices": 4})


def test_fit_follows_the_ramps(fitted):
    res, _ = fitted
    r2 = res.datasets["r2"].to_numpy()
    assert np.all(r2 > 0.99), f"R2 of the fitted ramps {np.round(r2, 4)}"
    assert res.values["k_off"] > 0 and res.values["k_on"] < 0
    assert -0.95 < res.values["v_on"] < -0.15  # inside its bounds, not stuck at one


def test_preset_validates_and_round_trips(preset, tmp_path):
    from memfit.presets import Preset

    preset.validate()
    back = Preset.load(preset.save(tmp_path / "rram.json"))
    assert back.to_dict() == preset.to_dict()
    assert back.model_name == "vteam"


def test_provenance_records_source_files_with_sha256(preset, ramps):
    prov = preset.provenance
    assert prov["generator"] == "FitResult.to_preset"
    from memfit import __version__

    assert prov["memfit_version"] == __version__
    recorded = {s["file"]: s["sha256"] for s in prov["sources"]}
    assert len(prov["sources"]) == 2, prov["sources"]  # set.csv and reset.csv, each once (4 ramps fitted)
    for d in ("up", "down"):
        path = ramps[d]["measurement"].meta["source_file"]
        assert path in recorded, f"{path} not among the preset's sources {sorted(recorded)}"
        assert recorded[path] == _sha256(path)  # the full file hash, computed independently here
        assert len(recorded[path]) == 64


def test_preset_uses_the_datas_pulse_scheme_and_read_voltage(preset, ramps):
    assert preset.read_voltage == pytest.approx(0.1)
    for d in ("up", "down"):
        t = preset.pulse_response(d)
        assert t["amplitude"] == WRITE_PULSE["amplitude"][d] and t["width"] == WRITE_PULSE["width"]
        lengths = [g.size - 1 for _, g in ramps[d]["ramps"]]
        assert min(lengths) <= t["n_pulses"] <= max(lengths)


def test_conductance_window_matches_data(preset, ramps):
    lo, lo_sd, hi, hi_sd = data_window(ramps)
    e_lo, e_hi = preset.g_min / lo - 1, preset.g_max / hi - 1
    msg = (f"window: data g_min {lo * 1e3:.4f} +- {lo_sd * 1e3:.4f} mS, g_max {hi * 1e3:.4f} +- {hi_sd * 1e3:.4f} mS "
           f"(c2c std over 79 ramps); preset g_min {preset.g_min * 1e3:.4f} mS ({e_lo:+.2%}), g_max "
           f"{preset.g_max * 1e3:.4f} mS ({e_hi:+.2%}); tolerance {WINDOW_TOL:.0%}")
    print(msg)
    assert abs(e_lo) <= WINDOW_TOL and abs(e_hi) <= WINDOW_TOL, msg


def _agreement(preset, ramps, direction):
    t = data_dg(ramps[direction]["ramps"])
    mean_p, std_p = preset.dg(t["g"], direction)
    z = (mean_p - t["mean"]) / t["std"]
    lines = [f"  G {g * 1e3:.3f} mS: data {m * 1e6:+.3f} +- {s * 1e6:.3f} uS ({n} steps, {r} ramps), preset "
             f"{mp * 1e6:+.3f} +- {sp * 1e6:.3f} uS, z {zz:+.2f}"
             for g, m, s, n, r, mp, sp, zz in zip(t["g"], t["mean"], t["std"], t["n"], t["ramps"], mean_p, std_p, z)]
    return t, mean_p, std_p, z, "\n".join(lines)


def test_pulse_response_within_data_cycle_to_cycle_spread(preset, ramps):
    """|mean_preset - mean_data| <= 2 std_data in >= 80 % of the populated bins (both directions pooled)."""
    zs, report = [], []
    for d in ("up", "down"):
        t, _, _, z, text = _agreement(preset, ramps, d)
        inside = np.abs(z) <= 2
        zs.append(z)
        report.append(f"{d}: {inside.sum()}/{z.size} bins within 2 sigma, median |z| {np.median(np.abs(z)):.2f}\n"
                      + text)
        assert z.size >= 10, f"{d}: only {z.size} populated bins"
        assert inside.mean() >= 0.7, "\n".join(report)  # per direction
    z = np.concatenate(zs)
    frac = float(np.mean(np.abs(z) <= 2))
    msg = f"pooled: {frac:.1%} of {z.size} bins within 2 sigma, median |z| {np.median(np.abs(z)):.2f}\n" + \
          "\n".join(report)
    print(msg)
    assert frac >= 0.8, msg
    assert np.median(np.abs(z)) <= 1.0, msg


def test_pulse_response_sign_and_trend(preset, ramps):
    """Potentiation steps grow with G in data and preset alike (least-squares slope, same sign, within 2x)."""
    t, mean_p, _, _, text = _agreement(preset, ramps, "up")
    s_data = np.polyfit(t["g"], t["mean"], 1)[0]
    s_preset = np.polyfit(t["g"], mean_p, 1)[0]
    msg = f"up: slope d(dG)/dG data {s_data:.4g}, preset {s_preset:.4g}\n{text}"
    print(msg.splitlines()[0])
    assert s_data > 0 and 0.5 <= s_preset / s_data <= 2.0, msg
    for d in ("up", "down"):
        t, mean_p, _, _, _ = _agreement(preset, ramps, d)
        sign = 1 if d == "up" else -1
        assert np.all(sign * t["mean"] > 0) and np.all(sign * mean_p > 0), d


def test_preset_spread_is_of_the_datas_magnitude(preset, ramps):
    """The c2c std the preset derives by redrawing the rates is within 2x of the measured std in most bins."""
    ratios = []
    for d in ("up", "down"):
        t, _, std_p, _, _ = _agreement(preset, ramps, d)
        ratios.append(std_p / t["std"])
    r = np.concatenate(ratios)
    msg = f"std_preset / std_data per bin: {np.round(r, 2)}"
    print(msg)
    assert 0.5 <= np.median(r) <= 2.0 and np.mean((r >= 0.5) & (r <= 2.0)) >= 0.75, msg
