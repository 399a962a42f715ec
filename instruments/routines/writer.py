"""Stream measured points to disk as they arrive, so a crash loses nothing already measured.

:class:`StreamWriter` writes ``<out>/<name>.csv`` in memfit's CSV format --
``# key: json`` metadata lines (kind, instrument snapshot, routine
parameters, units), a header, then one line per point, flushed after every
append -- and a JSON sidecar ``<out>/<name>.json`` with the same metadata
plus the run status (``running`` while measuring, then ``complete``,
``failed`` or ``interrupted`` with the error and the results).  A partial
file written up to a fault loads with :func:`memfit.data.io.read_csv`, and
:func:`load` reads either.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from memfit.data.measurement import measurement_class
from memfit.errors import MeasurementError

__all__ = ["StreamWriter", "load"]


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer, np.bool_)):
        return o.item()
    return str(o)


def _cell(x) -> str:
    if isinstance(x, (bool, np.bool_)):
        return "True" if x else "False"
    if isinstance(x, (float, np.floating)):
        return repr(float(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    s = str(x)
    if any(c in s for c in ',"\n'):
        s = '"' + s.replace('"', '""') + '"'
    return s


class StreamWriter:
    """Append-only CSV with a metadata header and a JSON sidecar.

    Parameters
    ----------
    out : str or Path or None
        Directory (created).  ``None``: keep the points in memory only.
    name : str
        File stem (``iv`` -> ``iv.csv`` and ``iv.json``); an existing file
        gets a numbered stem (``iv_1``) so nothing is overwritten.
    kind : str
        Measurement kind (``"iv"``, ``"pulse"``, ``"retention"``, ``"measurement"``).
    columns : sequence of str
        Column names, in order.
    meta : dict
        Metadata (instrument snapshot, routine parameters, compliance [A] ...).
    fsync_interval : float
        Seconds between ``os.fsync`` calls (data is flushed to the OS after every append).
    """

    def __init__(self, out, name: str, kind: str, columns: Sequence[str], meta: dict[str, Any],
                 fsync_interval: float = 1.0):
        self.kind = kind
        self.columns = list(columns)
        self.meta = dict(meta)
        self.meta["kind"] = kind
        self.meta.setdefault("source", "instruments")
        self.meta["started"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.rows: list[list] = []
        self.fsync_interval = float(fsync_interval)
        self._last_sync = time.monotonic()
        self.path: Path | None = None
        self.sidecar: Path | None = None
        self._fh = None
        if out is not None:
            out = Path(out)
            out.mkdir(parents=True, exist_ok=True)
            stem, k = name, 0
            while (out / f"{stem}.csv").exists() or (out / f"{stem}.json").exists():
                k += 1
                stem = f"{name}_{k}"
            self.path = out / f"{stem}.csv"
            self.sidecar = out / f"{stem}.json"
            self._write_sidecar("running")
            self._fh = self.path.open("w", newline="")
            for key, value in self.meta.items():
                self._fh.write(f"# {key}: {json.dumps(value, default=_json_default)}\n")
            self._fh.write(",".join(self.columns) + "\n")
            self._fh.flush()

    def _write_sidecar(self, status: str, extra: dict | None = None) -> None:
        doc = {"status": status, "csv": self.path.name if self.path else None, "points": len(self.rows),
               "columns": self.columns, "meta": self.meta}
        if extra:
            doc.update(extra)
        tmp = self.sidecar.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=1, default=_json_default))
        os.replace(tmp, self.sidecar)

    def append(self, **row) -> None:
        """Append one point (keyword per column; missing columns are an error) and flush it."""
        missing = [c for c in self.columns if c not in row]
        if missing:
            raise MeasurementError(f"StreamWriter: point without column(s) {missing}")
        vals = [row[c] for c in self.columns]
        self.rows.append(vals)
        if self._fh is not None:
            self._fh.write(",".join(_cell(v) for v in vals) + "\n")
            self._fh.flush()
            now = time.monotonic()
            if now - self._last_sync >= self.fsync_interval:
                os.fsync(self._fh.fileno())
                self._last_sync = now

    def close(self, status: str = "complete", **extra) -> None:
        """Flush, fsync and close the CSV; record ``status`` and ``extra`` results in the sidecar."""
        if self._fh is not None:
            try:
                self._fh.flush()
                os.fsync(self._fh.fileno())
            finally:
                self._fh.close()
                self._fh = None
        if self.sidecar is not None:
            self.meta["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            self._write_sidecar(status, extra)

    def frame(self) -> pd.DataFrame:
        """The points appended so far as a DataFrame."""
        f = pd.DataFrame(self.rows, columns=self.columns)
        for c in f.columns:
            if c not in ("role", "direction", "cell", "device") and f[c].dtype == object:
                f[c] = pd.to_numeric(f[c])
        return f

    def measurement(self, **meta_extra):
        """The points so far as the memfit Measurement type of ``kind``, with the metadata."""
        meta = dict(self.meta)
        meta.update(meta_extra)
        if self.path is not None:
            meta["file"] = str(self.path)
        return measurement_class(self.kind)(self.frame(), meta)


def load(path):
    """Load a file written by :class:`StreamWriter` (the ``.csv`` or its ``.json`` sidecar).

    A run cut short by a fault loads too: every complete line is a point.
    The sidecar's status and results are added to the metadata as
    ``meta["run"]``.
    """
    from memfit.data.io import read_csv

    path = Path(path)
    if path.suffix == ".json":
        doc = json.loads(path.read_text())
        csv = path.with_name(doc["csv"])
    else:
        csv = path
        side = path.with_suffix(".json")
        doc = json.loads(side.read_text()) if side.exists() else None
    m = read_csv(csv, allow_partial=True)
    if doc is not None:
        m.meta["run"] = {k: v for k, v in doc.items() if k != "meta"}
    return m
