"""Logs on disk with real processes: timestamps, colours, per-type files, size rotation, a stalled disk."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from pathlib import Path

import pytest

from procdash.core import logfiles
from procdash.core.logfiles import LogFiles, LogSettings, RotatingFile
from tests.core.test_supervisor import make
from tests.helpers import wait_until, write
from tests.test_headless import procdash

STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}"


def test_log_dir_writes_each_instance_with_timestamps_and_no_colour(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: printf '\\033[31mred\\033[0m text\\n'; echo second\nworker: echo w\n")
    result = procdash("--color", "-m", "web=2,worker=1", "--log-dir", "logs", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "\x1b[31m" in result.stdout  # the terminal side keeps colour (forced) ...
    files = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert files == ["web.1.log", "web.2.log", "worker.1.log"]
    lines = (tmp_path / "logs" / "web.2.log").read_text().splitlines()
    assert "\x1b" not in "".join(lines)  # ... the file does not
    assert re.fullmatch(rf"{STAMP} \[procdash\] web\.2 started \(pid \d+\)", lines[0])
    assert re.fullmatch(rf"{STAMP} red text", lines[1])
    assert re.fullmatch(rf"{STAMP} second", lines[2])
    assert re.fullmatch(rf"{STAMP} \[procdash\] web\.2 exited with code 0", lines[3])


def test_log_color_keeps_colour_and_log_file_names_instances(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: printf '\\033[32mok\\033[0m\\n'\n")
    write(tmp_path / "Procfile.toml", 'log_dir = "out"\nlog_color = true\n[web]\nlog_file = "web-all.log"\n')
    result = procdash("--color", "-m", "web=2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "\x1b[32mok\x1b[0m" in (tmp_path / "out" / "web.1.log").read_text()
    shared = (tmp_path / "web-all.log").read_text().splitlines()
    assert any(re.fullmatch(rf"{STAMP} web\.1 \| \x1b\[32mok\x1b\[0m", line) for line in shared)
    assert any(re.fullmatch(rf"{STAMP} web\.2 \| \x1b\[32mok\x1b\[0m", line) for line in shared)


def test_rotation_keeps_the_configured_count_and_every_line_whole(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: seq 1 20000\n")
    write(tmp_path / "Procfile.toml", 'log_max_size = "16k"\nlog_keep = 3\n')
    result = procdash("--log-dir", "logs", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert names == ["web.1.log", "web.1.log.1", "web.1.log.2", "web.1.log.3"]
    numbers: list[int] = []
    for name in ("web.1.log.3", "web.1.log.2", "web.1.log.1", "web.1.log"):
        path = tmp_path / "logs" / name
        assert path.stat().st_size <= 16 * 1024
        for line in path.read_text().splitlines():
            assert re.fullmatch(rf"{STAMP} (\d+|\[procdash\] .*)", line), line
            if "[procdash]" not in line:
                numbers.append(int(line.rsplit(" ", 1)[1]))
    # The newest files hold the newest lines, contiguous up to the last one.
    assert numbers == list(range(numbers[0], 20001))
    assert numbers[0] > 1


def test_rotating_file_cuts_at_line_boundaries(tmp_path: Path) -> None:
    handle = RotatingFile(tmp_path / "a.log", max_size=10, keep=1)
    handle.write(b"1234\n5678\nabc\n")
    handle.write(b"a very long line\n")
    handle.close()
    assert (tmp_path / "a.log.1").read_bytes() == b"a very long line\n"
    assert (tmp_path / "a.log").read_bytes() == b""
    handle = RotatingFile(tmp_path / "b.log", max_size=10, keep=2)
    handle.write(b"1234\n5678\nabc\n")
    handle.close()
    assert (tmp_path / "b.log.1").read_bytes() == b"1234\n5678\n"
    assert (tmp_path / "b.log").read_bytes() == b"abc\n"


def test_unwritable_log_dir_is_a_one_line_error(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: echo never\n")
    write(tmp_path / "blocker", "a file, not a directory")
    result = procdash("--log-dir", "blocker/logs", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "blocker/logs: cannot create the log directory" in result.stderr
    assert "never" not in result.stdout


def test_bad_log_keys_name_file_line_and_key(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: echo never\n")
    write(tmp_path / "Procfile.toml", "# logs\nlog_keep = -1\n")
    result = procdash(cwd=tmp_path)
    assert result.returncode == 2
    assert "Procfile.toml:2: log_keep: -1 is outside 0-1000" in result.stderr
    write(tmp_path / "Procfile.toml", "[web]\nlog_file = 3\n")
    result = procdash(cwd=tmp_path)
    assert "Procfile.toml:2: web.log_file: expected a string, got an integer" in result.stderr
    write(tmp_path / "Procfile.toml", 'log_max_size = "lots"\n')
    result = procdash(cwd=tmp_path)
    assert "Procfile.toml:1: log_max_size: expected a size" in result.stderr


def test_a_stalled_disk_never_blocks_the_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the writer stuck in a write, output keeps flowing and the file says how much it missed."""
    release = threading.Event()
    real_drain = LogFiles._drain

    def stuck_drain(self: LogFiles) -> None:
        release.wait(30)  # the disk hangs: the writer takes nothing from the queue until released
        real_drain(self)

    monkeypatch.setattr(LogFiles, "_drain", stuck_drain)
    monkeypatch.setattr(logfiles, "MAX_PENDING", 1000)
    sup = make({"web": "seq 1 5000"}, root=tmp_path)
    logs = LogFiles(LogSettings(directory=tmp_path / "logs"))
    logs.attach(sup)

    async def main() -> None:
        sup.start()
        try:
            started = time.monotonic()
            await sup.wait_idle()  # the formation finishes while the disk is stuck
            assert time.monotonic() - started < 10
            inst = sup.find("web.1")
            assert inst is not None and inst.log.tail(1) == ["5000"]
        finally:
            release.set()
            await sup.stop_all()
            await logs.stop()
            sup.close()

    asyncio.run(main())
    text = (tmp_path / "logs" / "web.1.log").read_text()
    missed = re.findall(r"(\d+) lines were not written here: the disk fell behind", text)
    assert missed
    written = len(text.splitlines()) - len(missed)
    assert written + sum(map(int, missed)) == 5000 + 2  # every line and the started/exited lines, accounted for


def test_every_line_reaches_the_file_under_load(tmp_path: Path) -> None:
    sup = make({"a": "seq 1 100000", "b": "seq 1 100000"}, root=tmp_path)
    logs = LogFiles(LogSettings(directory=tmp_path / "logs"))
    logs.attach(sup)

    async def main() -> None:
        sup.start()
        try:
            await sup.wait_idle()
        finally:
            await sup.stop_all()
            await logs.stop()
            sup.close()
        await wait_until(lambda: not logs._thread.is_alive(), 5)

    asyncio.run(main())
    for name in ("a.1", "b.1"):
        numbers = [
            int(line.rsplit(" ", 1)[1])
            for line in (tmp_path / "logs" / f"{name}.log").read_text().splitlines()
            if "[procdash]" not in line
        ]
        assert numbers == list(range(1, 100001))
