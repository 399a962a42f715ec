"""Multilevel programming: N target conductances by write-verify, each read back after programming."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from instruments.routines._common import Progress, base_meta, check_count, check_positive, report, safe_output
from instruments.routines.limits import Limits
from instruments.routines.write_verify import WRITE_VERIFY_COLUMNS, checked_scheme, program
from instruments.routines.writer import StreamWriter
from memfit.data import PulseTrain
from memfit.errors import LimitError

__all__ = ["multilevel", "linear_levels"]


def linear_levels(g_min: float, g_max: float, n: int) -> list[float]:
    """``n`` evenly spaced target conductances from ``g_min`` to ``g_max`` [S]."""
    return [float(g) for g in np.linspace(g_min, g_max, n)]


def multilevel(smu, targets: Sequence[float], *, read_v: float, v_start: float, v_step: float, v_max: float,
               width: float, n_reads: int = 5, tolerance: float = 0.02, max_pulses: int = 100,
               set_polarity: int = 1, compliance: float = 1e-3, reset_v_start: float | None = None,
               reset_v_step: float | None = None, reset_v_max: float | None = None,
               reset_width: float | None = None, reset_compliance: float | None = None,
               read_compliance: float | None = None, nplc: float = 0.1, limits: Limits | None = None, out=None,
               name: str = "multilevel", progress: Progress | None = None, **meta) -> PulseTrain:
    """Program each target in turn with write-verify, then read it ``n_reads`` times.

    Parameters are those of :func:`~instruments.routines.write_verify` plus
    ``targets`` (conductances [S], programmed in the given order) and
    ``n_reads`` (reads of each level after programming).

    Returns
    -------
    PulseTrain
        One table for all levels (column ``level``); the reads after each
        level's write-verify have role ``read`` and the direction ``none``.
        ``meta["levels"]`` lists, per level: ``target``, ``success``,
        ``pulses``, ``g_final`` and the mean / standard deviation of the
        post-programming reads (``g_mean``, ``g_std`` [S]).
    """
    limits = limits or Limits()
    targets = [float(t) for t in targets]
    if not targets:
        raise LimitError("multilevel needs at least one target conductance")
    for k, t in enumerate(targets):
        check_positive(f"targets[{k}]", t, "S")
    check_count("n_reads", n_reads)
    check_count("max_pulses", max_pulses)
    s, read_compliance = checked_scheme(read_v, v_start, v_step, v_max, width, compliance, reset_v_start,
                                        reset_v_step, reset_v_max, reset_compliance, reset_width, set_polarity,
                                        read_compliance, limits)
    params = dict(targets=targets, read_v=read_v, tolerance=tolerance, max_pulses=max_pulses, n_reads=n_reads,
                  set_polarity=set_polarity, set=s["set"], reset=s["reset"], read_compliance=read_compliance,
                  nplc=nplc)
    md = base_meta(smu, "multilevel", params, limits, compliance=read_compliance, read_voltage=read_v, **meta)
    writer = StreamWriter(out, name, "pulse", WRITE_VERIFY_COLUMNS, md)
    levels = []
    pulses = 0
    with safe_output(smu, writer):
        smu.configure(read_compliance, nplc=nplc)
        smu.output(True)
        for k, target in enumerate(targets):
            res = program(smu, writer, target, s, read_v=read_v, tolerance=tolerance, max_pulses=max_pulses,
                          direction="auto", set_polarity=set_polarity, reverse_on_overshoot=True,
                          read_compliance=read_compliance, level=k, pulse_offset=pulses)
            pulses += res["pulses"]
            g = []
            for _ in range(n_reads):
                r = smu.read(read_v)
                writer.append(t=r.t, v=r.v, i=r.i, role="read", pulse=pulses, direction="none", level=k)
                g.append(r.i / read_v)
            res["g_mean"], res["g_std"] = float(np.mean(g)), float(np.std(g))
            levels.append(res)
            report(progress, k + 1, len(targets), f"level {k}: target {target:.4g} S, read {res['g_mean']:.4g} S, "
                   f"{res['pulses']} pulses, {'ok' if res['success'] else 'FAILED'}")
    writer.close("complete", levels=levels)
    return writer.measurement(levels=levels)
