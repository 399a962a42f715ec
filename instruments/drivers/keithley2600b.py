"""Keithley 2600B System SourceMeter (2601B/2602B/2611B/2612B/2635B/2636B), TSP command set.

Sources: Keithley 2600B Reference Manual (2600BS-901-01), TSP command
reference; memfit's command notes (``shared/reference/smu_commands.md``).

TSP commands are Lua statements (``smua.source.levelv = 0.5``); answers are
what ``print(...)`` writes (numbers as ``1.00000e-03``, several values
separated by tabs).

Pulses use the SMU trigger model: the source steps to the amplitude when
the channel is armed, timer 1 (``trigger.timer[1].delay = width``) ends the
pulse (``endpulse.action = SOURCE_IDLE``, back to the idle level), and
timer 2 triggers the measurement one aperture before the end, so the
reading is the current at the end of the pulse.  Width resolution 1 µs
(TIMER resolution, reference manual); the 100 µs minimum usable width is
*unverified* ("100 µs class" in the notes).

The 2600B runs scripts: :meth:`Keithley2600B.upload_script` sends
``loadscript <name> ... endscript``, and :meth:`write_verify_onboard` runs a
closed-loop incremental-step write-verify *on the instrument*
(:func:`write_verify_tsp` builds the script).
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
    OneOf,
    Property,
    fmt_num,
    fmt_time,
    parse_bool,
    register_driver,
)
from instruments.routines.smu import SMU, Reading
from memfit.errors import InstrumentError, LimitError

__all__ = ["Keithley2600B", "write_verify_tsp"]

VOLTAGE_RANGES = (0.2, 2.0, 20.0, 200.0)
CURRENT_RANGES = (1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 1.5)
_FUNC_CODES = {1: "VOLT", 0: "CURR"}


def _func_parser(text: str) -> str:
    return _FUNC_CODES[int(float(text))]


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.replace(",", " ").split()]


def write_verify_tsp(name: str = "memfit_wv") -> list[str]:
    """TSP script (lines) defining ``memfit_write_verify(...)``: ISPP write-verify on the instrument.

    The function takes ``(target [S], tol [1], vstart [V], vstep [V], vmax [V],
    width [s], vread [V], maxp, comp [A], pol)``, where ``pol`` (+1/-1) is the
    sign of the amplitude that *raises* the read conductance.  Each pulse is
    ``levelv = amp; delay(width); levelv = 0``, each verify a read at
    ``vread``.  Below the band it pulses with polarity ``pol``, above with
    ``-pol``; on a reversal (overshoot) the amplitude restarts at ``vstart``.
    It prints one line ``n,amp,g`` per verify and ``END,<success 0/1>,<pulses>``.
    """
    return [
        f"loadscript {name}",
        "function memfit_write_verify(target, tol, vstart, vstep, vmax, width, vread, maxp, comp, pol)",
        "  local ch = smua",
        "  ch.source.limiti = comp",
        "  local function rd() ch.source.levelv = vread; local i = ch.measure.i(); ch.source.levelv = 0;"
        " return i / vread end",
        "  local g = rd()",
        "  local n = 0",
        "  local amp = vstart",
        "  local last = 0",
        "  print(string.format('%d,%g,%g', n, 0, g))",
        "  while n < maxp do",
        "    if math.abs(g - target) <= tol * target then break end",
        "    local dir = pol",
        "    if g > target then dir = -pol end",
        "    if last ~= 0 and dir ~= last then amp = vstart end",
        "    last = dir",
        "    ch.source.levelv = dir * amp; delay(width); ch.source.levelv = 0",
        "    n = n + 1",
        "    g = rd()",
        "    print(string.format('%d,%g,%g', n, dir * amp, g))",
        "    amp = math.min(amp + vstep, vmax)",
        "  end",
        "  local ok = 0",
        "  if math.abs(g - target) <= tol * target then ok = 1 end",
        "  print(string.format('END,%d,%d', ok, n))",
        "end",
        "endscript",
    ]


@register_driver
class Keithley2600B(Instrument, SMUDriverMixin, SMU):
    """Keithley 2600B over TSP, one channel (``smua`` default, ``smub`` on two-channel models).

    Parameters
    ----------
    resource : str or pyvisa-like object
        ``"TCPIP::<ip>::INSTR"``, ``"GPIB0::26::INSTR"``, ``"USB0::0x05E6::0x2636::<serial>::INSTR"``.
    channel : {"smua", "smub"}
        SMU channel.
    timeout : float
        I/O timeout [s].
    """

    driver_name = "keithley2600b"
    aliases = ("2600b", "2636b", "2602b", "2612b", "k2600b", "keithley_2600b")
    model = "Keithley 2600B"
    idn_pattern = "MODEL 26"
    capabilities = Capabilities(
        v_max=200.0,
        i_max=1.5,
        i_min_compliance=1e-9,
        min_pulse_width=1e-4,
        max_pulse_width=1e4,
        pulse_resolution=1e-6,
        max_list_points=50_000,
        list_chunk=100,
        buffer_size=50_000,
        voltage_ranges=VOLTAGE_RANGES,
        current_ranges=CURRENT_RANGES,
        notes=("DC ranges of the 2636B (1.5 A DC; the 10 A pulse region is not used); timer resolution 1 us and "
               "> 50,000-reading buffers from the 2600B reference manual / Series 2600 spec; minimum pulse width "
               "100 us UNVERIFIED"),
    )

    identity = Property("*IDN?", parser=str.strip, doc="Identification string")
    line_frequency = Property("print(localnode.linefreq)", unit="Hz", doc="Power-line frequency")
    source_function = Property("print({ch}.source.func)", "{ch}.source.func = {value}",
                               validator=OneOf(("VOLT", "CURR")), parser=_func_parser,
                               values={"VOLT": "{ch}.OUTPUT_DCVOLTS", "CURR": "{ch}.OUTPUT_DCAMPS"},
                               doc="Source function: DC volts or DC amps")
    source_voltage = Property("print({ch}.source.levelv)", "{ch}.source.levelv = {value}", unit="V",
                              validator=InRange(-200.0, 200.0), doc="Source voltage level")
    source_voltage_range = Property("print({ch}.source.rangev)", "{ch}.source.rangev = {value}", unit="V",
                                    validator=OneOf(VOLTAGE_RANGES), doc="Fixed source-voltage range")
    source_voltage_autorange = Property("print({ch}.source.autorangev)", "{ch}.source.autorangev = {value}",
                                        validator=IsBool(), parser=parse_bool,
                                        values={True: "{ch}.AUTORANGE_ON", False: "{ch}.AUTORANGE_OFF"},
                                        doc="Source-voltage autorange")
    current_limit = Property("print({ch}.source.limiti)", "{ch}.source.limiti = {value}", unit="A",
                             validator=InRange(1e-9, 1.5), doc="Current compliance of the voltage source")
    limit_tripped = Property("print({ch}.source.compliance)", parser=parse_bool,
                             doc="True when the source is in compliance")
    current_range = Property("print({ch}.measure.rangei)", "{ch}.measure.rangei = {value}", unit="A",
                             validator=OneOf(CURRENT_RANGES), doc="Fixed current-measure range")
    current_autorange = Property("print({ch}.measure.autorangei)", "{ch}.measure.autorangei = {value}",
                                 validator=IsBool(), parser=parse_bool,
                                 values={True: "{ch}.AUTORANGE_ON", False: "{ch}.AUTORANGE_OFF"},
                                 doc="Current-measure autorange")
    nplc = Property("print({ch}.measure.nplc)", "{ch}.measure.nplc = {value}", unit="PLC",
                    validator=InRange(0.001, 25.0), doc="Measurement aperture in power-line cycles")
    measure_delay = Property("print({ch}.measure.delay)", "{ch}.measure.delay = {value}", unit="s", formatter=fmt_time,
                             validator=InRange(0.0, 1e4), doc="Delay before each measurement")
    output_enabled = Property("print({ch}.source.output)", "{ch}.source.output = {value}", validator=IsBool(),
                              parser=parse_bool, values={True: "{ch}.OUTPUT_ON", False: "{ch}.OUTPUT_OFF"},
                              doc="Output on/off")

    def __init__(self, resource, *, channel: str = "smua", timeout: float = 10.0, name: str | None = None):
        if channel not in ("smua", "smub"):
            raise LimitError(f"Keithley 2600B: channel must be 'smua' or 'smub', got {channel!r}")
        super().__init__(resource, timeout=timeout, name=name)
        self.channel = channel
        self._lfr: float | None = None
        self._nplc = 1.0
        self._ilim: float | None = None
        self._scripts: set[str] = set()

    # --------------------------------------------------------------- basics
    def reset(self) -> None:
        """``reset()``, clear the error queue and zero the timer."""
        self.write("reset()")
        self.write("errorqueue.clear()")
        self.write("timer.reset()")
        self._settings.clear()
        self._ilim = None

    def check_errors(self) -> None:
        """Raise :class:`InstrumentError` if the error queue holds anything."""
        n = int(float(self.query("print(errorqueue.count)")))
        if n:
            msgs = [self.query("print(errorqueue.next())") for _ in range(min(n, 10))]
            raise InstrumentError(f"{self.display_name} reports {n} error(s): {'; '.join(msgs)}")

    @property
    def aperture(self) -> float:
        """One measurement's duration [s] (NPLC / line frequency)."""
        if self._lfr is None:
            self._lfr = float(self.line_frequency)
        return self._nplc / self._lfr

    # ---------------------------------------------------------- SMU interface
    def configure(self, compliance: float, *, nplc: float = 1.0, current_range: float | None = None) -> None:
        """DC volts source (autorange), current measure, compliance [A], aperture [PLC]; timer zeroed."""
        cls = type(self)
        cls.current_limit.check(self, compliance)
        cls.nplc.check(self, nplc)
        if current_range is not None:
            cls.current_range.check(self, current_range)
        self.source_function = "VOLT"
        self.source_voltage_autorange = True
        if current_range is None:
            self.current_autorange = True
        else:
            self.current_range = current_range
        self.nplc = nplc
        self._nplc = float(nplc)
        self.measure_delay = 0.0
        self.current_limit = compliance
        self._ilim = float(compliance)
        self.write("timer.reset()")
        self.check_errors()

    def measure(self) -> Reading:
        """``print(ch.measure.i(), ch.source.levelv, timer.measure.t())``."""
        ch = self.channel
        cmd = f"print({ch}.measure.i(), {ch}.source.levelv, timer.measure.t())"
        text = self.query(cmd)
        try:
            i, v, t = _floats(text)
        except ValueError:
            raise InstrumentError(f"{self.display_name}: cannot parse {text!r} (answer to {cmd!r})") from None
        return Reading(t=t, v=v, i=i)

    def _check_width(self, width) -> float:
        caps = self.capabilities
        if not (isinstance(width, (int, float)) and math.isfinite(width)):
            raise LimitError(f"{self.display_name}: pulse width must be a number of seconds, got {width!r}")
        if width < caps.min_pulse_width:
            raise self.refuse("pulse width", f"{width:g} s", f"minimum {caps.min_pulse_width:g} s (unverified)")
        if width > caps.max_pulse_width:
            raise self.refuse("pulse width", f"{width:g} s", f"maximum {caps.max_pulse_width:g} s")
        ticks = width / caps.pulse_resolution
        if abs(ticks - round(ticks)) > 1e-6 * max(ticks, 1.0):
            raise self.refuse("pulse width", f"{width!r} s",
                              f"timer resolution {caps.pulse_resolution:g} s; use a whole number of microseconds")
        return float(width)

    def pulse(self, amplitude: float, width: float, compliance: float | None = None) -> Reading:
        """One trigger-model pulse: source at arm, timer 1 ends it (SOURCE_IDLE), timer 2 measures at its end."""
        cls = type(self)
        cls.source_voltage.check(self, amplitude)
        if compliance is not None:
            cls.current_limit.check(self, compliance)
        width = self._check_width(width)
        ap = self.aperture
        if width <= ap:
            raise self.refuse("pulse width", f"{width:g} s", f"longer than one aperture ({ap:g} s at {self._nplc:g} "
                              "NPLC) so the current can be measured inside the pulse; lower nplc")
        limit = self._ilim if compliance is None else float(compliance)
        ch = self.channel
        t_meas = round((width - ap) / 1e-6) * 1e-6
        for cmd in (
            f"{ch}.trigger.source.listv({{{fmt_num(float(amplitude))}}})",
            f"{ch}.trigger.source.limiti = {fmt_num(limit)}",
            f"{ch}.trigger.source.action = {ch}.ENABLE",
            f"{ch}.trigger.measure.i({ch}.nvbuffer1)",
            f"{ch}.trigger.measure.action = {ch}.ENABLE",
            f"trigger.timer[1].delay = {fmt_time(width)}",
            "trigger.timer[1].count = 1",
            "trigger.timer[1].passthrough = false",
            f"trigger.timer[1].stimulus = {ch}.trigger.ARMED_EVENT_ID",
            f"trigger.timer[2].delay = {fmt_time(t_meas)}",
            "trigger.timer[2].count = 1",
            "trigger.timer[2].passthrough = false",
            f"trigger.timer[2].stimulus = {ch}.trigger.ARMED_EVENT_ID",
            f"{ch}.trigger.measure.stimulus = trigger.timer[2].EVENT_ID",
            f"{ch}.trigger.endpulse.action = {ch}.SOURCE_IDLE",
            f"{ch}.trigger.endpulse.stimulus = trigger.timer[1].EVENT_ID",
            f"{ch}.trigger.count = 1",
            f"{ch}.nvbuffer1.clear()",
            f"{ch}.nvbuffer1.collecttimestamps = 1",
            f"{ch}.nvbuffer1.collectsourcevalues = 1",
            f"{ch}.trigger.initiate()",
        ):
            self.write(cmd)
        cmd = f"waitcomplete() printbuffer(1, 1, {ch}.nvbuffer1.readings, {ch}.nvbuffer1.sourcevalues, " \
              f"{ch}.nvbuffer1.timestamps)"
        text = self.query(cmd, timeout=width + self.timeout)
        try:
            i, v, t = _floats(text)
        except ValueError:
            raise InstrumentError(f"{self.display_name}: cannot parse {text!r} (answer to {cmd!r})") from None
        return Reading(t=t, v=v, i=i)

    def sweep(self, levels, point_time: float) -> list[Reading]:
        """Trigger-model list sweep (``listv``), timer 1 paces the points, ``SOURCE_HOLD`` between them."""
        lv = np.asarray(levels, dtype=float).ravel()
        if lv.size == 0:
            raise LimitError(f"{self.display_name}: a sweep needs at least one level")
        for v in lv:
            type(self).source_voltage.check(self, float(v))
        if lv.size > self.capabilities.max_list_points:
            raise self.refuse("sweep length", lv.size, f"buffer/list of {self.capabilities.max_list_points} points")
        ap = self.aperture
        if point_time <= ap:
            raise self.refuse("sweep point time", f"{point_time:g} s", f"longer than one aperture ({ap:g} s)")
        if self._ilim is None:
            raise InstrumentError(f"{self.display_name}: call configure(compliance) before a sweep")
        ch = self.channel
        self.write("memfit_list = {}")
        for k in range(0, lv.size, self.capabilities.list_chunk):
            vals = ",".join(fmt_num(float(v)) for v in lv[k:k + self.capabilities.list_chunk])
            self.write(f"for _, v in ipairs({{{vals}}}) do table.insert(memfit_list, v) end")
        for cmd in (
            f"{ch}.trigger.source.listv(memfit_list)",
            f"{ch}.trigger.source.limiti = {fmt_num(self._ilim)}",
            f"{ch}.trigger.source.action = {ch}.ENABLE",
            f"{ch}.trigger.measure.i({ch}.nvbuffer1)",
            f"{ch}.trigger.measure.action = {ch}.ENABLE",
            f"{ch}.trigger.measure.stimulus = 0",
            f"trigger.timer[1].delay = {fmt_time(point_time)}",
            f"trigger.timer[1].count = {lv.size - 1}" if lv.size > 1 else "trigger.timer[1].count = 1",
            "trigger.timer[1].passthrough = true",
            f"trigger.timer[1].stimulus = {ch}.trigger.ARMED_EVENT_ID",
            f"{ch}.trigger.source.stimulus = trigger.timer[1].EVENT_ID",
            f"{ch}.trigger.endpulse.action = {ch}.SOURCE_HOLD",
            f"{ch}.trigger.endpulse.stimulus = 0",
            f"{ch}.trigger.count = {lv.size}",
            f"{ch}.nvbuffer1.clear()",
            f"{ch}.nvbuffer1.collecttimestamps = 1",
            f"{ch}.nvbuffer1.collectsourcevalues = 1",
            f"{ch}.trigger.initiate()",
        ):
            self.write(cmd)
        cmd = f"waitcomplete() printbuffer(1, {lv.size}, {ch}.nvbuffer1.readings, {ch}.nvbuffer1.sourcevalues, " \
              f"{ch}.nvbuffer1.timestamps)"
        text = self.query(cmd, timeout=lv.size * point_time + self.timeout)
        vals = _floats(text)
        if len(vals) != 3 * lv.size:
            raise InstrumentError(f"{self.display_name}: expected {3 * lv.size} values from printbuffer, got "
                                  f"{len(vals)}")
        a = np.asarray(vals).reshape(lv.size, 3)
        return [Reading(t=float(r[2]), v=float(r[1]), i=float(r[0])) for r in a]

    def wait(self, duration: float) -> None:
        """``delay(duration)`` on the instrument, then an acknowledgement line."""
        if not (isinstance(duration, (int, float)) and math.isfinite(duration) and 0 <= duration <= 1e4):
            raise LimitError(f"{self.display_name}: wait duration must be in [0, 10000] s, got {duration!r}")
        if duration == 0:
            return
        self.query(f"delay({fmt_time(duration)}) print(1)", timeout=duration + self.timeout)

    def in_compliance(self) -> bool:
        """``print(ch.source.compliance)``."""
        return bool(self.limit_tripped)

    def zero_and_off(self) -> list[str]:
        """Abort the trigger model, ``levelv = 0``, output off; never raises."""
        ch = self.channel
        problems = []
        for cmd in (f"{ch}.abort()", f"{ch}.source.levelv = 0", f"{ch}.source.output = {ch}.OUTPUT_OFF"):
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

    # ---------------------------------------------------------------- scripts
    def upload_script(self, lines: list[str]) -> str:
        """Send a ``loadscript <name> ... endscript`` block line by line; returns the script name.

        Raises :class:`InstrumentError` if the instrument reports an error afterwards.
        """
        if not lines or not lines[0].startswith("loadscript ") or lines[-1].strip() != "endscript":
            raise InstrumentError(f"{self.display_name}: a script must start with 'loadscript <name>' and end with "
                                  "'endscript'")
        name = lines[0].split()[1]
        for line in lines:
            self.write(line)
        self.check_errors()
        self._scripts.add(name)
        return name

    def write_verify_onboard(self, target: float, *, tol: float, v_start: float, v_step: float, v_max: float,
                             width: float, read_v: float, max_pulses: int, compliance: float,
                             polarity: int = 1) -> dict:
        """Run an incremental-step write-verify loop on the instrument (script :func:`write_verify_tsp`).

        Parameters are validated against the capabilities first.  Returns
        ``{"success": bool, "pulses": int, "trace": [(n, amplitude [V], g [S]), ...]}``.
        """
        cls = type(self)
        for v in (v_start, v_max, -v_max, read_v):
            cls.source_voltage.check(self, v)
        cls.current_limit.check(self, compliance)
        self._check_width(width)
        if polarity not in (1, -1):
            raise LimitError(f"{self.display_name}: polarity must be +1 or -1, got {polarity!r}")
        if read_v == 0:
            raise LimitError(f"{self.display_name}: read_v must not be 0 V (conductance = i / v)")
        if "memfit_wv" not in self._scripts:
            self.upload_script(write_verify_tsp("memfit_wv"))
            self.write("memfit_wv.run()")
        args = ", ".join(fmt_num(float(x)) for x in (target, tol, v_start, v_step, v_max, width, read_v)) + \
            f", {int(max_pulses)}, {fmt_num(float(compliance))}, {int(polarity)}"
        cmd = f"memfit_write_verify({args})"
        self.write(cmd)
        trace = []
        budget = int(max_pulses) * (width + 1.0) + 10.0
        while True:
            line = self.read_line(cmd, timeout=budget)
            parts = line.split(",")
            if parts[0] == "END":
                return {"success": parts[1].strip() == "1", "pulses": int(parts[2]), "trace": trace}
            try:
                trace.append((int(parts[0]), float(parts[1]), float(parts[2])))
            except (ValueError, IndexError):
                raise InstrumentError(f"{self.display_name}: unexpected script output {line!r}") from None
