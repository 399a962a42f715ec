r"""Real measured data: memfit's fits to the devices of the project's shared folder (``../shared/datasets``).

One table -- dataset, model, fitted parameters (value +- standard error), points, R^2, NRMSE,
log-RMSE, wall time -- for four kinds of measurement.  The data are read in place by
:mod:`memfit.data.shared_datasets` (their licences, GPL-3 to CC BY-NC-SA, keep them out of the
package); without the folder the section prints one line and returns no headline.

1. **Knowm W-SDC I-V loops** (``knowm_sdc_hysteresis``, device M1, 0.8 V sine): the 5 kOhm and
   47 kOhm series-resistor runs fitted *jointly* (one parameter set, the resistor from the
   metadata in the simulated circuit, the initial state fitted per loop because a capture starts
   at an arbitrary phase), at 10 Hz and at 100 Hz.  ``yakopcic2011`` (the model of the Boise
   State / Knowm chalcogenide family): thresholds ``Vp``, ``Vn``, reset rate ``An``, port
   ``a1``, ``a2``, ``b`` fitted.  ``b`` is kept free because these loops reach ``b V ~ 3-4``
   (the high-resistance branch grows ~5x in conductance from 0.25 to 0.75 V), where the
   ``a1``/``a2``/``b`` trio is no longer degenerate.  ``Ap`` is fixed at 1e6 1/s: free, it ran
   to the bound (any rate fast enough makes the device voltage stick at ``Vp`` while the state
   switches, so only its lower limit is determined), and ``alphan`` at 20, because it is
   correlated at +1.000 with ``An``.  The alternative ``vteam_biolek`` (p = 2) is fitted to the
   same pairs with the roles swapped as the VTEAM docstring prescribes (positive voltage lowers
   the resistance: ``R_off`` is the low-resistance end), ``k_off`` fixed for the same reason as
   ``Ap``; the note says which model fits better.
2. **VO2 current sweep** (``vo2_isweep``, 0 -> 1.5 mA -> 0 forced, 30 degC) with
   ``vo2_demirkol2022``.  :func:`memfit.fitting.fit` compares the *current* of an I-V record,
   which for a current-forced sweep is the forced value itself (a fit of it does not see the
   model, see the note printed with the table).  The sweep is therefore replayed as a voltage
   source behind a large resistor (``v_src = v + i R_L``, ``R_L`` in the circuit): the simulated
   current then carries the model's voltage error ``dV/R_L``, and the table's R^2 / NRMSE /
   log-RMSE are computed on the device *voltage* (measured ``v`` vs simulated ``v_dev``).
   ``T_amb`` = 303.15 K (the 30 degC of the source); ``C_th`` and the play/hysteron shape
   parameters stay at their defaults (the sweep is quasi-static: 0.1 s per step vs a 241 ns
   thermal time).
3. **RRAM pulse ramps** (``crosssim_pulse_ramps``, Sandia CrossSim example, reads only): the pulse
   amplitude and width are not recorded, so an explicit write pulse is *assumed* -- +1 V / 1 us
   for SET, -1 V / 1 us for RESET, reads at the file's 0.1 V.  Only the product rate x drive x
   width per pulse is identifiable, not the rate, threshold or width separately.  ``vteam``
   (linear port, state clamped at its bounds): ``k_off`` from the SET ramps, ``k_on`` from the
   RESET ramps, the initial state per ramp; ``R_on``/``R_off`` fixed 5 % outside the measured
   window (with the initial state free, the window and the rate are otherwise degenerate),
   thresholds +-0.5 V so that reads do not write.  The linear port's ``G = 1/R(x)`` gives steps
   that grow with G, as in the SET data; a Biolek window (p = 1) lowered R^2 of SET ramp 1 from
   0.996 to 0.950 in a trial, the exponential port to 0.986.
4. **RRAM relaxation** (``stanford_relaxation("B")``, ~4,000 1T1R cells, reads from 10 ms to
   1e4 s after programming): cells grouped by programmed level; per level the median of
   ``g/g0`` at each time bucket times the median ``g0`` is fitted.  Model ``ftj_athle2023``
   for its power-law drift ``g = g_prog ((t + t0)/t0)^-nu(w)``, ``nu(w) = nu3|w|^3 + nu2 w^2 +
   nu1|w| + nu0`` with ``w = g/G_on``: the conductance window is rescaled to the RRAM
   (``G_on`` = technology B's full scale 128 uS, ``G_off`` = 1 uS), each level starts at the
   state that gives its ``g0`` (``meta["x0"]``), reads at the model's ``V_read`` = 0.3 V (the
   source does not give its read voltage; below the switching threshold, so reads do not
   write).  ``nu0..nu3`` and ``t0_drift`` are shared by all levels.  ``memdiode_dmm``'s
   relaxation was not chosen: at zero bias its state relaxes with a single time constant
   (``exp(-t/tau)``), which cannot follow changes spread over six decades of time.  The figure
   that matters is the log-RMSE of g (decades); the note gives the no-drift baseline (g = g0).

Sizes: full mode ~1-2 minutes on 2 cores (four joint Knowm fits dominate); ``--smoke`` one small
fit per dataset.  Integration tolerance ``rtol = 1e-7``, ``max_nfev`` 100 per least-squares stage,
``max_steps`` capped so that a trial parameter set that makes a model stiff fails fast (it is
then penalised, not integrated for seconds).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from benchmarks._util import Headline, Table, fmt_time

RTOL = 1e-7
MAX_NFEV = 100

# --------------------------------------------------------------------------------------- Knowm
KNOWM_PAIRS = {  # frequency label -> runs fitted jointly (device M1, both series resistors)
    "10 Hz": ("5kohm_0.8V_10Hz_M1", "47kohm_0.8V_10Hz_M1"),
    "100 Hz": ("5kohm_0.8V_100Hz_M1", "47kohm_0.8V_100Hz_M1"),
}
KNOWM_SMOKE = {"10 Hz": ("5kohm_0.8V_10Hz_M1",)}

#: yakopcic2011: start values read off the loops (set plateau of v_dev ~0.22 V, reset onset ~-0.2 V,
#: b V ~ 4 at 0.8 V from the curvature of the high-resistance branch); Ap, alphan fixed (see module doc).
YAK_START = dict(a1=1e-4, a2=2e-5, b=4.0, Vp=0.22, Vn=0.18, An=2e5)
YAK_FIX = dict(Ap=1e6, alphan=20.0)
#: vteam_biolek with swapped roles: R_off = low-resistance end, reached by positive voltage.
VTEAM_START = dict(R_on=3e5, R_off=2e3, k_on=-1e3, v_off=0.22, v_on=-0.1)
VTEAM_FIX = dict(k_off=1e6, alpha_off=1.0, alpha_on=1.0, p=2)
VTEAM_BOUNDS = {"R_off": (300.0, 3e4), "R_on": (1e4, 1e7)}

# ----------------------------------------------------------------------------------------- VO2
VO2_LOAD = 1e5  # Ohm: the voltage source + resistor that stands in for the current source
VO2_START = dict(R0=0.77, E_a=3000.0, R_m=1200.0, T_c=339.0, w=42.0, beta=0.1, S_th=6.6e-5)
VO2_FIX = dict(T_amb=303.15)

# ----------------------------------------------------------------------------------- pulse ramps
RAMP_PULSE = {"set": 1.0, "reset": -1.0}  # V, assumed (not recorded)
RAMP_WIDTH = 1e-6  # s, assumed
RAMP_FIX = dict(v_off=0.5, v_on=-0.5, alpha_off=1.0, alpha_on=1.0)

# ------------------------------------------------------------------------------------ relaxation
RELAX_LEVELS = (4, 8, 12, 16, 20, 24, 28)  # the well-populated programmed levels of technology B
RELAX_SMOKE = (8, 16)
RELAX_G_OFF = 1e-6  # S
RELAX_V_READ = 0.3  # V (= the model's V_read)


@dataclass
class Outcome:
    """One fit: per-dataset rows and its parameters, for the table."""

    dataset: str
    model: str
    labels: list[str]
    points: list[int]
    r2: list[float]
    nrmse: list[float]
    log_rmse: list[float]
    params: list[str]
    wall: float
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def mean_r2(self) -> float:
        return float(np.mean(self.r2))

    @property
    def mean_log_rmse(self) -> float:
        return float(np.nanmean(self.log_rmse))


# --------------------------------------------------------------------------------- formatting
def _fmt_param(name: str, value: float, err: float, unit: str) -> str:
    if name.startswith("x0_"):
        state, _, d = name[3:].partition("__d")
        name = f"{state}0[{d}]"
    # NaN: not estimable; exactly 0 comes from lmfit when the covariance is indefinite (see the report)
    e = "?" if not (err == err) or err == 0 else f"{err:.2g}"
    u = f" {unit}" if unit and unit != "1" else ""
    return f"{name}={value:.4g}±{e}{u}"


def _param_strings(result) -> list[str]:
    from memfit.models import get_model

    m = get_model(result.model)
    out = []
    for n in result.varied:
        base = n.split("__")[0]
        unit = m.parameter(base).unit if base in m.param_names else ""
        out.append(_fmt_param(n, result.values[n], result.stderr[n], unit))
    return out


def _chunks(items: list[str], width: int = 64) -> list[str]:
    lines, cur = [], ""
    for it in items:
        if cur and len(cur) + 2 + len(it) > width:
            lines.append(cur + ",")
            cur = it
        else:
            cur = f"{cur}, {it}" if cur else it
    if cur:
        lines.append(cur)
    return lines or ["-"]


def _stats(measured: np.ndarray, simulated: np.ndarray) -> tuple[float, float, float]:
    """R^2, NRMSE (by the measured range), log-RMSE [decades] (points where both are non-zero)."""
    m = np.asarray(measured, float)
    s = np.asarray(simulated, float)
    ok = np.isfinite(m) & np.isfinite(s)
    m, s = m[ok], s[ok]
    ss_res = float(np.sum((s - m) ** 2))
    ss_tot = float(np.sum((m - m.mean()) ** 2)) or 1e-300
    rng = float(np.ptp(m)) or 1.0
    big = (np.abs(m) > 1e-3 * np.max(np.abs(m))) & (np.abs(s) > 0)
    lr = float(np.sqrt(np.mean((np.log10(np.abs(s[big])) - np.log10(np.abs(m[big]))) ** 2))) if big.any() else math.nan
    return 1.0 - ss_res / ss_tot, math.sqrt(ss_res / max(m.size, 1)) / rng, lr


def _from_result(dataset: str, result, wall: float, **kw) -> Outcome:
    d = result.datasets
    o = Outcome(dataset, result.model, [str(x) for x in d["label"]], [int(x) for x in d["points"]],
                [float(x) for x in d["r2"]], [float(x) for x in d["nrmse"]], [float(x) for x in d["log_rmse"]],
                _param_strings(result), wall, **kw)
    o.extra["pairs"] = [f"{a}~{b} ({rho:+.3f})" for a, b, rho in result.unidentifiable]
    o.extra["at_bounds"] = list(result.info.get("at_bounds", []))
    return o


def _add(table: Table, o: Outcome) -> None:
    warn = []
    if o.extra.get("pairs"):
        pairs = o.extra["pairs"]
        more = f" and {len(pairs) - 4} more pairs" if len(pairs) > 4 else ""
        warn.append("correlated above 0.98: " + ", ".join(pairs[:4]) + more)
    if o.extra.get("at_bounds"):
        warn.append("at a bound: " + ", ".join(o.extra["at_bounds"]))
    if warn:
        table.note(f"{o.dataset} / {o.model}: " + "; ".join(warn))
    plines = _chunks(o.params)
    n = max(len(o.labels), len(plines))
    for k in range(n):
        first = k == 0
        if k < len(o.labels):
            label = f"{o.dataset}: {o.labels[k]}" if first else f"  {o.labels[k]}"
            stats = (o.points[k], f"{o.r2[k]:.4f}", f"{o.nrmse[k]:.3g}", f"{o.log_rmse[k]:.3g}")
        else:
            label, stats = "", ("", "", "", "")
        table.add(label, o.model if first else "", plines[k] if k < len(plines) else "", *stats,
                  fmt_time(o.wall) if first else "")


def _failed(table: Table, dataset: str, model: str, exc: Exception) -> None:
    msg = f"{type(exc).__name__}: {exc}"
    table.add(dataset, model, "FAILED: " + (msg if len(msg) < 120 else msg[:117] + "..."), "", "", "", "", "")


# ------------------------------------------------------------------------------------ Knowm
def _knowm_fit(model: str, runs, label: str) -> Outcome:
    from memfit.data import shared_datasets as sd
    from memfit.fitting import fit

    data = [sd.knowm_sdc_hysteresis(r) for r in runs]
    labels = [r.replace("_M1", "").replace("_0.8V", "") for r in runs]
    t0 = time.perf_counter()
    if model == "yakopcic2011":
        res = fit(model, data, vary=list(YAK_START), initial=YAK_START, fix=YAK_FIX, fit_x0=["x"], rtol=RTOL,
                  method="sdirk4", max_nfev=MAX_NFEV, max_steps=20_000, labels=labels)
    else:
        res = fit(model, data, vary=list(VTEAM_START), initial=VTEAM_START, fix=VTEAM_FIX, bounds=VTEAM_BOUNDS,
                  fit_x0=["x"], rtol=RTOL, method="dopri5", max_nfev=MAX_NFEV, max_steps=20_000, labels=labels)
    return _from_result(f"Knowm SDC M1 {label}", res, time.perf_counter() - t0)


def _knowm(opts, table: Table) -> list[Headline]:
    pairs = KNOWM_SMOKE if opts.smoke else KNOWM_PAIRS
    models = ("yakopcic2011",) if opts.smoke else ("yakopcic2011", "vteam_biolek")
    done: dict[str, list[Outcome]] = {m: [] for m in models}
    for model in models:
        for label, runs in pairs.items():
            try:
                o = _knowm_fit(model, runs, label)
            except Exception as exc:  # a failed fit is a row, not the end of the section
                _failed(table, f"Knowm SDC M1 {label}", model, exc)
                continue
            _add(table, o)
            done[model].append(o)
    scores = {m: float(np.mean([r for o in os_ for r in o.r2])) for m, os_ in done.items() if os_}
    if len(scores) > 1:
        best = max(scores, key=scores.get)
        table.note("Knowm: mean R2 over the loops " + ", ".join(f"{m} {s:.4f}" for m, s in scores.items())
                   + f" -> better: {best}; series resistor in the simulated circuit, x0[k] = fitted initial state "
                     "of loop k")
    heads = []
    for m, os_ in done.items():
        if os_:
            r2 = float(np.mean([r for o in os_ for r in o.r2]))
            heads.append(Headline(f"realdata Knowm SDC I-V loops, {m}: mean R2", r2, None,
                                  f"{sum(len(o.r2) for o in os_)} loops; log-RMSE "
                                  f"{np.mean([x for o in os_ for x in o.log_rmse]):.3f} dec"))
    return heads


# -------------------------------------------------------------------------------------- VO2
def _vo2(opts, table: Table) -> list[Headline]:
    from memfit.data import shared_datasets as sd
    from memfit.data.measurement import IVSweep
    from memfit.fitting import fit
    from memfit.models import available_models

    if "vo2_demirkol2022" not in available_models():
        table.add("VO2 PKU I-sweep", "vo2_demirkol2022", "skipped: model not registered", "", "", "", "", "")
        return []
    rec = sd.vo2_isweep()
    f = rec.frame
    frame = f[["t"]].copy()
    frame["v"] = f["v"].to_numpy() + f["i"].to_numpy() * VO2_LOAD
    frame["i"] = f["i"].to_numpy()
    meta = {**rec.meta, "source_mode": "voltage", "series_resistance": VO2_LOAD}
    emulated = IVSweep(frame, meta)
    t0 = time.perf_counter()
    try:
        res = fit("vo2_demirkol2022", emulated, vary=list(VO2_START), initial=VO2_START, fix=VO2_FIX, rtol=RTOL,
                  residual="absolute", max_nfev=60 if opts.smoke else MAX_NFEV, max_steps=100_000,
                  labels=["0->1.5->0 mA"])
    except Exception as exc:
        _failed(table, "VO2 PKU I-sweep", "vo2_demirkol2022", exc)
        return []
    wall = time.perf_counter() - t0
    v_sim = res.simulated(0).frame["v_dev"].to_numpy()
    r2, nrmse, lr = _stats(f["v"].to_numpy(), v_sim)
    o = Outcome("VO2 PKU I-sweep", res.model, ["0->1.5->0 mA (V)"], [len(f)], [r2], [nrmse], [lr],
                _param_strings(res), wall)
    o.extra["pairs"] = [f"{a}~{b} ({rho:+.3f})" for a, b, rho in res.unidentifiable]
    o.extra["at_bounds"] = list(res.info.get("at_bounds", []))
    _add(table, o)
    table.note(f"VO2: the current-forced sweep is replayed as a voltage source behind R_L = {VO2_LOAD:.0e} Ohm; "
               "R2/NRMSE/log-RMSE of the device voltage (fit(): the current of a current-forced record is the "
               "forced value, so it cannot be fitted directly); local optimum: the fit smooths the measured "
               "IMT/MIT snaps (0.85 mA up, 0.31 mA down)")
    return [Headline("realdata VO2 current sweep, vo2_demirkol2022: R2 of V", r2, None,
                     f"NRMSE {nrmse:.3g}, log-RMSE {lr:.3g} dec")]


# ------------------------------------------------------------------------------- pulse ramps
def _ramp(which: str, cycle: int):
    from memfit.data import shared_datasets as sd
    from memfit.data.measurement import PulseTrain

    m = sd.crosssim_pulse_ramps(which)
    f = m.frame[m.frame["cycle"] == cycle].reset_index(drop=True)
    f["t"] = np.arange(len(f), dtype=float)
    meta = dict(m.meta)
    meta["write_pulse"] = {"amplitude": RAMP_PULSE[which], "width": RAMP_WIDTH, "read_width": RAMP_WIDTH,
                           "read_delay": RAMP_WIDTH,
                           "note": "ASSUMED by the benchmark (not recorded): only rate x drive x width is identified"}
    return PulseTrain(f, meta)


def _ramps(opts, table: Table) -> list[Headline]:
    from memfit.fitting import fit

    cycles = (1,) if opts.smoke else (1, 2, 3)
    kinds = ("set",) if opts.smoke else ("set", "reset")
    data, labels = [], []
    for which in kinds:
        for c in cycles:
            data.append(_ramp(which, c))
            labels.append(f"{which.upper()} ramp {c}")
    g = np.concatenate([d.frame["g_read"].to_numpy() for d in data])
    fixed = dict(RAMP_FIX, R_on=1.05 / g.min(), R_off=0.95 / g.max())  # roles: R_off = low-resistance end
    vary = ["k_off"] + (["k_on"] if "reset" in kinds else [])
    initial = {"k_off": 1e3, "k_on": -1e3}
    t0 = time.perf_counter()
    try:
        res = fit("vteam", data, vary=vary, initial={k: initial[k] for k in vary}, fix=fixed, fit_x0=["x"], rtol=RTOL,
                  max_nfev=MAX_NFEV, max_steps=200_000, labels=labels)
    except Exception as exc:
        _failed(table, "CrossSim RRAM ramps", "vteam", exc)
        return []
    o = _from_result("CrossSim RRAM ramps", res, time.perf_counter() - t0)
    _add(table, o)
    table.note(f"ramps: write pulses ASSUMED (+1 V SET / -1 V RESET, {RAMP_WIDTH * 1e6:g} us; not recorded), so "
               "only k x (|V|/0.5 V - 1) x width per pulse is identified; R_on/R_off fixed at 1.05/g_min and "
               f"0.95/g_max ({fixed['R_on']:.0f} / {fixed['R_off']:.0f} Ohm); NRMSE = conductance-vs-pulse RMSE / "
               "measured range")
    return [Headline("realdata RRAM pulse ramps, vteam: mean R2 of G vs pulse", o.mean_r2, None,
                     f"{len(o.r2)} ramps; mean NRMSE {np.mean(o.nrmse):.3g}")]


# -------------------------------------------------------------------------------- relaxation
def _relax_records(levels):
    import pandas as pd

    from memfit.data import shared_datasets as sd
    from memfit.data.measurement import Retention

    rec = sd.stanford_relaxation("B")
    f = rec.frame
    ratio = (f["g_read"] / f["g0"]).to_numpy()
    g_on = float(rec.meta["gmax"])
    out, baseline = [], []
    for level in levels:
        sel = (f["level"] == level).to_numpy()
        fl = f[sel].assign(r=ratio[sel])
        g0 = float(fl.groupby("cell")["g0"].first().median())
        agg = fl.groupby("timept").agg(t=("t", "median"), r=("r", "median"))
        g = g0 * agg["r"].to_numpy()
        s = math.log(g0 / RELAX_G_OFF) / math.log(g_on / RELAX_G_OFF)
        frame = pd.DataFrame({"t": agg["t"].to_numpy(), "v": RELAX_V_READ, "i": g * RELAX_V_READ, "g_read": g})
        meta = {"name": f"level {level}", "dataset": "stanford_rram_relaxation",
                "x0": {f"s{k}": s for k in range(20)},
                "note": f"median over {fl['cell'].nunique()} cells of g/g0 per time bucket, x median g0"}
        out.append(Retention(frame, meta))
        baseline.append(float(np.sqrt(np.mean(np.log10(g / g0) ** 2))))
    return out, baseline, g_on


def _relaxation(opts, table: Table) -> list[Headline]:
    from memfit.fitting import fit

    levels = RELAX_SMOKE if opts.smoke else RELAX_LEVELS
    data, baseline, g_on = _relax_records(levels)
    vary = ["nu0", "nu1", "nu2", "nu3", "t0_drift"] if not opts.smoke else ["nu0", "nu1", "t0_drift"]
    initial = dict(nu0=0.0, nu1=0.0, nu2=0.0, nu3=0.0, t0_drift=1.0)
    fixed = dict(G_on=g_on, G_off=RELAX_G_OFF, V_read=RELAX_V_READ)
    fixed.update({k: v for k, v in initial.items() if k not in vary})
    t0 = time.perf_counter()
    try:
        res = fit("ftj_athle2023", data, vary=vary, initial={k: initial[k] for k in vary}, fix=fixed, rtol=RTOL,
                  max_nfev=MAX_NFEV, labels=[d.meta["name"] for d in data])
    except Exception as exc:
        _failed(table, "Stanford RRAM relaxation B", "ftj_athle2023", exc)
        return []
    o = _from_result("Stanford RRAM relax. B", res, time.perf_counter() - t0)
    _add(table, o)
    table.note("relaxation: log-RMSE = RMS of log10 g (decades) over the 7 reads (10 ms .. 1e4 s); no-drift baseline "
               f"(g = g0) log-RMSE mean {np.mean(baseline):.2e} vs fit {o.mean_log_rmse:.2e} dec; R2/NRMSE of the "
               "nearly flat medians (drift < 6 % over 1e4 s) are dominated by read noise; G_on = gmax "
               f"{g_on * 1e6:.0f} uS, G_off {RELAX_G_OFF * 1e6:g} uS, reads at {RELAX_V_READ} V (assumed)")
    return [Headline("realdata RRAM relaxation, ftj_athle2023 drift: mean log-RMSE [dec]", o.mean_log_rmse, None,
                     f"{len(o.r2)} levels; no-drift baseline {np.mean(baseline):.2e} dec")]


# ---------------------------------------------------------------------------------------- run
def run(opts) -> list[Headline]:
    from memfit.data import shared_datasets as sd
    from memfit.errors import MeasurementError

    try:
        root = sd.root_dir()
    except MeasurementError as exc:
        print(f"Real data: skipped -- {exc}", flush=True)
        print(flush=True)
        return []
    t_start = time.perf_counter()
    table = Table(f"Real data: fits to measured devices ({root})",
                  ["dataset", "model", "fitted parameters (value ± stderr)", "points", "R2", "NRMSE", "log-RMSE",
                   "wall"])
    heads: list[Headline] = []
    for case in (_knowm, _vo2, _ramps, _relaxation):
        heads += case(opts, table)
    table.note(f"R2 and NRMSE (RMSE / measured range) of the fitted quantity: I (Knowm), V (VO2), G per read (ramps), "
               "g (relaxation); log-RMSE in decades; wall = fit() incl. its second, reweighted pass for joint fits; "
               f"rtol {RTOL:g}")
    table.note(f"section total {time.perf_counter() - t_start:.1f} s")
    for col in (1, 2):  # Table right-aligns every column but the first: pad the text columns to read left-aligned
        width = max((len(r[col]) for r in table.rows), default=0)
        for r in table.rows:
            r[col] = r[col].ljust(width)
    table.print()
    return heads
