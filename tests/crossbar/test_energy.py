"""Energy, noise and latency estimates (memfit.crossbar.energy) against hand calculations and the
FTJ thesis' published numbers (../shared/seeds/001_*.txt, sec. 2.3 eq. 2.5 and sec. 3.1.2)."""

import math

import numpy as np
import pytest

from memfit.crossbar import energy as en
from memfit.crossbar.device import CrossbarDevice
from memfit.errors import ParameterError


# ------------------------------------------------------------------ thesis numbers
def test_thesis_array_power_512x512_is_0p236_mW():
    # thesis: 512 x 512, 0.3 V read, 100 MOhm mean, 100 % usage -> 0.236 mW (eq. 2.5)
    p = en.thesis_array_power(512, 512, 0.3, 100e6, alpha=1.0)
    assert p == pytest.approx(0.236e-3, rel=2e-3)
    # the general array model gives the same for a uniform array read at 0.3 V on every row
    g = np.full((512, 512), 1 / 100e6)
    assert en.array_read_power(g, 0.3) == pytest.approx(262144 * 0.09 / 1e8, rel=1e-12)
    assert en.array_read_power(g, np.full(512, 0.3)) == pytest.approx(p, rel=1e-12)


def test_thesis_short_term_noise_3p83_percent():
    # thesis: 10 MHz, 100 MOhm, 300 K, 1.78 nA measured -> 3.83 % (eqs. 3.1 + 3.2, normalized)
    r = en.thesis_short_term_noise(resistance=100e6, i_dc=1.78e-9, bandwidth=10e6, temperature=300.0,
                                   read_voltage=0.3)
    # components by hand: sqrt(4*1.380649e-23*300*1e7/1e8), sqrt(2*1.602176634e-19*1.78e-9*1e7)
    assert r["i_thermal"] == pytest.approx(4.0705e-11, rel=1e-4)
    assert r["i_shot"] == pytest.approx(7.5521e-11, rel=1e-4)
    assert r["i_reference"] == pytest.approx(3e-9, rel=1e-12)
    assert r["relative"] == pytest.approx(0.0383, rel=0.015)
    # eq. 3.1 exactly as printed (no factor 4): I_t = sqrt(kT BW / R) = 2.035e-11 A
    r1 = en.thesis_short_term_noise(thermal_factor=1.0)
    assert r1["i_thermal"] == pytest.approx(2.0352e-11, rel=1e-4)


# ------------------------------------------------------------------ 2x2 hand calculations
G22 = np.array([[1e-6, 2e-6],     # row 0: G00, G01 [S]
                [3e-6, 4e-6]])    # row 1: G10, G11 [S]
V22 = np.array([0.2, -0.1])       # [V]


def test_2x2_power_energy_by_hand():
    # P = 0.2^2 (1+2) uS + 0.1^2 (3+4) uS = 0.12 uW + 0.07 uW = 0.19 uW
    assert en.array_read_power(G22, V22) == pytest.approx(0.19e-6, rel=1e-12)
    assert en.array_read_energy(G22, V22, 1e-6) == pytest.approx(0.19e-12, rel=1e-12)
    # batch of two vectors
    pb = en.array_read_power(G22, np.array([V22, [0.0, 0.3]]))
    assert pb == pytest.approx([0.19e-6, 0.09 * 7e-6], rel=1e-12)
    # column currents: I0 = 0.2*1u - 0.1*3u = -0.1 uA; I1 = 0.2*2u - 0.1*4u = 0
    i = en.device_currents(G22, V22).sum(axis=0)
    assert i == pytest.approx([-0.1e-6, 0.0], abs=1e-18)


def test_2x2_nonlinear_device_read_iv():
    # a device whose current at half the read voltage is 0.3 of the full-read current (superlinear)
    dev = CrossbarDevice(g_min=0.0, g_max=5e-6, read_voltage=0.2,
                         iv_table=(np.array([-0.2, -0.1, 0.0, 0.1, 0.2]), np.array([-1.0, -0.3, 0.0, 0.3, 1.0])))
    # row 0 at 0.2 V: I = G * 0.2; row 1 at -0.1 V: I = G * 0.2 * (-0.3) = -0.06 G
    # P = 0.2*0.2*(1+2)u + (-0.1)(-0.06)(3+4)u = 0.12u + 0.042u
    assert en.array_read_power(G22, V22, dev) == pytest.approx(0.162e-6, rel=1e-12)


def test_2x2_capacitive_energy_by_hand():
    C = np.array([[1e-15, 2e-15], [3e-15, 4e-15]])
    # E = 0.04*(1+2) fJ + 0.01*(3+4) fJ = 0.19 fJ
    assert en.capacitive_array_energy(C, V22) == pytest.approx(0.19e-15, rel=1e-12)


def test_2x2_column_thermal_noise_by_hand():
    bw, T = 1e6, 300.0
    rel = en.column_relative_noise(G22, [0.1, 0.1], bw, T)
    # column 0: sigma = sqrt(4 k T BW 4 uS), signal = 0.1 V * 4 uS
    s0 = math.sqrt(4 * 1.380649e-23 * 300 * 1e6 * 4e-6)
    s1 = math.sqrt(4 * 1.380649e-23 * 300 * 1e6 * 6e-6)
    assert rel == pytest.approx([s0 / 0.4e-6, s1 / 0.6e-6], rel=1e-12)
    rs = en.column_relative_noise(G22, [0.1, 0.1], bw, T, shot=True)
    sh0 = 2 * 1.602176634e-19 * 1e6 * 0.4e-6
    assert rs[0] == pytest.approx(math.sqrt(s0 ** 2 + sh0) / 0.4e-6, rel=1e-12)
    # a zero-current column has infinite relative noise
    assert np.isinf(en.column_relative_noise(G22, V22, bw)[1])


def test_2x2_tile_cost_by_hand():
    p = en.Periphery(t_read=1e-6, adc_bits=8, adc_fom=10e-15, adc_rate=1e8, columns_per_adc=2,
                     c_row=1e-12, dac_static_energy=1e-15, c_int=1e-13, v_swing=1.0, amp_power=1e-6)
    c = en.tile_cost(G22, V22, p)
    assert c.array == pytest.approx(0.19e-12, rel=1e-12)
    assert c.dac == pytest.approx(1e-12 * (0.04 + 0.01) + 2e-15, rel=1e-12)
    assert c.adc == pytest.approx(2 * 10e-15 * 256, rel=1e-12)
    assert c.integrator == pytest.approx(2 * (1e-13 + 1e-12), rel=1e-12)
    assert c.latency == pytest.approx(1e-6 + 1 / 1e8, rel=1e-12)  # 2 columns share one ADC: 1 slot
    assert c.energy == pytest.approx(c.array + c.dac + c.adc + c.integrator)
    net = en.inference_cost([c, c])
    assert net.energy == pytest.approx(2 * c.energy) and net.latency == pytest.approx(2 * c.latency)


def test_walden_fom_and_kull_adc():
    # Kull 2013 (thesis Table 2.1): 3.06 mW, 1.2 GS/s, ENOB 6.24 -> P/fs = 2.55 pJ per conversion
    fom = en.walden_fom(3.06e-3, 6.24, 1.2e9)
    assert fom == pytest.approx(3.06e-3 / 1.2e9 / 2 ** 6.24, rel=1e-12)
    assert en.adc_energy_per_conversion(6.24) == pytest.approx(2.55e-12, rel=1e-12)
    # Schreier FoM: 40 dB + 10 log10(0.6e9 / 3.06e-3)
    assert en.schreier_fom(40.0, 0.6e9, 3.06e-3) == pytest.approx(40 + 10 * math.log10(0.6e9 / 3.06e-3))


def test_analog_matrix_cost_matches_direct_sum():
    from memfit.crossbar.config import get_config
    from memfit.crossbar.tile import AnalogMatrix

    rng = np.random.default_rng(0)
    W = rng.normal(size=(3, 4))
    dev = CrossbarDevice.ideal(g_min=1e-9, g_max=14e-9, read_voltage=0.3)
    am = AnalogMatrix(W, dev, get_config("baseline-ftj").ideal(), rng=rng)
    x = np.array([1.0, -0.5, 0.25, 2.0])  # last input clipped to in_bound = 1
    p = en.Periphery(t_read=1e-7, adc_bits=8, adc_fom=1e-15)
    c = en.analog_matrix_cost(am, x, p)
    am._ensure_programmed()
    v = np.clip(x, -1, 1) * 0.3
    e = 0.0
    for tile in am.tiles:
        G = tile.G  # (S, n_dev, P, out, in)
        e += float(np.sum(G * v[tile.spec.in_start:tile.spec.in_stop] ** 2)) * 1e-7
    assert c.array == pytest.approx(e, rel=1e-12)
    n_conv = sum(t.G.shape[0] * t.G.shape[3] for t in am.tiles)
    assert c.adc == pytest.approx(n_conv * 1e-15 * 256, rel=1e-12)


def test_bad_input_raises():
    with pytest.raises(ParameterError, match="t_read"):
        en.array_read_energy(G22, V22, -1.0)
    with pytest.raises(ParameterError, match="kind"):
        en.tile_cost(G22, V22, en.Periphery(), kind="inductive")
    with pytest.raises(ParameterError, match="voltages"):
        en.array_read_power(G22, [0.1, 0.2, 0.3])
    with pytest.raises(ParameterError, match="resistance"):
        en.thesis_array_power(2, 2, 0.3, 0.0)
