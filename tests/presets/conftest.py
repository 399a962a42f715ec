"""Shared fixtures of the preset tests: a soft-switching VTEAM device whose pulse response has a closed form."""

import copy

import numpy as np
import pytest

#: VTEAM with linear rates (alpha = 1) and slow rate constants: one 1 ms pulse at -0.4 V moves x by
#: k_on (0.4/0.2 - 1) 1e-3 = -0.02 (towards ON, higher G), at +0.4 V by k_off (0.4/0.2 - 1) 1e-3 = +0.01.
VTEAM = {"R_on": 1e3, "R_off": 1e4, "k_off": 10.0, "k_on": -20.0, "v_off": 0.2, "v_on": -0.2,
         "alpha_off": 1.0, "alpha_on": 1.0}
PULSES = {"up": {"amplitude": -0.4, "width": 1e-3, "n": 60}, "down": {"amplitude": 0.4, "width": 1e-3, "n": 110}}
READ_V = 0.05


def vteam_g(x):
    """Read conductance [S] of the VTEAM test device at state x (linear port)."""
    return 1.0 / (VTEAM["R_on"] + (VTEAM["R_off"] - VTEAM["R_on"]) * np.clip(x, 0, 1))


def vteam_x(g):
    return (1.0 / g - VTEAM["R_on"]) / (VTEAM["R_off"] - VTEAM["R_on"])


@pytest.fixture(scope="session")
def vteam_preset():
    """A preset derived from the VTEAM test device (c2c on k_on, d2d on R_off), small and fast."""
    from memfit.presets import derive_preset

    return derive_preset("vteam", VTEAM, name="vteam-test", pulses=PULSES, read_v=READ_V, x0={"x": 1.0}, rise=0.0,
                         c2c={"k_on": 0.1, "k_off": 0.1}, d2d={"R_off": 0.1}, n_devices=16, n_c2c=40, n_grid=24,
                         read_noise=0.01, seed=3,
                         write_verify={"tolerance": 0.05, "max_pulses": 40, "v_start": -0.25, "v_step": 0.02,
                                       "v_max": -0.5, "v_start_down": 0.25, "v_max_down": 0.5, "width": 1e-3,
                                       "n_devices": 8})


@pytest.fixture()
def doc():
    """A valid preset document to break (the built-in NbOx preset)."""
    from memfit.presets import load_preset

    return copy.deepcopy(load_preset("nbox").to_dict())
