"""``memfit crossbar`` subcommands: run a network on crossbars of a device, list configs, train a network.

The lead wires this into :mod:`memfit.cli` with ``add_parsers(subparsers)``.  Every command
function returns an exit code and raises :class:`~memfit.errors.MemfitError` subclasses on bad
input (the main program prints them as one line).

Examples
--------
``memfit crossbar run --preset ftj-balanced --network builtin:digits-mlp --config baseline-ftj
--times 0,3600,86400,3.15e7 --repeats 10 --report out.html --csv out.csv``

``memfit crossbar run --preset ideal --programming ideal --network mlp.npz --data mnist:~/mnist``

``memfit crossbar train --data mnist:~/mnist --hidden 256,128 --epochs 10 --out mlp.npz``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from memfit.errors import MemfitError, ParameterError

__all__ = ["add_parsers", "main"]


# ============================================================================ argument helpers
def _floats(text: str, option: str) -> list[float]:
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.append(float(part))
        except ValueError:
            raise ParameterError(f"{option}: {part!r} is not a number (expected e.g. 0,3600,86400,3.15e7)") from None
    if not out:
        raise ParameterError(f"{option}: no values given")
    if any(v < 0 for v in out):
        raise ParameterError(f"{option}: times must be >= 0 s, got {text!r}")
    return out


def _value(text: str):
    """``8`` -> 8, ``0.1`` -> 0.1, ``true``/``false``/``none`` -> bool/None, JSON objects, else the string."""
    low = text.strip().lower()
    if low in ("none", "null", "off"):
        return None
    if low in ("true", "false"):
        return low == "true"
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text.strip()


def _overrides(items: list[str] | None) -> dict:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise ParameterError(f"--set {item!r} must look like field=value (e.g. adc_bits=6)")
        k, v = item.split("=", 1)
        out[k.strip()] = _value(v)
    return out


def load_config(spec: str, overrides: dict | None = None, programming: str | None = None):
    """A CrossbarConfig from a built-in name or a JSON file, with field overrides.

    A JSON file holds config fields, optionally ``"base": "<built-in name>"`` to start from.

    Raises
    ------
    ParameterError
        Unknown name, unreadable/invalid file (naming it), unknown field or bad value.
    """
    from memfit.crossbar.config import CrossbarConfig, get_config

    if spec.endswith(".json"):
        path = Path(spec).expanduser()
        try:
            fields = json.loads(path.read_text())
        except OSError as exc:
            raise ParameterError(f"config file {path}: cannot read it ({exc.strerror or exc})") from None
        except json.JSONDecodeError as exc:
            raise ParameterError(f"config file {path}: not valid JSON ({exc})") from None
        if not isinstance(fields, dict):
            raise ParameterError(f"config file {path}: expected a JSON object of config fields")
        base = fields.pop("base", None)
        try:
            cfg = get_config(base).replace(**fields) if base else CrossbarConfig.from_dict(fields)
        except MemfitError as exc:
            raise ParameterError(f"config file {path}: {exc}") from None
    else:
        cfg = get_config(spec)
    changes = dict(overrides or {})
    if programming:
        changes["programming"] = programming
    return cfg.replace(**changes) if changes else cfg


def load_device(spec: str):
    """A CrossbarDevice from a preset name/file, or ``"ideal"`` (ohmic, 0..14 nS, no variability).

    Raises
    ------
    PresetError
        Unknown preset or invalid preset file (from :func:`memfit.presets.load_preset`).
    """
    from memfit.crossbar.device import CrossbarDevice

    if spec == "ideal":
        return CrossbarDevice.ideal()
    return CrossbarDevice.from_preset(spec)


def load_data(spec: str, network):
    """Test inputs and labels for ``network``: ``digits``, ``mnist:FOLDER`` or ``auto``.

    ``auto`` takes the digits test split for networks trained on digits (or with 64 inputs) and
    otherwise asks for ``--data``.

    Returns
    -------
    (x, y, description)
    """
    from memfit.crossbar.data import load_digits, load_mnist
    from memfit.crossbar.layers import NetworkError

    n_in = None
    if network.input_shape is not None:
        n_in = 1
        for s in network.input_shape:
            n_in *= s
    if spec == "auto":
        if network.meta.get("dataset") == "digits" or n_in == 64:
            spec = "digits"
        else:
            raise NetworkError(f"network {network.meta.get('name', '')!r} has {n_in} inputs: say which test data to "
                               "use with --data digits or --data mnist:FOLDER (the four MNIST IDX files)")
    if spec == "digits":
        d = load_digits(seed=int(network.meta.get("dataset_split_seed", 0)))
        return d.x_test, d.y_test, f"digits test split ({len(d.y_test)} images)"
    if spec.startswith("mnist:"):
        folder = Path(spec.split(":", 1)[1]).expanduser()
        d = load_mnist(folder)
        return d.x_test, d.y_test, f"MNIST test images from {folder} ({len(d.y_test)})"
    raise ParameterError(f"--data {spec!r}: expected auto, digits or mnist:FOLDER")


# ============================================================================ commands
def _cmd_run(args) -> int:
    from memfit.crossbar import evaluate as ev
    from memfit.crossbar.network import load_network

    net = load_network(args.network)
    device = load_device(args.preset)
    cfg = load_config(args.config, _overrides(args.set), args.programming)
    times = _floats(args.times, "--times")
    if args.repeats < 1:
        raise ParameterError(f"--repeats must be >= 1, got {args.repeats}")
    x, y, data_desc = load_data(args.data, net)
    if args.limit:
        x, y = x[: args.limit], y[: args.limit]
    progress = not args.quiet
    results = {}
    backend = None
    if args.scheduler or (args.workers and args.workers > 1):
        from memfit.parallel import ParallelError, get_backend

        try:  # one backend for every study of this run (workers start once)
            backend = get_backend(args.scheduler or "local", args.workers)
        except ParallelError as exc:
            raise ParameterError(f"--scheduler/--workers: {exc}") from None
    try:
        return _run_studies(args, ev, net, x, y, device, cfg, times, progress, results, backend, data_desc)
    finally:
        if backend is not None:
            backend.close()


def _run_studies(args, ev, net, x, y, device, cfg, times, progress, results, backend, data_desc):
    """The Monte Carlo studies of ``memfit crossbar run`` and the report (see :func:`_cmd_run`)."""
    df = ev.evaluate_accuracy(net, x, y, device, cfg, times=times, repeats=args.repeats, seed=args.seed,
                              progress=progress, backend=backend)
    results["accuracy"] = df
    interrupted = df.attrs["interrupted"]
    if args.compare and not interrupted:
        configs = {"as configured": cfg}
        for item in args.compare:
            label, _, changes = item.partition(":")
            configs[label] = cfg.replace(**_overrides([c for c in changes.split(",") if c]))
        results["configs"] = ev.evaluate_configs(net, x, y, device, configs, times=times, repeats=args.repeats,
                                                 seed=args.seed, progress=progress, backend=backend)
        interrupted = results["configs"].attrs["interrupted"]
    if args.sweep and not interrupted:
        results["sensitivity"] = ev.sensitivity_sweep(net, x, y, device, cfg, repeats=max(1, min(args.repeats, 3)),
                                                      seed=args.seed, progress=progress, backend=backend)
        interrupted = results["sensitivity"].attrs["interrupted"]
    if args.layers and not interrupted:
        results["layers"] = ev.layer_sensitivity(net, x, y, device, cfg, repeats=max(1, min(args.repeats, 3)),
                                                 seed=args.seed, progress=progress)
        interrupted = results["layers"].attrs["interrupted"]
    if args.vmm and not interrupted:
        results["vmm"] = ev.vmm_error(device, cfg, times=times, repeats=max(1, min(args.repeats, 3)), seed=args.seed,
                                      progress=progress)

    s = ev.summarize(df)
    print(f"network   {net.meta.get('name', args.network)}  ({len(net.matrix_layers())} matrix layers, "
          f"{net.n_parameters} parameters)")
    print(f"device    {args.preset}")
    print(f"config    {cfg.name}: programming={cfg.programming}, DAC {cfg.dac_bits} bit, ADC {cfg.adc_bits} bit, "
          f"out_noise {cfg.out_noise}, w_noise {cfg.w_noise}, drift={cfg.drift} ({cfg.drift_compensation})")
    print(f"data      {data_desc}")
    print(f"float     accuracy {100 * df.attrs['accuracy_fp']:.2f} %")
    for _, row in s.iterrows():
        print(f"t = {row['time']:<7} accuracy {100 * row['accuracy_mean']:6.2f} ± {100 * row['accuracy_sem']:.2f} %   "
              f"A* {100 * row['normalized_accuracy_mean']:6.2f} %   ({int(row['n'])} repeats)")
    if interrupted:
        print("interrupted: results hold the repeats finished before Ctrl-C")
    if args.csv:
        import pandas as pd

        frames = []
        for name, d in results.items():
            d = d.copy()
            d.insert(0, "study", name)
            frames.append(d)
        out = pd.concat(frames, ignore_index=True, sort=False)
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        out.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    if args.report:
        from memfit.crossbar.report import write_report

        settings = {"network": str(args.network), "network meta": {k: v for k, v in net.meta.items()
                                                                   if k not in ("recipe",)},
                    "preset": args.preset, "data": data_desc, "times [s]": times, "repeats": args.repeats,
                    "seed": args.seed, "config": cfg.to_dict()}
        print(f"wrote {write_report(args.report, results, settings)}")
    return 130 if interrupted else 0


def _cmd_configs(args) -> int:
    from memfit.crossbar.config import get_config, list_configs

    if args.name:
        for k, v in get_config(args.name).to_dict().items():
            print(f"{k:<20} {v}")
        return 0
    for name in list_configs():
        c = get_config(name)
        print(f"{name:<22} programming={c.programming}, DAC {c.dac_bits} / ADC {c.adc_bits} bit, out_noise "
              f"{c.out_noise}, w_noise {c.w_noise}, drift={c.drift}, ir_drop={c.ir_drop}")
    return 0


def _cmd_train(args) -> int:
    from memfit.crossbar.data import load_digits, load_mnist
    from memfit.crossbar.train import mlp, small_cnn, train

    if args.data == "digits":
        d = load_digits(seed=args.seed, image=args.cnn)
    elif args.data.startswith("mnist:"):
        d = load_mnist(Path(args.data.split(":", 1)[1]).expanduser(), image=args.cnn)
    else:
        raise ParameterError(f"--data {args.data!r}: expected digits or mnist:FOLDER")
    try:
        hidden = [int(h) for h in args.hidden.split(",") if h.strip()]
    except ValueError:
        raise ParameterError(f"--hidden {args.hidden!r}: expected comma-separated layer widths, e.g. 256,128") from None
    if args.cnn:
        net = small_cnn(d.sample_shape, hidden or [8, 16], d.n_classes, seed=args.seed)
    else:
        net = mlp([d.x_train.shape[1], *hidden, d.n_classes], seed=args.seed)
    hist = train(net, d.x_train, d.y_train, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                 lr_decay=args.lr_decay, weight_decay=args.weight_decay, seed=args.seed, verbose=not args.quiet)
    acc = net.accuracy(d.x_test, d.y_test)
    if args.hwa:
        from memfit.crossbar.hwa import train_hwa

        if args.hwa_epochs < 1:
            raise ParameterError(f"--hwa-epochs must be >= 1, got {args.hwa_epochs}")
        cfg = load_config(args.hwa)
        device = load_device(args.preset) if args.preset else None
        print(f"float test accuracy {100 * acc:.2f} %; hardware-aware fine-tuning with {args.hwa} "
              f"(noise x{args.noise_scale:g}, {args.hwa_epochs} epochs)", flush=True)
        train_hwa(net, d.x_train, d.y_train, cfg, device=device, epochs=args.hwa_epochs, lr=args.hwa_lr,
                  seed=args.seed, noise_scale=args.noise_scale, verbose=not args.quiet)
        acc = net.accuracy(d.x_test, d.y_test)
    net.meta.update({"name": Path(args.out).stem, "dataset": d.name, "dataset_split_seed": args.seed,
                     "n_classes": d.n_classes, "test_accuracy": acc})
    path = net.save(args.out)
    print(f"trained {len(net.matrix_layers())} matrix layers on {len(d.y_train)} {d.name} images: "
          f"final loss {hist['loss'].iloc[-1]:.4f}, test accuracy {100 * acc:.2f} %")
    print(f"wrote {path}")
    return 0


# ============================================================================ parsers
def add_parsers(subparsers) -> None:
    """Add ``crossbar`` (with ``run``, ``configs``, ``train``) to an argparse subparsers object."""
    p = subparsers.add_parser("crossbar", help="run networks on crossbars of a device (accuracy over time, ...)",
                              description="Crossbar inference engine: map a network onto tiles of a device, "
                              "program them, and measure accuracy over time.")
    sub = p.add_subparsers(dest="crossbar_command", metavar="CROSSBAR_COMMAND")
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])

    r = sub.add_parser("run", help="accuracy of a network on crossbars of a device, with Monte Carlo repeats",
                       description="Program the network's matrix layers onto tiles of the device and measure the "
                       "test accuracy at the given times after programming (mean ± s.e.m. over repeats).",
                       epilog="Example: memfit crossbar run --preset ftj-balanced --network builtin:digits-mlp "
                       "--config baseline-ftj --times 0,3600,86400,3.15e7 --repeats 10 --report out.html")
    r.add_argument("--preset", required=True, metavar="NAME|FILE",
                   help="device preset (built-in name or .json file), or 'ideal' (ohmic 0..14 nS device)")
    r.add_argument("--network", required=True, metavar="SPEC",
                   help="builtin:digits-mlp, builtin:digits-cnn, a .onnx file or a .npz weight file")
    r.add_argument("--config", default="baseline-ftj", metavar="NAME|FILE",
                   help="crossbar config name (see 'memfit crossbar configs') or a .json file of fields")
    r.add_argument("--set", action="append", metavar="FIELD=VALUE", help="config field override (repeatable), "
                   "e.g. --set adc_bits=6 --set out_noise=0")
    r.add_argument("--programming", choices=["ideal", "direct", "statistical", "write_verify", "tgdp"],
                   help="programming scheme (overrides the config's)")
    r.add_argument("--data", default="auto", metavar="SPEC", help="test data: auto (default), digits, or "
                   "mnist:FOLDER with the four MNIST IDX files")
    r.add_argument("--limit", type=int, default=None, metavar="N", help="use only the first N test samples")
    r.add_argument("--times", default="0,3600,86400,3.15e7", metavar="T1,T2,...",
                   help="read times after programming [s] (default 0, 1 h, 1 day, 1 year)")
    r.add_argument("--repeats", type=int, default=10, help="Monte Carlo repeats (re-programming), default 10")
    r.add_argument("--workers", type=int, default=None,
                   help="run the repeats on this many local worker processes (default: in this process)")
    r.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the repeats on a Dask cluster: tcp://host:port, or 'dask' for a local one "
                   '(pip install "memfit[dask]"); same results as in-process for a fixed --seed')
    r.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    r.add_argument("--compare", action="append", metavar="LABEL:FIELD=V[,FIELD=V]",
                   help="also evaluate a variant of the config, e.g. 'wv:programming=write_verify' (repeatable)")
    r.add_argument("--sweep", action="store_true", help="also sweep ADC/DAC bits 4-8 and output/weight noise 0-0.4")
    r.add_argument("--layers", action="store_true", help="also rank layers (each alone on an ideal tile)")
    r.add_argument("--vmm", action="store_true", help="also measure the VMM error on a 512x512 Gaussian matrix")
    r.add_argument("--report", metavar="FILE", help="write an HTML report with tables and plots")
    r.add_argument("--csv", metavar="FILE", help="write every result row (one per repeat and time) as CSV")
    r.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    r.set_defaults(func=_cmd_run)

    c = sub.add_parser("configs", help="list the built-in crossbar configurations, or show one")
    c.add_argument("name", nargs="?", help="config to show field by field")
    c.set_defaults(func=_cmd_configs)

    t = sub.add_parser("train", help="train an MLP or small CNN with the built-in numpy trainer (.npz out)",
                       epilog="Example: memfit crossbar train --data mnist:~/mnist --hidden 256,128 --epochs 10 "
                       "--out mlp.npz")
    t.add_argument("--data", default="digits", metavar="SPEC", help="digits (default) or mnist:FOLDER")
    t.add_argument("--hidden", default="128", metavar="N1,N2",
                   help="hidden layer widths (MLP) or channels (CNN); default 128")
    t.add_argument("--cnn", action="store_true", help="a small CNN (conv+ReLU+max-pool per entry of --hidden)")
    t.add_argument("--epochs", type=int, default=15)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=1e-3, help="Adam step size")
    t.add_argument("--lr-decay", type=float, default=0.9, help="learning-rate factor per epoch")
    t.add_argument("--weight-decay", type=float, default=1e-4)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", required=True, metavar="FILE", help="network file to write (.npz)")
    t.add_argument("--hwa", metavar="CONFIG",
                   help="then fine-tune hardware-aware with this crossbar config's non-idealities in the forward "
                   "pass (built-in name or JSON file, e.g. baseline-ftj)")
    t.add_argument("--preset", help="device of the hardware-aware forward (its read I-V; default: ideal)")
    t.add_argument("--hwa-epochs", type=int, default=10, help="hardware-aware epochs (default 10)")
    t.add_argument("--hwa-lr", type=float, default=5e-4, help="hardware-aware Adam step size (default 5e-4)")
    t.add_argument("--noise-scale", type=float, default=1.0,
                   help="multiply the config's weight/output noise during training (the thesis uses 3-6)")
    t.add_argument("--quiet", "-q", action="store_true")
    t.set_defaults(func=_cmd_train)


def main(argv=None) -> int:
    """Stand-alone entry (``python -m memfit.crossbar.cli run ...``) until the lead wires it into ``memfit``."""
    import sys

    parser = argparse.ArgumentParser(prog="memfit")
    sub = parser.add_subparsers(dest="command")
    add_parsers(sub)
    args = parser.parse_args(["crossbar", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except MemfitError as exc:
        print(f"memfit crossbar: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
