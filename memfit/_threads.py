"""Thread pools of the BLAS libraries around memfit's own parallel kernels.

A fit alternates numba's parallel integration (its OpenMP worker threads spin for a while after
each parallel region) with small BLAS calls (least squares' SVD of the Jacobian, 10^4 x 6). With
OpenBLAS' own worker threads also spinning on the same cores, the two pools starve each other: on
2 cores a joint fit took 285 ms instead of 60 ms, and the SVD 15 ms instead of 0.55 ms. The BLAS
calls in such a loop are far too small to gain from threads, so :func:`blas_serial` runs them on
one thread for the duration (``threadpoolctl``, restored afterwards; environment variables such as
``OPENBLAS_NUM_THREADS`` only act before the library loads, i.e. never in a running notebook).

Used by :func:`memfit.fitting.fit` and by the IR-drop forward of the crossbar tiles (numba-parallel
nodal solves between small products: 1.6x on 2 cores).  ``python -m benchmarks fitting`` times a
joint fit with two BLAS threads with and without it.
"""

from __future__ import annotations

import contextlib
import functools


@functools.lru_cache(maxsize=1)
def _controller():
    """threadpoolctl's view of the BLAS libraries loaded when first asked (a fit asks after lmfit,
    hence scipy's and numpy's BLAS, are loaded); None without threadpoolctl."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # (a dependency; never fail a computation over a speed setting)
        return None
    return ThreadpoolController()


@contextlib.contextmanager
def blas_serial():
    """Run the ``with`` block with every loaded BLAS library on one thread (previous counts restored)."""
    ctl = _controller()
    if ctl is None:
        yield
        return
    with ctl.limit(limits=1, user_api="blas"):
        yield
