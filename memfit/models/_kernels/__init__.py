"""Jitted kernels of the device models: ``@kernel`` functions (:mod:`memfit._jit`) on flat float64 arrays,
SI units, no objects, no allocation.

One module per model family.  Each module defines ``rhs(x, v, t, p, dxdt)`` and
``current(x, v, p)`` functions (possibly several variants) following the
contract in :mod:`memfit.models.base`, plus the index constants that name the
positions in ``p``.
"""
