"""Idle scenarios of the dashboard benchmark: a terminal app on a real pty, its CPU over a window and its RSS.

The programs compared (procdash, an empty Textual app with a Footer, mprocs) each run the same 20
sleepers (procdash and mprocs) on a fresh 120x40 pty whose output a thread drains, as a terminal would.
Each run is measured twice: in its first half minute, while the dashboard's uptimes tick every second,
and after its first minute, when they read "1m" and nothing on screen changes between minutes.
"""

from __future__ import annotations

import contextlib
import os
import pty
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path
from typing import Any

from _procs import REPO, clean_env
from _util import cpu_seconds

IDLE_PROCESSES = 20
BIG_FORMATION = 200  # sleepers for the 200-row scenarios
IDLE_SECONDS = 20.0
IDLE_WARMUP = 5.0
LATE_AT = 65.0  # the second window starts here: past the first minute, uptimes no longer show seconds
SLEEP_ARG = "86398"  # the idle sleepers' argument: tells the formation from a runner's own helpers
MPROCS_SLEEP_ARG = "86396"  # mprocs's sleepers: the programs run side by side, and each cleans up its own
MPROCS_GLOB = "bench/results/npm/node_modules/mprocs/mprocs-*-linux-x86_64*/mprocs"


def rss_of(pid: int | str = "self") -> int:
    """A process's resident memory now, in bytes (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class PtyRun:
    """A command on a fresh 120x40 pty whose output is drained in a thread, like a terminal would."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        master, slave = pty.openpty()
        import fcntl

        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        env = clean_env()
        env["TERM"] = "xterm-256color"
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env, start_new_session=True
        )
        os.close(slave)
        self.master = master
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        """Read and discard everything the app draws."""
        while True:
            try:
                if not os.read(self.master, 65536):
                    return
            except OSError:
                return

    def stop(self, keys: bytes) -> None:
        """Type ``keys`` (quit), then make sure the process and its group are gone."""
        os.write(self.master, keys)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self.master)


def helpers_rss(pid: int, sleep_arg: str) -> int:
    """RSS of a runner's own helper processes (a guardian, say): its descendants that are not the sleepers."""
    import psutil

    total = 0
    try:
        for child in psutil.Process(pid).children(recursive=True):
            try:
                if child.cmdline()[-1:] != [sleep_arg]:
                    total += rss_of(child.pid)
            except psutil.Error:
                continue
    except psutil.Error:
        pass
    return total


def kill_sleepers(sleep_arg: str) -> None:
    """End any idle sleeper a runner left behind (mprocs killed by the backstop, say)."""
    import psutil

    for proc in psutil.process_iter(["cmdline"]):
        if proc.info["cmdline"] == ["sleep", sleep_arg]:
            with contextlib.suppress(psutil.Error):
                proc.kill()


def idle_run(
    argv: list[str], cwd: Path, quit_keys: bytes, seconds_: float, sleep_arg: str = SLEEP_ARG
) -> dict[str, Any]:
    """Percent of one core a terminal app uses over ``seconds_`` after a warm-up (``cpu``) and again after
    its first minute (``cpu_late``), and its RSS at the end."""
    run = PtyRun(argv, cwd)
    began = time.monotonic()

    def window(start: float) -> float:
        time.sleep(max(0.0, began + start - time.monotonic()))
        before = cpu_seconds(run.proc.pid)
        time.sleep(seconds_)
        return 100.0 * (cpu_seconds(run.proc.pid) - before) / seconds_

    try:
        early = window(IDLE_WARMUP)
        late = window(max(LATE_AT, IDLE_WARMUP + seconds_))
        rss, helpers = rss_of(run.proc.pid), helpers_rss(run.proc.pid, sleep_arg)
    finally:
        run.stop(quit_keys)
        kill_sleepers(sleep_arg)
    return {"cpu": early, "cpu_late": late, "rss": rss, "helpers": helpers}


def idle_dashboard(directory: Path, seconds_: float) -> dict[str, Any]:
    """The installed procdash command with 20 sleepers, metrics sampled every second.

    Twenty types of one process each, as most Procfiles are and as mprocs runs them: the row selected
    at start is then one instance.
    """
    types = "".join(f"sleeper{n}: exec sleep {SLEEP_ARG}\n" for n in range(1, IDLE_PROCESSES + 1))
    (directory / "Procfile").write_text(types)
    argv = [sys.executable, "-m", "procdash", "-t", "2", "--no-control"]
    return idle_run(argv, directory, b"q", seconds_)


def idle_big(directory: Path, seconds_: float) -> dict[str, Any]:
    """The installed procdash command with BIG_FORMATION sleepers, metrics sampled every second."""
    (directory / "Procfile").write_text(f"sleeper: exec sleep {SLEEP_ARG}\n")
    argv = [sys.executable, "-m", "procdash", "-m", f"sleeper={BIG_FORMATION}", "-t", "2", "--no-control"]
    return idle_run(argv, directory, b"q", seconds_)


EMPTY_APP = """\
from textual.app import App
from textual.widgets import Footer


class Empty(App[None]):
    def compose(self):
        yield Footer()


Empty().run()
"""


def idle_empty(directory: Path, seconds_: float) -> dict[str, Any]:
    """An empty Textual app with a Footer on the same kind of pty: the idle floor."""
    return idle_run([sys.executable, "-c", EMPTY_APP], directory, b"\x11", seconds_)


def mprocs_binary() -> str | None:
    """The mprocs to compare with: $MPROCS, the npm package under bench/results/npm, or one on PATH."""
    if os.environ.get("MPROCS"):
        return os.environ["MPROCS"]
    found = sorted(REPO.glob(MPROCS_GLOB))
    return str(found[-1]) if found else shutil.which("mprocs")


def idle_mprocs(directory: Path, seconds_: float) -> dict[str, Any]:
    """mprocs running the same 20 sleepers on the same kind of pty."""
    binary = mprocs_binary()
    if binary is None:
        return {}
    procs = "".join(
        f'  sleeper{n}:\n    shell: "exec sleep {MPROCS_SLEEP_ARG}"\n' for n in range(1, IDLE_PROCESSES + 1)
    )
    (directory / "mprocs.yaml").write_text("procs:\n" + procs)
    argv = [binary, "--config", str(directory / "mprocs.yaml")]
    return idle_run(argv, directory, b"q", seconds_, MPROCS_SLEEP_ARG)
