"""``python -m benchmarks [SECTION ...] [--smoke] [--repeats N]``: run the named sections (default: all)."""

# Pin the BLAS/OpenMP pools before anything imports numpy (baselines_and_pitfalls.md, "Threads"):
# OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = 1 unless set explicitly.
from benchmarks._util import pin_threads

pin_threads()

import argparse  # noqa: E402
import importlib  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from benchmarks import SECTIONS  # noqa: E402
from benchmarks import _util  # noqa: E402  (no numpy at import)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="memfit benchmarks: figures with ratios against baselines measured in the same run.",
        epilog="sections: " + "; ".join(f"{k} -- {d}" for k, (_, d) in SECTIONS.items()),
    )
    p.add_argument("sections", nargs="*", metavar="SECTION", help=f"sections to run (default: all of {list(SECTIONS)})")
    p.add_argument("--smoke", action="store_true", help="tiny sizes, for a quick check that everything runs (< 20 s)")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed repetitions per figure (median); default: each section's own (5 for single runs)")
    p.add_argument("--strict", action="store_true", help="exit with status 1 when a target is missed (FAIL)")
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        print(f"unknown section(s) {unknown}; available: {list(SECTIONS)}", file=sys.stderr)
        return 2
    names = args.sections or list(SECTIONS)
    t_start = time.perf_counter()
    print("memfit benchmarks" + (" (SMOKE mode: tiny sizes, figures are not meaningful)" if args.smoke else ""))
    print(_util.environment())
    print(flush=True)
    headlines = []
    for name in names:
        module = importlib.import_module(SECTIONS[name][0])
        headlines += module.run(args)
    print("Summary")
    print("=======")
    for h in headlines:
        print(h.render())
    print(f"total benchmark run time: {time.perf_counter() - t_start:.1f} s")
    if args.strict and any(h.verdict == "FAIL" for h in headlines):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
