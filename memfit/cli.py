"""The ``memfit`` command.

Each subcommand is a small function that parses its options, calls the
public API and prints a short summary.  Errors that come from bad input
(:class:`memfit.MemfitError`) are printed as one line naming the problem and
exit with status 2; nothing else is caught.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from memfit.errors import MemfitError, ParameterError


def _key_values(items: list[str], what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items or []:
        for part in item.split(","):
            part = part.strip()
            if not part:
                continue
            if "=" not in part:
                raise ParameterError(f"{what} {part!r} must look like name=value")
            k, v = part.split("=", 1)
            try:
                out[k.strip()] = float(v)
            except ValueError:
                raise ParameterError(f"{what} {k.strip()!r}: {v!r} is not a number") from None
    return out


# ---------------------------------------------------------------- simulate
def _cmd_simulate(args) -> int:
    from memfit.models import get_model
    from memfit.simulate import TestCircuit, parse_stimulus, simulate

    model = get_model(args.model)
    stim_text = args.stimulus or model.default_stimulus
    stim = parse_stimulus(stim_text)
    params = _key_values(args.param, "--param")
    x0 = _key_values(args.x0, "--x0")
    circuit = TestCircuit(
        series_resistance=args.rs,
        compliance=args.compliance,
        voltage_compliance=args.vcomp,
        parallel_capacitance=args.cp,
    )
    sim = simulate(model, stim, params=params, x0=x0 or None, circuit=circuit, method=args.method, rtol=args.rtol)
    f = sim.frame
    print(f"model      {model.name}: {model.title}")
    print(f"reference  {model.reference}")
    print(f"stimulus   {stim_text}  ({len(stim)} points, {stim.duration:g} s)")
    print(f"integrator {sim.meta['method']}: {sim.meta['steps']} steps ({sim.meta['rejected']} rejected), "
          f"{sim.meta['wall_time_s'] * 1e3:.2f} ms")
    print(f"current    {f['i'].min():.4g} .. {f['i'].max():.4g} A")
    print(f"voltage    {f['v'].min():.4g} .. {f['v'].max():.4g} V")
    for col, unit in (("q", "C"), ("phi", "Wb"), ("i_dev", "A")):
        if col in f.columns:
            print(f"{col:<10} {f[col].min():.4g} .. {f[col].max():.4g} {unit}")
    for s in model.states:
        print(f"state {s.name:<5}{f[s.name].min():.4g} .. {f[s.name].max():.4g} {s.unit}")
    if f["compliance"].any():
        print(f"compliance reached at {int(f['compliance'].sum())} of {len(f)} points")
    if args.csv:
        print(f"wrote {sim.to_csv(args.csv)}")
    if args.plot:
        sim.plot(args.plot)
        print(f"wrote {Path(args.plot)}")
    return 0


# --------------------------------------------------------------------- fit
def _names(items: list[str] | None) -> list[str]:
    return [n.strip() for item in items or [] for n in item.split(",") if n.strip()]


def _cmd_fit(args) -> int:
    from memfit.data import read
    from memfit.fitting import fit
    from memfit.models import get_model

    model = get_model(args.model)
    data = []
    for path in args.files:
        m = read(path, kind=args.kind) if args.kind else read(path)
        m.meta.setdefault("name", Path(path).stem)
        data.append(m)
    vary = _names(args.vary) or None
    if vary is None:
        vary = [q.name for q in model.parameters if not q.integer and q.name not in _key_values(args.fix, "--fix")]
    share = _names(args.share)
    per_dataset = [n for n in vary if n not in share] if (share and len(data) > 1) else []
    bounds = {}
    for item in _names(args.bounds):
        name, rng = item.split("=", 1) if "=" in item else (item, "")
        lo, _, hi = rng.partition(":")
        try:
            bounds[name] = (float(lo), float(hi))
        except ValueError:
            raise ParameterError(f"--bounds {item!r} must look like name=lower:upper") from None
    print(f"fitting {model.name} to {len(data)} dataset(s): {', '.join(args.files)}", flush=True)
    res = fit(
        model,
        data,
        vary=vary,
        initial=_key_values(args.initial, "--initial"),
        fix=_key_values(args.fix, "--fix"),
        bounds=bounds or None,
        per_dataset=per_dataset,
        fit_x0=_names(args.fit_x0),
        x0=_key_values(args.x0, "--x0") or None,
        residual=args.residual,
        global_method=args.global_method,
        method=args.method,
        rtol=args.rtol,
    )
    print(res.report())
    if args.result:
        print(f"wrote {res.save(args.result)}")
    if args.report:
        Path(args.report).write_text(res.to_html())
        print(f"wrote {args.report}")
    if args.plot:
        res.plot(args.plot)
        print(f"wrote {args.plot}")
    return 0


# -------------------------------------------------------------- population
def _cmd_population(args) -> int:
    from memfit.fitting import fit_population

    data = args.paths[0] if len(args.paths) == 1 else list(args.paths)
    backend = args.scheduler or None
    res = fit_population(
        args.model,
        data,
        vary=_names(args.vary) or None,
        fix=_key_values(args.fix, "--fix"),
        initial=_key_values(args.initial, "--initial"),
        workers=args.workers,
        backend=backend,
        store=args.store,
        progress=not args.quiet,
        rtol=args.rtol,
    )
    print(res.summary())
    if args.csv:
        res.to_csv(args.csv)
        print(f"wrote {args.csv}")
    if not res.complete:
        return 130
    return 0


# ------------------------------------------------------------------ models
def _cmd_models(args) -> int:
    from memfit.models import available_models, get_model

    if args.name:
        m = get_model(args.name)
        print(m.describe())
        print(f"  default stimulus: {m.default_stimulus}")
        if args.equations:
            print(m.doc)
        return 0
    for name in available_models():
        m = get_model(name)
        print(f"{name:<18} {m.title}  [{m.reference.doi or m.reference.url}]")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``memfit`` argument parser with every subcommand (simulate, fit, models, ...).

    Returns
    -------
    argparse.ArgumentParser
        Each subcommand sets ``func``, called with the parsed namespace; it returns the exit code.
    """
    parser = argparse.ArgumentParser(
        prog="memfit",
        description="Characterize memristive devices, fit compact models, export presets, run crossbars.",
    )
    from memfit import __version__

    parser.add_argument("--version", action="version", version=f"memfit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "simulate",
        help="simulate a device model under a stimulus (CSV + plot)",
        description="Simulate one device in the test circuit (source, series resistance, compliance).",
        epilog='Example: memfit simulate --model vteam --stimulus "triangle(vmax=1.2, vmin=-1.2, f=1, cycles=3)" '
        "--csv out.csv --plot out.png.  Stimulus functions: triangle, sine, isweep (current), pulses, hold; "
        "join with '+'.",
    )
    p.add_argument("--model", "-m", required=True, help="model name (see 'memfit models')")
    p.add_argument("--stimulus", "-s", help="stimulus expression (default: the model's characteristic stimulus)")
    p.add_argument("--param", "-p", action="append", metavar="NAME=VALUE", help="parameter override (repeatable)")
    p.add_argument("--x0", action="append", metavar="STATE=VALUE", help="initial state (repeatable)")
    p.add_argument("--rs", type=float, default=0.0, metavar="OHM", help="series resistance [Ohm]")
    p.add_argument("--compliance", type=float, default=None, metavar="AMP", help="current compliance [A]")
    p.add_argument("--vcomp", type=float, default=100.0, metavar="VOLT",
                   help="voltage compliance of a current source [V] (default 100)")
    p.add_argument("--cp", type=float, default=None, metavar="FARAD",
                   help="capacitor across the device [F] (with --rs: Pearson-Anson oscillator)")
    p.add_argument("--method", default="auto", choices=["auto", "dopri5", "sdirk4"], help="integrator")
    p.add_argument("--rtol", type=float, default=1e-8, help="relative tolerance")
    p.add_argument("--csv", metavar="FILE", help="write the result table (with a metadata header)")
    p.add_argument("--plot", metavar="FILE", help="write I-V, log|I|-V and state-vs-time plots (PNG/PDF/SVG)")
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser(
        "fit",
        help="fit a model to measurement files (jointly when several)",
        description="Fit a compact model to one or several measurement files with lmfit; the files' series "
        "resistance and compliance are part of the simulated circuit.",
        epilog="Example: memfit fit iv.csv pulses.csv --model biolek2009 --vary R_off,mu_v --report fit.html "
        "--result fit.json",
    )
    p.add_argument("files", nargs="+", help="measurement files (CSV with metadata header, Parquet, tables)")
    p.add_argument("--model", "-m", required=True, help="model name (see 'memfit models')")
    p.add_argument("--vary", action="append", metavar="P1,P2", help="parameters to fit (default: all non-integer)")
    p.add_argument("--share", action="append", metavar="P1,P2",
                   help="with several files: these are shared, every other varied parameter is fitted per file")
    p.add_argument("--fix", action="append", metavar="NAME=VALUE", help="hold a parameter fixed")
    p.add_argument("--initial", action="append", metavar="NAME=VALUE", help="start value")
    p.add_argument("--bounds", action="append", metavar="NAME=LO:HI", help="fit bounds")
    p.add_argument("--x0", action="append", metavar="STATE=VALUE", help="known initial state")
    p.add_argument("--fit-x0", action="append", metavar="STATE", help="fit the initial state per file")
    p.add_argument("--kind", choices=["iv", "pulse", "retention"], help="kind of every file (default: detect)")
    p.add_argument("--residual", choices=["log", "relative", "absolute"], help="I-V residual (default: log)")
    p.add_argument("--global", dest="global_method", choices=["differential_evolution", "basinhopping"],
                   help="global search before the local least squares (needs finite bounds)")
    p.add_argument("--method", default="auto", choices=["auto", "dopri5", "sdirk4"], help="integrator")
    p.add_argument("--rtol", type=float, default=1e-9, help="integration tolerance")
    p.add_argument("--result", metavar="FILE", help="write the fit result (JSON, with provenance)")
    p.add_argument("--report", metavar="FILE", help="write an HTML report")
    p.add_argument("--plot", metavar="FILE", help="write data-vs-model plots")
    p.set_defaults(func=_cmd_fit)

    p = sub.add_parser(
        "population",
        help="fit every device (or cycle) of a population, in parallel; statistics for presets",
        description="Fit one model to many measurements: several files, a folder, or one file with a device, "
        "cell or cycle column. Runs on local worker processes, or on a Dask cluster with --scheduler.",
        epilog="Example: memfit population wafer/ --model biolek2009 --vary R_off,mu_v --csv table.csv "
        "[--scheduler tcp://10.0.0.5:8786] [--store partial/]",
    )
    p.add_argument("paths", nargs="+", help="measurement files, or one folder / multi-device file")
    p.add_argument("--model", "-m", required=True, help="model name (see 'memfit models')")
    p.add_argument("--vary", action="append", metavar="P1,P2", help="parameters to fit per device")
    p.add_argument("--fix", action="append", metavar="NAME=VALUE", help="hold a parameter fixed")
    p.add_argument("--initial", action="append", metavar="NAME=VALUE", help="start value")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: one per CPU)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a Dask cluster: scheduler address tcp://host:port, or 'dask' for a local one "
                   '(pip install "memfit[dask]")')
    p.add_argument("--store", metavar="DIR", help="keep finished chunks here; a rerun resumes")
    p.add_argument("--rtol", type=float, default=1e-9, help="integration tolerance")
    p.add_argument("--csv", metavar="FILE", help="write the parameter table")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_population)

    from memfit.presets.cli import add_parsers as _preset_parsers

    _preset_parsers(sub)
    from instruments.cli import add_parsers as _lab_parsers

    _lab_parsers(sub)
    from memfit.crossbar.cli import add_parsers as _crossbar_parsers

    _crossbar_parsers(sub)
    from memfit.demo import add_parsers as _demo_parsers

    _demo_parsers(sub)

    p = sub.add_parser("models", help="list the device models, or describe one")
    p.add_argument("name", nargs="?", help="model to describe")
    p.add_argument("--equations", action="store_true", help="also print the model's equations and sources")
    p.set_defaults(func=_cmd_models)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``memfit`` command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit code: the subcommand's (0 on success), 2 after a :class:`MemfitError` (its message goes to stderr).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except MemfitError as exc:
        print(f"memfit {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
