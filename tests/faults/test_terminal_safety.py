"""Guarantee 4: child output never drives the host terminal; only SGR colour gets through, and only when on."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from procdash.core.lines import CUT_MARKER, LineAssembler
from tests.faults.support import PtyProcdash, needs_dashboard, wait_for

SGR = re.compile(rb"\x1b\[[0-9;:]*m")
# Every kind of sequence a child could use to take over the terminal, each on its own line.
HOSTILE = [
    b"clear \x1b[2J\x1b[H\x1b[3J screen",
    b"reset \x1bc terminal",
    b"alt \x1b[?1049h\x1b[?47h screen",
    b"cursor \x1b[5A\x1b[10;20H\x1b7\x1b8\x1bM\x1b[s\x1b[u moves",
    b"scroll \x1b[1;3r region",
    b"title \x1b]0;pwned-title\x07 bel-terminated",
    b"title \x1b]2;pwned-title\x1b\\ st-terminated",
    b"clipboard \x1b]52;c;cHduZWQ=\x07 write",
    b"link \x1b]8;;http://example.invalid/\x1b\\text\x1b]8;;\x1b\\ end",
    b"bell \x07\x07 ring",
    b"queries \x1b[6n\x1b[c\x1b[>c\x1bP+q544e\x1b\\\x1b[21t answers",
    b"modes \x1b[?1000h\x1b[?2004h\x1b=\x1b[?25l set",
    b"c1 \xc2\x9b2J \x9b2J \xc2\x9d0;c1-title\x07 eight-bit",
    b"charset \x1b(0lqk\x1b(B shift \x0e\x0f",
    b"unterminated osc \x1b]0;pwned-title",
    b"colour \x1b[31mred\x1b[0m \x1b[1;38;5;208morange\x1b[0m \x1b[38;2;1;2;3mtrue\x1b[m",
    # Colour codes across a cut: the 16 KiB cap must not split a sequence in two.
    b"\x1b[31mX\x1b[0m" * 5000,
    b"last line without newline \x1b]0;pwned-title",
]


def write_project(root: Path, mode: str) -> None:
    """A Procfile whose one type prints the hostile bytes in small pieces, then waits to be stopped."""
    data = b"\n".join(HOSTILE)
    (root / "hostile.bin").write_bytes(data)
    script = (
        "import os, sys, time\n"
        "data = open('hostile.bin', 'rb').read()\n"
        "for i in range(0, len(data), 7):\n"
        "    os.write(1, data[i : i + 7])\n"
    )
    (root / "hostile.py").write_text(script)
    (root / "Procfile").write_text(f"evil: exec {sys.executable} hostile.py\n")


def offending(output: bytes) -> list[bytes]:
    """Bytes in terminal output that a terminal would act on, beyond SGR, newlines and tabs."""
    rest = SGR.sub(b"", output)
    bad = re.findall(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f].{0,12}", rest, flags=re.DOTALL)
    text = rest.decode("utf-8", "strict")
    bad += [ch.encode() for ch in text if 0x80 <= ord(ch) <= 0x9F]
    return bad


def run_on_terminal(root: Path, mode: str, *extra: str, env: dict[str, str] | None = None) -> bytes:
    """Run procdash headless on a pty until the hostile type is done; return what reached the terminal."""
    write_project(root, mode)
    args = ["start", "--headless", *extra]
    if mode == "pipe":
        args.append("--no-pty")
    term = PtyProcdash(args, cwd=root, env=env)
    try:
        assert term.wait(30) == 0
        wait_for(lambda: "evil.1 exited with code 0" in term.text(), 10, "the last output")
        return term.output()
    finally:
        term.close()


@pytest.mark.parametrize("mode", ["pty", "pipe"])
def test_only_sgr_reaches_the_terminal_and_colour_survives(tmp_path: Path, mode: str) -> None:
    output = run_on_terminal(tmp_path, mode)
    assert offending(output) == []
    assert b"pwned" not in output  # titles and clipboard payloads are dropped, not printed
    # Colour is on by default on a terminal: the child's SGR arrives intact, in place.
    assert b"\x1b[31mred\x1b[0m \x1b[1;38;5;208morange\x1b[0m \x1b[38;2;1;2;3mtrue\x1b[m" in output
    assert b"link text end" in output
    assert b"\xe2\x90\x87" in output  # the bell is shown as its picture, not rung
    # The cut line arrives whole (apart from the markers), with no stray parts of colour codes.
    rows = [SGR.sub(b"", row).decode() for row in output.split(b"\r\n") if b"X\x1b" in row]
    assert "".join(row.split("| ", 1)[1].removesuffix(CUT_MARKER) for row in rows) == "X" * 5000


@pytest.mark.parametrize("step", [1, 7, 4096, 65536])
def test_cutting_a_long_line_never_splits_a_colour_code(step: int) -> None:
    data = b"\x1b[31mX\x1b[0m" * 5000 + b"\n"
    asm = LineAssembler()
    lines = [line for i in range(0, len(data), step) for line in asm.feed(data[i : i + step])] + asm.flush()
    assert len(lines) > 1
    for line in lines:
        assert offending(line.encode()) == []
    assert "".join(line.removesuffix(CUT_MARKER) for line in lines) == data[:-1].decode()


@pytest.mark.parametrize("mode", ["pty", "pipe"])
def test_no_escape_at_all_without_colour(tmp_path: Path, mode: str) -> None:
    output = run_on_terminal(tmp_path, mode, env={"NO_COLOR": "1"})
    assert b"\x1b" not in output
    assert offending(output) == []
    assert b"colour red orange true" in output


@pytest.mark.slow
@needs_dashboard
def test_dashboard_draws_hostile_output_without_passing_it_on(tmp_path: Path) -> None:
    """The dashboard writes its own escapes, so check that none of the child's reach the terminal."""
    write_project(tmp_path, "pty")
    (tmp_path / "Procfile").write_text(
        f"evil: {sys.executable} hostile.py; echo; echo END-OF-HOSTILE; exec sleep 1000\n"
    )
    term = PtyProcdash(["start", "-t", "1"], cwd=tmp_path, size=(120, 50))
    try:
        wait_for(lambda: "END-OF-HOSTILE" in term.text(), 30, "the dashboard to draw the output")
        term.type(b"q")
        term.wait(15)
        output = term.output()
    finally:
        term.close()
    for payload in (b"pwned", b"cHduZWQ", b"example.invalid", b"\x1bc", b"\x1b]52", b"\x1b[6n", b"\x1bP+q"):
        assert payload not in output, payload
    # Textual ends its own OSC sequences (pointer shape) with BEL; a bell from the child would stand alone.
    assert b"\x07" not in re.sub(rb"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)", b"", output)
