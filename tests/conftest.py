"""Suite-wide options.

``--resource VISA_RESOURCE`` (optionally ``--driver NAME``) opts in to the tests against a real
source-measure unit (tests/instruments/test_hardware.py); without it they are skipped.  The
same can be given as the environment variables ``MEMFIT_SMU_RESOURCE`` / ``MEMFIT_SMU_DRIVER``.
"""

from __future__ import annotations

import os


def pytest_addoption(parser):
    parser.addoption("--resource", default=None, metavar="VISA_RESOURCE",
                     help="run the hardware tests against this SMU, e.g. TCPIP::192.168.0.5::5025::SOCKET")
    parser.addoption("--driver", default=None, metavar="NAME",
                     help="driver for --resource (default: chosen from *IDN?)")


def pytest_configure(config):
    if config.getoption("--resource"):
        os.environ["MEMFIT_SMU_RESOURCE"] = config.getoption("--resource")
    if config.getoption("--driver"):
        os.environ["MEMFIT_SMU_DRIVER"] = config.getoption("--driver")
