"""Exporters: the registry contract, SPICE round trips in ngspice, Verilog-A syntax, CrossSim schema, aihwkit tables."""

import json
import re
import shutil

import numpy as np
import pytest

from memfit.errors import PresetError
from memfit.presets import EXPORTERS, Preset, export_preset, list_presets, load_preset
from memfit.presets.exporters import aihwkit as ax
from memfit.presets.exporters import crosssim, spice, veriloga
from memfit.presets.exporters._equations import supported_models
from memfit.simulate import Stimulus, pulse_train, simulate, triangle_sweep

from .conftest import READ_V, vteam_g

NGSPICE = shutil.which("ngspice")


@pytest.mark.parametrize("name", list_presets())
@pytest.mark.parametrize("target", sorted(EXPORTERS))
def test_every_builtin_exports_or_says_why(name, target):
    p = load_preset(name)
    try:
        text = export_preset(p, target)
    except PresetError as exc:
        msg = str(exc)
        assert ("supported models: " + ", ".join(supported_models())) in msg or "has no compact model" in msg
        assert EXPORTERS[target][2] == "model"
        return
    assert text.strip()
    if EXPORTERS[target][1] == ".json":
        json.loads(text)


def test_unknown_target():
    with pytest.raises(PresetError, match="unknown export target 'matlab'; targets: spice, veriloga"):
        export_preset(load_preset("nbox"), "matlab")


def _preset_for(model: str, params: dict | None = None) -> Preset:
    """A preset document around ``model`` with ``params`` (the tables of the nbox built-in stand in)."""
    from memfit.models import get_model

    m = get_model(model)
    d = load_preset("nbox").to_dict()
    vals = m.defaults()
    vals.update(params or {})
    d["name"] = f"rt-{model}"
    d["model"] = {"name": m.name, "parameters": {k: {"value": float(v), "unit": m.parameter(k).unit}
                                                 for k, v in vals.items()}, "x0": None}
    d["d2d"] = {"parameters": {}, "correlation": {"names": [], "matrix": []}}
    return Preset(d)


CASES = [
    ("vteam", {"k_off": 1e6, "k_on": -2e6, "alpha_on": 1.0}, triangle_sweep(0.6, frequency=1e3, cycles=2), 1e-7),
    ("vteam", {"k_off": 1e6, "k_on": -2e6, "alpha_on": 1.0},
     pulse_train([-0.5] * 5 + [0.5] * 5, 1e-6, rise=1e-8, read_v=0.01), 1e-9),
    ("strukov2008", None, triangle_sweep(1.2, frequency=1.0, cycles=1), 1e-3),
    ("joglekar2009", None, triangle_sweep(1.2, frequency=1.0, cycles=2), 1e-3),
    ("biolek2009", None, triangle_sweep(1.2, frequency=1.0, cycles=2), 1e-3),
    ("biolek2009", None, pulse_train([1.4] * 4 + [-1.4] * 4, 0.02, rise=1e-3, read_v=0.1), 1e-4),
    ("prodromakis2011", None, triangle_sweep(1.2, frequency=1.0, cycles=2), 1e-3),
    ("yakopcic2011", None, triangle_sweep(1.2, frequency=1.0, cycles=2), 1e-3),
    ("schroedter2022", None, triangle_sweep(3.0, frequency=0.02, cycles=1), 0.05),
    ("schroedter2022", None, pulse_train([2.5] * 4 + [-3.0] * 4, 0.1, rise=1e-3, read_v=-0.2, read_width=0.02), 1e-3),
]


@pytest.mark.skipif(NGSPICE is None, reason="ngspice not installed")
@pytest.mark.parametrize("model, params, stim, tmax", CASES, ids=[f"{c[0]}-{c[2].name.split('(')[0]}" for c in CASES])
def test_spice_round_trip(model, params, stim, tmax, tmp_path):
    p = _preset_for(model, params)
    t, v, i_sp, x_sp = spice.run_ngspice(spice.testbench(p, stim, tmax), str(tmp_path), exe=NGSPICE)
    keep = (t >= stim.t[0]) & (t <= stim.t[-1])
    tt = np.union1d(t[keep], stim.breakpoints)
    ref = simulate(model, Stimulus(stim.segments, stim.roles, tt, stim.name), params=p.model_parameters, rtol=1e-9)
    i_ref = ref["i"].to_numpy()[np.searchsorted(tt, t[keep])]
    err = np.max(np.abs(i_sp[keep] - i_ref)) / np.max(np.abs(i_ref))
    assert err < 0.01, f"{model}: ngspice vs memfit max error {err:.2e} of max current"
    assert t[-1] >= stim.t[-1] * (1 - 1e-9)  # the whole transient, not a truncated one
    x = ref[ref.model.state_names[0]].to_numpy()
    assert np.ptp(x) > 0.02  # the stimulus really switches the device (the test would be empty otherwise)


@pytest.mark.skipif(NGSPICE is None, reason="ngspice not installed")
def test_run_ngspice_refuses_a_truncated_transient(tmp_path):
    """ngspice exits with status 0 after aborting a transient; run_ngspice must not return the partial data."""
    stim = triangle_sweep(1.2, frequency=1.0, cycles=1)
    net = spice.testbench(_preset_for("biolek2009"), stim, 1e-3)
    with pytest.raises(PresetError, match="truncated transient"):
        spice.run_ngspice(net, str(tmp_path), exe=NGSPICE, t_end=10.0)  # asks for more than the netlist runs


def test_spice_unsupported_model_names_supported_list():
    with pytest.raises(PresetError, match=r"model 'ftj_athle2023' has no SPICE/Verilog-A equations; supported models: "
                                          r"biolek2009, joglekar2009"):
        spice.subcircuit(load_preset("ftj-balanced"))


@pytest.mark.parametrize("model", supported_models())
def test_veriloga_syntax(model):
    p = _preset_for(model)
    text = veriloga.module(p)
    tokens = re.findall(r"\b(begin|end|module|endmodule)\b", text)
    assert tokens.count("begin") == tokens.count("end") and tokens.count("module") == tokens.count("endmodule") == 1
    depth = 0
    for tok in tokens:  # begin/end nest properly
        depth += {"begin": 1, "end": -1}.get(tok, 0)
        assert depth >= 0
    for k, v in p.model_parameters.items():
        m = re.search(rf"parameter real P_{k} = ([^;]+);", text)
        assert m and float(m.group(1)) == pytest.approx(v), k
    assert "idt(dxdt, x0)" in text and "<+" in text and text.count("(") == text.count(")")
    used = set(re.findall(r"\bP_(\w+)", text))
    assert used <= set(p.model_parameters)  # every parameter used is declared


@pytest.mark.parametrize("name", list_presets())
def test_crosssim_schema(name):
    p = load_preset(name)
    d = json.loads(export_preset(p, "crosssim"))
    crosssim.check(d)
    dev = d["xbar"]["device"]
    assert dev["Rmin"] == pytest.approx(1 / p.g_max) and dev["Rmax"] == pytest.approx(1 / p.g_min)
    assert dev["programming_error"]["magnitude"] == pytest.approx(p.write_verify["residual_std"])
    bad = json.loads(json.dumps(d))
    bad["xbar"]["device"]["read_noise"]["magnitude"] = -1
    with pytest.raises(PresetError, match="xbar.device.read_noise.magnitude"):
        crosssim.check(bad)
    bad["xbar"]["device"]["read_noise"]["magnitude"] = 0
    bad["xbar"]["device"]["Gmax"] = 1
    with pytest.raises(PresetError, match="Additional properties"):
        crosssim.check(bad)


def test_aihwkit_step_table_reproduces_the_simulated_ramp(vteam_preset):
    """Applying the PiecewiseStep table pulse by pulse follows the model's own ramp (closed form here)."""
    cfg = ax.device_config(vteam_preset)
    # potentiation from g_min: the VTEAM ramp moves x by -0.02 per pulse from x = 1
    n = 30
    w_table = ax.apply_steps(cfg, -1.0, n, "up")
    w_model = ax.to_w(vteam_preset, vteam_g(1.0 - 0.02 * np.arange(n + 1)))
    assert np.max(np.abs(w_table - w_model)) < 0.03
    w_table = ax.apply_steps(cfg, 1.0, n, "down")
    w_model = ax.to_w(vteam_preset, vteam_g(0.01 * np.arange(n + 1)))
    assert np.max(np.abs(w_table - w_model)) < 0.03
    assert cfg["dw_min_std"] == pytest.approx(0.1, abs=0.04)  # c2c of k_on, k_off: 10 %


def test_aihwkit_noise_model_and_python_text():
    p = load_preset("pcm-reference")
    d = json.loads(export_preset(p, "aihwkit"))
    nm = d["noise_model"]
    assert nm["custom_drift_model"]["g_lst"][0] <= 0.25 and nm["custom_drift_model"]["g_lst"][-1] >= 25.0
    # the quadratic reproduces residual_std * G [uS] (exact: it is linear in G)
    x = np.linspace(0.01, 1, 5)
    sigma = np.polynomial.polynomial.polyval(x, nm["prog_coeff"])
    assert np.allclose(sigma, p.write_verify["residual_std"] * x * 25.0, rtol=1e-9)
    compile(d["python"], "aihwkit_config.py", "exec")  # valid Python
    assert "device" not in d  # no pulse tables in a statistical preset


def test_aihwkit_round_trip_in_aihwkit(vteam_preset):
    """Optional (pip install aihwkit, Python >= 3.12): the exported PiecewiseStep device, pulsed in aihwkit,
    follows the preset's own ramp within its cycle-to-cycle spread."""
    pytest.importorskip("aihwkit")
    from aihwkit.simulator.configs import SingleRPUConfig
    from aihwkit.simulator.configs.devices import PiecewiseStepDevice
    from aihwkit.utils.visualization import compute_pulse_response, get_tile_for_plotting

    cfg = {k: v for k, v in ax.device_config(vteam_preset).items() if k != "class"}
    # one nominal device: the device-to-device spreads (step size, window ends) are not part of a ramp check
    cfg.update(dw_min_dtod=0.0, w_min_dtod=0.0, w_max_dtod=0.0)
    dev = PiecewiseStepDevice(**cfg)
    assert dev.dw_min == pytest.approx(cfg["dw_min"])
    n_up, n_traces = 30, 400
    tile = get_tile_for_plotting(SingleRPUConfig(device=dev), n_traces, w_init=-1.0)
    w = compute_pulse_response(tile, np.ones(n_up)).reshape(n_up, -1)   # (pulse, trace), c2c noise on
    # the preset's ramp from g_min, in aihwkit weight units (the VTEAM test device: x -0.02 per up pulse)
    g_model = vteam_g(1.0 - 0.02 * np.arange(0, n_up + 1))
    w_model = ax.to_w(vteam_preset, g_model[1:])
    mean, spread = w.mean(axis=1), w.std(axis=1)
    assert np.max(np.abs(mean - w_model)) < 0.03, np.max(np.abs(mean - w_model))
    # the spread of the traces against the compact model's own cycle-to-cycle ramps: the preset's c2c is 10 %
    # on k_on per pulse, i.e. x moves by -0.02 (1 + 0.1 xi) per pulse (closed form of the VTEAM test device)
    rng = np.random.default_rng(0)
    x_mc = 1.0 - np.cumsum(0.02 * (1.0 + 0.1 * rng.standard_normal((n_up, 4000))), axis=0)
    w_mc = ax.to_w(vteam_preset, vteam_g(x_mc))
    ratio = spread[5:] / w_mc.std(axis=1)[5:]
    assert np.all((ratio > 0.6) & (ratio < 1.6)), ratio
    inside = np.abs(w - w_model[:, None]) <= 3 * w_mc.std(axis=1)[:, None] + 0.03
    assert inside.mean() > 0.97