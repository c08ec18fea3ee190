"""Stopping headless procdash by signal: the app gets one SIGTERM, drains, and the system lines say so."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.helpers import write
from tests.test_headless import PROCDASH

APP = """
import signal, sys, time
def on_signal(signum, frame):
    print("got", signal.Signals(signum).name, flush=True)
    if signum == signal.SIGTERM:
        time.sleep(1.5)
        print("drained", flush=True)
        sys.exit(0)
for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    signal.signal(signum, on_signal)
print("up", flush=True)
while True:
    time.sleep(1)
"""


@pytest.mark.parametrize(
    ("sig", "mode"),
    [
        (signal.SIGTERM, "--pty"),
        (signal.SIGINT, "--pty"),
        (signal.SIGHUP, "--pty"),
        (signal.SIGTERM, "--no-pty"),
    ],
)
def test_a_signal_to_procdash_lets_the_app_drain(tmp_path: Path, sig: signal.Signals, mode: str) -> None:
    write(tmp_path / "app.py", APP)
    write(tmp_path / "Procfile", "app: cd . && python3 app.py\n")
    args = [*PROCDASH, "--no-timestamp", "-t", "4"] + (["--no-pty"] if mode == "--no-pty" else [])
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if line.endswith("| up\n"):
                break
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = "".join(seen) + out
    assert re.search(r"app\.1 started \(pid (\d+)", out)
    assert "system | app.1 stopping (SIGTERM, kill in 4s)\n" in out
    assert out.count("| got ") == 1 and "app.1  | got SIGTERM\n" in out, out
    assert "app.1  | drained\n" in out
    assert re.search(r"system \| app\.1 stopped after 1\.[5-9]s\n", out), out
    assert proc.returncode == 128 + sig
