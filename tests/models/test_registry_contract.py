"""The registry contract: every registered model honours the DeviceModel contract.

One test walks the whole registry, so a new model is checked the moment it is
registered: declaration complete, kernels finite at every parameter edge,
pinched at V = 0, default stimulus simulates within the state bounds.
"""

import math

import numpy as np
import pytest

from memfit.errors import ModelError
from memfit.models import MODELS, available_models, get_model
from memfit.simulate import simulate
from tests.reference import py

NAMES = available_models()
VOLTAGES = (-2.0, -0.5, -0.05, 0.0, 0.05, 0.5, 2.0)


def test_registry_has_the_classic_models():
    for name in ("strukov2008", "joglekar2009", "biolek2009", "prodromakis2011"):
        assert name in NAMES
    assert set(NAMES) == set(MODELS)


def test_unknown_model_lists_the_alternatives():
    with pytest.raises(ModelError, match="unknown model 'nope'; available models: .*biolek2009"):
        get_model("nope")


@pytest.mark.parametrize("name", NAMES)
def test_declaration_is_complete(name):
    m = get_model(name)
    assert m.name == name
    assert m.reference.doi or m.reference.url
    assert m.doc and len(m.doc) > 200, "the model's docstring must give its equations and sources"
    for q in m.parameters:
        assert q.lower < q.upper
        assert q.unit and q.description
        assert q.name in m.doc or q.description, q.name
    for s in m.states:
        assert s.unit and s.description
    assert m.default_stimulus


def _edge_sets(m):
    base = m.params()
    yield "defaults", base
    for k, q in enumerate(m.parameters):
        for edge in (q.lower, q.upper):
            if not math.isfinite(edge):
                continue
            p = base.copy()
            p[k] = edge
            yield f"{q.name}={edge:g}", p


@pytest.mark.parametrize("name", NAMES)
def test_kernels_finite_at_parameter_edges(name):
    m = get_model(name)
    rhs, cur = py(m.rhs), py(m.current)
    d = np.empty(m.n_states)
    for label, p in _edge_sets(m):
        try:
            lo, hi = m.state_bounds(p)
        except Exception:  # a bound pair made inconsistent by this edge is refused, which is fine
            continue
        lo_f = np.where(np.isfinite(lo), lo, -1e3)
        hi_f = np.where(np.isfinite(hi), hi, 1e3)
        for x in (lo_f, hi_f, 0.5 * (lo_f + hi_f)):
            for v in VOLTAGES:
                i = cur(x.copy(), v, p)
                assert math.isfinite(i), f"{name} [{label}]: current not finite at x={x}, v={v}"
                rhs(x.copy(), v, 0.0, p, d)
                assert np.all(np.isfinite(d)), f"{name} [{label}]: rhs not finite at x={x}, v={v}: {d}"


@pytest.mark.parametrize("name", NAMES)
def test_pinched_at_zero_volts(name):
    m = get_model(name)
    p = m.params()
    lo, hi = m.state_bounds(p)
    for w in (0.0, 0.3, 1.0):
        finite = np.isfinite(lo) & np.isfinite(hi)
        x = m.initial_state(p).copy()
        x[finite] = lo[finite] + w * (hi[finite] - lo[finite])
        assert py(m.current)(x, 0.0, p) == 0.0


@pytest.mark.parametrize("name", NAMES)
def test_default_stimulus_runs_within_bounds(name):
    m = get_model(name)
    sim = simulate(m, m.default_stimulus)
    assert np.all(np.isfinite(sim.i))
    lo, hi = m.state_bounds(m.params())
    for k, s in enumerate(m.state_names):
        x = sim[s].to_numpy()
        assert x.min() >= lo[k] and x.max() <= hi[k]
    assert sim.i.max() > 0  # something flows


def test_voltage_thresholds_must_name_voltage_parameters():
    from memfit.models.base import DeviceModel

    m = get_model("vteam")
    assert m.voltage_thresholds == (("v_off", 1.0), ("v_on", 1.0))
    np.testing.assert_array_equal(m.threshold_voltages(m.params({"v_off": 0.4})), [0.4, m.defaults()["v_on"]])
    y = get_model("yakopcic2011")
    np.testing.assert_array_equal(y.threshold_voltages(y.params()), [y.defaults()["Vp"], -y.defaults()["Vn"]])
    for bad in ((("R_on", 1.0),), (("v_off", 2.0),), (("nope", 1.0),)):
        with pytest.raises(ModelError, match="voltage threshold"):
            DeviceModel(name="x", title="x", reference=m.reference, states=m.states, parameters=m.parameters,
                        rhs=m.rhs, current=m.current, voltage_thresholds=bad)
