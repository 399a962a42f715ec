"""Timing helpers shared by the benchmark sections.

* :func:`pin_threads` -- one thread per BLAS/OpenMP pool (call it before numpy is imported);
* :func:`measure` -- warm-up, then the median of several repetitions;
* :class:`Table` -- a plain-text table with aligned columns;
* :func:`environment` -- versions, CPU count and thread settings, printed at the top of every run.

Nothing here imports numpy at module level, so ``benchmarks/__main__.py`` can pin the threads
first (see ``baselines_and_pitfalls.md``: two thread pools in one process made timings swing 20x).
"""

from __future__ import annotations

import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

#: Thread pools that must not compete with the timed code.
POOL_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def pin_threads() -> None:
    """One thread for each BLAS/OpenMP pool (an explicit setting in the environment wins).

    Must run before numpy (or anything that loads a BLAS) is imported.  ``NUMBA_NUM_THREADS`` is
    left alone: it is the *maximum* numba may use; the sections choose the active count with
    :func:`numba.set_num_threads`.
    """
    for name in POOL_VARIABLES:
        os.environ.setdefault(name, "1")


def cpu_counts() -> tuple[int, int]:
    """(logical CPUs in the machine, CPUs this process may run on)."""
    total = os.cpu_count() or 1
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = total
    return total, usable


# ---------------------------------------------------------------------------- timing
@dataclass
class Timing:
    """Wall times [s] of the timed repetitions (after warm-up) and the last call's result."""

    times: list[float]
    result: Any = field(repr=False, default=None)
    results: list = field(repr=False, default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def n(self) -> int:
        return len(self.times)


def measure(fn: Callable[[], Any], repeats: int = 5, warmup: int = 1, keep: str = "last",
            min_time: float = 0.0) -> Timing:
    """Call ``fn`` ``warmup`` times untimed (compilation, caches), then ``repeats`` times timed.

    ``min_time`` [s]: time more calls, as many as add up to about ``min_time`` (estimated from the
    last warm-up call; at most 2000), so that the median of a sub-millisecond call is not that of a
    handful of noisy samples.  ``keep="all"`` keeps every timed call's result in ``Timing.results``
    (small results only).
    """
    t_one = math.inf
    for _ in range(warmup):
        t0 = time.perf_counter()
        fn()
        t_one = time.perf_counter() - t0
    if min_time > 0 and math.isfinite(t_one):
        repeats = max(repeats, min(2000, math.ceil(min_time / max(t_one, 1e-9))))
    times, result, results = [], None, []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        if keep == "all":
            results.append(result)
    return Timing(times, result, results)


# ---------------------------------------------------------------------------- formatting
def fmt_time(seconds: float) -> str:
    """``1.23 ms``-style time with a unit chosen for 3 significant figures."""
    if seconds != seconds:  # NaN
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if abs(seconds) >= scale or unit == "ns":
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds:g} s"  # pragma: no cover


def fmt_rate(per_second: float) -> str:
    """``1.23e+06/s``-style rate."""
    if per_second != per_second:
        return "-"
    return f"{per_second:.3g}/s"


def fmt_ratio(ratio: float) -> str:
    if ratio != ratio:
        return "-"
    return f"{ratio:.3g}x" if ratio < 1000 else f"{ratio:,.0f}x"


def fmt_err(err: float) -> str:
    return "-" if err != err else f"{err:.2e}"


def verdict(value: float, target: float) -> str:
    """``PASS`` when ``value >= target``."""
    return "PASS" if value >= target else "FAIL"


@dataclass
class Headline:
    """One line of the final summary: a ratio against its baseline, with the target it is held to.

    ``target=None``: reported for information, no verdict.
    """

    label: str
    ratio: float
    target: float | None = None
    detail: str = ""

    @property
    def verdict(self) -> str:
        return "" if self.target is None else verdict(self.ratio, self.target)

    def render(self) -> str:
        goal = "" if self.target is None else f"  (target >= {self.target:g}x)  {self.verdict}"
        more = f"  [{self.detail}]" if self.detail else ""
        return f"ratio  {self.label}: {fmt_ratio(self.ratio)}{goal}{more}"


class Table:
    """A plain-text table: ``Table(title, [col, ...])``, ``add(cells...)``, ``print()``.

    Numeric columns are right-aligned, text columns left-aligned; notes are printed below.
    """

    def __init__(self, title: str, columns: list[str]):
        self.title = title
        self.columns = columns
        self.rows: list[list[str]] = []
        self.notes: list[str] = []

    def add(self, *cells: Any) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{self.title}: {len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(["-" if c is None else str(c) for c in cells])

    def note(self, text: str) -> None:
        self.notes.append(text)

    def render(self) -> str:
        widths = [max(len(c), *(len(r[k]) for r in self.rows)) if self.rows else len(c)
                  for k, c in enumerate(self.columns)]
        left = [k == 0 for k in range(len(self.columns))]

        def line(cells):
            return "  ".join(c.ljust(w) if lf else c.rjust(w) for c, w, lf in zip(cells, widths, left)).rstrip()

        out = [self.title, "=" * len(self.title), line(self.columns), line(["-" * w for w in widths])]
        out += [line(r) for r in self.rows]
        out += [f"  * {n}" for n in self.notes]
        return "\n".join(out)

    def print(self) -> None:
        print(self.render(), flush=True)
        print(flush=True)


# ---------------------------------------------------------------------------- environment
def ngspice_version() -> str | None:
    """``ngspice-39``-style version string, or None if ngspice is not on PATH."""
    exe = shutil.which("ngspice")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "-v"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return "ngspice (version unknown)"
    for word in out.split():
        if word.startswith("ngspice-"):
            return word
    return "ngspice (version unknown)"


def environment() -> str:
    """Versions, CPUs and thread settings, one item per line."""
    import numba
    import numpy
    import scipy

    import memfit

    total, usable = cpu_counts()
    pools = ", ".join(f"{k}={os.environ.get(k, 'unset')}" for k in POOL_VARIABLES)
    lines = [
        f"python {platform.python_version()} ({sys.implementation.name}) on {platform.machine()} {platform.system()}",
        f"memfit {memfit.__version__}, numpy {numpy.__version__}, scipy {scipy.__version__}, "
        f"numba {numba.__version__}, {ngspice_version() or 'ngspice not installed'}",
        f"CPUs: {total} logical, {usable} usable by this process; numba threads: "
        f"max {numba.config.NUMBA_NUM_THREADS} (NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', 'unset')}), "
        f"active {numba.get_num_threads()}",
        f"BLAS/OpenMP pools pinned: {pools}",
    ]
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = None
    if load is not None:
        busy = load > 0.5
        lines.append(f"load average (1 min) before the run: {load:.2f}"
                     + (" -- other processes are using the CPUs; timings will be noisy" if busy else ""))
    return "\n".join(lines)
