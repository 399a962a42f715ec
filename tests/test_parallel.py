"""The executor seam (memfit.parallel): same results on every backend, resume, and a killed worker."""

from __future__ import annotations

import os

import numpy as np
import pytest

from memfit.errors import FitError
from memfit.parallel import LocalBackend, ParallelError, ResultStore, get_backend, run_tasks, task_seeds


def _draw(shared, seed, n):
    """A task: random numbers from the task's own seed, scaled by shared data."""
    rng = np.random.default_rng(seed)
    return shared["scale"] * rng.standard_normal(n)


def _die_once(shared, key, marker_dir):
    """A task whose worker process dies the first time it runs key 'k3' (a crash, not an exception)."""
    marker = os.path.join(marker_dir, f"{key}.started")
    first = not os.path.exists(marker)
    with open(marker, "a") as fh:
        fh.write("x")
    if key == "k3" and first:
        os._exit(1)
    return key * 2


def _tasks(n=6, seed=7):
    keys = [f"t{k}" for k in range(n)]
    seeds = task_seeds(seed, keys)
    return [(k, (seeds[k], 4)) for k in keys]


def test_task_seeds_independent_of_chunking_and_stable():
    a = task_seeds(3, ["a", "b", "c"])
    b = task_seeds(3, ["a", "b", "c"])
    assert a == b and len(set(a.values())) == 3
    assert task_seeds(4, ["a", "b", "c"]) != a


def test_local_in_process_and_processes_agree():
    one = run_tasks(_draw, _tasks(), shared={"scale": 2.0}, workers=1)
    two = run_tasks(_draw, _tasks(), shared={"scale": 2.0}, workers=2)
    assert list(one) == [f"t{k}" for k in range(6)] == list(two)
    for k in one:
        np.testing.assert_array_equal(one[k], two[k])
    # independent check of one value: the task's own generator
    seed = task_seeds(7, [f"t{k}" for k in range(6)])["t2"]
    np.testing.assert_array_equal(one["t2"], 2.0 * np.random.default_rng(seed).standard_normal(4))


def test_store_resumes_after_interrupt(tmp_path):
    store = tmp_path / "store"
    seen = []

    def stop_after_two(key, value):
        seen.append(key)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_tasks(_draw, _tasks(), shared={"scale": 1.0}, workers=1, store=store, on_result=stop_after_two)
    assert ResultStore(store).keys() == ["t0", "t1"]
    rerun = []
    res = run_tasks(_draw, _tasks(), shared={"scale": 1.0}, workers=1, store=store,
                    on_result=lambda k, v: rerun.append(k))
    assert rerun == ["t2", "t3", "t4", "t5"]  # only the missing ones ran
    full = run_tasks(_draw, _tasks(), shared={"scale": 1.0}, workers=1)
    for k in full:
        np.testing.assert_array_equal(res[k], full[k])


def test_local_worker_killed_mid_run_loses_and_duplicates_nothing(tmp_path):
    calls = []
    tasks = [(f"k{k}", (k, str(tmp_path))) for k in range(6)]
    res = run_tasks(_die_once, [(k, (k, d)) for k, (_, d) in tasks], workers=2,
                    on_result=lambda k, v: calls.append(k))
    assert sorted(calls) == sorted(f"k{k}" for k in range(6))  # each result delivered exactly once
    assert res == {f"k{k}": f"k{k}" * 2 for k in range(6)}
    assert len(open(tmp_path / "k3.started").read()) == 2  # it did die once and was run again


def test_bad_backend_and_keys():
    with pytest.raises(ParallelError, match="not understood"):
        get_backend("spark")
    with pytest.raises(ParallelError, match="workers must be >= 1"):
        LocalBackend(0)
    with pytest.raises(ParallelError, match="unique"):
        run_tasks(_draw, [("a", (1, 2)), ("a", (1, 2))], workers=1)
    from memfit.fitting import fit_population
    from memfit.simulate import simulate

    sim = simulate("biolek2009", "sine(amplitude=1.2, f=1, points_per_cycle=40)")
    with pytest.raises(FitError, match="not understood"):
        fit_population("biolek2009", [sim], backend="spark")
    with pytest.raises(FitError, match="dataset 1 is a object"):
        fit_population("biolek2009", [sim, object()])


def test_population_from_folder_and_multi_device_file(tmp_path):
    """A folder of files and one file with a device column give the same datasets."""
    import pandas as pd

    from memfit.fitting.population import _collect
    from memfit.simulate import simulate

    frames = []
    for k, r_off in enumerate((14e3, 18e3)):
        s = simulate("biolek2009", "sine(amplitude=1.2, f=1, points_per_cycle=40)", params={"R_off": r_off})
        f = s.frame[["t", "v", "i"]].copy()
        f.to_csv(tmp_path / f"dev{k}.csv", index=False)
        f["device"] = f"d{k}"
        frames.append(f)
    pd.concat(frames).to_csv(tmp_path / "all.csv", index=False)
    folder = tmp_path / "folder"
    folder.mkdir()
    for k in range(2):
        (tmp_path / f"dev{k}.csv").rename(folder / f"dev{k}.csv")
    a = _collect(folder)
    b = _collect(tmp_path / "all.csv")
    assert len(a) == len(b) == 2
    assert [m.meta["device"] for m in b] == ["d0", "d1"]
    for x, y in zip(a, b):
        np.testing.assert_allclose(x.frame["i"].to_numpy(), y.frame["i"].to_numpy(), rtol=1e-12)
    with pytest.raises(FitError, match="no such file"):
        _collect(tmp_path / "missing")


# ---------------------------------------------------------------- Dask
distributed = pytest.importorskip("distributed", reason="dask.distributed not installed (pip install memfit[dask])")


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    from memfit.parallel import WORKER_ENV

    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, env=dict(WORKER_ENV))
    client = Client(c)
    yield client
    client.close()
    c.close()


def test_dask_matches_local(cluster):
    local = run_tasks(_draw, _tasks(), shared={"scale": 3.0}, workers=1)
    dask = run_tasks(_draw, _tasks(), shared={"scale": 3.0}, backend=cluster)
    assert list(dask) == list(local)
    for k in local:
        np.testing.assert_array_equal(dask[k], local[k])


def test_dask_worker_killed_mid_run(cluster, tmp_path):
    calls = []
    res = run_tasks(_die_once, [(f"k{k}", (f"k{k}", str(tmp_path))) for k in range(6)], backend=cluster,
                    on_result=lambda k, v: calls.append(k))
    assert sorted(calls) == sorted(f"k{k}" for k in range(6))
    assert res == {f"k{k}": f"k{k}" * 2 for k in range(6)}
    assert len(open(tmp_path / "k3.started").read()) == 2


def test_population_fit_same_on_dask_and_local(cluster):
    from memfit.fitting import fit_population
    from memfit.simulate import simulate, sine_sweep

    rng = np.random.default_rng(5)
    stim = sine_sweep(amplitude=1.2, frequency=1.0, cycles=1, points_per_cycle=80)
    data = []
    r_off = 16e3 * np.exp(0.1 * rng.standard_normal(4))
    for k in range(4):
        s = simulate("biolek2009", stim, params={"R_off": r_off[k]})
        s.frame["i"] *= 1 + 0.01 * rng.standard_normal(len(s.frame))
        data.append(s)
    kw = dict(vary=["R_off"], progress=False, chunk_size=2)
    loc = fit_population("biolek2009", data, workers=1, **kw)
    dsk = fit_population("biolek2009", data, backend=cluster, **kw)
    np.testing.assert_array_equal(loc.table["R_off"].to_numpy(), dsk.table["R_off"].to_numpy())
    # and the fits are right: each within 3 standard errors of the drawn value
    assert np.all(np.abs(loc.table["R_off"] - r_off) < 3 * loc.table["R_off_stderr"])


def test_cli_population_folder(tmp_path, capsys):
    import pandas as pd

    from memfit.cli import main
    from memfit.simulate import simulate

    r_true = (14e3, 18e3)
    for k, r_off in enumerate(r_true):
        s = simulate("biolek2009", "sine(amplitude=1.2, f=1, points_per_cycle=600)", params={"R_off": r_off})
        s.frame[["t", "v", "i"]].to_csv(tmp_path / f"dev{k}.csv", index=False)
    out = tmp_path / "table.csv"
    rc = main(["population", str(tmp_path), "--model", "biolek2009", "--vary", "R_off", "--workers", "1",
               "--csv", str(out), "--quiet"])
    assert rc == 0
    table = pd.read_csv(out)
    # noise-free data sampled finely (the file holds samples: the fit replays them piecewise linearly)
    np.testing.assert_allclose(table["R_off"], r_true, rtol=2e-4)
    assert "2 of 2 fits succeeded" in capsys.readouterr().out
    rc = main(["population", str(tmp_path), "--model", "biolek2009", "--scheduler", "spark"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "not understood" in err and len(err.splitlines()) == 1


def test_crossbar_monte_carlo_same_on_dask_and_local(cluster, tmp_path):
    """A Monte Carlo crossbar study (re-programmed tiles per repeat) on the local backend and on
    Dask: identical accuracies, repeat by repeat; and a resumed run from a store gives the same."""
    from memfit.crossbar.data import load_digits
    from memfit.crossbar.evaluate import evaluate_configs

    ds = load_digits()
    x, y = ds.x_test[:120], ds.y_test[:120]
    configs = {"direct": "baseline-ftj", "adc6": __import__("memfit.crossbar.config", fromlist=["get_config"])
               .get_config("baseline-ftj").replace(adc_bits=6)}
    kw = dict(times=[0.0, 3600.0], repeats=2, seed=3, progress=False)
    inproc = evaluate_configs("builtin:digits-mlp", x, y, "ftj-balanced", configs, **kw)
    be = LocalBackend(2)
    try:
        local = evaluate_configs("builtin:digits-mlp", x, y, "ftj-balanced", configs, backend=be, **kw)
    finally:
        be.close()
    dask = evaluate_configs("builtin:digits-mlp", x, y, "ftj-balanced", configs, backend=cluster, **kw)
    key = ["setting", "repeat", "t"]
    a = inproc.sort_values(key).reset_index(drop=True)
    for other in (local, dask):
        b = other.sort_values(key).reset_index(drop=True)
        np.testing.assert_array_equal(a["accuracy"].to_numpy(), b["accuracy"].to_numpy())
    assert len(a) == 2 * 2 * 2 and a["accuracy"].between(0.5, 1.0).all()
    stored = evaluate_configs("builtin:digits-mlp", x, y, "ftj-balanced", configs, backend=LocalBackend(1),
                              store=tmp_path / "mc", **kw)
    assert len(ResultStore(tmp_path / "mc").keys()) == 4
    np.testing.assert_array_equal(stored.sort_values(key)["accuracy"].to_numpy(), a["accuracy"].to_numpy())
