"""``memfit preset derive|show|validate|export``: the command-line face of :mod:`memfit.presets`.

The lead wires it in with ``memfit.presets.cli.add_parsers(subparsers)``.

Examples::

    memfit preset show ftj-balanced
    memfit preset validate my_device.json
    memfit preset export nbox --to spice -o nbox.cir
    memfit preset derive fit.json --name mydev --pulses "up=1.2@1e-6x50,down=-1.1@1e-6x50" --read-v 0.1 -o mydev.json
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from memfit.errors import PresetError

_PULSE = re.compile(r"^\s*(up|down)\s*=\s*([-+0-9.eE]+)\s*@\s*([-+0-9.eE]+)\s*(?:x\s*(\d+))?\s*$")


def parse_pulses(text: str, n_default: int = 50) -> dict:
    """``"up=1.2@1e-6x50,down=-1.1@1e-6x50"`` -> ``{"up": {"amplitude": 1.2, "width": 1e-6, "n": 50}, ...}``.

    Amplitude [V] @ width [s], optional ``xN`` pulses (default ``n_default``).
    """
    out = {}
    for part in text.split(","):
        m = _PULSE.match(part)
        if not m:
            raise PresetError(f"--pulses: cannot read {part.strip()!r}; write e.g. 'up=1.2@1e-6x50,down=-1.1@1e-6x50' "
                              "(amplitude [V] @ width [s] x number of pulses)")
        try:
            out[m.group(1)] = {"amplitude": float(m.group(2)), "width": float(m.group(3)),
                               "n": int(m.group(4) or n_default)}
        except ValueError:
            raise PresetError(f"--pulses: {part.strip()!r} has a number that is not a number") from None
    for d in ("up", "down"):
        if d not in out:
            raise PresetError(f"--pulses: missing the {d!r} pulses (e.g. '{d}=1.0@1e-6x50')")
    return out


def _show(args) -> int:
    from memfit.presets import list_presets, load_preset

    if args.preset is None:
        for name in list_presets():
            p = load_preset(name)
            print(f"{name:<18} {p.model_name or '(statistical)':<16} {p.description}")
        return 0
    p = load_preset(args.preset)
    print(p.to_json() if args.json else p.summary())
    return 0


def _validate(args) -> int:
    from memfit.presets import load_preset

    for f in args.files:
        p = load_preset(f)
        print(f"{f}: valid preset {p.name!r} (schema {p.schema_version})")
    return 0


def _export(args) -> int:
    from memfit.presets import EXPORTERS, export_preset, load_preset

    p = load_preset(args.preset)
    text = export_preset(p, args.to)
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {args.output} ({args.to})", file=sys.stderr)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _derive(args) -> int:
    from memfit.errors import FitError
    from memfit.fitting import FitResult

    try:
        fit = FitResult.load(args.fit)
    except FitError as exc:
        raise PresetError(str(exc)) from None
    pulses = parse_pulses(args.pulses, args.n_pulses)
    c2c = {}
    for item in args.c2c or []:
        for part in filter(None, (x.strip() for x in item.split(","))):
            k, eq, v = part.partition("=")
            try:
                c2c[k.strip()] = float(v)
            except ValueError:
                raise PresetError(f"--c2c {part!r} must look like name=relative_std, e.g. k_on=0.1") from None
            if not eq:
                raise PresetError(f"--c2c {part!r} must look like name=relative_std, e.g. k_on=0.1")
    p = fit.to_preset(name=args.name or Path(args.fit).stem, pulses=pulses, read_v=args.read_v, c2c=c2c or None,
                      read_noise=args.read_noise, n_devices=args.n_devices, fit_report=str(args.fit),
                      seed=args.seed)
    out = args.output or f"{p.name}.json"
    p.save(out)
    print(p.summary())
    print(f"wrote {out}", file=sys.stderr)
    return 0


def add_parsers(subparsers) -> None:
    """Add ``preset`` with its sub-commands to an argparse ``subparsers`` object."""
    from memfit.presets.exporters import EXPORTERS

    pr = subparsers.add_parser("preset", help="device presets: derive from a fit, show, validate, export",
                               description="Device presets (versioned JSON in SI units): derive one from a fit, "
                                           "show or validate one, export one to SPICE, Verilog-A, CrossSim, aihwkit.")
    sub = pr.add_subparsers(dest="preset_command", required=True)

    s = sub.add_parser("show", help="list the built-in presets, or describe one")
    s.add_argument("preset", nargs="?", help="built-in name or preset .json file (omit: list the built-ins)")
    s.add_argument("--json", action="store_true", help="print the whole document")
    s.set_defaults(func=_show)

    v = sub.add_parser("validate", help="check preset files against the schema")
    v.add_argument("files", nargs="+", help="preset .json files (or built-in names)")
    v.set_defaults(func=_validate)

    e = sub.add_parser("export", help="export a preset to another tool's format")
    e.add_argument("preset", help="built-in name or preset .json file")
    e.add_argument("--to", required=True, choices=sorted(EXPORTERS), help="target format")
    e.add_argument("-o", "--output", help="output file (default: standard output)")
    e.set_defaults(func=_export)

    d = sub.add_parser("derive", help="derive a preset from a fit result (fit.json) by simulation")
    d.add_argument("fit", help="fit result JSON written by FitResult.save / memfit fit")
    d.add_argument("--pulses", required=True,
                   help="programming pulses, e.g. 'up=1.2@1e-6x50,down=-1.1@1e-6x50' (V @ s x count)")
    d.add_argument("--read-v", type=float, required=True, help="read voltage [V]")
    d.add_argument("--n-pulses", type=int, default=50, help="pulses per ramp when --pulses gives no xN (default 50)")
    d.add_argument("--read-noise", type=float, default=0.0, help="relative read noise (default 0)")
    d.add_argument("--n-devices", type=int, default=16, help="devices drawn for d2d statistics (default 16)")
    d.add_argument("--name", help="preset name (default: the fit file's stem)")
    d.add_argument("--c2c", action="append", metavar="NAME=REL",
                   help="cycle-to-cycle spread: relative standard deviation of a model parameter per pulse "
                   "(repeatable, e.g. k_on=0.1,k_off=0.1; default: none)")
    d.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    d.add_argument("-o", "--output", help="output .json (default: <name>.json)")
    d.set_defaults(func=_derive)
