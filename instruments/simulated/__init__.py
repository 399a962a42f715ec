"""A simulated SMU: a TCP server speaking Keithley 2450 SCPI, backed by a memfit DeviceModel.

>>> from instruments.simulated import SimulatedSMU            # doctest: +SKIP
>>> with SimulatedSMU("nbox") as sim:                          # doctest: +SKIP
...     smu = Keithley2450(sim.resource)
"""

from instruments.simulated.device import MeasurementModel, SimulatedDevice
from instruments.simulated.server import Keithley2450Emulator, SimulatedSMU

__all__ = ["SimulatedSMU", "SimulatedDevice", "MeasurementModel", "Keithley2450Emulator"]
