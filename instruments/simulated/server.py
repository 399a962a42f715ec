"""A simulated Keithley 2450 on a TCP socket, backed by a memfit DeviceModel.

:class:`SimulatedSMU` is a real server (``socketserver``, one thread per
connection) on the loopback interface.  It speaks the SCPI subset that
:class:`instruments.drivers.Keithley2450` uses -- one command per line,
answers terminated by ``"\\n"`` -- so the driver reaches it through real
pyvisa I/O as ``TCPIP::127.0.0.1::<port>::SOCKET``::

    with SimulatedSMU("nbox") as sim:
        smu = Keithley2450(sim.resource)
        ...

Timing follows the instrument: a ``:READ?`` lasts the source delay plus one
aperture (NPLC / line frequency), each list-sweep point its delay plus one
aperture, a trigger-model delay block its delay.  The device model is
integrated over exactly those durations (:class:`~.device.SimulatedDevice`)
on a simulated clock; time stamps (``REL``) are read from that clock.
Between commands no time passes.

Fault injection (for tests): ``drop_after=N`` closes the connection when
command N+1 arrives (it is not executed), ``hang_after=N`` stops answering
after N commands (the client times out), ``force_compliance=True`` reports
every reading as limited by the compliance.

Supported commands (short or long SCPI forms, optional ``LEVel``/``IMMediate``
nodes): ``*IDN? *RST *CLS *OPC? *WAI``, ``:SYST:ERR? :SYST:LFR?``,
``:SOUR:FUNC``, ``:SOUR:VOLT[:RANG[:AUTO]|:ILIM[:TRIP?]|:DEL|:READ:BACK]``,
``:SENS:FUNC``, ``:SENS:CURR:RANG[:AUTO]|:NPLC``, ``:OUTP``,
``:READ? [buffer, elements]``, ``:MEAS:CURR?``, ``:SOUR:LIST:VOLT[:APP]``,
``:SOUR:SWE:VOLT:LIST``, ``:TRIG:LOAD "Empty"``, ``:TRIG:BLOC:DEL:CONS``,
``:INIT``, ``:ABOR``, ``:TRAC:ACT[:END]?``, ``:TRAC:DATA?``, ``:TRAC:POIN``,
``:TRAC:CLE``.  Anything else puts ``-113,"Undefined header"`` in the error
queue; out-of-range values ``-222,"Parameter data out of range"``.
"""

from __future__ import annotations

import re
import socket
import socketserver
import threading
from collections import deque

import numpy as np

from instruments.simulated.device import CURRENT_RANGES, OVERFLOW, MeasurementModel, SimulatedDevice
from memfit.errors import MemfitError

__all__ = ["SimulatedSMU", "Keithley2450Emulator"]

VOLTAGE_RANGES = (0.02, 0.2, 2.0, 20.0, 200.0)
_VOWELS = set("AEIOU")
_OPTIONAL = {"LEV", "IMM", "DC"}


def _short(word: str) -> str:
    """SCPI short form of one header keyword (``VOLTAGE`` -> ``VOLT``, ``DELAY`` -> ``DEL``)."""
    w = word.upper()
    num = re.match(r"^([A-Z*?]+?)(\d*)$", w)
    if num:
        w = num.group(1)
    if w.startswith("*") or len(w) <= 4:
        return w
    return w[:3] if w[3] in _VOWELS else w[:4]


def normalise(header: str) -> tuple[str, bool]:
    """``':SOURce1:VOLTage:LEVel?'`` -> ``('SOUR:VOLT', True)``."""
    h = header.strip()
    query = h.endswith("?")
    h = h.rstrip("?").lstrip(":")
    if h.startswith("*"):
        return h.upper(), query
    parts = [_short(p) for p in h.split(":") if p]
    parts = [p for p in parts if p not in _OPTIONAL]
    return ":".join(parts), query


class _Error(Exception):
    def __init__(self, code: int, text: str):
        super().__init__(f"{code},\"{text}\"")
        self.code, self.text = code, text


def _num(args, k=0, name="value") -> float:
    try:
        return float(args[k])
    except (IndexError, ValueError):
        raise _Error(-104, f"Data type error: {name}") from None


def _onoff(arg: str) -> bool:
    a = arg.strip().upper()
    if a in ("ON", "1"):
        return True
    if a in ("OFF", "0"):
        return False
    raise _Error(-104, "Data type error: expected ON/OFF")


def _fmt(x: float) -> str:
    return f"{x:+.6E}"


class Keithley2450Emulator:
    """The SCPI command interpreter of the simulated 2450 (no sockets; :meth:`handle` one line).

    Parameters
    ----------
    device : SimulatedDevice
        The device under test.
    meter : MeasurementModel
        Ranging, resolution and noise of the readings.
    line_frequency : float
        [Hz]; sets the aperture NPLC / line_frequency.
    force_compliance : bool
        Fault: report every reading as limited by the compliance.
    """

    def __init__(self, device: SimulatedDevice, meter: MeasurementModel | None = None, *,
                 line_frequency: float = 50.0, force_compliance: bool = False):
        self.device = device
        self.meter = meter or MeasurementModel()
        self.line_frequency = float(line_frequency)
        self.force_compliance = force_compliance
        self.lock = threading.RLock()
        self.reset()

    # ---------------------------------------------------------------- state
    def reset(self) -> None:
        """``*RST`` defaults (2450 factory defaults where the driver relies on them)."""
        self.source_function = "VOLT"
        self.sense_function = "CURR"
        self.level = 0.0
        self.vrange, self.vrange_auto = 20.0, True
        self.ilim = 1.05e-4
        self.delay = 0.0
        self.readback = False
        self.irange, self.irange_auto = 1e-4, True
        self.nplc = 1.0
        self.output = False
        self.tripped = False
        self.list: list[float] = []
        self.trigger: dict = {"kind": "empty", "blocks": {}}
        self.buffer: list[tuple[float, float, float]] = []  # (i, t, v)
        self.buffer_size = 100_000
        self.errors: deque = deque()

    @property
    def aperture(self) -> float:
        return self.nplc / self.line_frequency

    def _applied(self) -> float:
        return self.level if self.output else 0.0

    def _measure(self) -> tuple[float, float, float]:
        """Source delay, then one aperture at the present level; store and return (i, t, v)."""
        v = self._applied()
        dev = self.device
        if self.delay > 0:
            dev.apply(v, self.delay, self.ilim)
        i, limited = dev.apply(v, self.aperture, self.ilim, points=5)
        i_true = float(np.mean(i))
        if self.force_compliance:
            limited, i_true = True, (self.ilim if v >= 0 else -self.ilim)
        self.tripped = limited
        i_read = self.meter.reading(i_true, self.nplc, None if self.irange_auto else self.irange)
        if not self.output:
            i_read = self.meter.reading(0.0, self.nplc, None if self.irange_auto else self.irange)
        rec = (i_read, dev.t, self.level)
        self.buffer.append(rec)
        if len(self.buffer) > self.buffer_size:
            del self.buffer[0]
        return rec

    def _elements(self, rec, elements) -> list[str]:
        t0 = self.buffer[0][1] if self.buffer else 0.0
        out = []
        for e in elements:
            e = _short(e)
            if e == "READ":
                out.append(_fmt(rec[0]))
            elif e == "REL":
                out.append(_fmt(rec[1] - t0))
            elif e == "SOUR":
                out.append(_fmt(rec[2]))
            else:
                raise _Error(-224, f"Illegal parameter value: buffer element {e}")
        return out

    def _run_trigger_model(self) -> None:
        tm = self.trigger
        if tm["kind"] == "sweep":
            self.output = True
            for _ in range(tm["count"]):
                for v in tm["levels"]:
                    self.level = v
                    self.device.apply(v, tm["delay"], self.ilim) if tm["delay"] > 0 else None
                    saved, self.delay = self.delay, 0.0
                    try:
                        self._measure()
                    finally:
                        self.delay = saved
        else:
            total = sum(tm["blocks"].values())
            if total > 0:
                self.device.apply(self._applied(), total, self.ilim)

    # ------------------------------------------------------------- commands
    def handle(self, line: str) -> str | None:
        """Execute one command line; return the answer text (queries) or None."""
        with self.lock:
            try:
                return self._dispatch(line)
            except _Error as err:
                self.errors.append((err.code, err.text))
                return None
            except MemfitError as exc:  # integration failure inside the device model
                self.errors.append((-200, f"Execution error: {exc}"[:200]))
                return None

    def _dispatch(self, line: str) -> str | None:
        line = line.strip()
        if not line:
            return None
        head, _, rest = line.partition(" ")
        key, query = normalise(head)
        args = [a.strip().strip('"') for a in rest.split(",")] if rest.strip() else []
        ans = None

        if key == "*IDN" and query:
            return f"KEITHLEY INSTRUMENTS,MODEL 2450,SIM{id(self) % 100000:05d},memfit-sim {self.device.model.name}"
        if key == "*RST":
            self.reset()
            return None
        if key == "*CLS":
            self.errors.clear()
            return None
        if key == "*OPC" and query:
            return "1"
        if key in ("*WAI", "*OPC"):
            return None
        if key == "SYST:ERR" and query:
            if self.errors:
                code, text = self.errors.popleft()
                return f"{code},\"{text}\""
            return '0,"No error"'
        if key == "SYST:LFR" and query:
            return _fmt(self.line_frequency)

        if key == "SOUR:FUNC":
            if query:
                return self.source_function
            f = _short(args[0]) if args else ""
            if f not in ("VOLT", "CURR"):
                raise _Error(-224, "Illegal parameter value")
            if f == "CURR":
                raise _Error(-221, "Settings conflict: the simulated SMU sources voltage only")
            self.source_function = f
            return None
        if key == "SOUR:VOLT":
            if query:
                return _fmt(self.level)
            v = _num(args)
            if abs(v) > 210.0:
                raise _Error(-222, "Parameter data out of range")
            self.level = v
            return None
        if key == "SOUR:VOLT:RANG":
            if query:
                return _fmt(self.vrange)
            v = _num(args)
            if v not in VOLTAGE_RANGES:
                raise _Error(-222, "Parameter data out of range")
            self.vrange, self.vrange_auto = v, False
            return None
        if key == "SOUR:VOLT:RANG:AUTO":
            if query:
                return "1" if self.vrange_auto else "0"
            self.vrange_auto = _onoff(args[0] if args else "")
            return None
        if key == "SOUR:VOLT:ILIM":
            if query:
                return _fmt(self.ilim)
            v = _num(args)
            if not (1e-9 <= v <= 1.05):
                raise _Error(-222, "Parameter data out of range")
            self.ilim = v
            return None
        if key == "SOUR:VOLT:ILIM:TRIP" and query:
            return "1" if self.tripped else "0"
        if key == "SOUR:VOLT:DEL":
            if query:
                return _fmt(self.delay)
            v = _num(args)
            if not (0.0 <= v <= 1e4):
                raise _Error(-222, "Parameter data out of range")
            self.delay = v
            return None
        if key == "SOUR:VOLT:READ:BACK":
            if query:
                return "1" if self.readback else "0"
            self.readback = _onoff(args[0] if args else "")
            return None
        if key == "SENS:FUNC":
            if query:
                return '"CURR:DC"'
            f = _short(args[0].split(":")[0]) if args else ""
            if f != "CURR":
                raise _Error(-221, "Settings conflict: the simulated SMU measures current only")
            return None
        if key == "SENS:CURR:RANG":
            if query:
                return _fmt(self.irange)
            v = _num(args)
            if v not in CURRENT_RANGES:
                raise _Error(-222, "Parameter data out of range")
            self.irange, self.irange_auto = v, False
            return None
        if key == "SENS:CURR:RANG:AUTO":
            if query:
                return "1" if self.irange_auto else "0"
            self.irange_auto = _onoff(args[0] if args else "")
            return None
        if key == "SENS:CURR:NPLC":
            if query:
                return _fmt(self.nplc)
            v = _num(args)
            if not (0.01 <= v <= 10.0):
                raise _Error(-222, "Parameter data out of range")
            self.nplc = v
            return None
        if key == "OUTP":
            if query:
                return "1" if self.output else "0"
            self.output = _onoff(args[0] if args else "")
            return None

        if key in ("READ", "MEAS:CURR", "MEAS") and query:
            rec = self._measure()
            elements = args[1:] if len(args) > 1 else ["READ"]
            return ",".join(self._elements(rec, elements))

        if key in ("SOUR:LIST:VOLT", "SOUR:LIST:VOLT:APP"):
            if query:
                return ",".join(_fmt(v) for v in self.list)
            vals = [_num(args, k) for k in range(len(args))]
            if len(vals) > 100:
                raise _Error(-108, "Parameter not allowed: at most 100 values per command")
            if any(abs(v) > 210.0 for v in vals):
                raise _Error(-222, "Parameter data out of range")
            new = vals if key == "SOUR:LIST:VOLT" else self.list + vals
            if len(new) > 2500:
                raise _Error(-223, "Too much data: list longer than 2500 points")
            self.list = new
            return None
        if key == "SOUR:LIST:VOLT:POIN" and query:
            return str(len(self.list))
        if key == "SOUR:SWE:VOLT:LIST":
            start = int(_num(args, 0, "start index")) if args else 1
            delay = _num(args, 1, "delay") if len(args) > 1 else 0.0
            count = int(_num(args, 2, "count")) if len(args) > 2 else 1
            if not self.list:
                raise _Error(-221, "Settings conflict: the source list is empty")
            if not (1 <= start <= len(self.list)) or not (0 <= delay <= 1e4) or count < 1:
                raise _Error(-222, "Parameter data out of range")
            self.trigger = {"kind": "sweep", "levels": list(self.list[start - 1:]), "delay": delay, "count": count}
            return None
        if key == "TRIG:LOAD":
            if not args or args[0].upper() != "EMPTY":
                raise _Error(-224, "Illegal parameter value: only the 'Empty' trigger model is simulated")
            self.trigger = {"kind": "empty", "blocks": {}}
            return None
        if key == "TRIG:BLOC:DEL:CONS":
            n = int(_num(args, 0, "block"))
            d = _num(args, 1, "delay")
            if not (0 <= d <= 1e4) or n < 1:
                raise _Error(-222, "Parameter data out of range")
            if self.trigger.get("kind") != "empty":
                self.trigger = {"kind": "empty", "blocks": {}}
            self.trigger["blocks"][n] = d
            return None
        if key == "INIT":
            self._run_trigger_model()
            return None
        if key == "ABOR":
            return None

        if key in ("TRAC:ACT", "TRAC:ACT:END") and query:
            return str(len(self.buffer))
        if key == "TRAC:ACT:STAR" and query:
            return "1" if self.buffer else "0"
        if key == "TRAC:DATA" and query:
            s = int(_num(args, 0, "start"))
            e = int(_num(args, 1, "end"))
            if not (1 <= s <= e <= len(self.buffer)):
                raise _Error(-222, f"Parameter data out of range: readings {s}..{e} of {len(self.buffer)}")
            elements = args[3:] if len(args) > 3 else ["READ"]
            out = []
            for rec in self.buffer[s - 1:e]:
                out.extend(self._elements(rec, elements))
            return ",".join(out)
        if key == "TRAC:POIN":
            if query:
                return str(self.buffer_size)
            n = int(_num(args))
            if not (10 <= n <= 4_000_000):
                raise _Error(-222, "Parameter data out of range")
            self.buffer_size = n
            return None
        if key == "TRAC:CLE":
            self.buffer.clear()
            return None
        raise _Error(-113, f"Undefined header: {head}")


class _Handler(socketserver.StreamRequestHandler):
    def setup(self):
        super().setup()
        # answers are tiny; without TCP_NODELAY Nagle + delayed ACK add ~40 ms per query
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self):
        srv: "_TCPServer" = self.server  # type: ignore[assignment]
        owner = srv.owner
        with owner._conn_lock:
            owner._connections.add(self.connection)
        try:
            for raw in self.rfile:
                line = raw.decode("ascii", "replace").strip()
                if not line:
                    continue
                with owner._count_lock:
                    owner.n_commands += 1
                    n = owner.n_commands
                if owner.drop_after is not None and n > owner.drop_after:
                    owner.dropped = True
                    owner.dropped_commands.append(line)
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                owner.commands.append(line)
                answer = owner.emulator.handle(line)
                if owner.hang_after is not None and n > owner.hang_after:
                    continue  # swallow: the client times out
                if answer is not None:
                    self.wfile.write((answer + "\n").encode("ascii"))
                    self.wfile.flush()
        except (ConnectionError, OSError):
            return
        finally:
            with owner._conn_lock:
                owner._connections.discard(self.connection)


class _TCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, addr, owner):
        self.owner = owner
        super().__init__(addr, _Handler)


class SimulatedSMU:
    """A simulated Keithley 2450 on ``127.0.0.1``, backed by a memfit DeviceModel.

    Parameters
    ----------
    model : str or DeviceModel
        Device model (registered name or alias, e.g. ``"nbox"``).
    params : dict, optional
        Model parameter overrides (the "true" device).
    x0 : dict, optional
        Initial state.
    port : int
        TCP port; 0 picks a free one (see :attr:`port` after :meth:`start`).
    host : str
        Interface (loopback by default).
    series_resistance : float
        Series resistance between SMU and device [Ohm].
    noise : bool
        Measurement noise on/off (quantisation always applies).
    seed : int
        Noise seed.
    line_frequency : float
        [Hz].
    drop_after, hang_after : int, optional
        Fault injection: close the connection / stop answering after that many commands.
    force_compliance : bool
        Fault injection: report compliance on every reading.

    Attributes
    ----------
    commands : list of str
        Every command executed, in order (tests inspect the wire).
    device : SimulatedDevice
        The device (state, clock, parameters).
    """

    def __init__(self, model="nbox", params: dict | None = None, x0: dict | None = None, *, port: int = 0,
                 host: str = "127.0.0.1", series_resistance: float = 0.0, noise: bool = True, seed: int = 0,
                 line_frequency: float = 50.0, drop_after: int | None = None, hang_after: int | None = None,
                 force_compliance: bool = False):
        self.device = SimulatedDevice(model, params, x0, series_resistance)
        self.emulator = Keithley2450Emulator(self.device, MeasurementModel(seed=seed, noise=noise),
                                             line_frequency=line_frequency, force_compliance=force_compliance)
        self.host, self._port = host, int(port)
        self.drop_after, self.hang_after = drop_after, hang_after
        self.commands: list[str] = []
        self.dropped_commands: list[str] = []
        self.dropped = False
        self.n_commands = 0
        self._count_lock = threading.Lock()
        self._conn_lock = threading.Lock()
        self._connections: set = set()
        self._server: _TCPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound TCP port."""
        if self._server is None:
            return self._port
        return self._server.server_address[1]

    @property
    def resource(self) -> str:
        """VISA resource string of this server."""
        return f"TCPIP::{self.host}::{self.port}::SOCKET"

    def start(self) -> "SimulatedSMU":
        """Bind and serve in a daemon thread; returns self."""
        self.device.warm_up()
        self._server = _TCPServer((self.host, self._port), self)
        self._thread = threading.Thread(target=self._server.serve_forever, name="memfit-sim-smu", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Bind and serve in the calling thread (the ``memfit sim-smu`` command)."""
        self.device.warm_up()
        self._server = _TCPServer((self.host, self._port), self)
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def stop(self) -> None:
        """Stop serving and close every connection."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            with self._conn_lock:
                for c in list(self._connections):
                    try:
                        c.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
            self._server = None

    def __enter__(self) -> "SimulatedSMU":
        return self.start()

    def __exit__(self, *exc) -> bool:
        self.stop()
        return False


# keep OVERFLOW importable from here for tests that check over-range readings
OVERFLOW = OVERFLOW
