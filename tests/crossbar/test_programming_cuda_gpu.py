"""Write-verify on a real GPU: a 512x512 tile of FTJ devices against the CPU path.

Runs only where a CUDA GPU is usable (``memfit._gpu.gpu_available()``: numba-cuda,
an NVIDIA driver and a device); everywhere else the module is skipped.  The
simulator versions of these checks (small batches, bit-identical, run in CI)
are in test_programming_cuda_sim.py.

On a GPU the arithmetic is not bit-identical to the CPU's (fused multiply-adds,
a different ``expm1``).  The pulse integrator's diagonal Jacobian is a forward
difference with a relative step of 1e-7, so a last-bit difference in the
right-hand side becomes ~1e-9 in the Jacobian and up to ~1e-9 (relative) in a
pulse's state update; a read that lands that close to an edge of the tolerance
band can then take one pulse more or less.  The tests therefore ask for the
same pulse count on all but 0.1 % of the devices and, where the counts agree,
conductances within 1e-7.

``MEMFIT_TEST_CUDA_PTX=1`` additionally runs :func:`test_write_verify_kernel_compiles_to_ptx`
where numba-cuda and NVVM are installed but no GPU is.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from memfit import _gpu
from memfit.crossbar import programming as pg
from memfit.crossbar.device import CrossbarDevice
from tests.reference import compile_ptx_sm90

GPU = (not _gpu.simulator_enabled()) and _gpu.gpu_available()
if not GPU and os.environ.get("MEMFIT_TEST_CUDA_PTX") != "1":
    pytest.skip("needs a CUDA GPU (pip install 'memfit[gpu]' and an NVIDIA driver)", allow_module_level=True)
needs_gpu = pytest.mark.skipif(not GPU, reason="needs a CUDA GPU (pip install 'memfit[gpu]' and an NVIDIA driver)")


def _agree(cpu, gpu, min_same=0.999, rtol=1e-7):
    (Gc, rc), (Gg, rg) = cpu, gpu
    same = rg.pulses == rc.pulses
    assert same.mean() >= min_same, f"pulse counts differ on {np.count_nonzero(~same)} of {same.size} devices"
    err = np.abs(Gg[same] / Gc[same] - 1).max()
    assert err <= rtol, f"max relative conductance difference {err:.2e} > {rtol:g}"
    assert abs(rg.fraction_within_tolerance - rc.fraction_within_tolerance) <= 1 - min_same


@needs_gpu
@pytest.mark.parametrize("preset", ["ftj-balanced", "ftj-extreme"])
def test_512x512_tile_matches_cpu(preset):
    dev = CrossbarDevice.from_preset(preset)
    n = 512 * 512
    T = np.random.default_rng(0).uniform(dev.g_min, dev.g_max, n)
    cpu = pg.write_verify(T, dev, np.random.default_rng(1), backend="cpu")
    P_cpu = pg.write_verify.last_params
    gpu = pg.write_verify(T, dev, np.random.default_rng(1), backend="cuda")
    np.testing.assert_array_equal(pg.write_verify.last_params, P_cpu)
    assert cpu[1].pulses.max() > 5  # real programming work
    _agree(cpu, gpu)


@needs_gpu
def test_reachable_window_matches_cpu():
    dev = CrossbarDevice.from_preset("ftj-balanced")
    cpu = pg.reachable_window(dev, np.random.default_rng(0), n=20_000, backend="cpu")
    gpu = pg.reachable_window(dev, np.random.default_rng(0), n=20_000, backend="cuda")
    np.testing.assert_allclose(gpu, cpu, rtol=1e-7)
    assert pg._resolve_backend("auto") == "cuda"


@pytest.mark.skipif(os.environ.get("MEMFIT_TEST_CUDA_PTX") != "1", reason="opt-in: MEMFIT_TEST_CUDA_PTX=1")
@pytest.mark.parametrize("model_name", ["ftj_athle2023", "vteam"])
def test_write_verify_kernel_compiles_to_ptx(model_name, monkeypatch):
    """Device code generation without a GPU: the write-verify kernel compiles to PTX (sm_90).

    As in tests/simulate/test_cuda_gpu.py, the current device's compute capability is stood
    in for through numba-cuda's internal hook ``numba.cuda.dispatcher.get_current_device``.
    """
    from numba import types

    from memfit.crossbar import _cuda_programming
    from memfit.models import get_model

    m = get_model(model_name)
    f8, i8 = types.float64, types.int64
    a1, a2 = (types.Array(f8, d, "C") for d in (1, 2))
    sig = (a2, a2, a2, a2, a1, f8, f8, i8, f8, f8, f8, f8, f8, f8, f8, i8, types.boolean, a1,
           types.Array(i8, 1, "C"))
    ptx = compile_ptx_sm90(monkeypatch, lambda: _cuda_programming.write_verify_kernel(m, m.n_states), sig)
    assert ".entry" in ptx
