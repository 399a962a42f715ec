"""Everything memfit knows about CUDA, in one place: detection, backend choice, shims.

memfit's GPU code runs on numba's CUDA target (the ``numba-cuda`` package,
installed by ``pip install "memfit[gpu]"``; numba's own deprecated built-in
``numba.cuda`` also works).  Nothing here imports ``numba.cuda`` at
``import memfit`` time: :func:`cuda_module` imports it on first use.

Two ways to have CUDA:

* a real NVIDIA GPU with its driver (``numba.cuda.is_available()``);
* numba's CUDA *simulator* (``NUMBA_ENABLE_CUDASIM=1`` set before numba is
  imported), which runs kernels as Python threads on the CPU.  The test
  suite uses it to exercise the GPU code paths on machines without a GPU;
  it is far too slow for real work and ``backend="auto"`` never picks it.

Shims (keep every one of them here)
-----------------------------------
* ``np.row_stack``: numba-cuda releases built against older NumPy reference
  ``np.row_stack``, which NumPy >= 2.4 deprecates and later releases drop;
  importing ``numba.cuda`` then fails.  :func:`cuda_module` restores the
  alias (``np.vstack``) before the import when it is missing.
* Simulator arrays: under the simulator, kernel arguments are wrapped in
  ``FakeWithinKernelCUDAArray`` objects that numba's CPU compiler cannot
  type.  :func:`sim_device_call` wraps a jitted device-side function so that
  its array arguments are unwrapped to the NumPy arrays behind them; the
  function then runs CPU-compiled, with the kernel's per-thread scratch
  arrays (``cuda.local.array`` is ``np.empty`` there).  On a real GPU the
  function is compiled for the device instead and no wrapper is used.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from memfit.errors import MemfitError, ParameterError

#: How to get a working CUDA setup (quoted by every "no CUDA" error).
INSTALL_HINT = (
    'install the GPU extra with  pip install "memfit[gpu]"  (numba-cuda and CuPy for CUDA 12) and an NVIDIA '
    "driver for your GPU (check with nvidia-smi); without a GPU, NUMBA_ENABLE_CUDASIM=1 (set before numba is "
    "imported) runs the CUDA code on numba's slow CPU simulator, for testing"
)

BACKENDS = ("cpu", "cuda", "auto")


class GPUUnavailableError(MemfitError, RuntimeError):
    """``backend="cuda"`` was asked for, but no usable CUDA (GPU + driver + numba-cuda, or the simulator)."""


def simulator_enabled() -> bool:
    """True when numba's CUDA simulator is switched on (``NUMBA_ENABLE_CUDASIM=1``)."""
    try:
        from numba import config

        return bool(config.ENABLE_CUDASIM)
    except Exception:  # pragma: no cover - numba is a hard dependency
        return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") == "1"


def _apply_numpy_shims() -> None:
    """Restore NumPy names that numba-cuda releases still use (see the module docstring)."""
    if "row_stack" not in np.__dict__:
        np.row_stack = np.vstack


@functools.lru_cache(maxsize=None)
def _import_cuda():
    """``(module, problem)``: the ``numba.cuda`` module, or None and why it could not be used."""
    _apply_numpy_shims()
    try:
        from numba import cuda
    except Exception as exc:  # ImportError, or a numba-cuda/NumPy mismatch
        return None, f"numba.cuda could not be imported ({type(exc).__name__}: {exc})"
    if simulator_enabled():
        return cuda, None
    try:
        ok = cuda.is_available()
    except Exception as exc:  # driver library missing or broken
        return None, f"the CUDA driver could not be initialised ({type(exc).__name__}: {exc})"
    if not ok:
        return None, "no CUDA GPU was found (numba.cuda.is_available() is False)"
    return cuda, None


def cuda_module():
    """The ``numba.cuda`` module, ready to compile and launch kernels (real GPU or simulator).

    Raises
    ------
    GPUUnavailableError
        When neither a GPU with a working driver and numba-cuda nor the
        simulator is available; the message says how to get one.
    """
    cuda, problem = _import_cuda()
    if cuda is None:
        raise GPUUnavailableError(f"backend='cuda' needs CUDA, but {problem}; {INSTALL_HINT}")
    return cuda


def gpu_available() -> bool:
    """True when a real CUDA GPU is usable (never true for the simulator)."""
    if simulator_enabled():
        return False
    cuda, _ = _import_cuda()
    return cuda is not None


def resolve_backend(backend: str) -> str:
    """``"cpu"`` or ``"cuda"`` for a requested backend.

    Parameters
    ----------
    backend : {"cpu", "cuda", "auto"}
        ``"auto"`` gives ``"cuda"`` only when a real GPU is present (not for
        the simulator), otherwise ``"cpu"``.  ``"cuda"`` checks that CUDA is
        usable and raises :class:`GPUUnavailableError` if not.
    """
    if backend not in BACKENDS:
        raise ParameterError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, got {backend!r}")
    if backend == "cpu":
        return "cpu"
    if backend == "auto":
        return "cuda" if gpu_available() else "cpu"
    cuda_module()
    return "cuda"


def device_name() -> str:
    """A one-line description of the CUDA device in use ("CUDA simulator" under the simulator)."""
    if simulator_enabled():
        return "numba CUDA simulator (CPU)"
    cuda = cuda_module()
    dev = cuda.get_current_device()
    name = dev.name.decode() if isinstance(dev.name, bytes) else str(dev.name)
    cc = ".".join(map(str, dev.compute_capability))
    return f"{name} (compute capability {cc})"


# ---------------------------------------------------------------------------
# simulator shims
# ---------------------------------------------------------------------------
def _unwrap(a):
    """The NumPy array behind a simulator array argument (anything else unchanged)."""
    item = getattr(a, "_item", None)  # FakeWithinKernelCUDAArray -> FakeCUDAArray
    if item is not None and hasattr(item, "_ary"):
        return item._ary
    ary = getattr(a, "_ary", None)  # a bare FakeCUDAArray
    if isinstance(ary, np.ndarray):
        return ary
    return a


def sim_device_call(func):
    """Wrap jitted ``func`` so that simulator kernels can call it with their array arguments."""

    def call(*args):
        return func(*[_unwrap(a) for a in args])

    call.__name__ = getattr(func, "__name__", "device_call")
    call.__wrapped__ = func
    return call
