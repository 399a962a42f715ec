"""Verilog-A export: a module of the preset's compact model (same equations as the SPICE subcircuit).

The state is integrated with ``idt`` from its initial value and clamped to
its bounds; the port current is contributed with ``I(p, c) <+``.  Models
with series/parallel resistors (NbOx) get an internal node ``c`` and the
resistors as contributions.  Only checked at the syntax level here (compile
it with OpenVAF or your simulator's Verilog-A compiler).
"""

from __future__ import annotations

import re

from memfit.errors import PresetError
from memfit.presets.exporters._equations import equations


def _fill(expr: str, v: str, x: str, i: str = "") -> str:
    return expr.replace("{V}", v).replace("{X}", x).replace("{I}", i)


def module(preset) -> str:
    """The Verilog-A text for ``preset``."""
    if preset.model_name is None:
        raise PresetError(f"preset {preset.name!r} has no compact model to export to Verilog-A")
    eq = equations(preset.model_name)
    model = preset.model
    name = "memfit_" + re.sub(r"[^A-Za-z0-9_]", "_", preset.name)
    x0 = float(model.initial_state(preset.parameter_vector(), **(preset.model_x0 or {}))[0])
    lo, hi = eq["lo"], eq["hi"]
    lo = f"P_{lo}" if isinstance(lo, str) else repr(float(lo))
    hi = f"P_{hi}" if isinstance(hi, str) else repr(float(hi))
    core = "c" if "series" in eq else "p"
    lines = [
        f"// memfit preset '{preset.name}': model {model.name} ({model.title})",
        f"// {model.reference}",
        '`include "disciplines.vams"',
        f"module {name}(p, n);",
        "  inout p, n;",
        "  electrical p, n" + (", c;" if core == "c" else ";"),
    ]
    for k, v in preset.model_parameters.items():
        lines.append(f"  parameter real P_{k} = {float(v)!r};  // [{model.parameter(k).unit}] {model.parameter(k).description}")
    lines.append(f"  parameter real x0 = {x0!r};")
    lines += ["  real V, X, I, dxdt;", "  analog begin", f"    V = V({core}, n);"]
    lines += [
        f"    X = idt(dxdt, x0);",
        f"    if (X > {hi}) X = {hi};",
        f"    if (X < {lo}) X = {lo};",
        f"    I = {_fill(eq['port'], 'V', 'X')};",
        f"    dxdt = {_fill(eq['rate'], 'V', 'X', 'I')};",
        f"    if ((X >= {hi} && dxdt > 0) || (X <= {lo} && dxdt < 0)) begin",
        "      dxdt = 0;",
        "    end",
        f"    I({core}, n) <+ I;",
    ]
    if core == "c":
        lines += [f"    I(p, c) <+ V(p, c) / max(P_{eq['series']}, 1e-6);", f"    I(c, n) <+ V(c, n) / P_{eq['parallel']};"]
    lines += ["  end", "endmodule", ""]
    return "\n".join(lines)


def export(preset) -> str:
    """Exporter entry point."""
    return module(preset)
