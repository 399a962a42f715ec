"""memfit._jit.kernel: kernels compile without numba's reference counting, and say so when they allocate."""

import numpy as np
import pytest
from numba import config
from numba.core.errors import TypingError

from memfit._jit import _NRT_FREE, kernel
from memfit.simulate import _compile

pytestmark = pytest.mark.skipif(config.DISABLE_JIT, reason="inspects compiled code")


def _asm(dispatcher, sig):
    dispatcher.compile(sig)
    return dispatcher.inspect_asm(sig)


def test_this_numba_knows_the_flag():
    assert _NRT_FREE == {"_nrt": False}


@kernel(cache=False)
def _twice_first(v, out):
    out[0] += 2.0 * v[0]


def test_a_kernel_passing_array_views_to_calls_makes_no_reference_counting_calls():
    def body(a, out):
        for k in range(a.shape[0]):
            _twice_first(a[k:], out)  # a view handed to a call: counted unless the runtime is off

    sig = (_compile.V1, _compile.V1)
    free = kernel(cache=False)(body)
    counted = kernel(cache=False, _nrt=True)(body)
    assert "NRT_incref" in _asm(counted, sig)  # the check sees the counting where numba emits it
    asm = _asm(free, sig)
    assert "NRT_incref" not in asm and "NRT_decref" not in asm
    out = np.zeros(1)
    free(np.array([1.0, 2.0, 3.0]), out)
    assert out[0] == 12.0


def test_model_kernels_reached_through_function_pointers_count_no_references():
    from memfit.models._kernels import vteam

    # a fresh, uncached compile of the model's source with the kernel flags: numba cannot inspect code
    # loaded from its disk cache (it warns and returns an empty listing, which would pass any check)
    fresh = kernel(cache=False)(vteam.rhs.py_func)
    asm = _asm(fresh, _compile.RHS_SIG.args)
    assert "NRT_incref" not in asm and "NRT_decref" not in asm
    # the same source with the runtime on counts references: the check sees them where numba emits them
    counted = kernel(cache=False, _nrt=True)(vteam.rhs.py_func)
    assert "NRT_incref" in _asm(counted, _compile.RHS_SIG.args)


def test_a_kernel_that_allocates_fails_at_compile_time_with_a_typing_error():
    @kernel(cache=False)
    def allocating(n):
        return np.empty(n)

    with pytest.raises(TypingError):
        allocating(3)
