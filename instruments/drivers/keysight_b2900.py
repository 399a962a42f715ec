"""Keysight B2900 precision SMU (B2901A/B2902A/B2911A/B2912A), SCPI command set.

Sources: Keysight B2900 SCPI Command Reference and User's Guide; memfit's
command notes (``shared/reference/smu_commands.md``).

The B2900 has a *native pulse mode* (``:SOUR:FUNC:SHAP PULS``): base level
``:SOUR:VOLT``, peak ``:SOUR:VOLT:TRIG``, width ``:SOUR:PULS:WIDT`` (50 µs to
100,000 s, 1 µs resolution per the User's Guide), and the acquisition
delay ``:TRIG:ACQ:DEL`` places the measurement inside the pulse (here one
aperture before its end).  Sweeps use *list mode* (``:SOUR:VOLT:MODE LIST``,
timer-paced triggers), and the results come back as arrays with time stamps
(``:FORM:ELEM:SENS VOLT,CURR,TIME`` then ``:FETC:ARR?``).

Channel numbers (``1``/``2``) go into the command headers (``:SOUR1:...``)
and the channel lists (``(@1)``).  Waits are timed by the host
(``time.sleep``): the driver has no instrument-side idle timer.
"""

from __future__ import annotations

import math
import time

import numpy as np

from instruments.drivers.base import (
    Capabilities,
    InRange,
    Instrument,
    SMUDriverMixin,
    IsBool,
    IsInt,
    OneOf,
    Property,
    fmt_num,
    fmt_time,
    fmt_onoff,
    parse_bool,
    parse_str,
    register_driver,
)
from instruments.routines.smu import SMU, Reading
from memfit.errors import InstrumentError, LimitError

__all__ = ["KeysightB2900"]

VOLTAGE_RANGES = (0.2, 2.0, 20.0, 200.0)
CURRENT_RANGES = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 1.5, 3.0)


@register_driver
class KeysightB2900(Instrument, SMUDriverMixin, SMU):
    """Keysight B2900 over SCPI (voltage source, current measure, native pulses, list sweeps).

    Parameters
    ----------
    resource : str or pyvisa-like object
        ``"TCPIP::<ip>::5025::SOCKET"``, ``"USB0::0x0957::0x8B18::<serial>::INSTR"``.
    channel : {1, 2}
        SMU channel.
    timeout : float
        I/O timeout [s].
    """

    driver_name = "keysight_b2900"
    aliases = ("b2900", "b2901", "b2902", "b2911", "b2912", "keysight_b2901a")
    model = "Keysight B2900"
    idn_pattern = "B29"
    capabilities = Capabilities(
        v_max=210.0,
        i_max=1.515,
        i_min_compliance=1e-9,
        min_pulse_width=5e-5,
        max_pulse_width=1e5,
        pulse_resolution=1e-6,
        max_list_points=2500,
        list_chunk=100,
        buffer_size=100_000,
        voltage_ranges=VOLTAGE_RANGES,
        current_ranges=CURRENT_RANGES,
        notes=("pulse width 50 us .. 100000 s, 1 us resolution (User's Guide); DC compliance up to 1.515 A "
               "(B2901A); 2,500-point lists and 100,000-reading trace buffer UNVERIFIED"),
    )

    identity = Property("*IDN?", parser=str.strip, doc="Identification string")
    line_frequency = Property(":SYST:LFR?", unit="Hz", doc="Power-line frequency")
    source_function = Property(":SOUR{ch}:FUNC:MODE?", ":SOUR{ch}:FUNC:MODE {value}",
                               validator=OneOf(("VOLT", "CURR")), parser=parse_str, formatter=str,
                               doc="Source function")
    source_shape = Property(":SOUR{ch}:FUNC:SHAP?", ":SOUR{ch}:FUNC:SHAP {value}", validator=OneOf(("DC", "PULS")),
                            parser=lambda t: parse_str(t)[:4].rstrip("E"), formatter=str,
                            doc="Source shape: DC or pulse")
    source_voltage = Property(":SOUR{ch}:VOLT?", ":SOUR{ch}:VOLT {value}", unit="V",
                              validator=InRange(-210.0, 210.0), doc="Source (DC or pulse base) voltage")
    pulse_peak = Property(":SOUR{ch}:VOLT:TRIG?", ":SOUR{ch}:VOLT:TRIG {value}", unit="V",
                          validator=InRange(-210.0, 210.0), doc="Triggered level (pulse peak)")
    voltage_mode = Property(":SOUR{ch}:VOLT:MODE?", ":SOUR{ch}:VOLT:MODE {value}",
                            validator=OneOf(("FIX", "SWE", "LIST")), parser=lambda t: parse_str(t)[:4].rstrip("E"),
                            formatter=str, doc="Voltage output mode: fixed, sweep or list")
    source_voltage_autorange = Property(":SOUR{ch}:VOLT:RANG:AUTO?", ":SOUR{ch}:VOLT:RANG:AUTO {value}",
                                        validator=IsBool(), parser=parse_bool, formatter=fmt_onoff,
                                        doc="Source-voltage autorange")
    pulse_width = Property(":SOUR{ch}:PULS:WIDT?", ":SOUR{ch}:PULS:WIDT {value}", unit="s", formatter=fmt_time,
                           validator=InRange(5e-5, 1e5), doc="Pulse width (10 % leading to 90 % trailing edge)")
    pulse_delay = Property(":SOUR{ch}:PULS:DEL?", ":SOUR{ch}:PULS:DEL {value}", unit="s", formatter=fmt_time,
                           validator=InRange(0.0, 99999.9), doc="Delay from the trigger to the pulse")
    current_limit = Property(":SENS{ch}:CURR:PROT?", ":SENS{ch}:CURR:PROT {value}", unit="A",
                             validator=InRange(1e-9, 1.515), doc="Current compliance")
    limit_tripped = Property(":SENS{ch}:CURR:PROT:TRIP?", parser=parse_bool,
                             doc="True when the current compliance was reached")
    current_autorange = Property(":SENS{ch}:CURR:RANG:AUTO?", ":SENS{ch}:CURR:RANG:AUTO {value}",
                                 validator=IsBool(), parser=parse_bool, formatter=fmt_onoff,
                                 doc="Current-measure autorange")
    current_range = Property(":SENS{ch}:CURR:RANG?", ":SENS{ch}:CURR:RANG {value}", unit="A",
                             validator=OneOf(CURRENT_RANGES), doc="Fixed current-measure range")
    nplc = Property(":SENS{ch}:CURR:NPLC?", ":SENS{ch}:CURR:NPLC {value}", unit="PLC",
                    validator=InRange(4e-4, 100.0), doc="Measurement aperture in power-line cycles")
    acquire_delay = Property(":TRIG{ch}:ACQ:DEL?", ":TRIG{ch}:ACQ:DEL {value}", unit="s", formatter=fmt_time,
                             validator=InRange(0.0, 1e5), doc="Delay from a trigger to the measurement")
    transient_delay = Property(":TRIG{ch}:TRAN:DEL?", ":TRIG{ch}:TRAN:DEL {value}", unit="s", formatter=fmt_time,
                               validator=InRange(0.0, 1e5), doc="Delay from a trigger to the source change")
    trigger_count = Property(":TRIG{ch}:COUN?", ":TRIG{ch}:COUN {value}", validator=IsInt(1, 100_000),
                             parser=lambda t: int(float(t)), doc="Triggers per initiation")
    trigger_period = Property(":TRIG{ch}:TIM?", ":TRIG{ch}:TIM {value}", unit="s", formatter=fmt_time, validator=InRange(1e-5, 1e5),
                              doc="Timer trigger period (list sweeps)")
    trigger_source = Property(":TRIG{ch}:SOUR?", ":TRIG{ch}:SOUR {value}", validator=OneOf(("AINT", "TIM", "BUS")),
                              parser=parse_str, formatter=str, doc="Trigger source")
    output_enabled = Property(":OUTP{ch}?", ":OUTP{ch} {value}", validator=IsBool(), parser=parse_bool,
                              formatter=fmt_onoff, doc="Output on/off")

    def __init__(self, resource, *, channel: int = 1, timeout: float = 10.0, name: str | None = None):
        if channel not in (1, 2) or isinstance(channel, bool):
            raise LimitError(f"Keysight B2900: channel must be 1 or 2, got {channel!r}")
        super().__init__(resource, timeout=timeout, name=name)
        self.channel = str(channel)
        self._lfr: float | None = None
        self._nplc = 1.0
        self._ilim: float | None = None

    @property
    def _at(self) -> str:
        return f"(@{self.channel})"

    def reset(self) -> None:
        """``*RST`` and ``*CLS``."""
        self.write("*RST")
        self.write("*CLS")
        self._settings.clear()
        self._ilim = None

    def check_errors(self) -> None:
        """Read ``:SYST:ERR?`` until ``+0,"No error"``; raise :class:`InstrumentError` on any error."""
        errors = []
        for _ in range(20):
            ans = self.query(":SYST:ERR?")
            if int(float(ans.split(",")[0])) == 0:
                break
            errors.append(ans)
        if errors:
            raise InstrumentError(f"{self.display_name} reports error(s): {'; '.join(errors)}")

    @property
    def aperture(self) -> float:
        """One measurement's duration [s] (NPLC / line frequency)."""
        if self._lfr is None:
            self._lfr = float(self.line_frequency)
        return self._nplc / self._lfr

    # ---------------------------------------------------------- SMU interface
    def configure(self, compliance: float, *, nplc: float = 1.0, current_range: float | None = None) -> None:
        """DC voltage source, current measure with time stamps, compliance [A], aperture [PLC]."""
        cls = type(self)
        cls.current_limit.check(self, compliance)
        cls.nplc.check(self, nplc)
        if current_range is not None:
            cls.current_range.check(self, current_range)
        self.source_function = "VOLT"
        self.source_shape = "DC"
        self.voltage_mode = "FIX"
        self.source_voltage_autorange = True
        self.write(f':SENS{self.channel}:FUNC "CURR"')
        if current_range is None:
            self.current_autorange = True
        else:
            self.current_range = current_range
        self.nplc = nplc
        self._nplc = float(nplc)
        self.current_limit = compliance
        self._ilim = float(compliance)
        self.write(":FORM:ELEM:SENS VOLT,CURR,TIME")
        self.check_errors()

    def _readings(self, text: str, n: int, cmd: str) -> list[Reading]:
        return self._triplets(text, n, cmd, ("v", "i", "t"))

    def measure(self) -> Reading:
        """``:MEAS? (@n)`` -> voltage, current, time."""
        cmd = f":MEAS? {self._at}"
        return self._readings(self.query(cmd), 1, cmd)[0]

    def _check_width(self, width) -> float:
        caps = self.capabilities
        if not (isinstance(width, (int, float)) and math.isfinite(width)):
            raise LimitError(f"{self.display_name}: pulse width must be a number of seconds, got {width!r}")
        if width < caps.min_pulse_width:
            raise self.refuse("pulse width", f"{width:g} s", f"minimum {caps.min_pulse_width:g} s")
        if width > caps.max_pulse_width:
            raise self.refuse("pulse width", f"{width:g} s", f"maximum {caps.max_pulse_width:g} s")
        ticks = width / caps.pulse_resolution
        if abs(ticks - round(ticks)) > 1e-6 * max(ticks, 1.0):
            raise self.refuse("pulse width", f"{width!r} s", f"resolution {caps.pulse_resolution:g} s")
        return float(width)

    def pulse(self, amplitude: float, width: float, compliance: float | None = None) -> Reading:
        """Native pulse from a 0 V base; measurement one aperture before the trailing edge."""
        cls = type(self)
        cls.pulse_peak.check(self, amplitude)
        if compliance is not None:
            cls.current_limit.check(self, compliance)
        width = self._check_width(width)
        ap = self.aperture
        if width <= ap:
            raise self.refuse("pulse width", f"{width:g} s", f"longer than one aperture ({ap:g} s); lower nplc")
        if compliance is not None:
            self.set_compliance(compliance)
        self.source_shape = "PULS"
        self.source_voltage = 0.0
        self.pulse_peak = amplitude
        self.pulse_delay = 0.0
        self.pulse_width = width
        self.transient_delay = 0.0
        self.acquire_delay = round((width - ap) / 1e-6) * 1e-6
        self.trigger_source = "AINT"
        self.trigger_count = 1
        self.write(f":INIT {self._at}")
        self.query("*OPC?", timeout=width + self.timeout)
        cmd = f":FETC:ARR? {self._at}"
        r = self._readings(self.query(cmd), 1, cmd)[0]
        self.source_shape = "DC"
        return r

    def sweep(self, levels, point_time: float) -> list[Reading]:
        """List-mode sweep paced by the trigger timer; one reading per point one aperture before its end."""
        lv = np.asarray(levels, dtype=float).ravel()
        if lv.size == 0:
            raise LimitError(f"{self.display_name}: a sweep needs at least one level")
        for v in lv:
            type(self).source_voltage.check(self, float(v))
        type(self).trigger_period.check(self, point_time)
        ap = self.aperture
        if point_time <= ap:
            raise self.refuse("sweep point time", f"{point_time:g} s", f"longer than one aperture ({ap:g} s)")
        out: list[Reading] = []
        m = self.capabilities.max_list_points
        for k0 in range(0, lv.size, m):
            part = lv[k0:k0 + m]
            self.voltage_mode = "LIST"
            for k in range(0, part.size, self.capabilities.list_chunk):
                vals = ",".join(fmt_num(float(v)) for v in part[k:k + self.capabilities.list_chunk])
                self.write((f":SOUR{self.channel}:LIST:VOLT " if k == 0 else
                            f":SOUR{self.channel}:LIST:VOLT:APP ") + vals)
            self.trigger_source = "TIM"
            self.trigger_period = point_time
            self.trigger_count = int(part.size)
            self.transient_delay = 0.0
            self.acquire_delay = round((point_time - ap) / 1e-6) * 1e-6
            self.write(f":INIT {self._at}")
            self.query("*OPC?", timeout=part.size * point_time + self.timeout)
            cmd = f":FETC:ARR? {self._at}"
            out.extend(self._readings(self.query(cmd), int(part.size), cmd))
            self.voltage_mode = "FIX"
        return out

    def wait(self, duration: float) -> None:
        """Hold for ``duration`` [s], timed by the host (``time.sleep``)."""
        if not (isinstance(duration, (int, float)) and math.isfinite(duration) and 0 <= duration <= 1e5):
            raise LimitError(f"{self.display_name}: wait duration must be in [0, 100000] s, got {duration!r}")
        time.sleep(duration)

    def in_compliance(self) -> bool:
        """``:SENS:CURR:PROT:TRIP?``."""
        return bool(self.limit_tripped)

    def zero_and_off(self) -> list[str]:
        """Abort, 0 V, output off; never raises."""
        problems = []
        for cmd in (f":ABOR {self._at}", f":SOUR{self.channel}:VOLT 0", f":OUTP{self.channel} OFF"):
            try:
                self.write(cmd)
            except Exception as exc:
                problems.append(f"{cmd}: {exc}")
        return problems

    def snapshot(self) -> dict:
        """:meth:`Instrument.snapshot` plus ``channel``, ``nplc`` and ``line_frequency`` [Hz] (``None`` until read)."""
        snap = super().snapshot()
        snap["channel"] = self.channel
        snap["nplc"] = self._nplc
        snap["line_frequency"] = self._lfr
        return snap
