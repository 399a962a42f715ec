"""Write-verify on a CUDA GPU: one thread per device, the CPU kernel's own per-device code.

There is no second copy of the programming loop or of the physics here.  The
kernel built by :func:`write_verify_kernel` is glue: each thread takes one
device, allocates the pulse integrator's scratch with ``cuda.local.array``
(the model's state count, fixed at compile time) and calls
:func:`memfit.crossbar.programming._ispp_device` -- the same ``@njit``
function the CPU ``prange`` kernel (``_write_verify_batch``) calls per device:
the ISPP loop, the exponential-Euler pulse integrator ``_pulse`` and the
model's own ``rhs`` and ``current`` ``@njit`` functions, which numba-cuda
compiles as CUDA device functions (as for the batch integrator,
:mod:`memfit.simulate._cuda`).

Under numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) the kernel runs as
Python threads and ``_ispp_device`` is called CPU-compiled (see
:func:`memfit._gpu.sim_device_call`); that checks the kernel glue, the
scratch layout and the host side, and reproduces the CPU path to the bit
(tests/crossbar/test_programming_cuda_sim.py).

Status (written without a GPU): nothing here has run on GPU hardware and no
real-GPU figure has been measured; the device compilation is not checked
here (no NVVM).  Run tests/crossbar/test_programming_cuda_gpu.py and
``python -m benchmarks gpu`` on a GPU machine before relying on it.  On a GPU
the arithmetic is not bit-identical to the CPU's (fused multiply-adds, a
different libm), so a read that lands on the edge of the tolerance band may,
rarely, take one pulse more or less.

Precision: float64 only (the ISPP decisions compare reads with the band
edges; float32 would move them).
"""

from __future__ import annotations

import functools

import numpy as np

from memfit import _gpu
from memfit.crossbar import programming as _pg
from memfit.errors import ModelError

#: ``numba.cuda``, set on first use (a module global: the simulator swaps it inside kernels)
cuda = None

#: threads per block on a real GPU (the FTJ's 22 states make each thread local-memory-heavy)
THREADS_PER_BLOCK = 64
#: threads per block under the simulator (each thread is a Python thread)
SIM_THREADS_PER_BLOCK = 8


@functools.lru_cache(maxsize=None)
def _kernel_cached(rhs, cur, ns: int, sim: bool):
    global cuda
    cuda = _gpu.cuda_module()
    from numba import types

    f8 = types.float64
    body = _gpu.sim_device_call(_pg._ispp_device) if sim else _pg._ispp_device

    def kernel(P, X, LO, HI, targets, v_read, tol, max_pulses, v_start, v_step, v_max, v_start_dn, v_max_dn, width,
               polarity, n_sub, rowsum, G, PULSES):
        k = cuda.grid(1)
        if k < X.shape[0]:
            f0 = cuda.local.array(ns, f8)
            f1 = cuda.local.array(ns, f8)
            xp = cuda.local.array(ns, f8)
            jd = cuda.local.array(ns, f8)
            body(rhs, cur, k, P, X, LO, HI, targets, v_read, tol, max_pulses, v_start, v_step, v_max, v_start_dn,
                 v_max_dn, width, polarity, n_sub, rowsum, f0, f1, xp, jd, G, PULSES)

    return cuda.jit(kernel)


def write_verify_kernel(model, ns: int):
    """The CUDA write-verify kernel for ``model`` with ``ns`` states (one thread per device), built once.

    Launch as ``kernel[blocks, threads](P, X, LO, HI, targets, v_read, tol, max_pulses, v_start,
    v_step, v_max, v_start_dn, v_max_dn, width, polarity, n_sub, rowsum, G, PULSES)``: the
    arguments of :func:`memfit.crossbar.programming._write_verify_batch` less the two model
    functions, with ``X`` holding the starting states on entry (overwritten by the final ones).
    """
    return _kernel_cached(model.rhs, model.current, int(ns), _gpu.simulator_enabled())


def run_write_verify(model, P, X0, LO, HI, targets, v_read, tol, max_pulses, v_start, v_step, v_max, v_start_dn,
                     v_max_dn, width, polarity, n_sub, rowsum, G_out, pulses_out, X_out):
    """Write-verify N devices on the GPU; fills ``G_out, pulses_out, X_out`` in place like the CPU kernel.

    Parameters
    ----------
    model : DeviceModel
        A conductive model (port ``i(v)``).
    P, X0, LO, HI : ndarray (N, n_params) / (N, n_states), float64
        Parameter rows, starting states and state bounds per device.
    targets : ndarray (N,)
        Target read conductances [S].
    v_read : float
        Read voltage [V].
    tol : float
        Relative tolerance band [1].
    max_pulses : int
    v_start, v_step, v_max, v_start_dn, v_max_dn : float
        ISPP ramp [V] (SET start/step/limit, RESET start/limit as magnitudes).
    width : float
        Pulse width [s].
    polarity : float
        Sign of a SET pulse (+1 or -1).
    n_sub : int
        Exponential-Euler sub-steps per pulse.
    rowsum : bool
        Jacobian estimate (see :func:`memfit.crossbar.programming._pulse`).
    G_out : ndarray (N,)
        Final read conductances [S] (output).
    pulses_out : ndarray (N,) int64
        Pulses applied (output).
    X_out : ndarray (N, n_states)
        Final states (output).
    """
    cu = _gpu.cuda_module()
    sim = _gpu.simulator_enabled()
    N, ns = X0.shape
    if N == 0:
        return
    kernel = write_verify_kernel(model, ns)

    def dev(a, dtype=np.float64):
        a = np.ascontiguousarray(a, dtype=dtype)
        return a if sim else cu.to_device(a)

    d_X = dev(np.array(X0, dtype=np.float64, copy=True))  # the kernel overwrites the states in place
    d_G = dev(np.full(N, np.nan))
    d_pulses = dev(np.zeros(N, dtype=np.int64), np.int64)
    tpb = SIM_THREADS_PER_BLOCK if sim else THREADS_PER_BLOCK
    blocks = (N + tpb - 1) // tpb
    try:
        kernel[blocks, tpb](dev(P), d_X, dev(LO), dev(HI), dev(targets), float(v_read), float(tol), int(max_pulses),
                            float(v_start), float(v_step), float(v_max), float(v_start_dn), float(v_max_dn),
                            float(width), float(polarity), int(n_sub), bool(rowsum), d_G, d_pulses)
    except Exception as exc:
        from numba.core.errors import NumbaError

        if isinstance(exc, NumbaError):
            msg = str(exc).strip()
            raise ModelError(
                f"model {model.name!r} cannot be compiled for CUDA write-verify: its kernels (rhs/current) or the "
                f"pulse integrator use something numba-cuda does not support; use backend='cpu'. Compiler said: "
                f"{msg.splitlines()[0] if msg else type(exc).__name__}"
            ) from exc
        raise
    if sim:
        host = (d_G, d_pulses, d_X)
    else:
        cu.synchronize()
        host = tuple(a.copy_to_host() for a in (d_G, d_pulses, d_X))
    G_out[...] = host[0]
    pulses_out[...] = host[1]
    X_out[...] = host[2]
