"""``kernel``: the decorator of memfit's allocation-free numba kernels.

The device models (:mod:`memfit.models._kernels`) and the integrator and test-circuit
code (:mod:`memfit.simulate._kernels`) run millions of times per simulation and never
allocate: every array they touch comes from their caller.  They are compiled with
``numba.njit(cache=True)`` *without numba's reference-counting runtime* (NRT,
``_nrt=False``).

Why: numba increments and decrements an array's reference count (an atomic operation,
~5 ns) every time a function that is not inlined receives an array argument or takes a
view such as ``K[st]``, and its pruning pass cannot remove the pairs across a call.
The model kernels are reached through function pointers (see
:mod:`memfit.simulate._compile`), so they are never inlined: a VTEAM right-hand side
made 6 atomic operations per call for ~40 ns of arithmetic.  Measured on the integrator
benchmark (``python -m benchmarks integrators``), over half of the integrator's time was
spent in ``NRT_incref``/``NRT_decref``; without the runtime the same code runs 1.5x
faster with bit-identical results (the counts only keep arrays alive, and a kernel's
arrays are kept alive by its caller for the whole call).

What it costs: a kernel cannot allocate (``np.empty`` and friends fail to compile with a
typing error, at once) -- the rule these modules followed already, because numba-cuda
compiles the same code as device functions.  Entry points that allocate scratch arrays
(``_dopri5``, ``_sdirk4``, ``run_single``, ``run_batch``) stay on plain ``njit``; they
call the kernels once per device, so their own reference counting is negligible.

``_nrt`` is a numba compiler flag (``numba.core.options``: ``_nrt -> nrt``) that numba's
own test-suite uses; should a numba release drop it, :func:`kernel` falls back to plain
``njit`` (correct, only slower) rather than fail at import.
"""

from __future__ import annotations

from numba import njit


def _supports_nrt_flag() -> bool:
    """Whether this numba knows the ``_nrt`` option (numba checks options only when it compiles, so
    an unknown one would fail at the first simulation, not here)."""
    try:
        from numba.core.options import DefaultOptions
    except ImportError:  # pragma: no cover - depends on the numba release
        return False
    return hasattr(DefaultOptions, "_nrt")


_NRT_FREE = {"_nrt": False} if _supports_nrt_flag() else {}


def kernel(func=None, **options):
    """``numba.njit(cache=True)`` without the reference-counting runtime (see the module docstring).

    Use as ``@kernel`` or ``@kernel(inline="always")``; extra keywords go to ``njit``.
    """
    opts = {"cache": True, **_NRT_FREE, **options}
    if func is None:
        return njit(**opts)
    return njit(**opts)(func)
