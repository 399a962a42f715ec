"""`python -m benchmarks realdata --smoke` fits the shared real data end to end and prints its table.

Skipped when the shared datasets folder (``../shared/datasets`` or ``$MEMFIT_SHARED_DATASETS``) is
absent, or while the section is not registered in ``benchmarks.SECTIONS``.  Timings and fit figures
are not asserted (the machine is shared; the figures are for the benchmark's reader).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _shared_root():
    from memfit.data import shared_datasets as sd
    from memfit.errors import MeasurementError

    try:
        return sd.root_dir()
    except MeasurementError:
        return None


def _registered() -> bool:
    from benchmarks import SECTIONS

    return "realdata" in SECTIONS


def test_realdata_smoke_runs_and_prints_its_table():
    if _shared_root() is None:
        pytest.skip("shared datasets folder absent")
    if not _registered():
        pytest.skip("benchmark section 'realdata' not registered in benchmarks.SECTIONS yet")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    out = subprocess.run([sys.executable, "-m", "benchmarks", "realdata", "--smoke"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout
    assert "Real data: fits to measured devices" in text, text[-3000:]
    header = re.search(r"^dataset +model +fitted parameters .* points +R2 +NRMSE +log-RMSE +wall$", text, re.M)
    assert header, text[-3000:]
    # one row per dataset family, each with numbers (or an explicit skip/failure line)
    for name in ("Knowm SDC", "VO2", "CrossSim RRAM ramps", "Stanford RRAM relax"):
        assert re.search(rf"^{name}.*$", text, re.M), f"no row for {name}:\n{text[-3000:]}"
    assert "FAILED" not in text, text[-3000:]
    assert re.search(r"^ratio +realdata .*: [-\d.e+]+x", text, re.M), text[-3000:]
    assert "total benchmark run time" in text
