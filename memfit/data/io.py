"""Readers and writers of measurement files, with validation that points into the file.

Readers
-------
:func:`read_table`
    Any delimited text table (CSV, TSV, semicolon, whitespace): maps file
    columns to the standard columns, parses units from the headers
    (``"Current (mA)"``, ``"I [uA]"``, ``"V/mV"``, ``"Time(s)"``, ``"I1 A"``,
    ``"I_A"``) or takes them from ``units=``, converts to SI and validates.
:func:`read_csv`
    The same for CSV files, and the inverse of ``Record.to_csv`` /
    :func:`write_csv` (``# key: json`` metadata lines, then the table).
:func:`read_parquet` / :func:`write_parquet`
    Parquet with the metadata in the file's key-value metadata (key
    ``memfit``); needs the optional dependency ``pyarrow``
    (``pip install memfit[parquet]``).
:func:`read_easyexpert`
    Keysight EasyEXPERT / B1500 CSV exports (``DataName`` / ``DataValue``
    lines, ``TestParameter`` lines kept as the instrument snapshot).
:func:`read` / :func:`write`
    Pick the format from the file suffix.

Every problem is a :class:`~memfit.errors.MeasurementError` naming the file,
the column, the data row (1-based) and the file line, the value and what
was expected: missing or duplicated columns, empty cells, NaN or inf,
time going backwards, units mixed between columns or written inside cells,
an unknown unit, the wrong delimiter, an empty file, a current column whose
values are too large for amperes, and a truncated last line (which is never
dropped silently: pass ``allow_partial=True`` to drop it with a warning).
"""

from __future__ import annotations

import csv
import difflib
import json
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from memfit.data.measurement import (
    COLUMNS,
    Measurement,
    MeasurementWarning,
    _class_for_meta_kind,
    measurement_class,
)
from memfit.data.units import QUANTITY_OF_COLUMN, SI_UNITS, Unit, is_unit, parse_unit, split_header
from memfit.errors import MeasurementError

__all__ = [
    "read_table",
    "read_csv",
    "write_csv",
    "read_parquet",
    "write_parquet",
    "read_easyexpert",
    "read",
    "write",
]

#: Delimiters tried, in order of preference, when ``delimiter=None``.
DELIMITERS = ("\t", ";", ",", "|")
_DELIM_NAMES = {"\t": "tab", ";": "semicolon", ",": "comma", "|": "pipe", " ": "whitespace"}
WHITESPACE = " "  # delimiter value meaning "runs of spaces/tabs"

#: Header names recognised for the standard columns when ``columns`` does not map them (case-insensitive).
ALIASES: dict[str, tuple[str, ...]] = {
    "t": ("t", "time", "timestamp", "elapsed time"),
    "v": ("v", "voltage", "volt", "bias", "vapp", "v_applied", "applied voltage"),
    "i": ("i", "current", "curr"),
    "g_read": ("g_read", "g", "conductance"),
    "pulse": ("pulse", "pulse_number", "pulse number", "n_pulse"),
    "role": ("role",),
}
#: Columns that hold whole numbers, flags or labels rather than physical values.
_INTEGER_COLUMNS = ("pulse", "cycle", "segment", "level")
_BOOL_COLUMNS = ("compliance",)
_LABEL_COLUMNS = ("role", "direction", "cell", "device")

_NUMBER_UNIT = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([^\d\s.,+-].*?)\s*$")
_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d+,\d+(?:[eE][+-]?\d+)?\s*$")
_INT = re.compile(r"^\s*[+-]?\d+\s*$")
_META_LINE = re.compile(r"^\s*([A-Za-z_][\w.\- ]*?)\s*:\s*(.*?)\s*$")
_MISSING = {"", "nan", "na", "n/a", "null", "none", "-", "--", "#n/a"}
_INF = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


# ---------------------------------------------------------------------------
# raw text -> table of strings with line numbers
# ---------------------------------------------------------------------------
@dataclass
class _Raw:
    path: str
    headers: list[str]  # header strings (or "1", "2", ... without a header)
    has_header: bool
    header_line: int | None
    rows: list[list[str]]
    lines: np.ndarray  # file line (1-based) of each data row
    meta: dict = field(default_factory=dict)
    partial: int | None = None  # index of a last row that looks truncated (None: none)
    partial_why: str = ""
    delimiter: str | None = None
    partial_soft: bool = False  # an unterminated but complete last line: suspicious only if a value is bad


def _read_text(path: Path, encoding: str | None) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise MeasurementError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise MeasurementError(f"{path}: is a directory, not a measurement file") from None
    if not data.strip():
        raise MeasurementError(f"{path}: the file is empty (0 data rows)")
    if encoding is not None:
        return data.decode(encoding)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16")
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _split_fields(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return [line.strip()]
    if delimiter == WHITESPACE:
        return line.split()
    return next(csv.reader([line], delimiter=delimiter, skipinitialspace=True))


def _detect_delimiter(first: str, sample: list[str]) -> str | None:
    """Prefer a delimiter that splits the first line into >= 2 fields consistently with the next lines."""
    best = None
    for d in DELIMITERS:
        n = len(_split_fields(first, d))
        if n < 2:
            continue
        split = [_split_fields(s, d) for s in sample[:20]]
        counts = [len(f) for f in split]
        ok = sum(1 for f in split if len(f) == n or (len(f) > n and not "".join(f[n:]).strip()))
        if not counts or ok >= 0.8 * len(counts):
            return d
        if best is None:
            best = d
    if best is not None:
        return best
    if len(first.split()) >= 2:
        n = len(first.split())
        counts = [len(s.split()) for s in sample[:20]]
        if not counts or sum(c == n for c in counts) >= 0.8 * len(counts):
            return WHITESPACE
    return None


def _parse_meta_value(text: str):
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return text


def _scan(path: Path, text: str, *, delimiter, header: bool, skip_rows: int, comment: str | None,
          allow_missing: bool) -> _Raw:
    lines = re.split(r"\r\n|\n|\r", text)
    terminated = lines[-1] == ""
    if terminated:
        lines = lines[:-1]
    meta: dict[str, Any] = {}
    head: tuple[int, str] | None = None
    data: list[tuple[int, str]] = []
    for no, line in enumerate(lines, start=1):
        if no <= skip_rows:
            continue
        s = line.strip()
        if not s:
            continue
        if comment and s.startswith(comment):
            m = _META_LINE.match(s[len(comment):])
            if m and not data:
                meta[m.group(1)] = _parse_meta_value(m.group(2))
            continue
        if header and head is None:
            head = (no, line)
            continue
        data.append((no, line))
    if head is None and not data:
        raise MeasurementError(f"{path}: the file is empty (no header and no data rows)" +
                               (" after the metadata lines" if meta else ""))
    if not data:
        raise MeasurementError(f"{path}: the file has a header (line {head[0]}) but no data rows")
    first = head[1] if head is not None else data[0][1]
    sample = [ln for _, ln in data[:21]]
    if delimiter is None:
        delim = _detect_delimiter(first, sample)
    else:
        delim = WHITESPACE if delimiter in ("whitespace", r"\s+", " ") else delimiter
        fields = _split_fields(first, delim)
        if len(fields) == 1:
            others = [d for d in DELIMITERS + ("  ",) if d != delim and d in first]
            if others:
                o = WHITESPACE if others[0] == "  " else others[0]
                where = f"line {head[0]} (the header)" if head is not None else f"line {data[0][0]}"
                raise MeasurementError(
                    f"{path}, {where}: {first.strip()!r} is a single column with delimiter {delim!r}, but it "
                    f"contains {_DELIM_NAMES.get(o, repr(o))}s: the file looks {_DELIM_NAMES.get(o, repr(o))}-"
                    f"separated; pass delimiter={o!r} (or delimiter=None to detect it)"
                )
    if head is not None:
        headers = [h.strip() for h in _split_fields(head[1], delim)]
        while len(headers) > 1 and headers[-1] == "":
            headers.pop()  # trailing delimiter
    else:
        headers = [str(k) for k in range(len(_split_fields(data[0][1], delim)))]
    n = len(headers)
    rows: list[list[str]] = []
    linenos = np.empty(len(data), dtype=np.int64)
    partial, why = None, ""
    for k, (no, line) in enumerate(data):
        f = _split_fields(line, delim)
        if len(f) > n:
            if "".join(f[n:]).strip():
                raise MeasurementError(
                    f"{path}, line {no} (data row {k + 1}): {len(f)} fields, but the header"
                    f"{' (line ' + str(head[0]) + ')' if head else ''} has {n}: {line.strip()[:80]!r}"
                    + _delimiter_hint(line, delim)
                )
            f = f[:n]
        elif len(f) < n:
            last = k == len(data) - 1
            if last and not allow_missing:
                partial, why = k, f"has {len(f)} of {n} fields"
                f = f + [""] * (n - len(f))
            elif allow_missing:
                f = f + [""] * (n - len(f))
            else:
                raise MeasurementError(
                    f"{path}, line {no} (data row {k + 1}): {len(f)} fields, but the header has {n}: "
                    f"{line.strip()[:80]!r}" + _delimiter_hint(line, delim)
                    + "; every row needs a value in every column"
                )
        rows.append([x.strip() for x in f])
        linenos[k] = no
    soft = False
    if partial is None and not terminated:
        partial, why, soft = len(rows) - 1, "does not end with a newline", True
    return _Raw(str(path), headers, head is not None, head[0] if head else None, rows, linenos, meta, partial, why,
                delim, soft)


def _delimiter_hint(line: str, delim) -> str:
    others = [d for d in DELIMITERS if d != delim and d in line]
    if others:
        o = others[0]
        return f" (the line contains {_DELIM_NAMES[o]}s: is the delimiter {o!r}?)"
    return ""


def _parse_easyexpert(path: Path, text: str, block: int) -> _Raw:
    lines = re.split(r"\r\n|\n|\r", text)
    params: dict[str, Any] = {}
    info: dict[str, Any] = {}
    blocks: list[tuple[int, list[str], list[list[str]], list[int]]] = []
    for no, line in enumerate(lines, start=1):
        s = line.strip().lstrip("\ufeff")
        if not s:
            continue
        parts = [p.strip() for p in s.split(",")]
        tag = parts[0]
        if tag == "TestParameter" and len(parts) >= 2:
            vals = parts[2:]
            params[parts[1]] = vals[0] if len(vals) == 1 else vals
        elif tag in ("SetupTitle", "PrimitiveTest", "TestRecord.RecordTime", "TestRecord.Remarks"):
            info[tag] = ", ".join(parts[1:])
        elif tag == "DataName":
            blocks.append((no, parts[1:], [], []))
        elif tag == "DataValue":
            if not blocks:
                raise MeasurementError(f"{path}, line {no}: DataValue before any DataName line")
            blocks[-1][2].append(parts[1:])
            blocks[-1][3].append(no)
    if not blocks:
        raise MeasurementError(f"{path}: no 'DataName' line: not a Keysight EasyEXPERT export, or it holds no data")
    if not -len(blocks) <= block < len(blocks):
        raise MeasurementError(f"{path}: block {block} requested but the file has {len(blocks)} data block(s)")
    hline, headers, rows, nos = blocks[block]
    if not rows:
        raise MeasurementError(f"{path}, line {hline}: the DataName line has no DataValue rows after it")
    n = len(headers)
    partial = None
    for k, r in enumerate(rows):
        if len(r) < n:
            if k == len(rows) - 1:
                partial = k
                r.extend([""] * (n - len(r)))
            else:
                raise MeasurementError(f"{path}, line {nos[k]} (data row {k + 1}): {len(r)} fields, DataName has {n}")
        elif len(r) > n:
            raise MeasurementError(f"{path}, line {nos[k]} (data row {k + 1}): {len(r)} fields, DataName has {n}")
    meta = {
        "instrument": {
            "software": "Keysight EasyEXPERT",
            "mainframe": params.get("Context.MainFrame"),
            "setup": info.get("SetupTitle"),
            "test": info.get("PrimitiveTest"),
            "parameters": params,
        }
    }
    return _Raw(str(path), headers, True, hline, rows, np.asarray(nos, dtype=np.int64), meta, partial,
                f"has fewer fields than DataName (line {hline})" if partial is not None else "", ",")


# ---------------------------------------------------------------------------
# strings -> SI columns
# ---------------------------------------------------------------------------
def _cell_problem(x: str, decimal: str, expected: str) -> tuple[str, str]:
    """(category, explanation) of a cell that is not a finite number."""
    s = x.strip()
    low = s.lower()
    if low in _MISSING:
        return "missing", ("an empty cell" if s == "" else f"the missing-value marker {s!r}") + f"; expected {expected}"
    if low in _INF:
        return "inf", f"value {s!r} is infinite; expected a finite {expected}"
    m = _NUMBER_UNIT.match(s)
    if m and is_unit(m.group(2)):
        return "unit", f"value {s!r} has a unit inside the cell ({m.group(2)!r})"
    if decimal == "." and _DECIMAL_COMMA.match(s):
        return "decimal", f"value {s!r} uses a decimal comma; pass decimal=',' (and a delimiter other than ',')"
    return "text", f"value {s!r} is not a number; expected {expected}"


def _expected(canon: str, unit: Unit | None) -> str:
    q = QUANTITY_OF_COLUMN.get(canon)
    if unit is not None:
        return f"a number in {unit.text}"
    if q:
        return f"a number in {SI_UNITS[q]}"
    return "a number"


@dataclass
class _Col:
    canon: str
    index: int
    header: str
    unit: Unit | None = None
    unit_from: str = ""  # "units=", "header", "file metadata", "assumed"


def _resolve(raw: _Raw, spec, canon: str, parsed) -> int:
    """Index of the file column named by ``spec`` (header text, its name without unit, or a 0-based position)."""
    n = len(raw.headers)
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        if not 0 <= spec < n:
            raise MeasurementError(
                f"{raw.path}: column position {spec} for {canon!r} is out of range; the file has {n} column(s) "
                "(positions count from 0)"
            )
        return int(spec)
    s = str(spec).strip()
    for match in (
        lambda k: raw.headers[k] == s,
        lambda k: parsed[k][0] == s,
        lambda k: raw.headers[k].lower() == s.lower(),
        lambda k: parsed[k][0].lower() == s.lower(),
    ):
        hits = [k for k in range(n) if match(k)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            _ambiguous(raw, s, canon, hits, parsed)
    raise _missing(raw, canon, spec, parsed)


def _ambiguous(raw: _Raw, name: str, canon: str | None, hits: list[int], parsed):
    canon = canon or name
    units = {parsed[k][1] for k in hits}
    cols = ", ".join(f"{raw.headers[k]!r} (column {k + 1})" for k in hits)
    where = f"{raw.path}" + (f", line {raw.header_line}" if raw.header_line else "")
    if len(units) > 1:
        raise MeasurementError(
            f"{where}: mixed units: {len(hits)} columns named {name!r} in different units: {cols}; map {canon!r} "
            f"to one header exactly, e.g. columns={{{canon!r}: {raw.headers[hits[0]]!r}}}"
        )
    raise MeasurementError(
        f"{where}: duplicated column {name!r}: {cols}; rename one in the file or map {canon!r} by position, "
        f"e.g. columns={{{canon!r}: {hits[0]}}}"
    )


def _missing(raw: _Raw, canon: str, spec, parsed) -> MeasurementError:
    where = f"{raw.path}" + (f", line {raw.header_line} (header)" if raw.header_line else "")
    names = raw.headers if raw.has_header else [f"position {k}" for k in range(len(raw.headers))]
    wanted = spec if spec is not None else " / ".join(ALIASES.get(canon, (canon,)))
    msg = f"{where}: missing column {wanted!r} for {canon!r}"
    q = QUANTITY_OF_COLUMN.get(canon)
    if q:
        msg += f" ({q} [{SI_UNITS[q]}])"
    msg += f"; the file has columns {names}"
    if spec is not None and raw.has_header:
        close = difflib.get_close_matches(str(spec), raw.headers + [p[0] for p in parsed], n=1, cutoff=0.5)
        if close:
            msg += f"; did you mean {close[0]!r}?"
    if len(raw.headers) == 1 and raw.has_header:
        hint = _delimiter_hint(raw.headers[0], raw.delimiter)
        msg += hint or " (the file was read as a single column: check the delimiter)"
    if spec is None:
        msg += f"; map it with columns={{{canon!r}: '<header>'}}"
        if canon == "t":
            msg += " or give the sample spacing dt= [s] if the file has no time column"
    return MeasurementError(msg)


def _unit_for(raw: _Raw, col: _Col, parsed, units_arg: Mapping, file_units: Mapping) -> None:
    name, hunit = parsed[col.index]
    header = raw.headers[col.index]
    strong = hunit is not None and split_header(header, strong_only=True)[1] is not None
    q = QUANTITY_OF_COLUMN.get(col.canon)
    where = f"{raw.path}, column {header!r} ({col.canon})"
    header_unit = None
    if hunit is not None:
        u = None
        try:
            u = parse_unit(hunit, where=where)
        except MeasurementError:
            if strong:
                raise
        if u is not None and q is not None and u.quantity != q:
            if strong:
                raise MeasurementError(
                    f"{where}: the header unit {hunit!r} is a {u.quantity} unit, but {col.canon!r} is a {q} "
                    f"[{SI_UNITS[q]}]; map {col.canon!r} to the right column or pass units={{{col.canon!r}: ...}}"
                )
            u = None  # a weak suffix such as "V_s" that is not a unit here
        header_unit = u
    explicit = units_arg.get(col.canon, units_arg.get(header))
    if explicit is not None:
        u = parse_unit(explicit, where=where)
        if q is not None and u.quantity != q:
            raise MeasurementError(
                f"{where}: units={{{col.canon!r}: {explicit!r}}} is a {u.quantity} unit, but {col.canon!r} is a "
                f"{q} [{SI_UNITS[q]}]"
            )
        if header_unit is not None and (header_unit.factor != u.factor or header_unit.offset != u.offset):
            raise MeasurementError(
                f"{where}: mixed units: the header says {header_unit.text!r} but units= says {explicit!r}; "
                "remove one of them"
            )
        col.unit, col.unit_from = u, "units="
    elif header_unit is not None:
        col.unit, col.unit_from = header_unit, "header"
    elif col.canon in file_units and file_units[col.canon] not in ("", None):
        try:
            col.unit, col.unit_from = parse_unit(file_units[col.canon], where=where), "file metadata"
        except MeasurementError:
            col.unit = None
    elif q is not None:
        col.unit, col.unit_from = parse_unit(SI_UNITS[q]), "assumed"


def _to_numbers(raw: _Raw, k: int, col_label: str, canon: str, unit: Unit | None, decimal: str,
                allow_missing: bool) -> np.ndarray:
    cells = [r[k] for r in raw.rows]
    s = pd.Series(cells, dtype=object)
    if decimal != ".":
        s = s.str.replace(decimal, ".", regex=False)
    vals = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(vals)
    if not bad.any():
        return vals
    expected = _expected(canon, unit)
    problems = []
    for j in np.nonzero(bad)[0]:
        cat, why = _cell_problem(cells[j], decimal, expected)
        if cat == "missing" and allow_missing:
            continue
        problems.append((int(j), cat, why))
        if len(problems) > 50:
            break
    if not problems:
        return vals
    j, cat, why = problems[0]
    if raw.partial is not None and j == raw.partial:
        raise _PartialLine(j)
    if j == len(raw.rows) - 1 and cat in ("missing", "text") and len(problems) == 1:
        # only the last line is bad: most likely cut off while being written
        raw.partial = j
        bad = cells[j].strip()
        raw.partial_why = (f"has an empty cell in column {col_label!r}" if cat == "missing" and not bad else
                           f"has {bad!r} (not a number) in column {col_label!r}")
        raise _PartialLine(j)
    where = f"{raw.path}, column {col_label!r}" + (f" ({canon})" if canon != col_label else "")
    where += f", data row {j + 1} (line {raw.lines[j]})"
    nbad = int(bad.sum())
    if cat == "text" and _looks_like_header(raw.rows[j]):
        hdr = ", ".join(raw.rows[j])
        msg = (f"{where}: the line looks like another header ({hdr!r}): two tables concatenated? Split the file; "
               f"if its units differ from the header on line {raw.header_line}, the file mixes units")
        raise MeasurementError(msg)
    if cat == "unit":
        m = _NUMBER_UNIT.match(cells[j])
        inside = parse_unit(m.group(2))
        hdr = f"the column unit is {unit.text!r}" if unit is not None else "the header gives no unit"
        same = unit is not None and inside.factor == unit.factor and inside.quantity == unit.quantity
        why += f" and {hdr}" + ("" if same else ": mixed units")
        why += "; write plain numbers and put the unit in the header"
    more = f" ({nbad} bad value(s) in this column)" if nbad > 1 else ""
    raise MeasurementError(f"{where}: {why}{more}")


class _PartialLine(Exception):
    def __init__(self, row):
        self.row = row


def _looks_like_header(fields: list[str]) -> bool:
    texty = [f for f in fields if f and pd.isna(pd.to_numeric(f, errors="coerce"))]
    return len(texty) == len(fields) and len(fields) > 1


def _labels(raw: _Raw, k: int):
    cells = [r[k] for r in raw.rows]
    if cells and all(_INT.match(c) for c in cells):
        return np.array([int(c) for c in cells], dtype=np.int64)
    return np.array(cells, dtype=object)


def _auto_extra(raw: _Raw, k: int, decimal: str):
    """Numbers (int/float/bool) when every non-empty cell parses, else the strings."""
    cells = [r[k] for r in raw.rows]
    low = {c.lower() for c in cells}
    if low <= {"true", "false"}:
        return np.array([c.lower() == "true" for c in cells])
    if all(_INT.match(c) for c in cells):
        return np.array([int(c) for c in cells], dtype=np.int64)
    s = pd.Series(cells, dtype=object)
    if decimal != ".":
        s = s.str.replace(decimal, ".", regex=False)
    vals = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64)
    nonnum = np.isnan(vals) & ~np.isin(np.char.lower(np.array(cells, dtype=str)), list(_MISSING))
    if nonnum.any():
        return np.array(cells, dtype=object)
    return vals


def _build(raw: _Raw, *, columns, units, kind, meta, dt, t0, extra, allow_partial, allow_missing, max_current,
           decimal) -> Measurement:
    columns = dict(columns or {})
    units = dict(units or {})
    if extra not in ("keep", "drop"):
        raise MeasurementError(f"extra must be 'keep' or 'drop', got {extra!r}")
    if raw.partial is not None and not raw.partial_soft:
        _drop_partial(raw, allow_partial)
    file_units = raw.meta.get("units") if isinstance(raw.meta.get("units"), dict) else {}
    meta_kind = kind if kind is not None else raw.meta.get("kind")
    cls = measurement_class(kind) if kind is not None else _class_for_meta_kind(meta_kind)
    parsed = [split_header(h) if raw.has_header else (h, None) for h in raw.headers]
    # duplicated headers are ambiguous even when not mapped
    if raw.has_header:
        seen: dict[str, int] = {}
        for k, h in enumerate(raw.headers):
            if h in seen and h:
                _ambiguous(raw, h, None, [seen[h], k], parsed)
            seen[h] = k
    # resolve mapped and standard columns
    cols: dict[str, _Col] = {}
    for canon, spec in columns.items():
        if spec is None:
            continue
        k = _resolve(raw, spec, canon, parsed)
        cols[canon] = _Col(canon, k, raw.headers[k])
    used = {c.index: c.canon for c in cols.values()}
    for k, c in list(used.items()):
        others = [o for o in cols.values() if o.index == k and o.canon != c]
        if others:
            raise MeasurementError(
                f"{raw.path}: column {raw.headers[k]!r} is mapped to both {c!r} and {others[0].canon!r}"
            )
    # a PulseTrain derives 'pulse' from 'role' when the file has none (simulations written to CSV)
    want = [c for c in cls.required if not (c == "pulse" and cls.kind == "pulse")]
    for canon in list(dict.fromkeys(want + list(COLUMNS))):
        if canon in cols or not raw.has_header:
            continue
        if canon in ALIASES:
            names = ALIASES[canon]
            hits = [k for k in range(len(raw.headers)) if k not in used and
                    (raw.headers[k].lower() in names or parsed[k][0].lower() in names)]
        else:
            hits = [k for k in range(len(raw.headers)) if k not in used and
                    (raw.headers[k] == canon or parsed[k][0] == canon)]
        if len(hits) > 1:
            _ambiguous(raw, parsed[hits[0]][0], canon, hits, parsed)
        if len(hits) == 1:
            cols[canon] = _Col(canon, hits[0], raw.headers[hits[0]])
            used[hits[0]] = canon
    synthetic_t = None
    if "t" in want and "t" not in cols:
        if dt is None:
            raise _missing(raw, "t", columns.get("t"), parsed)
    if dt is not None:
        if "t" in cols:
            raise MeasurementError(
                f"{raw.path}: dt={dt!r} given but the file has a time column {cols['t'].header!r}; drop dt"
            )
        if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
            raise MeasurementError(f"dt must be a sample spacing > 0 s, got {dt!r}")
        synthetic_t = f"t = {t0:g} s + row index x {dt:g} s (the file has no time column)"
    known = set(cols) | set(raw.headers) | {p[0] for p in parsed}
    stray = [k for k in units if k not in known]
    if stray:
        raise MeasurementError(
            f"{raw.path}: units given for {stray}, which name no column; use the standard names "
            f"({', '.join(cols) or 'none mapped'}) or the file's headers {raw.headers}"
        )
    for canon in want:
        if canon == "g_read" and {"v", "i"} <= set(cols):
            continue  # Retention computes g_read = i / v
        if canon != "t" and canon not in cols:
            raise _missing(raw, canon, columns.get(canon), parsed)
    # units and values
    data: dict[str, np.ndarray] = {}
    out_units: dict[str, str] = {}
    assumed = []
    try:
        if synthetic_t is not None:
            data["t"] = t0 + dt * np.arange(len(raw.rows), dtype=np.float64)
            out_units["t"] = "s"
        for canon, col in cols.items():
            if canon in _LABEL_COLUMNS:
                data[canon] = _labels(raw, col.index)
                out_units[canon] = ""
                continue
            if canon in _BOOL_COLUMNS:
                data[canon] = _auto_extra(raw, col.index, decimal)
                out_units[canon] = COLUMNS[canon][0]
                continue
            _unit_for(raw, col, parsed, units, file_units)
            vals = _to_numbers(raw, col.index, col.header, canon, col.unit, decimal, allow_missing)
            if canon in _INTEGER_COLUMNS:
                if np.all(vals == np.round(vals)):
                    vals = vals.astype(np.int64)
                data[canon] = vals
                out_units[canon] = COLUMNS.get(canon, ("1", ""))[0]
                continue
            if col.unit is not None:
                vals = col.unit.to_si(vals)
                out_units[canon] = col.unit.si
                if col.unit_from == "assumed":
                    assumed.append(f"{canon} [{col.unit.si}] from {col.header!r}")
            else:
                out_units[canon] = COLUMNS.get(canon, ("", ""))[0]
            data[canon] = vals
    except _PartialLine:
        _drop_partial(raw, allow_partial)
        return _build(raw, columns=columns, units=units, kind=kind, meta=meta, dt=dt, t0=t0, extra=extra,
                      allow_partial=allow_partial, allow_missing=allow_missing, max_current=max_current,
                      decimal=decimal)
    _check_mixed(raw, cols)
    if "i" in cols and max_current is not None:
        _check_current(raw, cols["i"], data["i"], max_current)
    # columns in file order (a synthetic time axis first), so that files round-trip unchanged
    order = sorted(data, key=lambda c: cols[c].index if c in cols else -1)
    frame = pd.DataFrame({c: data[c] for c in order})
    if extra == "keep":
        taken = set(frame.columns)
        for k, h in enumerate(raw.headers):
            if k in used:
                continue
            name, hunit = parsed[k]
            vals = _auto_extra(raw, k, decimal)
            numeric = vals.dtype.kind in "fi"
            unit = None
            if hunit is not None and numeric:
                try:
                    unit = parse_unit(hunit)
                except MeasurementError:
                    unit = None
            explicit = units.get(h, units.get(name))
            if explicit is not None and numeric:
                unit = parse_unit(explicit, where=f"{raw.path}, column {h!r}")
            label = name if unit is not None and name not in taken else h
            if label in taken:
                label = h if h not in taken else f"{h}_{k}"
            if unit is not None:
                vals = unit.to_si(vals)
                out_units[label] = unit.si
            else:
                out_units[label] = str(file_units.get(label, ""))
            frame[label] = vals
            taken.add(label)
    full_meta: dict[str, Any] = dict(raw.meta)
    full_meta.update(meta or {})
    full_meta["source_file"] = raw.path
    if synthetic_t is not None:
        full_meta["synthetic_time"] = synthetic_t
    if assumed:
        full_meta["units_assumed"] = assumed
    full_meta["units"] = out_units
    if cls is Measurement and meta_kind is not None:
        full_meta["kind"] = meta_kind
    return cls(frame, full_meta, source=raw.path, lines=raw.lines)


def _drop_partial(raw: _Raw, allow_partial: bool) -> None:
    k = raw.partial
    no = int(raw.lines[k])
    why = raw.partial_why or "is incomplete"
    if not allow_partial:
        raise MeasurementError(
            f"{raw.path}, line {no} (data row {k + 1}): the last line {why} and looks truncated "
            f"({', '.join(raw.rows[k])!r}); complete or delete it, or pass allow_partial=True to drop it"
        )
    warnings.warn(f"{raw.path}: dropped the truncated last line {no} (data row {k + 1}, {why})",
                  MeasurementWarning, stacklevel=4)
    del raw.rows[k]
    raw.lines = np.delete(raw.lines, k)
    raw.partial = None
    if not raw.rows:
        raise MeasurementError(f"{raw.path}: no data rows left after dropping the truncated line {no}")


def _check_mixed(raw: _Raw, cols: dict[str, _Col]) -> None:
    """Two mapped columns of one quantity whose header units differ (not confirmed by ``units=``)."""
    by_q: dict[str, list[_Col]] = {}
    for c in cols.values():
        if c.unit is not None and c.unit_from == "header":
            by_q.setdefault(c.unit.quantity, []).append(c)
    for q, cs in by_q.items():
        facs = {(c.unit.factor, c.unit.offset) for c in cs}
        if len(facs) > 1:
            desc = ", ".join(f"{c.header!r} -> {c.canon} in {c.unit.text}" for c in cs)
            conf = ", ".join(f"{c.canon!r}: {c.unit.text!r}" for c in cs)
            raise MeasurementError(
                f"{raw.path}: mixed units: {q} columns in different units ({desc}); if that is intended, confirm "
                f"with units={{{conf}}}"
            )


def _check_current(raw: _Raw, col: _Col, i_si: np.ndarray, max_current: float) -> None:
    if col.unit is None or col.unit.factor != 1.0:
        return
    a = np.abs(i_si)
    k = int(np.argmax(a))
    peak = float(a[k])
    if peak <= max_current:
        return
    guesses = []
    for name, f in (("mA", 1e-3), ("µA", 1e-6), ("nA", 1e-9), ("pA", 1e-12)):
        if peak * f <= max_current:
            guesses.append(f"{name} (peak {peak * f:.3g} A)")
        if len(guesses) == 2:
            break
    said = {"header": "the header says A", "units=": "units= says A", "file metadata": "the file metadata says A",
            "assumed": "no unit is given, so A was assumed"}[col.unit_from]
    raise MeasurementError(
        f"{raw.path}, column {col.header!r} (i), data row {k + 1} (line {raw.lines[k]}): |I| = {peak:.6g} A, but "
        f"{said} and a memristive device carries less than {max_current:g} A; the values look like "
        + " or ".join(guesses)
        + f". Pass units={{'i': '{guesses[0].split()[0] if guesses else 'mA'}'}}, or max_current=None if the "
        "values really are in A"
    )


# ---------------------------------------------------------------------------
# public readers
# ---------------------------------------------------------------------------
def read_table(
    path,
    columns: Mapping[str, str | int] | None = None,
    units: Mapping[str, str] | None = None,
    kind: str | type | None = None,
    delimiter: str | None = None,
    *,
    header: bool = True,
    skip_rows: int = 0,
    comment: str | None = "#",
    decimal: str = ".",
    meta: Mapping[str, Any] | None = None,
    dt: float | None = None,
    t0: float = 0.0,
    extra: str = "keep",
    allow_partial: bool = False,
    allow_missing: bool = False,
    max_current: float | None = 1.0,
    encoding: str | None = None,
) -> Measurement:
    """Read a delimited text table into a Measurement in SI units.

    Parameters
    ----------
    path : str or Path
        The file.
    columns : dict, optional
        Standard column -> file column: the header text (``"Current (mA)"``),
        the header without its unit (``"Current"``), or a 0-based position
        (files without header).  Standard columns not given are looked up by
        name (``t``/``time``, ``v``/``voltage``, ``i``/``current``, ...).
    units : dict, optional
        Standard column (or file header) -> unit of the values in the file
        (``{"i": "mA"}``).  Overrides nothing silently: a header that names a
        different unit is an error.  Without either, SI is assumed and
        listed in ``meta["units_assumed"]``.
    kind : str or Measurement subclass, optional
        ``"iv"`` (:class:`IVSweep`), ``"pulse"`` (:class:`PulseTrain`),
        ``"retention"`` (:class:`Retention`), ``"measurement"``; default: the
        file's ``# kind:`` metadata line, else a generic Measurement.
    delimiter : str, optional
        ``","``, ``";"``, ``"\\t"``, ``"|"`` or ``"whitespace"``; detected when
        omitted.  A header that reads as one column but contains another
        delimiter is reported with the delimiter to use.
    header : bool
        The first non-comment line is a header (default); ``False`` for
        files that start with data (map columns by position).
    skip_rows : int
        Lines to skip before anything else (instrument preambles).
    comment : str or None
        Lines starting with it are comments; ``# key: value`` lines before
        the data become metadata (values parsed as JSON when possible).
    decimal : str
        Decimal separator (``","`` for many European exports).
    meta : dict, optional
        Metadata to add (device, area [m^2], temperature [K], compliance [A],
        series_resistance [Ohm], source_mode, ...).
    dt, t0 : float, optional
        Sample spacing and start [s] to build ``t`` for files without time.
    extra : {"keep", "drop"}
        Keep the unmapped columns (converted to SI and renamed without their
        unit when the header gives one) or drop them.
    allow_partial : bool
        Drop a truncated last line with a :class:`MeasurementWarning`
        instead of raising.
    allow_missing : bool
        Let empty cells in mapped columns become NaN (ragged tables); the
        Measurement type may still reject NaN in its own columns.
    max_current : float or None
        A current column in A whose magnitude exceeds this [A] is reported as
        probably being in mA/µA (default 1 A).  ``None`` disables the check.
    encoding : str, optional
        Text encoding; default UTF-8 (with or without BOM), else cp1252.

    Returns
    -------
    Measurement
        Of the requested kind, ``meta["source_file"]`` set, ``meta["units"]``
        in SI.

    Raises
    ------
    MeasurementError
        With file, column, data row and line, value and expectation.

    Examples
    --------
    >>> m = read_table("sweep.csv", columns={"t": "Time", "v": "V1", "i": "I1"},
    ...                units={"i": "mA"}, kind="iv")          # doctest: +SKIP
    """
    path = Path(path)
    text = _read_text(path, encoding)
    raw = _scan(path, text, delimiter=delimiter, header=header, skip_rows=int(skip_rows), comment=comment,
                allow_missing=allow_missing)
    if raw.partial is not None and raw.partial_soft:
        raw.partial_why = "does not end with a newline and its last value is not a number"
    return _build(raw, columns=columns, units=units, kind=kind, meta=meta, dt=dt, t0=t0, extra=extra,
                  allow_partial=allow_partial, allow_missing=allow_missing, max_current=max_current, decimal=decimal)


def read_csv(path, kind: str | type | None = None, **kwargs) -> Measurement:
    """Read a CSV file: memfit's own (``Record.to_csv``, :func:`write_csv`) or any table.

    The ``# key: json`` lines before the table become the metadata; the
    measurement type comes from ``kind`` or the file's ``kind`` line.  Other
    keyword arguments are those of :func:`read_table`.
    """
    kwargs.setdefault("delimiter", ",")
    return read_table(path, kind=kind, **kwargs)


def write_csv(measurement, path) -> Path:
    """Write a Measurement (or Simulation) as CSV with ``# key: json`` metadata lines; returns the path.

    The inverse of :func:`read_csv`.
    """
    _check_record(measurement)
    return measurement.to_csv(path)


def read_easyexpert(path, columns: Mapping[str, str | int] | None = None, units: Mapping[str, str] | None = None,
                    kind: str | type | None = None, *, block: int = 0, encoding: str | None = None,
                    **kwargs) -> Measurement:
    """Read a Keysight EasyEXPERT (B1500A/B2900) CSV export.

    ``DataName`` gives the headers (e.g. ``I3, V3, R``), ``DataValue`` lines
    the rows, ``TestParameter`` lines are kept in ``meta["instrument"]``.
    EasyEXPERT writes SI units.  ``block`` picks one of several data blocks.
    Other arguments are those of :func:`read_table`.
    """
    path = Path(path)
    text = _read_text(path, encoding)
    raw = _parse_easyexpert(path, text, block)
    opts = dict(meta=None, dt=None, t0=0.0, extra="keep", allow_partial=False, allow_missing=False,
                max_current=1.0, decimal=".")
    unknown = set(kwargs) - set(opts)
    if unknown:
        raise TypeError(f"read_easyexpert() got unexpected keyword argument(s) {sorted(unknown)}")
    opts.update(kwargs)
    return _build(raw, columns=columns, units=units, kind=kind, **opts)


# ---------------------------------------------------------------------------
# Parquet
# ---------------------------------------------------------------------------
_PARQUET_KEY = b"memfit"


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet as pq
    except ImportError:
        raise MeasurementError(
            "reading and writing Parquet needs the optional dependency pyarrow: pip install memfit[parquet]"
        ) from None
    return pyarrow, pq


def _check_record(obj):
    from memfit.data.record import Record

    if not isinstance(obj, Record):
        raise MeasurementError(f"expected a Measurement or Simulation, got {type(obj).__name__}")


def write_parquet(measurement, path) -> Path:
    """Write a Measurement (or Simulation) to Parquet; the metadata goes into the file's key-value metadata.

    Needs pyarrow (``pip install memfit[parquet]``).  Returns the path.
    """
    _check_record(measurement)
    pa, pq = _pyarrow()
    from memfit.data.record import _jsonable

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(measurement.frame, preserve_index=False)
    meta = dict(measurement.meta)
    meta.setdefault("kind", getattr(measurement, "kind", "measurement"))
    md = dict(table.schema.metadata or {})
    md[_PARQUET_KEY] = json.dumps({"format": 1, "meta": meta}, default=_jsonable).encode()
    pq.write_table(table.replace_schema_metadata(md), path)
    return path


def read_parquet(path, kind: str | type | None = None, columns: Mapping[str, str] | None = None,
                 units: Mapping[str, str] | None = None, meta: Mapping[str, Any] | None = None) -> Measurement:
    """Read a Parquet file written by :func:`write_parquet` (or any Parquet table).

    For foreign files, ``columns`` renames file columns to standard ones
    (``{"i": "I1"}``) and ``units`` converts them to SI (``{"i": "mA"}``).
    Needs pyarrow (``pip install memfit[parquet]``).
    """
    pa, pq = _pyarrow()
    path = Path(path)
    if not path.exists():
        raise MeasurementError(f"{path}: no such file")
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise MeasurementError(f"{path}: not a readable Parquet file ({exc})") from None
    md = table.schema.metadata or {}
    stored: dict[str, Any] = {}
    if _PARQUET_KEY in md:
        try:
            stored = json.loads(md[_PARQUET_KEY]).get("meta", {})
        except ValueError as exc:
            raise MeasurementError(f"{path}: corrupt memfit metadata ({exc})") from None
    frame = table.to_pandas()
    if len(frame) == 0:
        raise MeasurementError(f"{path}: the file has no data rows")
    if columns:
        missing = [c for c in columns.values() if c not in frame.columns]
        if missing:
            raise MeasurementError(f"{path}: missing column(s) {missing}; the file has {list(frame.columns)}")
        frame = frame.rename(columns={v: k for k, v in columns.items()})
    out_units = dict(stored.get("units") or {})
    for col, u in (units or {}).items():
        if col not in frame.columns:
            raise MeasurementError(f"{path}: units given for {col!r}, which is not a column")
        unit = parse_unit(u, where=f"{path}, column {col!r}")
        frame[col] = unit.to_si(frame[col].to_numpy(dtype=np.float64))
        out_units[col] = unit.si
    full = dict(stored)
    full.update(meta or {})
    full["units"] = out_units
    full.setdefault("source_file", str(path))
    cls = measurement_class(kind) if kind is not None else _class_for_meta_kind(full.get("kind"))
    if kind is not None and cls is not Measurement:
        full["kind"] = cls.kind
    return cls(frame, full, source=str(path))


# ---------------------------------------------------------------------------
# by suffix
# ---------------------------------------------------------------------------
def read(path, **kwargs) -> Measurement:
    """Read a measurement file, choosing the reader by suffix / content.

    ``.parquet``/``.pq`` -> :func:`read_parquet`; a Keysight EasyEXPERT export
    -> :func:`read_easyexpert`; anything else -> :func:`read_table`.
    """
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        return read_parquet(path, **kwargs)
    try:
        with path.open("rb") as fh:
            start = fh.read(4096).decode("utf-8", "ignore").lstrip("\ufeff \r\n")
    except FileNotFoundError:
        raise MeasurementError(f"{path}: no such file") from None
    if start.startswith(("SetupTitle", "PrimitiveTest", "TestParameter")):
        return read_easyexpert(path, **kwargs)
    return read_table(path, **kwargs)


def write(measurement, path) -> Path:
    """Write by suffix: ``.parquet``/``.pq`` -> Parquet, anything else -> CSV with metadata lines."""
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        return write_parquet(measurement, path)
    return write_csv(measurement, path)
