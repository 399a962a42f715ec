"""Fixtures of the instruments tests: a simulated SMU on a free port, and the opt-in hardware resource.

Hardware tests run only when the environment variable ``MEMFIT_SMU_RESOURCE``
names a VISA resource (e.g. ``TCPIP::192.168.0.5::5025::SOCKET``) and
``MEMFIT_SMU_DRIVER`` optionally the driver; otherwise they are skipped.
"""

from __future__ import annotations

import os

import pytest

pytest.importorskip("pyvisa")
pytest.importorskip("pyvisa_py")


@pytest.fixture
def sim():
    """A simulated 2450 backed by the NbOx model (default parameters), on a free port."""
    from instruments.simulated import SimulatedSMU

    with SimulatedSMU("nbox", seed=0) as s:
        yield s


@pytest.fixture
def smu(sim):
    """The Keithley 2450 driver connected to :func:`sim` through real pyvisa (pyvisa-py) I/O."""
    from instruments.drivers import Keithley2450

    inst = Keithley2450(sim.resource, timeout=5.0)
    yield inst
    inst.close()


@pytest.fixture
def hardware_resource():
    """The VISA resource of a real SMU (``MEMFIT_SMU_RESOURCE``), or skip."""
    res = os.environ.get("MEMFIT_SMU_RESOURCE")
    if not res:
        pytest.skip("hardware test: set MEMFIT_SMU_RESOURCE (and optionally MEMFIT_SMU_DRIVER) to run it")
    return res, os.environ.get("MEMFIT_SMU_DRIVER")
