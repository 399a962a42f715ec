"""FitResult: fitted parameters with uncertainties, goodness of fit, report, plot, save/load."""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import os
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from memfit.errors import FitError
from memfit.models.registry import get_model


def _stats(kind: str, measured: np.ndarray, simulated: np.ndarray, floor: float) -> dict[str, float]:
    """R^2, NRMSE (by the measured range) and log-RMSE (decades) of one dataset."""
    m = np.asarray(measured, float)
    s = np.asarray(simulated, float)
    ok = np.isfinite(m) & np.isfinite(s)
    m, s = m[ok], s[ok]
    ss_res = float(np.sum((s - m) ** 2))
    ss_tot = float(np.sum((m - m.mean()) ** 2)) or 1e-300
    rng = float(np.ptp(m)) or float(np.max(np.abs(m))) or 1.0
    big = (np.abs(m) > floor) & (np.abs(s) > floor)
    log_rmse = float(np.sqrt(np.mean((np.log10(np.abs(s[big])) - np.log10(np.abs(m[big]))) ** 2))) if big.any() else math.nan
    return {"r2": 1.0 - ss_res / ss_tot, "nrmse": math.sqrt(ss_res / max(m.size, 1)) / rng, "log_rmse": log_rmse}


@dataclass
class FitResult:
    """The outcome of :func:`memfit.fitting.fit`.

    Attributes
    ----------
    model : str
        Model name.
    values : dict
        Fitted (and fixed) parameter values by lmfit name (shared parameters
        by their model name, per-dataset ones as ``name__d<k>``, initial
        states as ``x0_<state>__d<k>``).
    stderr : dict
        One-sigma standard errors (NaN where not estimable).
    varied : list of str
        Names of the varied parameters.
    correlation : pandas.DataFrame
        Correlation matrix of the varied parameters.
    datasets : pandas.DataFrame
        Per dataset: label, kind, residual, points, R^2, NRMSE, log-RMSE.
    fixed : dict
        Model parameters held fixed.
    info : dict
        Optimizer status, evaluations, wall time, stages, provenance.
    """

    model: str
    values: dict[str, float]
    stderr: dict[str, float]
    varied: list[str]
    correlation: pd.DataFrame
    datasets: pd.DataFrame
    fixed: dict[str, float]
    info: dict[str, Any]
    start: dict[str, float] = field(default_factory=dict)
    _problem: Any = field(default=None, repr=False)
    _lmfit: Any = field(default=None, repr=False)

    # ----------------------------------------------------------- creation
    @classmethod
    def from_lmfit(cls, model, fds, res, problem, start, stages, wall, rtol, method) -> "FitResult":
        """Build the result of :func:`memfit.fitting.fit` from the finished lmfit minimisation.

        Parameters
        ----------
        model : DeviceModel
        fds : list of FitData
            The prepared datasets, in fit order.
        res : lmfit.minimizer.MinimizerResult
        problem : object
            The fit problem (maps lmfit parameters to per-dataset parameter rows, holds the simulators).
        start : dict
            Start values of the varied quantities.
        stages : list of str
            Minimiser stages that ran.
        wall : float
            Fit wall time [s].
        rtol : float
            Integrator relative tolerance.
        method : str
            Integration method.
        """
        from memfit import __version__

        from memfit.fitting.core import INTERNAL_PREFIXES

        internal = {n: n[3:] for n, p in res.params.items() if n.startswith(INTERNAL_PREFIXES) and p.vary}
        varied = list(internal.values())  # physical names of the fitted quantities
        public = {n: p for n, p in res.params.items() if not n.startswith(INTERNAL_PREFIXES)}
        values = {n: float(p.value) for n, p in public.items()}
        # lmfit reports 0 (not NaN) where the covariance was invalid: a varied quantity is never exactly determined
        stderr = {}
        for n, p in public.items():
            e = float(p.stderr) if p.stderr is not None else math.nan
            stderr[n] = e if (math.isfinite(e) and (e > 0 or n not in internal.values())) else math.nan
        # correlations of the internal variables equal those of the physical ones to first order
        pos = {n: k for k, n in enumerate(varied)}
        cm = np.eye(len(varied))
        for a_int, a in internal.items():
            for b_int, c in (res.params[a_int].correl or {}).items():
                if b_int in internal:
                    cm[pos[a], pos[internal[b_int]]] = c
        corr = pd.DataFrame(cm, index=varied, columns=varied)
        P, X0 = problem.rows(res.params)
        outs = problem.outputs(P, X0)
        rows = []
        for d, (fd, sim) in enumerate(zip(fds, problem.sims)):
            out = outs[d] if outs[d] is not None else sim.run(P[d], X0[d])[0]
            st = _stats(fd.kind, fd.measured(), fd.observable(out), fd.current_floor if fd.kind == "iv" else 0.0)
            rows.append({"label": fd.label, "kind": fd.kind, "residual": fd.residual, "points": fd.n,
                         "weight": fd.weight, "noise": float(problem.noise[d]), **st})
        info = {
            "success": bool(res.success),
            "message": str(getattr(res, "message", "")),
            "nfev": int(problem.nfev),
            "chisqr": float(res.chisqr),
            "redchi": float(res.redchi),
            "stages": stages,
            "wall_time_s": wall,
            "rtol": rtol,
            "method": method,
            "memfit_version": __version__,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "sources": [_provenance(fd.record) for fd in fds],
            "circuits": [{"series_resistance": fd.circuit.series_resistance, "compliance": fd.circuit.compliance}
                         for fd in fds],
        }
        info["x0"] = dict(problem.x0_fixed)
        r = cls(model.name, values, stderr, varied, corr, pd.DataFrame(rows), dict(problem.fixed), info,
                dict(start), problem, res)
        return r

    # ------------------------------------------------------------- access
    def model_params(self, dataset: int = 0) -> dict[str, float]:
        """Full model parameter set (fitted + fixed) for one dataset."""
        m = get_model(self.model)
        out = {}
        for name in m.param_names:
            key = f"{name}__d{dataset}"
            out[name] = self.values.get(key, self.values.get(name, self.fixed.get(name, m.parameter(name).default)))
        return out

    def initial_state(self, dataset: int = 0) -> dict[str, float]:
        """Initial state used for one dataset (fitted where ``fit_x0`` asked for it)."""
        m = get_model(self.model)
        known = {}
        if self._problem is not None:
            known.update(self._problem.x0_data[dataset])
        known.update(self.info.get("x0", {}))
        x0 = m.initial_state(m.params(self.model_params(dataset)), **known)
        out = dict(zip(m.state_names, map(float, x0)))
        for s in m.state_names:
            key = f"x0_{s}__d{dataset}"
            if key in self.values:
                out[s] = self.values[key]
        return out

    def params_table(self) -> pd.DataFrame:
        """Value, standard error, relative error, start, bounds-hit flag for every varied parameter."""
        m = get_model(self.model)
        rows = []
        for n in self.varied:
            base = n.split("__")[0]
            unit = m.parameter(base).unit if base in m.param_names else ""
            v, e = self.values[n], self.stderr[n]
            rows.append({"parameter": n, "value": v, "stderr": e, "rel_err": abs(e / v) if v else math.nan,
                         "unit": unit, "start": self.start.get(n, math.nan)})
        return pd.DataFrame(rows).set_index("parameter")

    @property
    def unidentifiable(self) -> list[tuple[str, str, float]]:
        """Pairs of varied parameters correlated above |rho| = 0.98 (only their combination is determined)."""
        from memfit.fitting.core import CORRELATION_WARN

        pairs = []
        c = self.correlation
        for i, a in enumerate(c.index):
            for b in c.columns[i + 1:]:
                rho = float(c.loc[a, b])
                if abs(rho) > CORRELATION_WARN:
                    pairs.append((a, b, rho))
        return pairs

    # ------------------------------------------------------------- checks
    def check(self, start: dict[str, float]) -> None:
        """Raise :class:`FitError` when the fit did not converge or never left its start."""
        lm = self._lmfit
        at_bounds = []
        if lm is not None:
            from memfit.fitting.core import INTERNAL_PREFIXES

            for n, p in lm.params.items():
                if not (n.startswith(INTERNAL_PREFIXES) and p.vary):
                    continue
                span = (p.max - p.min) if math.isfinite(p.max - p.min) else max(abs(p.value), 1.0)
                if abs(p.value - p.min) <= 1e-9 * span or abs(p.max - p.value) <= 1e-9 * span:
                    at_bounds.append(f"{n[3:]} = {self.values[n[3:]]:g}")
        self.info["at_bounds"] = at_bounds
        moved = any(
            abs(self.values[n] - start[n]) > 1e-9 * max(abs(start[n]), 1e-300) for n in self.varied if n in start
        )
        if self.varied and not moved:
            raise FitError(
                f"fit of {self.model!r} did not move from its start after {self.info['nfev']} evaluations: the data "
                "may not depend on the varied parameters, or the start is on a plateau. Try other start values "
                "(initial=...), global_method='differential_evolution' with bounds, or fewer parameters."
            )
        if not self.info["success"]:
            hint = f" Parameters at their bounds: {', '.join(at_bounds)}." if at_bounds else ""
            raise FitError(
                f"fit of {self.model!r} did not converge ({self.info['message']}) after {self.info['nfev']} "
                f"evaluations.{hint} Try: better start values (initial=...), a global stage "
                "(global_method='differential_evolution'), fixing unidentifiable parameters, or a larger max_nfev."
            )

    # ------------------------------------------------------------ outputs
    def report(self) -> str:
        """Plain-text report: parameters with errors, dataset statistics, warnings."""
        lines = [f"memfit fit of {self.model!r}: {'converged' if self.info['success'] else 'NOT converged'} "
                 f"({self.info['nfev']} evaluations, {self.info['wall_time_s']:.2f} s, "
                 f"stages: {', '.join(self.info['stages'])})", "", "parameters:"]
        tab = self.params_table()
        for n, row in tab.iterrows():
            lines.append(f"  {n:<18} = {row['value']:<12.6g} +/- {row['stderr']:<10.3g} {row['unit']:<10} "
                         f"({100 * row['rel_err']:.2g} %)  start {row['start']:.4g}")
        if self.fixed:
            lines.append("fixed: " + ", ".join(f"{k}={v:g}" for k, v in self.fixed.items()
                                               if k not in {n.split('__')[0] for n in self.varied}))
        lines += ["", "datasets:"]
        for _, r in self.datasets.iterrows():
            lines.append(f"  {r['label']:<20} {r['kind']:<9} {r['points']:>6} pts  R2 {r['r2']:.5f}  "
                         f"NRMSE {r['nrmse']:.3g}  log-RMSE {r['log_rmse']:.3g} dec")
        for a, b, rho in self.unidentifiable:
            lines.append(f"WARNING: {a} and {b} are correlated at {rho:+.3f}: only a combination of them is "
                         "determined by these data; fix one or fit the combination.")
        for b in self.info.get("at_bounds", []):
            lines.append(f"WARNING: parameter at a bound: {b}")
        return "\n".join(lines)

    def to_html(self) -> str:
        """HTML report (parameters, correlations, dataset statistics, and the plot inline)."""
        import base64
        import io

        buf = io.BytesIO()
        fig = self.plot()
        fig.savefig(buf, format="png", dpi=100)
        import matplotlib.pyplot as plt

        plt.close(fig)
        img = base64.b64encode(buf.getvalue()).decode()
        warn = "".join(f"<li>{a} / {b}: &rho; = {rho:+.3f}</li>" for a, b, rho in self.unidentifiable)
        return (
            f"<html><head><meta charset='utf-8'><title>memfit fit: {self.model}</title></head><body>"
            f"<h1>Fit of {self.model}</h1><p>{'converged' if self.info['success'] else 'NOT converged'}, "
            f"{self.info['nfev']} evaluations, {self.info['wall_time_s']:.2f} s</p>"
            f"<h2>Parameters</h2>{self.params_table().to_html(float_format=lambda v: f'{v:.6g}')}"
            f"<h2>Datasets</h2>{self.datasets.to_html(index=False, float_format=lambda v: f'{v:.5g}')}"
            f"<h2>Correlations</h2>{self.correlation.to_html(float_format=lambda v: f'{v:+.3f}')}"
            + (f"<h3>Unidentifiable pairs</h3><ul>{warn}</ul>" if warn else "")
            + f"<h2>Data vs model</h2><img src='data:image/png;base64,{img}'/></body></html>"
        )

    def plot(self, path=None):
        """Data vs model overlay, residuals and the simulated state, one row per dataset."""
        from memfit.plotting.fit import plot_fit

        return plot_fit(self, path)

    def simulated(self, dataset: int = 0):
        """Simulate one dataset's stimulus with the fitted parameters (a :class:`~memfit.simulate.Simulation`)."""
        from memfit.simulate import simulate

        if self._problem is None:
            raise FitError("this FitResult was loaded from a file: simulate() its parameters with the stimulus "
                           "of your data instead")
        fd = self._problem.data[dataset]
        return simulate(self.model, fd.stimulus, params=self.model_params(dataset),
                        x0=self.initial_state(dataset), circuit=fd.circuit, rtol=self.info["rtol"])

    def to_preset(self, **kwargs):
        """Derive a device preset from this fit by simulation (see :func:`memfit.presets.derive.preset_from_fit`)."""
        from memfit.presets.derive import preset_from_fit

        return preset_from_fit(self, **kwargs)

    # -------------------------------------------------------------- io
    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of the result (format tag, values, errors, correlation, per-dataset stats, provenance)."""
        return {
            "format": "memfit.FitResult",
            "version": 1,
            "model": self.model,
            "values": self.values,
            "stderr": self.stderr,
            "varied": self.varied,
            "fixed": self.fixed,
            "start": self.start,
            "correlation": self.correlation.to_dict(),
            "datasets": self.datasets.to_dict(orient="records"),
            "info": self.info,
        }

    def save(self, path) -> Path:
        """Write the result (with provenance) as JSON; :meth:`load` reads it back."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, default=_json_default))
        return path

    @classmethod
    def load(cls, path) -> "FitResult":
        """Read a result written by :meth:`save`; raises :class:`FitError` for an unreadable or foreign file."""
        path = Path(path)
        try:
            d = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise FitError(f"{path}: not a readable fit result ({exc})") from None
        if d.get("format") != "memfit.FitResult":
            raise FitError(f"{path}: not a memfit fit result (format {d.get('format')!r})")
        corr = pd.DataFrame(d["correlation"]).reindex(index=d["varied"], columns=d["varied"])
        return cls(d["model"], d["values"], {k: (math.nan if v is None else v) for k, v in d["stderr"].items()},
                   d["varied"], corr, pd.DataFrame(d["datasets"]), d["fixed"], d["info"], d.get("start", {}))


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return str(o)


def _provenance(record) -> dict[str, Any]:
    """Where a dataset came from: file and hash when known, and a hash of its data (sha256 of the
    ``t``, ``v``, ``i`` columns as float64 bytes, in that order)."""
    meta = record.meta
    h = hashlib.sha256()
    for col in ("t", "v", "i"):
        h.update(np.ascontiguousarray(record.frame[col].to_numpy(dtype=np.float64)).tobytes())
    h = h.hexdigest()
    path = meta.get("file") or meta.get("source_file")
    digest = meta.get("sha256")
    if digest is None and path:
        try:
            digest = _file_sha256(str(path), os.stat(path).st_mtime_ns)
        except OSError:  # the file is gone: keep the data hash only
            digest = None
    return {"file": str(path) if path else None, "sha256_file": digest, "sha256_data": h[:16],
            "source": meta.get("source"), "model": meta.get("model")}


@functools.lru_cache(maxsize=256)
def _file_sha256(path: str, mtime_ns: int) -> str | None:
    """sha256 of a source file (cached per path and modification time; None if it cannot be read)."""
    try:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    except OSError:
        return None
