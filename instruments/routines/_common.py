"""Shared machinery of the routines: the safety wrapper, metadata and progress."""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Callable

from instruments.routines.limits import Limits
from instruments.routines.writer import StreamWriter
from memfit.errors import LimitError

#: ``progress(done, total, message)``: called after each step of a routine.
Progress = Callable[[int, int, str], None]


def check_positive(name: str, x, unit: str, *, allow_zero: bool = False) -> float:
    """A finite number > 0 (or >= 0) in ``unit``; otherwise :class:`LimitError` naming it."""
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x < 0 or \
            (x == 0 and not allow_zero):
        raise LimitError(f"{name} must be a number {'>=' if allow_zero else '>'} 0 {unit}, got {x!r}")
    return float(x)


def check_count(name: str, n, lo: int = 1) -> int:
    """A whole number >= lo."""
    if isinstance(n, bool) or not isinstance(n, int) or n < lo:
        raise LimitError(f"{name} must be a whole number >= {lo}, got {n!r}")
    return n


def base_meta(smu, routine: str, params: dict, limits: Limits, **extra) -> dict:
    """Metadata every routine stores: the instrument snapshot, routine name/parameters, limits."""
    meta = {
        "instrument": smu.snapshot(),
        "routine": {"name": routine, "params": params, "limits": limits.as_dict()},
        "source_mode": "voltage",
    }
    meta.update({k: v for k, v in extra.items() if v is not None})
    return meta


@contextmanager
def safe_output(smu, writer: StreamWriter):
    """Run a routine body; on any exception or Ctrl-C: source to 0 V, output off, record the fault.

    The writer is closed with status ``failed`` or ``interrupted`` (the
    points measured so far stay on disk); the exception is re-raised with a
    note listing any shutdown command that could not be delivered.  On
    success the source is also left at 0 V with the output off.
    """
    try:
        yield
    except BaseException as exc:
        problems = smu.zero_and_off()
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        try:
            writer.close(status, error=f"{type(exc).__name__}: {exc}", shutdown_problems=problems)
        except Exception:  # pragma: no cover - disk full etc.: the original error matters more
            pass
        if problems and hasattr(exc, "add_note"):
            exc.add_note("output-off could not be confirmed: " + "; ".join(problems))
        if writer.path is not None and hasattr(exc, "add_note"):
            exc.add_note(f"{len(writer.rows)} point(s) measured before the fault are in {writer.path}")
        raise
    problems = smu.zero_and_off()
    if problems:
        writer.meta["shutdown_problems"] = problems


def report(progress: Progress | None, done: int, total: int, message: str) -> None:
    """Call ``progress`` if given."""
    if progress is not None:
        progress(done, total, message)
