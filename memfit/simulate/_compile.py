"""Lazy, cached compilation of the integrator entry points.

The integrators take the model kernels as first-class functions typed by
signature (:data:`RHS_SIG`, :data:`CURRENT_SIG`), so one compiled integrator
serves every model and numba can cache it on disk (``cache=True``).  Nothing
is compiled at import; the first simulation compiles (or loads from the
cache) what it needs.

With ``NUMBA_DISABLE_JIT=1`` everything runs as plain Python (slowly), which
the test suite uses to check the kernels' pure-Python semantics.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

from numba import config, njit, types
from numba.extending import typeof_impl

from memfit import _jit
from memfit.simulate._kernels import circuit as _circuit
from memfit.simulate._kernels import integrators as _k

f8 = types.float64
i8 = types.int64
V1 = types.Array(f8, 1, "C")
V2 = types.Array(f8, 2, "C")
V3 = types.Array(f8, 3, "C")
I1 = types.Array(i8, 1, "C")
I2 = types.Array(i8, 2, "C")

#: ``rhs(x, v, t, p, dxdt) -> None``
RHS_SIG = types.void(V1, f8, f8, V1, V1)
#: ``current(x, v, p) -> i``
CURRENT_SIG = f8(V1, f8, V1)
RHS_T = types.FunctionType(RHS_SIG)
CUR_T = types.FunctionType(CURRENT_SIG)

# run_single(rhs, cur, method, ckind, nx, seg, tout, uout, y0, p, lo, hi, circ, rtol, atol, max_steps, X, OUT, stats)
SINGLE_SIG = i8(RHS_T, CUR_T, i8, i8, i8, V2, V1, V1, V1, V1, V1, V1, V1, f8, V1, i8, V2, V2, I1)
# run_batch(..., SEG, SEG_START, SEG_GROUP, tout, uout, Y0, P, LO, HI, circ, rtol, ATOL, max_steps, X, OUT, STATUS,
#           STATS)
BATCH_SIG = types.void(RHS_T, CUR_T, i8, i8, i8, V2, I1, I1, V1, V1, V2, V2, V2, V2, V1, f8, V2, i8, V3, V3, I1, I2)


def _kernel_sources_hash() -> str:
    """Hash of the integrator and circuit sources (the code an entry point links in) and of the
    decorator that sets their compiler flags."""
    h = hashlib.sha256()
    for mod in (_k, _circuit, _jit):
        h.update(Path(mod.__file__).read_bytes())
    return h.hexdigest()[:12]


def _cached(sig, func, **kw):
    """``njit(sig, cache=True)(func)`` with its cache in a directory named after the kernel sources.

    numba invalidates a cached function only when *its own* source file
    changes; the entry points link in code from two modules, so an upgrade
    that edits only circuit.py would otherwise keep running the old circuit.
    A user-set NUMBA_CACHE_DIR is respected (as the parent directory).
    """
    base = config.CACHE_DIR or str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "memfit")
    old = config.CACHE_DIR
    config.CACHE_DIR = str(Path(base) / f"kernels-{_kernel_sources_hash()}")
    try:
        return njit(sig, cache=True, **kw)(func)
    finally:
        config.CACHE_DIR = old


@functools.lru_cache(maxsize=None)
def single():
    """The compiled single-device integrator."""
    return _cached(SINGLE_SIG, _k.run_single)


@functools.lru_cache(maxsize=None)
def batch():
    """The compiled multi-device integrator (parallel over cores)."""
    return _cached(BATCH_SIG, _k.run_batch, parallel=True)


_WAPS: dict = {}


def kernels(model):
    """The model's ``(rhs, current)`` compiled for the integrator signatures.

    Returned as first-class function objects holding the compiled addresses
    (numba's ``CompileResultWAP``): passing a dispatcher instead makes numba
    look the compiled overload up on every call, ~0.1 ms, which dominated
    short simulations inside fits.  They are :class:`_KernelPointer` objects,
    whose numba type is computed once (see there).
    """
    if config.DISABLE_JIT:
        return model.rhs, model.current
    key = (id(model.rhs), id(model.current))
    if key not in _WAPS:
        _WAPS[key] = (_wap(model.rhs, RHS_SIG), _wap(model.current, CURRENT_SIG))
    return _WAPS[key]


class _KernelPointer(types.CompileResultWAP):
    """A compiled model kernel passed to the integrators, with its numba type attached.

    numba types a plain ``CompileResultWAP`` argument by building a new
    ``FunctionType`` from its signature on every call of the jitted function:
    ~11 us per kernel, 23 us of a simulation's ~25 us call overhead (a fit
    calls the integrator hundreds of times).  The ``typeof_impl`` registered
    below (numba's public extension point) returns the stored type instead.
    """

    def __init__(self, cres, numba_type):
        super().__init__(cres)
        self.numba_type = numba_type


@typeof_impl.register(_KernelPointer)
def _typeof_kernel_pointer(val, c):
    return val.numba_type


def _wap(dispatcher, sig):
    if sig.args not in dispatcher.overloads:
        dispatcher.compile(sig.args)
    return _KernelPointer(dispatcher.get_compile_result(sig), types.FunctionType(sig))
