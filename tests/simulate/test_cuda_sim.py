"""The CUDA batch integrator under numba's CUDA simulator, against the CPU path.

numba reads ``NUMBA_ENABLE_CUDASIM`` when it is first imported, so the
simulator tests (those taking the ``cudasim`` fixture) run in a subprocess
that sets it (:func:`test_cuda_kernels_under_the_simulator`); in the main
test process they skip.  The simulator runs the CUDA kernel's Python source
(thread indexing, per-thread ``cuda.local.array`` scratch, host transfers)
with the integrator core CPU-compiled, so agreement with the CPU entry
points checks the kernel glue and the scratch layout; the CPU path itself is
checked against SciPy in test_integrators.py, and here once more directly.

The same checks on a real GPU, on a large batch, and the float32 opt-in:
test_cuda_gpu.py (float32 is left out here: under the simulator it needs a
float32 CPU compilation of the whole integrator, ~1.5 min).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from tests.reference import cuda_simulator_module, run_under_cuda_simulator

from memfit import _gpu
from memfit.errors import ParameterError
from memfit.models import get_model
from memfit.simulate import Simulator, TestCircuit, simulate_batch, sine_sweep, triangle_sweep
from memfit.simulate._kernels import integrators as K

SIM = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"

#: a VTEAM device that switches under a 1 V sine (x swings 0.1 <-> 0.9, never saturating at 1 Hz)
VTEAM = dict(R_on=1e3, R_off=1e5, k_off=0.35, k_on=-0.35, v_off=0.3, v_on=-0.3, alpha_off=3.0, alpha_on=3.0)


@pytest.fixture
def cudasim():
    return cuda_simulator_module("test_cuda_kernels_under_the_simulator")


def _rows(model, n, base=None, name=None, lo=0.8, hi=1.2):
    """n parameter rows: the model's defaults (with ``base`` overrides), one parameter spread over [lo, hi]."""
    m = get_model(model)
    P = np.tile(m.params(base or {}), (n, 1))
    if name is not None:
        P[:, m.param_names.index(name)] *= np.linspace(lo, hi, n)
    return P


def _agree(cpu, gpu, tol=1e-10):
    """Currents, voltages, states (relative to their scale) agree within ``tol``; same status."""
    np.testing.assert_array_equal(gpu.status, cpu.status)
    assert gpu.backend == "cuda" and cpu.backend == "cpu"
    for name in ("i", "v", "v_dev", "x"):
        a, b = getattr(cpu, name), getattr(gpu, name)
        scale = max(np.nanmax(np.abs(a)), 1e-300)
        err = np.nanmax(np.abs(a - b)) / scale
        assert err <= tol, f"{name}: max relative difference {err:.2e} > {tol:g}"
    np.testing.assert_array_equal(gpu.compliance, cpu.compliance)


# --------------------------------------------------------------- simulator
def test_vteam_dopri5_matches_cpu_and_scipy(cudasim):
    from scipy.integrate import solve_ivp

    stim = sine_sweep(amplitude=1.0, frequency=1.0, cycles=1, points_per_cycle=40)
    P = _rows("vteam", 6, VTEAM, "k_off")
    cpu = simulate_batch("vteam", stim, P, [0.2], rtol=1e-10)
    gpu = simulate_batch("vteam", stim, P, [0.2], rtol=1e-10, backend="cuda")
    assert cpu.x[-1].max() == 1.0  # the fastest device saturates on its bound (the clamp is exercised)
    _agree(cpu, gpu)
    # the very same step sequence: same accepted/rejected steps and RHS evaluations per device
    np.testing.assert_array_equal(gpu.stats, cpu.stats)
    # and an independent reference for one device: VTEAM written out, integrated by SciPy
    k_off, k_on, v_off, v_on = P[0, 2], P[0, 3], P[0, 4], P[0, 5]

    def f(t, x):
        v = np.sin(2 * np.pi * t)
        if v > v_off:
            return [k_off * (v / v_off - 1) ** 3]
        if v < v_on:
            return [k_on * (v / v_on - 1) ** 3]
        return [0.0]

    ref = solve_ivp(f, (0, 1), [0.2], method="DOP853", t_eval=stim.t, rtol=1e-12, atol=1e-14, max_step=0.01)
    assert 0.8 < ref.y[0].max() < 1.0 and 0.0 < ref.y[0].min() < 0.1  # it switches, never reaching a bound
    np.testing.assert_allclose(gpu.x[0, :, 0], ref.y[0], atol=1e-8)


def test_windowed_hp_joglekar_matches_cpu(cudasim):
    stim = triangle_sweep(vmax=1.2, frequency=1.0, cycles=2)
    P = _rows("joglekar2009", 5, None, "mu_v", 0.5, 2.0)
    cpu = simulate_batch("joglekar2009", stim, P, rtol=1e-9)
    gpu = simulate_batch("joglekar2009", stim, P, rtol=1e-9, backend="cuda")
    assert np.ptp(cpu.x[:, :, 0], axis=1).min() > 0.05  # the state really moves
    _agree(cpu, gpu)
    np.testing.assert_array_equal(gpu.stats, cpu.stats)


def test_series_resistance_and_compliance_match_cpu(cudasim):
    """Source -> 2 kOhm -> VTEAM with a 0.2 mA compliance: the fold-back engages in the ON state."""
    circ = TestCircuit(series_resistance=2e3, compliance=2e-4)
    stim = sine_sweep(amplitude=1.5, frequency=1.0, cycles=1, points_per_cycle=60)
    P = _rows("vteam", 6, VTEAM, "R_on", 0.5, 2.0)
    cpu = simulate_batch("vteam", stim, P, [0.1], circuit=circ, rtol=1e-9)
    gpu = simulate_batch("vteam", stim, P, [0.1], circuit=circ, rtol=1e-9, backend="cuda")
    assert cpu.compliance.any() and not cpu.compliance.all()
    assert np.abs(cpu.i).max() == pytest.approx(2e-4, rel=1e-9)  # clamped at the compliance
    _agree(cpu, gpu)
    # the series resistor takes its share: v = v_dev + R_s i
    np.testing.assert_allclose(gpu.v, gpu.v_dev + 2e3 * gpu.i, atol=1e-12)


def test_memcapacitor_charge_state_and_sdirk4_match_cpu(cudasim):
    """A capacitive port (charge as a circuit state: ny = n_states + 1) with DOPRI5, and SDIRK4 on the GPU."""
    name = "biolek2013_memcapacitor_ideal"
    stim = sine_sweep(amplitude=1.0, frequency=10.0, cycles=1, points_per_cycle=30)
    P = _rows(name, 4, None, "k", 0.5, 2.0)
    cpu = simulate_batch(name, stim, P, method="dopri5", rtol=1e-9)
    gpu = simulate_batch(name, stim, P, method="dopri5", rtol=1e-9, backend="cuda")
    _agree(cpu, gpu)
    stim = sine_sweep(amplitude=1.0, frequency=1.0, cycles=1, points_per_cycle=30)
    P = _rows("vteam", 4, VTEAM, "k_on")
    cpu = simulate_batch("vteam", stim, P, [0.1], series_resistance=500.0, method="sdirk4", rtol=1e-8)
    gpu = simulate_batch("vteam", stim, P, [0.1], series_resistance=500.0, method="sdirk4", rtol=1e-8,
                         backend="cuda")
    _agree(cpu, gpu)
    np.testing.assert_array_equal(gpu.stats, cpu.stats)


def test_record_modes_budget_and_simulator_class(cudasim):
    stim = sine_sweep(amplitude=1.0, frequency=1.0, cycles=1, points_per_cycle=20)
    P = _rows("vteam", 3, VTEAM, "k_off")
    full = simulate_batch("vteam", stim, P, [0.1], backend="cpu")
    for record in ("current", "final"):
        g = simulate_batch("vteam", stim, P, [0.1], record=record, backend="cuda")
        np.testing.assert_allclose(g.final_state, full.final_state, rtol=1e-12)
        if record == "current":
            np.testing.assert_allclose(g.i, full.i, rtol=1e-12, atol=1e-18)
    # a spent step budget gives the same status code on both backends
    g = simulate_batch("vteam", stim, P, [0.1], max_steps=5, raise_on_failure=False, backend="cuda")
    assert (g.status == K.MAX_STEPS).all()
    # Simulator.run_batch with backend="cuda"
    out_gpu, st = Simulator("vteam", stim, backend="cuda").run_batch(P, np.full((3, 1), 0.1))
    out_cpu, _ = Simulator("vteam", stim).run_batch(P, np.full((3, 1), 0.1))
    assert (st == 0).all()
    np.testing.assert_allclose(out_gpu, out_cpu, rtol=1e-12, atol=1e-18)


# ------------------------------------------------------------- main process
def test_backend_choice_and_errors_without_gpu():
    if _gpu.gpu_available() or SIM:
        pytest.skip("checks the no-CUDA path")
    stim = sine_sweep(amplitude=1.0, frequency=1.0, cycles=1, points_per_cycle=10)
    P = _rows("vteam", 2, VTEAM)
    with pytest.raises(_gpu.GPUUnavailableError, match=r'pip install "memfit\[gpu\]"'):
        simulate_batch("vteam", stim, P, [0.1], backend="cuda")
    with pytest.raises(_gpu.GPUUnavailableError, match="NVIDIA driver"):
        Simulator("vteam", stim, backend="cuda")
    assert simulate_batch("vteam", stim, P, [0.1], backend="auto").backend == "cpu"
    assert _gpu.resolve_backend("auto") == "cpu"


def test_bad_backend_and_dtype():
    stim = sine_sweep(amplitude=1.0, frequency=1.0, cycles=1, points_per_cycle=10)
    P = _rows("vteam", 2, VTEAM)
    with pytest.raises(ParameterError, match="backend must be one of"):
        simulate_batch("vteam", stim, P, backend="gpu")
    with pytest.raises(ParameterError, match="float32 is available with backend='cuda' only"):
        simulate_batch("vteam", stim, P, backend="cpu", dtype=np.float32)
    with pytest.raises(ParameterError, match="float64 or float32"):
        simulate_batch("vteam", stim, P, dtype=np.int32)


def test_cuda_kernels_under_the_simulator():
    """Run this module's ``cudasim`` tests in a subprocess with NUMBA_ENABLE_CUDASIM=1."""
    if SIM:
        pytest.skip("already running under the simulator")
    run_under_cuda_simulator(__file__, min_passed=6)  # the 5 simulator tests + the backend/dtype check
