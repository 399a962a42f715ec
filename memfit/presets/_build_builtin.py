r"""Generate the built-in presets (``memfit/presets/builtin/*.json``) -- reproducible, documented choices.

Run ``python -m memfit.presets._build_builtin [NAME ...]`` (all presets by
default; a few minutes on one core, the FTJ ramps dominate).  Every preset
except ``pcm-reference`` is *derived by simulation* with
:func:`memfit.presets.derive_preset` from the registered compact model; this
file only fixes the operating conditions and the variability assumptions,
with their sources.

FTJ cases (Lund W/HZO/TiN FTJ, model ``ftj_athle2023`` with its published
defaults: G_max = G_on = 14 nS at a 0.3 V read, drift law nu(w) = 0.0122|w|^3
- 0.0241 w^2 + 0.0112|w| + 0.001, thesis eqs. 3.4-3.5).  The thesis (seed
001, sec. 3.1.1) defines three aihwkit response models of the same device:

``ftj-extreme``
    "grounded purely in the measured device's characteristics at pulse
    lengths around 1 us": identical 1 us pulses at the extreme amplitudes of
    the published scheme (+2.0 V, -1.9 V).  Nearly binary (largest dw_min).
``ftj-balanced``
    "extrapolated device behavior at ns pulse lengths": identical 6 ns
    pulses, +2.0 V up, -1.7 V down; dw_min ~ 0.1 in aihwkit units (w in
    [-1, 1]) and asymmetric, the thesis's figures (sec. 5: "Delta w_min (=
    0.1)", asymmetric response).
``ftj-constrained``
    "based on the Balanced model but ... only operated in the middle range
    of polarization", linear, ~50x smaller dw_min: the device is first
    programmed to the middle of the window (the 7 bins with the lowest
    activation voltage switched, s = 0.35), then 0.1 ns pulses (+1.6 V up,
    -0.7 V down) move it by ~1e-3 of the window per pulse.  In this model the
    up-ramp steps vary by < 2x over the constrained range; a depression
    ramp's first pulse reverses the most recently switched bins at once (a
    large first step) -- recorded as simulated, not smoothed.

Variability (ASSUMED, no published FTJ statistics: the thesis says the drift
law "was made deterministic" for lack of multiple measurements): device-to-
device 2 % on V_a and V_th (normal), cycle-to-cycle 1 % on V_a and V_th.
Read noise: 3.5 % ("short-term weight noise", thesis Table 3.1, from thermal
and shot noise at 10 MHz, 100 MOhm, 1.78 nA).

NbOx (``nbox``): model ``schroedter2022`` with the authors' parameters and
bench resistors, the lab's pulse scheme of its default stimulus (+2.5 V,
0.1 s pulses up; -3.0 V, 0.1 s down; reads at -0.2 V, 20 ms).  ASSUMED
variability: d2d 5 % on c1 and A_r (log-normal), c2c 2 % on c1.

PCM reference (``pcm-reference``): a statistical preset (no compact model,
no pulse tables) from published statistics for comparison:

* window 0.25 .. 25 uS (CrossSim ``PCMJoshi``: "SUGGESTED ON/OFF RATIO:
  100 (0.25 to 25 uS)"; aihwkit ``PCMLikeNoiseModel`` g_max = 25 uS);
* programming error sigma_G = -0.00178767 G^2 + 0.07585724 G + 0.28638599
  [uS, G in uS]: quadratic fit to Joshi et al., Nat. Commun. 11, 2473
  (2020), doi:10.1038/s41467-020-16108-9, Fig. 3(b) (CrossSim
  ``simulator/devices/custom/PCM_Joshi.py``) -> write_verify.residual_std;
* drift nu ~ N(mu, sigma), mu = clip(-0.0155 ln(g/g_max) + 0.0244, 0.049,
  0.1), sigma = clip(-0.0125 ln(g/g_max) - 0.0059, 0.008, 0.045), t0 = 20 s;
  read noise q_s = min(0.0088 (g/g_max)^-0.65, 0.2) (aihwkit
  ``PCMLikeNoiseModel``, Nandakumar et al., ICECS 2019,
  doi:10.1109/ICECS46596.2019.8964852);
* read voltage 0.2 V and an ohmic read (ASSUMED: the sources give neither).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "builtin"

FTJ_REF = ("R. Athle, M. Borg, IEEE Trans. Electron Devices 70(3), 1412 (2023) (device); Lund University / Ericsson "
           "master's thesis on HfZrO FTJ synapses for analog in-memory computing (Extreme/Balanced/Constrained "
           "response models, G_max 14 nS, drift law eqs. 3.4-3.5, Table 3.1); model ftj_athle2023 (memfit)")
FTJ_VAR = {"d2d": {"V_a": 0.02, "V_th": 0.02}, "c2c": {"V_a": 0.01, "V_th": 0.01}}
FTJ_NOTES = ["variability ASSUMED (no published FTJ statistics): d2d 2 % on V_a and V_th, c2c 1 % on V_a and V_th",
             "read noise 3.5 %: thesis Table 3.1 short-term weight noise (normalised to the weight range there)"]


def _d2d_normal(model, rel: dict) -> dict:
    nominal = model.defaults()
    return {"parameters": {k: {"distribution": "normal", "mean": nominal[k], "std": r * abs(nominal[k])}
                           for k, r in rel.items()}, "correlation": {"names": [], "matrix": []}}


def ftj(case: str):
    from memfit.models import get_model
    from memfit.presets.derive import derive_preset

    m = get_model("ftj_athle2023")
    common = dict(read_v=0.3, read_width=1e-6, read_noise=0.035, reference=FTJ_REF, c2c=FTJ_VAR["c2c"],
                  d2d=_d2d_normal(m, FTJ_VAR["d2d"]), n_devices=12, n_c2c=12, n_grid=24, seed=1,
                  drift_time=1e4, generator="memfit.presets._build_builtin", notes=FTJ_NOTES)
    wv = {"tolerance": 0.02, "max_pulses": 40, "v_start": 0.5, "v_step": 0.1, "v_max": 2.0, "v_start_down": -0.4,
          "v_max_down": -1.9, "width": 1e-6, "n_devices": 12}
    if case == "extreme":
        return derive_preset(
            m, name="ftj-extreme", pulses={"up": {"amplitude": 2.0, "width": 1e-6, "n": 10},
                                           "down": {"amplitude": -1.9, "width": 1e-6, "n": 10}},
            rise=1e-8, write_verify=wv,
            description="HfZrO FTJ 'Extreme': measured device at 1 us pulses (identical +2.0 V / -1.9 V pulses: "
                        "nearly binary steps)", **common)
    if case == "balanced":
        return derive_preset(
            m, name="ftj-balanced", pulses={"up": {"amplitude": 2.0, "width": 6e-9, "n": 150},
                                            "down": {"amplitude": -1.7, "width": 6e-9, "n": 150}},
            rise=6e-10, write_verify=dict(wv, width=6e-9),
            description="HfZrO FTJ 'Balanced': ns pulses (access resistance resolved), dw_min ~ 0.1, asymmetric",
            **common)
    if case == "constrained":
        x0 = {f"s{k}": (1.0 if k < 7 else 0.0) for k in range(20)}
        return derive_preset(
            m, name="ftj-constrained", x0=x0,
            pulses={"up": {"amplitude": 1.6, "width": 1e-10, "n": 150},
                    "down": {"amplitude": -0.7, "width": 1e-10, "n": 150}},
            rise=1e-11, write_verify=dict(wv, width=1e-10, v_start=1.0, v_max=1.6, v_step=0.05, v_start_down=-0.5,
                                          v_max_down=-0.8, tolerance=0.01),
            description="HfZrO FTJ 'Constrained': operated in the middle of the polarization range, ~50x smaller "
                        "steps than 'Balanced'",
            **common)
    raise ValueError(case)


def nbox():
    from memfit.models import get_model
    from memfit.presets.derive import derive_preset

    m = get_model("schroedter2022")
    nominal = m.defaults()
    d2d = {"parameters": {k: {"distribution": "lognormal", "mean": nominal[k], "std": 0.05 * nominal[k]}
                          for k in ("c1", "A_r")}, "correlation": {"names": [], "matrix": []}}
    return derive_preset(
        m, name="nbox", pulses={"up": {"amplitude": 2.5, "width": 0.1, "n": 32},
                                "down": {"amplitude": -3.0, "width": 0.1, "n": 32}},
        read_v=-0.2, read_width=0.02, rise=1e-3, c2c={"c1": 0.02}, d2d=d2d, n_devices=12, n_c2c=12,
        read_noise=0.0, seed=2, drift_time=100.0,
        write_verify={"tolerance": 0.01, "max_pulses": 30, "v_start": 1.5, "v_step": 0.1, "v_max": 3.0,
                      "v_start_down": -1.5, "v_max_down": -3.0, "width": 0.1, "n_devices": 12},
        description="NaMLab analog NbOx memristor (Schroedter et al. 2022 compact model with R_s = 278 Ohm, "
                    "R_p = 8 MOhm), lab pulse scheme: +2.5 V / -3.0 V, 0.1 s pulses, reads at -0.2 V",
        generator="memfit.presets._build_builtin",
        notes=["variability ASSUMED: d2d 5 % (log-normal) on c1 and A_r, c2c 2 % on c1",
               "read noise not measured: 0 (set it from measured read statistics)"])


def pcm_reference():
    from memfit import __version__
    import datetime as _dt

    from memfit.presets.derive import count_levels
    from memfit.presets.preset import Preset
    from memfit.presets.schema import SCHEMA_VERSION, q, qa

    g_max, g_min = 25e-6, 0.25e-6
    g = np.linspace(g_min, g_max, 25)
    x = g / g_max
    nu_mean = np.clip(-0.0155 * np.log(x) + 0.0244, 0.049, 0.1)
    nu_std = np.clip(-0.0125 * np.log(x) - 0.0059, 0.008, 0.045)
    q_s = np.minimum(0.0088 / x ** 0.65, 0.2)
    # programming error of Joshi 2020 (uS), relative to the target, over targets in the middle 80 % of the window
    gt = np.linspace(g_min + 0.1 * (g_max - g_min), g_max - 0.1 * (g_max - g_min), 101) * 1e6
    sig = np.maximum(-0.00178767 * gt ** 2 + 0.07585724 * gt + 0.28638599, 0.0)
    residual = float(np.sqrt(np.mean((sig / gt) ** 2)))
    read_noise = float(np.minimum(0.0088 / 0.5 ** 0.65, 0.2))  # q_s at mid-window
    v = np.linspace(-0.3, 0.3, 61)
    doc = {
        "schema_version": SCHEMA_VERSION,
        "name": "pcm-reference",
        "description": "PCM-like reference device from published statistics (programming error, drift, read "
                       "noise); statistical preset without a compact model, for comparison",
        "reference": "V. Joshi et al., Nat. Commun. 11, 2473 (2020), doi:10.1038/s41467-020-16108-9 (programming "
                     "error, Fig. 3b as fitted in CrossSim PCM_Joshi); S. R. Nandakumar et al., ICECS 2019, "
                     "doi:10.1109/ICECS46596.2019.8964852 (drift and read noise as in aihwkit PCMLikeNoiseModel)",
        "model": None,
        "read": {"voltage": q(0.2, "V"), "iv": {"v": qa(v, "V"), "i_rel": qa(v / 0.2, "1")},
                 "noise": q(read_noise, "1")},
        "conductance": {"g_min": q(g_min, "S"), "g_max": q(g_max, "S")},
        "pulse_response": None,
        "d2d": {"parameters": {}, "correlation": {"names": [], "matrix": []}},
        "drift": {"law": "power", "t0": q(20.0, "s"), "nu_g": qa(g, "S"), "nu_mean": qa(nu_mean, "1"),
                  "nu_std": qa(nu_std, "1")},
        "faults": {"stuck_on": q(0.0, "1"), "stuck_off": q(0.0, "1")},
        "levels": count_levels(g_min + 0.1 * (g_max - g_min), g_max, math.hypot(residual, read_noise)),
        "write_verify": {"tolerance": q(0.0, "1"), "max_pulses": 0, "v_start": None, "v_step": None, "v_max": None,
                         "width": None, "success_rate": q(1.0, "1"), "pulses_mean": q(0.0, "1"),
                         "pulses_std": q(0.0, "1"), "residual_std": q(residual, "1")},
        "provenance": {
            "memfit_version": __version__,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "generator": "memfit.presets._build_builtin",
            "sources": [],
            "fit_report": None,
            "notes": ["programming scheme not published with the statistics: write_verify holds only the residual "
                      "programming error (RMS of sigma_G/G over targets in the middle 80 % of the window)",
                      "read voltage 0.2 V and ohmic read ASSUMED",
                      f"read noise = aihwkit q_s at g = g_max/2 ({read_noise:.4f}); q_s(g) table: "
                      + ", ".join(f"{a:.4g}" for a in q_s[::6])],
        },
    }
    return Preset(doc)


BUILDERS = {
    "ftj-extreme": lambda: ftj("extreme"),
    "ftj-balanced": lambda: ftj("balanced"),
    "ftj-constrained": lambda: ftj("constrained"),
    "nbox": nbox,
    "pcm-reference": pcm_reference,
}


def main(argv=None) -> int:
    import time

    names = list(argv if argv is not None else sys.argv[1:]) or list(BUILDERS)
    for name in names:
        t0 = time.perf_counter()
        p = BUILDERS[name]()
        path = p.save(OUT / f"{name}.json")
        print(f"{path} ({time.perf_counter() - t0:.1f} s)\n{p.summary()}\n", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
