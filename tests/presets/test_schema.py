"""Schema validation: the built-ins validate; unknown keys, missing/wrong units and bad tables are rejected by key."""

import json

import numpy as np
import pytest

from memfit.errors import PresetError
from memfit.presets import Preset, list_presets, load_preset, schema

BUILTINS = ["ftj-balanced", "ftj-constrained", "ftj-extreme", "nbox", "pcm-reference"]


def test_builtin_names():
    assert list_presets() == BUILTINS


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_validates_and_round_trips(name, tmp_path):
    p = load_preset(name)
    assert p.schema_version == "1.0" and p.name == name and p.reference
    assert p.provenance["memfit_version"] and p.provenance["created"]
    path = p.save(tmp_path / f"{name}.json")
    assert load_preset(str(path)).to_dict() == p.to_dict()
    assert Preset.from_dict(json.loads(path.read_text())).to_dict() == p.to_dict()


def test_schema_file_is_a_json_schema():
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(schema())
    assert schema()["properties"]["schema_version"]["const"] == "1.0"


def _err(doc):
    with pytest.raises(PresetError) as e:
        Preset.from_dict(doc)
    return str(e.value)


def test_wrong_unit_names_the_key(doc):
    doc["conductance"]["g_max"]["unit"] = "nS"
    assert _err(doc).startswith("conductance.g_max: unit 'nS' not allowed, expected 'S'")


def test_missing_unit(doc):
    del doc["read"]["voltage"]["unit"]
    assert _err(doc).startswith("read.voltage: missing key 'unit'")


def test_unknown_keys_top_and_nested(doc):
    doc["colour"] = "blue"
    assert "unknown key 'colour'" in _err(doc)
    del doc["colour"]
    doc["write_verify"]["speed"] = {"value": 1.0, "unit": "1"}
    assert _err(doc).startswith("write_verify: unknown key 'speed'")


def test_array_unit_and_missing_section(doc):
    d = json.loads(json.dumps(doc))
    d["pulse_response"]["up"]["dg_mean"]["unit"] = "uS"
    assert "pulse_response.up.dg_mean: unit 'uS' not allowed, expected 'S'" in _err(d)
    d = json.loads(json.dumps(doc))
    del d["drift"]
    assert _err(d).startswith("(document): missing key 'drift'")


def test_schema_version(doc):
    doc["schema_version"] = "2.0"
    assert _err(doc).startswith("schema_version: '2.0' is not supported")


def test_model_parameter_unit_checked_against_the_model(doc):
    doc["model"]["parameters"]["R_s"]["unit"] = "kOhm"
    assert _err(doc) == "model.parameters.R_s: unit 'kOhm' not allowed, expected 'Ohm'"
    doc["model"]["parameters"]["R_s"]["unit"] = "Ohm"
    doc["model"]["parameters"]["R_x"] = {"value": 1.0, "unit": "Ohm"}
    assert _err(doc).startswith("model.parameters.R_x: model 'schroedter2022' has no such parameter")


def test_semantic_checks(doc):
    d = json.loads(json.dumps(doc))
    d["conductance"]["g_min"]["value"] = 1.0
    assert _err(d).startswith("conductance: need 0 <= g_min < g_max")
    d = json.loads(json.dumps(doc))
    d["pulse_response"]["up"]["dg_std"]["values"] = d["pulse_response"]["up"]["dg_std"]["values"][:-1]
    assert _err(d).startswith("pulse_response.up.dg_std: 23 values, but g has 24")
    d = json.loads(json.dumps(doc))
    d["d2d"]["correlation"] = {"names": ["c1", "A_r"], "matrix": [[1.0, 1.5], [1.5, 1.0]]}
    assert _err(d).startswith("d2d.correlation.matrix: correlations must lie in [-1, 1]")
    d["d2d"]["correlation"]["matrix"] = [[1.0, 0.5], [0.4, 1.0]]
    assert _err(d).startswith("d2d.correlation.matrix: not symmetric")


def test_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(PresetError, match=r"bad\.json: not valid JSON \(line 1"):
        load_preset(str(bad))
    with pytest.raises(PresetError, match="unknown preset 'no-such'"):
        load_preset("no-such")
    d = load_preset("nbox").to_dict()
    d["faults"]["stuck_on"]["unit"] = "%"
    bad.write_text(json.dumps(d))
    with pytest.raises(PresetError, match=r"bad\.json: faults\.stuck_on: unit '%' not allowed, expected '1'"):
        load_preset(str(bad))
