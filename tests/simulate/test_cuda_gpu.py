"""The CUDA batch integrator on a real GPU: large batches against the CPU path.

Runs only where a CUDA GPU is usable (``memfit._gpu.gpu_available()``: numba-cuda,
an NVIDIA driver and a device); everywhere else the module is skipped.  The
simulator versions of these checks (small batches, run in CI) are in
test_cuda_sim.py.

On a GPU the arithmetic is not bit-identical to the CPU's (fused multiply-adds,
a different libm), so an adaptive step may be accepted on one and rejected on
the other; at ``rtol = 1e-12`` both solutions are still within 1e-10 (relative
to each quantity's scale) of each other.

``MEMFIT_TEST_CUDA_PTX=1`` additionally runs :func:`test_every_model_compiles_to_ptx`
where numba-cuda and NVVM are installed but no GPU is (it compiles the batch
kernel of every registered model to PTX for sm_90; ~0.5-5 min per model on
2 cores).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from memfit import _gpu
from memfit.models import available_models, get_model
from tests.reference import compile_ptx_sm90

from memfit.simulate import TestCircuit, parse_stimulus, simulate_batch, sine_sweep, triangle_sweep

GPU = (not _gpu.simulator_enabled()) and _gpu.gpu_available()
if not GPU and os.environ.get("MEMFIT_TEST_CUDA_PTX") != "1":
    pytest.skip("needs a CUDA GPU (pip install 'memfit[gpu]' and an NVIDIA driver)", allow_module_level=True)
needs_gpu = pytest.mark.skipif(not GPU, reason="needs a CUDA GPU (pip install 'memfit[gpu]' and an NVIDIA driver)")

VTEAM = dict(R_on=1e3, R_off=1e5, k_off=0.35, k_on=-0.35, v_off=0.3, v_on=-0.3, alpha_off=3.0, alpha_on=3.0)


def _spread(model, n, base, names, seed=1):
    m = get_model(model)
    P = np.tile(m.params(base or {}), (n, 1))
    rng = np.random.default_rng(seed)
    for name in names:
        P[:, m.param_names.index(name)] *= rng.uniform(0.8, 1.2, n)
    return P


def _agree(cpu, gpu, tol):
    np.testing.assert_array_equal(gpu.status, cpu.status)
    for name in ("i", "v", "v_dev", "x"):
        a, b = getattr(cpu, name), getattr(gpu, name)
        scale = max(np.nanmax(np.abs(a)), 1e-300)
        err = np.nanmax(np.abs(a - b)) / scale
        assert err <= tol, f"{name}: max relative difference {err:.2e} > {tol:g}"


@needs_gpu
@pytest.mark.parametrize(
    "model, base, names, kw",
    [
        ("vteam", VTEAM, ("k_off", "k_on", "R_on"), {}),
        ("joglekar2009", None, ("mu_v", "R_off"), {}),
        ("vteam", VTEAM, ("R_on", "k_off"), {"circuit": TestCircuit(series_resistance=2e3, compliance=2e-4)}),
    ],
    ids=["vteam", "joglekar2009-window", "vteam-Rs-compliance"],
)
def test_large_batch_matches_cpu(model, base, names, kw):
    n = 8192
    stim = sine_sweep(amplitude=1.2, frequency=1.0, cycles=2, points_per_cycle=50) if model == "vteam" else \
        triangle_sweep(vmax=1.2, frequency=1.0, cycles=2)
    P = _spread(model, n, base, names)
    x0 = [0.2] if model == "vteam" else None
    cpu = simulate_batch(model, stim, P, x0, rtol=1e-12, **kw)
    gpu = simulate_batch(model, stim, P, x0, rtol=1e-12, backend="cuda", **kw)
    assert gpu.backend == "cuda" and (gpu.status == 0).all()
    _agree(cpu, gpu, 1e-10)


@needs_gpu
def test_float32_close_to_float64():
    stim = sine_sweep(amplitude=1.0, frequency=1.0, cycles=1, points_per_cycle=40)
    P = _spread("vteam", 4096, VTEAM, ("k_off",))
    cpu = simulate_batch("vteam", stim, P, [0.1], rtol=1e-6)
    g32 = simulate_batch("vteam", stim, P, [0.1], rtol=1e-6, backend="cuda", dtype=np.float32)
    assert (g32.status == 0).all()
    assert np.abs(g32.x - cpu.x).max() < 1e-4
    assert np.abs(g32.i - cpu.i).max() / np.abs(cpu.i).max() < 1e-4


@needs_gpu
@pytest.mark.parametrize("name", available_models())
def test_every_model_runs_on_the_gpu(name):
    """Each registered model compiles for CUDA and reproduces the CPU under its default stimulus."""
    m = get_model(name)
    stim = parse_stimulus(m.default_stimulus)
    P = np.tile(m.params(), (4, 1))
    cpu = simulate_batch(name, stim, P, rtol=1e-10)
    gpu = simulate_batch(name, stim, P, rtol=1e-10, backend="cuda")
    _agree(cpu, gpu, 1e-6)


@pytest.mark.skipif(os.environ.get("MEMFIT_TEST_CUDA_PTX") != "1", reason="opt-in: MEMFIT_TEST_CUDA_PTX=1")
@pytest.mark.parametrize("name", available_models())
def test_every_model_compiles_to_ptx(name, monkeypatch):
    """Device code generation without a GPU: the batch kernel of each model compiles to PTX (sm_90).

    numba-cuda compiles the ``@njit`` functions a kernel calls for the current
    device; without one, its compute capability is stood in for (internal
    hook ``numba.cuda.dispatcher.get_current_device``).
    """
    from numba import types

    from memfit.simulate import _cuda
    from memfit.simulate._kernels import integrators as K

    m = get_model(name)
    ny = m.n_states + (0 if m.port == "i(v)" else 1)
    method = K.SDIRK4 if m.stiff else K.DOPRI5
    f8, i8 = types.float64, types.int64
    a1, a2, a3 = (types.Array(f8, d, "C") for d in (1, 2, 3))
    i1 = types.Array(i8, 1, "C")
    sig = (i8, i8, a2, i1, i1, a1, a1, a2, a2, a2, a2, a1, f8, a2, i8, a3, a3, i1, types.Array(i8, 2, "C"))
    ptx = compile_ptx_sm90(monkeypatch, lambda: _cuda.batch_kernel(m, method, ny, 5), sig)
    assert ".entry" in ptx
