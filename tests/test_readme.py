"""Every code block of the README runs: Python blocks are executed, `memfit ...` shell lines are run."""

import re
import shlex
from pathlib import Path

import pytest

from memfit.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README.read_text(), flags=re.S)
PYTHON = [code for lang, code in BLOCKS if lang == "python"]
SHELL = [
    line.split("#")[0].strip()
    for lang, code in BLOCKS
    if lang == "bash"
    for line in code.splitlines()
    if line.strip().startswith("memfit ")
]
# the first quick-start command runs 'memfit simulate ...' after 'pip install .' on the same line
SHELL += [
    line.split("&&", 1)[1].split("#")[0].strip()
    for lang, code in BLOCKS
    if lang == "bash"
    for line in code.splitlines()
    if "pip install ." in line and "&& memfit" in line
]


def test_readme_has_code():
    assert len(PYTHON) >= 2 and len(SHELL) >= 3


@pytest.mark.parametrize("k", range(len(PYTHON)))
def test_python_block_runs(k, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(PYTHON[k], f"README-python-{k}", "exec"), {"__name__": "__readme__"})


@pytest.mark.parametrize("line", SHELL)
def test_memfit_command_runs(line, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = shlex.split(line)
    assert argv[0] == "memfit"
    assert main(argv[1:]) == 0
