"""Headless mode end to end through the real ``procdash`` command."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.helpers import wait_until_sync, write

PROCDASH = [sys.executable, "-m", "procdash"]


def procdash(
    *args: str, cwd: Path, timeout: float = 30, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run procdash to completion with stdout captured (so it is headless)."""
    return subprocess.run(
        [*PROCDASH, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def test_one_shot_formation_prints_prefixed_lines_and_exits_zero(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "release: echo migrated; echo $PORT $PS\nseed: printf 'a\\nb\\n'\n")
    write(tmp_path / ".env", "GREETING=hi\n")
    result = procdash("--no-timestamp", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "release.1 | migrated" in lines
    assert "release.1 | 5000 release.1" in lines
    assert lines.index("seed.1    | a") < lines.index("seed.1    | b")
    assert any(re.fullmatch(r"system    \| release\.1 started \(pid \d+, port 5000\)", line) for line in lines)
    assert "system    | release.1 exited with code 0" in lines
    assert "\x1b" not in result.stdout


def test_timestamps_and_no_prefix(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "job: echo hello\n")
    stamped = procdash(cwd=tmp_path).stdout.splitlines()
    assert any(re.fullmatch(r"\d\d:\d\d:\d\d job\.1  \| hello", line) for line in stamped)
    bare = procdash("--no-prefix", cwd=tmp_path).stdout.splitlines()
    assert "hello" in bare


def test_first_failure_code_is_the_exit_status(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "ok: true\nbad: exit 7\n")
    result = procdash("--no-pty", cwd=tmp_path)
    assert result.returncode == 7
    assert "bad.1 exited with code 7" in result.stdout


def test_exit_on_failure_stops_the_rest(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: sleep 30\nbad: sleep 0.2; exit 5\n")
    result = procdash("--exit-on-failure", "-t", "2", cwd=tmp_path)
    assert result.returncode == 5
    assert re.search(r"web.1 stopped after \d+\.\ds \(SIGTERM\)", result.stdout)


def test_forced_colour_prefixes_and_resets_child_colour(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: printf '\\033[31mred\\n'\nworker: printf 'plain\\n'\n")
    result = procdash("--color", "--no-timestamp", cwd=tmp_path)
    assert "\x1b[36mweb.1    | \x1b[0m\x1b[31mred\x1b[0m\n" in result.stdout
    assert "\x1b[33mworker.1 | \x1b[0mplain\n" in result.stdout


def test_only_named_types_start(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "a: echo A\nb: echo B\n")
    result = procdash("b", "--no-timestamp", cwd=tmp_path)
    assert "b.1    | B" in result.stdout and "a.1" not in result.stdout


def test_formation_counts_and_ports(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "a: echo $PS=$PORT\nb: echo $PS=$PORT\n")
    result = procdash("-m", "a=2,b=1", "-p", "3000", "--no-prefix", cwd=tmp_path)
    assert {"a.1=3000", "a.2=3001", "b.1=3100"} <= set(result.stdout.splitlines())


def test_nothing_to_run_exits_zero(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "a: echo A\n")
    result = procdash("-m", "all=0", cwd=tmp_path)
    assert result.returncode == 0 and "nothing to run" in result.stdout


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signals_stop_everything_gracefully(tmp_path: Path, sig: signal.Signals) -> None:
    write(tmp_path / "Procfile", "web: echo up; sleep 30\nworker: echo up; sleep 30\n")
    proc = subprocess.Popen(
        [*PROCDASH, "--no-timestamp"], cwd=tmp_path, stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL
    )
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if sum("| up" in x for x in seen) == 2:
                break
        children = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=10)
        assert proc.returncode == 128 + sig
        assert f"{sig.name} received: stopping all processes" in out
        assert re.search(r"web.1 stopped after \d+\.\ds \(SIGTERM\)", out)
        wait_until_sync(lambda: not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children), 3)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_second_interrupt_kills_at_once(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "stubborn: trap '' TERM INT; echo up; while :; do sleep 0.05; done\n")
    proc = subprocess.Popen(
        [*PROCDASH, "-t", "30"], cwd=tmp_path, stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "| up" in line:
                break
        proc.send_signal(signal.SIGINT)
        for line in proc.stdout:
            if "SIGINT received" in line:
                break
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
        assert "killing all processes" in out and "SIGKILL" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def describe(pids: list[int]) -> str:
    """Each pid with its state and command line, for a failure message."""
    parts = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            parts.append(f"{pid} {proc.status()} ppid={proc.ppid()} {' '.join(proc.cmdline())[:60]}")
        except psutil.NoSuchProcess:
            parts.append(f"{pid} gone")
    return "; ".join(parts)


@pytest.mark.parametrize("mode", ["pty", "pipe"])
def test_sigkill_of_procdash_leaves_no_survivors(tmp_path: Path, mode: str) -> None:
    pids = tmp_path / "pids"
    write(
        tmp_path / "Procfile",
        f"web: echo $$ >> {pids}; sleep 30 & echo $! >> {pids}; wait\n"
        f"hup: trap '' HUP; echo $$ >> {pids}; while :; do sleep 0.05; done\n",
    )
    args = ["-t", "1"] + (["--no-pty"] if mode == "pipe" else [])
    proc = subprocess.Popen(
        [*PROCDASH, *args], cwd=tmp_path, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait_until_sync(lambda: pids.exists() and len(pids.read_text().split()) == 3, 10)
        recorded = [int(p) for p in pids.read_text().split()]
        proc.kill()
        proc.wait(5)

        def gone() -> bool:
            for pid in recorded:
                try:
                    if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                        return False
                except psutil.NoSuchProcess:
                    pass
            return True

        try:
            # The guardian kills at the 1 s timeout; the rest of the bound is slack for a loaded machine.
            wait_until_sync(gone, 8)
        except AssertionError:
            raise AssertionError(f"survivors: {describe(recorded)}") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_headless_does_not_import_textual_or_rich(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "a: true\n")
    code = (
        "import sys, runpy; sys.argv=['procdash','--no-prefix'];\n"
        "from procdash import cli\n"
        "import procdash.core.supervisor\n"
        "rc = cli.main(['start', '--headless'])\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')]\n"
        "print('LOADED', bad); sys.exit(rc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout


def test_core_never_imports_textual_or_rich() -> None:
    import pkgutil

    import procdash.core

    modules = [f"procdash.core.{m.name}" for m in pkgutil.iter_modules(procdash.core.__path__)]
    code = (
        f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
        "print([m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert len(modules) >= 10
