"""The batch integrator on a CUDA GPU: one thread per device, the CPU integrator's own code.

There is no second copy of anything here.  The kernel built by
:func:`batch_kernel` is a few lines of glue: each thread takes one device
(one row of the parameter, initial-state, bound and tolerance arrays),
allocates its scratch arrays with ``cuda.local.array`` (sizes fixed per model
at compile time: the device states plus the circuit state), and calls the
integrator core of :mod:`memfit.simulate._kernels.integrators`
(:func:`~memfit.simulate._kernels.integrators.dopri5_core` or
:func:`~memfit.simulate._kernels.integrators.sdirk4_core`) -- the same
``@njit`` function the CPU entry points call, with the same step-size
control, dense output, breakpoints, clamping and status codes.  numba-cuda
compiles that function, the circuit kernels and the *model's own* ``rhs``
and ``current`` ``@njit`` functions as CUDA device functions.

Under numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) the same kernel
runs as Python threads; the integrator core is then called CPU-compiled
(see :func:`memfit._gpu.sim_device_call`).  That checks the kernel glue,
the scratch layout and the host side, not the device code generation; the
device compilation of every registered model is checked separately where
numba-cuda and NVVM are installed (``tests/simulate/test_cuda_gpu.py``).

Status (written without a GPU): nothing here has run on GPU hardware and no
real-GPU figure has been measured.  Verified: (1) under the simulator, the
kernel reproduces the CPU path to the bit (tests/simulate/test_cuda_sim.py);
(2) with numba-cuda 0.30.4 and NVVM from CUDA 12.9, the batch kernel of every
registered model (DOPRI5 for the 13 non-stiff ones, SDIRK4 for the 7 stiff
ones) compiles to PTX for sm_90 -- numba-cuda compiles ``@numba.jit``
functions called from a kernel as device functions (its documented
"CPU/GPU compatibility" example).  Run tests/simulate/test_cuda_gpu.py and
``python -m benchmarks gpu`` on a GPU machine before relying on it.

Precision: float64 by default.  ``dtype=float32`` stores the states,
parameters, bounds, tolerances, scratch and outputs in float32 (the
stimulus table and output times stay float64); numba types the integrator's
scalar arithmetic from its float64 constants, so most scalar arithmetic is
still carried out in float64 and only the arrays lose precision.
"""

from __future__ import annotations

import functools

import numpy as np

from memfit import _gpu
from memfit.errors import ModelError, ParameterError
from memfit.simulate._kernels import integrators as _k

#: ``numba.cuda``, set on first use (a module global: the simulator swaps it inside kernels)
cuda = None

#: threads per block on a real GPU (the kernel is register- and local-memory-heavy)
THREADS_PER_BLOCK = 64
#: threads per block under the simulator (each thread is a Python thread)
SIM_THREADS_PER_BLOCK = 8


def _numba_type(dtype):
    from numba import types

    return {np.dtype(np.float64): types.float64, np.dtype(np.float32): types.float32}[np.dtype(dtype)]


def _model_functions(model, sim: bool, dtype):
    """The ``(rhs, current)`` the kernel calls: the model's own ``@njit`` functions.

    On a GPU numba-cuda compiles them as device functions.  Under the
    simulator, float64 runs use the compiled first-class functions that the
    CPU path uses (one cached compilation of the core serves every model);
    float32 runs pass the dispatchers (compiled for float32 arrays).
    """
    if sim and np.dtype(dtype) == np.float64:
        from memfit.simulate import _compile

        return _compile.kernels(model)
    return model.rhs, model.current


@functools.lru_cache(maxsize=None)
def _kernel_cached(rhs, cur, method: int, ny: int, nout: int, dtype_str: str, sim: bool):
    global cuda
    cuda = _gpu.cuda_module()
    fdt = _numba_type(dtype_str)
    from numba import types

    idt = types.int64
    if method == _k.SDIRK4:
        core = _gpu.sim_device_call(_k.sdirk4_core) if sim else _k.sdirk4_core

        def kernel(ck, nx, SEG, SEG_START, SEG_GROUP, tout, uout, Y0, P, LO, HI, circ, rtol, ATOL, max_steps, X, OUT,
                   STATUS, STATS):
            d = cuda.grid(1)
            if d < Y0.shape[0]:
                g = SEG_GROUP[d]
                seg = SEG[SEG_START[g]:SEG_START[g + 1]]
                y = cuda.local.array(ny, fdt)
                scr_y = cuda.local.array(ny, fdt)
                scr_dy = cuda.local.array(ny, fdt)
                ob = cuda.local.array(nout, fdt)
                K = cuda.local.array((5, ny), fdt)
                Y = cuda.local.array(ny, fdt)
                base = cuda.local.array(ny, fdt)
                F = cuda.local.array(ny, fdt)
                M = cuda.local.array((ny, ny), fdt)
                piv = cuda.local.array(ny, idt)
                ynew = cuda.local.array(ny, fdt)
                err = cuda.local.array(ny, fdt)
                fj = cuda.local.array(ny, fdt)
                yj = cuda.local.array(ny, fdt)
                fs = cuda.local.array(ny, fdt)
                dY = cuda.local.array(ny, fdt)
                STATUS[d] = core(rhs, cur, ck, nx, seg, tout, Y0[d], P[d], LO[d], HI[d], circ, rtol, ATOL[d],
                                 max_steps, X[d], OUT[d], STATS[d], y, scr_y, scr_dy, ob, K, Y, base, F, M, piv,
                                 ynew, err, fj, yj, fs, dY)

    else:
        core = _gpu.sim_device_call(_k.dopri5_core) if sim else _k.dopri5_core

        def kernel(ck, nx, SEG, SEG_START, SEG_GROUP, tout, uout, Y0, P, LO, HI, circ, rtol, ATOL, max_steps, X, OUT,
                   STATUS, STATS):
            d = cuda.grid(1)
            if d < Y0.shape[0]:
                g = SEG_GROUP[d]
                seg = SEG[SEG_START[g]:SEG_START[g + 1]]
                y = cuda.local.array(ny, fdt)
                ynew = cuda.local.array(ny, fdt)
                tmp = cuda.local.array(ny, fdt)
                err = cuda.local.array(ny, fdt)
                yd = cuda.local.array(ny, fdt)
                scr_y = cuda.local.array(ny, fdt)
                scr_dy = cuda.local.array(ny, fdt)
                ob = cuda.local.array(nout, fdt)
                K = cuda.local.array((7, ny), fdt)
                STATUS[d] = core(rhs, cur, ck, nx, seg, tout, uout, Y0[d], P[d], LO[d], HI[d], circ, rtol, ATOL[d],
                                 max_steps, X[d], OUT[d], STATS[d], y, ynew, tmp, err, yd, scr_y, scr_dy, ob, K)

    return cuda.jit(kernel)


def batch_kernel(model, method: int, ny: int, nout: int, dtype=np.float64):
    """The CUDA kernel integrating ``model`` (one thread per device), built once per model/method/size/dtype.

    Launch as ``kernel[blocks, threads](ckind, nx, SEG, SEG_START, SEG_GROUP, tout, uout, Y0, P,
    LO, HI, circ, rtol, ATOL, max_steps, X, OUT, STATUS, STATS)``: the arguments of
    :func:`memfit.simulate._kernels.integrators.run_batch` less the two
    model functions and the method code.
    """
    sim = _gpu.simulator_enabled()
    rhs, cur = _model_functions(model, sim, dtype)
    return _kernel_cached(rhs, cur, int(method), int(ny), int(nout), np.dtype(dtype).str, sim)


def run_batch(model, method, ckind, nx, SEG, SEG_START, SEG_GROUP, tout, uout, Y0, P, LO, HI, circ, rtol, ATOL,
              max_steps, X, OUT, STATUS, STATS, dtype=np.float64):
    """Integrate N devices on the GPU; fills ``X, OUT, STATUS, STATS`` in place like the CPU ``run_batch``.

    Parameters
    ----------
    model : DeviceModel
    method, ckind, nx : int
        Integrator code, circuit kind, number of device states.
    SEG, SEG_START, SEG_GROUP, tout, uout, Y0, P, LO, HI, circ, ATOL : ndarray (float64; the two SEG_ int64)
        As for :func:`memfit.simulate._kernels.integrators.run_batch`.
    rtol : float
    max_steps : int
    X, OUT : ndarray (N, M or 1, ny) and (N, M or 1, 5), float64
    STATUS : ndarray (N,) int64
    STATS : ndarray (N, 3) int64
    dtype : {numpy.float64, numpy.float32}
        Precision of the arrays on the device.
    """
    cu = _gpu.cuda_module()
    sim = _gpu.simulator_enabled()
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ParameterError(f"dtype must be float64 or float32, got {dtype!r}")
    N, ny = Y0.shape
    if N == 0:
        return
    kernel = batch_kernel(model, method, ny, OUT.shape[2], dt)

    def dev(a, dtype=None):
        a = np.ascontiguousarray(a, dtype=dtype)
        return a if sim else cu.to_device(a)

    # the stimulus (segment table, output times) and the circuit stay float64 in every mode: absolute
    # times late in a long stimulus need the digits (the integrators work in time local to a segment)
    args = [dev(SEG, np.float64), dev(SEG_START, np.int64), dev(SEG_GROUP, np.int64), dev(tout, np.float64),
            dev(uout, np.float64)] + [dev(a, dt) for a in (Y0, P, LO, HI)]
    args.append(dev(circ, np.float64))
    d_atol = dev(ATOL, dt)
    d_X = np.empty(X.shape, dtype=dt) if sim else cu.device_array(X.shape, dtype=dt)
    d_OUT = dev(np.full(OUT.shape, np.nan, dtype=dt))  # NaN marks outputs a failed device never reached
    d_STATUS = dev(np.zeros(N, dtype=np.int64))
    d_STATS = dev(np.zeros((N, 3), dtype=np.int64))
    tpb = SIM_THREADS_PER_BLOCK if sim else THREADS_PER_BLOCK
    blocks = (N + tpb - 1) // tpb
    try:
        kernel[blocks, tpb](int(ckind), int(nx), *args, float(rtol), d_atol, int(max_steps), d_X, d_OUT,
                            d_STATUS, d_STATS)
    except Exception as exc:
        from numba.core.errors import NumbaError

        if isinstance(exc, NumbaError):
            raise ModelError(
                f"model {model.name!r} cannot be compiled for CUDA: its kernels (rhs/current) or the integrator use "
                f"something numba-cuda does not support; run it with backend='cpu'. Compiler said: "
                f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}"
            ) from exc
        raise
    if sim:
        host = (d_X, d_OUT, d_STATUS, d_STATS)
    else:
        cu.synchronize()
        host = tuple(a.copy_to_host() for a in (d_X, d_OUT, d_STATUS, d_STATS))
    X[...] = host[0]
    OUT[...] = host[1]
    STATUS[...] = host[2]
    STATS[...] = host[3]
