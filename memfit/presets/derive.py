r"""Derivation of a preset from a compact model and its (fitted) parameters, by simulation.

:func:`derive_preset` turns a model + parameters (+ their variability) into
the quantities a crossbar simulator needs.  Every number comes from running
the model with :mod:`memfit.simulate`, never from a closed-form shortcut:

pulse response
    Trains of identical programming pulses, each followed by a read, up
    (potentiation) then down (depression), on the nominal device and on
    ``n_devices`` devices drawn from the device-to-device distribution (one
    :func:`~memfit.simulate.simulate_batch` call).  The nominal reads give the
    window ``[g_min, g_max]`` and the mean change per pulse ``dG(G)``; the
    drawn devices give the device-to-device spread of the window and of the
    step size (``dg_dtod``: relative std of each device's step scale).
cycle-to-cycle spread
    From states along the nominal ramps, one pulse is applied ``n_c2c``
    times with parameters redrawn per cycle (relative standard deviations
    ``c2c``, e.g. from a fit's standard errors): ``dg_std(G)`` is the
    standard deviation of the resulting changes, ``dg_mean(G)`` their mean.
read I-V
    The port equation of the model at three states across the window, on a
    voltage grid of +-1.5 x the read voltage, normalised to the read current.
drift
    A retention hold at 0 V (log-spaced samples up to ``drift_time``, read by the port equation) from
    states across the window; the exponent is the least-squares slope
    ``nu = -d ln G / d ln((t + t0)/t0)``.  Models without drift give nu = 0.
write-verify
    An incremental-step pulse programming (ISPP) loop run on the nominal
    device and the drawn devices, targets spread across the window: read,
    stop when ``|G - G_t| <= tolerance G_t``, else pulse towards the target
    with an amplitude that grows by ``v_step`` per pulse (restarting at
    ``v_start`` when the direction changes).  Success rate, pulses needed
    and residual error are recorded.
levels
    Counted greedily from ``g_min``: the next level lies 3 sigma above the
    current one's upper 3 sigma, sigma(G) = G sqrt(residual_std^2 +
    read_noise^2).

Nothing here knows a particular model; presets of every registered model
with an ``i(v)`` port can be derived.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any, Mapping, Sequence

import numpy as np

from memfit.errors import MemfitError, PresetError
from memfit.presets.preset import Preset, draw_parameters
from memfit.presets.schema import SCHEMA_VERSION, q, qa

#: Write-verify settings used when none are given (amplitudes as fractions of the ramp pulses').
DEFAULT_WRITE_VERIFY = {"tolerance": 0.05, "max_pulses": 20, "n_devices": 16}


# --------------------------------------------------------------------------- inputs
def _pulse_spec(pulses: Mapping[str, Any], direction: str) -> dict[str, float]:
    if direction not in pulses:
        raise PresetError(f"pulses: missing {direction!r}; give pulses={{'up': {{'amplitude': V, 'width': s, 'n': N}}, "
                          "'down': {...}}")
    s = pulses[direction]
    if isinstance(s, (tuple, list)):
        s = dict(zip(("amplitude", "width", "n"), s))
    out = {}
    for key, unit in (("amplitude", "V"), ("width", "s"), ("n", "pulses")):
        if key not in s:
            raise PresetError(f"pulses.{direction}: missing {key!r} [{unit}]")
        try:
            out[key] = float(s[key])
        except (TypeError, ValueError):
            raise PresetError(f"pulses.{direction}.{key}: must be a number [{unit}], got {s[key]!r}") from None
    if out["width"] <= 0 or not math.isfinite(out["width"]):
        raise PresetError(f"pulses.{direction}.width: must be > 0 s, got {out['width']:g}")
    if out["n"] < 1 or out["n"] != int(out["n"]):
        raise PresetError(f"pulses.{direction}.n: must be a whole number >= 1, got {out['n']:g}")
    out["n"] = int(out["n"])
    return out


def _d2d_spec(model, nominal: dict[str, float], d2d) -> dict[str, Any]:
    """Normalise a d2d specification: a full spec (see Preset.d2d) or {name: relative std}."""
    if not d2d:
        return {"parameters": {}, "correlation": {"names": [], "matrix": []}}
    if "parameters" in d2d:
        spec = {"parameters": {k: dict(v) for k, v in d2d["parameters"].items()},
                "correlation": dict(d2d.get("correlation") or {"names": [], "matrix": []})}
    else:
        spec = {"parameters": {}, "correlation": {"names": [], "matrix": []}}
        for name, rel in d2d.items():
            model.parameter(name)
            mean = nominal[name]
            dist = "lognormal" if (model.parameter(name).log_scale and mean > 0) else "normal"
            spec["parameters"][name] = {"distribution": dist, "mean": mean, "std": abs(float(rel) * mean)}
    for name in spec["parameters"]:
        model.parameter(name)  # raises ParameterError naming the valid names
    return spec


def d2d_from_population(population) -> dict[str, Any]:
    """A d2d specification from :class:`~memfit.fitting.PopulationResult` statistics.

    Uses each varied parameter's arithmetic mean and standard deviation, the
    better of normal / log-normal (by AIC) and the population correlation
    matrix (of logs for log-normal parameters), as :func:`fit_population`
    reports them.
    """
    st = population.statistics()
    corr = population.correlation()
    params = {}
    for name, row in st.iterrows():
        if not (math.isfinite(row["mean"]) and math.isfinite(row["std"])):
            continue
        params[str(name)] = {"distribution": str(row["distribution"]), "mean": float(row["mean"]),
                             "std": float(row["std"])}
    names = [n for n in corr.index if n in params]
    m = corr.loc[names, names].to_numpy(dtype=float)
    m = np.where(np.isfinite(m), m, 0.0)
    np.fill_diagonal(m, 1.0)
    return {"parameters": params, "correlation": {"names": names, "matrix": m.tolist()}}


def _c2c_rows(model, P0: np.ndarray, c2c: Mapping[str, float] | None, n: int, gen) -> np.ndarray:
    """(len(P0) * n, n_params): each row of P0 repeated n times with parameters redrawn per cycle."""
    P = np.repeat(P0, n, axis=0)
    for name, rel in (c2c or {}).items():
        k = model.param_names.index(model.parameter(name).name)
        par = model.parameter(name)
        rel = float(rel)
        if rel < 0 or not math.isfinite(rel):
            raise PresetError(f"c2c.{name}: relative standard deviation must be a finite number >= 0, got {rel}")
        P[:, k] = np.clip(P[:, k] * (1.0 + rel * gen.standard_normal(P.shape[0])), par.lower, par.upper)
    return P


# --------------------------------------------------------------------------- simulation helpers
class _Reader:
    """A stimulus with reads and the bookkeeping to turn simulated currents into read conductances."""

    def __init__(self, stim, read_v: float):
        self.stim = stim
        self.read_v = read_v
        roles = stim.roles_at()
        seg = stim.segment_index()
        # output samples strictly inside read segments (the end point belongs to the next segment)
        self.read_segments = [k for k, r in enumerate(stim.roles) if r == "read"]
        self.samples = [np.nonzero((seg == k) & (roles == "read"))[0] for k in self.read_segments]
        self.last = np.array([s[-1] for s in self.samples])

    def conductance(self, i: np.ndarray) -> np.ndarray:
        """(N, n_reads) read conductance [S]: mean of i / v over each read plateau."""
        return np.stack([i[:, s].mean(axis=1) for s in self.samples], axis=1) / self.read_v


def _stimulus(read_v: float, trains: Sequence[tuple[float, float, int]], read_width: float | None,
              rise: float | None, points_per_pulse: int = 4):
    """A read, then pulse trains (amplitude [V], width [s], n), each pulse followed by a read."""
    from memfit.simulate import hold, pulse_train

    first_w = trains[0][1] if trains else 1e-6
    rw = read_width if read_width is not None else first_w
    stim = hold(read_v, rw, points=3, role="read")
    for amp, width, n in trains:
        rr = 0.01 * width if rise is None else rise
        stim = stim + pulse_train([amp] * int(n), width, read_v=read_v, rise=rr, fall=rr,
                                  read_width=rw, read_delay=rw, points_per_pulse=points_per_pulse)
    return _Reader(stim, read_v)


def _batch(model, reader: _Reader, P, X0, circuit, record="current", rtol=1e-6):
    from memfit.simulate import simulate_batch

    try:
        return simulate_batch(model, reader.stim, np.ascontiguousarray(P), np.ascontiguousarray(X0), circuit=circuit,
                              record=record, rtol=rtol, atol=rtol * 1e-2)
    except MemfitError as exc:
        raise PresetError(f"derivation of {model.name!r}: simulation failed: {exc}") from None


def _port_conductance(model, X: np.ndarray, P: np.ndarray, v: float) -> np.ndarray:
    """Chord conductance i(v)/v [S] from the port equation at states X (N, n_states) and parameters P."""
    return np.array([model.current(np.ascontiguousarray(x), float(v), np.ascontiguousarray(p)) / v
                     for x, p in zip(X, P)])


def _binned(g_grid: np.ndarray, g: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean of y in bins of g centred on g_grid, empty bins interpolated (edges held)."""
    edges = np.concatenate([[-np.inf], 0.5 * (g_grid[1:] + g_grid[:-1]), [np.inf]])
    idx = np.searchsorted(edges, g, side="right") - 1
    out = np.full(g_grid.size, np.nan)
    for b in range(g_grid.size):
        sel = idx == b
        if sel.any():
            out[b] = float(np.mean(y[sel]))
    ok = np.isfinite(out)
    if not ok.any():
        return np.zeros_like(g_grid)
    return np.interp(g_grid, g_grid[ok], out[ok])


def drift_exponents(model, P: np.ndarray, X: np.ndarray, read_v: float, t0: float, duration: float = 1e4,
                    points: int = 40, circuit=None) -> tuple[np.ndarray, np.ndarray]:
    """Simulate a retention hold (0 V) from states X and fit the power-law drift exponent of each.

    Parameters
    ----------
    model : DeviceModel
    P, X : ndarray
        Parameter rows (N, n_params) and states (N, n_states).
    read_v : float
        Read voltage held during the retention [V].
    t0 : float
        Drift reference time [s] of ``G = G0 ((t + t0)/t0)^-nu``.
    duration : float
        Length of the hold [s]; reads log-spaced in time.

    Returns
    -------
    g0, nu : ndarray (N,)
        Conductance at the start of the hold [S] and the least-squares slope
        ``nu = -d ln G / d ln((t + t0)/t0)``.
    """
    from memfit.simulate import hold

    # retention at 0 V (an idle crossbar); the conductance is read from the port equation at each state,
    # so the reads do not disturb the state
    stim = hold(0.0, duration, points=points, log=True, role="hold")
    b = _batch(model, _Reader(stim, read_v), P, X, circuit, record="all")
    t = stim.t
    N, M = b.x.shape[0], b.x.shape[1]
    G = np.empty((N, M))
    for d in range(N):
        G[d] = _port_conductance(model, b.x[d], np.repeat(P[d:d + 1], M, axis=0), read_v)
    keep = t > 0
    lx = np.log((t[keep] + t0) / t0)
    lg = np.log(np.abs(G[:, keep]))
    lxm = lx - lx.mean()
    slope = (lg - lg.mean(axis=1, keepdims=True)) @ lxm / float(lxm @ lxm)
    return np.abs(G[:, 0]), -slope


def _grow(start: float, limit: float, delta):
    """ISPP amplitude: ``start`` grown in magnitude by ``delta`` (away from 0), at most ``|limit|``."""
    sign = 1.0 if start >= 0 else -1.0
    return sign * np.minimum(abs(start) + delta, abs(limit))


def _ispp(model, P: np.ndarray, X0: np.ndarray, targets: np.ndarray, scheme: dict, read_v: float, read_width,
          rise, circuit) -> dict[str, Any]:
    """Simulated write-verify with incremental step pulse programming on every device (row of P)."""
    n = P.shape[0]
    tol = scheme["tolerance"]
    X = X0.copy()
    G = _port_conductance(model, X, P, read_v)
    pulses = np.zeros(n, dtype=int)
    step = np.zeros(n, dtype=int)  # amplitude index within the current direction
    last_dir = np.zeros(n, dtype=int)
    done = np.abs(G - targets) <= tol * targets
    for _ in range(scheme["max_pulses"]):
        todo = np.nonzero(~done)[0]
        if todo.size == 0:
            break
        direction = np.where(G[todo] < targets[todo], 1, -1)
        restart = direction != last_dir[todo]
        step[todo[restart]] = 0
        last_dir[todo] = direction
        up_amp = _grow(scheme["v_start"], scheme["v_max"], step[todo] * scheme["v_step"])
        dn_amp = _grow(scheme["v_start_down"], scheme["v_max_down"], step[todo] * scheme["v_step"])
        amp = np.round(np.where(direction > 0, up_amp, dn_amp), 12)
        for a in np.unique(amp):
            rows = todo[amp == a]
            reader = _stimulus(read_v, [(float(a), scheme["width"], 1)], read_width, rise)
            b = _batch(model, reader, P[rows], X[rows], circuit)
            X[rows] = b.final_state
            G[rows] = reader.conductance(b.i)[:, -1]
        pulses[todo] += 1
        step[todo] += 1
        done = np.abs(G - targets) <= tol * targets
    rel = (G - targets) / targets
    return {"success": done, "pulses": pulses, "residual": rel, "G": G}


def count_levels(g_min: float, g_max: float, rel_sigma: float, n_sigma: float = 3.0, cap: int = 100_000) -> int:
    """Distinguishable levels in [g_min, g_max] with a relative spread ``rel_sigma`` per level.

    Greedy from ``g_min``: level k+1 sits where its lower ``n_sigma`` edge
    meets level k's upper ``n_sigma`` edge, ``G_{k+1} (1 - n s) = G_k (1 + n s)``.
    """
    if rel_sigma <= 0:
        return cap
    if n_sigma * rel_sigma >= 1:
        return 1
    ratio = (1 + n_sigma * rel_sigma) / (1 - n_sigma * rel_sigma)
    g = max(g_min, 1e-300)
    levels = 1
    while g * ratio <= g_max and levels < cap:
        g *= ratio
        levels += 1
    return levels


# --------------------------------------------------------------------------- main entry
def derive_preset(
    model,
    params: Mapping[str, float] | None = None,
    *,
    name: str,
    pulses: Mapping[str, Any],
    read_v: float,
    description: str = "",
    reference: str | None = None,
    x0: Mapping[str, float] | None = None,
    read_width: float | None = None,
    rise: float | None = None,
    stderr: Mapping[str, float] | None = None,
    c2c: Mapping[str, float] | None = None,
    d2d: Mapping[str, Any] | None = None,
    read_noise: float = 0.0,
    faults: Mapping[str, float] | None = None,
    write_verify: Mapping[str, Any] | None = None,
    drift_time: float = 1e4,
    drift_t0: float | None = None,
    n_devices: int = 16,
    n_c2c: int = 16,
    n_grid: int = 24,
    circuit=None,
    seed: int | None = 0,
    sources: Sequence[Mapping[str, Any]] = (),
    fit_report: str | None = None,
    notes: Sequence[str] = (),
    generator: str = "memfit.presets.derive_preset",
) -> Preset:
    """Derive a :class:`Preset` by simulating ``model`` with ``params`` (see the module docstring).

    Parameters
    ----------
    model : str or DeviceModel
        A registered model with an ``i(v)`` port.
    params : mapping, optional
        Parameter values [SI] by name (fitted values); defaults fill the rest.
    name : str
        Preset name (letters, digits, ``-_.``).
    pulses : mapping
        ``{"up": {"amplitude": V, "width": s, "n": N}, "down": {...}}``:
        the identical programming pulses of the potentiation (``up``: raises
        the read conductance) and depression ramps, and how many of each.
    read_v : float
        Read voltage [V] (non-zero).
    x0 : mapping, optional
        Initial state of the ramps (default: the model's initial state).
    read_width, rise : float, optional
        Read plateau duration and pulse edge duration [s] (defaults: the
        pulse width and 1 % of it).
    stderr : mapping, optional
        One-sigma parameter uncertainties (stored with the parameters).
    c2c : mapping, optional
        Cycle-to-cycle relative standard deviation per parameter name.
    d2d : mapping, optional
        Device-to-device distribution: a full specification (see
        :attr:`Preset.d2d`; :func:`d2d_from_population` builds one from a
        population fit) or ``{name: relative std}``.
    read_noise : float
        Relative std of one read (the compact models have no read noise:
        give a measured figure).
    faults : mapping, optional
        ``{"stuck_on": fraction, "stuck_off": fraction}`` (default 0, 0).
    write_verify : mapping, optional
        ISPP scheme: ``tolerance`` (relative), ``max_pulses``, ``v_start``,
        ``v_step``, ``v_max`` [V] for potentiation, ``v_start_down``,
        ``v_max_down`` [V] for depression, ``width`` [s], ``n_devices``.
        Defaults: half the ramp amplitude to start, 1/10 of it per step, the
        ramp amplitude at most, the ramp width, tolerance 5 %, 20 pulses.
    drift_time : float
        Duration of the simulated retention hold [s].
    drift_t0 : float, optional
        Drift reference time [s]; default: the model's ``t0_drift`` parameter
        if it has one, else 1 s.
    n_devices, n_c2c, n_grid : int
        Devices drawn for d2d, cycles per state for c2c, points of the
        tables.
    circuit : TestCircuit, optional
        Series resistance / compliance of the programming circuit.
    seed : int or None
        Seed of the random draws (reproducible presets).
    sources, fit_report, notes, generator
        Provenance: ``[{"file": path, "sha256": hex}]``, the fit report's
        path, free-text notes, what produced the preset.

    Returns
    -------
    Preset
        Validated.

    Raises
    ------
    PresetError
        Bad pulse specification, pulses that do not move the conductance the
        way their direction says, a failed simulation.
    """
    from memfit import __version__
    from memfit.models import get_model

    model = get_model(model)
    if model.port != "i(v)":
        raise PresetError(f"model {model.name!r} has a {model.port} port; presets describe conductive (i(v)) devices")
    read_v = float(read_v)
    if read_v == 0 or not math.isfinite(read_v):
        raise PresetError(f"read_v: must be a non-zero voltage, got {read_v!r}")
    up = _pulse_spec(pulses, "up")
    down = _pulse_spec(pulses, "down")
    gen = np.random.default_rng(seed)
    p0 = model.params(dict(params or {}))
    nominal = model.as_dict(p0)
    x0d = dict(x0 or {})
    X0 = model.initial_state(p0, **x0d)
    d2d_spec = _d2d_spec(model, nominal, d2d)
    n_dev = int(n_devices) if d2d_spec["parameters"] else 0
    P = np.vstack([p0[None, :], draw_parameters(model, nominal, d2d_spec, n_dev, gen)]) if n_dev else p0[None, :]
    XX0 = np.tile(X0, (P.shape[0], 1))

    # ---- ramps: nominal device (row 0) + drawn devices, reads after every pulse
    ramps = _stimulus(read_v, [(up["amplitude"], up["width"], up["n"]), (down["amplitude"], down["width"], down["n"])],
                      read_width, rise)
    b = _batch(model, ramps, P, XX0, circuit, record="all")
    G = ramps.conductance(b.i)  # (N, 1 + n_up + n_down)
    states = b.x[:, ramps.last, :]  # state at the end of each read
    n_up = up["n"]
    g_nom = G[0]
    dg_up_nom = np.diff(g_nom[: n_up + 1])
    dg_dn_nom = np.diff(g_nom[n_up:])
    if dg_up_nom.sum() <= 0:
        raise PresetError(f"pulses.up: {up['amplitude']:g} V x {up['width']:g} s pulses do not raise the read "
                          f"conductance of {model.name!r} at {read_v:g} V (net change {dg_up_nom.sum():.3g} S); "
                          "check the polarity (model sign convention: " + (model.sign_convention or "n/a") + ")")
    if dg_dn_nom.sum() >= 0:
        raise PresetError(f"pulses.down: {down['amplitude']:g} V x {down['width']:g} s pulses do not lower the read "
                          f"conductance of {model.name!r} at {read_v:g} V (net change {dg_dn_nom.sum():.3g} S); "
                          "check the polarity (model sign convention: " + (model.sign_convention or "n/a") + ")")
    g_min, g_max = float(g_nom.min()), float(g_nom.max())
    grid = np.linspace(g_min, g_max, int(n_grid))
    conductance = {"g_min": q(g_min, "S"), "g_max": q(g_max, "S")}
    if n_dev > 1:
        gmins, gmaxs = G[1:].min(axis=1), G[1:].max(axis=1)
        conductance["g_min_dtod"] = q(np.std(gmins, ddof=1) / np.mean(gmins), "1")
        conductance["g_max_dtod"] = q(np.std(gmaxs, ddof=1) / np.mean(gmaxs), "1")

    # ---- pulse-response tables with cycle-to-cycle spread
    tables = {}
    for direction, spec, lo, hi in (("up", up, 0, n_up), ("down", down, n_up, n_up + down["n"])):
        k_idx = np.arange(lo, hi)  # read index before each pulse of this ramp
        g_before = g_nom[k_idx]
        dg_nom = g_nom[k_idx + 1] - g_before
        # states nearest to the grid conductances (unique, so each is simulated once)
        near = np.unique(k_idx[np.argmin(np.abs(g_before[None, :] - grid[:, None]), axis=1)])
        Xs = states[0, near, :]
        Ps = _c2c_rows(model, P[:1].repeat(near.size, axis=0), c2c, int(n_c2c) if c2c else 1, gen)
        reps = int(n_c2c) if c2c else 1
        one = _stimulus(read_v, [(spec["amplitude"], spec["width"], 1)], read_width, rise)
        bc = _batch(model, one, Ps, np.repeat(Xs, reps, axis=0), circuit)
        gg = one.conductance(bc.i)
        dg = (gg[:, 1] - gg[:, 0]).reshape(near.size, reps)
        g_at = g_nom[near]
        order = np.argsort(g_at)
        if c2c:
            mean_at, std_at = dg.mean(axis=1), dg.std(axis=1, ddof=1)
            dg_mean = np.interp(grid, g_at[order], mean_at[order])
            dg_std = np.interp(grid, g_at[order], std_at[order])
        else:
            dg_mean = _binned(grid, g_before, dg_nom)
            dg_std = np.zeros_like(grid)
        # device-to-device: each drawn device's step scale relative to the nominal device, pulse by pulse
        dtod = 0.0
        if n_dev > 1:
            big = np.abs(dg_nom) > 0.05 * np.max(np.abs(dg_nom))
            dg_dev = G[1:, k_idx + 1] - G[1:, k_idx]
            scale = np.mean(dg_dev[:, big] / dg_nom[big], axis=1)
            dtod = float(np.std(scale, ddof=1) / abs(np.mean(scale)))
        tables[direction] = {"amplitude": q(spec["amplitude"], "V"), "width": q(spec["width"], "s"),
                             "g": qa(grid, "S"), "dg_mean": qa(dg_mean, "S"), "dg_std": qa(dg_std, "S"),
                             "dg_dtod": q(dtod, "1"), "n_pulses": int(spec["n"])}

    # ---- read I-V around the read voltage (port equation at states across the window)
    a = abs(read_v)
    v_grid = np.union1d(np.linspace(-1.5 * a, 1.5 * a, 61), [read_v])
    k_lo, k_hi = int(np.argmin(g_nom)), int(np.argmax(g_nom))
    k_mid = int(np.argmin(np.abs(g_nom - 0.5 * (g_min + g_max))))
    curves = []
    for k in (k_lo, k_mid, k_hi):
        x = np.ascontiguousarray(states[0, k])
        i = np.array([model.current(x, float(v), p0) for v in v_grid])
        i_read = model.current(x, read_v, p0)
        curves.append(i / i_read)
    i_rel = np.mean(curves, axis=0)

    # ---- drift exponent vs conductance (nominal device; d2d devices give its spread)
    if drift_t0 is None:
        drift_t0 = nominal["t0_drift"] if "t0_drift" in nominal else 1.0
    n_drift = min(8, int(n_grid))
    g_targets = np.linspace(g_min, g_max, n_drift)
    kk = np.arange(0, n_up + 1)
    rows_p, rows_x, owner = [], [], []
    for d in range(P.shape[0]):
        near_d = kk[np.argmin(np.abs(G[d, kk][None, :] - g_targets[:, None]), axis=1)]
        rows_p.append(np.repeat(P[d:d + 1], n_drift, axis=0))
        rows_x.append(states[d, near_d, :])
        owner.append(np.full(n_drift, d))
    g0, nu = drift_exponents(model, np.vstack(rows_p), np.vstack(rows_x), read_v, float(drift_t0), drift_time,
                             circuit=circuit)
    nu = nu.reshape(P.shape[0], n_drift)
    g0 = g0.reshape(P.shape[0], n_drift)
    nu_nom, g_nu = nu[0], g0[0]
    nu_std = nu[1:].std(axis=0, ddof=1) if n_dev > 1 else np.zeros(n_drift)
    order = np.argsort(g_nu)
    g_nu, nu_nom, nu_std = g_nu[order], nu_nom[order], nu_std[order]
    keep = np.concatenate([[True], np.diff(g_nu) > 1e-9 * g_max])
    g_nu, nu_nom, nu_std = g_nu[keep], nu_nom[keep], nu_std[keep]

    # ---- write-verify (ISPP) on the nominal + drawn devices
    wv = dict(DEFAULT_WRITE_VERIFY)
    wv.update({"v_start": 0.5 * up["amplitude"], "v_step": 0.1 * up["amplitude"], "v_max": up["amplitude"],
               "v_start_down": 0.5 * down["amplitude"], "v_max_down": down["amplitude"], "width": up["width"]})
    wv.update(dict(write_verify or {}))
    for key in ("tolerance", "v_start", "v_step", "v_max", "v_start_down", "v_max_down", "width"):
        wv[key] = float(wv[key])
    wv["max_pulses"] = int(wv["max_pulses"])
    wv["v_step"] = abs(wv["v_step"])
    n_wv = max(int(wv["n_devices"]), 1)
    Pw = np.vstack([p0[None, :], draw_parameters(model, nominal, d2d_spec, n_wv - 1, gen)]) if (
        d2d_spec["parameters"] and n_wv > 1) else np.tile(p0, (n_wv, 1))
    targets = g_min + (g_max - g_min) * (0.1 + 0.8 * (np.arange(n_wv) % 9) / 8.0)
    res = _ispp(model, Pw, np.tile(X0, (n_wv, 1)), targets, wv, read_v, read_width, rise, circuit)
    residual_std = float(np.sqrt(np.mean(res["residual"] ** 2)))
    write_verify_doc = {
        "tolerance": q(wv["tolerance"], "1"), "max_pulses": wv["max_pulses"],
        "v_start": q(wv["v_start"], "V"), "v_step": q(wv["v_step"], "V"), "v_max": q(wv["v_max"], "V"),
        "v_start_down": q(wv["v_start_down"], "V"), "v_max_down": q(wv["v_max_down"], "V"),
        "width": q(wv["width"], "s"), "success_rate": q(float(np.mean(res["success"])), "1"),
        "pulses_mean": q(float(np.mean(res["pulses"])), "1"), "pulses_std": q(float(np.std(res["pulses"])), "1"),
        "residual_std": q(residual_std, "1"), "n_devices": n_wv,
    }
    rel_sigma = math.hypot(residual_std, float(read_noise))
    levels = count_levels(g_min, g_max, rel_sigma) if rel_sigma > 0 else int(n_up + 1)

    # ---- the document
    stderr = dict(stderr or {})
    mparams = {}
    for par in model.parameters:
        entry = {"value": float(nominal[par.name]), "unit": par.unit}
        e = stderr.get(par.name)
        if e is not None and math.isfinite(float(e)):
            entry["stderr"] = float(e)
        mparams[par.name] = entry
    units = {s.name: s.unit for s in model.states}
    doc = {
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "description": description or f"{model.title}, derived by simulation",
        "reference": reference or str(model.reference),
        "model": {"name": model.name, "parameters": mparams,
                  "x0": {k: q(v, units[k]) for k, v in x0d.items()} or None},
        "read": {"voltage": q(read_v, "V"), "iv": {"v": qa(v_grid, "V"), "i_rel": qa(i_rel, "1")},
                 "noise": q(read_noise, "1")},
        "conductance": conductance,
        "pulse_response": tables,
        "d2d": {"parameters": {k: {"distribution": s["distribution"],
                                   "mean": q(s["mean"], model.parameter(k).unit),
                                   "std": q(s["std"], model.parameter(k).unit)}
                               for k, s in d2d_spec["parameters"].items()},
                "correlation": {"names": list(d2d_spec["correlation"].get("names", [])),
                                "matrix": [list(map(float, r)) for r in d2d_spec["correlation"].get("matrix", [])]}},
        "drift": {"law": "power", "t0": q(drift_t0, "s"), "nu_g": qa(g_nu, "S"), "nu_mean": qa(nu_nom, "1"),
                  "nu_std": qa(nu_std, "1")},
        "faults": {"stuck_on": q((faults or {}).get("stuck_on", 0.0), "1"),
                   "stuck_off": q((faults or {}).get("stuck_off", 0.0), "1")},
        "levels": int(max(levels, 1)),
        "write_verify": write_verify_doc,
        "provenance": {
            "memfit_version": __version__,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "generator": generator,
            "sources": [{"file": str(s.get("file")), "sha256": s.get("sha256"),
                         **({"note": str(s["note"])} if s.get("note") else {})} for s in sources],
            "fit_report": fit_report,
            "settings": {"pulses": {"up": up, "down": down}, "read_width": read_width, "rise": rise,
                         "c2c": dict(c2c or {}), "n_devices": n_dev, "n_c2c": int(n_c2c) if c2c else 0,
                         "drift_time": drift_time, "seed": seed,
                         "circuit": None if circuit is None else {"series_resistance": circuit.series_resistance,
                                                                  "compliance": circuit.compliance}},
            "notes": list(notes),
        },
    }
    return Preset(doc)


def preset_from_fit(fit_result, *, name: str, pulses, read_v: float, c2c=None, population=None, cycles=None,
                    **kwargs) -> Preset:
    """Derive a preset from a :class:`~memfit.fitting.FitResult` (see :func:`derive_preset`).

    The fitted parameters (dataset 0) are the nominal device and their
    standard errors are stored with them (they describe how well the fit
    pins the parameters, not how the device varies).  Variability comes from
    data about variability:

    * ``cycles`` -- a :class:`~memfit.fitting.PopulationResult` of per-cycle
      fits of one device (``fit_population`` over its cycles): the relative
      standard deviation of each fitted parameter across cycles is the
      cycle-to-cycle spread (unless ``c2c`` is given explicitly);
    * ``population`` -- a PopulationResult of per-device fits: its
      statistics are the device-to-device distribution;
    * ``c2c`` -- explicit relative standard deviations per parameter.

    Without ``c2c`` or ``cycles`` the preset has no cycle-to-cycle spread
    (``dg_std`` = 0, noted in its provenance).  Provenance: the fit's data
    sources (files with sha256) and ``fit_report`` if given.
    """
    params = fit_result.model_params(0)
    stderr = {}
    for n in fit_result.varied:
        base = n.split("__")[0]
        e = fit_result.stderr.get(n)
        if e is not None and math.isfinite(e):
            stderr[base] = float(e)
    notes = list(kwargs.pop("notes", ()))
    if c2c is None and cycles is not None:
        c2c = {}
        for pname in cycles.varied:
            x = cycles.ok[pname].to_numpy(dtype=float)
            mean = float(np.mean(x)) if x.size else 0.0
            if x.size >= 2 and mean != 0.0:
                c2c[pname] = float(np.std(x, ddof=1) / abs(mean))
        notes.append(f"cycle-to-cycle spread from {len(cycles.ok)} per-cycle fits: "
                     + ", ".join(f"{k} {100 * v:.3g} %" for k, v in c2c.items()))
    elif c2c is None:
        notes.append("no cycle-to-cycle data (c2c or cycles): dg_std is 0")
    if population is not None and "d2d" not in kwargs:
        kwargs["d2d"] = d2d_from_population(population)
    sources = list(kwargs.pop("sources", ()))
    for s in fit_result.info.get("sources", []):
        entry = {"file": str(s.get("file") or s.get("source") or "in-memory data"),
                 "sha256": s.get("sha256_file") or s.get("sha256_data")}
        if entry not in sources:  # several datasets (ramps, cycles) cut from one file: list the file once
            sources.append(entry)
    kwargs.setdefault("generator", "FitResult.to_preset")
    notes.append(f"fitted parameters: {', '.join(fit_result.varied) or 'none'}")
    try:
        x0 = kwargs.pop("x0") if "x0" in kwargs else fit_result.initial_state(0)
    except MemfitError:
        x0 = None
    return derive_preset(fit_result.model, params, name=name, pulses=pulses, read_v=read_v, c2c=c2c, stderr=stderr,
                         sources=sources, notes=notes, x0=x0, **kwargs)
