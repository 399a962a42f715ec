"""Command-line front ends of the lab side: ``memfit sim-smu`` and ``memfit characterize``.

The lead wires them into ``memfit/cli.py`` with::

    from instruments.cli import add_parsers
    add_parsers(subparsers)

Each subcommand's function returns an exit code and raises
:class:`~memfit.errors.MemfitError` subclasses on bad input (the ``memfit``
command prints those as one line and exits with status 2).

Examples
--------
::

    memfit sim-smu --model nbox --port 5025
    memfit characterize iv --resource TCPIP::127.0.0.1::5025::SOCKET --out data/ --v-max 1.5 --compliance 1e-3
    memfit characterize write-verify --resource TCPIP::127.0.0.1::5025::SOCKET --target 2.6e-7 --read-v -0.2 \\
        --v-start 2.4 --v-step 0.02 --v-max 3.3 --width 0.01 --compliance 1e-2 --read-compliance 1e-3
"""

from __future__ import annotations

import argparse
import sys

from memfit.cli import _key_values  # one parser for name=value options across the CLI

ROUTINES = ("iv", "pulses", "write-verify", "multilevel", "retention", "forming", "endurance")




# ------------------------------------------------------------------ sim-smu
def _cmd_sim_smu(args) -> int:
    from instruments.simulated import SimulatedSMU
    from memfit.models import get_model

    model = get_model(args.model)  # ModelError for an unknown name, before binding the port
    sim = SimulatedSMU(model, params=_key_values(args.param, "--param"), port=args.port, host=args.host,
                       series_resistance=args.rs, noise=not args.no_noise, seed=args.seed,
                       line_frequency=args.line_frequency, drop_after=args.drop_after, hang_after=args.hang_after,
                       force_compliance=args.force_compliance)
    print(f"simulated Keithley 2450 with model {model.name!r} on TCPIP::{args.host}::{args.port}::SOCKET "
          "(Ctrl-C stops)", flush=True)
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


# ------------------------------------------------------------- characterize
def _progress(done: int, total: int, message: str) -> None:
    sys.stderr.write(f"\r[{done}/{total}] {message}\033[K")
    sys.stderr.flush()
    if done >= total:
        sys.stderr.write("\n")


def _limits(args):
    from instruments.routines import Limits

    return Limits(v_max=args.limit_v, i_max=args.limit_i, pulse_width_max=args.limit_width,
                  pulse_energy_max=args.limit_energy)


def _wv_kwargs(args) -> dict:
    return dict(read_v=args.read_v, v_start=args.v_start, v_step=args.v_step, v_max=args.v_max, width=args.width,
                tolerance=args.tolerance, max_pulses=args.max_pulses, set_polarity=args.set_polarity,
                compliance=args.compliance, reset_v_start=args.reset_v_start, reset_v_step=args.reset_v_step,
                reset_v_max=args.reset_v_max, reset_compliance=args.reset_compliance,
                read_compliance=args.read_compliance)


def _cmd_characterize(args) -> int:
    from instruments import routines as R
    from instruments.drivers import open_smu

    limits = _limits(args)  # checked before connecting
    common = dict(limits=limits, out=args.out, progress=None if args.quiet else _progress, nplc=args.nplc)
    if args.name:
        common["name"] = args.name
    if args.device:
        common["device"] = args.device
    smu = open_smu(args.resource, args.driver, timeout=args.timeout)
    try:
        r = args.routine
        if r == "iv":
            m = R.iv_sweep(smu, v_max=args.v_max, v_min=args.v_min, step=args.step, rate=args.rate,
                           compliance=args.compliance, compliance_neg=args.compliance_neg, cycles=args.cycles,
                           **common)
        elif r == "pulses":
            amps = R.ramp_amplitudes(args.n_up, args.v_up, args.n_down, args.v_down)
            m = R.pulse_train(smu, amps, width=args.width, read_v=args.read_v, compliance=args.compliance,
                              read_compliance=args.read_compliance, **common)
        elif r == "write-verify":
            m = R.write_verify(smu, args.target, **_wv_kwargs(args), **common)
        elif r == "multilevel":
            targets = args.targets or R.linear_levels(args.g_min, args.g_max, args.levels)
            m = R.multilevel(smu, targets, n_reads=args.n_reads, **_wv_kwargs(args), **common)
        elif r == "retention":
            m = R.retention(smu, read_v=args.read_v, duration=args.duration, points=args.points, hold_v=args.hold_v,
                            compliance=args.compliance, **common)
        elif r == "forming":
            m = R.forming(smu, v_max=args.v_max, step=args.step, rate=args.rate, compliance=args.compliance,
                          jump=args.jump, **common)
        else:
            m = R.endurance(smu, cycles=args.cycles, v_set=args.v_set, v_reset=args.v_reset, width=args.width,
                            read_v=args.read_v, compliance=args.compliance, reset_compliance=args.reset_compliance,
                            read_compliance=args.read_compliance, read_every=args.read_every, **common)
    finally:
        smu.close()
    print(f"{len(m)} points -> {m.meta.get('file', '(not saved)')}")
    for key in ("result", "levels"):
        if key in m.meta:
            print(f"{key}: {m.meta[key]}")
    return 0


def _wv_options(p) -> None:
    p.add_argument("--read-v", type=float, required=True, help="verify (read) voltage [V], not 0")
    p.add_argument("--v-start", type=float, required=True, help="set-pulse start amplitude [V]")
    p.add_argument("--v-step", type=float, required=True, help="amplitude step per pulse [V]")
    p.add_argument("--v-max", type=float, required=True, help="maximum set amplitude [V]")
    p.add_argument("--width", type=float, required=True, help="pulse width [s]")
    p.add_argument("--tolerance", type=float, default=0.02, help="relative target band (default 0.02 = +-2 %%)")
    p.add_argument("--max-pulses", type=int, default=100)
    p.add_argument("--set-polarity", type=int, choices=(1, -1), default=1,
                   help="sign of a conductance-raising pulse (default +1)")
    p.add_argument("--reset-v-start", type=float, help="reset start amplitude [V] (default: --v-start)")
    p.add_argument("--reset-v-step", type=float, help="reset step [V]")
    p.add_argument("--reset-v-max", type=float, help="maximum reset amplitude [V]")
    p.add_argument("--compliance", type=float, default=1e-3, help="set-pulse compliance [A]")
    p.add_argument("--reset-compliance", type=float, help="reset-pulse compliance [A]")
    p.add_argument("--read-compliance", type=float, help="read compliance [A]")


def add_parsers(subparsers) -> None:
    """Add ``sim-smu`` and ``characterize`` to an argparse subparsers object."""
    p = subparsers.add_parser("sim-smu", help="serve a simulated Keithley 2450 backed by a device model",
                              description="A TCP server on 127.0.0.1 speaking the Keithley 2450 SCPI subset of "
                                          "memfit's driver, backed by a memfit device model.")
    p.add_argument("--model", default="nbox", help="device model name or alias (default nbox)")
    p.add_argument("--port", type=int, default=5025, help="TCP port (default 5025; 0 = any free port)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--param", action="append", help="model parameter override name=value (repeatable)")
    p.add_argument("--rs", type=float, default=0.0, help="series resistance [Ohm]")
    p.add_argument("--seed", type=int, default=0, help="noise seed")
    p.add_argument("--no-noise", action="store_true", help="no measurement noise (quantisation only)")
    p.add_argument("--line-frequency", type=float, default=50.0, help="[Hz]")
    p.add_argument("--drop-after", type=int, help="fault: drop the connection after N commands")
    p.add_argument("--hang-after", type=int, help="fault: stop answering after N commands")
    p.add_argument("--force-compliance", action="store_true", help="fault: report compliance on every reading")
    p.set_defaults(func=_cmd_sim_smu)

    c = subparsers.add_parser("characterize", help="run a characterization routine on an SMU",
                              description="Run a routine on a Keithley 2450 / 2600B, Keysight B2900 or the "
                                          "simulated SMU; every point is streamed to --out as it is measured.")
    sub = c.add_subparsers(dest="routine", required=True)

    def routine(name, help_):
        r = sub.add_parser(name, help=help_)
        r.add_argument("--resource", required=True, help="VISA resource, e.g. TCPIP::127.0.0.1::5025::SOCKET")
        r.add_argument("--driver", help="keithley2450, keithley2600b or keysight_b2900 (default: from *IDN?)")
        r.add_argument("--out", default="data", help="output directory (default data/)")
        r.add_argument("--name", help="file stem (default: the routine name)")
        r.add_argument("--device", help="device identifier stored in the metadata")
        r.add_argument("--nplc", type=float, default=0.1, help="aperture [power-line cycles]")
        r.add_argument("--timeout", type=float, default=10.0, help="I/O timeout [s]")
        r.add_argument("--limit-v", type=float, default=5.0, help="safety limit |V| [V] (default 5)")
        r.add_argument("--limit-i", type=float, default=0.01, help="safety limit on compliance [A] (default 0.01)")
        r.add_argument("--limit-width", type=float, default=1.0, help="longest pulse [s] (default 1)")
        r.add_argument("--limit-energy", type=float, help="largest |V| x compliance x width [J]")
        r.add_argument("--quiet", action="store_true", help="no progress line")
        r.set_defaults(func=_cmd_characterize)
        return r

    r = routine("iv", "bipolar I-V sweep")
    r.add_argument("--v-max", type=float, required=True, help="positive turning point [V]")
    r.add_argument("--v-min", type=float, help="negative turning point [V] (default -v_max)")
    r.add_argument("--step", type=float, default=0.02, help="[V]")
    r.add_argument("--rate", type=float, default=1.0, help="[V/s]")
    r.add_argument("--compliance", type=float, default=1e-3, help="positive-branch compliance [A]")
    r.add_argument("--compliance-neg", type=float, help="negative-branch compliance [A]")
    r.add_argument("--cycles", type=int, default=1)

    r = routine("pulses", "potentiation/depression pulse train with reads")
    r.add_argument("--n-up", type=int, required=True)
    r.add_argument("--v-up", type=float, required=True, help="[V]")
    r.add_argument("--n-down", type=int, default=0)
    r.add_argument("--v-down", type=float, help="[V]")
    r.add_argument("--width", type=float, required=True, help="[s]")
    r.add_argument("--read-v", type=float, required=True, help="[V]")
    r.add_argument("--compliance", type=float, default=1e-3, help="[A]")
    r.add_argument("--read-compliance", type=float, help="[A]")

    r = routine("write-verify", "program one target conductance")
    r.add_argument("--target", type=float, required=True, help="target read conductance [S]")
    _wv_options(r)

    r = routine("multilevel", "program N levels with write-verify, read each back")
    r.add_argument("--targets", type=float, nargs="+", help="target conductances [S]")
    r.add_argument("--levels", type=int, default=8, help="number of evenly spaced levels (with --g-min/--g-max)")
    r.add_argument("--g-min", type=float, help="[S]")
    r.add_argument("--g-max", type=float, help="[S]")
    r.add_argument("--n-reads", type=int, default=5)
    _wv_options(r)

    r = routine("retention", "log-spaced reads over a duration")
    r.add_argument("--read-v", type=float, required=True, help="[V]")
    r.add_argument("--duration", type=float, required=True, help="[s]")
    r.add_argument("--points", type=int, default=20)
    r.add_argument("--hold-v", type=float, default=0.0, help="bias between reads [V]")
    r.add_argument("--compliance", type=float, default=1e-3, help="[A]")

    r = routine("forming", "compliance-limited ramp that stops on the current jump")
    r.add_argument("--v-max", type=float, required=True, help="ramp end [V]")
    r.add_argument("--step", type=float, default=0.05, help="[V]")
    r.add_argument("--rate", type=float, default=0.5, help="[V/s]")
    r.add_argument("--compliance", type=float, default=1e-4, help="[A]")
    r.add_argument("--jump", type=float, default=10.0, help="current jump factor that means 'formed'")

    r = routine("endurance", "set/reset cycles with periodic reads")
    r.add_argument("--cycles", type=int, required=True)
    r.add_argument("--v-set", type=float, required=True, help="[V]")
    r.add_argument("--v-reset", type=float, required=True, help="[V]")
    r.add_argument("--width", type=float, required=True, help="[s]")
    r.add_argument("--read-v", type=float, required=True, help="[V]")
    r.add_argument("--compliance", type=float, default=1e-3, help="set compliance [A]")
    r.add_argument("--reset-compliance", type=float, help="[A]")
    r.add_argument("--read-compliance", type=float, help="[A]")
    r.add_argument("--read-every", type=int, default=1)

    c.set_defaults(func=_cmd_characterize)


def main(argv=None) -> int:
    """Stand-alone entry point (``python -m instruments.cli``) until the lead wires it into ``memfit``."""
    from memfit.errors import MemfitError

    parser = argparse.ArgumentParser(prog="memfit")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    if args.command == "characterize" and args.routine == "multilevel" and not args.targets and \
            (args.g_min is None or args.g_max is None):
        parser.error("multilevel needs --targets or --g-min and --g-max")
    try:
        return args.func(args)
    except MemfitError as exc:
        print(f"memfit: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
