"""Opt-in tests on a real SMU: set MEMFIT_SMU_RESOURCE (and optionally MEMFIT_SMU_DRIVER); skipped otherwise.

They only source small, safe levels: +-0.1 V with a 10 uA compliance.
"""

from __future__ import annotations

import pytest


def test_identify_configure_read_and_switch_off(hardware_resource):
    from instruments.drivers import open_smu

    resource, driver = hardware_resource
    smu = open_smu(resource, driver)
    try:
        smu.configure(1e-5, nplc=1.0)
        smu.output(True)
        r = smu.read(0.1)
        assert abs(r.v - 0.1) < 1e-3 and abs(r.i) <= 1.05e-5
    finally:
        assert smu.zero_and_off() == []
        smu.close()


def test_short_sweep(hardware_resource):
    from instruments.drivers import open_smu

    resource, driver = hardware_resource
    smu = open_smu(resource, driver)
    try:
        smu.configure(1e-5, nplc=1.0)
        smu.output(True)
        rs = smu.sweep([0.0, 0.05, 0.1, 0.05, 0.0], 0.1)
        assert len(rs) == 5 and all(b.t > a.t for a, b in zip(rs, rs[1:]))
    finally:
        smu.zero_and_off()
        smu.close()
