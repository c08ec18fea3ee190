"""Guarantee 3: hostile output (huge lines, noise, NULs, floods) keeps memory bounded and nothing silently lost."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from procdash.core import events as ev
from procdash.core.lines import CUT_MARKER, DEFAULT_MAX_LINE
from procdash.core.supervisor import Supervisor
from tests.faults.support import (
    PtyProcdash,
    drive,
    make_supervisor,
    needs_dashboard,
    read_pids,
    run_procdash,
    start_procdash,
    survivors_after,
    wait_for,
)
from tests.helpers import wait_until

# One script for every kind of hostile output; with "--go FILE" it waits for FILE before writing,
# so the test can measure procdash at rest first.
FLOOD = r"""
import os, random, sys, time
args = sys.argv[1:]
if args[0] == "--go":
    while not os.path.exists(args[1]):
        time.sleep(0.01)
    args = args[2:]
kind, size = args[0], int(args[1])
out = sys.stdout.buffer
if kind == "longline":
    block = b"0123456789abcdef" * 4096
    for _ in range(size // len(block)):
        out.write(block)
elif kind == "noise":
    out.write(random.Random(1).randbytes(size))
    out.write(b"\nEND-OF-NOISE\n")
elif kind == "empty":
    out.write(b"\n" * size)
elif kind == "numbered":
    for start in range(0, size, 1000):
        out.write("".join(f"line {i}\n" for i in range(start, min(size, start + 1000))).encode())
out.flush()
"""
MB = 1024 * 1024


def write_flood(root: Path, procfile: dict[str, str]) -> None:
    """Write the flood script and a Procfile."""
    (root / "flood.py").write_text(FLOOD)
    (root / "Procfile").write_text("".join(f"{name}: {command}\n" for name, command in procfile.items()))


def flood(*args: str) -> str:
    """The Procfile command that runs the flood script."""
    return f"exec {sys.executable} flood.py {' '.join(args)}"


def prefixed_lines(output: bytes, name: str) -> list[str]:
    """The lines one instance printed in headless --no-timestamp output."""
    head = re.compile(rf"^{re.escape(name)} *\| ?")
    lines = []
    for raw in output.decode("utf-8").split("\n"):
        match = head.match(raw)
        if match:
            lines.append(raw[match.end() :])
    return lines


def test_ten_megabyte_line_is_cut_with_markers_and_nothing_lost(tmp_path: Path) -> None:
    write_flood(tmp_path, {"huge": flood("longline", str(10 * MB))})
    result = run_procdash(["start", "--no-timestamp", "--no-color"], cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    pieces = prefixed_lines(result.stdout, "huge.1")
    assert len(pieces) == 10 * MB // DEFAULT_MAX_LINE
    assert all(piece.endswith(CUT_MARKER) for piece in pieces[:-1])
    assert all(len(piece) == DEFAULT_MAX_LINE + len(CUT_MARKER) for piece in pieces[:-1])
    whole = "".join(piece.removesuffix(CUT_MARKER) for piece in pieces)
    assert whole == "0123456789abcdef" * (10 * MB // 16)


def rss(pid: int) -> int:
    """Resident memory of a process in bytes."""
    return int(psutil.Process(pid).memory_info().rss)


@pytest.mark.slow
def test_memory_stays_bounded_by_the_scrollback(tmp_path: Path) -> None:
    """80 MB of output (one endless line, then a million empty lines) with a 500-line scrollback."""
    write_flood(
        tmp_path,
        {
            "huge": flood("--go", "go", "longline", str(64 * MB)),
            "empty": flood("--go", "go", "empty", str(1_000_000)),
            "idle": "exec sleep 1000",
        },
    )
    proc = start_procdash(
        ["start", "--scrollback", "500", "--no-timestamp", "-t", "1"], cwd=tmp_path, stdout=subprocess.DEVNULL
    )
    try:
        procdash = psutil.Process(proc.pid)
        wait_for(lambda: len(procdash.children()) >= 4, 20, "procdash to start its children")
        baseline = rss(proc.pid)
        (tmp_path / "go").write_text("")
        peak = baseline
        # Sample memory until both floods have ended (bounded: the floods take a few seconds).
        floods = {c.pid for c in procdash.children() if "flood.py" in " ".join(c.cmdline())}
        assert len(floods) == 2
        deadline = time.monotonic() + 90
        while survivors_after(floods, 0.0) and time.monotonic() < deadline and proc.poll() is None:
            peak = max(peak, rss(proc.pid))
            time.sleep(0.05)  # sampling interval
        assert survivors_after(floods, 0.0) == []
        peak = max(peak, rss(proc.pid))
        proc.send_signal(2)
        assert proc.wait(timeout=15) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # The ring holds at most 500 pieces of the long line; each carries the non-Latin-1 "…" of the
    # marker, so Python stores it at 2 bytes a character: 500 * 16 KiB * 2 = 16 MB, plus working slack.
    ring = 500 * (DEFAULT_MAX_LINE + len(CUT_MARKER)) * 2
    assert peak - baseline < ring + 16 * MB, f"procdash grew from {baseline / MB:.0f} MB to {peak / MB:.0f} MB"


def test_million_empty_lines_all_arrive(tmp_path: Path) -> None:
    write_flood(tmp_path, {"empty": flood("empty", str(1_000_000))})
    result = run_procdash(["start", "--no-timestamp", "--no-color", "--no-pty"], cwd=tmp_path, timeout=120)
    assert result.returncode == 0
    assert len(prefixed_lines(result.stdout, "empty.1")) == 1_000_000


def test_binary_noise_becomes_visible_text_and_procdash_carries_on(tmp_path: Path) -> None:
    write_flood(tmp_path, {"noise": flood("noise", str(2 * MB))})
    result = run_procdash(["start", "--no-timestamp", "--no-color", "--no-pty"], cwd=tmp_path, timeout=60)
    assert result.returncode == 0
    text = result.stdout.decode("utf-8")  # strict: procdash only ever writes valid UTF-8
    controls = {ch for ch in text if (ord(ch) < 32 and ch not in "\n\t") or 0x7F <= ord(ch) <= 0x9F}
    assert controls == set()
    lines = prefixed_lines(result.stdout, "noise.1")
    assert lines[-1] == "END-OF-NOISE"
    assert all(len(line) <= DEFAULT_MAX_LINE + len(CUT_MARKER) for line in lines)


def test_nul_and_control_bytes_are_shown_as_pictures(tmp_path: Path) -> None:
    sup = make_supervisor({"nul": r"printf 'a\000b\000\000c\nbell\007 back\010space\n'"}, tmp_path, use_pty=False)
    got: list[str] = []
    sup.subscribe(lambda e: got.extend(e.lines) if isinstance(e, ev.Output) else None)

    async def body(sup: Supervisor) -> None:
        await wait_until(sup.is_idle)

    drive(sup, body)
    assert got == ["a␀b␀␀c", "bell␇ back␈space"]


@pytest.mark.slow
def test_slow_terminal_slows_the_formation_but_loses_nothing_and_ctrl_c_works(tmp_path: Path) -> None:
    """A terminal that draws at ~400 KB/s: backpressure reaches the child, every line arrives, ^C stops it."""
    count = 60_000
    write_flood(
        tmp_path,
        {
            "numbers": flood("numbered", str(count)),
            "sleeper": "echo $$ >> sleeper.pids; exec sleep 1000",
        },
    )
    term = PtyProcdash(
        ["start", "--headless", "--no-timestamp", "--no-color", "-t", "1"],
        cwd=tmp_path,
        read_size=4096,
        read_pause=0.01,
    )
    try:
        wait_for(lambda: "numbers.1 exited with code 0" in term.text(), 60, "the flood to be drawn")
        rows = term.text().replace("\r\n", "\n")
        assert prefixed_lines(rows.encode(), "numbers.1") == [f"line {i}" for i in range(count)]
        term.type(b"\x03")
        assert term.wait(15) == 130
        assert survivors_after(read_pids(tmp_path / "sleeper.pids"), 2.0) == []
    finally:
        term.close()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def settles(pid: int, window: float = 0.3) -> bool:
    """Whether a process used (almost) no CPU during ``window`` seconds: it is blocked."""
    before = cpu_seconds(pid)
    time.sleep(window)  # a measurement window, not a wait for a condition
    return cpu_seconds(pid) - before < 0.02


@pytest.mark.slow
def test_stalled_terminal_means_backpressure_not_buffering(tmp_path: Path) -> None:
    """A terminal that stops reading (XOFF, a frozen emulator): procdash and the child wait, memory stays flat."""
    write_flood(tmp_path, {"numbers": flood("numbered", "100000000"), "other": "exec sleep 1000"})
    term = PtyProcdash(["start", "--headless", "--no-timestamp", "-t", "1"], cwd=tmp_path, drain=False)
    try:
        pid = term.pid
        wait_for(lambda: any("flood.py" in " ".join(c.cmdline()) for c in psutil.Process(pid).children()), 20, "flood")
        flooder = next(c for c in psutil.Process(pid).children() if "flood.py" in " ".join(c.cmdline()))
        wait_for(lambda: settles(flooder.pid) and settles(pid), 20, "the stalled terminal to block everyone")
        held = rss(pid)
        assert settles(pid, 1.0)
        assert rss(pid) - held < 2 * MB
        term.type(b"\x03")
        term.resume()
        assert term.wait(20) == 130
        assert "SIGINT received" in term.text()
    finally:
        term.close()


@pytest.mark.slow
@needs_dashboard
def test_dashboard_stays_responsive_under_a_flood(tmp_path: Path) -> None:
    """Two children print as fast as they can; the dashboard still draws, and quits promptly on q."""
    write_flood(
        tmp_path,
        {
            "flood": flood("numbered", "100000000"),
            "noise": flood("noise", str(200 * MB)),
            "sleeper": "echo $$ >> sleeper.pids; exec sleep 1000",
        },
    )
    term = PtyProcdash(["start", "-t", "1", "-c", "flood=2"], cwd=tmp_path, size=(120, 40))
    try:
        wait_for(lambda: read_pids(tmp_path / "sleeper.pids"), 30, "the formation to start")
        drawn = len(term.output())
        wait_for(lambda: len(term.output()) > drawn + 10_000, 20, "the dashboard to keep drawing")
        pid = term.pid
        started = time.monotonic()
        term.type(b"q")
        term.wait(20)
        assert time.monotonic() - started < 10
        assert survivors_after(read_pids(tmp_path / "sleeper.pids"), 2.0) == []
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    finally:
        term.close()
