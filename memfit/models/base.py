"""The DeviceModel specification: what every compact model declares.

A :class:`DeviceModel` is data plus three jitted kernels.  The data are its
name, its source (:class:`Reference`, with DOI), its state variables
(:class:`StateVariable`: name, unit, bounds, initial value) and its parameters
(:class:`Parameter`: name, unit, default, bounds, description).  The kernels
work on flat ``float64`` arrays in SI units and know no names:

``rhs(x, v, t, p, dxdt)``
    Writes the state derivative ``dx/dt`` into ``dxdt`` for state ``x``,
    device voltage ``v`` [V] and time ``t`` [s].  Pure function of its
    arguments (no hidden integrator state, no fixed time step).
``current(x, v, p) -> i``
    The port equation: device current [A] at state ``x`` and device voltage
    ``v`` [V].  Must be zero at ``v = 0`` for a memristive element and
    continuous in ``v``.
``p``
    The parameter vector, in the order of :attr:`DeviceModel.parameters`.

State bounds are declared (numbers, or the name of a parameter that holds
the bound) instead of being a third kernel: the integrators clamp every
accepted step to them, so a model cannot run away past its physical range
(see ``baselines_and_pitfalls.md``, pitfall 3).

Kernels are plain functions decorated with :func:`memfit.models.kernel`
(``numba.njit(cache=True)`` without numba's reference counting, which cost the
integrators more than the models' arithmetic: see :mod:`memfit._jit`; a plain
``@njit`` kernel works too, slower).  They compile lazily, the first time a
simulation needs them, and must not allocate.  The same Python source can later
be compiled for other targets (CUDA), so each model's equations exist once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from memfit.errors import ModelError, ParameterError

#: Port relations a model's ``current`` kernel may implement (see :class:`DeviceModel`).
PORTS = {"i(v)": ("i", "A"), "q(v)": ("q", "C"), "phi(i)": ("phi", "Wb")}


@dataclass(frozen=True)
class Reference:
    """Where a model comes from.

    Parameters
    ----------
    citation : str
        Authors, title, venue, year.
    doi : str
        Digital object identifier (without ``https://doi.org/``), or ``""``
        when the source has none (then ``url`` must be given).
    url : str, optional
        A stable link for sources without DOI (arXiv, archived code).
    note : str, optional
        What was verified and against what (e.g. "equations checked against
        the authors' Verilog-A").
    """

    citation: str
    doi: str = ""
    url: str = ""
    note: str = ""

    def __post_init__(self):
        if not self.citation:
            raise ModelError("Reference needs a citation")
        if not (self.doi or self.url):
            raise ModelError(f"Reference {self.citation!r} needs a DOI or a URL")

    def __str__(self) -> str:
        link = f"doi:{self.doi}" if self.doi else self.url
        return f"{self.citation}, {link}"


@dataclass(frozen=True)
class Parameter:
    """One named model parameter.

    Parameters
    ----------
    name : str
        Identifier used everywhere above the kernels (``R_on``, ``k_off`` ...).
    unit : str
        SI unit, e.g. ``"Ohm"``, ``"V"``, ``"m^2/(V*s)"``, or ``"1"`` for a
        dimensionless quantity.
    default : float
        The published value (the model's docstring says where it comes from).
    lower, upper : float
        Closed physical bounds; ``-inf``/``inf`` allowed.  Used to validate
        user values and as fit bounds.
    description : str
        One line saying what the parameter does.
    integer : bool
        The value must be a whole number (window exponents).
    log_scale : bool
        The parameter spans decades; fitting works on its logarithm.
    """

    name: str
    unit: str
    default: float
    lower: float = -math.inf
    upper: float = math.inf
    description: str = ""
    integer: bool = False
    log_scale: bool = False

    def __post_init__(self):
        if not self.name.isidentifier():
            raise ModelError(f"parameter name {self.name!r} is not an identifier")
        if not self.unit:
            raise ModelError(f"parameter {self.name!r} has no unit (use '1' for dimensionless)")
        if not self.description:
            raise ModelError(f"parameter {self.name!r} has no description")
        if not (self.lower <= self.default <= self.upper):
            raise ModelError(
                f"parameter {self.name!r}: default {self.default} outside its bounds "
                f"[{self.lower}, {self.upper}]"
            )
        if self.log_scale and self.lower <= 0 and self.upper > 0 and self.default > 0:
            # log-scaled parameters must be strictly positive
            raise ModelError(f"parameter {self.name!r} is log_scale but its lower bound is {self.lower} <= 0")

    def check(self, value: float, model: str = "") -> float:
        """Return ``value`` as float, or raise :class:`ParameterError` naming the problem."""
        where = f"{model}: " if model else ""
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ParameterError(
                f"{where}parameter {self.name!r} must be a number [{self.unit}], got {value!r}"
            ) from None
        if not math.isfinite(v):
            raise ParameterError(f"{where}parameter {self.name!r} must be finite, got {v} [{self.unit}]")
        if not (self.lower <= v <= self.upper):
            raise ParameterError(
                f"{where}parameter {self.name!r} = {v:g} {self.unit} is outside its bounds "
                f"[{self.lower:g}, {self.upper:g}] {self.unit} ({self.description})"
            )
        if self.integer and v != round(v):
            raise ParameterError(f"{where}parameter {self.name!r} must be a whole number, got {v:g}")
        return v


@dataclass(frozen=True)
class StateVariable:
    """One state variable of a model.

    Parameters
    ----------
    name : str
        Column name in simulation results (``x``, ``gap``, ``T`` ...).
    unit : str
        SI unit (``"1"`` for normalised states).
    lower, upper : float or str
        Bounds.  A string names the parameter that holds the bound
        (e.g. ``"gap_min"``).  Integrators clamp the state to them.
    initial : float or str
        Default initial value, or the name of the parameter holding it.
    description : str
        What the state is, physically.
    """

    name: str
    unit: str
    lower: float | str
    upper: float | str
    initial: float | str
    description: str = ""

    def __post_init__(self):
        if not self.name.isidentifier():
            raise ModelError(f"state name {self.name!r} is not an identifier")
        if not self.description:
            raise ModelError(f"state {self.name!r} has no description")


@dataclass(frozen=True, eq=False)
class DeviceModel:
    """A compact device model: declared parameters and states, plus jitted kernels.

    See the module docstring for the kernel contract.  Instances live in
    :data:`memfit.models.registry.MODELS` and are looked up by name.

    Parameters
    ----------
    name : str
        Registry key, named after the source (``"vteam"``, ``"yakopcic2011"``).
    title : str
        One-line human name.
    reference : Reference
        The primary source, with DOI.
    states : sequence of StateVariable
    parameters : sequence of Parameter
    rhs, current : numba dispatchers
        The kernels (see module docstring).
    doc : str
        The model's equations and the provenance of its defaults (the
        docstring of the module that defines it).
    default_stimulus : str
        A stimulus expression (see :func:`memfit.simulate.parse_stimulus`)
        showing the model's characteristic behaviour with its defaults.
    stiff : bool
        True when an explicit method struggles; ``method="auto"`` then picks
        the implicit integrator.
    sign_convention : str
        Which polarity moves the state where (conventions differ between
        sources; recorded with every preset).
    port : {"i(v)", "q(v)", "phi(i)"}
        The port relation the ``current`` kernel implements: a conductive
        element returns the current [A] at device voltage v; a capacitive one
        returns its charge [C] at device voltage v; an inductive one returns
        its flux [Wb] at device *current* i (its ``rhs`` and ``current``
        kernels then take the current in the ``v`` argument).  Charge and
        flux become circuit states; the current (voltage) follows from them,
        never from differentiating them numerically.
    voltage_thresholds : sequence of (str, float)
        Device voltages at which the state equation has a kink (an unsmoothed
        switching threshold), as ``(parameter name, sign)``: the threshold is
        ``sign * p[name]`` [V].  When the source drives the device directly,
        the integrators stop there (:func:`memfit.simulate.stimulus.split_at_levels`),
        as at pulse edges; empty for smooth models.
    """

    name: str
    title: str
    reference: Reference
    states: tuple[StateVariable, ...]
    parameters: tuple[Parameter, ...]
    rhs: Callable
    current: Callable
    doc: str = ""
    default_stimulus: str = "sine(amplitude=1.0, f=1.0, cycles=2)"
    stiff: bool = False
    sign_convention: str = ""
    port: str = "i(v)"
    voltage_thresholds: tuple = ()
    _index: Mapping[str, int] = field(default=None, repr=False, compare=False)
    #: per state attribute ("lower", "upper", "initial"): (row of the constant entries, NaN where a
    #: parameter gives the value; [(state index, parameter index)] of those) -- see _state_table
    _state_specs: Mapping[str, tuple] = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "states", tuple(self.states))
        object.__setattr__(self, "parameters", tuple(self.parameters))
        names = [p.name for p in self.parameters]
        if len(set(names)) != len(names):
            raise ModelError(f"model {self.name!r} declares a parameter twice: {names}")
        if self.port not in PORTS:
            raise ModelError(f"model {self.name!r}: port must be one of {list(PORTS)}, got {self.port!r}")
        snames = [s.name for s in self.states]
        if len(set(snames)) != len(snames) or not snames:
            raise ModelError(f"model {self.name!r} needs distinct state names, got {snames}")
        reserved = {"t", "v", "i", "v_dev", "segment", "role", "compliance", "device"}
        reserved.add("i_dev" if self.port == "i(v)" else PORTS.get(self.port, ("",))[0])
        clash = reserved.intersection(snames)
        if clash:
            raise ModelError(f"model {self.name!r}: state names {sorted(clash)} clash with result columns")
        object.__setattr__(self, "_index", {n: k for k, n in enumerate(names)})
        object.__setattr__(self, "voltage_thresholds", tuple((str(n), float(sg)) for n, sg in self.voltage_thresholds))
        for n, sg in self.voltage_thresholds:
            if n not in self._index or self.parameters[self._index[n]].unit != "V" or sg not in (1.0, -1.0):
                raise ModelError(f"model {self.name!r}: voltage threshold ({n!r}, {sg:g}) must name a parameter in V "
                                 f"with sign +1 or -1")
        for s in self.states:
            for b in (s.lower, s.upper, s.initial):
                if isinstance(b, str) and b not in self._index:
                    raise ModelError(f"model {self.name!r}: state {s.name!r} refers to unknown parameter {b!r}")
        specs = {}
        for attr in ("lower", "upper", "initial"):
            values = [getattr(s, attr) for s in self.states]
            row = np.array([np.nan if isinstance(b, str) else float(b) for b in values])
            specs[attr] = (row, [(k, self._index[b]) for k, b in enumerate(values) if isinstance(b, str)])
        object.__setattr__(self, "_state_specs", specs)

    def threshold_voltages(self, p: np.ndarray) -> np.ndarray:
        """The kink voltages [V] of :attr:`voltage_thresholds` for parameter vector(s) ``p``:
        shape ``p.shape[:-1] + (len(voltage_thresholds),)``."""
        p = np.asarray(p, dtype=np.float64)
        cols = [self._index[n] for n, _ in self.voltage_thresholds]
        return p[..., cols] * np.array([sg for _, sg in self.voltage_thresholds])

    # ------------------------------------------------------------------ names
    @property
    def param_names(self) -> list[str]:
        """Parameter names in kernel order."""
        return [p.name for p in self.parameters]

    @property
    def state_names(self) -> list[str]:
        """State-variable names in kernel order."""
        return [s.name for s in self.states]

    @property
    def n_params(self) -> int:
        return len(self.parameters)

    @property
    def n_states(self) -> int:
        return len(self.states)

    def parameter(self, name: str) -> Parameter:
        """The :class:`Parameter` called ``name`` (error lists the valid names)."""
        try:
            return self.parameters[self._index[name]]
        except KeyError:
            raise ParameterError(
                f"model {self.name!r} has no parameter {name!r}; its parameters are: "
                + ", ".join(self.param_names)
            ) from None

    # ------------------------------------------------------------- parameters
    def defaults(self) -> dict[str, float]:
        """Published default parameters as a name -> value dict."""
        return {p.name: p.default for p in self.parameters}

    def params(self, values: Mapping[str, float] | None = None, **overrides: float) -> np.ndarray:
        """Validated flat parameter vector (kernel order), defaults filled in.

        Parameters
        ----------
        values : mapping, optional
            Name -> value; unknown names raise :class:`ParameterError`.
        **overrides
            More name=value pairs (take precedence over ``values``).

        Returns
        -------
        numpy.ndarray
            float64 array of length :attr:`n_params`.
        """
        merged = dict(values or {})
        merged.update(overrides)
        p = np.array([q.default for q in self.parameters], dtype=np.float64)
        for name, value in merged.items():
            q = self.parameter(name)
            p[self._index[name]] = q.check(value, self.name)
        return p

    def check_params(self, p: Sequence[float] | np.ndarray) -> np.ndarray:
        """Validate a flat parameter vector (or a 2-D array of rows); return it as float64."""
        arr = np.asarray(p, dtype=np.float64)
        if arr.shape[-1:] != (self.n_params,):
            raise ParameterError(
                f"model {self.name!r} takes {self.n_params} parameters ({', '.join(self.param_names)}), "
                f"got an array of shape {arr.shape}"
            )
        rows = arr.reshape(-1, self.n_params)
        for k, q in enumerate(self.parameters):
            col = rows[:, k]
            bad = ~np.isfinite(col) | (col < q.lower) | (col > q.upper)
            if q.integer:
                bad |= col != np.round(col)
            if bad.any():
                j = int(np.argmax(bad))
                q.check(col[j], self.name + (f" (row {j})" if rows.shape[0] > 1 else ""))
        return np.ascontiguousarray(arr)

    def as_dict(self, p: Sequence[float]) -> dict[str, float]:
        """Name -> value dict of a flat parameter vector."""
        p = self.check_params(p)
        return {n: float(v) for n, v in zip(self.param_names, p)}

    # ----------------------------------------------------------------- states
    def _state_table(self, attr: str, p: np.ndarray) -> np.ndarray:
        """``p.shape[:-1] + (n_states,)`` array of each state's ``attr`` (a number or a parameter name).

        The constant entries are written as one broadcast row and only the parameter-dependent
        columns one by one: column-by-column strided writes took 0.5 s for the 22-state FTJ on a
        512x512 tile (262k rows), the broadcast row ~20 ms.
        """
        row, from_params = self._state_specs[attr]
        out = np.empty(p.shape[:-1] + (self.n_states,))
        out[...] = row
        for k, j in from_params:
            out[..., k] = p[..., j]
        return out

    def state_bounds(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper state bounds for parameter vector(s) ``p``.

        Returns arrays of shape ``p.shape[:-1] + (n_states,)``.
        """
        p = np.asarray(p, dtype=np.float64)
        lo = self._state_table("lower", p)
        hi = self._state_table("upper", p)
        if np.any(lo > hi):
            raise ParameterError(f"model {self.name!r}: a state's lower bound exceeds its upper bound for these parameters")
        return lo, hi

    def initial_state(self, p: np.ndarray | None = None, **values: float) -> np.ndarray:
        """Initial state vector: declared defaults, overridden by ``name=value``.

        Raises :class:`ParameterError` for unknown state names or values
        outside the state's bounds.
        """
        p = self.params() if p is None else np.asarray(p, dtype=np.float64)
        x0 = self._state_table("initial", p)
        lo, hi = self.state_bounds(p)
        for name, v in values.items():
            if name not in self.state_names:
                raise ParameterError(
                    f"model {self.name!r} has no state {name!r}; its states are: {', '.join(self.state_names)}"
                )
            k = self.state_names.index(name)
            x0[..., k] = v
        if not np.all(np.isfinite(x0)):
            raise ParameterError(f"model {self.name!r}: initial state is not finite: {x0}")
        outside = (x0 < lo) | (x0 > hi)
        if outside.any():
            k = int(np.nonzero(outside.reshape(-1, self.n_states).any(axis=0))[0][0])
            s = self.states[k]
            raise ParameterError(
                f"model {self.name!r}: initial {s.name} = {x0.reshape(-1, self.n_states)[:, k].tolist()} {s.unit} "
                f"is outside its bounds [{np.min(lo[..., k]):g}, {np.max(hi[..., k]):g}] {s.unit}"
            )
        return x0

    # ------------------------------------------------------------------ misc
    def describe(self) -> str:
        """A plain-text table of the model: reference, states, parameters."""
        lines = [f"{self.name}: {self.title}", f"  {self.reference}", "  states:"]
        for s in self.states:
            lines.append(f"    {s.name:<10} [{s.unit}] in [{s.lower}, {s.upper}], initial {s.initial}: {s.description}")
        lines.append("  parameters:")
        for q in self.parameters:
            lines.append(
                f"    {q.name:<10} = {q.default:<12g} [{q.unit}] in [{q.lower:g}, {q.upper:g}]: {q.description}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<DeviceModel {self.name!r}: {self.title}; {self.n_states} state(s), {self.n_params} parameters>"
