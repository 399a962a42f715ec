"""Driver machinery: declared properties with strict validators, capabilities, transport, registry.

A driver is a class whose instrument settings are *declared* as
:class:`Property` descriptors::

    class MySMU(Instrument):
        current_limit = Property(
            ":SOUR:VOLT:ILIM?", ":SOUR:VOLT:ILIM {value}", unit="A",
            validator=InRange(1e-9, 1.05), doc="Current compliance of the voltage source.")

Reading ``smu.current_limit`` sends the query and parses the answer; setting
it validates the value *first* and raises :class:`~memfit.errors.LimitError`
naming the instrument, the property, the value and the allowed range when
it is outside -- nothing is sent, nothing is clipped.

Every driver also declares its :class:`Capabilities` (voltage and current
ranges, the shortest pulse it can make, the longest list, the buffer size).
Methods that would need more refuse with a :class:`LimitError` naming the
instrument and the limit instead of silently stretching a pulse.

Transport: a driver talks to any pyvisa-like resource (``write``, ``read``,
``query``, ``close``, ``timeout``).  Given a resource *string* it opens it
with ``pyvisa.ResourceManager("@py")`` (the pure-Python pyvisa-py backend)
with ``"\\n"`` termination.  Every I/O failure becomes an
:class:`~memfit.errors.InstrumentError` naming the instrument, the resource
and the command.

The registry :data:`DRIVERS` maps driver names (``"keithley2450"`` ...) to
classes; a contract test walks it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from numbers import Integral, Real
from typing import Any, Callable, Iterable

import numpy as np

from memfit.errors import InstrumentError, LimitError

__all__ = [
    "Property",
    "Validator",
    "InRange",
    "OneOf",
    "IsBool",
    "IsInt",
    "Capabilities",
    "Instrument",
    "DRIVERS",
    "register_driver",
    "get_driver",
    "open_resource",
]


# ---------------------------------------------------------------------------
# validators
# ---------------------------------------------------------------------------
class Validator:
    """Base class of the strict property validators.

    A validator either returns the (normalised) value or raises
    :class:`LimitError`.  It never clips or rounds.
    """

    def __call__(self, value, where: str, unit: str = ""):  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self, unit: str = "") -> str:  # pragma: no cover - abstract
        """Human-readable allowed set (used in docs and messages)."""
        raise NotImplementedError

    def invalid_examples(self) -> list:
        """Values the validator must reject (the contract test feeds them)."""
        return []

    def valid_example(self):
        """One value the validator accepts (the contract test uses it)."""
        raise NotImplementedError


def _as_real(value, where: str, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise LimitError(f"{where} must be a number in {unit or '1'}, got {value!r} ({type(value).__name__})")
    x = float(value)
    if not math.isfinite(x):
        raise LimitError(f"{where} must be finite, got {value!r} {unit}".rstrip())
    return x


class InRange(Validator):
    """A finite real number in ``[lo, hi]`` (inclusive).

    Parameters
    ----------
    lo, hi : float
        Allowed range, in the property's unit.
    """

    def __init__(self, lo: float, hi: float):
        if not lo <= hi:
            raise ValueError(f"InRange needs lo <= hi, got {lo}, {hi}")
        self.lo, self.hi = float(lo), float(hi)

    def __call__(self, value, where: str, unit: str = ""):
        x = _as_real(value, where, unit)
        if not (self.lo <= x <= self.hi):
            raise LimitError(f"{where} = {x:g} {unit} is outside the allowed range {self.describe(unit)}; "
                             "nothing was sent".replace("  ", " "))
        return x

    def describe(self, unit: str = "") -> str:
        """``"[lo, hi] unit"``."""
        return f"[{self.lo:g}, {self.hi:g}] {unit}".rstrip()

    def invalid_examples(self) -> list:
        """Above and below the range, NaN, a string and a bool."""
        span = max(abs(self.hi - self.lo), abs(self.hi), 1.0)
        return [self.hi + 0.5 * span, self.lo - 0.5 * span, float("nan"), "1", True]

    def valid_example(self):
        """``hi`` when the range holds 0 (and ``hi != 0``), else the midpoint."""
        return self.hi if self.lo <= 0 <= self.hi and self.hi != 0 else self.lo + 0.5 * (self.hi - self.lo)


class IsInt(InRange):
    """A whole number (``int``, not ``bool``) in ``[lo, hi]``."""

    def __call__(self, value, where: str, unit: str = ""):
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise LimitError(f"{where} must be a whole number, got {value!r} ({type(value).__name__})")
        x = int(value)
        if not (self.lo <= x <= self.hi):
            raise LimitError(f"{where} = {x} is outside the allowed range {self.describe(unit)}; nothing was sent")
        return x

    def describe(self, unit: str = "") -> str:
        """``"[lo, hi] unit"`` with whole-number bounds."""
        return f"[{int(self.lo)}, {int(self.hi)}] {unit}".rstrip()

    def invalid_examples(self) -> list:
        """``hi + 1``, ``lo - 1``, a float and a bool."""
        return [int(self.hi) + 1, int(self.lo) - 1, 1.5, True]

    def valid_example(self):
        """``lo`` as an int."""
        return int(self.lo)


class OneOf(Validator):
    """One of a fixed set of values (compared exactly; strings case-sensitively)."""

    def __init__(self, choices: Iterable):
        self.choices = tuple(choices)

    def __call__(self, value, where: str, unit: str = ""):
        for c in self.choices:
            if type(value) is type(c) and value == c:
                return value
            if isinstance(c, Real) and not isinstance(c, bool) and isinstance(value, Real) \
                    and not isinstance(value, bool) and float(value) == float(c):
                return c
        raise LimitError(f"{where} = {value!r} is not allowed; choose one of {self.describe(unit)}; nothing was sent")

    def describe(self, unit: str = "") -> str:
        """``"{choice, ...} unit"``."""
        return "{" + ", ".join(repr(c) for c in self.choices) + "}" + (f" {unit}" if unit else "")

    def invalid_examples(self) -> list:
        """A string not among the choices, and a value of the wrong type or larger than every numeric choice."""
        out = ["not-a-choice"] if all(not isinstance(c, str) or c != "not-a-choice" for c in self.choices) else []
        if all(isinstance(c, str) for c in self.choices):
            out.append(1.0)
        else:
            out.append(max(float(c) for c in self.choices) * 10 + 1)
        return out

    def valid_example(self):
        """The first choice."""
        return self.choices[0]


class IsBool(Validator):
    """``True`` or ``False`` (not 0/1, not strings)."""

    def __call__(self, value, where: str, unit: str = ""):
        if not isinstance(value, bool):
            raise LimitError(f"{where} must be True or False, got {value!r}; nothing was sent")
        return value

    def describe(self, unit: str = "") -> str:
        """``"{True, False}"``."""
        return "{True, False}"

    def invalid_examples(self) -> list:
        """``1`` and ``"ON"``."""
        return [1, "ON"]

    def valid_example(self):
        """``True``."""
        return True


# ---------------------------------------------------------------------------
# parsers / formatters
# ---------------------------------------------------------------------------
def parse_float(text: str) -> float:
    """A number from an instrument answer (``'+1.000000E-03'``, ``'1e-3\\n'``)."""
    return float(text.strip().split(",")[0])


def parse_bool(text: str) -> bool:
    """``'1'``/``'ON'``/``'true'`` -> True, ``'0'``/``'OFF'``/``'false'`` -> False."""
    s = text.strip().strip('"').upper()
    if s in ("1", "ON", "TRUE", "1.00000E+00"):
        return True
    if s in ("0", "OFF", "FALSE", "0.00000E+00"):
        return False
    return bool(float(s))


def parse_str(text: str) -> str:
    """An enumerated answer without quotes, upper case (``'"CURR:DC"'`` -> ``'CURR:DC'``)."""
    return text.strip().strip('"').upper()


def fmt_num(x: float) -> str:
    """Number as sent on the wire: shortest round-trip representation (``1e-06``, ``0.5``)."""
    if isinstance(x, Integral) and not isinstance(x, bool):
        return str(int(x))
    return repr(float(x))


def fmt_time(x: float) -> str:
    """A duration [s] on the wire, rounded to 1 ns (far below any instrument's timing resolution)."""
    return fmt_num(round(float(x), 9))


def fmt_onoff(x: bool) -> str:
    """``ON``/``OFF`` (SCPI booleans)."""
    return "ON" if x else "OFF"


# ---------------------------------------------------------------------------
# Property
# ---------------------------------------------------------------------------
class Property:
    """A declared instrument setting: get/set command templates, parser and a strict validator.

    Parameters
    ----------
    get : str or None
        Query template (``":SOUR:VOLT:ILIM?"``); ``None`` for write-only.
        ``{ch}`` is replaced by the driver's channel.
    set : str or None
        Command template with ``{value}`` (``":SOUR:VOLT:ILIM {value}"``);
        ``None`` for read-only.
    unit : str
        SI unit of the value (``"V"``, ``"A"``, ``"s"``, ``""``).
    validator : Validator, optional
        Required when ``set`` is given: the value is checked *before*
        anything is sent; out of range raises :class:`LimitError`.
    parser : callable
        Answer text -> value (default :func:`parse_float`).
    formatter : callable
        Value -> text in the command (default :func:`fmt_num`).
    values : dict, optional
        Value -> wire text for enumerated settings (``{True: "smua.OUTPUT_ON"}``);
        answers are mapped back.
    doc : str
        What the setting is (required; the contract test checks it).
    """

    def __init__(self, get: str | None, set: str | None = None, *, unit: str = "",
                 validator: Validator | None = None, parser: Callable[[str], Any] = parse_float,
                 formatter: Callable[[Any], str] = fmt_num, values: dict | None = None, doc: str = ""):
        if set is not None and validator is None:
            raise TypeError("a settable Property needs a validator (strict drivers never send unchecked values)")
        self.get_cmd, self.set_cmd = get, set
        self.unit = unit
        self.validator = validator
        self.parser = parser
        self.formatter = formatter
        self.values = dict(values) if values else None
        self.doc = doc
        self.name = "?"
        self.__doc__ = self._docstring()

    def __set_name__(self, owner, name):
        self.name = name
        self.__doc__ = self._docstring()

    def _docstring(self) -> str:
        allowed = f" Allowed: {self.validator.describe(self.unit)}." if self.validator is not None else ""
        access = "read/write" if self.get_cmd and self.set_cmd else ("read-only" if self.get_cmd else "write-only")
        unit = f" [{self.unit}]" if self.unit else ""
        return f"{self.doc}{unit} ({access}).{allowed}"

    @property
    def readable(self) -> bool:
        return self.get_cmd is not None

    @property
    def writable(self) -> bool:
        return self.set_cmd is not None

    def where(self, inst) -> str:
        """``"<instrument>.<property>"`` for messages."""
        return f"{inst.display_name}.{self.name}"

    def check(self, inst, value):
        """Validate ``value`` for instrument ``inst`` (raises :class:`LimitError`); returns it normalised."""
        if not self.writable:
            raise InstrumentError(f"{self.where(inst)} is read-only")
        return self.validator(value, self.where(inst), self.unit)

    def __get__(self, inst, owner=None):
        if inst is None:
            return self
        if not self.readable:
            raise InstrumentError(f"{self.where(inst)} is write-only; the instrument cannot report it")
        text = inst.query(self.get_cmd.format(ch=inst.channel))
        if self.values is not None:
            back = {v.format(ch=inst.channel).upper(): k for k, v in self.values.items()}
            key = parse_str(text)
            if key in back:
                return back[key]
        try:
            return self.parser(text)
        except (ValueError, IndexError, KeyError):
            raise InstrumentError(f"{self.where(inst)}: cannot parse the answer {text!r} to {self.get_cmd!r}") from None

    def __set__(self, inst, value):
        value = self.check(inst, value)
        text = self.values[value].format(ch=inst.channel) if self.values is not None else self.formatter(value)
        inst.write(self.set_cmd.format(value=text, ch=inst.channel))
        inst._settings[self.name] = value


# ---------------------------------------------------------------------------
# capabilities
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Capabilities:
    """What an instrument can do; drivers refuse (LimitError) anything beyond.

    Attributes
    ----------
    v_max : float
        Largest |source voltage| [V].
    i_max : float
        Largest |current| / compliance [A].
    i_min_compliance : float
        Smallest compliance setting [A].
    min_pulse_width, max_pulse_width : float
        Pulse width range the driver can produce exactly [s].
    pulse_resolution : float
        Granularity of a pulse width [s] (0: any value).
    max_list_points : int
        Longest list sweep in one run.
    list_chunk : int
        Points per list command (longer lists are appended in chunks).
    buffer_size : int
        Readings the instrument buffer holds.
    voltage_ranges, current_ranges : tuple of float
        Fixed source-voltage [V] and measure-current [A] ranges.
    notes : str
        Where the numbers come from; marked *unverified* where they are.
    """

    v_max: float
    i_max: float
    i_min_compliance: float
    min_pulse_width: float
    max_pulse_width: float
    pulse_resolution: float
    max_list_points: int
    list_chunk: int
    buffer_size: int
    voltage_ranges: tuple
    current_ranges: tuple
    notes: str = ""

    def as_dict(self) -> dict:
        """The capabilities as a JSON-able dict (ranges as lists)."""
        d = asdict(self)
        d["voltage_ranges"] = list(self.voltage_ranges)
        d["current_ranges"] = list(self.current_ranges)
        return d


# ---------------------------------------------------------------------------
# transport
# ---------------------------------------------------------------------------
def open_resource(resource: str, timeout: float = 10.0):
    """Open a VISA resource string with pyvisa's pure-Python backend (``"@py"``).

    ``"\\n"`` read and write termination, ``timeout`` [s].  Raises
    :class:`InstrumentError` when the resource cannot be opened.
    """
    try:
        import pyvisa
    except ImportError as exc:  # pragma: no cover - pyvisa is a dependency
        raise InstrumentError("pyvisa is needed to talk to instruments: pip install pyvisa pyvisa-py") from exc
    try:
        rm = pyvisa.ResourceManager("@py")
        res = rm.open_resource(resource, read_termination="\n", write_termination="\n")
        res.timeout = int(timeout * 1000)
    except Exception as exc:  # pyvisa raises many types (VisaIOError, ValueError, OSError)
        raise InstrumentError(f"cannot open {resource!r}: {type(exc).__name__}: {exc}") from exc
    _no_delay(res)
    return res


def _no_delay(res) -> None:
    """Disable Nagle's algorithm on a pyvisa-py raw socket session.

    A driver sends several short commands in a row; with Nagle on, each
    waits for the instrument's delayed ACK (~40 ms on Linux), which turns a
    1 ms exchange into 100 ms.  pyvisa-py does not expose the option, so
    the socket is reached through the session table; anything unexpected
    is left alone.
    """
    import socket

    try:
        sock = res.visalib.sessions[res.session].interface
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except Exception:
        pass


DRIVERS: dict[str, type["Instrument"]] = {}


def register_driver(cls):
    """Class decorator: add a driver to :data:`DRIVERS` under ``cls.driver_name``."""
    DRIVERS[cls.driver_name] = cls
    return cls


def get_driver(name: str) -> type["Instrument"]:
    """Driver class by name (``"keithley2450"``, ``"keithley2600b"``, ``"keysight_b2900"``)."""
    from instruments import drivers as _d  # noqa: F401  (importing registers the drivers)

    key = name.lower().replace("-", "_")
    if key in DRIVERS:
        return DRIVERS[key]
    for cls in DRIVERS.values():
        if key in cls.aliases:
            return cls
    raise InstrumentError(f"unknown driver {name!r}; drivers: {', '.join(sorted(DRIVERS))}")


class Instrument:
    """Base class of the drivers: transport, error translation, properties and snapshot.

    Parameters
    ----------
    resource : str or pyvisa-like object
        VISA resource string (``"TCPIP::127.0.0.1::5025::SOCKET"``,
        ``"USB0::0x05E6::0x2450::...::INSTR"``), or an open resource object
        with ``write``, ``read`` and ``query`` (tests pass a protocol replay).
    timeout : float
        I/O timeout [s].
    name : str, optional
        Display name in messages (default: the model name).
    """

    #: Registry key.
    driver_name = "instrument"
    #: Other names accepted by :func:`get_driver`.
    aliases: tuple = ()
    #: Model name used in messages.
    model = "instrument"
    #: Text in the ``*IDN?`` answer that identifies the model (used by ``open_smu``).
    idn_pattern = "\x00no-instrument"
    #: Declared capability limits (set by each driver).
    capabilities: Capabilities
    #: Channel substituted into ``{ch}`` of the property templates.
    channel = ""

    def __init__(self, resource, *, timeout: float = 10.0, name: str | None = None):
        if isinstance(resource, str):
            self.resource_name = resource
            self._res = open_resource(resource, timeout)
        else:
            self.resource_name = getattr(resource, "resource_name", type(resource).__name__)
            self._res = resource
        self.timeout = float(timeout)
        self.display_name = name or self.model
        self._settings: dict[str, Any] = {}
        self.log: list[str] = []  # the last commands sent (for error messages)

    # ----------------------------------------------------------------- I/O
    def _fail(self, op: str, cmd: str, exc: BaseException) -> InstrumentError:
        return InstrumentError(
            f"{self.display_name} at {self.resource_name}: {op} {cmd!r} failed "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no details'}); "
            "check the cable/connection and that the instrument is in the right command set"
        )

    def write(self, cmd: str) -> None:
        """Send one command; I/O failures raise :class:`InstrumentError`."""
        self.log.append(cmd)
        del self.log[:-20]
        try:
            self._res.write(cmd)
        except InstrumentError:
            raise
        except Exception as exc:
            raise self._fail("writing", cmd, exc) from exc

    def query(self, cmd: str, timeout: float | None = None) -> str:
        """Send a query and return the answer (stripped); failures raise :class:`InstrumentError`."""
        self.write(cmd)
        old = None
        try:
            if timeout is not None:
                old = self._res.timeout
                self._res.timeout = int(max(timeout, self.timeout) * 1000)
            text = self._res.read()
        except InstrumentError:
            raise
        except Exception as exc:
            raise self._fail("reading the answer to", cmd, exc) from exc
        finally:
            if old is not None:
                try:
                    self._res.timeout = old
                except Exception:  # pragma: no cover - closed resource
                    pass
        if text is None or not str(text).strip():
            raise InstrumentError(f"{self.display_name} at {self.resource_name}: empty answer to {cmd!r}")
        return str(text).strip()

    def read_line(self, cmd: str = "", timeout: float | None = None) -> str:
        """Read one more answer line (instruments that print several lines per command)."""
        old = None
        try:
            if timeout is not None:
                old = self._res.timeout
                self._res.timeout = int(max(timeout, self.timeout) * 1000)
            return str(self._res.read()).strip()
        except Exception as exc:
            raise self._fail("reading the output of", cmd or "a script", exc) from exc
        finally:
            if old is not None:
                try:
                    self._res.timeout = old
                except Exception:  # pragma: no cover
                    pass

    def close(self) -> None:
        """Close the resource (errors ignored)."""
        try:
            self._res.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # ------------------------------------------------------------ helpers
    @classmethod
    def properties(cls) -> dict[str, Property]:
        """Declared properties by name (including inherited)."""
        out: dict[str, Property] = {}
        for klass in reversed(cls.__mro__):
            for k, v in vars(klass).items():
                if isinstance(v, Property):
                    out[k] = v
        return out

    def refuse(self, what: str, value, limit: str) -> LimitError:
        """A :class:`LimitError` naming this instrument, the request and the capability limit."""
        return LimitError(f"{self.display_name}: {what} = {value} is beyond the instrument's capability "
                          f"({limit}); nothing was sent")

    def snapshot(self) -> dict:
        """Identification, the settings this driver has sent, and the capabilities (JSON-able)."""
        return {
            "driver": self.driver_name,
            "model": self.model,
            "resource": self.resource_name,
            "settings": dict(self._settings),
            "capabilities": self.capabilities.as_dict(),
        }


class SMUDriverMixin:
    """What the three SMU drivers share: compliance, level and output through their declared
    properties (``current_limit``, ``source_voltage``, ``output_enabled``), and the parsing of
    ``n`` readings answered as comma-separated triplets."""

    def set_compliance(self, compliance: float) -> None:
        """Current compliance [A] through the ``current_limit`` property; not re-sent when unchanged."""
        type(self).current_limit.check(self, compliance)
        if self._ilim is not None and float(compliance) == self._ilim:
            return
        self.current_limit = compliance
        self._ilim = float(compliance)

    def set_level(self, v: float) -> None:
        """Source voltage [V] (``source_voltage``)."""
        self.source_voltage = v

    def output(self, on: bool) -> None:
        """Output on/off (``output_enabled``)."""
        self.output_enabled = on

    def _triplets(self, text: str, n: int, cmd: str, order: tuple[str, str, str]) -> list:
        """``n`` readings from an answer of 3n comma-separated numbers; ``order`` names the fields
        (``"v"`` [V], ``"i"`` [A], ``"t"`` [s]) in the order the instrument sends them."""
        from instruments.routines.smu import Reading

        try:
            vals = [float(x) for x in text.split(",")]
        except ValueError:
            raise InstrumentError(f"{self.display_name}: cannot parse the answer {text[:80]!r} to {cmd!r}") from None
        if len(vals) != 3 * n:
            names = {"v": "voltage", "i": "current", "t": "time"}
            raise InstrumentError(f"{self.display_name}: expected {3 * n} values ({', '.join(names[k] for k in order)}) "
                                  f"in the answer to {cmd!r}, got {len(vals)}")
        a = np.asarray(vals).reshape(n, 3)
        k = {name: j for j, name in enumerate(order)}
        return [Reading(t=float(r[k["t"]]), v=float(r[k["v"]]), i=float(r[k["i"]])) for r in a]
