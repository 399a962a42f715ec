"""Stimuli: what the source-measure unit applies, as exact piecewise waveforms.

A :class:`Stimulus` is a list of *segments*, each a smooth function of time on
``[t0, t1)``: a linear ramp (which covers holds, triangle sweeps, pulse edges
and arbitrary sampled waveforms) or a sine arc.  Every segment boundary is a
*breakpoint* where the integrators stop exactly, so pulse edges are never
stepped over.  Each segment also carries

* its drive *mode*: ``"voltage"`` (the SMU sources V and measures I) or
  ``"current"`` (sources I, measures V), and
* its *role*: ``"sweep"``, ``"write"``, ``"read"``, ``"hold"`` or ``"edge"``
  (a pulse's rise or fall), which tells downstream code which samples are reads.

The *output times* (``Stimulus.t``) are the instants where results are
reported, like the samples an instrument takes; they always include every
breakpoint.

Build stimuli with :func:`triangle_sweep`, :func:`sine_sweep`,
:func:`current_sweep`, :func:`pulse_train`, :func:`hold` and
:func:`arbitrary`; concatenate them with ``+``.  :func:`parse_stimulus` turns a
string such as ``"triangle(vmax=1.2, vmin=-1.2, f=1, cycles=3)"`` into a
stimulus (used by the command line).

All amplitudes are in volts (voltage mode) or amperes (current mode), all
times in seconds, frequencies in hertz and rates in V/s (A/s).
"""

from __future__ import annotations

import ast
import inspect
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from numba import njit

from memfit.errors import StimulusError

#: Column layout of the segment table handed to the jitted kernels.
SEG_T0, SEG_T1, SEG_KIND, SEG_A, SEG_B, SEG_C, SEG_D, SEG_MODE = range(8)
SEG_COLS = 8
#: Segment kinds.
KIND_LINEAR = 0  # v = a + (b - a) (t - t0) / (t1 - t0)
KIND_SINE = 1  # v = a + b sin(2 pi c (t - t0) + d)
#: Drive modes.
MODE_VOLTAGE = 0
MODE_CURRENT = 1
MODES = {"voltage": MODE_VOLTAGE, "current": MODE_CURRENT}
ROLES = ("sweep", "write", "read", "hold", "edge")


def _num(name: str, value, *, positive=False, nonneg=False, integer=False, func="") -> float:
    where = f"{func}(): " if func else ""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise StimulusError(f"{where}{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise StimulusError(f"{where}{name} must be finite, got {v}")
    if positive and v <= 0:
        raise StimulusError(f"{where}{name} must be > 0, got {v:g}")
    if nonneg and v < 0:
        raise StimulusError(f"{where}{name} must be >= 0, got {v:g}")
    if integer and v != int(v):
        raise StimulusError(f"{where}{name} must be a whole number, got {v:g}")
    return v


@dataclass(frozen=True, eq=False)
class Stimulus:
    """A piecewise waveform with output times.

    Parameters
    ----------
    segments : ndarray, shape (n_segments, 8)
        Segment table (columns ``SEG_*``; times in s, values in V or A).
    roles : tuple of str
        Role of each segment (see module docstring).
    t : ndarray
        Output times [s], strictly increasing, containing every segment
        boundary.
    name : str
        A short description (used in plots and metadata).
    """

    segments: np.ndarray
    roles: tuple
    t: np.ndarray
    name: str = ""

    def __post_init__(self):
        seg = np.ascontiguousarray(self.segments, dtype=np.float64).reshape(-1, SEG_COLS)
        t = np.ascontiguousarray(self.t, dtype=np.float64)
        object.__setattr__(self, "segments", seg)
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "roles", tuple(self.roles))
        if seg.shape[0] == 0:
            raise StimulusError("a stimulus needs at least one segment")
        if len(self.roles) != seg.shape[0]:
            raise StimulusError("one role per segment is required")
        bad = [r for r in self.roles if r not in ROLES]
        if bad:
            raise StimulusError(f"unknown segment role(s) {bad}; roles are {ROLES}")
        if not np.all(np.isfinite(seg)):
            raise StimulusError("stimulus segments contain NaN or inf")
        if np.any(seg[:, SEG_T1] <= seg[:, SEG_T0]):
            k = int(np.argmax(seg[:, SEG_T1] <= seg[:, SEG_T0]))
            raise StimulusError(f"segment {k} has non-positive duration ({seg[k, SEG_T0]:g} .. {seg[k, SEG_T1]:g} s)")
        if np.any(seg[1:, SEG_T0] != seg[:-1, SEG_T1]):
            raise StimulusError("segments must be contiguous in time")
        if np.any(np.diff(t) <= 0):
            raise StimulusError("output times must be strictly increasing")
        bps = self.breakpoints
        missing = ~np.isin(bps, t)
        if missing.any():
            raise StimulusError(f"output times miss the breakpoint(s) {bps[missing][:5]}")

    # ---------------------------------------------------------------- basics
    @property
    def breakpoints(self) -> np.ndarray:
        """Segment boundaries [s], including start and end."""
        return np.concatenate([self.segments[:, SEG_T0], self.segments[-1:, SEG_T1]])

    @property
    def duration(self) -> float:
        """End time minus start time [s]."""
        return float(self.segments[-1, SEG_T1] - self.segments[0, SEG_T0])

    @property
    def n_segments(self) -> int:
        return self.segments.shape[0]

    def __len__(self) -> int:
        return self.t.size

    @property
    def modes(self) -> list[str]:
        """Drive mode of each segment (``"voltage"`` or ``"current"``)."""
        inv = {v: k for k, v in MODES.items()}
        return [inv[int(m)] for m in self.segments[:, SEG_MODE]]

    def segment_index(self, t: np.ndarray | None = None) -> np.ndarray:
        """Index of the segment each time belongs to (right-continuous; the end time belongs to the last)."""
        t = self.t if t is None else np.asarray(t, dtype=np.float64)
        idx = np.searchsorted(self.segments[:, SEG_T0], t, side="right") - 1
        return np.clip(idx, 0, self.n_segments - 1)

    def value(self, t: np.ndarray | float | None = None) -> np.ndarray:
        """The source value at time(s) ``t`` [V or A] (default: the output times)."""
        tt = self.t if t is None else np.asarray(t, dtype=np.float64)
        k = self.segment_index(tt)
        s = self.segments[k]
        dt = tt - s[..., SEG_T0]
        lin = s[..., SEG_A] + (s[..., SEG_B] - s[..., SEG_A]) * dt / (s[..., SEG_T1] - s[..., SEG_T0])
        sin = s[..., SEG_A] + s[..., SEG_B] * np.sin(2 * np.pi * s[..., SEG_C] * dt + s[..., SEG_D])
        return np.where(s[..., SEG_KIND] == KIND_SINE, sin, lin)

    def roles_at(self, t: np.ndarray | None = None) -> np.ndarray:
        """Role of the segment at each output time."""
        return np.asarray(self.roles, dtype=object)[self.segment_index(t)]

    def shifted(self, dt: float) -> "Stimulus":
        """The same stimulus delayed by ``dt`` seconds."""
        seg = self.segments.copy()
        seg[:, SEG_T0] += dt
        seg[:, SEG_T1] += dt
        return Stimulus(seg, self.roles, self.t + dt, self.name)

    def __add__(self, other: "Stimulus") -> "Stimulus":
        """Concatenate: ``other`` starts when ``self`` ends."""
        if not isinstance(other, Stimulus):
            return NotImplemented
        o = other.shifted(self.segments[-1, SEG_T1] - other.segments[0, SEG_T0])
        name = " + ".join(n for n in (self.name, other.name) if n)
        return Stimulus(
            np.vstack([self.segments, o.segments]),
            self.roles + o.roles,
            np.concatenate([self.t, o.t[1:]]),
            name,
        )

    def repeat(self, n: int) -> "Stimulus":
        """The stimulus applied ``n`` times back to back."""
        n = int(_num("n", n, positive=True, integer=True, func="repeat"))
        out = self
        for _ in range(n - 1):
            out = out + self
        return out

    def to_frame(self):
        """A pandas DataFrame of the output times: ``t`` [s], ``source``, ``mode``, ``role``, ``segment``."""
        import pandas as pd

        k = self.segment_index()
        return pd.DataFrame(
            {
                "t": self.t,
                "source": self.value(),
                "mode": np.asarray(self.modes, dtype=object)[k],
                "role": np.asarray(self.roles, dtype=object)[k],
                "segment": k,
            }
        )

    def __repr__(self) -> str:
        return (
            f"<Stimulus {self.name or 'custom'}: {self.n_segments} segments, {len(self)} output points, "
            f"{self.duration:g} s>"
        )


# ---------------------------------------------------------------------------
# builders
# ---------------------------------------------------------------------------
def split_at_levels(segments: np.ndarray, levels) -> np.ndarray:
    """The segment table with voltage-mode segments cut where the waveform crosses ``levels`` [V].

    A model whose state equation has a kink at a device voltage (a switching threshold: VTEAM's
    ``v_off``/``v_on``, Yakopcic's ``Vp``/``-Vn``) makes a Runge-Kutta step that straddles the
    crossing lose its order: the error estimate misjudges it and the integrator needs much tighter
    tolerances for the same accuracy.  When the source drives the device directly, the crossing
    times are those of the source, known in closed form for every segment kind, and cutting the
    segments there makes them integrator breakpoints, like pulse edges (Hairer, Norsett & Wanner,
    *Solving ODEs I*, sec. II.6: restart at discontinuities).

    Parameters
    ----------
    segments : (n, 8) ndarray
        Segment table (``SEG_*`` columns).
    levels : sequence of float
        Voltages [V]; current-mode segments are not cut.

    Returns
    -------
    ndarray
        The same waveform as a segment table with the cuts (the input itself when there are none).
        Crossings within ``1e-9`` of a segment's span of its ends are not cut.  Only the integrators
        see this table; the stimulus, its output times and its segment indices are unchanged.
    """
    lv = np.array([float(v) for v in levels if math.isfinite(v)], dtype=np.float64)
    if lv.size == 0 or segments.shape[0] == 0:
        return segments
    out = _split_kernel(np.ascontiguousarray(segments, dtype=np.float64), lv)
    return segments if out.shape[0] == segments.shape[0] else out


def cut_rows_bound(segments: np.ndarray, n_levels: int) -> int:
    """Most rows a table of ``segments`` cut at ``n_levels`` levels can have (whatever the levels):
    what a batch's per-group tables are budgeted by before any is computed."""
    if n_levels == 0 or segments.shape[0] == 0:
        return int(segments.shape[0])
    seg = np.ascontiguousarray(segments, dtype=np.float64)
    return int(seg.shape[0] + _cut_capacity(seg, int(n_levels)))


def split_groups_at_levels(segments: np.ndarray, levels: np.ndarray, max_rows: int):
    """One cut table per row of ``levels`` (see :func:`split_at_levels`), concatenated.

    Parameters
    ----------
    segments : (n, 8) ndarray
        Segment table.
    levels : (G, L) ndarray
        Voltages [V] per group (non-finite entries are ignored).
    max_rows : int
        Largest total number of rows allowed.

    Returns
    -------
    (table, start) or None
        ``table[start[g]:start[g + 1]]`` is the table of group ``g``; None when the tables would hold
        more than ``max_rows`` rows together.
    """
    seg = np.ascontiguousarray(segments, dtype=np.float64)
    lv = np.ascontiguousarray(np.atleast_2d(levels), dtype=np.float64)
    table, start = _split_groups_kernel(seg, lv, int(max_rows))
    return None if start.shape[0] == 0 else (table, start)


@njit(cache=True)
def _split_groups_kernel(seg, levels, max_rows):
    """:func:`split_groups_at_levels`: each group's table cut once, into a buffer sized by
    :func:`_cut_capacity` (an empty ``start`` when the tables exceed ``max_rows``)."""
    G = levels.shape[0]
    start = np.empty(G + 1, dtype=np.int64)
    start[0] = 0
    buf = np.empty((min(G * (seg.shape[0] + _cut_capacity(seg, levels.shape[1])), max_rows), seg.shape[1]))
    for g in range(G):
        t = _split_kernel(seg, levels[g])
        start[g + 1] = start[g] + t.shape[0]
        if start[g + 1] > max_rows:
            return np.empty((0, seg.shape[1])), np.empty(0, dtype=np.int64)
        buf[start[g]:start[g + 1]] = t
    return buf[:start[G]].copy(), start


@njit(cache=True)
def _cut_capacity(seg, nl):
    """Most cuts ``nl`` levels can make in the voltage-mode segments of ``seg`` (two per level and
    turn of a sine, one per level of a ramp)."""
    cap = 0
    for k in range(seg.shape[0]):
        if seg[k, SEG_MODE] != MODE_VOLTAGE:
            continue
        if seg[k, SEG_KIND] == KIND_SINE:
            cap += 2 * nl * (int(seg[k, SEG_C] * (seg[k, SEG_T1] - seg[k, SEG_T0])) + 3)
        else:
            cap += nl
    return cap


@njit(cache=True)
def _split_kernel(seg, levels):
    """:func:`split_at_levels` on a contiguous table (one pass to find the cuts, one to write)."""
    n = seg.shape[0]
    nl = levels.shape[0]
    two_pi = 2.0 * math.pi
    cap = _cut_capacity(seg, nl)
    ck = np.empty(cap, dtype=np.int64)
    ct = np.empty(cap)
    m = 0
    for k in range(n):
        if seg[k, SEG_MODE] != MODE_VOLTAGE:
            continue
        t0, t1, a, b = seg[k, SEG_T0], seg[k, SEG_T1], seg[k, SEG_A], seg[k, SEG_B]
        span = t1 - t0
        margin = 1e-9 * span
        first_cut = m
        if seg[k, SEG_KIND] == KIND_SINE:
            c, d = seg[k, SEG_C], seg[k, SEG_D]
            if b == 0.0 or c <= 0.0:
                continue
            turns = int(c * span) + 3
            for q in range(nl):
                r = (levels[q] - a) / b
                if not (-1.0 < r < 1.0):
                    continue
                asn = math.asin(r)
                for h in range(2):  # a + b sin(2 pi c tau + d) = level at phase asn or pi - asn (+ 2 pi j)
                    phase = asn if h == 0 else math.pi - asn
                    j0 = math.ceil((d - phase) / two_pi)
                    for j in range(turns):
                        tau = (phase + two_pi * (j0 + j) - d) / (two_pi * c)
                        t = t0 + tau
                        if tau > 0.0 and tau < span and t > t0 + margin and t < t1 - margin:
                            ck[m] = k
                            ct[m] = t
                            m += 1
        else:
            for q in range(nl):  # linear: one crossing where the level lies strictly between the ends
                if (levels[q] - a) * (levels[q] - b) < 0.0:
                    t = t0 + (levels[q] - a) / (b - a) * span
                    if t > t0 + margin and t < t1 - margin:
                        ck[m] = k
                        ct[m] = t
                        m += 1
        # this segment's cuts in time order (few: insertion sort), a cut within 1e-9 span of the last dropped
        for i in range(first_cut + 1, m):
            v = ct[i]
            j = i - 1
            while j >= first_cut and ct[j] > v:
                ct[j + 1] = ct[j]
                j -= 1
            ct[j + 1] = v
        w = first_cut
        for i in range(first_cut, m):
            if w > first_cut and ct[i] - ct[w - 1] <= margin:
                continue
            ct[w] = ct[i]
            w += 1
        m = w
    out = np.empty((n + m, seg.shape[1]))
    row = 0
    i = 0
    for k in range(n):
        t0, t1 = seg[k, SEG_T0], seg[k, SEG_T1]
        lin = seg[k, SEG_KIND] == KIND_LINEAR
        start = t0
        while True:
            cut = i < m and ck[i] == k
            end = ct[i] if cut else t1
            out[row, :] = seg[k, :]
            out[row, SEG_T0] = start
            out[row, SEG_T1] = end
            if lin:
                ak, bk = seg[k, SEG_A], seg[k, SEG_B]
                if start != t0:
                    out[row, SEG_A] = ak + (bk - ak) * ((start - t0) / (t1 - t0))
                if end != t1:
                    out[row, SEG_B] = ak + (bk - ak) * ((end - t0) / (t1 - t0))
            else:
                out[row, SEG_D] = seg[k, SEG_D] + two_pi * seg[k, SEG_C] * (start - t0)
            row += 1
            if not cut:
                break
            start = end
            i += 1
    return out


class _Builder:
    """Accumulates segments and output times."""

    def __init__(self, t0: float = 0.0):
        self.rows: list[list[float]] = []
        self.roles: list[str] = []
        self.times: list[np.ndarray] = []
        self.t = t0

    def linear(self, v0, v1, duration, points, role, mode=MODE_VOLTAGE, spacing="linear"):
        t0, t1 = self.t, self.t + duration
        self.rows.append([t0, t1, KIND_LINEAR, v0, v1, 0.0, 0.0, mode])
        self.roles.append(role)
        self.times.append(_sample(t0, t1, points, spacing))
        self.t = t1

    def sine(self, offset, amp, freq, phase, duration, points, role, mode=MODE_VOLTAGE):
        t0, t1 = self.t, self.t + duration
        self.rows.append([t0, t1, KIND_SINE, offset, amp, freq, phase, mode])
        self.roles.append(role)
        self.times.append(_sample(t0, t1, points, "linear"))
        self.t = t1

    def build(self, name) -> Stimulus:
        t = np.concatenate(self.times + [np.array([self.t])])
        return Stimulus(np.array(self.rows, dtype=np.float64), tuple(self.roles), t, name)


def _sample(t0: float, t1: float, points: int, spacing: str) -> np.ndarray:
    """``points`` output times in [t0, t1) (t0 included)."""
    points = max(int(points), 1)
    if spacing == "log" and points > 1:
        # log-spaced offsets from t0, first offset at 1e-3 of the duration / points
        d = t1 - t0
        offs = np.geomspace(d * 1e-4, d, points)[:-1]
        return np.concatenate([[t0], t0 + offs])
    return t0 + (t1 - t0) * np.arange(points) / points


def _period(func, frequency, rate, span) -> float:
    """Period [s] of a sweep from a frequency [Hz] or a ramp rate [V/s]."""
    if (frequency is None) == (rate is None):
        raise StimulusError(f"{func}(): give exactly one of frequency (Hz) or rate (per second)")
    if frequency is not None:
        return 1.0 / _num("frequency", frequency, positive=True, func=func)
    rate = _num("rate", rate, positive=True, func=func)
    if span <= 0:
        raise StimulusError(f"{func}(): the sweep has zero span, a rate cannot define its period")
    return span / rate


def triangle_sweep(
    vmax: float,
    vmin: float | None = None,
    frequency: float | None = None,
    rate: float | None = None,
    cycles: int = 1,
    points_per_cycle: int = 400,
) -> Stimulus:
    """Bipolar (or unipolar) triangular voltage sweep 0 -> vmax -> 0 -> vmin -> 0.

    Parameters
    ----------
    vmax : float
        Positive turning point [V] (``>= 0``).
    vmin : float, optional
        Negative turning point [V] (``<= 0``); default ``-vmax``.  ``0`` gives
        a unipolar sweep.
    frequency : float, optional
        Cycles per second [Hz].  Give this or ``rate``.
    rate : float, optional
        Ramp rate [V/s] (the same on every leg).
    cycles : int
        Number of cycles.
    points_per_cycle : int
        Output samples per cycle (spread over the legs by their length).
    """
    return _triangle("triangle_sweep", "v", "V", MODE_VOLTAGE, vmax, vmin, frequency, rate, cycles,
                     points_per_cycle)


def _triangle(f, sym, unit, mode, top, bottom, frequency, rate, cycles, points_per_cycle) -> Stimulus:
    """0 -> top -> 0 -> bottom -> 0 sweeps of either drive mode (shared by the two public builders)."""
    top = _num(f"{sym}max", top, nonneg=True, func=f)
    bottom = -top if bottom is None else _num(f"{sym}min", bottom, func=f)
    if bottom > 0:
        raise StimulusError(f"{f}(): {sym}min must be <= 0 {unit}, got {bottom:g} {unit}")
    cycles = int(_num("cycles", cycles, positive=True, integer=True, func=f))
    ppc = int(_num("points_per_cycle", points_per_cycle, positive=True, integer=True, func=f))
    span = 2 * (top - bottom)
    if span == 0:
        raise StimulusError(f"{f}(): {sym}max and {sym}min are both 0 {unit}")
    period = _period(f, frequency, rate, span)
    b = _Builder()
    for _ in range(cycles):
        for a0, a1 in [(0.0, top), (top, 0.0), (0.0, bottom), (bottom, 0.0)]:
            if a0 == a1:
                continue
            frac = abs(a1 - a0) / span
            b.linear(a0, a1, period * frac, max(2, round(ppc * frac)), "sweep", mode=mode)
    prefix = "triangle" if mode == MODE_VOLTAGE else "current_triangle"
    return b.build(f"{prefix}({bottom:g}..{top:g} {unit}, {1 / period:g} Hz x{cycles})")


def current_sweep(
    imax: float,
    imin: float | None = None,
    frequency: float | None = None,
    rate: float | None = None,
    cycles: int = 1,
    points_per_cycle: int = 400,
) -> Stimulus:
    """Triangular *current* sweep 0 -> imax -> 0 -> imin -> 0 (the SMU sources current).

    Parameters are those of :func:`triangle_sweep`, in amperes (``imin=0``
    gives the unipolar sweep used for threshold switches such as VO2).
    """
    return _triangle("current_sweep", "i", "A", MODE_CURRENT, imax, imin, frequency, rate, cycles,
                     points_per_cycle)


def sine_sweep(
    amplitude: float,
    frequency: float,
    cycles: int = 1,
    points_per_cycle: int = 400,
    amplitude_neg: float | None = None,
    offset: float = 0.0,
    mode: str = "voltage",
) -> Stimulus:
    """Sine sweep starting at 0 phase: ``offset + A sin(2 pi f t)``.

    Parameters
    ----------
    amplitude : float
        Amplitude of the positive half-cycle [V] (>= 0).
    frequency : float
        [Hz].
    cycles : int
        Number of periods.
    points_per_cycle : int
        Output samples per period.
    amplitude_neg : float, optional
        Amplitude of the negative half-cycle [V] (>= 0); default ``amplitude``.
    offset : float
        DC offset [V].
    mode : str
        ``"voltage"`` or ``"current"`` (then amplitudes and offset are in A).
    """
    f = "sine_sweep"
    if mode not in MODES:
        raise StimulusError(f"{f}(): mode must be one of {list(MODES)}, got {mode!r}")
    ap = _num("amplitude", amplitude, nonneg=True, func=f)
    an = ap if amplitude_neg is None else _num("amplitude_neg", amplitude_neg, nonneg=True, func=f)
    freq = _num("frequency", frequency, positive=True, func=f)
    off = _num("offset", offset, func=f)
    cycles = int(_num("cycles", cycles, positive=True, integer=True, func=f))
    ppc = int(_num("points_per_cycle", points_per_cycle, positive=True, integer=True, func=f))
    half = 0.5 / freq
    b = _Builder()
    for _ in range(cycles):
        b.sine(off, ap, freq, 0.0, half, max(2, ppc // 2), "sweep", MODES[mode])
        b.sine(off, an, freq, math.pi, half, max(2, ppc - ppc // 2), "sweep", MODES[mode])
    neg = "" if an == ap else f"/-{an:g}"
    unit = "V" if mode == "voltage" else "A"
    return b.build(f"sine({ap:g}{neg} {unit}, {freq:g} Hz x{cycles})")


def hold(
    v: float,
    duration: float,
    points: int = 50,
    log: bool = False,
    role: str = "hold",
    mode: str = "voltage",
) -> Stimulus:
    """A DC level held for ``duration`` (retention, relaxation, forming dwell).

    Parameters
    ----------
    v : float
        Level [V] (or [A] with ``mode="current"``).
    duration : float
        [s], > 0.
    points : int
        Output samples.
    log : bool
        Space the samples logarithmically in time (retention measurements).
    role : str
        ``"hold"`` or ``"read"`` (a read at constant bias).
    mode : str
        ``"voltage"`` or ``"current"``.
    """
    f = "hold"
    v = _num("v", v, func=f)
    duration = _num("duration", duration, positive=True, func=f)
    points = int(_num("points", points, positive=True, integer=True, func=f))
    if mode not in MODES:
        raise StimulusError(f"{f}(): mode must be one of {list(MODES)}, got {mode!r}")
    if role not in ROLES:
        raise StimulusError(f"{f}(): role must be one of {ROLES}, got {role!r}")
    b = _Builder()
    b.linear(v, v, duration, points, role, MODES[mode], "log" if log else "linear")
    unit = "V" if mode == "voltage" else "A"
    return b.build(f"hold({v:g} {unit}, {duration:g} s)")


def pulse_train(
    amplitude: float | Sequence[float],
    width: float,
    period: float | None = None,
    n: int | None = None,
    rise: float | None = None,
    fall: float | None = None,
    read_v: float | None = None,
    read_width: float | None = None,
    read_delay: float | None = None,
    base: float = 0.0,
    points_per_pulse: int = 10,
) -> Stimulus:
    """Trapezoidal voltage pulses, each optionally followed by a read pulse.

    One period is: rise (``base`` -> amplitude), flat top of ``width``, fall,
    hold at ``base``, and when ``read_v`` is given, a read pulse (same edges)
    of ``read_width`` starting ``read_delay`` after the write pulse ended, then
    ``base`` until the period ends.

    Parameters
    ----------
    amplitude : float or sequence of float
        Write amplitude [V]; a sequence gives one amplitude per pulse
        (ramped amplitudes, potentiation followed by depression ...).
    width : float
        Flat-top duration [s] (edges excluded).
    period : float, optional
        Pulse repetition period [s]; default: just long enough for write and
        read plus a gap of one width.
    n : int, optional
        Number of pulses (required for a scalar amplitude).
    rise, fall : float, optional
        Edge durations [s]; default 1 % of ``width``.  ``0`` gives ideal steps.
    read_v : float, optional
        Read level [V]; no read pulses when omitted.
    read_width : float, optional
        Read flat-top duration [s]; default ``width``.
    read_delay : float, optional
        Gap between the end of the write pulse and the read [s]; default
        ``width``.
    base : float
        Level between pulses [V].
    points_per_pulse : int
        Output samples on each flat top (edges and gaps get fewer).
    """
    f = "pulse_train"
    if np.ndim(amplitude) == 0:
        if n is None:
            raise StimulusError(f"{f}(): give n (number of pulses) for a scalar amplitude")
        n = int(_num("n", n, positive=True, integer=True, func=f))
        amps = [_num("amplitude", amplitude, func=f)] * n
    else:
        amps = [_num("amplitude", a, func=f) for a in amplitude]
        if not amps:
            raise StimulusError(f"{f}(): amplitude sequence is empty")
        if n is not None and int(n) != len(amps):
            raise StimulusError(f"{f}(): n={n} but {len(amps)} amplitudes were given")
    width = _num("width", width, positive=True, func=f)
    rise = 0.01 * width if rise is None else _num("rise", rise, nonneg=True, func=f)
    fall = 0.01 * width if fall is None else _num("fall", fall, nonneg=True, func=f)
    base = _num("base", base, func=f)
    ppp = int(_num("points_per_pulse", points_per_pulse, positive=True, integer=True, func=f))
    busy = rise + width + fall
    if read_v is not None:
        read_v = _num("read_v", read_v, func=f)
        read_width = width if read_width is None else _num("read_width", read_width, positive=True, func=f)
        read_delay = width if read_delay is None else _num("read_delay", read_delay, positive=True, func=f)
        busy += read_delay + rise + read_width + fall
    elif read_width is not None or read_delay is not None:
        raise StimulusError(f"{f}(): read_width/read_delay given without read_v")
    period = busy + width if period is None else _num("period", period, positive=True, func=f)
    if period < busy:
        raise StimulusError(
            f"{f}(): period {period:g} s is shorter than one pulse with its read ({busy:g} s = edges + width"
            + (" + read_delay + read pulse" if read_v is not None else "")
            + ")"
        )
    b = _Builder()
    for a in amps:
        start = b.t
        if rise > 0:
            b.linear(base, a, rise, 2, "edge")
        b.linear(a, a, width, ppp, "write")
        if fall > 0:
            b.linear(a, base, fall, 2, "edge")
        if read_v is not None:
            b.linear(base, base, read_delay, 3, "hold")
            if rise > 0:
                b.linear(base, read_v, rise, 2, "edge")
            b.linear(read_v, read_v, read_width, max(2, ppp // 2), "read")
            if fall > 0:
                b.linear(read_v, base, fall, 2, "edge")
        gap = start + period - b.t
        if gap > 1e-12 * period:
            b.linear(base, base, gap, 3, "hold")
        else:
            b.t = start + period  # absorb rounding
            b.rows[-1][SEG_T1] = b.t
    desc = f"{amps[0]:g} V" if len(set(amps)) == 1 else f"{min(amps):g}..{max(amps):g} V"
    return b.build(f"pulses({desc}, {width:g} s x{len(amps)})")


def arbitrary(t: Sequence[float], values: Sequence[float], mode: str = "voltage", role: str = "sweep") -> Stimulus:
    """A waveform linearly interpolated between samples (every sample is a breakpoint).

    Parameters
    ----------
    t : sequence of float
        Sample times [s], strictly increasing, at least two.
    values : sequence of float
        Source values [V] (or [A] in current mode), same length as ``t``.
    mode : str
        ``"voltage"`` or ``"current"``.
    role : str
        Role given to every segment.
    """
    f = "arbitrary"
    t = np.asarray(t, dtype=np.float64).ravel()
    y = np.asarray(values, dtype=np.float64).ravel()
    if t.size != y.size:
        raise StimulusError(f"{f}(): t has {t.size} samples but values has {y.size}")
    if t.size < 2:
        raise StimulusError(f"{f}(): need at least two samples")
    for name, arr in (("t", t), ("values", y)):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise StimulusError(f"{f}(): {name}[{int(np.argmax(bad))}] is not finite")
    d = np.diff(t)
    if np.any(d <= 0):
        k = int(np.argmax(d <= 0))
        raise StimulusError(f"{f}(): t must be strictly increasing; t[{k + 1}] = {t[k + 1]:g} <= t[{k}] = {t[k]:g}")
    if mode not in MODES:
        raise StimulusError(f"{f}(): mode must be one of {list(MODES)}, got {mode!r}")
    n = t.size - 1
    seg = np.zeros((n, SEG_COLS))
    seg[:, SEG_T0] = t[:-1]
    seg[:, SEG_T1] = t[1:]
    seg[:, SEG_KIND] = KIND_LINEAR
    seg[:, SEG_A] = y[:-1]
    seg[:, SEG_B] = y[1:]
    seg[:, SEG_MODE] = MODES[mode]
    return Stimulus(seg, (role,) * n, t.copy(), f"arbitrary({t.size} samples)")


# ---------------------------------------------------------------------------
# parsing "triangle(vmax=1.2, f=1) + hold(v=0.1, duration=1)"
# ---------------------------------------------------------------------------
def _pulses(amplitude, width, period=None, n=None, rise=None, fall=None, read_v=None, read_width=None,
            read_delay=None, base=0.0, points_per_pulse=10):
    return pulse_train(amplitude, width, period, n, rise, fall, read_v, read_width, read_delay, base, points_per_pulse)


#: Functions allowed in stimulus strings, with keyword aliases.
STIMULUS_FUNCTIONS = {
    "triangle": (triangle_sweep, {"f": "frequency", "ppc": "points_per_cycle", "points": "points_per_cycle"}),
    "sine": (sine_sweep, {"f": "frequency", "amp": "amplitude", "ppc": "points_per_cycle", "points": "points_per_cycle"}),
    "isweep": (current_sweep, {"f": "frequency", "ppc": "points_per_cycle", "points": "points_per_cycle"}),
    "pulses": (_pulses, {"v": "amplitude", "amp": "amplitude", "ppp": "points_per_pulse"}),
    "hold": (hold, {"t": "duration"}),
}


def _literal(node, text):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _literal(node.operand, text)
        if isinstance(v, (int, float)):
            return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(e, text) for e in node.elts]
    raise StimulusError(f"stimulus {text!r}: only numbers, strings and lists are allowed as values, got {ast.unparse(node)!r}")


def _call(node, text) -> Stimulus:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _call(node.left, text) + _call(node.right, text)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        # "pulses(...) * 3" repeats
        count = _literal(node.right, text)
        return _call(node.left, text).repeat(count)
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise StimulusError(
            f"stimulus {text!r}: expected calls like triangle(vmax=1.2, f=1) joined by '+', "
            f"allowed functions: {', '.join(STIMULUS_FUNCTIONS)}"
        )
    name = node.func.id
    if name not in STIMULUS_FUNCTIONS:
        raise StimulusError(f"stimulus {text!r}: unknown function {name!r}; allowed: {', '.join(STIMULUS_FUNCTIONS)}")
    func, aliases = STIMULUS_FUNCTIONS[name]
    if node.args:
        raise StimulusError(f"stimulus {text!r}: {name}() takes keyword arguments only (e.g. vmax=1.2)")
    allowed = list(inspect.signature(func).parameters)
    kwargs = {}
    for kw in node.keywords:
        key = aliases.get(kw.arg, kw.arg)
        if key not in allowed:
            raise StimulusError(
                f"stimulus {text!r}: {name}() has no argument {kw.arg!r}; allowed: "
                + ", ".join(allowed + sorted(aliases))
            )
        kwargs[key] = _literal(kw.value, text)
    try:
        return func(**kwargs)
    except TypeError as exc:
        raise StimulusError(f"stimulus {text!r}: {name}(): {exc}") from None


def parse_stimulus(text: str) -> Stimulus:
    """Build a stimulus from a string.

    Grammar: calls of ``triangle``, ``sine``, ``isweep`` (current sweep),
    ``pulses`` and ``hold`` with keyword arguments, joined by ``+``; ``* n``
    repeats.  Examples::

        triangle(vmax=1.2, vmin=-1.2, f=1, cycles=3)
        sine(amplitude=1.2, f=10, cycles=2)
        pulses(amplitude=1.5, width=1e-6, period=1e-5, n=20, read_v=0.1) + hold(v=0.1, duration=1, log=True)

    Raises
    ------
    StimulusError
        One line naming the problem and the allowed functions or arguments.
    """
    if not isinstance(text, str) or not text.strip():
        raise StimulusError("empty stimulus string")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise StimulusError(f"stimulus {text!r} is not valid: {exc.msg} at column {exc.offset}") from None
    return _call(tree.body, text)
