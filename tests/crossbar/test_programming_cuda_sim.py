"""Write-verify on the CUDA backend under numba's CUDA simulator, against the CPU path.

numba reads ``NUMBA_ENABLE_CUDASIM`` when it is first imported, so the
simulator tests (those taking the ``cudasim`` fixture) run in a subprocess
that sets it (:func:`test_cuda_write_verify_under_the_simulator`); in the main
test process they skip.  The simulator runs the CUDA kernel's Python source
(thread indexing, per-thread ``cuda.local.array`` scratch, host transfers)
with the per-device ISPP function CPU-compiled, so the CPU and CUDA backends
must agree to the bit.  The ISPP decisions themselves are checked against a
plain-Python replay of the scheme (pulse by pulse with ``pulse_states``, the
pulse integrator validated against ``simulate`` in test_programming.py).

The no-CUDA error path and the backend argument are checked in the main
process.  The same comparison on a real GPU, on a 512x512 batch:
test_programming_cuda_gpu.py.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from tests.crossbar.test_programming import ftj_device as _ftj_device
from tests.reference import cuda_simulator_module, run_under_cuda_simulator

from memfit import _gpu
from memfit.crossbar import programming as pg
from memfit.crossbar.device import CrossbarDevice
from memfit.errors import ParameterError

SIM = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"

#: a VTEAM device that switches under ~0.5-1.5 V, 50 ms pulses; G = 1/(R_on + (R_off - R_on) x), SET lowers x
VTEAM = dict(R_on=1e3, R_off=1e5, k_off=0.35, k_on=-0.35, v_off=0.3, v_on=-0.3, alpha_off=3.0, alpha_on=3.0)


@pytest.fixture
def cudasim():
    return cuda_simulator_module("test_cuda_write_verify_under_the_simulator")


def ftj_device(**wv):
    """The FTJ device of test_programming.py (correlated d2d of G_on and V_a) with an asymmetric RESET ramp."""
    return _ftj_device(**{"v_start_down": -0.4, "v_max_down": -1.9, **wv})


def vteam_device():
    """VTEAM read at 0.1 V (below its thresholds), SET = negative pulses (set_polarity -1), d2d on R_on, k_off, k_on."""
    return CrossbarDevice(
        g_min=1e-5, g_max=1e-3, read_voltage=0.1, model_name="vteam", model_parameters=VTEAM, model_x0={"x": 0.5},
        set_polarity=-1,
        d2d={"parameters": {"R_on": {"distribution": "lognormal", "mean": 1e3, "std": 50.0},
                            "k_off": {"distribution": "normal", "mean": 0.35, "std": 0.03},
                            "k_on": {"distribution": "normal", "mean": -0.35, "std": 0.03}}},
        write_verify={"tolerance": 0.02, "max_pulses": 60, "v_start": 0.5, "v_step": 0.1, "v_max": 1.5,
                      "width": 0.05, "v_start_down": -0.4, "v_max_down": -1.2},
        name="vteam-test")


def _replay(device, p, x0, target, jacobian):
    """The ISPP scheme written out in Python for one device, pulse by pulse with ``pulse_states``."""
    m = device.model()
    wv = device.write_verify
    tol, v_start, v_step, v_max = wv["tolerance"], wv["v_start"], wv["v_step"], wv["v_max"]
    v_start_dn, v_max_dn = abs(wv["v_start_down"]), abs(wv["v_max_down"])
    vr, pol = device.read_voltage, device.set_polarity
    x = np.array(x0, dtype=float)
    g = m.current(x, vr, p) / vr
    up, dn, last, n, amps = v_start, v_start_dn, 0, 0, []
    while n < wv["max_pulses"]:
        if g < target * (1 - tol):
            up = v_start if last == -1 else up
            v, up, last = pol * up, min(up + v_step, v_max), 1
        elif g > target * (1 + tol):
            dn = v_start_dn if last == 1 else dn
            v, dn, last = -pol * dn, min(dn + v_step, v_max_dn), -1
        else:
            break
        x = pg.pulse_states(m, p, x, [v], wv["width"], n_sub=2, jacobian=jacobian)[-1]
        amps.append(v)
        n += 1
        g = m.current(x, vr, p) / vr
    return g, n, x, amps


def _both(device, targets, seed, jacobian="auto"):
    G_cpu, rep_cpu = pg.write_verify(targets, device, np.random.default_rng(seed), jacobian=jacobian)
    X_cpu, P = pg.write_verify.last_states, pg.write_verify.last_params
    G_gpu, rep_gpu = pg.write_verify(targets, device, np.random.default_rng(seed), jacobian=jacobian, backend="cuda")
    X_gpu = pg.write_verify.last_states
    np.testing.assert_array_equal(pg.write_verify.last_params, P)  # the same d2d draw on both backends
    return (G_cpu, rep_cpu, X_cpu), (G_gpu, rep_gpu, X_gpu), P


# --------------------------------------------------------------- simulator
@pytest.mark.parametrize("jacobian", ["auto", "diagonal"])
def test_ftj_write_verify_on_cuda_matches_cpu(cudasim, jacobian):
    dev = ftj_device()
    # targets in the window, and two above every device's G_on (~14 nS) that use up the pulse budget
    T = np.r_[np.linspace(8.5e-9, 12.5e-9, 6), 15.5e-9, 16e-9]
    (Gc, rc, Xc), (Gg, rg, Xg), P = _both(dev, T, 5, jacobian)
    # bit-identical: conductances, pulse counts, all 22 states
    np.testing.assert_array_equal(Gg, Gc)
    np.testing.assert_array_equal(rg.pulses, rc.pulses)
    np.testing.assert_array_equal(Xg, Xc)
    assert rg.n_within == rc.n_within
    # non-trivial: the in-window targets are met within 2 % after different numbers of pulses
    assert np.all(np.abs(Gg[:6] / T[:6] - 1) <= 0.02) and len(set(rg.pulses[:6])) >= 3
    # the reported G is the model's read at the final state
    m = dev.model()
    np.testing.assert_allclose([m.current(Xg[k], 0.3, P[k]) / 0.3 for k in range(T.size)], Gg, rtol=1e-15)
    # and the ISPP decisions are those of the scheme, replayed in plain Python for a few devices
    X0 = dev.initial_state(P)
    for k in (0, 3, 7):
        g, n, x, amps = _replay(dev, P[k], X0[k], T[k], jacobian)
        assert rg.pulses[k] == n
        np.testing.assert_allclose(Gg[k], g, rtol=1e-12)
        np.testing.assert_allclose(Xg[k], x, rtol=1e-12, atol=1e-15)
    assert rg.pulses[7] == 100 and max(amps) == 2.0  # the ramp saturates at v_max on the unreachable target


def test_vteam_write_verify_both_directions_on_cuda_matches_cpu(cudasim):
    """Negative SET polarity, targets above and below the start (SET and RESET ramps, reversals)."""
    dev = vteam_device()
    T = np.geomspace(2e-5, 5e-4, 7)
    (Gc, rc, Xc), (Gg, rg, Xg), P = _both(dev, T, 2)
    np.testing.assert_array_equal(Gg, Gc)
    np.testing.assert_array_equal(rg.pulses, rc.pulses)
    np.testing.assert_array_equal(Xg, Xc)
    X0 = dev.initial_state(P)
    dirs = set()
    for k in range(T.size):
        g, n, x, amps = _replay(dev, P[k], X0[k], T[k], "auto")
        assert rg.pulses[k] == n
        np.testing.assert_allclose(Gg[k], g, rtol=1e-12)
        dirs |= set(np.sign(amps))
    assert dirs == {-1.0, 1.0}  # SET (negative) and RESET (positive) pulses both applied


def test_reachable_window_on_cuda_matches_cpu(cudasim):
    dev = vteam_device()
    cpu = pg.reachable_window(dev, np.random.default_rng(0), n=16)
    gpu = pg.reachable_window(dev, np.random.default_rng(0), n=16, backend="cuda")
    assert gpu == cpu
    # fully reset: x = 1 on every device, G = 1/R_off (R_off is not drawn)
    assert gpu[0] == pytest.approx(1.0 / VTEAM["R_off"], rel=1e-12)
    assert 1.0 / 1.2e3 < gpu[1] < 1.0 / 1.0e3 * 1.01


def test_env_default_backend_selects_cuda(cudasim, monkeypatch):
    dev = ftj_device(max_pulses=4)
    T = np.full(3, 11e-9)
    G_cpu, _ = pg.write_verify(T, dev, np.random.default_rng(1))
    monkeypatch.setenv(pg.BACKEND_ENV, "cuda")
    from memfit.crossbar import _cuda_programming

    before = _cuda_programming._kernel_cached.cache_info()
    G_env, _ = pg.write_verify(T, dev, np.random.default_rng(1))
    after = _cuda_programming._kernel_cached.cache_info()
    assert after.hits + after.misses == before.hits + before.misses + 1  # the CUDA kernel ran
    np.testing.assert_array_equal(G_env, G_cpu)
    # "auto" never picks the simulator
    monkeypatch.setenv(pg.BACKEND_ENV, "auto")
    assert pg._resolve_backend(None) == "cpu"


# ------------------------------------------------------------- main process
def test_cuda_backend_without_gpu_is_a_clear_error(monkeypatch):
    if _gpu.gpu_available() or SIM:
        pytest.skip("checks the no-CUDA path")
    dev = ftj_device(max_pulses=3)
    T = np.full(4, 10e-9)
    with pytest.raises(_gpu.GPUUnavailableError, match=r'backend=.cuda. needs CUDA.*pip install "memfit\[gpu\]"'):
        pg.write_verify(T, dev, np.random.default_rng(0), backend="cuda")
    with pytest.raises(_gpu.GPUUnavailableError, match="NVIDIA driver"):
        pg.reachable_window(dev, np.random.default_rng(0), n=8, backend="cuda")
    monkeypatch.setenv(pg.BACKEND_ENV, "cuda")
    with pytest.raises(_gpu.GPUUnavailableError):
        pg.write_verify(T, dev, np.random.default_rng(0))
    monkeypatch.delenv(pg.BACKEND_ENV)
    # "auto" falls back to the CPU: the same result as backend="cpu"
    G_auto, _ = pg.write_verify(T, dev, np.random.default_rng(0), backend="auto")
    G_cpu, _ = pg.write_verify(T, dev, np.random.default_rng(0))
    np.testing.assert_array_equal(G_auto, G_cpu)


def test_bad_backend_values(monkeypatch):
    dev = ftj_device(max_pulses=3)
    with pytest.raises(ParameterError, match="backend must be one of 'cpu', 'cuda', 'auto', got 'gpu'"):
        pg.write_verify(np.full(2, 10e-9), dev, np.random.default_rng(0), backend="gpu")
    monkeypatch.setenv(pg.BACKEND_ENV, "GPU")
    with pytest.raises(ParameterError, match="MEMFIT_PROGRAMMING_BACKEND must be one of"):
        pg.reachable_window(dev, np.random.default_rng(0), n=8)


def test_reachable_window_of_a_saturating_model_is_finite():
    """VTEAM rests exactly on its bound once saturated (rate 0 there): the pulse integrator keeps it there.

    Regression: the finite-difference Jacobian at the bound is huge, phi1(h J) overflowed and
    ``inf * 0`` gave NaN states, so the fully reset read (``g_lo``) was NaN.
    """
    g_lo, g_hi = pg.reachable_window(vteam_device(), np.random.default_rng(0), n=32)
    assert g_lo == pytest.approx(1.0 / VTEAM["R_off"], rel=1e-12)  # x = 1: G = 1/R_off
    assert 1.0 / 1.2e3 < g_hi < 1.01e-3  # x = 0: G = 1/R_on, R_on ~ 1 kOhm +- 5 %


def test_cuda_write_verify_under_the_simulator():
    """Run this module's ``cudasim`` tests in a subprocess with NUMBA_ENABLE_CUDASIM=1."""
    if SIM:
        pytest.skip("already running under the simulator")
    run_under_cuda_simulator(__file__, min_passed=7)  # the 5 simulator tests + the backend-value and saturation checks
