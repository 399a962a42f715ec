"""The :class:`Record` base: a DataFrame in SI units with metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Units of the standard columns (SI).  State columns add their own units in ``meta["units"]``.
COLUMN_UNITS = {
    "t": "s",
    "v": "V",
    "i": "A",
    "v_dev": "V",
    "g_read": "S",
    "compliance": "1",
    "segment": "1",
    "role": "",
    "pulse": "1",
}


class Record:
    """A table of samples (pandas DataFrame, SI columns) with a metadata dict.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``t`` [s], ``v`` [V], ``i`` [A] at least.
    meta : dict
        Provenance and conditions; ``meta["units"]`` maps column -> unit.

    Columns are reachable as items (``rec["i"]``) and the frame as
    :attr:`frame`.
    """

    required = ("t", "v", "i")

    def __init__(self, frame: pd.DataFrame, meta: dict[str, Any] | None = None):
        names = frame.columns.tolist()  # (membership tests on the Index build a hash table per frame)
        missing = [c for c in self.required if c not in names]
        if missing:
            raise ValueError(f"{type(self).__name__} needs columns {missing}")
        self.frame = frame
        self.meta = dict(meta or {})
        units = dict(COLUMN_UNITS)
        units.update(self.meta.get("units", {}))
        self.meta["units"] = {c: units.get(c, "") for c in names}

    # -------------------------------------------------------------- access
    def __getitem__(self, key):
        return self.frame[key]

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def columns(self) -> list[str]:
        return list(self.frame.columns)

    @property
    def t(self) -> np.ndarray:
        """Time [s]."""
        return self.frame["t"].to_numpy()

    @property
    def v(self) -> np.ndarray:
        """Voltage at the instrument terminals [V]."""
        return self.frame["v"].to_numpy()

    @property
    def i(self) -> np.ndarray:
        """Current [A]."""
        return self.frame["i"].to_numpy()

    # ------------------------------------------------------------------ io
    def to_csv(self, path: str | Path) -> Path:
        """Write a CSV whose first lines are ``# key: json-value`` metadata, then the table.

        Returns the path written.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as fh:
            for key, value in self.meta.items():
                fh.write(f"# {key}: {json.dumps(value, default=_jsonable)}\n")
            self.frame.to_csv(fh, index=False)
        return path

    def _repr_html_(self) -> str:  # Jupyter
        head = "".join(f"<li><b>{k}</b>: {v}</li>" for k, v in self.meta.items() if k != "units")
        return f"<p>{type(self).__name__}</p><ul>{head}</ul>" + self.frame._repr_html_()

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {len(self)} rows, columns {self.columns}>"


def _jsonable(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return str(obj)
