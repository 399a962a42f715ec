"""Units of measured quantities: parsing unit strings and column headers, conversion to SI.

Measured files name their units in many ways: ``"Current (mA)"``,
``"I [uA]"``, ``"V/mV"``, ``"Time(s)"``, ``"I1 A"`` (a trailing unit token, as
Radiant and Keysight exports write them) or ``"I_A"`` (a unit suffix).  This
module turns such strings into a :class:`Unit`: the physical *quantity*
(``"current"``, ``"voltage"``, ...) and the factor (and offset, for degrees
Celsius) that converts a value to SI.

>>> parse_unit("uA").factor
1e-06
>>> split_header("Current (mA)")
('Current', 'mA')
>>> to_si([1.5], "mA")
array([0.0015])

Prefixes ``p n u µ μ m k M G`` combine with the base units ``A V s S Ω/Ohm
F C W Hz``; ``min`` and ``h`` are accepted for time, ``K``, ``degC`` and
``°C`` for temperature, ``1`` (and an empty string) for dimensionless
numbers, and area-normalised units such as ``uC/cm2`` or ``uA_per_cm2``
(polarization and current density).  Unit strings are case-sensitive where
SI is (``mS`` is millisiemens, ``ms`` milliseconds, ``MOhm`` megaohm); the
words ``ohm``/``Ohm``/``OHM`` are all accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from memfit.errors import MeasurementError

__all__ = [
    "Unit",
    "parse_unit",
    "is_unit",
    "to_si",
    "convert",
    "split_header",
    "SI_UNITS",
    "QUANTITY_OF_COLUMN",
]


@dataclass(frozen=True)
class Unit:
    """A parsed unit: ``value_si = value * factor + offset``.

    Attributes
    ----------
    text : str
        The unit as written.
    quantity : str
        ``"current"``, ``"voltage"``, ``"time"``, ``"conductance"``,
        ``"resistance"``, ``"capacitance"``, ``"charge"``, ``"power"``,
        ``"frequency"``, ``"temperature"``, ``"polarization"`` [C/m^2],
        ``"current_density"`` [A/m^2], ``"area"`` [m^2], ``"length"`` [m] or
        ``"dimensionless"``.
    factor : float
        Multiplier to the SI unit of the quantity.
    offset : float
        Added after scaling (only degrees Celsius -> kelvin).
    """

    text: str
    quantity: str
    factor: float
    offset: float = 0.0

    @property
    def si(self) -> str:
        """The SI unit of the quantity (``"A"``, ``"V"``, ...)."""
        return SI_UNITS[self.quantity]

    def to_si(self, values):
        """Convert ``values`` (scalar or array) from this unit to SI."""
        arr = np.asarray(values, dtype=np.float64)
        out = arr * self.factor
        if self.offset:
            out = out + self.offset
        return out


#: SI unit of each quantity.
SI_UNITS = {
    "current": "A",
    "voltage": "V",
    "time": "s",
    "conductance": "S",
    "resistance": "Ohm",
    "capacitance": "F",
    "charge": "C",
    "power": "W",
    "frequency": "Hz",
    "temperature": "K",
    "polarization": "C/m^2",
    "current_density": "A/m^2",
    "area": "m^2",
    "length": "m",
    "dimensionless": "1",
}

#: Quantity of the standard measurement columns (used to check header units).
QUANTITY_OF_COLUMN = {
    "t": "time",
    "v": "voltage",
    "i": "current",
    "v_dev": "voltage",
    "i_dev": "current",
    "g_read": "conductance",
    "g0": "conductance",
    "g": "conductance",
    "r": "resistance",
    "v_read": "voltage",
    "v_write": "voltage",
    "v_gate": "voltage",
    "width": "time",
    "temperature": "temperature",
    "polarization": "polarization",
    "j": "current_density",
}

_PREFIX = {"p": 1e-12, "n": 1e-9, "u": 1e-6, "µ": 1e-6, "μ": 1e-6, "m": 1e-3, "": 1.0, "k": 1e3, "M": 1e6, "G": 1e9}
_BASE = {
    "A": "current",
    "V": "voltage",
    "s": "time",
    "S": "conductance",
    "Ohm": "resistance",
    "F": "capacitance",
    "C": "charge",
    "W": "power",
    "Hz": "frequency",
}
_BASE_ALIASES = {
    "\u03a9": "Ohm",  # Greek capital omega
    "\u2126": "Ohm",  # OHM SIGN
    "Ohms": "Ohm",
    "ohms": "Ohm",
    "ohm": "Ohm",
    "OHM": "Ohm",
    "secs": "s",
    "sec": "s",
    "amps": "A",
    "amp": "A",
    "volts": "V",
    "volt": "V",
    "siemens": "S",
    "Siemens": "S",
}
_SPECIAL = {
    "min": ("time", 60.0, 0.0),
    "h": ("time", 3600.0, 0.0),
    "hr": ("time", 3600.0, 0.0),
    "K": ("temperature", 1.0, 0.0),
    "degC": ("temperature", 1.0, 273.15),
    "°C": ("temperature", 1.0, 273.15),
    "ºC": ("temperature", 1.0, 273.15),
    "C_deg": ("temperature", 1.0, 273.15),
    "1": ("dimensionless", 1.0, 0.0),
    "": ("dimensionless", 1.0, 0.0),
    "a.u.": ("dimensionless", 1.0, 0.0),
    "au": ("dimensionless", 1.0, 0.0),
    "norm": ("dimensionless", 1.0, 0.0),
    "normalized": ("dimensionless", 1.0, 0.0),
    "%": ("dimensionless", 0.01, 0.0),
    "m": ("length", 1.0, 0.0),
    "cm": ("length", 1e-2, 0.0),
    "mm": ("length", 1e-3, 0.0),
    "um": ("length", 1e-6, 0.0),
    "µm": ("length", 1e-6, 0.0),
    "nm": ("length", 1e-9, 0.0),
}
_AREA = {"m2": 1.0, "cm2": 1e-4, "mm2": 1e-6, "um2": 1e-12, "µm2": 1e-12, "nm2": 1e-18}
_PER_AREA = {"charge": "polarization", "current": "current_density"}


def _simple(text: str) -> tuple[str, float, float] | None:
    if text in _SPECIAL:
        return _SPECIAL[text]
    for alias, base in _BASE_ALIASES.items():
        if text.endswith(alias):
            text = text[: -len(alias)] + base
            break
    for base in sorted(_BASE, key=len, reverse=True):
        if text.endswith(base):
            prefix = text[: -len(base)]
            if prefix in _PREFIX:
                return _BASE[base], _PREFIX[prefix], 0.0
    return None


def _parse(text: str) -> Unit | None:
    s = text.strip()
    if s.startswith("(") and s.endswith(")") or s.startswith("[") and s.endswith("]"):
        s = s[1:-1].strip()
    # area-normalised: uC/cm2, uC/cm^2, uC_per_cm2, uA per cm2
    m = re.fullmatch(r"(.+?)\s*(?:/|_per_|\s+per\s+)\s*([a-zµμ]*m)\s*(?:\^?2|²)", s)
    if m:
        num = _simple(m.group(1).strip())
        area = m.group(2).replace("μ", "µ") + "2"
        if num is not None and num[0] in _PER_AREA and area in _AREA:
            factor = float(Decimal(repr(num[1])) / Decimal(repr(_AREA[area])))
            return Unit(text, _PER_AREA[num[0]], factor)
        return None
    m = re.fullmatch(r"([a-zµμ]*m)\s*(?:\^?2|²)", s)
    if m:
        area = m.group(1).replace("μ", "µ") + "2"
        if area in _AREA:
            return Unit(text, "area", _AREA[area])
        return None
    simple = _simple(s)
    if simple is None:
        return None
    q, f, o = simple
    return Unit(text, q, f, o)


def is_unit(text: str) -> bool:
    """True if ``text`` parses as a unit (see :func:`parse_unit`)."""
    return isinstance(text, str) and _parse(text) is not None


def parse_unit(text: str, *, where: str = "") -> Unit:
    """Parse a unit string.

    Parameters
    ----------
    text : str
        E.g. ``"mA"``, ``"µA"``, ``"uA"``, ``"kOhm"``, ``"MΩ"``, ``"us"``,
        ``"degC"``, ``"uC/cm2"``.
    where : str
        Context for the error message (file and column).

    Raises
    ------
    MeasurementError
        If the unit is not known; the message lists the accepted forms.
    """
    if isinstance(text, Unit):
        return text
    unit = _parse(text) if isinstance(text, str) else None
    if unit is None:
        raise MeasurementError(
            f"{where + ': ' if where else ''}unknown unit {text!r}; use e.g. A, mA, uA (µA), nA, pA, V, mV, s, ms, "
            "us (µs), ns, S, mS, uS (µS), Ohm (Ω), kOhm, MOhm, K, degC, uC/cm2, or '1' for dimensionless numbers"
        )
    return unit


def to_si(values, unit: str | Unit):
    """Convert values from ``unit`` to the SI unit of its quantity (returns float64)."""
    return parse_unit(unit).to_si(values)


def convert(values, from_unit: str | Unit, to_unit: str | Unit):
    """Convert values between two units of the same quantity.

    Raises
    ------
    MeasurementError
        If the quantities differ (e.g. mA to mV).
    """
    a, b = parse_unit(from_unit), parse_unit(to_unit)
    if a.quantity != b.quantity:
        raise MeasurementError(f"cannot convert {a.text!r} ({a.quantity}) to {b.text!r} ({b.quantity})")
    si = a.to_si(values)
    return (si - b.offset) / b.factor


_HEADER_FORMS = (
    # (pattern, strong): "strong" forms mark the unit explicitly; weak ones are hints
    (re.compile(r"^(?P<name>.*?)\s*\((?P<unit>[^()]*)\)\s*$"), True),  # Current (mA), Time(s)
    (re.compile(r"^(?P<name>.*?)\s*\[(?P<unit>[^\[\]]*)\]\s*$"), True),  # I [uA]
    (re.compile(r"^(?P<name>[^/]*?)\s*/\s*(?P<unit>[^/]+?)\s*$"), True),  # V/mV
    (re.compile(r"^(?P<name>.*\S)\s+(?P<unit>\S+)$"), False),  # Time s, P1 uC_per_cm2
    (re.compile(r"^(?P<name>.*[^_\s])_(?P<unit>[^_\s]+)$"), False),  # I_A, t_s
)


def split_header(header: str, *, strong_only: bool = False) -> tuple[str, str | None]:
    """Split a column header into its name and unit.

    Recognised forms: ``"Current (mA)"``, ``"Time(s)"``, ``"I [uA]"``,
    ``"V/mV"`` (explicit units), and ``"I1 A"``, ``"I_A"`` (a trailing
    token that parses as a unit).  Returns ``(header, None)`` when no unit is
    found.  An explicit form whose unit does not parse is returned as is
    (``("Current", "furlongs")``) so that the caller can report it.

    >>> split_header("I [uA]"), split_header("Time s"), split_header("dI/dV")
    (('I', 'uA'), ('Time', 's'), ('dI/dV', None))
    """
    h = str(header).strip()
    for k, (pattern, strong) in enumerate(_HEADER_FORMS):
        if strong_only and not strong:
            continue
        m = pattern.match(h)
        if not m or not m.group("name").strip():
            continue
        name, unit = m.group("name").strip(), m.group("unit").strip()
        if k == 2 and not is_unit(unit):
            continue  # a slash that is not a unit separator ("dI/dV", "R_on/R_off")
        if not strong and not _weak_unit(unit):
            continue
        return name, unit
    return h, None


def _weak_unit(text: str) -> bool:
    """A trailing token accepted as a unit without brackets: not dimensionless, not a length, not ambiguous."""
    u = _parse(text)
    return u is not None and u.quantity not in ("dimensionless", "length") and text not in ("C", "h", "hr", "min")


def strength(header: str) -> bool:
    """True if the unit of ``header`` is written in an explicit form (parentheses, brackets, slash)."""
    return split_header(header, strong_only=True)[1] is not None
