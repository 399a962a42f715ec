"""Replay of recorded command/response protocols: a fake pyvisa resource that fails on anything unexpected.

Protocol files (``protocols/<driver>.txt``) are sections of driver actions
and the wire traffic they must produce::

    @set current_limit 0.001          # driver action (Python literal arguments)
    > :SOUR:VOLT:ILIM 0.001           # expected write
    @get current_limit -> 0.001       # action with expected return value
    > :SOUR:VOLT:ILIM?
    < +1.000000E-03                   # canned answer to the preceding query
    @call pulse 2.0 0.01 0.001 -> Reading(t=0.5, v=2.0, i=1e-4)

The commands were written from the instruments' reference manuals (see the
driver modules) -- they are the specification the drivers are checked
against, not a recording of the drivers' own output.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

PROTOCOLS = Path(__file__).parent / "protocols"


class ProtocolMismatch(AssertionError):
    """The driver sent something the protocol does not expect."""


class ReplayResource:
    """A pyvisa-like resource that replays a protocol: expected writes and canned reads."""

    def __init__(self, steps: list[tuple[str, str]], name: str = "replay"):
        self.steps = list(steps)
        self.pos = 0
        self.sent: list[str] = []
        self.timeout = 10000
        self.resource_name = name

    def write(self, cmd: str):
        self.sent.append(cmd)
        if self.pos >= len(self.steps):
            raise ProtocolMismatch(f"unexpected command {cmd!r} after the end of the protocol")
        kind, text = self.steps[self.pos]
        if kind != ">" or text != cmd:
            raise ProtocolMismatch(f"step {self.pos + 1}: expected {kind} {text!r}, the driver wrote {cmd!r}")
        self.pos += 1
        return len(cmd)

    def read(self) -> str:
        if self.pos >= len(self.steps) or self.steps[self.pos][0] != "<":
            nxt = self.steps[self.pos] if self.pos < len(self.steps) else "end of protocol"
            raise ProtocolMismatch(f"step {self.pos + 1}: the driver reads an answer, the protocol has {nxt}")
        text = self.steps[self.pos][1]
        self.pos += 1
        return text

    def query(self, cmd: str) -> str:
        self.write(cmd)
        return self.read()

    def close(self):
        pass

    def assert_done(self):
        if self.pos != len(self.steps):
            raise ProtocolMismatch(f"the driver stopped at step {self.pos + 1} of {len(self.steps)}: "
                                   f"{self.steps[self.pos]} was never sent")


@dataclass
class Section:
    action: str  # set | get | call
    name: str
    args: list
    expect: object = None
    has_expect: bool = False
    steps: list = field(default_factory=list)
    line: int = 0
    kwargs: dict = field(default_factory=dict)


def load_protocol(path: Path):
    options, sections = {}, []
    for no, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("@"):
            body, arrow, expect = line[1:].partition(" -> ")
            action, name, *rest = body.split(" ", 2)
            tokens = _tokens(rest[0]) if rest else []
            args, kwargs = [], {}
            for t in tokens:
                key, eq, val = t.partition("=")
                if eq and key.isidentifier():
                    kwargs[key] = ast.literal_eval(val)
                else:
                    args.append(ast.literal_eval(t))
            sec = Section(action, name, args, line=no)
            sec.kwargs = kwargs
            if arrow:
                sec.expect, sec.has_expect = _expected(expect.strip()), True
            sections.append(sec)
        elif line[:2] in ("> ", "< "):
            sections[-1].steps.append((line[0], line[2:]))
        else:
            raise ValueError(f"{path}:{no}: cannot parse {line!r}")
    return options, sections


def _tokens(text):
    """Split on spaces outside brackets (``[0.1, 0.2] 0.05`` -> two tokens)."""
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == " " and depth == 0:
            if cur:
                out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        out.append(cur)
    return out


def _expected(text: str):
    from instruments.routines.smu import Reading

    if text.startswith("Reading("):
        return eval(text, {"Reading": Reading})  # test data written by us
    if text.startswith("[Reading("):
        return eval(text, {"Reading": Reading})
    return ast.literal_eval(text)
