"""CrossbarDevice: the lookup tables the programming and drift kernels interpolate are checked up front."""

import pytest

from memfit.crossbar.device import CrossbarDevice
from memfit.errors import PresetError

G_MIN, G_MAX = 1e-9, 14e-9


@pytest.mark.parametrize("table,match", [
    ({"g": [0.0, 14e-9], "dg_mean": [1e-10], "dg_std": [0.0, 0.0]}, "'dg_mean' has 1 values for 2 in 'g'"),
    ({"g": [14e-9, 0.0], "dg_mean": [1e-10, 1e-10], "dg_std": [0.0, 0.0]}, "'g' must be strictly increasing"),
    ({"g": [0.0, 14e-9], "dg_mean": [1e-10, float("nan")], "dg_std": [0.0, 0.0]}, "'dg_mean' has a non-finite"),
    ({"g": [0.0, 14e-9], "dg_mean": [1e-10, 1e-10]}, "missing key 'dg_std'"),
    ({"g": [[0.0, 14e-9]], "dg_mean": [1e-10, 1e-10], "dg_std": [0.0, 0.0]}, "'g' must be a non-empty 1-d"),
])
def test_bad_pulse_tables_are_named_errors(table, match):
    """The programming kernels interpolate these tables unchecked: a bad one is refused up front."""
    with pytest.raises(PresetError, match=match):
        CrossbarDevice(g_min=G_MIN, g_max=G_MAX, name="bad", pulse_up=table)


def test_bad_drift_table_is_a_named_error():
    drift = {"law": "power", "t0": 20.0, "nu_g": [1e-9, 14e-9], "nu_mean": [0.01, 0.02]}
    CrossbarDevice(g_min=G_MIN, g_max=G_MAX, name="ok", drift=drift)
    with pytest.raises(PresetError, match="'nu_std' must be 2 finite numbers"):
        CrossbarDevice(g_min=G_MIN, g_max=G_MAX, name="bad", drift={**drift, "nu_std": [0.001]})
    with pytest.raises(PresetError, match="'nu_g' must be strictly increasing"):
        CrossbarDevice(g_min=G_MIN, g_max=G_MAX, name="bad", drift={**drift, "nu_g": [14e-9, 1e-9]})
