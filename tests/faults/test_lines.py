"""Guarantee 2: every byte a child wrote before it ended arrives exactly once, in order, in both outputs."""

from __future__ import annotations

import random
import sys
import zlib
from pathlib import Path

import pytest

from procdash.core import events as ev
from procdash.core.supervisor import Supervisor
from tests.faults.support import drive, make_supervisor, run_procdash
from tests.helpers import wait_until

# A child that writes numbered lines at full speed in random chunk sizes, so lines split across
# writes everywhere, then ends in one of several ways.
WRITER = r"""
import os, random, signal, sys, zlib
name, count, ending = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rng = random.Random(zlib.crc32(name.encode()))
lines = [f"{name} {i:06d} " + "x" * rng.randint(0, 200) for i in range(count)]
data = ("\n".join(lines) + "\n").encode()
if ending in ("partial", "sigkill"):
    data += f"{name} tail-without-newline".encode()
pos = 0
while pos < len(data):
    step = rng.randint(1, 4096)
    pos += os.write(1, data[pos : pos + step])
if ending == "sigkill":
    os.kill(os.getpid(), signal.SIGKILL)
os._exit(0)
"""

COUNTS = {"fast": 20_000, "partial": 5_000, "killed": 5_000, "quick": 3}
ENDINGS = {"fast": "newline", "partial": "partial", "killed": "sigkill", "quick": "newline"}
FORMATION_SPEC = "fast=2,partial=1,killed=1,quick=4"


def expected_lines(name: str, count: int, ending: str) -> list[str]:
    """What the writer called ``name`` prints, line by line (the same generator as WRITER)."""
    rng = random.Random(zlib.crc32(name.encode()))
    lines = [f"{name} {i:06d} " + "x" * rng.randint(0, 200) for i in range(count)]
    if ending in ("partial", "sigkill"):
        lines.append(f"{name} tail-without-newline")
    return lines


def write_project(root: Path) -> dict[str, str]:
    """Write the writer script and a Procfile; return the Procfile as a dict."""
    (root / "writer.py").write_text(WRITER)
    # killed.1 execs the writer: with a shell in between, the shell would add its own "Killed" note.
    procfile = {
        type_name: f'{"exec " if type_name == "killed" else ""}{sys.executable} writer.py "$PS" '
        f"{COUNTS[type_name]} {ENDINGS[type_name]}"
        for type_name in COUNTS
    }
    (root / "Procfile").write_text("".join(f"{name}: {command}\n" for name, command in procfile.items()))
    return procfile


def instance_names() -> list[str]:
    """Every instance of FORMATION_SPEC."""
    counts = dict(part.split("=") for part in FORMATION_SPEC.split(","))
    return [f"{name}.{n}" for name, count in counts.items() for n in range(1, int(count) + 1)]


def expected_for(instance: str) -> list[str]:
    """Expected lines of one instance."""
    type_name = instance.split(".")[0]
    return expected_lines(instance, COUNTS[type_name], ENDINGS[type_name])


@pytest.mark.parametrize("mode", ["pty", "pipe"])
def test_headless_output_has_every_line_once_in_order(tmp_path: Path, mode: str) -> None:
    write_project(tmp_path)
    args = ["start", "--no-timestamp", "--no-color", "-m", FORMATION_SPEC]
    if mode == "pipe":
        args.append("--no-pty")
    result = run_procdash(args, cwd=tmp_path, timeout=120)
    got: dict[str, list[str]] = {name: [] for name in instance_names()}
    system: list[str] = []
    for raw in result.stdout.decode("utf-8").split("\n")[:-1]:
        name, sep, line = raw.partition(" | ")
        assert sep, f"unprefixed output line {raw[:80]!r}"
        if name.strip() == "system":
            system.append(line)
        else:
            got[name.strip()].append(line)
    assert result.stderr == b""
    for name in instance_names():
        want = expected_for(name)
        assert len(got[name]) == len(want), f"{name}: {len(got[name])} lines, expected {len(want)}"
        assert got[name] == want, f"{name}: lines differ"
    assert "killed.1 was killed by SIGKILL (code 137)" in system
    assert result.returncode == 137  # the first failure's code: killed.1 died of SIGKILL


@pytest.mark.parametrize("mode", ["pty", "pipe"])
def test_ring_buffer_holds_newest_lines_and_counts_the_rest(tmp_path: Path, mode: str) -> None:
    procfile = write_project(tmp_path)
    counts = dict(part.split("=") for part in FORMATION_SPEC.split(","))
    scrollback = 1_000
    sup = make_supervisor(
        procfile, tmp_path, {k: int(v) for k, v in counts.items()}, scrollback=scrollback, use_pty=mode == "pty"
    )
    delivered: dict[str, list[str]] = {name: [] for name in instance_names()}
    sup.subscribe(lambda e: delivered[e.instance.name].extend(e.lines) if isinstance(e, ev.Output) else None)

    async def body(sup: Supervisor) -> None:
        await wait_until(sup.is_idle, timeout=60)

    drive(sup, body)
    for inst in sup.instances():
        want = expected_for(inst.name)
        assert delivered[inst.name] == want, f"{inst.name}: delivered lines differ"
        log = inst.log
        assert log.next_seq == len(want)
        assert log.dropped == max(0, len(want) - scrollback)
        assert log.first_seq == max(0, len(want) - scrollback)
        assert log.slice(log.first_seq, log.next_seq) == want[-scrollback:]
        assert log.get(log.next_seq - 1) == want[-1]
    killed = sup.find("killed.1")
    assert killed is not None and killed.exit_code == 137 and killed.exit_description == "SIGKILL"


@pytest.mark.parametrize("mode", ["pty", "pipe"])
def test_exit_right_after_writing_loses_nothing(tmp_path: Path, mode: str) -> None:
    """Many tiny children that print and exit at once: the race between exit and reading never drops output."""
    procfile = {"blip": "printf 'first\\nsecond\\nno-newline'", "one": "echo only"}
    sup = make_supervisor(procfile, tmp_path, {"blip": 20, "one": 20}, use_pty=mode == "pty")
    delivered: dict[str, list[str]] = {}
    sup.subscribe(
        lambda e: delivered.setdefault(e.instance.name, []).extend(e.lines) if isinstance(e, ev.Output) else None
    )

    async def body(sup: Supervisor) -> None:
        await wait_until(sup.is_idle, timeout=60)

    drive(sup, body)
    assert len(delivered) == 40
    for name, lines in delivered.items():
        assert lines == (["first", "second", "no-newline"] if name.startswith("blip") else ["only"]), name
