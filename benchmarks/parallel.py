"""Scaling of long studies over workers: local processes vs a Dask LocalCluster.

1. **Population fit throughput**: the same population (simulated Biolek devices with a
   log-normal R_off spread, 1 % noise) fitted with ``fit_population`` on the local backend and on
   a ``dask.distributed.LocalCluster`` (processes, one thread each), with 1 and 2 workers.
   Devices fitted per second and the scaling efficiency ``(rate_2 / rate_1) / 2`` per backend.
   Worker start-up (process spawn, imports, loading numba's cache) is timed separately and not
   counted, so the figures are the steady-state throughput a long study sees.
2. **Per-task overhead**: 200 empty tasks through ``memfit.parallel.run_tasks`` on each backend
   (one worker), milliseconds per task: what a chunk must amortize.

The crossbar Monte Carlo runs use the same seam (``memfit.parallel.run_tasks``); their
throughput is reported by the crossbar section.
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks._util import Headline, Table, cpu_counts, fmt_time


def _noop(shared, k):
    return k


def _population(n: int, seed: int = 1):
    from memfit.simulate import simulate, sine_sweep

    rng = np.random.default_rng(seed)
    stim = sine_sweep(amplitude=1.2, frequency=1.0, cycles=1, points_per_cycle=200)
    r_off = 16e3 * np.exp(0.1 * rng.standard_normal(n))
    data = []
    for k in range(n):
        s = simulate("biolek2009", stim, params={"R_off": r_off[k]})
        s.frame["i"] *= 1 + 0.01 * rng.standard_normal(len(s.frame))
        data.append(s)
    return data


def _warm(backend):
    """Start the workers and load memfit + the numba cache in each (not timed)."""
    from memfit.fitting import fit_population

    data = _population(2 * max(1, backend.n_workers), seed=99)
    fit_population("biolek2009", data, vary=["R_off", "mu_v"], backend=backend, chunk_size=1, progress=False)


def run(opts) -> list[Headline]:
    from memfit.fitting import fit_population
    from memfit.parallel import DaskBackend, LocalBackend, run_tasks

    try:
        import distributed  # noqa: F401
        have_dask = True
    except ImportError:
        have_dask = False
    n = 16 if opts.smoke else 200
    data = _population(n)
    usable = cpu_counts()[1]
    t = Table(f"Parallel: population fit of {n} devices (2 parameters each), devices fitted per second",
              ["backend", "workers", "start-up", "wall", "devices/s", "scaling eff.", "identical to local-1"])
    o = Table("Parallel: per-task overhead (200 empty tasks, 1 worker)", ["backend", "per task"])
    heads: list[Headline] = []
    reference = None
    backends = [("local", lambda w: LocalBackend(w))]
    if have_dask:
        backends.append(("dask LocalCluster", lambda w: DaskBackend(workers=w)))
    for name, make in backends:
        rate1 = None
        for w in (1, 2):
            t0 = time.perf_counter()
            be = make(w)
            if w > 1 or name != "local":
                _warm(be)
            t_start = time.perf_counter() - t0
            import numba

            threads = numba.get_num_threads()
            if name == "local" and w == 1:
                numba.set_num_threads(1)  # in-process: one thread, like each worker process (memfit.parallel.WORKER_ENV)
            t0 = time.perf_counter()
            try:
                res = fit_population("biolek2009", data, vary=["R_off", "mu_v"], backend=be, progress=False,
                                     chunk_size=max(1, n // 16))
            finally:
                numba.set_num_threads(threads)
            wall = time.perf_counter() - t0
            values = res.table["R_off"].to_numpy()
            if reference is None:
                reference = values
            same = np.array_equal(values, reference)
            rate = n / wall
            if w == 1:
                rate1 = rate
                eff = "-"
                if name == "local":
                    # per-task overhead, measured on the warm single worker
                    t1 = time.perf_counter()
                    run_tasks(_noop, [(k, (k,)) for k in range(200)], backend=be)
                    o.add(name + " (in process)", f"{(time.perf_counter() - t1) / 200 * 1e3:.3f} ms")
                    lb = LocalBackend(2)
                    run_tasks(_noop, [(k, (k,)) for k in range(2)], backend=lb)  # spawn cost not counted below
                    t1 = time.perf_counter()
                    run_tasks(_noop, [(k, (k,)) for k in range(200)], backend=lb)
                    o.add("local (2 worker processes)", f"{(time.perf_counter() - t1) / 200 * 1e3:.3f} ms")
                    lb.close()
                else:
                    t1 = time.perf_counter()
                    run_tasks(_noop, [(k, (k,)) for k in range(200)], backend=be)
                    per = (time.perf_counter() - t1) / 200
                    o.add(name, f"{per * 1e3:.3f} ms")
            else:
                e = rate / rate1 / 2
                eff = f"{100 * e:.0f} %"
                heads.append(Headline(f"{name}: 2 workers vs 1, population fit throughput", rate / rate1, None,
                                      f"scaling efficiency {100 * e:.0f} %, {rate:.3g} devices/s"))
            t.add(name, w, fmt_time(t_start), fmt_time(wall), f"{rate:.3g}", eff, "yes" if same else "NO")
            if hasattr(be, "close"):
                be.close()
    t.note(f"CPUs usable: {usable}. On a 2-vCPU VM that delivers about one core, 2 workers cannot scale; read "
           "the efficiency against the cores really available")
    t.note("start-up = starting the workers and a warm-up fit (imports, numba cache), not counted in 'wall'")
    t.note("every worker runs numba with one thread (the 1-worker local row too), so rows compare per-worker work")
    if not have_dask:
        t.note('Dask rows skipped: pip install "memfit[dask]"')
    t.print()
    o.print()
    return heads
