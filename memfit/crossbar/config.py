r"""Crossbar hardware configurations: what the analog tiles do besides multiplying.

A :class:`CrossbarConfig` is a frozen, validated dataclass.  Its fields follow the semantics of
aihwkit's ``InferenceRPUConfig`` (IBM Analog Hardware Acceleration Kit, Rasch et al., APL Mach.
Learn. 1, 041102 (2023), doi:10.1063/5.0168089), which the Lund/Ericsson FTJ thesis (seed 001,
Table 3.1) used for its baseline; all signal quantities are in *normalized units*:

* inputs: an input ``x`` drives the row voltage ``x * V_read``; after noise management the
  inputs lie in ``[-in_bound, in_bound]`` (``in_bound = 1`` means "the read voltage");
* weights: a weight of 1 is a device pair at ``(G_max, G_min)``, i.e. the normalized weight
  is ``(G+ - G-)/(G_max - G_min)`` (one slice, one device per weight);
* outputs: an output is the column current divided by ``V_read (G_max - G_min)``, so the
  output of an ideal tile is ``W_norm @ x``; ``out_bound`` and ``out_noise`` are in these units.

Non-idealities of the forward pass (each one switchable):

``dac_bits``, ``in_bound``
    DAC: inputs clipped to ``+-in_bound`` and rounded to ``2**dac_bits - 1`` levels (step
    ``2 in_bound/(2**dac_bits - 2)``, aihwkit's ``inp_res = 1/(2**bits - 2)``).  None = ideal.
``adc_bits``, ``out_bound``
    ADC: outputs clipped to ``+-out_bound``, rounded to ``2**adc_bits - 1`` levels.  None = ideal.
``out_noise``
    Std of additive Gaussian noise at every output (thesis: 0.04 ~ one ADC LSB).
``w_noise``
    Short-term weight (read) noise, aihwkit's ``AdditiveConstant`` type: as if every weight got
    fresh ``N(0, w_noise^2)`` noise at every read; applied output-referred as
    ``w_noise * ||x||_2 * N(0, 1)`` per output (thesis: 0.035, from thermal + shot noise).
``read_nonlinearity``
    The device's read I-V: a device at input voltage ``v`` passes ``G V_read read_iv(v)``
    instead of ``G v`` (``read_iv`` from the preset; 1 at ``V_read``).
``device_read_noise``
    Multiplicative per-device, per-read noise of relative std ``device.read_noise``.
``ir_drop``, ``wire_ratio``
    Line resistance.  ``wire_ratio`` = wire conductance of one segment / ``G_max`` (aihwkit's
    ``ir_drop_g_ratio``; thesis 2.857e8 = 1/(0.35 Ohm * 10 nS)); the segment resistance is
    ``1/(wire_ratio * G_max)`` [Ohm].  Solved with the nonlinear devices in :mod:`memfit.crossbar.irdrop`
    to ``ir_drop_tol``: the bound on every device-voltage error relative to the vector's max |V|
    (default 1e-6, three decades below an 8-bit ADC step).
``drift``, ``drift_compensation``
    Conductance drift ``G(t) = G0 ((t + t0)/t0)^-nu`` with per-device ``nu`` from the preset;
    ``"global"`` compensation rescales each tile's outputs by ``I_cal(0)/I_cal(t)``, the summed
    |outputs| of a read with all inputs at +1 (thesis eqs. 3.6-3.7, Joshi et al. 2020).
``faults``
    Stuck-on/stuck-off devices with the preset's fractions.
``noise_management``
    ``"abs_max"``: each input vector is divided by its absolute maximum before the DAC and the
    output multiplied back (thesis eq. 3.3); ``None``: inputs used as they are.
``bound_management``
    ``"iterative"``: while an output saturates the ADC, the input scale is halved and the
    vector read again (at most ``max_bm_iterations`` times); ``None``: saturate.

Mapping (:mod:`memfit.crossbar.mapping`): ``tile_size`` (rows = inputs, columns = outputs),
``mapping`` (``"global"``: one scale per tile, ``"column"``: one per output column of a tile),
``clip`` (clip weights at ``clip`` x std (``clip_type="std"``) or x max (``"max"``) before
scaling), ``differential`` (device pairs; else one device plus an ideal mid-scale reference
column), ``devices_per_weight`` (averaged), ``bit_slicing`` (``{"binary": X, "analog": 1}``),
``digital_bias`` (biases are added digitally -- the layers do that).

Programming (:mod:`memfit.crossbar.programming`): ``"ideal" | "direct" | "statistical" |
"write_verify" | "tgdp"``.  ``"direct"`` is open-loop pulse programming from the reset state with
the device's mean pulse response (direct mapping: quantized to the pulse-step ladder, c2c noise per
pulse, d2d step-size spread, no verify).

``reachable_window`` (bool or None)
    Map the weights onto the conductance window that the device population *reliably reaches*
    with the preset's write-verify (ISPP) scheme (:func:`memfit.crossbar.programming.reachable_window`:
    the 99.9 % reset level and the 0.1 % set level of 1,000 devices drawn from the d2d
    distribution, fixed seed, computed once per device) instead of the nominal ``[g_min, g_max]``:
    a pair then sits at ``G+- = g_lo + max(+-w, 0) (g_hi - g_lo)`` and the digital periphery
    multiplies the outputs by ``(g_max - g_min)/(g_hi - g_lo)``.  ``None`` (default) means *on for*
    ``programming="write_verify"`` *and off otherwise*; differential pairs only.

Named configurations: :func:`get_config` (``"baseline-ftj"``, ``"ideal"``, ``"aihwkit-default"``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from memfit.errors import ParameterError

PROGRAMMING = ("ideal", "direct", "statistical", "write_verify", "tgdp")
MAPPINGS = ("global", "column")
CLIP_TYPES = ("std", "max")
NOISE_MANAGEMENT = (None, "abs_max")
BOUND_MANAGEMENT = (None, "iterative")
DRIFT_COMPENSATION = (None, "global")
DTYPES = ("float32", "float64")


def _bad(field_name: str, value: Any, allowed: str) -> ParameterError:
    return ParameterError(f"CrossbarConfig: {field_name} = {value!r} is not allowed; expected {allowed}")


@dataclass(frozen=True)
class CrossbarConfig:
    """Hardware configuration of the analog tiles (frozen; validated on construction).

    See the module docstring for the meaning and units of every field.  Change fields with
    :meth:`replace`; switch every non-ideality off with :meth:`ideal`.

    Parameters
    ----------
    name : str
        Label for reports.
    tile_size : int or (int, int)
        Tile rows (inputs) x columns (outputs); an int means square.  Default 256.
    dac_bits, adc_bits : int or None
        Converter resolutions [bit] (2..24); None = ideal converter (no clipping, no rounding).
    in_bound, out_bound : float
        Converter ranges [normalized units] (> 0; ``inf`` allowed for ``out_bound``).
    out_noise, w_noise : float
        Output-referred noise stds [normalized units] (>= 0).
    read_nonlinearity, device_read_noise, ir_drop, drift, faults, digital_bias, differential : bool
    ir_drop_tol : float
        IR-drop solver tolerance [1] (0 < tol <= 1e-3).
    wire_ratio : float
        Wire-segment conductance / G_max [1] (> 0).
    drift_compensation : {"global", None}
    mapping : {"global", "column"}
    clip : float or None
        Clip level in units of ``clip_type`` (> 0), None = no clipping.
    clip_type : {"std", "max"}
    devices_per_weight : int
        >= 1; the devices' currents are averaged.  Each device is programmed to the weight's target,
        except with ``programming="direct"``: open loop, the devices take the two pulse-ladder levels
        around the target so that their mean is nearest it (an n times finer ladder).
    bit_slicing : dict or None
        ``{"binary": X, "analog": 1}`` with ``0 <= X <= 16``.
    programming : {"ideal", "direct", "statistical", "write_verify", "tgdp"}
    reachable_window : bool or None
        Map onto the write-verify-reachable window (None: on for ``programming="write_verify"``).
    noise_management : {"abs_max", None}
    bound_management : {"iterative", None}
    max_bm_iterations : int
        Most halvings of the input scale by the bound management (>= 0).
    dtype : {"float32", "float64"}
        Arithmetic of the forward pass.
    """

    name: str = "custom"
    tile_size: Any = 256
    dac_bits: int | None = 8
    adc_bits: int | None = 8
    in_bound: float = 1.0
    out_bound: float = 10.0
    out_noise: float = 0.04
    w_noise: float = 0.035
    read_nonlinearity: bool = True
    device_read_noise: bool = False
    ir_drop: bool = False
    wire_ratio: float = 1.0 / (0.35 * 1e-8)
    ir_drop_tol: float = 1e-6
    drift: bool = True
    drift_compensation: str | None = "global"
    faults: bool = False
    digital_bias: bool = True
    mapping: str = "column"
    clip: float | None = None
    clip_type: str = "std"
    differential: bool = True
    devices_per_weight: int = 1
    bit_slicing: Mapping[str, int] | None = None
    programming: str = "ideal"
    reachable_window: bool | None = None
    noise_management: str | None = "abs_max"
    bound_management: str | None = "iterative"
    max_bm_iterations: int = 10
    dtype: str = "float32"
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        ts = self.tile_size
        if isinstance(ts, (int,)) and not isinstance(ts, bool):
            ts = (int(ts), int(ts))
        try:
            ts = tuple(int(v) for v in ts)
        except TypeError:
            raise _bad("tile_size", self.tile_size, "an int >= 1 or a pair (rows, columns)") from None
        if len(ts) != 2 or min(ts) < 1 or any(isinstance(v, bool) for v in ts):
            raise _bad("tile_size", self.tile_size, "an int >= 1 or a pair (rows, columns)")
        object.__setattr__(self, "tile_size", ts)
        for name in ("dac_bits", "adc_bits"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 2 <= v <= 24):
                raise _bad(name, v, "None (ideal) or an int in [2, 24] [bit]")
        for name in ("in_bound", "out_bound"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not v > 0 or math.isnan(v):
                raise _bad(name, v, "a number > 0 [normalized units]")
        if not math.isfinite(self.in_bound):
            raise _bad("in_bound", self.in_bound, "a finite number > 0")
        for name in ("out_noise", "w_noise"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not (0 <= v < math.inf):
                raise _bad(name, v, "a finite number >= 0 [normalized units]")
        for name in ("read_nonlinearity", "device_read_noise", "ir_drop", "drift", "faults", "digital_bias",
                     "differential"):
            if not isinstance(getattr(self, name), bool):
                raise _bad(name, getattr(self, name), "True or False")
        if not isinstance(self.wire_ratio, (int, float)) or not (0 < self.wire_ratio < math.inf):
            raise _bad("wire_ratio", self.wire_ratio, "a finite number > 0 (wire conductance / G_max)")
        if not isinstance(self.ir_drop_tol, (int, float)) or not (0 < self.ir_drop_tol <= 1e-3):
            raise _bad("ir_drop_tol", self.ir_drop_tol, "a number in (0, 1e-3] (device-voltage error / max |V|)")
        if self.drift_compensation not in DRIFT_COMPENSATION:
            raise _bad("drift_compensation", self.drift_compensation, f"one of {DRIFT_COMPENSATION}")
        if self.mapping not in MAPPINGS:
            raise _bad("mapping", self.mapping, f"one of {MAPPINGS}")
        if self.clip is not None and (not isinstance(self.clip, (int, float)) or not 0 < self.clip < math.inf):
            raise _bad("clip", self.clip, "None or a finite number > 0 (in units of clip_type)")
        if self.clip_type not in CLIP_TYPES:
            raise _bad("clip_type", self.clip_type, f"one of {CLIP_TYPES}")
        if self.clip_type == "max" and self.clip is not None and self.clip > 1:
            raise _bad("clip", self.clip, "<= 1 when clip_type='max' (a fraction of the largest |weight|)")
        dpw = self.devices_per_weight
        if isinstance(dpw, bool) or not isinstance(dpw, int) or not 1 <= dpw <= 64:
            raise _bad("devices_per_weight", dpw, "an int in [1, 64]")
        if self.bit_slicing is not None:
            bs = dict(self.bit_slicing)
            unknown = set(bs) - {"binary", "analog"}
            if unknown or "binary" not in bs:
                raise _bad("bit_slicing", self.bit_slicing, "None or {'binary': X, 'analog': 1}")
            x = bs["binary"]
            a = bs.get("analog", 1)
            if isinstance(x, bool) or not isinstance(x, int) or not 0 <= x <= 16:
                raise _bad("bit_slicing['binary']", x, "an int in [0, 16]")
            if a != 1:
                raise _bad("bit_slicing['analog']", a, "1 (one analog slice holds the remainder)")
            object.__setattr__(self, "bit_slicing", {"binary": int(x), "analog": 1})
        if self.programming not in PROGRAMMING:
            raise _bad("programming", self.programming, f"one of {PROGRAMMING}")
        if self.reachable_window is not None and not isinstance(self.reachable_window, bool):
            raise _bad("reachable_window", self.reachable_window, "None (on for write_verify), True or False")
        if self.reachable_window is True and not self.differential:
            raise _bad("reachable_window", self.reachable_window,
                       "None or False with differential=False (the window mapping needs device pairs)")
        if self.noise_management not in NOISE_MANAGEMENT:
            raise _bad("noise_management", self.noise_management, f"one of {NOISE_MANAGEMENT}")
        if self.bound_management not in BOUND_MANAGEMENT:
            raise _bad("bound_management", self.bound_management, f"one of {BOUND_MANAGEMENT}")
        if isinstance(self.max_bm_iterations, bool) or not isinstance(self.max_bm_iterations, int) \
                or not 0 <= self.max_bm_iterations <= 30:
            raise _bad("max_bm_iterations", self.max_bm_iterations, "an int in [0, 30]")
        if self.dtype not in DTYPES:
            raise _bad("dtype", self.dtype, f"one of {DTYPES}")
        object.__setattr__(self, "extra", dict(self.extra))

    # ------------------------------------------------------------------ helpers
    def replace(self, **changes: Any) -> "CrossbarConfig":
        """A copy with ``changes`` applied (validated); unknown field names raise ParameterError."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ParameterError(f"CrossbarConfig has no field(s) {unknown}; fields are: {sorted(names)}")
        return dataclasses.replace(self, **changes)

    def ideal(self) -> "CrossbarConfig":
        """Same tiles and mapping, every non-ideality off and ideal programming: analog == digital."""
        return self.replace(
            name=f"{self.name} (ideal)", dac_bits=None, adc_bits=None, out_noise=0.0, w_noise=0.0,
            read_nonlinearity=False, device_read_noise=False, ir_drop=False, drift=False,
            drift_compensation=None, faults=False, programming="ideal", clip=None,
            bound_management=None, reachable_window=None,
        )

    @property
    def any_noise(self) -> bool:
        """True when a forward pass draws random numbers."""
        return self.out_noise > 0 or self.w_noise > 0 or self.device_read_noise

    @property
    def uses_reachable_window(self) -> bool:
        """True when the tiles map onto the write-verify-reachable window (see ``reachable_window``)."""
        if self.reachable_window is None:
            return self.programming == "write_verify" and self.differential
        return self.reachable_window

    @property
    def n_slices(self) -> int:
        """Weight slices per cross-point: ``binary + 1`` with bit slicing, else 1."""
        return 1 if self.bit_slicing is None else self.bit_slicing["binary"] + 1

    def to_dict(self) -> dict:
        """Plain dict of the fields (JSON-serialisable)."""
        d = dataclasses.asdict(self)
        d["tile_size"] = list(self.tile_size)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "CrossbarConfig":
        """Inverse of :meth:`to_dict`; unknown keys raise ParameterError."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ParameterError(f"CrossbarConfig: unknown key(s) {unknown}; fields are: {sorted(names)}")
        return cls(**dict(d))


#: Lund/Ericsson FTJ baseline (seed 001, Table 3.1): 8-bit DAC/ADC, out_noise 0.04, out_bound 10,
#: in_bound 1, G_max 14 nS (device), w_noise 0.035, wire ratio 2.857e8, drift with global
#: compensation, digital bias, column-wise output scaling ("mapping.out scale columnwise").
BASELINE_FTJ = CrossbarConfig(
    name="baseline-ftj", tile_size=256, dac_bits=8, adc_bits=8, in_bound=1.0, out_bound=10.0,
    out_noise=0.04, w_noise=0.035, read_nonlinearity=True, ir_drop=False, wire_ratio=285714285.714,
    drift=True, drift_compensation="global", faults=False, digital_bias=True, mapping="column",
    programming="statistical", noise_management="abs_max", bound_management="iterative",
)

_CONFIGS: dict[str, CrossbarConfig] = {
    "baseline-ftj": BASELINE_FTJ,
    "baseline-ftj-irdrop": BASELINE_FTJ.replace(name="baseline-ftj-irdrop", ir_drop=True),
    "ideal": BASELINE_FTJ.ideal().replace(name="ideal"),
    # aihwkit 1.x InferenceRPUConfig() defaults: 7-bit DAC, 9-bit ADC, out_noise 0.06, out_bound 12
    "aihwkit-default": CrossbarConfig(
        name="aihwkit-default", tile_size=512, dac_bits=7, adc_bits=9, in_bound=1.0, out_bound=12.0,
        out_noise=0.06, w_noise=0.0, read_nonlinearity=False, drift=False, drift_compensation=None,
        mapping="global", programming="ideal",
    ),
}


def list_configs() -> list[str]:
    """Names of the built-in configurations."""
    return sorted(_CONFIGS)


def get_config(name: "str | CrossbarConfig | Mapping[str, Any]") -> CrossbarConfig:
    """A built-in configuration by name (or a config / field dict passed through validation).

    Raises
    ------
    ParameterError
        Unknown name (the message lists the known ones).
    """
    if isinstance(name, CrossbarConfig):
        return name
    if isinstance(name, Mapping):
        return CrossbarConfig.from_dict(name)
    try:
        return _CONFIGS[str(name)]
    except KeyError:
        raise ParameterError(f"unknown crossbar config {name!r}; known: {', '.join(list_configs())}") from None
