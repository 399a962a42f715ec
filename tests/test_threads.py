"""A fit runs its BLAS calls on one thread while numba's parallel kernels run (memfit._threads)."""

import numpy as np
import pytest

threadpoolctl = pytest.importorskip("threadpoolctl")

from memfit import _threads  # noqa: E402
from memfit.errors import FitError  # noqa: E402
from memfit.fitting import core as fit_core  # noqa: E402
from memfit.fitting import fit  # noqa: E402
from memfit.simulate import simulate, sine_sweep  # noqa: E402


def _blas_threads():
    return sorted({m["num_threads"] for m in threadpoolctl.threadpool_info() if m["user_api"] == "blas"})


@pytest.fixture
def two_blas_threads():
    import scipy.linalg  # noqa: F401  (scipy's own BLAS loaded before the pools are looked at)

    if not _blas_threads():
        pytest.skip("no BLAS library visible to threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        yield


def test_blas_serial_sets_one_thread_and_restores(two_blas_threads):
    assert _blas_threads() == [2]
    with _threads.blas_serial():
        assert _blas_threads() == [1]
    assert _blas_threads() == [2]


def test_fit_objective_runs_with_one_blas_thread_and_restores(two_blas_threads, monkeypatch):
    seen = []
    real = fit_core.Simulator.run

    def run(self, *args, **kws):
        seen.append(tuple(_blas_threads()))
        return real(self, *args, **kws)

    monkeypatch.setattr(fit_core.Simulator, "run", run)
    sim = simulate("biolek2009", sine_sweep(amplitude=1.2, frequency=1.0, cycles=1, points_per_cycle=200),
                   params={"R_off": 18e3})
    res = fit("biolek2009", sim, vary=["R_off"], initial={"R_off": 14e3})
    assert abs(res.values["R_off"] / 18e3 - 1) < 1e-3
    assert seen and set(seen) == {(1,)}
    assert _blas_threads() == [2]


def test_fit_error_restores_blas_threads(two_blas_threads):
    sim = simulate("biolek2009", sine_sweep(amplitude=1.2, frequency=1.0, cycles=1, points_per_cycle=100))
    with pytest.raises(FitError, match="global_method"):
        fit("biolek2009", sim, vary=["R_off"], global_method="nonsense")
    assert _blas_threads() == [2]


def test_ir_drop_forward_runs_with_one_blas_thread_and_restores(two_blas_threads, monkeypatch):
    from memfit.crossbar import irdrop
    from memfit.crossbar.config import get_config
    from memfit.crossbar.device import CrossbarDevice
    from memfit.crossbar.tile import AnalogMatrix

    seen = []
    real = irdrop.solve_ir_drop

    def solve(*args, **kws):
        seen.append(tuple(_blas_threads()))
        return real(*args, **kws)

    monkeypatch.setattr(irdrop, "solve_ir_drop", solve)
    rng = np.random.default_rng(0)
    W = rng.normal(size=(16, 32))
    cfg = get_config("ideal").replace(ir_drop=True, wire_ratio=1e4, dtype="float64")
    am = AnalogMatrix(W, CrossbarDevice(g_min=1e-9, g_max=14e-9), cfg, rng=np.random.default_rng(1))
    x = rng.uniform(-1, 1, (3, 32))
    y = am.forward(x)
    assert seen and set(seen) == {(1,)}
    assert _blas_threads() == [2]
    # the IR drop lowers the outputs of this resistive array, and only by a little
    assert 1e-4 < np.linalg.norm(y - x @ W.T) / np.linalg.norm(x @ W.T) < 0.2
