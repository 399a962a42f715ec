"""memfit's lab side: SMU drivers, characterization routines and a simulated SMU.

Subpackages
-----------
:mod:`instruments.drivers`
    pyvisa drivers for the Keithley 2450 (SCPI), Keithley 2600B (TSP) and
    Keysight B2900 (SCPI): classes of declared properties with strict
    validators and per-instrument capability limits, and a registry
    (:data:`instruments.drivers.DRIVERS`).
:mod:`instruments.routines`
    Vendor-neutral characterization routines written against the small
    :class:`~instruments.routines.smu.SMU` interface: ``iv_sweep``,
    ``pulse_train``, ``write_verify``, ``multilevel``, ``retention``,
    ``forming``, ``endurance``.  User :class:`~instruments.routines.Limits`
    are checked before anything is sent; every point is streamed to disk.
:mod:`instruments.simulated`
    A TCP server on 127.0.0.1 that speaks the Keithley 2450 SCPI subset the
    driver uses, backed by any registered memfit DeviceModel.

Nothing heavy is imported here: pyvisa is imported only when a driver opens a
resource.
"""

__all__ = ["drivers", "routines", "simulated"]
