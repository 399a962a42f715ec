"""Where long studies run: local worker processes, or a Dask cluster.

Population fits, Monte Carlo repeats and sensitivity sweeps are lists of
independent *tasks*.  :func:`run_tasks` runs them on a *backend* and streams
the results back as they finish:

* :class:`LocalBackend` (the default, no extra dependency): worker processes
  started with ``spawn`` (numba's thread pool is not fork-safe), or this
  process when ``workers=1``;
* :class:`DaskBackend` (``pip install "memfit[dask]"``): a
  ``dask.distributed.Client`` the user passes, or a scheduler address
  (``tcp://host:8786``), or an in-process ``LocalCluster`` for a laptop.

Both backends run the same task function on the same arguments, so a study
gives identical results on either (randomness must come from the task's own
seed, see :func:`task_seeds`).

Chunking and data transfer
    A task should be a *chunk* of work (tens of devices, several repeats), so
    that numba compilation (once per worker process, from the disk cache) and
    transfer are amortized.  Data every task needs (a network's weights, the
    fit options) goes in ``shared``: it is sent once per worker
    (``initializer`` of the local pool; ``Client.scatter(broadcast=True)`` on
    Dask), not once per task.

Interruption and faults
    Every finished task is handed to ``on_result`` and, with ``store=DIR``,
    written atomically to ``DIR/<key>.pkl`` before the next is awaited.  A
    rerun with the same store skips the keys already there, so an interrupted
    or crashed study resumes where it stopped.  A worker process that dies is
    replaced and its unfinished tasks are run again (Dask does this itself;
    the local backend restarts its pool), up to ``max_retries`` times, so no
    result is lost and none is duplicated.
"""

from __future__ import annotations

import math
import os
import pickle
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import numpy as np

from memfit.errors import MemfitError


class ParallelError(MemfitError, RuntimeError):
    """A study could not be run on the chosen backend (bad backend, lost workers, failing task)."""


# --------------------------------------------------------------------------- progress
class Progress:
    """A one-line progress bar on a stream (stderr by default); ``None`` stream = silent."""

    def __init__(self, total: int, label: str = "tasks", stream=sys.stderr, unit: str = "task"):
        self.total = int(total)
        self.label = label
        self.stream = stream
        self.unit = unit
        self.done = 0
        self.t0 = time.perf_counter()
        self._last = 0.0

    def update(self, n: int = 1) -> None:
        """Count ``n`` more finished tasks and redraw the bar (at most every 0.2 s, and at the end)."""
        self.done += n
        if self.stream is None:
            return
        now = time.perf_counter()
        if self.done < self.total and now - self._last < 0.2:
            return
        self._last = now
        frac = self.done / self.total if self.total else 1.0
        rate = self.done / max(now - self.t0, 1e-9)
        eta = (self.total - self.done) / rate if rate > 0 else math.inf
        bar = "#" * int(30 * frac)
        eta_s = f"{eta:.0f} s" if math.isfinite(eta) else "?"
        self.stream.write(f"\r{self.label} [{bar:<30}] {self.done}/{self.total}  {rate:.3g} {self.unit}/s  eta {eta_s} ")
        self.stream.flush()
        if self.done >= self.total:
            self.stream.write("\n")
            self.stream.flush()


# --------------------------------------------------------------------------- seeds
def task_seeds(seed: int | None, keys: Sequence) -> dict:
    """One independent ``numpy`` seed per task key, the same on every backend and chunking.

    Seeds come from ``SeedSequence(seed).spawn`` in the order of ``keys``.
    """
    ss = np.random.SeedSequence(seed)
    return {k: int(s.generate_state(1, dtype=np.uint64)[0]) for k, s in zip(keys, ss.spawn(len(keys)))}


# --------------------------------------------------------------------------- store
class ResultStore:
    """Finished task results on disk, one pickle per key, written atomically (resume after a crash)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ParallelError(f"result store {self.path}: cannot create the folder ({exc})") from None

    def _file(self, key) -> Path:
        name = str(key)
        if not name or any(c in name for c in "/\\\0") or name.startswith("."):
            raise ParallelError(f"task key {key!r} cannot name a file in the result store")
        return self.path / f"{name}.pkl"

    def __contains__(self, key) -> bool:
        return self._file(key).exists()

    def keys(self) -> list[str]:
        """Sorted keys of the stored results (file names without ``.pkl``)."""
        return sorted(p.stem for p in self.path.glob("*.pkl"))

    def put(self, key, value) -> None:
        """Pickle ``value`` under ``key``, atomically (temporary file, fsync, rename)."""
        f = self._file(key)
        tmp = f.with_suffix(f".tmp{os.getpid()}")
        with open(tmp, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, f)

    def get(self, key):
        """The stored result of ``key``; raises :class:`ParallelError` when it cannot be read."""
        try:
            with open(self._file(key), "rb") as fh:
                return pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError) as exc:
            raise ParallelError(f"result store {self.path}: cannot read {key!r} ({exc})") from None


# --------------------------------------------------------------------------- backends
_SHARED: dict = {}

#: Thread pools of every worker process: one thread each.  The parallelism is across processes;
#: numba/OpenMP/BLAS threads on top of it oversubscribe the cores, and idle OpenMP threads that
#: spin-wait then starve the other workers (a 2-core study ran 100x slower).
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "MKL_NUM_THREADS": "1"}


class _worker_env:
    """Set :data:`WORKER_ENV` while worker processes are spawned (they inherit it), then restore."""

    def __enter__(self):
        self._old = {k: os.environ.get(k) for k in WORKER_ENV}
        os.environ.update(WORKER_ENV)

    def __exit__(self, *exc):
        for k, v in self._old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _one_thread() -> None:
    """In a worker we did not start (a user's Dask cluster): at least numba uses one thread."""
    try:
        import numba

        if numba.get_num_threads() != 1:
            numba.set_num_threads(1)
    except Exception:  # noqa: BLE001 - never fail a task over this
        pass


def _init_shared(shared) -> None:
    global _SHARED
    _SHARED = shared


def _call_local(func, args):
    return func(_SHARED, *args)


def _call_dask(func, shared, args):
    _one_thread()
    return func(shared, *args)


class LocalBackend:
    """Worker processes on this machine (``workers=None``: one per CPU; 1: run in this process).

    The process pool starts at the first study and is kept for the next ones
    (worker start-up -- spawn, imports, loading numba's cache -- costs
    seconds); :meth:`close` ends it.  ``shared`` data is sent with each task
    when the pool is reused with different shared data, else once per worker.
    """

    name = "local"

    def __init__(self, workers: int | None = None):
        if workers is None:
            workers = os.cpu_count() or 1
        if int(workers) < 1:
            raise ParallelError(f"workers must be >= 1, got {workers}")
        self.workers = int(workers)
        self._pool = None
        self._pool_shared = None

    def __repr__(self):
        return f"LocalBackend(workers={self.workers})"

    @property
    def n_workers(self) -> int:
        return self.workers

    def _get_pool(self, shared):
        import multiprocessing as mp

        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn"),
                                             initializer=_init_shared, initargs=(shared,))
            self._pool_shared = shared
        return self._pool

    def close(self) -> None:
        """Shut the worker pool down (waits for running tasks, cancels queued ones); a later run starts a new one."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def run(self, func, tasks, shared, on_done, max_retries):
        """Run every task on the worker processes (in this process when ``workers == 1``); call ``on_done`` per result.

        Parameters
        ----------
        func : callable
            ``func(shared, *args) -> value``; must be picklable (module level).
        tasks : iterable of (key, args)
            Task keys and their positional arguments.
        shared : dict
            Data every task receives as its first argument.
        on_done : callable
            ``on_done(key, value)``, called in this process in completion order.
        max_retries : int
            How often a task is re-submitted after its worker process died, before :class:`ParallelError`.
        """
        if self.workers == 1:
            for key, args in tasks:
                on_done(key, func(shared, *args))
            return
        pending = dict(tasks)
        attempts = {k: 0 for k in pending}
        while pending:
            pool = self._get_pool(shared)
            same = self._pool_shared is shared
            futs = {}
            with _worker_env():  # processes are spawned during submit
                for key, args in pending.items():
                    f = pool.submit(_call_local, func, args) if same else pool.submit(func, shared, *args)
                    futs[f] = key
            broken = False
            try:
                while futs:
                    done, _ = wait(futs, return_when=FIRST_COMPLETED)
                    for f in done:
                        key = futs.pop(f)
                        try:
                            value = f.result()
                        except BrokenProcessPool:
                            broken = True
                            continue
                        pending.pop(key)
                        on_done(key, value)
                    if broken:
                        break
            except KeyboardInterrupt:
                for f in futs:
                    f.cancel()
                self.close()
                raise
            if broken:  # a worker died: start a fresh pool for what is left
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
                for key in pending:
                    attempts[key] += 1
                    if attempts[key] > max_retries:
                        raise ParallelError(f"task {key!r}: worker process died {attempts[key]} times; giving up "
                                            f"(is it running out of memory?)")


class DaskBackend:
    """A Dask cluster: pass a ``distributed.Client``, a scheduler address, or nothing (a LocalCluster).

    Parameters
    ----------
    client : distributed.Client, optional
    address : str, optional
        Scheduler address such as ``"tcp://10.0.0.5:8786"``.
    workers : int, optional
        Workers of the LocalCluster started when neither is given (processes, 1 thread each).
    """

    name = "dask"

    def __init__(self, client=None, address: str | None = None, workers: int | None = None):
        try:
            import distributed
        except ImportError:
            raise ParallelError('the Dask backend needs dask.distributed: pip install "memfit[dask]"') from None
        self._own = None
        if client is None:
            if address is not None:
                try:
                    client = distributed.Client(address, timeout="10s")
                except (OSError, TimeoutError) as exc:
                    raise ParallelError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
            else:
                cluster = distributed.LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                                   processes=True, dashboard_address=None, env=dict(WORKER_ENV))
                client = distributed.Client(cluster)
                self._own = cluster
        self.client = client

    @property
    def n_workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def run(self, func, tasks, shared, on_done, max_retries):
        """Run every task on the Dask cluster; call ``on_done`` as each one finishes.

        Same arguments as :meth:`LocalBackend.run`; ``shared`` is scattered to the cluster once and
        ``max_retries`` is passed to Dask as the task's ``retries``.  A failing task raises its
        :class:`MemfitError`, or :class:`ParallelError` naming the task.
        """
        from distributed import as_completed

        # one future for the whole mapping (a dict passed to scatter would become a future per value);
        # no broadcast: each worker fetches it once, when its first task needs it, and keeps it.
        # (broadcast=True waits for every worker the scheduler lists, and hung on one that was dying)
        shared_f = self.client.scatter([shared], hash=False)[0] if shared else shared
        futs = {}
        for key, args in tasks:
            f = self.client.submit(_call_dask, func, shared_f, args, key=f"memfit-{key}-{id(self)}-{time.time_ns()}",
                                   retries=max_retries, pure=False)
            futs[f] = key
        try:
            for f in as_completed(list(futs)):
                key = futs[f]
                try:
                    value = f.result()
                except Exception as exc:
                    if isinstance(exc, MemfitError):
                        raise
                    raise ParallelError(f"task {key!r} failed on the Dask cluster: {type(exc).__name__}: {exc}") from exc
                on_done(key, value)
                f.release()
        except KeyboardInterrupt:
            self.client.cancel(list(futs))
            raise

    def close(self):
        """Close the client and the LocalCluster if this backend started them; a client passed in is left open."""
        if self._own is not None:
            self.client.close()
            self._own.close()
            self._own = None


def get_backend(backend=None, workers: int | None = None):
    """Turn what the user passed into a backend.

    ``None``/``"local"`` -> :class:`LocalBackend`; a ``distributed.Client`` or
    ``"dask"`` or an address ``"tcp://..."`` -> :class:`DaskBackend`; a backend
    object is returned as is.
    """
    if backend is None or backend == "local":
        return LocalBackend(workers)
    if isinstance(backend, (LocalBackend, DaskBackend)):
        return backend
    if isinstance(backend, str):
        if backend == "dask":
            return DaskBackend(workers=workers)
        if "://" in backend:
            return DaskBackend(address=backend)
        raise ParallelError(f"backend {backend!r} not understood: use 'local', 'dask', a scheduler address "
                            f"('tcp://host:8786') or a distributed.Client")
    if type(backend).__name__ == "Client" and type(backend).__module__.startswith("distributed"):
        return DaskBackend(client=backend)
    raise ParallelError(f"backend {backend!r} not understood: use 'local', 'dask', a scheduler address "
                        f"('tcp://host:8786') or a distributed.Client")


def run_tasks(
    func: Callable,
    tasks: Iterable[tuple[Any, tuple]],
    *,
    shared: Mapping | None = None,
    backend=None,
    workers: int | None = None,
    store: str | Path | ResultStore | None = None,
    on_result: Callable[[Any, Any], None] | None = None,
    progress: bool | str = False,
    max_retries: int = 2,
) -> dict:
    """Run ``func(shared, *args)`` for every ``(key, args)`` task; return ``{key: result}`` in task order.

    Parameters
    ----------
    func : callable
        A module-level function (it is pickled to the workers).
    tasks : iterable of (key, args)
        Keys must be unique (str or int); they name the results and the store files.
    shared : mapping, optional
        Data every task needs, sent once per worker.
    backend : None, "local", "dask", "tcp://...", distributed.Client or a backend object
    workers : int, optional
        Local worker processes (default: one per CPU).
    store : path or ResultStore, optional
        Keep finished results on disk; keys already stored are not run again.
    on_result : callable, optional
        ``on_result(key, value)`` for each newly finished task.
    progress : bool or str
        Show a progress bar on stderr (a string is its label).
    max_retries : int
        How often a task whose worker died is run again.

    Returns
    -------
    dict
        Results by key; on KeyboardInterrupt the finished ones are kept in
        ``store``/``on_result`` and the interrupt propagates.
    """
    tasks = list(tasks)
    keys = [k for k, _ in tasks]
    if len(set(keys)) != len(keys):
        dup = sorted({str(k) for k in keys if keys.count(k) > 1})
        raise ParallelError(f"task keys must be unique; repeated: {', '.join(dup[:5])}")
    if store is not None and not isinstance(store, ResultStore):
        store = ResultStore(store)
    results: dict = {}
    todo = []
    for key, args in tasks:
        if store is not None and key in store:
            results[key] = store.get(key)
        else:
            todo.append((key, tuple(args)))
    bar = Progress(len(tasks), progress if isinstance(progress, str) else "tasks",
                   sys.stderr if progress else None)
    bar.done = len(results)
    be = get_backend(backend, workers)

    def done(key, value):
        if key in results:  # a rerun of a task whose first result already arrived: keep the first
            return
        if store is not None:
            store.put(key, value)
        results[key] = value
        if on_result is not None:
            on_result(key, value)
        bar.update()

    try:
        if todo:
            be.run(func, todo, shared if shared is not None else {}, done, int(max_retries))
    finally:
        if be is not backend:  # a backend made here for this call only
            be.close()
    return {k: results[k] for k in keys if k in results}
