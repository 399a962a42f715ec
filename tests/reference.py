"""Independent reference solutions: SciPy's Radau (rtol 1e-10) with pure-Python right-hand sides.

Shares nothing with memfit's integrators or circuit solver: the source value
comes from ``Stimulus.value`` (numpy), the device voltage from
``scipy.optimize.brentq``, the time stepping from ``scipy.integrate.solve_ivp``.
Only the model's equations (the kernels' Python source) are shared.
"""

from __future__ import annotations

import os

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from memfit.models import get_model
from memfit.simulate.stimulus import SEG_MODE, SEG_T0, SEG_T1


def py(f):
    """The Python function behind a numba dispatcher (itself under NUMBA_DISABLE_JIT)."""
    return getattr(f, "py_func", f)


def device_voltage(cur, x, p, src, mode, rs=0.0, icomp=np.inf, vcomp=100.0):
    """(v_dev, i) from the circuit equations, solved with brentq."""
    if mode == 0:
        if rs == 0.0 or src == 0.0:
            vd = src
        else:
            lo, hi = sorted((0.0, src))
            vd = brentq(lambda v: v + rs * cur(x, v, p) - src, lo, hi, xtol=1e-300, rtol=8.9e-16, maxiter=500)
        i = cur(x, vd, p)
        if abs(i) > icomp:
            tgt = np.sign(i) * icomp
            lo, hi = sorted((0.0, vd))
            vd = brentq(lambda v: cur(x, v, p) - tgt, lo, hi, xtol=1e-300, rtol=8.9e-16, maxiter=500)
            i = tgt
        return vd, i
    vd = brentq(lambda v: cur(x, v, p) - src, -vcomp, vcomp, xtol=1e-300, rtol=8.9e-16, maxiter=500)
    return vd, src


def scipy_reference(model, stim, params=None, x0=None, series_resistance=0.0, compliance=None, rtol=1e-10,
                    atol=None, method="Radau"):
    """Reference solution at the stimulus output times.

    Returns a dict with ``t``, ``x`` (M, n_states), ``i``, ``v_dev``.
    """
    model = get_model(model)
    p = model.params(params) if (params is None or isinstance(params, dict)) else np.asarray(params, float)
    x = model.initial_state(p, **(x0 or {})) if (x0 is None or isinstance(x0, dict)) else np.asarray(x0, float)
    lo, hi = model.state_bounds(p)
    rng = hi - lo
    scale = np.where(np.isfinite(rng) & (rng > 0), rng, np.maximum(np.abs(x), 1.0))
    atol_v = (1e-13 if atol is None else atol) * scale
    rhs, cur = py(model.rhs), py(model.current)
    icomp = np.inf if compliance is None else compliance
    seg = stim.segments
    t_out = stim.t
    xs = np.empty((t_out.size, model.n_states))
    vds = np.empty(t_out.size)
    cs = np.empty(t_out.size)
    y = np.array(x, dtype=float)
    k_seg = stim.segment_index()
    for s in range(seg.shape[0]):
        ta, tb, mode = seg[s, SEG_T0], seg[s, SEG_T1], int(seg[s, SEG_MODE])

        def f(t, yy, s=s, mode=mode):
            src = float(stim.value(np.array([t]))[0]) if t < tb else _left(stim, s, t)
            vd, _ = device_voltage(cur, yy, p, src, mode, series_resistance, icomp)
            d = np.empty_like(yy)
            rhs(yy, vd, t, p, d)
            return d

        idx = np.nonzero((k_seg == s) & (t_out >= ta) & (t_out < tb))[0]
        sol = solve_ivp(f, (ta, tb), y, method=method, rtol=rtol, atol=atol_v, dense_output=True)
        if not sol.success:
            raise RuntimeError(f"reference solve failed in segment {s}: {sol.message}")
        for k in idx:
            xs[k] = sol.sol(t_out[k]) if t_out[k] > ta else y
        y = sol.y[:, -1].copy()
    last = np.nonzero(t_out >= seg[-1, SEG_T1])[0]
    for k in last:
        xs[k] = y
    src = stim.value()
    for k in range(t_out.size):
        s = k_seg[k]
        val = src[k] if t_out[k] < seg[s, SEG_T1] else _left(stim, s, t_out[k])
        vds[k], cs[k] = device_voltage(cur, xs[k], p, val, int(seg[s, SEG_MODE]), series_resistance, icomp)
    return {"t": t_out, "x": xs, "i": cs, "v_dev": vds}


def _left(stim, s, t):
    """Source value of segment s evaluated at (its end) time t."""
    from memfit.simulate._kernels.integrators import source_value

    return py(source_value)(stim.segments, s, t - stim.segments[s, SEG_T0])


def max_rel_current_error(sim, ref, floor=1e-3):
    """Max |I_sim - I_ref| / |I_ref| over samples with |I_ref| > floor * max|I_ref|."""
    i_ref = np.asarray(ref["i"])
    i_sim = np.asarray(sim["i"] if not isinstance(sim, dict) else sim["i"])
    mask = np.abs(i_ref) > floor * np.max(np.abs(i_ref))
    return float(np.max(np.abs(i_sim[mask] - i_ref[mask]) / np.abs(i_ref[mask])))


def assert_matches_reference(sim, ref, rtol=1e-6, floor=1e-3):
    """Assert the max relative current error (above ``floor * max|I|``) is <= rtol."""
    err = max_rel_current_error(sim, ref, floor)
    assert err <= rtol, f"max relative current error {err:.3e} > {rtol:.1e}"
    return err


def run_under_cuda_simulator(test_file, min_passed: int) -> None:
    """Run the tests of ``test_file`` (its simulator tests) in a subprocess with NUMBA_ENABLE_CUDASIM=1.

    The simulator must be switched on before numba is imported, hence the subprocess.  Asserts that
    it passed, with at least ``min_passed`` tests and none skipped.
    """
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning",
         str(Path(test_file).resolve().relative_to(root)), "-k", "not under_the_simulator and not without_gpu"],
        cwd=root, env=env, capture_output=True, text=True, timeout=600,
    )
    tail = proc.stdout[-4000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    m = re.search(r"(\d+) passed", proc.stdout)
    assert m and int(m.group(1)) >= min_passed, tail
    assert "skipped" not in proc.stdout.splitlines()[-1], tail


def cuda_simulator_module(runner: str):
    """numba's CUDA module inside the ``NUMBA_ENABLE_CUDASIM=1`` subprocess that the test ``runner``
    starts (see :func:`run_under_cuda_simulator`); skips the calling test everywhere else."""
    import pytest

    from memfit import _gpu

    if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
        pytest.skip(f"runs in the NUMBA_ENABLE_CUDASIM=1 subprocess of {runner}")
    assert _gpu.simulator_enabled()
    return _gpu.cuda_module()


def compile_ptx_sm90(monkeypatch, make_kernel, sig) -> str:
    """PTX for sm_90 of the kernel ``make_kernel()`` builds, without a GPU (skips where it cannot).

    numba-cuda compiles the ``@njit`` functions a kernel calls for the current device; without
    one, its compute capability is stood in for through the internal hook
    ``numba.cuda.dispatcher.get_current_device``.  ``sig``: the kernel's argument types.
    """
    import types as pytypes

    import pytest

    from memfit import _gpu

    if _gpu.simulator_enabled():
        pytest.skip("not under the simulator")
    cuda = pytest.importorskip("numba.cuda")
    import numba.cuda.dispatcher as cuda_dispatcher

    if not hasattr(cuda_dispatcher, "get_current_device"):
        pytest.skip("this numba-cuda has no get_current_device hook")
    monkeypatch.setattr(cuda_dispatcher, "get_current_device",
                        lambda: pytypes.SimpleNamespace(compute_capability=(9, 0)))
    monkeypatch.setattr(_gpu, "_import_cuda", lambda: (cuda, None))
    kernel = make_kernel()
    try:
        ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=(9, 0))
    except Exception as exc:
        if "nvvm" in str(exc).lower() or "nvrtc" in str(exc).lower() or "libdevice" in str(exc).lower():
            pytest.skip(f"NVVM toolchain not installed: {exc}")
        raise
    return ptx
