"""Driver tests against recorded command/response protocols (no hardware), and the registry contract.

Every driver in :data:`instruments.drivers.DRIVERS` has a protocol file in
``protocols/``; each section is one driver action with the exact wire
traffic it must produce (written from the reference manuals).  The replay
resource fails on any unexpected command, and every ``@refuse`` section
must raise LimitError with nothing on the wire.
"""

from __future__ import annotations

import math

import pytest

from instruments.drivers import DRIVERS, get_driver
from instruments.drivers.base import Property
from memfit.errors import InstrumentError, LimitError
from tests.instruments.protocol import PROTOCOLS, ReplayResource, load_protocol

DRIVER_NAMES = sorted(DRIVERS)


def _run_section(inst, sec):
    """Swap in a replay of the section's traffic and perform its action."""
    res = ReplayResource(sec.steps, name=f"{inst.driver_name}-replay")
    inst._res = res
    where = f"{inst.driver_name}.txt line {sec.line}: @{sec.action} {sec.name}"
    if sec.action == "set":
        setattr(inst, sec.name, *sec.args)
        out = None
    elif sec.action == "get":
        out = getattr(inst, sec.name)
    elif sec.action == "call":
        out = getattr(inst, sec.name)(*sec.args, **sec.kwargs)
    elif sec.action == "refuse":
        with pytest.raises(LimitError):
            getattr(inst, sec.name)(*sec.args, **sec.kwargs)
        assert res.sent == [], f"{where}: a refused request reached the wire: {res.sent}"
        return
    else:
        raise AssertionError(f"{where}: unknown action")
    res.assert_done()
    if sec.has_expect:
        if isinstance(sec.expect, float):
            assert out == pytest.approx(sec.expect, rel=1e-12), where
        else:
            assert out == sec.expect, where


@pytest.mark.parametrize("name", DRIVER_NAMES)
def test_protocol_replay(name):
    """Every section of the driver's protocol produces exactly the recorded wire traffic."""
    _, sections = load_protocol(PROTOCOLS / f"{name}.txt")
    assert sections
    inst = DRIVERS[name](ReplayResource([]))
    for sec in sections:
        _run_section(inst, sec)


@pytest.mark.parametrize("name", DRIVER_NAMES)
def test_registry_contract(name):
    """Every property is documented, settable ones have a strict validator, and the protocol covers all."""
    cls = DRIVERS[name]
    assert get_driver(name) is cls
    for alias in cls.aliases:
        assert get_driver(alias) is cls
    caps = cls.capabilities
    assert caps.notes and caps.min_pulse_width > 0 and caps.max_list_points > 0 and caps.buffer_size > 0
    _, sections = load_protocol(PROTOCOLS / f"{name}.txt")
    got = {s.name for s in sections if s.action == "get"}
    set_ = {s.name for s in sections if s.action == "set"}
    props = cls.properties()
    assert props
    for pname, prop in props.items():
        assert isinstance(prop, Property)
        assert len(prop.doc) > 5, f"{name}.{pname} has no documentation"
        assert prop.__doc__.startswith(prop.doc)
        if prop.readable:
            assert pname in got, f"{name}.{pname}: no recorded get in the protocol"
        if prop.writable:
            assert prop.validator is not None
            assert pname in set_, f"{name}.{pname}: no recorded set in the protocol"
            assert "Allowed:" in prop.__doc__
    # the SMU interface is implemented (no abstract methods left)
    assert not getattr(cls, "__abstractmethods__", None)


@pytest.mark.parametrize("name", DRIVER_NAMES)
def test_validators_refuse_and_send_nothing(name):
    """Every settable property rejects its invalid examples with a LimitError naming instrument and property."""
    cls = DRIVERS[name]
    inst = cls(ReplayResource([]))
    for pname, prop in cls.properties().items():
        if not prop.writable:
            with pytest.raises(InstrumentError, match="read-only"):
                setattr(inst, pname, 1.0)
            continue
        bad = prop.validator.invalid_examples()
        assert bad, f"{name}.{pname}: validator has no invalid examples"
        for value in bad:
            with pytest.raises(LimitError) as err:
                setattr(inst, pname, value)
            msg = str(err.value)
            assert inst.display_name in msg and pname in msg, msg
        assert inst._res.sent == []
        # the allowed range/choices appear in the message of a numeric overshoot
        if hasattr(prop.validator, "hi"):
            over = prop.validator.hi + abs(prop.validator.hi) + 1
            with pytest.raises(LimitError, match=r"allowed range \["):
                setattr(inst, pname, int(over) if type(prop.validator).__name__ == "IsInt" else over)


def test_never_clips():
    """An out-of-range compliance raises; it is never silently reduced to the maximum."""
    from instruments.drivers import Keithley2450

    inst = Keithley2450(ReplayResource([]))
    with pytest.raises(LimitError, match=r"Keithley 2450\.current_limit = 1\.5 A is outside the allowed range "
                                         r"\[1e-09, 1\.05\] A"):
        inst.current_limit = 1.5
    with pytest.raises(LimitError, match="must be a number"):
        inst.current_limit = "1e-3"
    with pytest.raises(LimitError, match="finite"):
        inst.current_limit = math.nan


def test_sweep_is_chunked_by_100():
    """A 2450 list of 150 levels goes out as 100 values then an APPend of 50 (manual: <= 100 per command)."""
    from instruments.drivers import Keithley2450

    lv = [0.5] * 150
    steps = [(">", ":SOUR:LIST:VOLT " + ",".join(["0.5"] * 100)),
             (">", ":SOUR:LIST:VOLT:APP " + ",".join(["0.5"] * 50)),
             (">", ":SOUR:SWE:VOLT:LIST 1, 0.08"), (">", ":INIT"), (">", "*WAI"),
             (">", ':TRAC:ACT:END? "defbuffer1"'), ("<", "150"),
             (">", ':TRAC:DATA? 1, 150, "defbuffer1", READ, REL, SOUR'),
             ("<", ",".join(f"1E-6,{0.1 * k:.1f},0.5" for k in range(150)))]
    inst = Keithley2450(ReplayResource(steps))
    inst._lfr, inst._nplc = 50.0, 1.0
    out = inst.sweep(lv, 0.1)
    inst._res.assert_done()
    assert len(out) == 150 and out[-1].t == pytest.approx(14.9) and out[0].i == 1e-6


def test_sweep_longer_than_buffer_is_refused():
    """A sweep longer than the reading buffer is refused before anything is sent."""
    from instruments.drivers import Keithley2450

    inst = Keithley2450(ReplayResource([]))
    inst._lfr, inst._nplc = 50.0, 1.0
    with pytest.raises(LimitError, match="buffer of 100000 readings"):
        inst.sweep([0.1] * 100_001, 0.1)
    assert inst._res.sent == []


def test_2600b_write_verify_script_upload_and_run():
    """The write-verify script is uploaded with loadscript/endscript and its printed trace is parsed."""
    from instruments.drivers import Keithley2600B
    from instruments.drivers.keithley2600b import write_verify_tsp

    script = write_verify_tsp("memfit_wv")
    assert script[0] == "loadscript memfit_wv" and script[-1] == "endscript"
    steps = [(">", line) for line in script] + [(">", "print(errorqueue.count)"), ("<", "0.00000e+00"),
                                                (">", "memfit_wv.run()"),
                                                (">", "memfit_write_verify(3e-07, 0.02, 1.0, 0.1, 2.0, 0.001, "
                                                      "-0.2, 10, 0.001, 1)"),
                                                ("<", "0,0,2.5e-07"), ("<", "1,1,2.8e-07"), ("<", "2,1.1,2.99e-07"),
                                                ("<", "END,1,2")]
    inst = Keithley2600B(ReplayResource(steps))
    out = inst.write_verify_onboard(3e-7, tol=0.02, v_start=1.0, v_step=0.1, v_max=2.0, width=0.001, read_v=-0.2,
                                    max_pulses=10, compliance=1e-3)
    inst._res.assert_done()
    assert out == {"success": True, "pulses": 2, "trace": [(0, 0.0, 2.5e-7), (1, 1.0, 2.8e-7), (2, 1.1, 2.99e-7)]}


def test_instrument_error_on_io_failure():
    """A resource that raises (cable pulled) becomes an InstrumentError naming instrument, resource and command."""
    from instruments.drivers import KeysightB2900

    class Broken(ReplayResource):
        def write(self, cmd):
            raise OSError("Connection reset by peer")

    inst = KeysightB2900(Broken([], name="USB0::FAKE"))
    with pytest.raises(InstrumentError, match=r"Keysight B2900 at USB0::FAKE: writing ':OUTP1 ON' failed"):
        inst.output(True)
    assert inst.zero_and_off()  # never raises, reports what it could not send


def test_error_queue_is_checked():
    from instruments.drivers import Keithley2450

    inst = Keithley2450(ReplayResource([(">", ":SYST:ERR?"), ("<", '-113,"Undefined header"'),
                                        (">", ":SYST:ERR?"), ("<", '0,"No error"')]))
    with pytest.raises(InstrumentError, match="Undefined header"):
        inst.check_errors()


def test_import_is_light():
    """Importing the packages does not import pyvisa (only opening a resource string does)."""
    import subprocess
    import sys

    code = ("import sys, instruments, instruments.drivers, instruments.routines, instruments.simulated; "
            "print('pyvisa' in sys.modules, 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
