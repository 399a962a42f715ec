"""memfit's own example datasets (top-level datasets/): manifest, files, loading, regeneration."""

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import memfit.datasets as ds
from memfit.data import IVSweep, PulseTrain, Retention, test_circuit, to_stimulus
from memfit.errors import MeasurementError

EXPECTED = {"biolek2009_iv": IVSweep, "biolek2009_pulses": PulseTrain, "biolek2009_retention": Retention}


def test_manifest_lists_generated_files_with_truth():
    man = ds.manifest()
    assert man["schema"] == ds.MANIFEST_SCHEMA and "GENERATED" in man["note"]
    assert set(EXPECTED) <= set(ds.available())
    folder = ds.datasets_dir()
    total = 0
    for e in man["datasets"]:
        for key in ("name", "file", "kind", "description", "generator", "true_parameters", "noise", "rows",
                    "columns", "units", "sha256"):
            assert key in e, (e["name"], key)
        assert e["generated"] is True and "not measured" in e["description"].lower()
        assert e["generator"]["script"] == "datasets/generate.py" and isinstance(e["generator"]["seed"], int)
        p = folder / e["file"]
        assert ds.file_sha256(p) == e["sha256"], f"{p} was edited by hand; run datasets/generate.py"
        total += p.stat().st_size
    assert total < 200_000


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_load_returns_the_measurement_type_with_truth(name):
    m = ds.load(name)
    e = ds.info(name)
    assert type(m) is EXPECTED[name] and len(m) == e["rows"] and m.columns == e["columns"]
    assert m.meta["generated"] is True and m.meta["true_parameters"] == e["true_parameters"]
    assert m.meta["noise"] == e["noise"] and m.meta["model"] == e["generator"]["model"]
    assert m.meta["units"] == e["units"] and m.meta["source_file"] == str(ds.path(name))


def test_examples_are_usable():
    iv = ds.load("biolek2009_iv")
    assert test_circuit(iv).series_resistance == 50.0 and len(to_stimulus(iv)) == len(iv)
    reads = ds.load("biolek2009_pulses").reads()
    assert len(reads) == 40 and list(reads["pulse"]) == list(range(1, 41))
    g = reads["g_read"].to_numpy()
    assert g[19] > 3 * g[0] and g[39] < g[19] / 3  # potentiation then depression
    ret = ds.load("biolek2009_retention")
    assert ret.cells() == [0, 1, 2]
    np.testing.assert_allclose(ret["g_read"], ret.i / ret.v, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_regenerating_from_the_manifest_reproduces_the_file(name):
    """The recorded generator, true parameters, noise and seed are the whole truth."""
    m = ds.load(name)
    fresh = ds.synthesize(ds.info(name))
    assert fresh.columns == m.columns
    for col in m.columns:
        a, b = fresh[col].to_numpy(), m[col].to_numpy()
        if a.dtype.kind == "f":
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-12, err_msg=col)
        else:
            assert list(map(str, a)) == list(map(str, b)), col


def test_noise_is_what_the_manifest_says():
    e = ds.info("biolek2009_iv")
    m = ds.load("biolek2009_iv")
    spec = json.loads(json.dumps(e))
    spec["noise"]["current_relative"] = 0.0
    spec["noise"]["current_floor"] = 0.0
    spec["noise"]["digits"] = 17
    clean = ds.synthesize(spec)
    resid = (m.i - clean.i) / np.sqrt((0.01 * np.abs(clean.i)) ** 2 + 1e-9 ** 2)
    assert abs(resid.mean()) < 0.2 and 0.85 < resid.std() < 1.15


def test_generator_script_check_mode(tmp_path, capsys):
    script = Path(ds.datasets_dir()) / "generate.py"
    spec = importlib.util.spec_from_file_location("memfit_datasets_generate", script)
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert gen.main(["--out", str(tmp_path)]) == 0  # a fresh copy elsewhere
    fresh, shipped = json.loads((tmp_path / "manifest.json").read_text()), ds.manifest()
    for a, b in zip(fresh["datasets"], shipped["datasets"]):
        a.pop("sha256"), b.pop("sha256")  # bytes may differ in the last digit across platforms
        assert a == b
    assert gen.main(["--check", "--out", str(tmp_path)]) == 0
    (tmp_path / "biolek2009_iv.csv").write_text("tampered\n")
    assert gen.main(["--check", "--out", str(tmp_path)]) == 1
    assert "biolek2009_iv.csv" in capsys.readouterr().out


def test_new_entries_are_one_call(tmp_path):
    spec = ds.iv_example("tiny", "strukov2008", "triangle(vmax=1.0, f=10, cycles=1, points=40)", seed=3,
                         noise=ds.Noise(current_relative=0.02))
    entry = ds.write_example(spec, tmp_path)
    assert entry["rows"] == 41 and entry["true_parameters"]["R_on"] == 100.0
    assert (tmp_path / "tiny.csv").is_file()


def test_folder_lookup(tmp_path, monkeypatch):
    copy = tmp_path / "ds"
    shutil.copytree(ds.datasets_dir(), copy)
    monkeypatch.setenv(ds.ENV_VAR, str(copy))
    assert ds.datasets_dir() == copy
    with pytest.raises(MeasurementError, match="unknown example dataset 'nope'"):
        ds.load("nope")
    (copy / "biolek2009_iv.csv").unlink()
    with pytest.raises(MeasurementError, match="is missing; run datasets/generate.py"):
        ds.load("biolek2009_iv")
    monkeypatch.setenv(ds.ENV_VAR, str(tmp_path / "empty"))
    # the installed/checkout copy is still found after an unusable override
    assert ds.datasets_dir() != tmp_path / "empty"


def test_not_found_message(monkeypatch):
    monkeypatch.setattr(ds, "_candidates", lambda: [(Path("/nonexistent/a"), "test")])
    with pytest.raises(MeasurementError, match=f"example datasets were not found.*set {ds.ENV_VAR}"):
        ds.datasets_dir()
