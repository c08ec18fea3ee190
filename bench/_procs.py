"""Process plumbing for the benchmarks: run a command into a file, relay raw output, wait, stop, reap."""

from __future__ import annotations

import os
import pty
import select
import selectors
import shlex
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
PYCACHE = REPO / "bench" / "results" / "pycache"  # ignored by git
RUN_LIMIT = 180.0  # no single run may take longer than this


def clean_env(source: Path = REPO) -> dict[str, str]:
    """The environment for the runners: the procdash in ``source`` importable first, no forced colour.

    Bytecode is cached (under bench/results/, out of the source tree) even where the caller's
    environment forbids it: an installed procdash starts from .pyc files, so that is what to measure.
    """
    skip = ("FORCE_COLOR", "NO_COLOR", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in skip}
    env["PYTHONPATH"] = str(source) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def wait_exit(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait until a process exits (True) or the timeout passes (False), waking the moment it exits.

    Popen.wait(timeout=...) polls with sleeps that grow to 50 ms, which would round every measured
    duration up to the next step; a pidfd in select() wakes exactly when the process ends.
    """
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # no pidfds here, or already reaped
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    try:
        ready, _, _ = select.select([pidfd], [], [], timeout)
    finally:
        os.close(pidfd)
    if ready:
        proc.wait()
    return bool(ready)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """End a runner that overran: SIGTERM, then SIGKILL, always reaped."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        if not wait_exit(proc, 10):
            proc.kill()
            proc.wait()


def run_to_file(cmd: list[str], out: Path, cwd: Path, *, must_succeed: bool, source: Path = REPO) -> float:
    """Run a command with stdout going to ``out``; return its wall time from spawn to exit."""
    with out.open("wb") as sink, (cwd / "stderr.txt").open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=sink, stderr=err, cwd=cwd, env=clean_env(source))
        if not wait_exit(proc, RUN_LIMIT):
            stop_process(proc)
            raise RuntimeError(f"{cmd[0]} did not finish within {RUN_LIMIT:g}s")
        elapsed = time.perf_counter() - start
    if must_succeed and proc.returncode != 0:
        detail = (cwd / "stderr.txt").read_text(errors="replace")[-500:]
        raise RuntimeError(f"{shlex.join(cmd)} exited {proc.returncode}: {detail}")
    return elapsed


def relay(commands: Sequence[str], out: Path, *, use_pty: bool) -> float:
    """The floor: run the writers on ptys (or pipes) and copy raw bytes to one file per writer, nothing else."""
    start = time.perf_counter()
    selector = selectors.DefaultSelector()
    procs = []
    sinks = []
    for index, command in enumerate(commands):
        if use_pty:
            read_fd, write_fd = pty.openpty()
        else:
            read_fd, write_fd = os.pipe()
        procs.append(subprocess.Popen(["/bin/sh", "-c", command], stdin=subprocess.DEVNULL, stdout=write_fd))
        os.close(write_fd)
        sinks.append(open(f"{out}.{index}", "wb"))  # noqa: SIM115 - closed below, after the loop
        selector.register(read_fd, selectors.EVENT_READ, sinks[-1])
    deadline = time.monotonic() + RUN_LIMIT
    while selector.get_map() and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=1.0):
            try:
                data = os.read(key.fd, 65536)
            except OSError:  # EIO: the pty's writer is gone
                data = b""
            if data:
                key.data.write(data)
            else:
                selector.unregister(key.fd)
                os.close(key.fd)
    for key in list(selector.get_map().values()):  # only left when the deadline passed
        os.close(key.fd)
    selector.close()
    for sink in sinks:
        sink.close()
    for proc in procs:
        if time.monotonic() >= deadline:
            stop_process(proc)
        proc.wait()
    return time.perf_counter() - start


def read_until_ready(proc: subprocess.Popen[bytes], count: int, limit: float) -> None:
    """Read a runner's stdout until ``count`` ready lines went by; fail after ``limit`` seconds."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    seen = b""
    deadline = time.monotonic() + limit
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while seen.count(b"| ready") < count:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"only {seen.count(b'| ready')} of {count} processes became ready")
            if selector.select(timeout=0.5):
                seen += os.read(fd, 65536)


def terminate(proc: subprocess.Popen[bytes]) -> float:
    """SIGTERM a runner and return the seconds until it exited (SIGKILL after 30 s)."""
    start = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    if not wait_exit(proc, 30):
        proc.kill()
        proc.wait()
    elapsed = time.perf_counter() - start
    if proc.stdout is not None:
        proc.stdout.close()
    return elapsed


def timed_run(cmd: list[str], source: Path = REPO) -> float:
    """Seconds a short command takes from spawn to exit."""
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, env=clean_env(source), check=True)
    return time.perf_counter() - start


def helpers_of(pid: int) -> list[psutil.Process]:
    """A runner's own helper processes: honcho's forks of itself, procdash's guardian; no formation shells."""
    me = psutil.Process(pid)
    name = me.name()
    found = []
    for child in me.children(recursive=True):
        try:
            if child.name() == name or any(word.endswith(("guardian.sh", "watchdog.py")) for word in child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def sleepers_left(argument: str) -> list[psutil.Process]:
    """Sleepers (``sleep ARGUMENT``) still alive: there should be none after a runner stopped."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if proc.info["cmdline"] == ["sleep", argument]:
            found.append(proc)
    return found
