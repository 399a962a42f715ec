"""CrossbarConfig: the named baseline, validation, replace/ideal."""

import math

import pytest

from memfit.crossbar.config import CrossbarConfig, get_config, list_configs
from memfit.errors import ParameterError


def test_baseline_ftj_is_thesis_table_3_1():
    c = get_config("baseline-ftj")
    assert (c.dac_bits, c.adc_bits) == (8, 8)
    assert (c.out_noise, c.out_bound, c.in_bound, c.w_noise) == (0.04, 10.0, 1.0, 0.035)
    assert math.isclose(c.wire_ratio, 1 / (0.35 * 1e-8), rel_tol=1e-9)
    assert c.drift and c.drift_compensation == "global" and c.digital_bias
    assert c.tile_size == (256, 256)
    assert "baseline-ftj" in list_configs()


def test_replace_validates_and_names_the_field():
    c = get_config("baseline-ftj")
    c2 = c.replace(adc_bits=6, out_noise=0.0)
    assert (c2.adc_bits, c2.out_noise, c.adc_bits) == (6, 0.0, 8)
    with pytest.raises(ParameterError, match="adc_bits = 1 "):
        c.replace(adc_bits=1)
    with pytest.raises(ParameterError, match="out_noise"):
        c.replace(out_noise=-0.1)
    with pytest.raises(ParameterError, match="mapping"):
        c.replace(mapping="row")
    with pytest.raises(ParameterError, match="no field"):
        c.replace(adc_bit=6)
    with pytest.raises(ParameterError, match="bit_slicing"):
        c.replace(bit_slicing={"binary": 2, "analog": 2})
    with pytest.raises(ParameterError, match="unknown crossbar config 'nope'"):
        get_config("nope")


def test_ideal_switches_everything_off_but_keeps_mapping():
    c = get_config("baseline-ftj").replace(devices_per_weight=3, mapping="global")
    i = c.ideal()
    assert i.dac_bits is None and i.adc_bits is None and i.out_noise == 0 and i.w_noise == 0
    assert not (i.drift or i.ir_drop or i.faults or i.read_nonlinearity) and i.programming == "ideal"
    assert (i.devices_per_weight, i.mapping, i.tile_size) == (3, "global", c.tile_size)
    assert not i.any_noise


def test_dict_round_trip():
    c = get_config("baseline-ftj").replace(bit_slicing={"binary": 2, "analog": 1}, tile_size=(128, 64))
    assert CrossbarConfig.from_dict(c.to_dict()) == c
