"""Data records: pandas frames with SI columns plus a metadata dict.

:class:`Record` is the common base of measured data (the Measurement types
below) and simulated data (:class:`memfit.simulate.Simulation`), so that one
can stand in for the other downstream.

* Measurement types: :class:`Measurement` (generic), :class:`IVSweep`,
  :class:`PulseTrain`, :class:`Retention`; :func:`as_measurement` turns a
  simulation into one, :func:`to_stimulus` / :func:`test_circuit` turn a
  measurement back into what was applied.
* Readers and writers: :func:`read_table` (any delimited table, units parsed
  from headers), :func:`read_csv` / :func:`write_csv`, :func:`read_parquet` /
  :func:`write_parquet` (needs ``pip install memfit[parquet]``),
  :func:`read_easyexpert` (Keysight B1500 exports), :func:`read` / :func:`write`.
* Units: :func:`parse_unit`, :func:`to_si`, :func:`split_header`.
* The shared real-data sets: :mod:`memfit.data.shared_datasets`.
"""

from memfit.data.io import (
    read,
    read_csv,
    read_easyexpert,
    read_parquet,
    read_table,
    write,
    write_csv,
    write_parquet,
)
from memfit.data.measurement import (
    COLUMNS,
    KINDS,
    META_KEYS,
    IVSweep,
    Measurement,
    MeasurementWarning,
    PulseTrain,
    Retention,
    as_measurement,
    concat,
    measurement_class,
    test_circuit,
    to_stimulus,
)
from memfit.data.record import COLUMN_UNITS, Record
from memfit.data.units import Unit, convert, parse_unit, split_header, to_si

__all__ = [
    "Record",
    "COLUMN_UNITS",
    "Measurement",
    "IVSweep",
    "PulseTrain",
    "Retention",
    "MeasurementWarning",
    "COLUMNS",
    "META_KEYS",
    "KINDS",
    "measurement_class",
    "as_measurement",
    "concat",
    "to_stimulus",
    "test_circuit",
    "read",
    "write",
    "read_table",
    "read_csv",
    "write_csv",
    "read_parquet",
    "write_parquet",
    "read_easyexpert",
    "Unit",
    "parse_unit",
    "to_si",
    "convert",
    "split_header",
]
