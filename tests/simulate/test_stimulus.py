"""Stimuli: waveform values against closed forms, breakpoints, concatenation, parsing and errors."""

import math

import numpy as np
import pytest

from memfit.errors import StimulusError
from memfit.simulate import (
    arbitrary,
    current_sweep,
    hold,
    parse_stimulus,
    pulse_train,
    sine_sweep,
    triangle_sweep,
)
from memfit.simulate._kernels.integrators import source_value
from memfit.simulate.stimulus import SEG_MODE


def _kernel_value(stim, t):
    f = getattr(source_value, "py_func", source_value)
    k = stim.segment_index(t)
    return np.array([f(stim.segments, int(s), float(tt - stim.segments[s, 0])) for s, tt in zip(k, t)])


@pytest.mark.nojit
def test_triangle_values_and_breakpoints():
    s = triangle_sweep(vmax=1.2, vmin=-0.8, frequency=2.0, cycles=2, points_per_cycle=100)
    period = 0.5
    assert s.duration == pytest.approx(2 * period)
    # closed form of one cycle: legs proportional to their voltage span (total span 4 V)
    t = np.linspace(0, s.duration, 1001)
    tau = (t % period) / period * 4.0  # "volts travelled" within the cycle
    expect = np.select(
        [tau <= 1.2, tau <= 2.4, tau <= 3.2],
        [tau, 2.4 - tau, -(tau - 2.4)],
        default=-(4.0 - tau),
    )
    np.testing.assert_allclose(s.value(t), expect, atol=1e-12)
    assert s.value(np.array([period * 1.2 / 4]))[0] == pytest.approx(1.2)  # first peak
    peaks = s.breakpoints
    np.testing.assert_allclose(s.value(peaks[1:2]), [1.2])
    assert set(peaks).issubset(set(s.t))
    # the kernel evaluates the same waveform
    np.testing.assert_allclose(_kernel_value(s, t[:-1]), s.value(t[:-1]), atol=1e-12)


def test_triangle_rate_defines_period():
    s = triangle_sweep(vmax=1.0, rate=4.0, cycles=1)  # span 4 V at 4 V/s -> 1 s
    assert s.duration == pytest.approx(1.0)
    assert np.max(s.value()) == pytest.approx(1.0)
    assert np.min(s.value()) == pytest.approx(-1.0)


def test_unipolar_triangle_has_two_legs():
    s = triangle_sweep(vmax=2.0, vmin=0.0, frequency=1.0)
    assert s.n_segments == 2
    assert np.all(s.value() >= 0)


def test_sine_with_asymmetric_amplitudes():
    s = sine_sweep(amplitude=1.0, amplitude_neg=0.5, frequency=10.0, cycles=3, points_per_cycle=64)
    t = np.linspace(0, s.duration, 777, endpoint=False)
    base = np.sin(2 * np.pi * 10.0 * t)
    expect = np.where(base >= 0, 1.0, 0.5) * base
    np.testing.assert_allclose(s.value(t), expect, atol=1e-12)
    np.testing.assert_allclose(_kernel_value(s, t), expect, atol=1e-12)


def test_pulse_train_timing_and_roles():
    s = pulse_train(amplitude=[1.0, 1.5, -1.0], width=1e-6, period=10e-6, rise=1e-8, fall=2e-8, read_v=0.1,
                    read_width=5e-7, read_delay=1e-6)
    assert s.duration == pytest.approx(30e-6)
    segs = s.segments
    writes = [k for k, r in enumerate(s.roles) if r == "write"]
    reads = [k for k, r in enumerate(s.roles) if r == "read"]
    assert len(writes) == 3 and len(reads) == 3
    np.testing.assert_allclose(segs[writes, 1] - segs[writes, 0], 1e-6)
    np.testing.assert_allclose(segs[reads, 1] - segs[reads, 0], 5e-7)
    np.testing.assert_allclose(segs[writes, 3], [1.0, 1.5, -1.0])
    np.testing.assert_allclose(segs[reads, 3], 0.1)
    # write k starts at k*period + rise; the read starts read_delay + rise after the fall ends
    np.testing.assert_allclose(segs[writes, 0], np.arange(3) * 10e-6 + 1e-8, rtol=0, atol=1e-15)
    np.testing.assert_allclose(segs[reads, 0] - segs[writes, 1], 2e-8 + 1e-6 + 1e-8, rtol=1e-9)
    # edges are linear ramps
    assert s.value(np.array([0.5e-8]))[0] == pytest.approx(0.5)
    assert set(s.breakpoints).issubset(set(s.t))


def test_pulse_train_rejects_impossible_timing():
    with pytest.raises(StimulusError, match="period .* shorter"):
        pulse_train(amplitude=1.0, width=1e-6, period=1.5e-6, n=2, read_v=0.1)
    with pytest.raises(StimulusError, match="give n"):
        pulse_train(amplitude=1.0, width=1e-6, period=1e-5)
    with pytest.raises(StimulusError, match="width must be > 0"):
        pulse_train(amplitude=1.0, width=0, n=1)
    with pytest.raises(StimulusError, match="without read_v"):
        pulse_train(amplitude=1.0, width=1e-6, n=1, read_width=1e-6)


def test_hold_log_spacing_and_roles():
    s = hold(0.1, 1e4, points=41, log=True, role="read")
    assert s.t[0] == 0 and s.t[-1] == pytest.approx(1e4)
    d = np.diff(np.log10(s.t[1:]))
    np.testing.assert_allclose(d, d[0], rtol=1e-9)  # log-spaced after the first point
    assert s.roles == ("read",)
    np.testing.assert_allclose(s.value(), 0.1)


def test_current_sweep_mode():
    s = current_sweep(imax=1e-3, imin=0.0, frequency=1.0)
    assert set(s.segments[:, SEG_MODE]) == {1.0}
    assert s.modes == ["current", "current"]
    assert np.max(s.value()) == pytest.approx(1e-3)


def test_arbitrary_every_sample_is_a_breakpoint():
    t = np.array([0.0, 1e-3, 3e-3, 4e-3])
    v = np.array([0.0, 1.0, -1.0, 0.5])
    s = arbitrary(t, v)
    np.testing.assert_array_equal(s.breakpoints, t)
    np.testing.assert_allclose(s.value(np.array([2e-3])), [0.0])
    with pytest.raises(StimulusError, match=r"strictly increasing; t\[2\]"):
        arbitrary([0, 1, 1], [0, 1, 2])
    with pytest.raises(StimulusError, match="values has 2"):
        arbitrary([0, 1, 2], [0, 1])
    with pytest.raises(StimulusError, match=r"values\[1\] is not finite"):
        arbitrary([0, 1, 2], [0, np.nan, 1])


def test_concatenation_shifts_and_keeps_breakpoints():
    a = triangle_sweep(vmax=1.0, frequency=1.0)
    b = hold(0.2, 0.5, points=5)
    c = a + b
    assert c.duration == pytest.approx(1.5)
    assert c.n_segments == a.n_segments + 1
    assert len(c) == len(a) + len(b) - 1
    np.testing.assert_allclose(c.value(np.array([1.25])), [0.2])
    assert c.roles[-1] == "hold"
    r = b.repeat(3)
    assert r.duration == pytest.approx(1.5)


def test_parse_stimulus_matches_builders():
    s = parse_stimulus("triangle(vmax=1.2, vmin=-1.2, f=1, cycles=3)")
    ref = triangle_sweep(vmax=1.2, vmin=-1.2, frequency=1, cycles=3)
    np.testing.assert_array_equal(s.segments, ref.segments)
    s2 = parse_stimulus("pulses(amplitude=1.5, width=1e-6, period=1e-5, n=4, read_v=0.1) + hold(v=0.1, duration=1, log=True)")
    assert s2.duration == pytest.approx(4e-5 + 1)
    s3 = parse_stimulus("pulses(amplitude=[1, -1], width=1e-3) * 2")
    assert sum(r == "write" for r in s3.roles) == 4


@pytest.mark.parametrize(
    "text, message",
    [
        ("triangle(vmax=1.2, foo=3)", "has no argument 'foo'"),
        ("square(v=1)", "unknown function 'square'"),
        ("triangle(1.2)", "keyword arguments only"),
        ("triangle(vmax=1.2", "is not valid"),
        ("triangle(vmax=__import__('os'))", "only numbers"),
        ("triangle(vmax=1.2, f=1, rate=2)", "exactly one of frequency"),
        ("", "empty"),
    ],
)
def test_parse_errors_are_one_line_and_name_the_problem(text, message):
    with pytest.raises(StimulusError, match=message) as info:
        parse_stimulus(text)
    assert "\n" not in str(info.value)


def test_builder_errors_name_the_argument():
    with pytest.raises(StimulusError, match="vmin must be <= 0 V"):
        triangle_sweep(vmax=1.0, vmin=0.5, frequency=1)
    with pytest.raises(StimulusError, match="frequency must be > 0"):
        sine_sweep(amplitude=1.0, frequency=-1)
    with pytest.raises(StimulusError, match="cycles must be a whole number"):
        sine_sweep(amplitude=1.0, frequency=1, cycles=1.5)
    with pytest.raises(StimulusError, match="duration must be finite"):
        hold(0.1, math.inf)


# ------------------------------------------------------------------ threshold cuts (integrator breakpoints)
def _segment_value(seg, t):
    """The waveform of a bare segment table at times t, as the kernels evaluate it (local time)."""
    f = getattr(source_value, "py_func", source_value)
    k = np.clip(np.searchsorted(seg[:, 0], t, side="right") - 1, 0, seg.shape[0] - 1)
    return np.array([f(seg, int(s), float(tt - seg[s, 0])) for s, tt in zip(k, t)])


@pytest.mark.parametrize("stim", [
    sine_sweep(amplitude=1.0, frequency=3.0, cycles=2, points_per_cycle=40),
    sine_sweep(amplitude=1.2, amplitude_neg=0.7, offset=0.1, frequency=1.0, cycles=1, points_per_cycle=40),
    triangle_sweep(vmax=1.0, vmin=-1.0, frequency=2.0, cycles=2),
    pulse_train(amplitude=[0.8, -0.8], width=1e-3, period=4e-3, rise=1e-4, fall=1e-4, read_v=0.1, read_width=1e-4),
])
def test_split_at_levels_keeps_the_waveform_and_cuts_at_the_crossings(stim):
    from memfit.simulate.stimulus import split_at_levels

    levels = (0.3, -0.25)
    seg = split_at_levels(stim.segments, levels)
    t = np.sort(np.random.default_rng(1).uniform(stim.t[0], stim.t[-1], 4000))
    np.testing.assert_allclose(_segment_value(seg, t), stim.value(t), rtol=0, atol=1e-12)
    new = np.setdiff1d(seg[:, 0], stim.segments[:, 0])  # the cuts
    assert new.size > 0
    v = stim.value(new)
    assert np.all(np.min(np.abs(v[:, None] - np.array(levels)[None, :]), axis=1) < 1e-12)
    # every crossing is cut: between consecutive breakpoints the waveform stays on one side of each level
    for lv in levels:
        for a, b in zip(seg[:, 0], seg[:, 1]):
            tt = np.linspace(a, b, 50)[1:-1]
            side = np.sign(stim.value(tt) - lv)
            assert np.all(side >= 0) or np.all(side <= 0), (lv, a, b)
    assert np.all(seg[1:, 0] == seg[:-1, 1]) and seg[0, 0] == stim.segments[0, 0] and seg[-1, 1] == stim.segments[-1, 1]


def test_split_at_levels_leaves_current_mode_and_level_free_tables_alone():
    from memfit.simulate.stimulus import split_at_levels

    cur = current_sweep(imax=1e-3, imin=-1e-3, frequency=1.0, cycles=1)
    assert split_at_levels(cur.segments, (0.0005,)) is cur.segments
    sine = sine_sweep(amplitude=1.0, frequency=1.0, cycles=1)
    assert split_at_levels(sine.segments, ()) is sine.segments
    assert split_at_levels(sine.segments, (2.0,)) is sine.segments  # never reached


def test_split_groups_at_levels_is_each_groups_own_cut_table():
    from memfit.simulate.stimulus import split_at_levels, split_groups_at_levels

    stim = sine_sweep(amplitude=1.0, frequency=2.0, cycles=3, points_per_cycle=40)
    levels = np.array([[0.3, -0.3], [0.35, -0.3], [np.nan, -0.5], [2.0, -2.0]])  # NaN and unreached: no cut
    table, start = split_groups_at_levels(stim.segments, levels, 10_000)
    assert start[0] == 0 and start[-1] == table.shape[0] and start.shape == (5,)
    for g, lv in enumerate(levels):
        np.testing.assert_array_equal(table[start[g]:start[g + 1]], split_at_levels(stim.segments, lv))
    assert split_groups_at_levels(stim.segments, levels, int(start[-1]) - 1) is None  # over the budget
