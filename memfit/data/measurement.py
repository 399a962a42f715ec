"""Measurement types: validated tables of measured (or simulated) samples in SI units.

Every type is a :class:`~memfit.data.record.Record`: a pandas DataFrame with
SI columns plus a metadata dict.  The types differ in the columns they
require and in the helpers they offer:

======================  ===========================================================  =====================
type                    required columns                                             ``meta["kind"]``
======================  ===========================================================  =====================
:class:`Measurement`    none (any table in SI units)                                 ``"measurement"`` or
                                                                                     a specific label
:class:`IVSweep`        ``t`` [s], ``v`` [V], ``i`` [A]; optional ``cycle``          ``"iv"``
:class:`PulseTrain`     ``t``, ``role``, ``pulse`` and either ``v``, ``i`` or        ``"pulse"``
                        ``g_read`` [S]
:class:`Retention`      ``t``, ``g_read`` [S]; optional ``v``, ``i``, ``cell``       ``"retention"``
======================  ===========================================================  =====================

The column glossary (:data:`COLUMNS`) and the metadata keys
(:data:`META_KEYS`) fix names and units.  :class:`~memfit.simulate.Simulation`
results have the same columns (``t, v, i, v_dev, <states>, compliance,
segment, role``), so a simulation can stand in for a measurement:
:func:`as_measurement` turns one into the matching type, deriving
``pulse`` and ``g_read`` from the stimulus roles.

:func:`to_stimulus` turns a measurement back into the
:class:`~memfit.simulate.Stimulus` that was applied (the measured ``v(t)``, or
``i(t)`` when ``meta["source_mode"] == "current"``), and :func:`test_circuit`
into the :class:`~memfit.simulate.TestCircuit` (series resistance,
compliance), so that a fit simulates exactly what the instrument did.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from memfit.data.record import Record
from memfit.errors import MeasurementError

__all__ = [
    "Measurement",
    "IVSweep",
    "PulseTrain",
    "Retention",
    "MeasurementWarning",
    "COLUMNS",
    "META_KEYS",
    "KINDS",
    "ROLES",
    "measurement_class",
    "as_measurement",
    "to_stimulus",
    "test_circuit",
]

#: Segment roles (the stimulus vocabulary; see :mod:`memfit.simulate.stimulus`).
ROLES = ("sweep", "write", "read", "hold", "edge")

#: Column glossary: name -> (SI unit, description).  Columns outside this list are allowed
#: (model states, instrument extras); their units live in ``meta["units"]``.
COLUMNS: dict[str, tuple[str, str]] = {
    "t": ("s", "time since the start of the measurement"),
    "v": ("V", "voltage at the source (SMU) terminals"),
    "i": ("A", "current"),
    "v_dev": ("V", "voltage across the device (after series resistance)"),
    "i_dev": ("A", "current through the device (with a parallel capacitor)"),
    "g_read": ("S", "read conductance i/v at the read voltage"),
    "g0": ("S", "first read conductance after programming (retention sets)"),
    "r": ("Ohm", "resistance"),
    "compliance": ("1", "True where the source was limited by its compliance"),
    "segment": ("1", "stimulus segment index"),
    "role": ("", "segment role: sweep, write, read, hold or edge"),
    "pulse": ("1", "write pulses started up to this sample (0 before the first; a read after the k-th pulse has k)"),
    "cycle": ("1", "sweep cycle or ramp repetition index"),
    "direction": ("", "'up' (conductance-increasing pulses) or 'down'"),
    "v_write": ("V", "amplitude of the write pulse that preceded this read (reads-only pulse trains)"),
    "width": ("s", "flat-top width of that write pulse"),
    "v_gate": ("V", "gate (word-line) voltage of a 1T1R cell"),
    "cell": ("", "cell / device identifier within an array"),
    "level": ("1", "programmed level index"),
    "timept": ("s", "nominal time bucket of a retention read"),
    "temperature": ("K", "temperature during the sample"),
    "bake_temperature": ("K", "bake temperature of a retention step"),
    "polarization": ("C/m^2", "ferroelectric polarization (switched charge per area)"),
    "j": ("A/m^2", "current density"),
}

#: Metadata keys with their units.  Others are allowed (provenance, instrument settings).
META_KEYS: dict[str, tuple[str, str]] = {
    "kind": ("", "measurement type: 'measurement', 'iv', 'pulse', 'retention' or a specific label"),
    "device": ("", "device identifier"),
    "stack": ("", "material stack, e.g. 'TiN/HfO2/Ti/TiN'"),
    "area": ("m^2", "device area"),
    "thickness": ("m", "switching-layer thickness"),
    "temperature": ("K", "ambient / chuck temperature"),
    "compliance": ("A", "current compliance of the voltage source"),
    "voltage_compliance": ("V", "voltage compliance of a current source"),
    "series_resistance": ("Ohm", "resistance between source and device"),
    "source_mode": ("", "'voltage' (V forced, I measured; default) or 'current'"),
    "read_voltage": ("V", "read voltage of conductance reads"),
    "write_pulse": ("", "reads-only pulse trains: dict with amplitude [V], width, rise, fall, read_width, "
                        "read_delay [s] of the (unrecorded) write pulses"),
    "instrument": ("", "instrument identification / settings snapshot"),
    "routine": ("", "measurement routine name and parameters"),
    "units": ("", "column -> unit (SI)"),
    "source": ("", "where the data came from (file, repository, 'simulation')"),
    "license": ("", "licence of the data"),
    "citation": ("", "publication or attribution to cite"),
    "doi": ("", "DOI of the publication"),
    "description": ("", "free text"),
    "synthetic_time": ("", "how the time axis was made when the source has no time stamps"),
    "normalized": ("", "True when conductances are normalised (dimensionless), not in S"),
}

_POSITIVE_META = {"area": "m^2", "thickness": "m", "temperature": "K", "compliance": "A", "voltage_compliance": "V"}
_NONNEG_META = {"series_resistance": "Ohm"}


class MeasurementWarning(UserWarning):
    """Data was read but something was dropped or assumed (a partial line, an assumed unit)."""


def _where(source, row: int | None = None, lines=None, column: str | None = None) -> str:
    """'file, column 'i', row 5 (line 7)' for messages; ``row`` is 0-based."""
    parts = []
    if source:
        parts.append(str(source))
    if column is not None:
        parts.append(f"column {column!r}")
    if row is not None:
        r = f"row {row + 1}"
        if lines is not None and 0 <= row < len(lines):
            r += f" (line {int(lines[row])})"
        parts.append(r)
    return ", ".join(parts)


class Measurement(Record):
    """A measured table in SI units with metadata (the generic type).

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns named as in :data:`COLUMNS` where they apply, in SI units.
    meta : dict, optional
        Metadata (:data:`META_KEYS`); ``meta["units"]`` maps column -> unit.
    validate : bool
        Check the columns (default).  Readers validate with file line numbers.

    Raises
    ------
    MeasurementError
        A required column is missing, a numeric column holds NaN or inf, time
        decreases, a role is unknown, or a metadata value is impossible
        (negative area, compliance <= 0 ...).
    """

    kind = "measurement"
    required: tuple[str, ...] = ()
    #: Rows of one series share these column values; time must not decrease within a series.
    series_columns: tuple[str, ...] = ("device", "cell", "cycle")

    def __init__(self, frame: pd.DataFrame, meta: Mapping[str, Any] | None = None, *, validate: bool = True,
                 source: str | None = None, lines=None):
        if not isinstance(frame, pd.DataFrame):
            raise MeasurementError(f"{type(self).__name__} needs a pandas DataFrame, got {type(frame).__name__}")
        meta = dict(meta or {})
        src = source or meta.get("source_file") or meta.get("source")
        self._check_required(frame, src)
        if "role" in frame.columns and not isinstance(frame["role"].dtype, pd.CategoricalDtype):
            frame = frame.copy()
            frame["role"] = pd.Categorical(frame["role"].astype(str))
        if self.kind != "measurement" or "kind" not in meta:
            meta["kind"] = self.kind if self.kind != "measurement" else meta.get("kind", "measurement")
        units = {c: COLUMNS[c][0] for c in frame.columns if c in COLUMNS}
        units.update(meta.get("units") or {})
        meta["units"] = units
        super().__init__(frame, meta)
        if validate:
            self.validate(source=src, lines=lines)

    # ------------------------------------------------------------------ checks
    @classmethod
    def _check_required(cls, frame: pd.DataFrame, source) -> None:
        missing = [c for c in cls.required if c not in frame.columns]
        if missing:
            described = ", ".join(f"{c} [{COLUMNS[c][0]}]" if c in COLUMNS else c for c in missing)
            raise MeasurementError(
                f"{_where(source) + ': ' if source else ''}{cls.__name__} needs column(s) {missing} "
                f"({described}); the table has {list(frame.columns)}"
            )

    def validate(self, *, source: str | None = None, lines=None) -> None:
        """Check columns and metadata; raise :class:`MeasurementError` naming column, row and value.

        Numeric columns of the glossary (:data:`COLUMNS`) and the required
        ones must be finite; other columns (model states, instrument
        extras) are not checked.

        ``lines`` (file line number of each row) and ``source`` (file name)
        make the messages point into the file.
        """
        src = source or self.meta.get("source_file") or self.meta.get("source")
        f = self.frame
        if len(f) == 0:
            raise MeasurementError(f"{_where(src) + ': ' if src else ''}{type(self).__name__} has no rows")
        dup = f.columns[f.columns.duplicated()].tolist()
        if dup:
            raise MeasurementError(f"{_where(src) + ': ' if src else ''}duplicated column(s) {dup}")
        for col in f.columns:
            if col not in COLUMNS and col not in self.required:
                continue  # model states, instrument extras: not checked
            s = f[col]
            if pd.api.types.is_bool_dtype(s.dtype) or not pd.api.types.is_numeric_dtype(s.dtype):
                continue
            arr = s.to_numpy(dtype=np.float64, na_value=np.nan)
            bad = ~np.isfinite(arr)
            if bad.any():
                k = int(np.argmax(bad))
                raise MeasurementError(
                    f"{_where(src, k, lines, col)}: value {float(arr[k])!r} is not a finite number "
                    f"({int(bad.sum())} such value(s) in the column); measured values must be finite"
                )
        if "t" in f.columns:
            self._check_time(src, lines)
        if "role" in f.columns:
            roles = f["role"].astype(str).to_numpy()
            bad = ~np.isin(roles, ROLES)
            if bad.any():
                k = int(np.argmax(bad))
                raise MeasurementError(f"{_where(src, k, lines, 'role')}: unknown role {roles[k]!r}; roles are {ROLES}")
        if "pulse" in f.columns:
            p = f["pulse"].to_numpy(dtype=np.float64)
            bad = (p < 0) | (p != np.round(p))
            if bad.any():
                k = int(np.argmax(bad))
                raise MeasurementError(
                    f"{_where(src, k, lines, 'pulse')}: pulse count {float(p[k])!r} must be a whole number >= 0"
                )
        self._check_meta(src)

    def _series_keys(self) -> list[str]:
        return [c for c in self.series_columns if c in self.frame.columns]

    def _check_time(self, src, lines) -> None:
        t = self.frame["t"].to_numpy(dtype=np.float64)
        keys = self._series_keys()
        if keys:
            codes = self.frame.groupby(keys, sort=False, observed=True).ngroup().to_numpy()
            order = np.argsort(codes, kind="stable")
            ts, cs = t[order], codes[order]
            dec = (np.diff(ts) < 0) & (cs[1:] == cs[:-1])
            if dec.any():
                j = int(np.argmax(dec))
                k, prev = int(order[j + 1]), int(order[j])
                raise MeasurementError(
                    f"{_where(src, k, lines, 't')}: time {t[k]:.9g} s is earlier than {t[prev]:.9g} s at "
                    f"{_where(None, prev, lines)} of the same series ({', '.join(keys)}); time must not decrease "
                    "within a series"
                )
            return
        dec = np.diff(t) < 0
        if dec.any():
            j = int(np.argmax(dec))
            raise MeasurementError(
                f"{_where(src, j + 1, lines, 't')}: time {t[j + 1]:.9g} s is earlier than {t[j]:.9g} s at "
                f"{_where(None, j, lines)}; time must not decrease (sort the rows, or split concatenated runs "
                "and mark them with a 'cycle' or 'cell' column)"
            )

    def _check_meta(self, src) -> None:
        pre = f"{_where(src) + ': ' if src else ''}"
        for key, unit in {**_POSITIVE_META, **_NONNEG_META}.items():
            if key not in self.meta or self.meta[key] is None:
                continue
            val = self.meta[key]
            try:
                x = float(val)
            except (TypeError, ValueError):
                raise MeasurementError(f"{pre}meta[{key!r}] must be a number in {unit}, got {val!r}") from None
            ok = math.isfinite(x) and (x > 0 if key in _POSITIVE_META else x >= 0)
            if not ok:
                bound = "> 0" if key in _POSITIVE_META else ">= 0"
                raise MeasurementError(f"{pre}meta[{key!r}] = {val!r} {unit} is impossible; it must be {bound} {unit}")
        mode = self.meta.get("source_mode", "voltage")
        if mode not in ("voltage", "current"):
            raise MeasurementError(f"{pre}meta['source_mode'] must be 'voltage' or 'current', got {mode!r}")

    # -------------------------------------------------------------- metadata
    @property
    def device(self) -> str | None:
        """Device identifier (``meta["device"]``)."""
        return self.meta.get("device")

    @property
    def area(self) -> float | None:
        """Device area [m^2]."""
        return self.meta.get("area")

    @property
    def temperature(self) -> float | None:
        """Temperature [K]."""
        return self.meta.get("temperature")

    @property
    def compliance_limit(self) -> float | None:
        """Current compliance of the source [A] (``meta["compliance"]``)."""
        return self.meta.get("compliance")

    @property
    def series_resistance(self) -> float:
        """Series resistance [Ohm] (0 when not given)."""
        return float(self.meta.get("series_resistance") or 0.0)

    @property
    def source_mode(self) -> str:
        """``"voltage"`` (default) or ``"current"``: what the source forced."""
        return self.meta.get("source_mode", "voltage")

    @property
    def units(self) -> dict[str, str]:
        """Column -> unit."""
        return dict(self.meta["units"])

    # ---------------------------------------------------------------- helpers
    def copy(self):
        """A deep copy (frame and metadata)."""
        import copy

        return type(self)(self.frame.copy(), copy.deepcopy(self.meta), validate=False)

    def where(self, **equal) -> "Measurement":
        """Rows whose columns equal the given values, e.g. ``m.where(cell=5, cycle=2)`` (same type)."""
        mask = np.ones(len(self.frame), dtype=bool)
        for col, value in equal.items():
            if col not in self.frame.columns:
                raise MeasurementError(f"{type(self).__name__} has no column {col!r}; columns: {self.columns}")
            mask &= (self.frame[col] == value).to_numpy()
        if not mask.any():
            raise MeasurementError(f"no rows with {equal}")
        frame = self.frame.loc[mask].reset_index(drop=True)
        if "role" in frame.columns:
            frame["role"] = frame["role"].cat.remove_unused_categories()
        import copy

        return type(self)(frame, copy.deepcopy(self.meta), validate=False)

    def to_stimulus(self, **kwargs):
        """The stimulus that replays this measurement (see :func:`to_stimulus`)."""
        return to_stimulus(self, **kwargs)

    def test_circuit(self):
        """The test circuit from the metadata (see :func:`test_circuit`)."""
        return test_circuit(self)

    def to_parquet(self, path):
        """Write a Parquet file with the metadata in its key-value metadata (needs pyarrow)."""
        from memfit.data.io import write_parquet

        return write_parquet(self, path)


class IVSweep(Measurement):
    """Current-voltage sweep: ``t`` [s], ``v`` [V], ``i`` [A], optional ``cycle``.

    ``v`` is the voltage at the source terminals (what an SMU reports); with a
    series resistance the device sees ``v_dev`` (a column when measured).  For
    current-forced sweeps set ``meta["source_mode"] = "current"``.
    """

    kind = "iv"
    required = ("t", "v", "i")

    def cycles(self) -> list:
        """The cycle labels (``[0]`` when there is no ``cycle`` column)."""
        if "cycle" not in self.frame.columns:
            return [0]
        return list(pd.unique(self.frame["cycle"]))


class PulseTrain(Measurement):
    """Pulse train with reads.

    Columns: ``t`` [s], ``role`` (``write``, ``read``, ``hold``, ``edge``),
    ``pulse`` (write pulses started up to this sample: 0 before the first,
    ``k`` during and after the k-th), and either ``v`` [V] and ``i`` [A] (full waveform
    or reads) or ``g_read`` [S] (instruments that report conductance only).

    Two forms exist:

    * *waveform*: every sample of writes, edges, holds and reads, as a
      routine streams it or :func:`memfit.simulate.simulate` returns it;
    * *reads-only*: one row per read (role ``read``), the write pulses in
      between described by the columns ``v_write`` [V], ``width`` [s] or by
      ``meta["write_pulse"]``.  Ramps repeated several times carry a
      ``cycle`` column and, for up/down ramps, ``direction``.

    :meth:`reads` gives one row per read in both forms.  A frame with
    ``role`` but no ``pulse`` column (a simulation) gets ``pulse`` counted
    from the starts of the write runs.
    """

    kind = "pulse"
    required = ("t", "role", "pulse")

    def __init__(self, frame: pd.DataFrame, meta=None, *, validate: bool = True, source=None, lines=None):
        if isinstance(frame, pd.DataFrame) and "pulse" not in frame.columns and "role" in frame.columns:
            frame = frame.copy()
            frame["pulse"] = _pulse_count(frame["role"].astype(str).to_numpy())
        super().__init__(frame, meta, validate=validate, source=source, lines=lines)

    @classmethod
    def _check_required(cls, frame, source) -> None:
        super()._check_required(frame, source)
        has_vi = "v" in frame.columns and "i" in frame.columns
        if not has_vi and "g_read" not in frame.columns:
            raise MeasurementError(
                f"{_where(source) + ': ' if source else ''}PulseTrain needs columns 'v' [V] and 'i' [A], or "
                f"'g_read' [S]; the table has {list(frame.columns)}"
            )

    @property
    def reads_only(self) -> bool:
        """True when every row is a read (write pulses not recorded as samples)."""
        return bool((self.frame["role"].astype(str) == "read").all())

    def reads(self) -> pd.DataFrame:
        """One row per read: consecutive read samples of one pulse are averaged.

        Returns
        -------
        pandas.DataFrame
            ``pulse``, ``t`` [s] (mean over the read), ``v`` [V] and ``i`` [A]
            (means, when present), ``g_read`` [S] (``mean(i) / mean(v)``, or
            the mean of the ``g_read`` column), ``samples`` (averaged rows),
            ``row`` (first row of the read in :attr:`frame`), and the
            series columns (``cycle``, ``direction``, ``cell``, ``v_write``,
            ``width`` ...) where present.

        Raises
        ------
        MeasurementError
            No read rows, or a read at 0 V (conductance undefined).
        """
        f = self.frame
        is_read = (f["role"].astype(str) == "read").to_numpy()
        if not is_read.any():
            raise MeasurementError("this PulseTrain has no rows with role 'read'")
        idx = np.nonzero(is_read)[0]
        keys = [c for c in ("device", "cell", "cycle", "direction") if c in f.columns]
        new = np.ones(idx.size, dtype=bool)
        pulse = f["pulse"].to_numpy()[idx]
        new[1:] = (np.diff(idx) != 1) | (pulse[1:] != pulse[:-1])
        for k in keys:
            col = f[k].to_numpy()[idx]
            new[1:] |= col[1:] != col[:-1]
        run = np.cumsum(new) - 1
        sub = f.iloc[idx]
        grp = sub.groupby(run, sort=False)
        out = pd.DataFrame({"pulse": grp["pulse"].first().to_numpy().astype(np.int64)})
        out["t"] = grp["t"].mean().to_numpy()
        if "v" in f.columns and "i" in f.columns:
            v = grp["v"].mean().to_numpy()
            i = grp["i"].mean().to_numpy()
            out["v"], out["i"] = v, i
            if "g_read" in f.columns:
                g = grp["g_read"].mean().to_numpy()
            else:
                zero = v == 0
                if zero.any():
                    k = int(np.argmax(zero))
                    raise MeasurementError(
                        f"read {k + 1} (pulse {out['pulse'].iloc[k]}, row {idx[new][k] + 1}) is at 0 V: "
                        "its conductance i/v is undefined"
                    )
                g = i / v
        else:
            g = grp["g_read"].mean().to_numpy()
        out["g_read"] = g
        out["samples"] = grp.size().to_numpy()
        out["row"] = idx[new]
        for extra in keys + [c for c in ("v_write", "width", "level") if c in f.columns]:
            out[extra] = grp[extra].first().to_numpy()
        return out


class Retention(Measurement):
    """Retention / relaxation / read-noise data: conductance reads over time.

    Columns: ``t`` [s] (time since programming or since the first read),
    ``g_read`` [S]; optional ``v`` [V] and ``i`` [A] (then ``g_read`` is
    computed as ``i / v`` when not given), ``cell`` (several cells in one
    table; time restarts per cell), ``g0`` [S], ``level``,
    ``bake_temperature`` [K] (time restarts per bake step).
    """

    kind = "retention"
    required = ("t", "g_read")
    series_columns = ("device", "cell", "cycle", "bake_temperature")

    def __init__(self, frame: pd.DataFrame, meta=None, *, validate: bool = True, source=None, lines=None):
        if isinstance(frame, pd.DataFrame) and "g_read" not in frame.columns and {"v", "i"} <= set(frame.columns):
            v = frame["v"].to_numpy(dtype=np.float64)
            if np.any(v == 0):
                k = int(np.argmax(v == 0))
                raise MeasurementError(
                    f"{_where(source, k, lines, 'v')}: read voltage is 0 V, so g_read = i/v is undefined; "
                    "give g_read or drop the rows at 0 V"
                )
            frame = frame.copy()
            frame["g_read"] = frame["i"].to_numpy(dtype=np.float64) / v
        super().__init__(frame, meta, validate=validate, source=source, lines=lines)

    def cells(self) -> list:
        """The cell labels (``[None]`` for a single-cell table)."""
        if "cell" not in self.frame.columns:
            return [None]
        return list(pd.unique(self.frame["cell"]))


#: Kind name (and aliases) -> class.
KINDS: dict[str, type[Measurement]] = {
    "measurement": Measurement,
    "generic": Measurement,
    "iv": IVSweep,
    "ivsweep": IVSweep,
    "iv_sweep": IVSweep,
    "sweep": IVSweep,
    "pulse": PulseTrain,
    "pulses": PulseTrain,
    "pulse_train": PulseTrain,
    "pulsetrain": PulseTrain,
    "retention": Retention,
    "relaxation": Retention,
}


def measurement_class(kind: str | type | None) -> type[Measurement]:
    """The Measurement class for a kind name (``"iv"``, ``"pulse"``, ``"retention"``, ...) or a class.

    Unknown strings give :class:`Measurement` only when they are not one of
    the typed kinds; ``None`` gives :class:`Measurement`.
    """
    if kind is None:
        return Measurement
    if isinstance(kind, type):
        if not issubclass(kind, Measurement):
            raise MeasurementError(f"kind must be a Measurement subclass, got {kind.__name__}")
        return kind
    key = str(kind).lower().replace("-", "_")
    if key in KINDS:
        return KINDS[key]
    raise MeasurementError(
        f"unknown measurement kind {kind!r}; use 'iv', 'pulse', 'retention' or 'measurement'"
    )


def _class_for_meta_kind(kind) -> type[Measurement]:
    """Class for a ``meta["kind"]`` value; specific labels ('pv_loop', ...) are generic Measurements."""
    try:
        return measurement_class(kind)
    except MeasurementError:
        return Measurement


# ---------------------------------------------------------------------------
# simulations <-> measurements
# ---------------------------------------------------------------------------
def _pulse_count(roles: np.ndarray) -> np.ndarray:
    """Number of write pulses started up to each sample (a pulse starts where a run of 'write' begins)."""
    w = roles == "write"
    start = w & ~np.concatenate([[False], w[:-1]])
    return np.cumsum(start).astype(np.int64)


def as_measurement(record: Record, kind: str | type | None = None) -> Measurement:
    """Turn a :class:`~memfit.data.record.Record` (e.g. a Simulation) into a Measurement type.

    Parameters
    ----------
    record : Record
        A simulation or a measurement.
    kind : str or class, optional
        Target type (``"iv"``, ``"pulse"``, ``"retention"``, ``"measurement"``).
        Default: the record's ``meta["kind"]`` if it has one, otherwise
        ``"pulse"`` when the record has write segments, else ``"iv"``.

    Derived columns: ``pulse`` from the ``role`` column (counts the starts of
    write runs) for pulse trains; ``g_read = i / v`` for retention.  The
    metadata is copied, with ``kind`` set and ``source`` kept
    (``"simulation"`` for simulations).
    """
    import copy

    if isinstance(record, Measurement) and kind is None:
        return record
    f = record.frame
    if kind is None:
        kind = record.meta.get("kind")
        if kind is None:
            roles = f["role"].astype(str).to_numpy() if "role" in f.columns else np.array([])
            kind = "pulse" if (roles == "write").any() else "iv"
    cls = measurement_class(kind)
    if isinstance(record, cls):
        return record
    frame = f.copy()
    meta = copy.deepcopy(record.meta)
    meta["kind"] = cls.kind if cls is not Measurement else meta.get("kind", "measurement")
    circuit = meta.get("circuit")  # a Simulation's test circuit -> the measurement metadata keys
    if isinstance(circuit, dict):
        for key in ("series_resistance", "compliance", "voltage_compliance"):
            if circuit.get(key) is not None:
                meta.setdefault(key, circuit[key])
    if cls is PulseTrain and "role" not in frame.columns:
        raise MeasurementError("a PulseTrain needs a 'role' column to count pulses; the record has none")
    if cls is Retention and "g_read" not in frame.columns:
        if "role" in frame.columns:
            keep = (frame["role"].astype(str) == "read").to_numpy()
            if keep.any() and not keep.all():
                frame = frame.loc[keep].reset_index(drop=True)
    return cls(frame, meta)


# ---------------------------------------------------------------------------
# replaying a measurement
# ---------------------------------------------------------------------------
def _segments_from_samples(t, y, roles, mode: int):
    from memfit.simulate import stimulus as S

    n = t.size - 1
    seg = np.zeros((n, S.SEG_COLS))
    seg[:, S.SEG_T0] = t[:-1]
    seg[:, S.SEG_T1] = t[1:]
    seg[:, S.SEG_KIND] = S.KIND_LINEAR
    seg[:, S.SEG_A] = y[:-1]
    seg[:, S.SEG_B] = y[1:]
    seg[:, S.SEG_MODE] = mode
    return seg


def to_stimulus(measurement: Record, *, write_amplitude=None, write_width: float | None = None,
                read_width: float | None = None, read_delay: float | None = None, rise: float | None = None,
                fall: float | None = None):
    """The :class:`~memfit.simulate.Stimulus` that replays a measurement.

    Waveform data (every sample recorded): the measured source values are
    interpolated linearly between samples, every sample is a breakpoint, and
    each interval ``[t_k, t_k+1)`` takes the role of sample ``k`` (from the
    ``role`` column; ``"sweep"`` when there is none, ``"read"`` for
    :class:`Retention`).  The source value is ``v``, or ``i`` when
    ``meta["source_mode"] == "current"`` (current-forced sweeps, e.g. VO2).

    Reads-only :class:`PulseTrain` (one row per read): the write pulses are
    rebuilt from the ``v_write`` / ``width`` columns or
    ``meta["write_pulse"]`` (keyword arguments override them; an amplitude
    may be a dict by ``direction``, e.g. ``{"up": 1.2, "down": -1.0}``),
    each read from the ``v`` column.  The stimulus then has one read
    segment per row, in order, so ``PulseTrain.reads()`` of a simulation
    under it aligns row by row with the measurement's reads.

    Raises
    ------
    MeasurementError
        Time not strictly increasing, several cells in one table, a
        current-forced measurement without ``i``, or reads-only data whose
        write pulses are unknown.
    """
    from memfit.simulate import stimulus as S

    m = measurement if isinstance(measurement, Measurement) else as_measurement(measurement)
    f = m.frame
    for key in ("cell", "device"):
        if key in f.columns and f[key].nunique() > 1:
            first = f[key].iloc[0]
            first = first.item() if hasattr(first, "item") else first
            raise MeasurementError(
                f"the measurement holds {f[key].nunique()} different {key}s; replay one at a time, "
                f"e.g. m.where({key}={first!r})"
            )
    if isinstance(m, PulseTrain) and m.reads_only:
        return _reads_only_stimulus(m, write_amplitude, write_width, read_width, read_delay, rise, fall)
    mode = m.meta.get("source_mode", "voltage")
    col = "i" if mode == "current" else "v"
    if col not in f.columns or "t" not in f.columns:
        raise MeasurementError(
            f"to replay a {mode}-forced measurement the table needs columns 't' and {col!r}; it has {list(f.columns)}"
        )
    t = f["t"].to_numpy(dtype=np.float64)
    y = f[col].to_numpy(dtype=np.float64)
    if t.size < 2:
        raise MeasurementError("a stimulus needs at least two samples")
    d = np.diff(t)
    if np.any(d <= 0):
        k = int(np.argmax(d <= 0))
        raise MeasurementError(
            f"row {k + 2}: time {t[k + 1]:.9g} s does not increase after {t[k]:.9g} s at row {k + 1}; a stimulus "
            "needs strictly increasing time (average or drop duplicated time stamps)"
        )
    if not np.all(np.isfinite(y)):
        k = int(np.argmax(~np.isfinite(y)))
        raise MeasurementError(f"row {k + 1}: column {col!r} = {float(y[k])!r} is not finite")
    if "role" in f.columns:
        roles = tuple(f["role"].astype(str).to_numpy()[:-1])
    else:
        roles = ("read" if isinstance(m, Retention) else "sweep",) * (t.size - 1)
    seg = _segments_from_samples(t, y, roles, S.MODES[mode])
    name = f"replay({m.meta.get('device') or m.meta.get('source_file') or m.kind}, {t.size} samples)"
    return S.Stimulus(seg, roles, t.copy(), name)


def _per_row(value, direction, n, name):
    """Broadcast a scalar or a {direction: value} mapping to n rows."""
    if isinstance(value, Mapping):
        if direction is None:
            raise MeasurementError(f"{name} is given per direction but the PulseTrain has no 'direction' column")
        missing = sorted(set(map(str, direction)) - set(map(str, value)))
        if missing:
            raise MeasurementError(f"{name} has no value for direction(s) {missing}; got {dict(value)}")
        return np.array([float(value[str(d)]) for d in direction])
    return np.full(n, float(value))


def _reads_only_stimulus(m: PulseTrain, write_amplitude, write_width, read_width, read_delay, rise, fall):
    from memfit.simulate import stimulus as S

    f = m.frame
    n = len(f)
    if "v" not in f.columns:
        raise MeasurementError(
            "this PulseTrain has conductances only (no 'v' read-voltage column"
            + (", normalised data" if m.meta.get("normalized") else "")
            + "); the applied waveform cannot be rebuilt"
        )
    wp = dict(m.meta.get("write_pulse") or {})
    direction = f["direction"].astype(str).to_numpy() if "direction" in f.columns else None
    if write_amplitude is not None:
        amp = _per_row(write_amplitude, direction, n, "write_amplitude")
    elif "v_write" in f.columns:
        amp = f["v_write"].to_numpy(dtype=np.float64)
    elif "amplitude" in wp:
        amp = _per_row(wp["amplitude"], direction, n, "meta['write_pulse']['amplitude']")
    else:
        raise MeasurementError(
            "the write pulses of this reads-only PulseTrain are not recorded (no 'v_write' column, no "
            "meta['write_pulse']['amplitude']); pass write_amplitude= [V] (a number, or a dict by direction) "
            "and write_width= [s]"
        )
    if write_width is not None:
        width = _per_row(write_width, direction, n, "write_width")
    elif "width" in f.columns:
        width = f["width"].to_numpy(dtype=np.float64)
    elif "width" in wp:
        width = _per_row(wp["width"], direction, n, "meta['write_pulse']['width']")
    else:
        raise MeasurementError("the write-pulse width is not recorded; pass write_width= [s]")
    if np.any(~np.isfinite(width) | (width <= 0)):
        raise MeasurementError(f"write-pulse widths must be > 0 s, got {width[~(width > 0)][:3]}")
    wmax = float(np.max(width))
    rw = float(read_width if read_width is not None else wp.get("read_width", wmax))
    rd = float(read_delay if read_delay is not None else wp.get("read_delay", wmax))
    ri = float(rise if rise is not None else wp.get("rise", 0.01 * wmax))
    fa = float(fall if fall is not None else wp.get("fall", 0.01 * wmax))
    for name, val in (("read_width", rw), ("read_delay", rd)):
        if not (math.isfinite(val) and val > 0):
            raise MeasurementError(f"{name} must be > 0 s, got {val!r}")
    for name, val in (("rise", ri), ("fall", fa)):
        if not (math.isfinite(val) and val >= 0):
            raise MeasurementError(f"{name} must be >= 0 s, got {val!r}")
    vread = f["v"].to_numpy(dtype=np.float64)
    pulse = f["pulse"].to_numpy(dtype=np.int64)
    keys = [c for c in ("cycle", "direction") if c in f.columns]
    key_change = np.zeros(n, dtype=bool)
    key_change[0] = True
    for k in keys:
        col = f[k].to_numpy()
        key_change[1:] |= col[1:] != col[:-1]
    prev = np.concatenate([[0], pulse[:-1]])
    new_pulses = np.where(key_change, pulse, pulse - prev)
    if np.any(new_pulses < 0):
        r = int(np.argmax(new_pulses < 0))
        raise MeasurementError(f"row {r + 1}: pulse count {pulse[r]} decreases within a ramp")
    rows, roles, times = [], [], []
    tt = 0.0
    base = 0.0

    def lin(a, b, dur, role, pts):
        nonlocal tt
        rows.append([tt, tt + dur, S.KIND_LINEAR, a, b, 0.0, 0.0, S.MODE_VOLTAGE])
        roles.append(role)
        times.append(tt + dur * np.arange(pts) / pts)
        tt += dur

    for r in range(n):
        for _ in range(int(new_pulses[r])):
            if ri > 0:
                lin(base, amp[r], ri, "edge", 1)
            lin(amp[r], amp[r], width[r], "write", 2)
            if fa > 0:
                lin(amp[r], base, fa, "edge", 1)
        lin(base, base, rd, "hold", 1)
        if ri > 0:
            lin(base, vread[r], ri, "edge", 1)
        lin(vread[r], vread[r], rw, "read", 2)
        if fa > 0:
            lin(vread[r], base, fa, "edge", 1)
    t = np.concatenate(times + [np.array([tt])])
    return S.Stimulus(np.array(rows), tuple(roles), t, f"replay(reads-only pulse train, {n} reads)")


def test_circuit(measurement: Record):
    """The :class:`~memfit.simulate.TestCircuit` described by a measurement's metadata.

    Uses ``series_resistance`` [Ohm], ``compliance`` [A] and
    ``voltage_compliance`` [V] (defaults: 0, none, 100 V).
    """
    from memfit.simulate import TestCircuit

    meta = measurement.meta
    comp = meta.get("compliance")
    vcomp = meta.get("voltage_compliance")
    return TestCircuit(
        series_resistance=float(meta.get("series_resistance") or 0.0),
        compliance=None if comp is None else float(comp),
        voltage_compliance=100.0 if vcomp is None else float(vcomp),
    )


test_circuit.__test__ = False  # not a pytest test


def concat(measurements: Iterable[Measurement], key: str | None = None, labels: Iterable | None = None):
    """Stack measurements of one type into one table, optionally labelling each part in column ``key``."""
    ms = list(measurements)
    if not ms:
        raise MeasurementError("nothing to concatenate")
    cls = type(ms[0])
    frames = []
    labels = list(labels) if labels is not None else list(range(len(ms)))
    for m, lab in zip(ms, labels):
        fr = m.frame.copy()
        if key is not None:
            fr[key] = lab
        frames.append(fr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        frame = pd.concat(frames, ignore_index=True)
    if "role" in frame.columns:
        frame["role"] = pd.Categorical(frame["role"].astype(str))
    return cls(frame, dict(ms[0].meta))
