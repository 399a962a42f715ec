"""SPICE export: a behavioural subcircuit of the preset's compact model (ngspice / LTspice).

The subcircuit ``memfit_<preset>`` has two terminals ``p n``.  The state is
the voltage of a 1 F capacitor on an internal node ``x``, charged by a
B-source with ``dx/dt``; the rate is computed on node ``r`` and set to zero
when the state sits on a bound and the drive pushes it outward (memfit's
integrators clamp the state to its bounds likewise).  The port is a
B-source current ``I(V, x)``; models with a series/parallel resistor (NbOx)
get them as real resistors around the core, and SPICE solves the divider.

:func:`testbench` writes a complete netlist driving the subcircuit with a
piecewise-linear copy of a memfit stimulus, for round-trip checks against
:func:`memfit.simulate.simulate`.
"""

from __future__ import annotations

import re

import numpy as np

from memfit.errors import PresetError
from memfit.presets.exporters._equations import equations


def _subckt_name(preset) -> str:
    return "memfit_" + re.sub(r"[^A-Za-z0-9_]", "_", preset.name)


def _fill(expr: str, v: str, x: str, i: str = "") -> str:
    return expr.replace("{V}", v).replace("{X}", x).replace("{I}", i)


def _x0(preset, model) -> float:
    p = preset.parameter_vector()
    x0 = model.initial_state(p, **(preset.model_x0 or {}))
    return float(x0[0])


def subcircuit(preset) -> str:
    """The ``.subckt`` text of ``preset``'s model with the preset's parameters (raises PresetError if unsupported)."""
    if preset.model_name is None:
        raise PresetError(f"preset {preset.name!r} has no compact model to export to SPICE")
    eq = equations(preset.model_name)
    model = preset.model
    if model.n_states != 1:
        raise PresetError(f"model {model.name!r} has {model.n_states} states; the SPICE exporter writes 1-state models")
    vals = preset.model_parameters
    params = " ".join(f"P_{k}={float(v)!r}" for k, v in vals.items())
    lo, hi = eq["lo"], eq["hi"]
    lo = f"P_{lo}" if isinstance(lo, str) else repr(float(lo))
    hi = f"P_{hi}" if isinstance(hi, str) else repr(float(hi))
    core = "c" if "series" in eq else "p"
    v = f"v({core},n)"
    x = "v(x)"
    i_core = "(" + _fill(eq["port"], v, x) + ")"
    lines = [
        f"* memfit preset {preset.name!r}: model {model.name} ({model.title})",
        f"* {model.reference}",
        "* state on the 1 F capacitor at node x (dx/dt from B-source Bx); rate on node r",
        f".subckt {_subckt_name(preset)} p n params: {params} x0={_x0(preset, model)!r}",
    ]
    if "series" in eq:
        lines.append(f"Rs p c {{max(P_{eq['series']}, 1e-6)}}")
        lines.append(f"Rp c n {{P_{eq['parallel']}}}")
    lines += [
        f"Bdev {core} n I={{{i_core}}}",
        f"Br r 0 V={{{_fill(eq['rate'], v, x, i_core)}}}",
        # saturation at the bounds, continuous: the outward rate fades linearly over the last 1e-6 of the
        # range (a hard "rate = 0 at the bound" switch stalls ngspice's step control: "timestep too small")
        f"Bx 0 x I={{v(r) > 0 ? v(r)*min(1, max(0, ({hi} - v(x))/(1e-6*({hi} - {lo})))) : "
        f"v(r)*min(1, max(0, (v(x) - {lo})/(1e-6*({hi} - {lo}))))}}",
        "Cx x 0 1 IC={x0}",
        f".ends {_subckt_name(preset)}",
    ]
    return "\n".join(lines) + "\n"


def testbench(preset, stimulus, tmax: float, out: str = "out.txt", reltol: float = 1e-9) -> str:
    """A complete ngspice netlist: the subcircuit driven by ``stimulus`` as a PWL voltage source.

    Parameters
    ----------
    preset : Preset
    stimulus : memfit.simulate.Stimulus
        Voltage-mode, continuous at its breakpoints (sweeps, pulse trains
        with edges).
    tmax : float
        Maximum time step [s] (sets ngspice's accuracy).
    out : str
        File ``wrdata`` writes: time, v(in), i(V1), state.
    """
    if "current" in stimulus.modes:
        raise PresetError("the SPICE testbench drives a voltage; the stimulus has current segments")
    bp = stimulus.breakpoints
    val = stimulus.value(bp)
    pwl = " ".join(f"{float(t)!r} {float(v)!r}" for t, v in zip(bp, val))
    return "\n".join([
        f"* memfit round-trip testbench for preset {preset.name!r}",
        subcircuit(preset).rstrip(),
        f"V1 in 0 PWL({pwl})",
        f"X1 in 0 {_subckt_name(preset)}",
        f".options reltol={reltol!r} abstol=1e-18 vntol=1e-12 method=gear",
        f".tran {tmax!r} {float(bp[-1])!r} 0 {tmax!r} UIC",
        ".control",
        "set wr_vecnames",
        "set wr_singlescale",
        "option numdgt=15",
        "run",
        f"wrdata {out} v(in) i(v1) v(x1.x)",
        "quit",
        ".endc",
        ".end",
    ]) + "\n"


def run_ngspice(netlist: str, workdir, exe: str = "ngspice", timeout: float = 120.0, t_end: float | None = None):
    """Run ``ngspice -b`` on ``netlist`` in ``workdir``; returns (t [s], v [V], i_device [A], state).

    ngspice can abort a transient ("timestep too small") and still exit with status 0, leaving
    a truncated output file; with ``t_end`` [s] (default: the stop time of the netlist's
    ``.tran``) a run that ended early raises :class:`PresetError` instead of returning partial data.
    """
    import os
    import subprocess

    cir = os.path.join(workdir, "tb.cir")
    out = os.path.join(workdir, "out.txt")
    with open(cir, "w") as fh:
        fh.write(netlist)
    proc = subprocess.run([exe, "-b", cir], cwd=workdir, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0 or not os.path.exists(out):
        raise PresetError(f"ngspice failed (status {proc.returncode}): {(proc.stderr or proc.stdout)[-800:]}")
    data = np.atleast_2d(np.loadtxt(out, skiprows=1))
    if t_end is None:
        for line in netlist.splitlines():
            parts = line.split()
            if parts and parts[0].lower() == ".tran" and len(parts) >= 3:
                try:
                    t_end = float(parts[2])
                except ValueError:
                    pass
    if t_end is not None and (data.size == 0 or data[-1, 0] < t_end * (1 - 1e-6)):
        reached = data[-1, 0] if data.size else 0.0
        tail = " ".join((proc.stdout + proc.stderr).split()[-40:])
        raise PresetError(f"ngspice stopped at t = {reached:.6g} s of {t_end:.6g} s (truncated transient): {tail}")
    # i(V1) flows into the source's + terminal: the device current is -i(V1)
    return data[:, 0], data[:, 1], -data[:, 2], data[:, 3]


def export(preset) -> str:
    """Exporter entry point: the subcircuit text."""
    return subcircuit(preset)
