"""Memcapacitive crossbars in the network runtime (issue 13 items 3-5).

References are independent of the code under test: hand-built capacitances ``C = C_min + (C_max -
C_min) max(+-W, 0) / w_max`` and charges ``sum_j C_ij V_j`` in plain loops, the float network,
``sum C V^2`` and ``sum G V^2 t_read`` in numpy, the Kull et al. 2013 ADC figures (3.06 mW at
1.2 GS/s -> 2.55 pJ per conversion), and parameters recovered from data generated with known values.
"""

import numpy as np
import pandas as pd
import pytest

from memfit.crossbar.config import get_config
from memfit.crossbar.data import load_digits
from memfit.crossbar.device import CrossbarDevice
from memfit.crossbar.energy import Periphery, network_cost
from memfit.crossbar.evaluate import compare_crossbar_kinds, evaluate_accuracy
from memfit.crossbar.layers import Dense, ReLU
from memfit.crossbar.memcap import (CapacitiveAnalogMatrix, CapacitiveMatrix, capacitance_window,
                                    capacitive_factory, factory_from_options)
from memfit.crossbar.network import AnalogNetwork, Network
from memfit.crossbar.train import builtin_network
from memfit.errors import ModelError, ParameterError, PresetError

C_MIN, C_MAX = 1e-12, 100e-12  # biolek2013_memcapacitor defaults Clow, Chigh
E_ADC = 3.06e-3 / 1.2e9  # Kull et al. 2013: P / f_s = FoM_W 2^ENOB = 2.55 pJ per conversion [J]


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def _tiny_net():
    w1 = np.array([[0.5, -1.0, 0.25],
                   [0.0, 0.75, -0.5],
                   [-0.25, 0.1, 1.0],
                   [1.0, 0.0, -0.75]])
    w2 = np.array([[0.3, -0.6, 0.9, 0.2],
                   [-0.4, 0.5, 0.1, -1.2]])
    return Network.sequential([Dense(w1, np.array([0.1, -0.2, 0.0, 0.05])), ReLU(), Dense(w2)], input_shape=(3,))


def _hand_caps(w, w_max):
    """(C+, C-) as (in, out) lists of lists, from the mapping formula, cell by cell."""
    n_out, n_in = w.shape
    cp = [[C_MIN + (C_MAX - C_MIN) * max(w[i, j], 0.0) / w_max for i in range(n_out)] for j in range(n_in)]
    cm = [[C_MIN + (C_MAX - C_MIN) * max(-w[i, j], 0.0) / w_max for i in range(n_out)] for j in range(n_in)]
    return cp, cm


# ---------------------------------------------------------------------------- charge MAC
def test_layer_charge_mac_equals_sum_c_v_on_split_tiles():
    net = _tiny_net()
    cfg = get_config("baseline-ftj").ideal().replace(tile_size=(2, 3))  # 3 inputs x 4 outputs -> 4 tiles
    anet = AnalogNetwork(net, None, cfg, rng=0, matrix_factory=capacitive_factory(read_voltage=0.8))
    layer = anet.tiles["dense0"]
    assert isinstance(layer, CapacitiveAnalogMatrix) and len(layer.tiles) == 4
    w = net["dense0"].weight
    w_max = 1.0
    x = np.array([0.2, -0.4, 1.0])
    y_layer = np.zeros(4)
    for spec, m in layer.tiles:
        rows = range(spec.in_start, spec.in_stop)
        cols = range(spec.out_start, spec.out_stop)
        xs = [x[j] for j in rows]
        alpha = max(abs(v) for v in xs)  # abs-max noise management per tile
        v = [0.8 * xj / alpha for xj in xs]  # row voltages [V]
        cp, cm = _hand_caps(w, w_max)
        qp, qm = m.column_charges(np.array([v]))
        for b, i in enumerate(cols):
            q_plus = sum(cp[j][i] * vj for j, vj in zip(rows, v))
            q_minus = sum(cm[j][i] * vj for j, vj in zip(rows, v))
            assert qp[0, b] == pytest.approx(q_plus, rel=1e-12)
            assert qm[0, b] == pytest.approx(q_minus, rel=1e-12)
            y_layer[i] += (q_plus - q_minus) * w_max * alpha / ((C_MAX - C_MIN) * 0.8)
    np.testing.assert_allclose(layer.forward(x), y_layer, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(y_layer, w @ x, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(layer.effective_weight(), w, rtol=1e-12, atol=1e-15)


def test_memcap_network_equals_float_network(digits):
    net = builtin_network("digits-mlp")
    for tile_size in (256, 24):  # one tile per layer, and layers split over several tiles
        cfg = get_config("baseline-ftj").ideal().replace(tile_size=tile_size)
        anet = AnalogNetwork(net, None, cfg, rng=1, matrix_factory=capacitive_factory(c_parasitic=0.3e-12))
        ref = net.forward(digits.x_test)
        for t in (0.0, 3.15e7):  # memcapacitors do not drift
            out = anet.forward(digits.x_test, t=t)
            np.testing.assert_allclose(out, ref, rtol=1e-9, atol=1e-9 * np.max(np.abs(ref)))
        assert anet.accuracy(digits.x_test, digits.y_test) == net.accuracy(digits.x_test, digits.y_test)
    with pytest.raises(ParameterError, match="t must be >= 0 s"):
        anet.forward(digits.x_test[:2], t=-1.0)


def test_adc_and_dac_follow_the_config(digits):
    """8-bit DAC/ADC: outputs on the ADC grid (in charge), close to but not equal to the float outputs."""
    net = builtin_network("digits-mlp")
    cfg = get_config("baseline-ftj").ideal().replace(dac_bits=8, adc_bits=8, bound_management="iterative")
    anet = AnalogNetwork(net, None, cfg, rng=0, matrix_factory=capacitive_factory())
    layer = anet.tiles["fc1"]
    m = layer.tiles[0][1]
    assert m.adc_bits == 8 and m.q_full_scale == pytest.approx(cfg.out_bound * 1.0 * (C_MAX - C_MIN))
    acc = anet.accuracy(digits.x_test, digits.y_test)
    assert abs(acc - net.accuracy(digits.x_test, digits.y_test)) < 0.02


def test_accuracy_falls_with_cycle_to_cycle_variation(digits):
    net = builtin_network("digits-mlp")
    cfg = get_config("baseline-ftj").ideal()
    means, sems = [], []
    for c2c in (0.0, 0.3, 0.6):
        df = evaluate_accuracy(net, digits.x_test, digits.y_test, None, cfg, times=[0.0], repeats=10, seed=3,
                               progress=False, matrix_factory=capacitive_factory(c2c_std=c2c))
        means.append(df["accuracy"].mean())
        sems.append(df["accuracy"].std(ddof=1) / np.sqrt(len(df)))
    assert means[0] == pytest.approx(net.accuracy(digits.x_test, digits.y_test))
    for k in range(2):
        assert means[k + 1] <= means[k] + 2 * max(sems[k], sems[k + 1], 1e-3)
    assert means[2] < means[0] - 0.05


# ---------------------------------------------------------------------------- fitted parameters
def _noisy(sim, rel, floor, seed):
    rng = np.random.default_rng(seed)
    i = sim.frame["i"].to_numpy()
    sim.frame["i"] = i * (1 + rel * rng.standard_normal(i.size)) + floor * rng.standard_normal(i.size)
    return sim


@pytest.mark.slow
def test_parameters_from_a_memcapacitor_fit_give_the_same_network_accuracy(digits):
    """Fit C.4 to its own simulated q-V response (current of a 4 V, 50 kHz sine), recover Clow/Chigh/beta,
    and build the crossbar from the fit: same accuracy as from the generating parameters."""
    from memfit.fitting import fit
    from memfit.simulate import simulate, sine_sweep

    true = {"Clow": 1.25e-12, "Chigh": 80e-12, "beta": 85e-6}
    sim = simulate("biolek2013_memcapacitor", sine_sweep(amplitude=4.0, frequency=50e3, cycles=2,
                                                           points_per_cycle=300),
                   params={"Cinit": 20e-12, **true}, rtol=1e-9)
    res = fit("biolek2013_memcapacitor", _noisy(sim, 0.01, 1e-9, 1), vary=list(true), rtol=1e-8)
    for name, value in true.items():
        assert abs(res.values[name] - value) < 3 * res.stderr[name], name
        assert res.values[name] == pytest.approx(value, rel=0.01)
    assert capacitance_window("memcapacitor", res.model_params()) == pytest.approx(
        (res.values["Clow"], res.values["Chigh"]), rel=1e-12)

    net = builtin_network("digits-mlp")
    cfg = get_config("baseline-ftj")
    opts = dict(d2d_std=0.02, c2c_std=0.01, adc_bits=8)
    accs = {}
    for label, params in (("fit", res), ("true", true)):
        fac = capacitive_factory(params=params, **opts)
        df = evaluate_accuracy(net, digits.x_test, digits.y_test, None, cfg, times=[0.0], repeats=10, seed=5,
                               progress=False, matrix_factory=fac)
        accs[label] = df["accuracy"].to_numpy()
    fitted_layer = capacitive_factory(params=res, **opts)(np.ones((2, 2)), None, cfg, 0)
    assert fitted_layer.model.name == "biolek2013_memcapacitor"
    assert fitted_layer.c_max == pytest.approx(res.values["Chigh"], rel=1e-12)
    diff = accs["fit"] - accs["true"]  # common random numbers: paired differences
    sem = np.std(accs["true"], ddof=1) / np.sqrt(accs["true"].size)
    assert abs(diff.mean()) <= max(2 * sem, 2.0 / len(digits.y_test))


# ---------------------------------------------------------------------------- energy
def test_energy_per_inference_equals_direct_sums():
    net = _tiny_net()
    x = np.array([[0.5, -1.0, 0.8], [0.1, 0.4, -0.2]])
    cfg = get_config("baseline-ftj").ideal()
    p = Periphery()
    # hidden activations, computed digitally (biases included)
    h = np.maximum(x @ net["dense0"].weight.T + net["dense0"].bias, 0.0)
    layer_in = {"dense0": x, "dense2": h}

    # capacitive: E_array = sum_ij (C_ij + C_par) V_i^2 over both arrays, V = v_read x / max|x|
    c_par, vr = 0.2e-12, 0.5
    anet = AnalogNetwork(net, None, cfg, rng=0, matrix_factory=capacitive_factory(read_voltage=vr,
                                                                                   c_parasitic=c_par))
    df = network_cost(anet, x, p)
    total_arr, total_lat = 0.0, 0.0
    for name in ("dense0", "dense2"):
        w = net[name].weight
        cp, cm = _hand_caps(w, np.max(np.abs(w)))
        e = 0.0
        for s in range(2):
            v = vr * layer_in[name][s] / np.max(np.abs(layer_in[name][s]))
            e += sum((cp[j][i] + c_par) * v[j] ** 2 + (cm[j][i] + c_par) * v[j] ** 2
                     for j in range(w.shape[1]) for i in range(w.shape[0]))
        row = df[df["layer"] == name].iloc[0]
        assert row["kind"] == "capacitive"
        assert row["array [J]"] == pytest.approx(e / 2, rel=1e-12)
        assert row["ADC [J]"] == pytest.approx(w.shape[0] * E_ADC, rel=1e-12)
        assert row["latency [s]"] == pytest.approx(100e-9 + w.shape[0] / 1.2e9, rel=1e-12)
        total_arr += e / 2
        total_lat += 100e-9 + w.shape[0] / 1.2e9
    tot = df[df["layer"] == "per inference"].iloc[0]
    assert tot["array [J]"] == pytest.approx(total_arr, rel=1e-12)
    assert tot["energy [J]"] == pytest.approx(total_arr + 6 * E_ADC, rel=1e-12)
    assert tot["latency [s]"] == pytest.approx(total_lat, rel=1e-12)

    # ohmic resistive: E_array = t_read sum_ij G_ij V_i^2, over every programmed device
    dev = CrossbarDevice.ideal(g_min=1e-9, g_max=11e-9, read_voltage=0.3)
    anet = AnalogNetwork(net, dev, cfg.replace(dtype="float64"), rng=0)
    df = network_cost(anet, x, p)
    for name in ("dense0", "dense2"):
        G = np.concatenate([t.G.reshape(-1, t.G.shape[-1]) for t in anet.tiles[name].tiles])  # (devices, in)
        e = 0.0
        for s in range(2):
            v = 0.3 * layer_in[name][s] / np.max(np.abs(layer_in[name][s]))
            e += 100e-9 * np.sum(G * v[None, :] ** 2)
        row = df[df["layer"] == name].iloc[0]
        assert row["kind"] == "resistive"
        assert row["array [J]"] == pytest.approx(e / 2, rel=1e-9)
        assert row["ADC [J]"] == pytest.approx(net[name].weight.shape[0] * E_ADC, rel=1e-12)


def test_compare_crossbar_kinds_side_by_side(digits):
    net = builtin_network("digits-mlp")
    cfg = get_config("baseline-ftj").ideal()
    df = compare_crossbar_kinds(net, digits.x_test, digits.y_test, CrossbarDevice.ideal(), cfg,
                                {"c_parasitic": 0.1e-12}, repeats=2, seed=0, n_energy=8, progress=False)
    assert list(df["kind"]) == ["resistive", "capacitive"]
    acc_fp = net.accuracy(digits.x_test, digits.y_test)
    np.testing.assert_allclose(df["accuracy_mean"], acc_fp, atol=1e-12)  # ideal hardware: float accuracy
    # both kinds convert 128 + 10 outputs per inference with the same ADC
    np.testing.assert_allclose(df["ADC [J]"], 138 * E_ADC, rtol=1e-12)
    np.testing.assert_allclose(df["latency [s]"], 2 * 100e-9 + 138 / 1.2e9, rtol=1e-12)
    assert df.attrs["n_energy"] == 8
    layers = pd.DataFrame(df.attrs["energy_layers"])
    assert set(layers["kind"]) == {"resistive", "capacitive"} and len(layers) == 6


# ---------------------------------------------------------------------------- bad configurations
def test_memcapacitor_as_resistive_device_is_rejected():
    with pytest.raises(PresetError, match="is a memcapacitor .*use the capacitive crossbar"):
        CrossbarDevice.from_preset("memcapacitor")
    from memfit.presets import Preset, load_preset

    doc = load_preset("ftj-balanced").to_dict()
    doc["model"] = {"name": "biolek2013_memcapacitor", "parameters": {"Clow": {"value": 1e-12, "unit": "F"}},
                    "x0": None}
    doc["d2d"] = {"parameters": {}, "correlation": {"names": [], "matrix": []}}
    with pytest.raises(PresetError, match="'biolek2013_memcapacitor' is a memcapacitor"):
        CrossbarDevice.from_preset(Preset(doc))


def test_resistive_model_on_a_capacitive_crossbar_is_rejected():
    with pytest.raises(ModelError, match="'strukov2008' has port 'i\\(v\\)', not a memcapacitor"):
        capacitive_factory("strukov2008")
    with pytest.raises(ModelError, match="not a memcapacitor"):
        AnalogNetwork(_tiny_net(), "ftj-balanced", "ideal", matrix_factory=capacitive_factory(device=None))
    with pytest.raises(ModelError, match="not a memcapacitor"):
        CapacitiveMatrix(np.eye(2), "ftj_athle2023")
    with pytest.raises(ParameterError, match="unknown option"):
        capacitive_factory(c2c=0.1)
    with pytest.raises(ParameterError, match="unknown field"):
        factory_from_options(["foo=1"])


# ---------------------------------------------------------------------------- CLI
def test_cli_writes_the_energy_table(tmp_path, capsys):
    from memfit.cli import main

    html = tmp_path / "r.html"
    rc = main(["crossbar", "run", "--preset", "ideal", "--network", "builtin:digits-mlp", "--config", "ideal",
               "--times", "0", "--repeats", "1", "--energy-samples", "4", "--report", str(html), "-q"])
    assert rc == 0
    out = capsys.readouterr().out
    # 64-128-10 MLP: 138 conversions of 2.55 pJ; two reads of 100 ns + 138 conversions at 1.2 GS/s
    assert f"ADC {138 * E_ADC:.4g} J" in out and f"latency {2 * 100e-9 + 138 / 1.2e9:.4g} s" in out
    text = html.read_text()
    assert "Energy and latency per inference (estimate)" in text and "per inference" in text
    assert "Mean over 4 test input(s)" in text


def test_cli_compares_both_crossbar_kinds(tmp_path, capsys):
    from memfit.cli import main

    html = tmp_path / "both.html"
    rc = main(["crossbar", "run", "--preset", "ideal", "--network", "builtin:digits-mlp", "--config", "ideal",
               "--crossbar", "both", "--memcap", "c_parasitic=1e-13", "--times", "0", "--repeats", "2",
               "--energy-samples", "4", "--report", str(html), "-q"])
    assert rc == 0
    out = capsys.readouterr().out
    acc = builtin_network("digits-mlp").meta["test_accuracy"]
    assert f"capacitive accuracy {100 * acc:6.2f} ± 0.00 %" in out
    assert f"resistive  accuracy {100 * acc:6.2f} ± 0.00 %" in out
    text = html.read_text()
    assert "Memristive vs memcapacitive crossbar" in text and "biolek2013_memcapacitor" in text
    assert text.count("<td>capacitive</td>") >= 2  # comparison row + per-layer rows


@pytest.mark.parametrize("argv, message", [
    (["--preset", "memcapacitor"], "is a memcapacitor (port 'q(v)')"),
    (["--crossbar", "capacitive", "--preset", "strukov2008"], "not a memcapacitor"),
    (["--crossbar", "capacitive", "--memcap", "d2d_std=-1"], "d2d_std must be a finite number >= 0"),
    (["--preset", "ideal", "--memcap", "c2c_std=0.1"], "--memcap applies to --crossbar capacitive or both"),
    ([], "--preset is required"),
])
def test_cli_bad_crossbar_configuration_is_one_line(argv, message, capsys):
    from memfit.cli import main

    rc = main(["crossbar", "run", "--network", "builtin:digits-mlp", "--repeats", "1", "--times", "0", "-q", *argv])
    err = capsys.readouterr().err
    assert rc == 2 and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
