"""`python -m benchmarks integrators --smoke` runs end to end and prints its ratios (timings are not asserted)."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


def test_integrators_smoke_runs_and_prints_ratios():
    out = _run("integrators", "--smoke")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout
    # the headline against solve_ivp, with its target and a verdict (whichever it is)
    assert re.search(r"ratio .*solve_ivp LSODA.*: [\d.e+]+x \(target >= 100x\) +(PASS|FAIL)", text), text[-3000:]
    assert "Python loop over solve_ivp" in text
    assert "BLAS/OpenMP pools pinned: OMP_NUM_THREADS=1" in text
    assert ("ngspice not installed — skipped" in text) or re.search(r"ratio .*ngspice.*: [\d.e+]+x", text)
    assert "total benchmark run time" in text


def test_unknown_section_is_rejected():
    out = _run("nope")
    assert out.returncode == 2
    assert "unknown section" in out.stderr


def test_training_smoke_runs_and_prints_ratios():
    out = _run("training", "--smoke")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout
    assert re.search(r"ratio\s+HWA training epoch: speed vs float epoch.*: [\d.e+-]+x\s+\(target >= 0.33+x\)\s+(PASS|FAIL)",
                     text), text[-3000:]
    assert re.search(r"ratio\s+in-situ step \d+x\d+, deterministic.*\(target >= 0.1x\)\s+(PASS|FAIL)", text)
    assert "stochastic pulse coincidence" in text
