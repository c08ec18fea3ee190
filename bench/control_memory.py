"""What non-reading ``logs`` clients cost procdash's memory, and how long a whole ``logs -n 10000`` reply takes.

Runs the real procdash (headless) on a 16 MB scrollback (10,000 lines of 1,600 characters). For each
wave, 64 clients ask for all of it (half with follow) and read nothing; RSS is taken while they hang on
and again once they have closed. ``--against DIR`` runs another source tree's procdash the same way in
the same run, to compare a change with the code before it.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _util import median, megabytes, table

from procdash.control import protocol as p
from procdash.control.client import find_socket

PROCFILE = (
    "web: python3 -c \"import sys; [sys.stdout.write(f'{i:05d} ' + 'x' * 1594 + chr(10)) for i in range(10000)]\"; "
    "exec sleep 300\n"
)
CLIENTS = 64
WAVES = 2
READS = 5


def rss(pid: int) -> float:
    """Resident memory in bytes."""
    return float(psutil.Process(pid).memory_info().rss)


def wait(predicate: object, timeout: float, what: str) -> None:
    """Poll until ``predicate()`` holds, or give up loudly."""
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def read_whole(path: str) -> float:
    """Seconds to send ``logs -n 10000`` and read the reply to its end."""
    start = time.perf_counter()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(path)
        sock.sendall(p.encode(p.request("logs", 1, name="web.1", lines=10000)))
        data = bytearray()
        while not data.endswith(b"\n"):
            chunk = sock.recv(1 << 20)
            if not chunk:
                raise SystemExit("reply cut short")
            data += chunk
    return time.perf_counter() - start


def measure(source: Path | None) -> list[str]:
    """One row: baseline RSS, held and after per wave, whole-reply read time."""
    work = Path(tempfile.mkdtemp(prefix="pdbench-"))
    runtime = work / "run"
    runtime.mkdir(mode=0o700)
    (work / "Procfile").write_text(PROCFILE)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    if source is not None:
        env["PYTHONPATH"] = str(source)
    proc = subprocess.Popen(
        [sys.executable, "-m", "procdash", "start", "--headless"],
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait(lambda: any(runtime.rglob("*.sock")), 20, "the control socket")
        path = str(find_socket(work / "Procfile", env))
        wait(lambda: _log_seq(path) >= 10000, 60, "the scrollback to fill")
        times = [read_whole(path) for _ in range(READS)]
        baseline = rss(proc.pid)
        row = [str(source or "this tree"), megabytes(baseline)]
        for _wave in range(WAVES):
            clients = []
            for index in range(CLIENTS):
                sock = socket.socket(socket.AF_UNIX)
                sock.connect(path)
                sock.sendall(p.encode(p.request("logs", index, name="web.1", lines=10000, follow=index % 2 == 1)))
                clients.append(sock)
            wait(lambda: all(select.select([c], [], [], 0)[0] for c in clients), 60, "every reply to start")  # noqa: B023
            held = rss(proc.pid)
            for sock in clients:
                sock.close()
            time.sleep(2.0)  # a benchmark, not a test: give the loop time to notice every close
            row += [megabytes(held), megabytes(rss(proc.pid))]
        row.append(f"{median(times) * 1000:.0f} ms")
        return row
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)


def _log_seq(path: str) -> int:
    """web.1's next sequence number, from a status reply."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(path)
        sock.sendall(p.encode(p.request("status")))
        data = b""
        while not data.endswith(b"\n"):
            data += sock.recv(1 << 20)
    return int(json.loads(data)["instances"][0]["log_seq"])


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--against", type=Path, help="another source tree to measure in the same run")
    args = parser.parse_args()
    rows = [measure(None)]
    if args.against is not None:
        rows.append(measure(args.against.resolve()))
    headers = ["procdash", "baseline", *[f"{k} {w + 1}" for w in range(WAVES) for k in ("held", "after")], "reply"]
    title = f"RSS with {CLIENTS} non-reading `logs -n 10000` clients of a 16 MB scrollback; reply = median read"
    print(table(title, headers, rows))


if __name__ == "__main__":
    main()
