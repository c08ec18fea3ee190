"""Keystroke-to-echo latency: a bare pty relay, ``procdash connect`` and dashboard input mode, under load.

Run from the repository root with the project's venv:  .venv/bin/python bench/interact.py [--keys N]
One process, ``work.1``, runs ``cat`` on its pty: a typed byte comes straight back as the line
discipline's echo. Four more, ``work.2``-``work.5``, each print 12,500 lines a second (50k lines/s in
all) the whole time. Measured in the same run, each path types N single letters 5-15 ms apart and
times each until its echo is back:

- bare relay (the baseline): this process holds the five ptys itself, drains them all in one select loop,
  writes the letter to cat's master and waits for it to be read back;
- connect: a headless procdash runs the formation (its stdout to /dev/null); the letter goes in an input
  frame over the control socket and comes back in an output frame, as ``procdash connect`` sees it;
- input mode: the real dashboard (Textual's headless driver) over its own supervisor, in input mode on
  work.1, once with the other four panes beside it and once in focus view (work.1 alone on screen, the
  others still read); the letter is a Key event, and the time is until the pane's provisional row shows
  it (the widget the next repaint draws).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import select
import socket
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _procs import clean_env
from _util import median, ratio, table

from procdash.control import frames as fr
from procdash.control import protocol as p

WORKER = """\
import os, sys, time
if os.environ.get("PS") == "work.1":
    os.execvp("cat", ["cat"])
line = ("x" * 60 + "\\n").encode()
batch = line * 125  # 125 lines every 10 ms: 12,500 lines a second
out = sys.stdout.buffer
next_at = time.monotonic()
while True:
    out.write(batch)
    out.flush()
    next_at += 0.01
    delay = next_at - time.monotonic()
    if delay > 0:
        time.sleep(delay)
"""
FLOODERS = 4
TIMEOUT = 5.0


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def letters(count: int) -> list[bytes]:
    """Letters to type, cycling through the alphabet."""
    return [string.ascii_lowercase[i % 26].encode() for i in range(count)]


def bare_relay(worker: Path, keys: int) -> list[float]:
    """The baseline: five ptys drained by one select loop, typing into cat's."""
    env = {**os.environ, "PS": "work.1"}
    procs: list[subprocess.Popen[bytes]] = []
    masters: list[int] = []
    for number in range(1, FLOODERS + 2):
        master, slave = os.openpty()
        env = {**os.environ, "PS": f"work.{number}"}
        procs.append(
            subprocess.Popen(
                [sys.executable, str(worker)], stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
            )
        )
        os.close(slave)
        os.set_blocking(master, False)
        masters.append(master)
    echo = masters[0]
    samples: list[float] = []
    try:
        time.sleep(1.0)
        for letter in letters(keys):
            time.sleep(random.uniform(0.005, 0.015))
            drain(masters, until=None, deadline=time.monotonic())
            start = time.perf_counter()
            os.write(echo, letter)
            if drain(masters, until=(echo, letter), deadline=time.monotonic() + TIMEOUT):
                samples.append(time.perf_counter() - start)
            if len(samples) % 100 == 99:
                os.write(echo, b"\r")
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        for master in masters:
            os.close(master)
    return samples


def drain(fds: list[int], until: tuple[int, bytes] | None, deadline: float) -> bool:
    """Read every fd until ``until``'s bytes arrive on its fd (True) or the deadline passes."""
    while True:
        timeout = max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select(fds, [], [], timeout if until is not None else 0)
        if not ready:
            return False
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                continue
            if until is not None and fd == until[0] and until[1] in data:
                return True


def through_connect(root: Path, keys: int) -> list[float]:
    """A headless procdash; the letters go through the control socket as ``procdash connect`` sends them."""
    env = clean_env()
    env["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="pdbench-")
    os.chmod(env["XDG_RUNTIME_DIR"], 0o700)
    proc = subprocess.Popen(
        [sys.executable, "-m", "procdash", "start", "--headless", "-m", f"work={FLOODERS + 1}", "-t", "2"],
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    samples: list[float] = []
    try:
        path = _socket_for(root, env)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(str(path))
        sock.sendall(p.encode(p.request("connect", 1, name="work.1", columns=80, rows=24)))
        buffer = b""
        while b"\n" not in buffer:
            buffer += sock.recv(65536)
        reply, rest = buffer.split(b"\n", 1)
        assert json.loads(reply)["ok"], reply
        reader = fr.FrameReader()
        reader.feed(rest)
        time.sleep(1.0)
        for letter in letters(keys):
            time.sleep(random.uniform(0.005, 0.015))
            start = time.perf_counter()
            sock.sendall(fr.frame(fr.INPUT, letter))
            deadline = time.monotonic() + TIMEOUT
            seen = False
            while not seen and time.monotonic() < deadline:
                if not select.select([sock], [], [], TIMEOUT)[0]:
                    break
                for kind, payload in reader.feed(sock.recv(65536)):
                    if kind == fr.OUTPUT and letter in payload:
                        seen = True
            if seen:
                samples.append(time.perf_counter() - start)
            if len(samples) % 100 == 99:
                sock.sendall(fr.frame(fr.INPUT, b"\r"))
        sock.close()
    finally:
        proc.terminate()
        proc.wait(15)
    return samples


def _socket_for(root: Path, env: dict[str, str]) -> Path:
    """Wait for the headless procdash's control socket."""
    from procdash.control.client import ControlClient, find_socket

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            path = find_socket(root / "Procfile", env)
            with ControlClient(path, timeout=2) as client:
                client.call("info")
            return path
        except Exception:
            time.sleep(0.1)
    raise RuntimeError("procdash did not start listening")


async def in_dashboard(root: Path, keys: int, *, focus: bool) -> list[float]:
    """The real dashboard in input mode on work.1: the four flooding panes beside it, or in focus view."""
    from textual import events

    from procdash.core.project import load_project
    from procdash.core.supervisor import Supervisor, SupervisorOptions
    from procdash.ui.app import ProcdashApp
    from procdash.view.local import LocalFormation

    project = load_project(
        procfile=str(root / "Procfile"), root=None, env=None, formation=f"work={FLOODERS + 1}", port=None
    )
    supervisor = Supervisor.from_project(project, SupervisorOptions(timeout=2))
    app = ProcdashApp(LocalFormation(supervisor, project), argparse.Namespace(stats_interval=1.0))
    samples: list[float] = []
    async with app.run_test(size=(160, 50)) as pilot:
        deadline = time.monotonic() + 10
        while "work.1" not in app.panes and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        app.table.select_key("i:work.1")
        await pilot.press(*(["enter", "i"] if focus else ["i"]))
        assert app.input_target == "work.1" and len(app.visible_panes()) == (1 if focus else FLOODERS + 1)
        row = app.panes["work.1"].partial_row
        typed = ""
        for letter in letters(keys):
            await asyncio.sleep(random.uniform(0.005, 0.015))
            char = letter.decode()
            start = time.perf_counter()
            app.post_message(events.Key(char, char))
            expected = typed + char
            limit = time.monotonic() + TIMEOUT
            while not (row.rows and row.rows[-1] == expected) and time.monotonic() < limit:
                await asyncio.sleep(0.0005)
            if row.rows and row.rows[-1] == expected:
                samples.append(time.perf_counter() - start)
            typed = expected
            if len(typed) >= 100:
                app.post_message(events.Key("enter", "\r"))
                typed = ""
                await asyncio.sleep(0.1)
        await pilot.press("ctrl+right_square_bracket")
        await supervisor.stop_all()
        app.exit(0)
    return samples


def main() -> None:
    """Run the three paths under the same load and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=300, help="keystrokes per path (default 300)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pdbench-interact-") as tmp:
        root = Path(tmp)
        worker = root / "worker.py"
        worker.write_text(WORKER)
        (root / "Procfile").write_text(f"work: {sys.executable} {worker}\n")
        results = {
            "bare pty relay (baseline)": bare_relay(worker, args.keys),
            "procdash connect (socket)": through_connect(root, args.keys),
            "dashboard input mode, 5 panes shown": asyncio.run(in_dashboard(root, args.keys, focus=False)),
            "dashboard input mode, focus view": asyncio.run(in_dashboard(root, args.keys, focus=True)),
        }
    base = median(results["bare pty relay (baseline)"])
    rows = []
    for name, samples in results.items():
        if not samples:
            rows.append([name, 0, "-", "-", "-", "-"])
            continue
        p50, p99 = median(samples), percentile(samples, 99)
        rows.append(
            [
                name,
                len(samples),
                f"{p50 * 1e3:.2f} ms",
                f"{p99 * 1e3:.2f} ms",
                f"{max(samples) * 1e3:.1f} ms",
                ratio(p50, base),
            ]
        )
    print(
        table(
            f"Keystroke to echo, {args.keys} keys each, while 4 other processes print 50k lines/s",
            ["path", "echoes", "p50", "p99", "max", "p50 vs bare"],
            rows,
        )
    )
    print("targets: p99 under 10 ms through connect, under 30 ms in the dashboard")


if __name__ == "__main__":
    main()
