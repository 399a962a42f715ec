"""Keithley 2450 SourceMeter, SCPI command set.

Sources: Keithley 2450 Reference Manual (2450-901-01), SCPI command
reference; memfit's command notes (``shared/reference/smu_commands.md``).

The 2450 has no dedicated pulse mode (the 2461 has one).  A "pulse" here is
a point of a list sweep: the source steps to the amplitude, waits the
*source delay*, then measures for one aperture (NPLC / line frequency), so the
pulse lasts ``delay + aperture``.  The driver computes the delay from the
requested width and refuses widths shorter than one aperture or than the
declared minimum (1 ms, *unverified*: millisecond class per the notes) --
it never stretches a pulse silently.  Every pulse is the two-point list
``[amplitude, 0 V]``, so the instrument itself returns the source to 0 V.

List sweeps (``:SOUR:LIST:VOLT`` takes at most 100 values per command) are
sent in chunks of 100 with ``:SOUR:LIST:VOLT:APP``, at most 2,500 points per
run (*unverified* for the 2450; documented for the 2461, same SCPI family).
Readings are fetched from ``defbuffer1`` with their relative time stamps
(``REL``) and source values (``SOUR``).  Waits use the trigger model: an
empty model with one constant delay block, so the instrument times them.
"""

from __future__ import annotations

import math

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

__all__ = ["Keithley2450"]

_BUF = '"defbuffer1"'
_ELEMENTS = "READ, REL, SOUR"  # current, relative time stamp, source value

VOLTAGE_RANGES = (0.02, 0.2, 2.0, 20.0, 200.0)
CURRENT_RANGES = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)


def _sense_parser(text: str) -> str:
    return parse_str(text).split(":")[0]  # '"CURR:DC"' -> 'CURR'


@register_driver
class Keithley2450(Instrument, SMUDriverMixin, SMU):
    """Keithley 2450 SourceMeter over SCPI (voltage source, current measure).

    Parameters
    ----------
    resource : str or pyvisa-like object
        ``"TCPIP::<ip>::5025::SOCKET"``, ``"USB0::0x05E6::0x2450::<serial>::INSTR"``,
        ``"GPIB0::18::INSTR"``, or an open resource.
    timeout : float
        I/O timeout [s]; long sweeps and waits extend it for their query.
    name : str, optional
        Display name in messages.
    """

    driver_name = "keithley2450"
    aliases = ("2450", "k2450", "keithley_2450")
    model = "Keithley 2450"
    idn_pattern = "MODEL 2450"
    capabilities = Capabilities(
        v_max=210.0,
        i_max=1.05,
        i_min_compliance=1e-9,
        min_pulse_width=1e-3,
        max_pulse_width=1e4,
        pulse_resolution=0.0,
        max_list_points=2500,
        list_chunk=100,
        buffer_size=100_000,
        voltage_ranges=VOLTAGE_RANGES,
        current_ranges=CURRENT_RANGES,
        notes=("ranges and ILIM span from the 2450 reference manual; minimum pulse (list point) width 1 ms, "
               "2,500-point list and 100-value chunks UNVERIFIED for the 2450 (documented for the 2461); "
               "buffer_size is the default defbuffer1 capacity used by this driver"),
    )

    # ------------------------------------------------------------ properties
    identity = Property("*IDN?", parser=str.strip, doc="Identification string (maker, model, serial, firmware)")
    line_frequency = Property(":SYST:LFR?", unit="Hz", doc="Power-line frequency that sets the NPLC aperture")
    source_function = Property(":SOUR:FUNC?", ":SOUR:FUNC {value}", validator=OneOf(("VOLT", "CURR")),
                               parser=parse_str, formatter=str, doc="Source function: voltage or current")
    source_voltage = Property(":SOUR:VOLT?", ":SOUR:VOLT {value}", unit="V", validator=InRange(-210.0, 210.0),
                              doc="Source voltage level")
    source_voltage_range = Property(":SOUR:VOLT:RANG?", ":SOUR:VOLT:RANG {value}", unit="V",
                                    validator=OneOf(VOLTAGE_RANGES), doc="Fixed source-voltage range")
    source_voltage_autorange = Property(":SOUR:VOLT:RANG:AUTO?", ":SOUR:VOLT:RANG:AUTO {value}",
                                        validator=IsBool(), parser=parse_bool, formatter=fmt_onoff,
                                        doc="Source-voltage autorange")
    current_limit = Property(":SOUR:VOLT:ILIM?", ":SOUR:VOLT:ILIM {value}", unit="A",
                             validator=InRange(1e-9, 1.05), doc="Current compliance (limit) of the voltage source")
    limit_tripped = Property(":SOUR:VOLT:ILIM:TRIP?", parser=parse_bool,
                             doc="True when the source is in current compliance")
    source_delay = Property(":SOUR:VOLT:DEL?", ":SOUR:VOLT:DEL {value}", unit="s", formatter=fmt_time, validator=InRange(0.0, 1e4),
                            doc="Source delay between a level change and the measurement")
    source_readback = Property(":SOUR:VOLT:READ:BACK?", ":SOUR:VOLT:READ:BACK {value}", validator=IsBool(),
                               parser=parse_bool, formatter=fmt_onoff,
                               doc="Record the measured source voltage instead of the programmed one")
    sense_function = Property(":SENS:FUNC?", ':SENS:FUNC "{value}"', validator=OneOf(("CURR", "VOLT")),
                              parser=_sense_parser, formatter=str, doc="Measure function")
    current_range = Property(":SENS:CURR:RANG?", ":SENS:CURR:RANG {value}", unit="A",
                             validator=OneOf(CURRENT_RANGES), doc="Fixed current-measure range")
    current_autorange = Property(":SENS:CURR:RANG:AUTO?", ":SENS:CURR:RANG:AUTO {value}", validator=IsBool(),
                                 parser=parse_bool, formatter=fmt_onoff, doc="Current-measure autorange")
    nplc = Property(":SENS:CURR:NPLC?", ":SENS:CURR:NPLC {value}", unit="PLC", validator=InRange(0.01, 10.0),
                    doc="Measurement aperture in power-line cycles")
    output_enabled = Property(":OUTP?", ":OUTP {value}", validator=IsBool(), parser=parse_bool,
                              formatter=fmt_onoff, doc="Output relay on/off")
    buffer_size = Property(f":TRAC:POIN? {_BUF}", ":TRAC:POIN {value}, " + _BUF, unit="readings",
                           validator=IsInt(10, 4_000_000), parser=lambda t: int(float(t)),
                           doc="Capacity of the reading buffer defbuffer1")

    def __init__(self, resource, *, timeout: float = 10.0, name: str | None = None):
        super().__init__(resource, timeout=timeout, name=name)
        self._lfr: float | None = None
        self._nplc = 1.0
        self._ilim: float | None = None

    # --------------------------------------------------------------- basics
    def reset(self) -> None:
        """``*RST`` and clear the status/error queue."""
        self.write("*RST")
        self.write("*CLS")
        self._settings.clear()
        self._ilim = None

    def check_errors(self) -> None:
        """Read the error queue (``:SYST:ERR?``) until empty; raise :class:`InstrumentError` on any error."""
        errors = []
        for _ in range(20):
            ans = self.query(":SYST:ERR?")
            code = ans.split(",")[0].strip()
            try:
                if int(float(code)) == 0:
                    break
            except ValueError:
                raise InstrumentError(f"{self.display_name}: unexpected answer {ans!r} to ':SYST:ERR?'") from None
            errors.append(ans)
        if errors:
            raise InstrumentError(f"{self.display_name} reports error(s): {'; '.join(errors)} "
                                  f"(last commands: {self.log[-5:]})")

    @property
    def aperture(self) -> float:
        """One measurement's duration [s]: NPLC / line frequency (the frequency is queried once)."""
        if self._lfr is None:
            self._lfr = float(self.line_frequency)
            if not self._lfr > 0:
                raise InstrumentError(f"{self.display_name}: line frequency {self._lfr!r} Hz is impossible")
        return self._nplc / self._lfr

    # ---------------------------------------------------------- SMU interface
    def configure(self, compliance: float, *, nplc: float = 1.0, current_range: float | None = None) -> None:
        """Voltage source (autorange), current measure, compliance [A], aperture ``nplc`` [PLC].

        ``current_range`` [A]: one of :data:`CURRENT_RANGES`, or ``None`` for autorange.
        All values are validated before the first command is sent.
        """
        cls = type(self)
        cls.current_limit.check(self, compliance)
        cls.nplc.check(self, nplc)
        if current_range is not None:
            cls.current_range.check(self, current_range)
        self.source_function = "VOLT"
        self.sense_function = "CURR"
        self.source_voltage_autorange = True
        if current_range is None:
            self.current_autorange = True
        else:
            self.current_range = current_range
        self.nplc = nplc
        self._nplc = float(nplc)
        self.source_delay = 0.0
        self.source_readback = False
        self.current_limit = compliance
        self._ilim = float(compliance)
        self.check_errors()

    def _parse_readings(self, text: str, n: int, cmd: str) -> list[Reading]:
        return self._triplets(text, n, cmd, ("i", "t", "v"))

    def measure(self) -> Reading:
        """One reading: ``:READ? "defbuffer1", READ, REL, SOUR`` (current, time stamp, source)."""
        cmd = f":READ? {_BUF}, {_ELEMENTS}"
        return self._parse_readings(self.query(cmd), 1, cmd)[0]

    def _list_run(self, levels: np.ndarray, delay: float, duration: float) -> list[Reading]:
        """One list sweep of <= max_list_points levels with source delay ``delay`` [s]."""
        chunk = self.capabilities.list_chunk
        for k in range(0, len(levels), chunk):
            part = ",".join(fmt_num(float(v)) for v in levels[k:k + chunk])
            self.write((":SOUR:LIST:VOLT " if k == 0 else ":SOUR:LIST:VOLT:APP ") + part)
        self.write(f":SOUR:SWE:VOLT:LIST 1, {fmt_time(delay)}")
        self.write(":INIT")
        self.write("*WAI")
        end = int(float(self.query(f":TRAC:ACT:END? {_BUF}", timeout=duration + self.timeout)))
        n = len(levels)
        start = end - n + 1
        if start < 1:
            raise InstrumentError(f"{self.display_name}: the buffer holds {end} readings after a {n}-point sweep; "
                                  "readings were lost (buffer wrapped or was cleared)")
        cmd = f":TRAC:DATA? {start}, {end}, {_BUF}, {_ELEMENTS}"
        return self._parse_readings(self.query(cmd), n, cmd)

    def _point_delay(self, what: str, duration: float) -> float:
        ap = self.aperture
        if duration < ap:
            raise self.refuse(what, f"{duration:g} s",
                              f"a list point lasts at least one aperture, {ap:g} s at {self._nplc:g} NPLC; "
                              "lower nplc or lengthen it")
        return duration - ap

    def pulse(self, amplitude: float, width: float, compliance: float | None = None) -> Reading:
        """Write pulse as the list ``[amplitude, 0 V]`` with source delay ``width - aperture``.

        Returns the reading at the end of the pulse (current at the
        amplitude).  Refuses (LimitError) widths below the declared minimum
        or below one aperture, and amplitudes or compliances out of range.
        """
        cls = type(self)
        cls.source_voltage.check(self, amplitude)
        if compliance is not None:
            cls.current_limit.check(self, compliance)
        caps = self.capabilities
        if not (isinstance(width, (int, float)) and math.isfinite(width)):
            raise LimitError(f"{self.display_name}: pulse width must be a number of seconds, got {width!r}")
        if width < caps.min_pulse_width:
            raise self.refuse("pulse width", f"{width:g} s", f"minimum {caps.min_pulse_width:g} s")
        if width > caps.max_pulse_width:
            raise self.refuse("pulse width", f"{width:g} s", f"maximum {caps.max_pulse_width:g} s")
        delay = self._point_delay("pulse width", width)
        if compliance is not None:
            self.set_compliance(compliance)
        return self._list_run(np.array([float(amplitude), 0.0]), delay, 2 * width)[0]

    def sweep(self, levels, point_time: float) -> list[Reading]:
        """List sweep through ``levels`` [V], ``point_time`` [s] per point (delay + aperture).

        Lists are sent in chunks of 100 values; runs longer than 2,500 points
        are split into several runs.
        """
        lv = np.asarray(levels, dtype=float).ravel()
        if lv.size == 0:
            raise LimitError(f"{self.display_name}: a sweep needs at least one level")
        for v in lv:
            type(self).source_voltage.check(self, float(v))
        if lv.size > self.capabilities.buffer_size:
            raise self.refuse("sweep length", lv.size, f"buffer of {self.capabilities.buffer_size} readings")
        delay = self._point_delay("sweep point time", float(point_time))
        out: list[Reading] = []
        m = self.capabilities.max_list_points
        for k in range(0, lv.size, m):
            part = lv[k:k + m]
            out.extend(self._list_run(part, delay, part.size * point_time))
        return out

    def wait(self, duration: float) -> None:
        """Hold the present level for ``duration`` [s]: empty trigger model with one delay block, then ``*OPC?``."""
        if not (isinstance(duration, (int, float)) and math.isfinite(duration) and 0 <= duration <= 1e4):
            raise LimitError(f"{self.display_name}: wait duration must be in [0, 10000] s, got {duration!r}")
        if duration == 0:
            return
        self.write(':TRIG:LOAD "Empty"')
        self.write(f":TRIG:BLOC:DEL:CONS 1, {fmt_time(duration)}")
        self.write(":INIT")
        self.query("*OPC?", timeout=duration + self.timeout)

    def in_compliance(self) -> bool:
        """``:SOUR:VOLT:ILIM:TRIP?``."""
        return bool(self.limit_tripped)

    def zero_and_off(self) -> list[str]:
        """Abort any running trigger model, source to 0 V, output off; never raises."""
        problems = []
        for cmd in (":ABOR", ":SOUR:VOLT 0", ":OUTP OFF"):
            try:
                self.write(cmd)
            except Exception as exc:  # the connection may be gone: try the rest anyway
                problems.append(f"{cmd}: {exc}")
        return problems

    def snapshot(self) -> dict:
        """Base snapshot plus the aperture in use."""
        snap = super().snapshot()
        snap["nplc"] = self._nplc
        snap["line_frequency"] = self._lfr
        return snap
