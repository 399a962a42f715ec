"""HTML report of a crossbar evaluation: settings, tables (mean ± s.e.m.) and embedded plots.

The report is one self-contained HTML file (plots embedded as base64 PNG).  Plots are drawn by
:mod:`memfit.plotting.crossbar` (matplotlib is imported only when a report is written).
"""

from __future__ import annotations

import html
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping

import pandas as pd

__all__ = ["write_report", "render_report"]

_CSS = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:90%;margin:0.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f2f2f2}
code,pre{background:#f6f6f6;padding:2px 4px}img{max-width:100%}"""


def _table(df: pd.DataFrame) -> str:
    def fmt(v):
        return f"{v:.5g}"

    return df.to_html(index=False, float_format=fmt, na_rep="", border=0)


def _pct_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Summary columns ``<v>_mean``/``<v>_sem`` as one text column ``<v> [%]`` = 'mean ± sem'."""
    out = summary.copy()
    for c in [c for c in summary.columns if c.endswith("_mean")]:
        v = c[: -len("_mean")]
        sem = summary.get(f"{v}_sem")
        out[f"{v} [%]"] = [f"{100 * m:.2f} ± {100 * s:.2f}" if pd.notna(s) else f"{100 * m:.2f}"
                           for m, s in zip(summary[c], sem if sem is not None else [float("nan")] * len(summary))]
        out = out.drop(columns=[c] + ([f"{v}_sem"] if sem is not None else []))
    return out


_ENERGY_NOTE = ("Energies [J] and latencies [s] are first-order estimates (memfit.crossbar.energy): array energy "
                "Σ v·I·t_read (resistive) or Σ C·V² (capacitive), ADC energy from the Walden figure of merit of "
                "the Kull et al. 2013 SAR ADC (doi:10.1109/JSSC.2013.2279571) at its ENOB, 100 ns read, one ADC "
                "conversion per output column; DAC and integrator energies are zero unless a Periphery sets them.")


def _energy_table(df: pd.DataFrame) -> str:
    """Per-layer energy/latency rows (from :func:`memfit.crossbar.energy.network_cost`) in engineering notation."""
    out = df.copy()
    for c in out.columns:
        if c.endswith("[J]") or c.endswith("[s]"):
            out[c] = [f"{v:.4g}" for v in out[c]]
    return out.to_html(index=False, na_rep="", border=0)


def _crossbar_table(df: pd.DataFrame) -> str:
    """One row per crossbar kind: accuracy and A* as 'mean ± sem' [%], energy and latency per inference."""
    out = pd.DataFrame({"kind": df["kind"], "device": df["device"]})
    for v, label in (("accuracy", "accuracy [%]"), ("normalized_accuracy", "A* [%]")):
        out[label] = [f"{100 * m:.2f} ± {100 * s:.2f}" if pd.notna(s) else f"{100 * m:.2f}"
                      for m, s in zip(df[f"{v}_mean"], df[f"{v}_sem"])]
    out["repeats"] = df["n"]
    for c in ("energy [J]", "latency [s]", "array [J]", "ADC [J]", "DAC [J]", "integrator [J]"):
        if c in df.columns:
            out[f"{c.split(' ')[0]} per inference {c.split(' ')[1]}"] = [f"{v:.4g}" for v in df[c]]
    return out.to_html(index=False, na_rep="", border=0)


def render_report(results: Mapping[str, pd.DataFrame], settings: Mapping[str, object] | None = None,
                  title: str = "memfit crossbar evaluation", plots: bool = True) -> str:
    """The report as an HTML string.

    Parameters
    ----------
    results : mapping name -> DataFrame
        Any of ``"accuracy"`` (from :func:`~memfit.crossbar.evaluate.evaluate_accuracy`),
        ``"configs"`` (:func:`~memfit.crossbar.evaluate.evaluate_configs`), ``"sensitivity"``
        (:func:`~memfit.crossbar.evaluate.sensitivity_sweep`), ``"layers"``
        (:func:`~memfit.crossbar.evaluate.layer_sensitivity`), ``"vmm"``
        (:func:`~memfit.crossbar.evaluate.vmm_error`), ``"energy"``
        (:func:`~memfit.crossbar.energy.network_cost`, per-layer and per-inference energy [J] and
        latency [s]), ``"crossbars"`` (:func:`~memfit.crossbar.evaluate.compare_crossbar_kinds`),
        ``"programming"`` (any table); other names are shown as plain tables.
    settings : mapping, optional
        Shown as a key/value table (network, preset, config fields, seeds ...).
    title : str
    plots : bool
        Embed plots (needs matplotlib).
    """
    from memfit.crossbar.evaluate import summarize

    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"]
    from memfit import __version__

    parts.append(f"<p>memfit {__version__}, written {datetime.now(timezone.utc).isoformat(timespec='seconds')}</p>")
    if settings:
        rows = [(k, v if isinstance(v, str) else json.dumps(v, default=str)) for k, v in settings.items()]
        parts.append("<h2>Settings</h2>" + _table(pd.DataFrame(rows, columns=["setting", "value"])))
    pc = None
    if plots:
        from memfit.plotting import crossbar as pc
    for name, df in results.items():
        if df is None or len(df) == 0:
            continue
        note = " <b>(interrupted: partial results)</b>" if df.attrs.get("interrupted") else ""
        if name in ("accuracy", "configs"):
            head = "Accuracy over time" if name == "accuracy" else "Configurations compared"
            fp = df.attrs.get("accuracy_fp")
            parts.append(f"<h2>{head}{note}</h2>")
            if fp is not None:
                parts.append(f"<p>floating-point accuracy: {100 * fp:.2f} %; chance: "
                             f"{100 / df.attrs.get('n_classes', 10):.1f} %; A* = 1 − (ε − ε_FP)/(ε_chance − ε_FP); "
                             f"mean ± s.e.m. over {df['repeat'].nunique()} programming repeat(s)</p>")
            parts.append(_table(_pct_table(summarize(df))))
            if pc is not None:
                parts.append(f"<img src='data:image/png;base64,{pc.figure_to_base64(pc.plot_accuracy_vs_time(df))}'/>")
        elif name == "sensitivity":
            parts.append(f"<h2>Sensitivity sweeps{note}</h2>")
            parts.append(_table(_pct_table(summarize(df, by=["field", "value"]))))
            if pc is not None:
                parts.append(f"<img src='data:image/png;base64,{pc.figure_to_base64(pc.plot_sensitivity(df))}'/>")
        elif name == "layers":
            parts.append(f"<h2>Per-layer sensitivity{note}</h2><p>each layer alone on "
                         f"<code>{html.escape(str(df.attrs.get('layer_config', '')))}</code>, the others on "
                         f"<code>{html.escape(str(df.attrs.get('config', '')))}</code>; rank 1 = most sensitive</p>")
            parts.append(_table(df))
            if pc is not None:
                parts.append(f"<img src='data:image/png;base64,"
                             f"{pc.figure_to_base64(pc.plot_layer_sensitivity(df))}'/>")
        elif name == "vmm":
            parts.append(f"<h2>VMM error ‖y − y_ideal‖/‖y_ideal‖ ({df.attrs.get('n', '')}×{df.attrs.get('n', '')} "
                         f"Gaussian matrix, uniform inputs){note}</h2>")
            parts.append(_table(_pct_table(summarize(df, values=["vmm_error"]))))
            if pc is not None:
                parts.append(f"<img src='data:image/png;base64,{pc.figure_to_base64(pc.plot_vmm_error(df))}'/>")
        elif name == "energy":
            parts.append(f"<h2>Energy and latency per inference (estimate){note}</h2>")
            parts.append(f"<p>{_ENERGY_NOTE} Mean over {df.attrs.get('n_samples', '?')} test input(s); "
                         "per layer and per inference (layers in sequence).</p>")
            parts.append(_energy_table(df))
        elif name == "crossbars":
            parts.append(f"<h2>Memristive vs memcapacitive crossbar{note}</h2>")
            parts.append(f"<p>Same network, same programming seeds; accuracy at t = {df.attrs.get('t', 0.0):g} s, "
                         f"mean ± s.e.m. over the repeats; energy and latency per inference averaged over "
                         f"{df.attrs.get('n_energy', '?')} test input(s). {_ENERGY_NOTE}</p>")
            parts.append(_crossbar_table(df))
            if df.attrs.get("memcap"):
                parts.append("<p>memcapacitive crossbar: <code>"
                             f"{html.escape(json.dumps(df.attrs['memcap'], default=str))}</code></p>")
            if df.attrs.get("energy_layers"):
                parts.append("<h3>Per layer</h3>" + _energy_table(pd.DataFrame(df.attrs["energy_layers"])))
        else:
            parts.append(f"<h2>{html.escape(name)}{note}</h2>" + _table(df))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(path: str | Path, results: Mapping[str, pd.DataFrame], settings: Mapping[str, object] | None = None,
                 title: str = "memfit crossbar evaluation", plots: bool = True) -> Path:
    """Write :func:`render_report` to ``path`` (parent folders are created).

    Returns
    -------
    Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(results, settings, title, plots), encoding="utf-8")
    return path
