"""Screenshot of ``procdash serve`` in headless Chromium, running Procfile.sample: screenshots/browser.png.

Run from the repository root:  .venv/bin/python screenshots/browser.py
It needs Debian's chromium and chromium-driver (and the test extra, for Selenium). The formation is
real (pids, timings and CPU figures differ from run to run); regenerate whenever the UI changes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.serve import browser  # noqa: E402

OUT = Path(__file__).resolve().parent / "browser.png"
BASE_PORT = "47100"  # unusual, so the sample's web servers do not collide with anything local
WINDOW = (1400, 820)


def read_url(proc: subprocess.Popen[str], lines: list[str], timeout: float = 30) -> str:
    """The dashboard URL serve prints (its other lines are the formation's log)."""
    assert proc.stdout is not None
    found: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            match = re.search(r"dashboard at (http://\S+)", line)
            if match and not found:
                found.append(match.group(1))

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not found:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"procdash serve did not print its URL: {''.join(lines[-5:])}")
        time.sleep(0.05)
    return found[0]


def main() -> int:
    """Serve the sample, load it in Chromium, wait until every type shows, save the PNG."""
    reason = browser.missing()
    if reason is not None:
        print(f"screenshots/browser.py: {reason}", file=sys.stderr)
        return 2
    runtime = tempfile.mkdtemp(prefix="pd-shot-")
    os.chmod(runtime, 0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": runtime, "PORT": BASE_PORT}
    command = [sys.executable, "-m", "procdash", "serve", "--port", "0", "-f", "Procfile.sample"]
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        url = read_url(proc, lines)
        with browser.chromium(size=WINDOW) as driver:
            driver.get(url)
            browser.wait_screen(driver, lambda text: all(name in text for name in ("web.1", "worker.1", "release")))
            time.sleep(4)  # a few log lines and a CPU reading or two, as a person would see it
            driver.save_screenshot(str(OUT))
        print(OUT.name)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(runtime, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
