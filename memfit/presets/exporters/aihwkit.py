r"""aihwkit export: a PiecewiseStep pulsed device and a custom-drift inference noise model.

Install aihwkit with ``pip install aihwkit`` (needs Python >= 3.12 and the
torch it was built against); memfit itself never imports it.

Weight mapping: ``w = -1 + 2 (G - g_min)/(g_max - g_min)`` (``w_min = -1``,
``w_max = 1``), so a conductance step ``dG`` is ``dw = 2 dG/(g_max - g_min)``.

Pulsed device (``PiecewiseStepDevice``)
    ``dw_min`` is the mean of the up and down step magnitudes at ``w = 0``;
    ``piecewise_up[k]`` / ``piecewise_down[k]`` are the step magnitudes at
    ``n`` equally spaced weights from ``w_min`` to ``w_max`` divided by
    ``dw_min`` (aihwkit interpolates linearly between them: one pulse changes
    ``w`` by ``dw_min * table(w)``); ``dw_min_std`` is the cycle-to-cycle
    relative std of a step (dg_std/|dg_mean| at mid-window), ``dw_min_dtod``
    the device-to-device relative std of the step size, ``w_min_dtod`` /
    ``w_max_dtod`` the window's device-to-device spread (in units of the
    half-range), ``up_down = 0`` (the asymmetry is in the tables).
Inference noise model (``CustomDriftPCMLikeNoiseModel``)
    ``custom_drift_model`` = the preset's nu(G) table (g in uS);
    ``prog_coeff`` = a quadratic in ``g/g_max`` fitted to the write-verify
    residual ``residual_std * G`` [uS] with ``prog_coeff_g_max_reference =
    g_max`` [uS]; ``t_0`` the drift reference time; ``g_converter =
    SinglePairConductanceConverter(g_min, g_max)`` [uS].

:func:`apply_steps` applies the step table pulse by pulse the way the
PiecewiseStep device does (used by the tests to check the tables against
the preset without aihwkit).
"""

from __future__ import annotations

import json

import numpy as np

from memfit.errors import PresetError

#: Points of the piecewise step tables.
N_TABLE = 17


def to_w(preset, g):
    """Conductance [S] -> aihwkit weight in [-1, 1]."""
    return -1.0 + 2.0 * (np.asarray(g, float) - preset.g_min) / (preset.g_max - preset.g_min)


def device_config(preset, n: int = N_TABLE) -> dict:
    """``PiecewiseStepDevice`` keyword arguments (a JSON-able dict) from the preset's pulse response."""
    if not preset.has_pulse_response:
        raise PresetError(f"preset {preset.name!r} has no pulse response: no pulsed-device config can be exported")
    span = preset.g_max - preset.g_min
    g_pts = preset.g_min + (np.linspace(-1.0, 1.0, n) + 1.0) * 0.5 * span
    mid = 0.5 * (preset.g_min + preset.g_max)
    up_m, up_s = preset.dg(g_pts, "up")
    dn_m, dn_s = preset.dg(g_pts, "down")
    mu, su = (float(a) for a in preset.dg(mid, "up"))
    md, sd = (float(a) for a in preset.dg(mid, "down"))
    dw_up, dw_dn = 2 * abs(mu) / span, 2 * abs(md) / span
    dw_min = 0.5 * (dw_up + dw_dn)
    if dw_min <= 0:
        raise PresetError(f"preset {preset.name!r}: zero step at mid-window; cannot scale the step tables")
    up_tab = 2 * np.clip(up_m, 0, None) / span / dw_min
    dn_tab = 2 * np.clip(-dn_m, 0, None) / span / dw_min
    c2c = 0.5 * (su / abs(mu) if mu else 0.0) + 0.5 * (sd / abs(md) if md else 0.0)
    dtod = 0.5 * (preset.pulse_response("up")["dg_dtod"] + preset.pulse_response("down")["dg_dtod"])
    return {
        "class": "PiecewiseStepDevice",
        "dw_min": float(dw_min),
        "dw_min_std": float(c2c),
        "dw_min_dtod": float(dtod),
        "up_down": 0.0,
        "up_down_dtod": 0.0,
        "w_min": -1.0,
        "w_max": 1.0,
        "w_min_dtod": float(2 * preset.g_min_dtod * preset.g_min / span),
        "w_max_dtod": float(2 * preset.g_max_dtod * preset.g_max / span),
        "piecewise_up": [float(x) for x in up_tab],
        "piecewise_down": [float(x) for x in dn_tab],
    }


def apply_steps(config: dict, w0: float, n: int, direction: str) -> np.ndarray:
    """Mean trajectory of ``n`` pulses from weight ``w0`` under a PiecewiseStep config (no noise).

    One pulse: ``w += +- dw_min * interp(w, linspace(w_min, w_max, len(table)), table)``, clipped to
    ``[w_min, w_max]``.  Returns the n + 1 weights.
    """
    table = np.asarray(config["piecewise_up" if direction == "up" else "piecewise_down"], float)
    grid = np.linspace(config["w_min"], config["w_max"], table.size)
    sign = 1.0 if direction == "up" else -1.0
    w = np.empty(n + 1)
    w[0] = w0
    for k in range(n):
        w[k + 1] = min(max(w[k] + sign * config["dw_min"] * np.interp(w[k], grid, table), config["w_min"]),
                       config["w_max"])
    return w


def noise_model(preset) -> dict:
    """``CustomDriftPCMLikeNoiseModel`` keyword arguments (conductances in uS)."""
    d = preset.drift
    g_us = d["nu_g"] * 1e6
    g_min_us, g_max_us = preset.g_min * 1e6, preset.g_max * 1e6
    # the drift table must cover the converter's range (aihwkit checks it): extend it flat
    g_lst = [min(g_min_us, float(g_us[0]))] + [float(x) for x in g_us[1:-1]] + [max(g_max_us, float(g_us[-1]))]
    if len(g_us) == 1:
        g_lst = [g_min_us, g_max_us]
        nu_m, nu_s = [float(d["nu_mean"][0])] * 2, [float(d["nu_std"][0])] * 2
    else:
        nu_m, nu_s = [float(x) for x in d["nu_mean"]], [float(x) for x in d["nu_std"]]
    wv = preset.write_verify
    gg = np.linspace(preset.g_min, preset.g_max, 21)
    sigma_us = wv["residual_std"] * gg * 1e6
    coeff = np.polynomial.polynomial.polyfit(gg / preset.g_max, sigma_us, 2)
    return {
        "class": "CustomDriftPCMLikeNoiseModel",
        "custom_drift_model": {"g_lst": g_lst, "nu_mean_lst": nu_m, "nu_std_lst": [abs(x) for x in nu_s]},
        "prog_coeff": [float(c) for c in coeff],
        "prog_coeff_g_max_reference": g_max_us,
        "g_max": g_max_us,
        "t_0": d["t0"],
        "g_converter": {"class": "SinglePairConductanceConverter", "g_min": g_min_us, "g_max": g_max_us},
        "read_noise_note": f"preset read noise {preset.read_noise:.4g} (relative, per read); aihwkit's PCM 1/f read "
                           "noise model is kept (read_noise_scale=1)",
    }


def export_dict(preset) -> dict:
    """Both configurations plus the weight mapping, as one JSON-able dict."""
    out = {"format": "memfit.aihwkit", "preset": preset.name, "install": "pip install aihwkit  (Python >= 3.12)",
           "mapping": {"g_min": preset.g_min, "g_max": preset.g_max, "w_min": -1.0, "w_max": 1.0,
                       "rule": "w = -1 + 2 (G - g_min)/(g_max - g_min)"},
           "noise_model": noise_model(preset)}
    if preset.has_pulse_response:
        out["device"] = device_config(preset)
    return out


def python_text(preset) -> str:
    """Runnable Python building the aihwkit objects (needs ``pip install aihwkit``)."""
    d = export_dict(preset)
    lines = [f"# aihwkit configuration of memfit preset {preset.name!r} (generated by memfit)",
             "# install: pip install aihwkit   (Python >= 3.12)",
             "from aihwkit.simulator.configs import SingleRPUConfig, InferenceRPUConfig",
             "from aihwkit.simulator.configs.devices import PiecewiseStepDevice",
             "from aihwkit.inference.noise.pcm import CustomDriftPCMLikeNoiseModel",
             "from aihwkit.inference.converter.conductance import SinglePairConductanceConverter",
             ""]
    if "device" in d:
        kw = {k: v for k, v in d["device"].items() if k != "class"}
        lines.append(f"device = PiecewiseStepDevice(**{json.dumps(kw)})")
        lines.append("training_config = SingleRPUConfig(device=device)")
    nm = d["noise_model"]
    gc = nm["g_converter"]
    lines += [
        f"g_converter = SinglePairConductanceConverter(g_min={gc['g_min']!r}, g_max={gc['g_max']!r})",
        "noise_model = CustomDriftPCMLikeNoiseModel(",
        f"    custom_drift_model={json.dumps(nm['custom_drift_model'])},",
        f"    prog_coeff={nm['prog_coeff']!r}, prog_coeff_g_max_reference={nm['prog_coeff_g_max_reference']!r},",
        f"    g_converter=g_converter, t_0={nm['t_0']!r})",
        "inference_config = InferenceRPUConfig(noise_model=noise_model)",
        "",
    ]
    return "\n".join(lines)


def export(preset) -> str:
    """Exporter entry point: the JSON dict with the runnable Python under ``"python"``."""
    d = export_dict(preset)
    d["python"] = python_text(preset)
    return json.dumps(d, indent=2)
