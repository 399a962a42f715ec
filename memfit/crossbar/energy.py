r"""Energy, power, latency and read-noise estimates for crossbar arrays.

**Everything in this module is an estimate** (first-order circuit models with figures of merit
taken from the cited publications); it is meant to compare configurations and to give the order
of magnitude of the energy per inference, not to replace a circuit simulation.

Array (device) part
    A read applies the input voltages ``v_i`` [V] to the rows while the columns sit at virtual
    ground (the integrator/TIA input), so every cross-point sees ``v_i`` and carries
    ``I_ij = I(G_ij, v_i)``.  For an ohmic device ``I_ij = G_ij v_i``; for a device with a read
    nonlinearity (:class:`memfit.crossbar.device.CrossbarDevice`, ``read_iv``)
    ``I_ij = G_ij V_read read_iv(v_i)`` (``G`` is defined at the read voltage).  The power
    dissipated in the array is ``P = sum_ij v_i I_ij`` [W] and the energy of one read of duration
    ``t_read`` [s] is ``E = P t_read`` [J].  For a memcapacitive array (charge-domain MAC) the
    supply delivers ``E = sum_ij C_ij v_i^2`` [J] per read (half is stored, half dissipated).

    The FTJ thesis (``../shared/seeds/001_*.txt``, sec. 2.3, eq. 2.5, after Gokmen & Vlasov 2016,
    doi:10.3389/fnins.2016.00333) states the array power as

    .. math:: P_\mathrm{crossbar\_array} = N \cdot M \cdot \frac{V^2}{R} \cdot \alpha

    (``alpha`` = fraction of devices in use); see :func:`thesis_array_power`.

Noise
    Johnson-Nyquist thermal noise of a conductance ``G`` over a bandwidth ``BW``:
    ``i_n = sqrt(4 k_B T BW G)`` [A rms] (Johnson 1928, doi:10.1103/PhysRev.32.97; Nyquist 1928,
    doi:10.1103/PhysRev.32.110); the devices of one column are in parallel, so the column noise
    uses ``sum_i G_ij``.  Shot noise ``i_sh = sqrt(2 q I_dc BW)`` [A rms] (Schottky).
    :func:`thesis_short_term_noise` reproduces the thesis' sec. 3.1.2 estimate.

Periphery
    * ADC: energy per conversion from the Walden figure of merit
      ``FoM_W = P / (2^ENOB f_s)`` [J/conversion-step] (Walden 1999, doi:10.1109/49.761034),
      ``E_conv = FoM_W 2^ENOB``.  The default converter is the 8-bit 1.2 GS/s SAR ADC of Kull et
      al. 2013 (doi:10.1109/JSSC.2013.2279571; 3.06 mW, ENOB 6.24, as listed in the thesis'
      Table 2.1), i.e. 2.55 pJ per conversion.  A SAR ADC is shared by several columns (time
      multiplexed), so its latency grows with the number of columns per ADC (thesis sec. 2.3).
      :func:`schreier_fom` gives the Schreier FoM for comparison with converter surveys.
    * DAC / row driver: each conversion charges the row line (wire + device capacitance)
      ``C_row`` to the input voltage: ``E = C_row v^2`` [J] drawn from the supply (a lower bound:
      the DAC core's own energy per conversion, ``dac_static_energy``, is added when known).
    * Integrator (current-to-charge readout before the ADC): the integration capacitor
      ``C_int`` is charged to at most ``V_swing`` (``E = C_int V_swing^2``) and the amplifier
      draws ``P_amp`` for the integration time: ``E = C_int V_swing^2 + P_amp t_read``.

Networks
    :func:`network_cost` runs sample inputs through an :class:`~memfit.crossbar.network.AnalogNetwork`
    and costs every vector each matrix layer reads (resistive tiles with
    :func:`analog_matrix_cost`, memcapacitive tiles of :mod:`memfit.crossbar.memcap` with
    ``tile_cost(kind="capacitive")``): energy [J] and latency [s] per layer and per inference.

Units are SI throughout: S, ohm, V, A, F, s, W, J, Hz, K.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from memfit.errors import ParameterError

#: Boltzmann constant [J/K] (SI 2019, exact)
K_B = 1.380649e-23
#: elementary charge [C] (SI 2019, exact)
Q_E = 1.602176634e-19

#: Kull et al. 2013 8-bit SAR ADC (doi:10.1109/JSSC.2013.2279571) as listed in the FTJ thesis'
#: Table 2.1: power [W], sample rate [S/s], ENOB [bit]
KULL2013_ADC = {"power": 3.06e-3, "sample_rate": 1.2e9, "enob": 6.24}


def _positive(name: str, value, unit: str, allow_zero: bool = False) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"energy: {name} = {value!r} is not a number [{unit}]") from None
    if not math.isfinite(x) or x < 0 or (x == 0 and not allow_zero):
        need = ">= 0" if allow_zero else "> 0"
        raise ParameterError(f"energy: {name} = {value!r} {unit} is not allowed; expected a finite value {need}")
    return x


def _conductances(g, name: str = "g") -> np.ndarray:
    g = np.asarray(g, dtype=np.float64)
    if g.ndim != 2 or not np.all(np.isfinite(g)) or np.any(g < 0):
        raise ParameterError(f"energy: {name} must be a finite, non-negative (rows, columns) array [S or F], "
                             f"got shape {g.shape}")
    return g


def _voltages(v, rows: int) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    if v.ndim == 0:
        v = np.full(rows, float(v))
    if v.shape[-1] != rows or v.ndim > 2 or not np.all(np.isfinite(v)):
        raise ParameterError(f"energy: input voltages must be finite with shape ({rows},) or (batch, {rows}) [V], "
                             f"got shape {v.shape}")
    return v


# ---------------------------------------------------------------------------------------------- array
def device_currents(g, v, device=None) -> np.ndarray:
    """Currents of every cross-point for row voltages ``v``, columns at virtual ground.

    Parameters
    ----------
    g : (rows, columns) array_like
        Conductances [S] (defined at the device's read voltage when ``device`` is given).
    v : float or (rows,) or (batch, rows) array_like
        Row (input) voltages [V].
    device : CrossbarDevice, optional
        Supplies the read nonlinearity: ``I = G V_read read_iv(v)``.  None = ohmic, ``I = G v``.

    Returns
    -------
    ndarray, (rows, columns) or (batch, rows, columns)
        Currents [A].
    """
    g = _conductances(g)
    v = _voltages(v, g.shape[0])
    if device is None:
        drive = v
    else:
        drive = device.read_voltage * device.read_iv(v)
    return drive[..., :, None] * g


def array_read_power(g, v, device=None) -> np.ndarray | float:
    """Power dissipated in the devices of a resistive crossbar during a read, ``sum_ij v_i I_ij``.

    Parameters
    ----------
    g : (rows, columns) array_like
        Conductances [S].
    v : float or (rows,) or (batch, rows) array_like
        Row (input) voltages [V]; the columns are held at virtual ground.
    device : CrossbarDevice, optional
        Read nonlinearity (see :func:`device_currents`); None = ohmic.

    Returns
    -------
    float or (batch,) ndarray
        Power [W].

    Examples
    --------
    >>> float(array_read_power([[1e-6, 2e-6]], 0.5))  # (1 + 2) uS * 0.25 V^2
    7.5e-07
    """
    g = _conductances(g)
    v = _voltages(v, g.shape[0])
    i = device_currents(g, v, device)
    p = np.einsum("...r,...rc->...", v, i)
    return float(p) if np.ndim(p) == 0 else p


def array_read_energy(g, v, t_read: float, device=None) -> np.ndarray | float:
    """Energy [J] dissipated in a resistive crossbar by one read of duration ``t_read`` [s].

    ``E = t_read sum_ij v_i I_ij``; see :func:`array_read_power` for ``g`` [S], ``v`` [V], ``device``.
    """
    t = _positive("t_read", t_read, "s")
    return array_read_power(g, v, device) * t


def capacitive_array_energy(c, v) -> np.ndarray | float:
    """Supply energy [J] of one read of a memcapacitive crossbar (charge-domain MAC).

    Charging the capacitance ``C_ij`` [F] from 0 to ``v_i`` [V] draws ``C_ij v_i^2`` from the
    supply (half stored, half dissipated in the drivers), so ``E = sum_ij C_ij v_i^2``.

    Parameters
    ----------
    c : (rows, columns) array_like
        Capacitances [F] (include parasitic capacitance per cross-point if wanted).
    v : float or (rows,) or (batch, rows) array_like
        Row (input) voltages [V].

    Returns
    -------
    float or (batch,) ndarray
        Energy [J].
    """
    c = _conductances(c, "c")
    v = _voltages(v, c.shape[0])
    e = np.einsum("...r,rc->...", v ** 2, c)
    return float(e) if np.ndim(e) == 0 else e


def thesis_array_power(n: int, m: int, voltage: float, resistance: float, alpha: float = 1.0) -> float:
    r"""Crossbar array power as the FTJ thesis estimates it (sec. 2.3, eq. 2.5).

    .. math:: P_\mathrm{crossbar\_array} = N \cdot M \cdot \frac{V^2}{R} \cdot \alpha

    "we take a reading voltage of 300mV and a mean resistance of 100M Ω for a crossbar array of
    512 by 512 RPUs and a 100% usage, the power consumption dissipated in the memristors is
    0.236 mW" (after Gokmen & Vlasov 2016, doi:10.3389/fnins.2016.00333).  It equals
    :func:`array_read_power` for ``N x M`` devices of resistance ``R`` all read at ``V``.

    Parameters
    ----------
    n, m : int
        Rows and columns of the array.
    voltage : float
        Read voltage [V].
    resistance : float
        Mean device resistance [ohm].
    alpha : float
        Fraction of the devices in use (usage) [1].

    Returns
    -------
    float
        Power [W].
    """
    if int(n) < 1 or int(m) < 1:
        raise ParameterError(f"energy: array size {n} x {m} is not allowed; expected >= 1 x 1")
    r = _positive("resistance", resistance, "ohm")
    a = _positive("alpha", alpha, "1", allow_zero=True)
    return int(n) * int(m) * float(voltage) ** 2 / r * a


# ---------------------------------------------------------------------------------------------- noise
def thermal_noise_current(conductance, bandwidth: float, temperature: float = 300.0) -> np.ndarray | float:
    """Johnson-Nyquist noise current ``sqrt(4 k_B T BW G)`` [A rms] of a conductance ``G`` [S].

    ``bandwidth`` [Hz], ``temperature`` [K].  Johnson 1928 (doi:10.1103/PhysRev.32.97), Nyquist
    1928 (doi:10.1103/PhysRev.32.110).
    """
    bw = _positive("bandwidth", bandwidth, "Hz")
    t = _positive("temperature", temperature, "K")
    g = np.asarray(conductance, dtype=np.float64)
    out = np.sqrt(4.0 * K_B * t * bw * g)
    return float(out) if out.ndim == 0 else out


def shot_noise_current(i_dc, bandwidth: float) -> np.ndarray | float:
    """Shot noise current ``sqrt(2 q |I_dc| BW)`` [A rms] of a dc current ``i_dc`` [A] over ``bandwidth`` [Hz]."""
    bw = _positive("bandwidth", bandwidth, "Hz")
    out = np.sqrt(2.0 * Q_E * np.abs(np.asarray(i_dc, dtype=np.float64)) * bw)
    return float(out) if out.ndim == 0 else out


def column_relative_noise(g, v, bandwidth: float, temperature: float = 300.0, shot: bool = False,
                          device=None) -> np.ndarray:
    """Noise of each column current relative to its signal, ``sigma_I / |I_col|`` [1].

    The devices of a column are in parallel between the rows and the virtual ground, so their
    thermal noise adds in power: ``sigma_th^2 = 4 k_B T BW sum_i G_ij``.  With ``shot=True`` the
    shot noise of each device current is added in power too (``2 q BW sum_i |I_ij|``).

    Parameters
    ----------
    g : (rows, columns) array_like
        Conductances [S].
    v : float or (rows,) array_like
        Row voltages [V].
    bandwidth : float
        Read bandwidth [Hz] (about ``1/(2 t_read)`` for an integrating read of ``t_read``).
    temperature : float
        Device temperature [K].
    shot : bool
        Include shot noise.
    device : CrossbarDevice, optional
        Read nonlinearity for the signal currents; None = ohmic.

    Returns
    -------
    (columns,) ndarray
        Relative noise [1] (inf where the column current is zero).
    """
    g = _conductances(g)
    bw = _positive("bandwidth", bandwidth, "Hz")
    t = _positive("temperature", temperature, "K")
    i = device_currents(g, v, device)
    if i.ndim != 2:
        raise ParameterError("energy: column_relative_noise takes one input vector (rows,) [V]")
    var = 4.0 * K_B * t * bw * g.sum(axis=0)
    if shot:
        var = var + 2.0 * Q_E * bw * np.abs(i).sum(axis=0)
    sig = np.abs(i.sum(axis=0))
    with np.errstate(divide="ignore"):
        return np.where(sig > 0, np.sqrt(var) / np.where(sig > 0, sig, 1.0), np.inf)


def thesis_short_term_noise(resistance: float = 100e6, i_dc: float = 1.78e-9, bandwidth: float = 10e6,
                            temperature: float = 300.0, read_voltage: float = 0.3,
                            thermal_factor: float = 4.0) -> dict:
    r"""Short-term weight noise estimate of the FTJ thesis (sec. 3.1.2), from thermal + shot noise.

    The thesis writes (eqs. 3.1, 3.2, after its ref. [44])

    .. math:: I_t = \sqrt{\frac{k_B \cdot T \cdot BW}{R}}, \qquad
              I_{sh} = \sqrt{2 \cdot e \cdot I_{dc} \cdot BW}

    and "Using the equations 3.1 and 3.2 for 10 MHz of inference operation, average resistance of
    100 MΩ, temperature 300 K and a measured averaged dc current of 1.78 nA and normalizing the
    result to the values between 0 to 1, the obtained noise is 3.83 %."

    The thesis does not spell out the combination or the normalization.  This function adds the
    two noise currents (worst case, ``I_t + I_sh``) and normalizes by the read current of the
    mean device, ``V_read / R`` (3 nA at 0.3 V and 100 MΩ), with the Johnson-Nyquist factor
    ``thermal_factor = 4`` (``4 k_B T BW / R``): this gives 3.87 %, within 1.1 % of the quoted
    3.83 %.  Eq. 3.1 as printed corresponds to ``thermal_factor = 1`` (3.19 % with the same
    normalization); no combination of the printed equations and the stated values yields
    3.83 % exactly.

    Parameters
    ----------
    resistance : float
        Mean device resistance [ohm].
    i_dc : float
        Measured mean dc read current [A] (for the shot noise).
    bandwidth : float
        Inference bandwidth [Hz].
    temperature : float
        Temperature [K].
    read_voltage : float
        Read voltage [V] (normalization current ``read_voltage / resistance``).
    thermal_factor : float
        ``4`` for Johnson-Nyquist ``4 k_B T BW / R``; ``1`` for eq. 3.1 as printed.

    Returns
    -------
    dict
        ``i_thermal`` [A rms], ``i_shot`` [A rms], ``i_reference`` [A], ``relative`` [1]
        (``(i_thermal + i_shot) / i_reference``).
    """
    r = _positive("resistance", resistance, "ohm")
    bw = _positive("bandwidth", bandwidth, "Hz")
    t = _positive("temperature", temperature, "K")
    f = _positive("thermal_factor", thermal_factor, "1")
    vr = _positive("read_voltage", read_voltage, "V")
    i_t = math.sqrt(f * K_B * t * bw / r)
    i_sh = math.sqrt(2.0 * Q_E * _positive("i_dc", i_dc, "A") * bw)
    i_ref = vr / r
    return {"i_thermal": i_t, "i_shot": i_sh, "i_reference": i_ref, "relative": (i_t + i_sh) / i_ref}


# ---------------------------------------------------------------------------------------------- periphery
def walden_fom(power: float, enob: float, sample_rate: float) -> float:
    """Walden figure of merit ``P / (2^ENOB f_s)`` [J per conversion step] (doi:10.1109/49.761034).

    ``power`` [W], ``enob`` [bit], ``sample_rate`` [S/s].
    """
    return _positive("power", power, "W") / (2.0 ** float(enob) * _positive("sample_rate", sample_rate, "S/s"))


def schreier_fom(sndr_db: float, bandwidth: float, power: float) -> float:
    """Schreier figure of merit ``SNDR + 10 log10(BW / P)`` [dB].

    ``sndr_db`` [dB], ``bandwidth`` [Hz] (``f_s/2`` for a Nyquist converter), ``power`` [W].
    R. Schreier, G. C. Temes, *Understanding Delta-Sigma Data Converters*, Wiley-IEEE Press, 2005
    (ISBN 0-471-46585-2); used by the Murmann ADC survey.
    """
    return float(sndr_db) + 10.0 * math.log10(_positive("bandwidth", bandwidth, "Hz") / _positive("power", power, "W"))


def adc_energy_per_conversion(enob: float, fom: float | None = None) -> float:
    """ADC energy per conversion ``FoM_W 2^ENOB`` [J] (estimate).

    ``enob`` [bit]; ``fom`` [J/conversion step], default the Walden FoM of :data:`KULL2013_ADC`
    (Kull et al. 2013, doi:10.1109/JSSC.2013.2279571; about 33.7 fJ/step).
    """
    if fom is None:
        fom = walden_fom(**KULL2013_ADC)
    return _positive("fom", fom, "J/step") * 2.0 ** float(enob)


def dac_energy_per_conversion(c_row: float, voltage, static_energy: float = 0.0) -> np.ndarray | float:
    """Row driver / DAC energy per conversion ``C_row v^2 + E_static`` [J] (estimate, lower bound).

    ``c_row`` [F]: capacitance of the driven row line (wire + cross-points); ``voltage`` [V]: the
    driven level(s); ``static_energy`` [J]: the DAC core's own energy per conversion if known.
    """
    c = _positive("c_row", c_row, "F", allow_zero=True)
    e0 = _positive("static_energy", static_energy, "J", allow_zero=True)
    out = c * np.asarray(voltage, dtype=np.float64) ** 2 + e0
    return float(out) if out.ndim == 0 else out


def integrator_energy(c_int: float, v_swing: float, amp_power: float, t_int: float) -> float:
    """Column integrator energy per read ``C_int V_swing^2 + P_amp t_int`` [J] (estimate, upper bound
    on the capacitor part: full swing assumed).

    ``c_int`` [F], ``v_swing`` [V], ``amp_power`` [W] (amplifier bias power), ``t_int`` [s].
    """
    c = _positive("c_int", c_int, "F", allow_zero=True)
    return c * float(v_swing) ** 2 + _positive("amp_power", amp_power, "W", allow_zero=True) * \
        _positive("t_int", t_int, "s", allow_zero=True)


@dataclass(frozen=True)
class Periphery:
    """Periphery of one crossbar tile for energy/latency estimates (all values are estimates).

    Parameters
    ----------
    t_read : float
        Read (integration) time of one vector [s].
    adc_bits : float
        Effective resolution used for the ADC energy [bit] (ENOB).
    adc_fom : float, optional
        Walden FoM [J/conversion step]; default from :data:`KULL2013_ADC`.
    adc_rate : float
        Conversions per second of one ADC [S/s] (default 1.2 GS/s, Kull et al. 2013).
    columns_per_adc : int
        Columns sharing one time-multiplexed ADC.
    c_row : float
        Row line capacitance driven by each DAC [F].
    dac_static_energy : float
        DAC core energy per conversion [J].
    c_int, v_swing, amp_power : float
        Integrator capacitance [F], output swing [V] and amplifier power [W] per column.
    """

    t_read: float = 100e-9
    adc_bits: float = KULL2013_ADC["enob"]
    adc_fom: float | None = None
    adc_rate: float = KULL2013_ADC["sample_rate"]
    columns_per_adc: int = 1
    c_row: float = 0.0
    dac_static_energy: float = 0.0
    c_int: float = 0.0
    v_swing: float = 0.0
    amp_power: float = 0.0

    def __post_init__(self):
        _positive("t_read", self.t_read, "s")
        _positive("adc_rate", self.adc_rate, "S/s")
        if int(self.columns_per_adc) < 1:
            raise ParameterError(f"energy: columns_per_adc = {self.columns_per_adc} is not allowed; expected >= 1")


@dataclass
class Cost:
    """Energy [J] and latency [s] of one vector through a tile, layer or network (estimates)."""

    array: float = 0.0
    dac: float = 0.0
    adc: float = 0.0
    integrator: float = 0.0
    latency: float = 0.0
    parts: list = field(default_factory=list)

    @property
    def energy(self) -> float:
        """Total energy [J]."""
        return self.array + self.dac + self.adc + self.integrator

    def __add__(self, other: "Cost") -> "Cost":
        """Sequential composition: energies and latencies add."""
        return Cost(self.array + other.array, self.dac + other.dac, self.adc + other.adc,
                    self.integrator + other.integrator, self.latency + other.latency, [self, other])


def tile_cost(g, v, periphery: Periphery, device=None, kind: str = "resistive",
              n_conversions: int | None = None) -> Cost:
    """Energy and latency of one input vector through one tile (estimate).

    Parameters
    ----------
    g : (rows, columns) array_like
        Conductances [S] (``kind="resistive"``) or capacitances [F] (``kind="capacitive"``).
    v : (rows,) array_like
        Row voltages [V] of this vector.
    periphery : Periphery
        Converter and integrator models.
    device : CrossbarDevice, optional
        Read nonlinearity (resistive only).
    kind : {"resistive", "capacitive"}
        Crossbar kind.
    n_conversions : int, optional
        ADC conversions for this vector (default: one per column).

    Returns
    -------
    Cost
        ``array`` = device energy, ``dac`` = rows x DAC energy, ``adc`` = conversions x ADC energy,
        ``integrator`` = conversions x integrator energy (one integrator per converted output),
        ``latency = t_read + ceil(conversions / columns_per_adc) / adc_rate``.
    """
    g = _conductances(g)
    v = _voltages(v, g.shape[0])
    if v.ndim != 1:
        raise ParameterError("energy: tile_cost takes one input vector (rows,) [V]")
    p = periphery
    if kind == "resistive":
        e_arr = array_read_energy(g, v, p.t_read, device)
    elif kind == "capacitive":
        e_arr = capacitive_array_energy(g, v)
    else:
        raise ParameterError(f"energy: kind = {kind!r} is not allowed; expected 'resistive' or 'capacitive'")
    rows, cols = g.shape
    n_conv = cols if n_conversions is None else int(n_conversions)
    e_dac = float(np.sum(dac_energy_per_conversion(p.c_row, v, p.dac_static_energy)))
    e_adc = n_conv * adc_energy_per_conversion(p.adc_bits, p.adc_fom)
    e_int = n_conv * integrator_energy(p.c_int, p.v_swing, p.amp_power, p.t_read)
    latency = p.t_read + math.ceil(n_conv / int(p.columns_per_adc)) / p.adc_rate
    return Cost(float(e_arr), e_dac, e_adc, e_int, latency)


def analog_matrix_cost(matrix, x, periphery: Periphery, t: float = 0.0, normalize: bool = False) -> Cost:
    """Energy and latency of one input vector through an :class:`~memfit.crossbar.tile.AnalogMatrix`.

    Uses the programmed conductances of every tile (all bit slices, redundant devices and pair
    members; drift at time ``t`` [s] applied) and the device's read I-V.  Inputs ``x`` are the
    normalized layer inputs (clipped to ``+-in_bound``, times ``read_voltage`` [V]).  Tiles run in
    parallel (latency = the slowest tile); one ADC conversion per output column and slice.

    Parameters
    ----------
    matrix : AnalogMatrix
    x : (in,) array_like
        Normalized input vector [1] (or, with ``normalize=True``, the raw layer input).
    periphery : Periphery
    t : float
        Time after programming [s].
    normalize : bool
        Treat ``x`` as the raw layer input and apply the tile's input side first, as the forward
        pass does: per-tile abs-max noise management (when ``config.noise_management ==
        "abs_max"``), clipping to ``+-in_bound`` and the DAC rounding (``config.dac_bits``).
        Bound-management re-reads are not counted.

    Returns
    -------
    Cost
    """
    matrix._ensure_programmed()
    x = np.asarray(x, dtype=np.float64)
    if x.shape != (matrix.shape[1],):
        raise ParameterError(f"energy: input of shape {x.shape} does not match the matrix inputs ({matrix.shape[1]},)")
    dev, cfg = matrix.device, matrix.config
    v_all = np.clip(x, -cfg.in_bound, cfg.in_bound) * dev.read_voltage
    total = Cost()
    for tile in matrix.tiles:
        s = tile.spec
        v = v_all[s.in_start:s.in_stop]
        if normalize:
            from memfit.crossbar.tile import quantize

            xs = x[s.in_start:s.in_stop]
            alpha = float(np.max(np.abs(xs))) if cfg.noise_management == "abs_max" else 1.0
            xs = xs / alpha if alpha > 0 else xs
            v = quantize(np.clip(xs, -cfg.in_bound, cfg.in_bound), cfg.dac_bits, cfg.in_bound) * dev.read_voltage
        G = matrix._conductances(tile, float(t))  # (S, n_dev, P, out, in)
        n_slices, n_out = G.shape[0], G.shape[3]
        gg = np.moveaxis(G, -1, 0).reshape(G.shape[-1], -1)  # (in, S*n_dev*P*out): one wide array
        c = tile_cost(gg, v, periphery, dev if not dev.ohmic else None, n_conversions=n_slices * n_out)
        total.array += c.array
        total.dac += c.dac  # each row line is driven once per vector
        total.adc += c.adc
        total.integrator += c.integrator
        total.latency = max(total.latency, c.latency)
        total.parts.append(c)
    return total


def inference_cost(layer_costs) -> Cost:
    """Energy and latency of one inference from per-layer costs (layers run one after another).

    ``layer_costs`` : iterable of :class:`Cost` (e.g. from :func:`analog_matrix_cost`).
    """
    total = Cost()
    for c in layer_costs:
        total = total + c
    return total


#: Columns of :func:`network_cost` (energies [J] per inference, latency [s] per inference).
COST_COLUMNS = ("array [J]", "DAC [J]", "ADC [J]", "integrator [J]", "energy [J]", "latency [s]")


def _cost_row(c: Cost) -> dict:
    return {"array [J]": c.array, "DAC [J]": c.dac, "ADC [J]": c.adc, "integrator [J]": c.integrator,
            "energy [J]": c.energy, "latency [s]": c.latency}


def network_cost(anet, x, periphery: Periphery | None = None, t: float = 0.0, n_samples: int | None = 32):
    """Energy and latency per inference of an analog network, per matrix layer and in total (estimate).

    Each sample of ``x`` (the first ``n_samples``) is run through the analog network one at a
    time; every vector a matrix layer reads (one per sample for a dense layer, one per output
    position for a convolution) is costed on that layer's programmed tiles:
    :func:`analog_matrix_cost` (``normalize=True``) for resistive tiles
    (:class:`~memfit.crossbar.tile.AnalogMatrix`), the tile's own ``cost`` method for others
    (:meth:`memfit.crossbar.memcap.CapacitiveAnalogMatrix.cost`: ``tile_cost(kind="capacitive")``).
    A layer reads its vectors one after another (latency = sum of the vector latencies), layers
    run one after another (:func:`inference_cost`).  Digital layers (activations, pooling,
    biases) cost nothing here.  The result is the mean over the samples.

    Parameters
    ----------
    anet : AnalogNetwork
        A programmed analog network.
    x : ndarray (n, ...)
        Network inputs.
    periphery : Periphery, optional
        Converter and integrator models (default :class:`Periphery()`: 100 ns read, the
        Kull et al. 2013 ADC at ENOB 6.24, one ADC per column, no DAC/integrator energy).
    t : float
        Time after programming [s].
    n_samples : int or None
        Samples used (None: all).

    Returns
    -------
    pandas.DataFrame
        One row per matrix layer (``layer``, ``kind``, ``vectors`` per inference, then
        :data:`COST_COLUMNS`) and a last row ``layer="per inference"`` with the sums.
        ``attrs["n_samples"]`` holds the number of samples averaged.
    """
    import pandas as pd

    p = Periphery() if periphery is None else periphery
    x = np.asarray(x, dtype=np.float64)
    if n_samples is not None:
        if int(n_samples) < 1:
            raise ParameterError(f"energy: n_samples = {n_samples} is not allowed; expected >= 1 or None")
        x = x[: int(n_samples)]
    if x.shape[0] < 1:
        raise ParameterError("energy: network_cost needs at least one input sample")
    names = list(anet.tiles)
    sums = {name: Cost() for name in names}
    vectors = dict.fromkeys(names, 0)
    for k in range(x.shape[0]):
        seen: dict = {}

        def hook(rows, name):
            seen[name] = np.asarray(rows, dtype=np.float64)
            return anet.tiles[name].forward(rows, t=t)

        mvm = {name: (lambda rows, name=name: hook(rows, name)) for name in names}
        anet.network.forward(x[k: k + 1], mvm=mvm)
        for name in names:
            tile = anet.tiles[name]
            for row in seen[name].reshape(-1, seen[name].shape[-1]):
                c = tile.cost(row, p, t) if hasattr(tile, "cost") else analog_matrix_cost(tile, row, p, t,
                                                                                          normalize=True)
                sums[name] = Cost(sums[name].array + c.array, sums[name].dac + c.dac, sums[name].adc + c.adc,
                                  sums[name].integrator + c.integrator, sums[name].latency + c.latency)
                vectors[name] += 1
    n = x.shape[0]
    layers = []
    rows = []
    for name in names:
        s = sums[name]
        c = Cost(s.array / n, s.dac / n, s.adc / n, s.integrator / n, s.latency / n)
        layers.append(c)
        rows.append({"layer": name, "kind": getattr(anet.tiles[name], "kind", "resistive"),
                     "vectors": vectors[name] / n, **_cost_row(c)})
    total = inference_cost(layers)
    kinds = {r["kind"] for r in rows}
    rows.append({"layer": "per inference", "kind": kinds.pop() if len(kinds) == 1 else "mixed",
                 "vectors": sum(vectors.values()) / n, **_cost_row(total)})
    df = pd.DataFrame(rows)
    df.attrs["n_samples"] = n
    return df
