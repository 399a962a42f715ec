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
    args.memcap_factory = None
    if args.crossbar in ("capacitive", "both"):
        from memfit.crossbar.memcap import factory_from_options

        if args.scheduler or (args.workers and args.workers > 1):
            raise ParameterError(f"--crossbar {args.crossbar} runs in this process; drop --workers/--scheduler")
        # capacitive only: --preset (if given) names the memcapacitor model
        default_model = args.preset if args.crossbar == "capacitive" else None
        args.memcap_factory = factory_from_options(args.memcap, default_model)
    elif args.memcap:
        raise ParameterError("--memcap applies to --crossbar capacitive or both")
    if args.crossbar != "capacitive" and not args.preset:
        raise ParameterError(f"--preset is required for --crossbar {args.crossbar} (the resistive device)")
    device = load_device(args.preset) if args.crossbar != "capacitive" else None
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
    import numpy as np

    from memfit.crossbar.energy import network_cost
    from memfit.crossbar.network import AnalogNetwork

    fac = args.memcap_factory if args.crossbar == "capacitive" else None  # the studies' tiles
    df = ev.evaluate_accuracy(net, x, y, device, cfg, times=times, repeats=args.repeats, seed=args.seed,
                              progress=progress, backend=backend, matrix_factory=fac)
    results["accuracy"] = df
    interrupted = df.attrs["interrupted"]
    if args.compare and not interrupted:
        configs = {"as configured": cfg}
        for item in args.compare:
            label, _, changes = item.partition(":")
            configs[label] = cfg.replace(**_overrides([c for c in changes.split(",") if c]))
        results["configs"] = ev.evaluate_configs(net, x, y, device, configs, times=times, repeats=args.repeats,
                                                 seed=args.seed, progress=progress, backend=backend,
                                                 matrix_factory=fac)
        interrupted = results["configs"].attrs["interrupted"]
    if args.sweep and not interrupted:
        results["sensitivity"] = ev.sensitivity_sweep(net, x, y, device, cfg, repeats=max(1, min(args.repeats, 3)),
                                                      seed=args.seed, progress=progress, backend=backend,
                                                      matrix_factory=fac)
        interrupted = results["sensitivity"].attrs["interrupted"]
    if args.layers and not interrupted:
        results["layers"] = ev.layer_sensitivity(net, x, y, device, cfg, repeats=max(1, min(args.repeats, 3)),
                                                 seed=args.seed, progress=progress, matrix_factory=fac)
        interrupted = results["layers"].attrs["interrupted"]
    if args.vmm and not interrupted:
        results["vmm"] = ev.vmm_error(device, cfg, times=times, repeats=max(1, min(args.repeats, 3)), seed=args.seed,
                                      progress=progress, matrix_factory=fac)
    if args.crossbar == "both" and not interrupted:
        results["crossbars"] = ev.compare_crossbar_kinds(net, x, y, device, cfg, args.memcap_factory,
                                                         repeats=args.repeats, seed=args.seed, t=times[0],
                                                         n_energy=args.energy_samples, progress=progress)
        interrupted = results["crossbars"].attrs["interrupted"]
    if not interrupted:  # energy/latency table of the evaluated network (repeat 0's programming, t = 0)
        import pandas as pd

        kinds = {"resistive": (device, None), "capacitive": (None, args.memcap_factory)}
        use = ["resistive", "capacitive"] if args.crossbar == "both" else [args.crossbar]
        frames = [network_cost(AnalogNetwork(net, kinds[k][0], cfg, rng=np.random.default_rng([args.seed, 0]),
                                             matrix_factory=kinds[k][1]), x, n_samples=args.energy_samples)
                  for k in use]
        results["energy"] = pd.concat(frames, ignore_index=True)
        results["energy"].attrs["n_samples"] = frames[0].attrs["n_samples"]

    s = ev.summarize(df)
    print(f"network   {net.meta.get('name', args.network)}  ({len(net.matrix_layers())} matrix layers, "
          f"{net.n_parameters} parameters)")
    if args.crossbar != "capacitive":
        print(f"device    {args.preset}")
    if args.memcap_factory is not None:
        print(f"memcap    {json.dumps(args.memcap_factory.describe(), default=str)}")
    print(f"config    {cfg.name}: programming={cfg.programming}, DAC {cfg.dac_bits} bit, ADC {cfg.adc_bits} bit, "
          f"out_noise {cfg.out_noise}, w_noise {cfg.w_noise}, drift={cfg.drift} ({cfg.drift_compensation})")
    print(f"data      {data_desc}")
    print(f"float     accuracy {100 * df.attrs['accuracy_fp']:.2f} %")
    for _, row in s.iterrows():
        print(f"t = {row['time']:<7} accuracy {100 * row['accuracy_mean']:6.2f} ± {100 * row['accuracy_sem']:.2f} %   "
              f"A* {100 * row['normalized_accuracy_mean']:6.2f} %   ({int(row['n'])} repeats)")
    if "crossbars" in results:
        for _, row in results["crossbars"].iterrows():
            print(f"{row['kind']:<10} accuracy {100 * row['accuracy_mean']:6.2f} ± "
                  f"{100 * row['accuracy_sem']:.2f} %   energy {row['energy [J]']:.4g} J   "
                  f"latency {row['latency [s]']:.4g} s per inference")
    if "energy" in results:
        for _, row in results["energy"].iterrows():
            if row["layer"] == "per inference":
                print(f"energy    {row['kind']}: {row['energy [J]']:.4g} J (array {row['array [J]']:.4g} J, ADC "
                      f"{row['ADC [J]']:.4g} J), latency {row['latency [s]']:.4g} s per inference (estimate)")
    if interrupted:
        print("interrupted: results hold the repeats finished before Ctrl-C")
    if args.csv:
        import pandas as pd

        frames = []
        for name, d in results.items():
            if name in ("energy", "crossbars"):  # summary tables, not per-repeat rows: in the report and stdout
                continue
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
                    "seed": args.seed, "config": cfg.to_dict(), "crossbar": args.crossbar}
        if args.memcap_factory is not None:
            settings["memcapacitive crossbar"] = args.memcap_factory.describe()
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
    net_init = net.copy()
    hist = train(net, d.x_train, d.y_train, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                 lr_decay=args.lr_decay, weight_decay=args.weight_decay, seed=args.seed, verbose=not args.quiet,
                 progress=not args.quiet)
    acc = net.accuracy(d.x_test, d.y_test)
    if args.insitu:
        _train_insitu(args, d, net_init, acc)
    if args.hwa:
        from memfit.crossbar.hwa import train_hwa

        if args.hwa_epochs < 1:
            raise ParameterError(f"--hwa-epochs must be >= 1, got {args.hwa_epochs}")
        cfg = load_config(args.hwa)
        device = load_device(args.preset) if args.preset else None
        print(f"float test accuracy {100 * acc:.2f} %; hardware-aware fine-tuning with {args.hwa} "
              f"(noise x{args.noise_scale:g}, {args.hwa_epochs} epochs)", flush=True)
        train_hwa(net, d.x_train, d.y_train, cfg, device=device, epochs=args.hwa_epochs, lr=args.hwa_lr,
                  seed=args.seed, noise_scale=args.noise_scale, verbose=not args.quiet, progress=not args.quiet)
        acc = net.accuracy(d.x_test, d.y_test)
    net.meta.update({"name": Path(args.out).stem, "dataset": d.name, "dataset_split_seed": args.seed,
                     "n_classes": d.n_classes, "test_accuracy": acc})
    path = net.save(args.out)
    print(f"trained {len(net.matrix_layers())} matrix layers on {len(d.y_train)} {d.name} images: "
          f"final loss {hist['loss'].iloc[-1]:.4f}, test accuracy {100 * acc:.2f} %")
    print(f"wrote {path}")
    return 0


def _train_insitu(args, d, net_init, acc_float) -> None:
    """``train --insitu PRESET``: the same initial network trained on the array by pulses."""
    from memfit.crossbar.insitu import train_insitu
    from memfit.crossbar.train import train

    epochs = args.insitu_epochs or args.epochs
    if epochs < 1:
        raise ParameterError(f"--insitu-epochs must be >= 1, got {epochs}")
    device = load_device(args.insitu)
    cfg = load_config(args.insitu_config)
    print(f"in-situ training on {device.name} tiles ({cfg.name}): {args.update} pulses, {args.scheme} pairs, "
          f"lr {args.insitu_lr:g}, {epochs} epochs", flush=True)
    ins, h = train_insitu(net_init, d.x_train, d.y_train, device, cfg, epochs=epochs, batch_size=args.batch_size,
                          lr=args.insitu_lr, update=args.update, scheme=args.scheme, seed=args.seed,
                          progress=not args.quiet, verbose=not args.quiet)
    acc = ins.accuracy(d.x_test, d.y_test)
    # the float counterpart of the in-situ run: the same initial network, plain SGD, same lr, batches, epochs
    sgd = net_init.copy()
    train(sgd, d.x_train, d.y_train, epochs=epochs, batch_size=args.batch_size, lr=args.insitu_lr, seed=args.seed,
          optimizer="sgd")
    acc_sgd = sgd.accuracy(d.x_test, d.y_test)
    out = Path(args.insitu_out) if args.insitu_out else Path(args.out).with_name(Path(args.out).stem + "-insitu.npz")
    eff = ins.effective_network()
    eff.meta.update({"name": out.stem, "dataset": d.name, "dataset_split_seed": args.seed, "n_classes": d.n_classes,
                     "test_accuracy_on_array": acc, "test_accuracy_float_sgd": acc_sgd})
    eff.save(out)
    print(f"in-situ: test accuracy on the array {100 * acc:.2f} % (float SGD with the same lr and epochs "
          f"{100 * acc_sgd:.2f} %, float {args.epochs} epochs Adam {100 * acc_float:.2f} %), "
          f"{int(h['pulses'].iloc[-1])} device pulses in {h['seconds'].iloc[-1]:.1f} s; wrote {out} "
          "(the weights the devices hold)")


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
    r.add_argument("--preset", metavar="NAME|FILE",
                   help="device preset (built-in name or .json file), or 'ideal' (ohmic 0..14 nS device); required "
                   "unless --crossbar capacitive, where it names the memcapacitor model (default 'memcapacitor')")
    r.add_argument("--crossbar", choices=["resistive", "capacitive", "both"], default="resistive",
                   help="crossbar kind: resistive (memristive, default), capacitive (memcapacitive, charge-domain "
                   "MAC; no drift), or both side by side (accuracy at the first --times entry, energy, latency)")
    r.add_argument("--memcap", action="append", metavar="FIELD=VALUE",
                   help="memcapacitive crossbar setting (repeatable): model=NAME, fit=FITRESULT.json, "
                   "params=FILE.json, a model parameter (e.g. Clow=1e-12), read_voltage, d2d_std, c2c_std, "
                   "c_parasitic, adc_bits (int, none or config), q_full_scale")
    r.add_argument("--energy-samples", type=int, default=32, metavar="N",
                   help="test inputs averaged for the energy/latency estimate (default 32)")
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
    r.add_argument("--csv", metavar="FILE", help="write every result row (one per repeat and time) as CSV "
                   "(the energy and crossbar-comparison summaries go to the report and stdout)")
    r.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    r.set_defaults(func=_cmd_run)

    c = sub.add_parser("configs", help="list the built-in crossbar configurations, or show one")
    c.add_argument("name", nargs="?", help="config to show field by field")
    c.set_defaults(func=_cmd_configs)

    t = sub.add_parser("train", help="train an MLP or small CNN with the built-in numpy trainer (.npz out)",
                       epilog="Example: memfit crossbar train --data mnist:~/mnist --hidden 256,128 --epochs 10 "
                       "--out mlp.npz; with --insitu nbox the same network is also trained on NbOx tiles by pulses")
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
    t.add_argument("--insitu", metavar="PRESET",
                   help="also train the same initial network ON the array of this device by programming pulses "
                   "(its fitted pulse response; see memfit.crossbar.insitu) and compare with the float training")
    t.add_argument("--insitu-config", default="baseline-ftj", metavar="CONFIG",
                   help="crossbar config of the in-situ forward/backward reads (default baseline-ftj)")
    t.add_argument("--update", choices=["deterministic", "mixed-precision", "stochastic"], default="mixed-precision",
                   help="in-situ update: rounded batch update, digitally accumulated (default), or stochastic pulse "
                   "coincidence")
    t.add_argument("--scheme", choices=["push-pull", "one-sided"], default="push-pull",
                   help="which devices of a pair are pulsed (default push-pull)")
    t.add_argument("--insitu-lr", type=float, default=0.1, help="in-situ SGD learning rate (default 0.1)")
    t.add_argument("--insitu-epochs", type=int, default=None, help="in-situ epochs (default: --epochs)")
    t.add_argument("--insitu-out", metavar="FILE", help="network file of the in-situ result (default OUT-insitu.npz)")
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
