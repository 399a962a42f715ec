"""Fit datasets: what is compared with the model, and how (residuals per kind of measurement).

A :class:`FitData` wraps one measured (or simulated) record: the stimulus
that replays what the instrument applied, the test circuit it was measured
in (series resistance, compliance from the metadata), the observable that is
compared, and the residual rule:

``iv``
    current at every sample; ``residual="log"`` (default) compares
    ``asinh(I / I_floor)`` -- a signed logarithm that treats the decades of
    a memristor's I-V evenly and stays finite through zero -- ``"relative"``
    compares ``(I_sim - I_meas) / max(|I_meas|, I_floor)``, ``"absolute"``
    compares ``(I_sim - I_meas) / max|I_meas|``.
``pulse``
    read conductance after each pulse (``g = mean(i) / mean(v)`` over each
    read), normalised by the measured conductance range.
``retention``
    ``ln g`` at every read sample (conductance vs log time).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from memfit.errors import FitError
from memfit.simulate._kernels import circuit as _c
from memfit.simulate.core import Simulation, TestCircuit
from memfit.simulate.stimulus import Stimulus, arbitrary

KINDS = ("iv", "pulse", "retention")
RESIDUALS = {"iv": ("log", "relative", "absolute"), "pulse": ("linear",), "retention": ("log",)}
_CLASS_KIND = {"IVSweep": "iv", "PulseTrain": "pulse", "Retention": "retention"}


def record_kind(record) -> str:
    """Kind of measurement: from the record's class, its metadata, or its stimulus roles."""
    name = type(record).__name__
    if name in _CLASS_KIND:
        return _CLASS_KIND[name]
    kind = record.meta.get("kind")
    if kind in KINDS:
        return kind
    roles = set()
    if "role" in record.frame.columns:
        col = record.frame["role"]
        # a categorical's categories (only those present); else the distinct values (iterating 10^4
        # strings one by one cost more than a fit's objective evaluation)
        roles = ({str(c) for c in col.cat.remove_unused_categories().cat.categories}
                 if isinstance(col.dtype, pd.CategoricalDtype) else {str(v) for v in pd.unique(col.astype(str))})
    if "write" in roles and "read" in roles:
        return "pulse"
    if roles and roles <= {"read", "hold"} and "read" in roles:
        return "retention"
    return "iv"


def record_stimulus(record) -> Stimulus:
    """The stimulus that replays what was applied during ``record``.

    A :class:`Simulation` carries its own (exact) stimulus.  For measured
    data the sampled source is interpolated linearly between samples, with
    each segment's role taken from the ``role`` column when present.
    Current-forced measurements say so with ``meta["source_mode"] = "current"``.
    """
    if isinstance(record, Simulation):
        return record.stimulus
    to_stimulus = getattr(record, "to_stimulus", None)
    if callable(to_stimulus):
        return to_stimulus()
    f = record.frame
    t = f["t"].to_numpy(dtype=float)
    mode = record.meta.get("source_mode", "voltage")
    src = f["i"].to_numpy(dtype=float) if mode == "current" else f["v"].to_numpy(dtype=float)
    stim = arbitrary(t, src, mode=mode)
    if "role" in f.columns:
        roles = tuple(str(r) for r in f["role"].to_numpy()[:-1])
        stim = Stimulus(stim.segments, roles, stim.t, stim.name)
    return stim


def record_circuit(record, series_resistance=None, compliance=None) -> TestCircuit:
    """The circuit the record was measured in: series resistance and compliance from its metadata."""
    from dataclasses import asdict

    meta = record.meta
    if isinstance(record, Simulation):
        circ = dict(meta.get("circuit", {}))
    elif callable(getattr(record, "test_circuit", None)):
        circ = asdict(record.test_circuit())
    else:
        circ = {"series_resistance": meta.get("series_resistance") or 0.0, "compliance": meta.get("compliance")}
    if series_resistance is not None:
        circ["series_resistance"] = series_resistance
    if compliance is not None:
        circ["compliance"] = compliance
    return TestCircuit(**circ)


def _read_events(roles: np.ndarray) -> list[np.ndarray]:
    """Index groups of consecutive 'read' samples."""
    is_read = roles == "read"
    idx = np.nonzero(is_read)[0]
    if idx.size == 0:
        return []
    breaks = np.nonzero(np.diff(idx) > 1)[0] + 1
    return np.split(idx, breaks)


class _EventRatio:
    """``mean(i[e]) / mean(v[e])`` for every read event ``e`` at once: ``sum(i[e]) / sum(v[e])`` by
    ``np.add.reduceat`` over the events' samples laid end to end, along the last axis (one
    simulation, or a batch of them).  A Python loop of ``np.mean`` per event took 40 % of a joint
    fit with pulse trains (146,000 calls in the demo's fit)."""

    def __init__(self, events: list[np.ndarray]):
        self.flat = np.concatenate(events).astype(np.intp) if events else np.zeros(0, dtype=np.intp)
        sizes = np.array([e.size for e in events], dtype=np.intp)
        self.start = np.cumsum(sizes) - sizes  # where each event starts in ``flat``

    def __call__(self, v: np.ndarray, i: np.ndarray) -> np.ndarray:
        if self.start.size == 0:  # (no events: reduceat needs at least one index)
            return np.zeros(np.shape(v)[:-1] + (0,))
        vf, jf = v[..., self.flat], i[..., self.flat]
        return np.add.reduceat(jf, self.start, axis=-1) / np.add.reduceat(vf, self.start, axis=-1)


@dataclass
class FitData:
    """One dataset prepared for fitting (see the module docstring)."""

    record: object
    kind: str
    residual: str
    weight: float
    stimulus: Stimulus
    circuit: TestCircuit
    label: str
    current_floor: float
    events: list = field(default_factory=list)
    target: np.ndarray = None
    scale: float = 1.0
    _ratio: object = field(default=None, init=False, repr=False, compare=False)  # _EventRatio of ``events``

    @classmethod
    def build(cls, record, label, kind=None, residual=None, weight=1.0, series_resistance=None, compliance=None,
              current_floor=None) -> "FitData":
        """Prepare one measured record for fitting.

        Parameters
        ----------
        record : Measurement or Simulation
            Needs columns ``t`` [s], ``v`` [V], ``i`` [A].
        label : str
            Name of the dataset in messages and reports.
        kind : {"iv", "pulse", "retention"}, optional
            Inferred from the record when omitted.
        residual : str, optional
            Residual form; the first allowed for ``kind`` when omitted.
        weight : float
            Relative weight of this dataset (> 0).
        series_resistance : float, optional
            Overrides the record's series resistance [Ohm].
        compliance : float, optional
            Overrides the record's current compliance [A].
        current_floor : float, optional
            Current scale of the ``log`` residual [A]; default 1e-4 of the peak |i|.
        """
        for col in ("t", "v", "i"):
            if col not in record.frame.columns:
                raise FitError(f"dataset {label!r} has no column {col!r}; a fit needs t [s], v [V], i [A]")
        kind = kind or record_kind(record)
        if kind not in KINDS:
            raise FitError(f"dataset {label!r}: kind must be one of {KINDS}, got {kind!r}")
        residual = residual or RESIDUALS[kind][0]
        if residual not in RESIDUALS[kind]:
            raise FitError(f"dataset {label!r}: residual {residual!r} does not apply to {kind} data; "
                           f"choose from {RESIDUALS[kind]}")
        if not (np.isfinite(weight) and weight > 0):
            raise FitError(f"dataset {label!r}: weight must be > 0, got {weight!r}")
        stim = record_stimulus(record)
        circ = record_circuit(record, series_resistance, compliance)
        i_meas = record.frame["i"].to_numpy(dtype=float)
        if current_floor is None:
            # a floor four decades under the peak: resolves the decades that matter, ignores the noise floor
            current_floor = max(1e-4 * float(np.max(np.abs(i_meas))), 1e-15)
        fd = cls(record, kind, residual, float(weight), stim, circ, label, float(current_floor))
        fd._prepare_target()
        return fd

    # ------------------------------------------------------------ observables
    def _prepare_target(self) -> None:
        f = self.record.frame
        if self.kind == "iv":
            if len(self.stimulus) != len(f):
                raise FitError(f"dataset {self.label!r}: its stimulus has {len(self.stimulus)} samples for "
                               f"{len(f)} measured rows")
            # where the source forces the current, the response is the voltage: compare that
            modes = np.asarray(self.stimulus.modes, dtype=object)[self.stimulus.segment_index()]
            self.voltage_samples = modes == "current"
            meas = self._iv_observable(f["v"].to_numpy(dtype=float), f["i"].to_numpy(dtype=float), floor=True)
            self.target = self.transform_iv(meas)
            self.scale = 1.0
            return
        # reads in the *simulated* output: from the stimulus roles at its output times
        self.events = _read_events(np.asarray(self.stimulus.roles_at(), dtype=str))
        if self.kind == "retention":
            self.events = [np.array([k]) for k in np.concatenate(self.events)] if self.events else []
        if not self.events:
            raise FitError(f"dataset {self.label!r} ({self.kind}) has no samples with role 'read'")
        g = self._measured_conductance()
        if g.size != len(self.events):
            raise FitError(f"dataset {self.label!r}: {g.size} measured reads but the replayed stimulus has "
                           f"{len(self.events)}; check the 'role' column")
        if self.kind == "pulse":
            self.scale = float(np.ptp(g)) or float(np.mean(np.abs(g))) or 1.0
            self.target = g / self.scale
        else:
            if np.any(g <= 0):
                raise FitError(f"dataset {self.label!r}: retention fit needs positive read conductances")
            self.target = np.log(g)

    def _measured_conductance(self) -> np.ndarray:
        """Measured read conductance [S], one value per read (pulse) or read sample (retention)."""
        rec = self.record
        if self.kind == "pulse" and callable(getattr(rec, "reads", None)):
            return rec.reads()["g_read"].to_numpy(dtype=float)
        f = rec.frame
        if self.kind == "retention" and "g_read" in f.columns:
            return f["g_read"].to_numpy(dtype=float)
        roles = f["role"].astype(str).to_numpy() if "role" in f.columns else np.full(len(f), "read")
        events = _read_events(roles)
        if self.kind == "retention":
            events = [np.array([k]) for k in np.concatenate(events)] if events else []
        v, i = f["v"].to_numpy(dtype=float), f["i"].to_numpy(dtype=float)
        return _EventRatio(events)(v, i)

    def conductance(self, v: np.ndarray, i: np.ndarray) -> np.ndarray:
        """Simulated read conductance [S] per read event (``mean(i) / mean(v)`` over the event), along
        the last axis of ``v`` and ``i`` (one simulation or a batch)."""
        if self._ratio is None:
            self._ratio = _EventRatio(self.events)
        return self._ratio(v, i)

    def _iv_observable(self, v: np.ndarray, i: np.ndarray, floor: bool = False) -> np.ndarray:
        """The I-V response: current where voltage is forced, voltage (scaled to a current) where current is."""
        vs = getattr(self, "voltage_samples", None)
        if vs is None or not vs.any():
            return i
        if floor:
            # a voltage scale that puts voltages on the same footing as currents in the residual
            self.voltage_scale = self.current_floor / max(1e-4 * float(np.max(np.abs(v[vs]))), 1e-12)
        return np.where(vs, v * self.voltage_scale, i)

    def transform_iv(self, i: np.ndarray) -> np.ndarray:
        """I-V observable [A] as compared: ``arcsinh(i / current_floor)`` for the ``log`` residual, else unchanged."""
        if self.residual == "log":
            return np.arcsinh(i / self.current_floor)
        return i

    def residual_vector(self, out: np.ndarray) -> np.ndarray:
        """Unweighted residual of a simulation's observables ``out`` (see :class:`memfit.simulate.Simulator`)."""
        i_sim = out[:, _c.O_I]
        if self.kind == "iv":
            i_sim = self._iv_observable(out[:, _c.O_VTERM], i_sim)
            if self.residual == "log":
                return np.arcsinh(i_sim / self.current_floor) - self.target
            f = self.record.frame
            i_meas = self._iv_observable(f["v"].to_numpy(dtype=float), f["i"].to_numpy(dtype=float))
            if self.residual == "relative":
                return (i_sim - i_meas) / np.maximum(np.abs(i_meas), self.current_floor)
            return (i_sim - i_meas) / np.max(np.abs(i_meas))
        return self._conductance_residual(self.conductance(out[:, _c.O_VTERM], i_sim))

    def _conductance_residual(self, g: np.ndarray) -> np.ndarray:
        """Residual of read conductances ``g`` (along the last axis): scaled difference (pulse) or
        difference of logarithms (retention; NaN for a non-positive read)."""
        if self.kind == "pulse":
            return g / self.scale - self.target
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(np.where(g > 0, g, np.nan)) - self.target

    def residual_matrix(self, outs: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """:meth:`residual_vector` of each of the simulations ``outs`` (N, M, observables), as the rows
        of ``out`` (N, n; allocated when None): in place, in one array operation for the I-V
        residuals (a Jacobian's batch), row by row otherwise."""
        if out is None:
            out = np.empty((len(outs), self.n))
        if self.kind == "iv" and self.residual == "log":
            i_sim = self._iv_observable(outs[:, :, _c.O_VTERM], outs[:, :, _c.O_I])
            np.divide(i_sim, self.current_floor, out=out)
            np.arcsinh(out, out=out)
            out -= self.target
            return out
        if self.kind in ("pulse", "retention"):  # all rows' read conductances at once
            out[...] = self._conductance_residual(self.conductance(outs[:, :, _c.O_VTERM], outs[:, :, _c.O_I]))
            return out
        for k, o in enumerate(outs):
            out[k] = self.residual_vector(o)
        return out

    def observable(self, out: np.ndarray) -> np.ndarray:
        """The compared quantity in physical units: I [A] (iv), g [S] (pulse, retention)."""
        if self.kind == "iv":
            return out[:, _c.O_I]
        return self.conductance(out[:, _c.O_VTERM], out[:, _c.O_I])

    def measured(self) -> np.ndarray:
        """Measured observable in physical units: I [A] per sample (iv), g [S] per read (pulse, retention)."""
        if self.kind == "iv":
            return self.record.frame["i"].to_numpy(dtype=float)
        return self._measured_conductance()

    @property
    def n(self) -> int:
        return int(self.target.size)
