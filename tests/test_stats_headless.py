"""The headless resource summary: the reporter service on a real supervisor, and ``--stats`` end to end."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from procdash.core.procfile import ProcessType
from procdash.core.stats import Snapshot, StatsSampler, live_roots
from procdash.core.supervisor import Supervisor, SupervisorOptions
from procdash.stats_report import StatsReporter, describe
from tests.helpers import wait_until, wait_until_sync, write

STATS_LINE = re.compile(r"stats (\w+) x(\d+) cpu (\d+\.\d)% mem (\d+(?:\.\d+)?(?:B|kB|MB|GB)) procs (\d+)")


def supervisor(procfile: dict[str, str], counts: dict[str, int], root: Path) -> Supervisor:
    """A supervisor over an in-memory Procfile with a short stop timeout."""
    types = [ProcessType(name, command, i + 1) for i, (name, command) in enumerate(procfile.items())]
    return Supervisor(types, counts, root=root, dotenv={}, base_port=5000, options=SupervisorOptions(timeout=2.0))


def test_reporter_prints_one_line_per_running_type_and_stops_cleanly(tmp_path: Path) -> None:
    sup = supervisor(
        {"busy": f"{sys.executable} -c 'while True: pass'", "idle": "sleep 30", "off": "sleep 30"},
        {"busy": 1, "idle": 2, "off": 0},
        tmp_path,
    )
    lines: list[str] = []
    reporter = StatsReporter(lines.append, every=0.5, interval=0.25)

    async def main() -> None:
        sup.start()
        try:
            assert set(live_roots(sup.instances())) == {"busy.1", "idle.1", "idle.2"}
            await reporter.start(sup)
            await wait_until(lambda: len(lines) >= 4, timeout=10)
            await reporter.stop()
            printed = len(lines)
            await asyncio.sleep(0.6)  # a stopped reporter must stay silent for longer than its period
            assert len(lines) == printed
        finally:
            await reporter.stop()
            await sup.stop_all()
            sup.close()

    asyncio.run(main())
    parsed = [STATS_LINE.fullmatch(line) for line in lines]
    assert all(parsed), lines
    by_type = [(m.group(1), int(m.group(2))) for m in parsed if m]
    assert by_type[:2] == [("busy", 1), ("idle", 2)]  # Procfile order; "off" has no instances
    assert {name for name, _ in by_type} == {"busy", "idle"}
    busy_cpu = [float(m.group(3)) for m in parsed if m and m.group(1) == "busy"]
    idle_procs = [int(m.group(5)) for m in parsed if m and m.group(1) == "idle"]
    assert max(busy_cpu) > 20.0
    assert min(idle_procs) >= 2


class BrokenSampler(StatsSampler):
    """A sampler whose process table cannot be read."""

    def sample(self, roots: Mapping[str, int], *, uss_for: str | None = None) -> Snapshot:
        """Fail as an unreadable /proc would."""
        raise PermissionError("/proc is not readable")


def test_a_failing_sampler_is_reported_once_and_leaves_the_formation_alone(tmp_path: Path) -> None:
    sup = supervisor({"idle": "sleep 30"}, {"idle": 1}, tmp_path)
    lines: list[str] = []
    reporter = StatsReporter(lines.append, every=0.05, sampler=BrokenSampler())

    async def main() -> None:
        sup.start()
        try:
            await reporter.start(sup)
            await wait_until(lambda: lines, timeout=10)
            await asyncio.sleep(0.2)  # several periods: it must not try again
            await reporter.stop()
            assert sup.find("idle.1") is not None and "idle.1" in live_roots(sup.instances())
        finally:
            await sup.stop_all()
            sup.close()

    asyncio.run(main())
    assert lines == ["stats stopped: /proc is not readable"]


def test_describe_formats_a_missing_type_as_zero() -> None:
    assert describe("worker", 0, 0.0, None) == "stats worker x0 cpu 0.0% mem 0B procs 0"


class Reader:
    """Collects a child's stdout lines in a thread, so the test can wait on them with a deadline."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert proc.stdout is not None
        self._stream = proc.stdout
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        """Read until end of file."""
        for line in self._stream:
            self.lines.append(line.rstrip("\n"))

    def join(self) -> None:
        """Wait for end of file (bounded)."""
        self._thread.join(timeout=10)


def test_headless_stats_flag_prints_aligned_summary_lines(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "webserver: sleep 30\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "procdash", "start", "--headless", "--no-timestamp", "--stats", "1"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    reader = Reader(proc)
    try:
        wait_until_sync(lambda: sum("stats webserver" in line for line in reader.lines) >= 2, timeout=15)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=15)
        reader.join()
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    stats = [line for line in reader.lines if "stats webserver" in line]
    for line in stats:
        assert line.startswith("system      | "), line  # as wide as "webserver.1", like the printer's lines
        match = STATS_LINE.fullmatch(line.removeprefix("system      | "))
        assert match, line
        assert match.group(2) == "1"
    assert any(line.startswith("system      | webserver.1 started") for line in reader.lines)


def test_stats_are_off_by_default(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "job: sleep 1.2\n")
    result = subprocess.run(
        [sys.executable, "-m", "procdash", "start", "--headless", "--stats-interval", "0.2"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    assert "job.1 exited with code 0" in result.stdout
    assert " stats " not in result.stdout
