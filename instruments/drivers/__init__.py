"""SMU drivers over pyvisa, a registry, and :func:`open_smu`.

=====================  ======================================  =====================
registry name          class                                   command language
=====================  ======================================  =====================
``keithley2450``       :class:`~.keithley2450.Keithley2450`    SCPI
``keithley2600b``      :class:`~.keithley2600b.Keithley2600B`  TSP (Lua)
``keysight_b2900``     :class:`~.keysight_b2900.KeysightB2900` SCPI
=====================  ======================================  =====================

Importing this package does not import pyvisa; opening a resource string does.
"""

from instruments.drivers.base import (
    DRIVERS,
    Capabilities,
    Instrument,
    Property,
    get_driver,
    open_resource,
    register_driver,
)
from instruments.drivers.keithley2450 import Keithley2450
from instruments.drivers.keithley2600b import Keithley2600B
from instruments.drivers.keysight_b2900 import KeysightB2900

__all__ = [
    "DRIVERS",
    "Capabilities",
    "Instrument",
    "Property",
    "get_driver",
    "open_resource",
    "register_driver",
    "open_smu",
    "Keithley2450",
    "Keithley2600B",
    "KeysightB2900",
]


def open_smu(resource, driver: str | None = None, *, timeout: float = 10.0):
    """Open an SMU by resource string and driver name, or identify it by ``*IDN?``.

    Parameters
    ----------
    resource : str or pyvisa-like object
        VISA resource (``"TCPIP::127.0.0.1::5025::SOCKET"``).
    driver : str, optional
        Registry name or alias (``"keithley2450"``, ``"2600b"``, ``"b2900"``);
        default: identified from the ``*IDN?`` answer.
    timeout : float
        I/O timeout [s].

    Raises
    ------
    InstrumentError
        The resource cannot be opened or the instrument is not recognised.
    """
    from memfit.errors import InstrumentError

    if driver is not None:
        return get_driver(driver)(resource, timeout=timeout)
    probe = Keithley2450(resource, timeout=timeout, name="instrument")
    idn = probe.query("*IDN?").upper()
    for cls in DRIVERS.values():
        if cls.idn_pattern.upper() in idn:
            inst = cls(probe._res, timeout=timeout)
            inst.resource_name = probe.resource_name
            return inst
    probe.close()
    raise InstrumentError(f"{resource}: unrecognised instrument {idn!r}; pass driver= one of {sorted(DRIVERS)}")
