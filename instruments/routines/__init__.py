"""Vendor-neutral characterization routines, the SMU interface, safety limits and streaming to disk.

Every routine takes an :class:`~instruments.routines.smu.SMU` (any driver
of :mod:`instruments.drivers`), checks the user's :class:`Limits` and its
own arguments *before* sending anything, streams every point to
``<out>/<name>.csv`` (plus a ``.json`` sidecar) as it is measured, leaves the
source at 0 V with the output off at the end and on any fault (including
Ctrl-C), and returns a memfit Measurement whose metadata holds the
instrument snapshot and the routine parameters.
"""

from instruments.routines.endurance import endurance
from instruments.routines.forming import forming
from instruments.routines.iv_sweep import iv_sweep
from instruments.routines.limits import Limits
from instruments.routines.multilevel import linear_levels, multilevel
from instruments.routines.pulse_train import pulse_train, ramp_amplitudes
from instruments.routines.retention import retention
from instruments.routines.smu import SMU, Reading
from instruments.routines.write_verify import write_verify
from instruments.routines.writer import StreamWriter, load

__all__ = [
    "SMU",
    "Reading",
    "Limits",
    "StreamWriter",
    "load",
    "iv_sweep",
    "pulse_train",
    "ramp_amplitudes",
    "write_verify",
    "multilevel",
    "linear_levels",
    "retention",
    "forming",
    "endurance",
]
