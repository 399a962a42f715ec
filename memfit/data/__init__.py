"""Data records: pandas frames with SI columns plus a metadata dict.

:class:`Record` is the common base of measured data (``memfit.data`` readers,
added by the data layer) and simulated data (:class:`memfit.simulate.Simulation`),
so that one can stand in for the other downstream.
"""

from memfit.data.record import COLUMN_UNITS, Record

__all__ = ["Record", "COLUMN_UNITS"]
