"""Guarantee: the control socket is where every client looks, nobody else can keep procdash from running."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from procdash.control.paths import MAX_SOCKET_PATH
from tests.control.support import PROCDASH, ctl, running


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """An environment with its own runtime dir, home and TMPDIR, so no real home or /tmp is touched."""
    base = Path(tempfile.mkdtemp(prefix="pdloc-"))
    for name in ("run", "home", "tmp"):
        (base / name).mkdir(mode=0o700)
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "PORT", "XDG_STATE_HOME")}
    environ.update(XDG_RUNTIME_DIR=str(base / "run"), HOME=str(base / "home"), TMPDIR=str(base / "tmp"))
    try:
        yield environ
    finally:
        shutil.rmtree(base, ignore_errors=True)


def start(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A procdash start that must end by itself (its one process exits at once)."""
    (tmp_path / "Procfile").write_text("web: echo web ran\n")
    return subprocess.run(
        [*PROCDASH, "start", "--headless", "--no-timestamp"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )


def test_a_socket_path_past_107_bytes_still_gives_control(tmp_path: Path, env: dict[str, str]) -> None:
    deep = Path(env["XDG_RUNTIME_DIR"]) / ("r" * 60) / ("u" * 60)
    deep.mkdir(parents=True, mode=0o700)
    env = {**env, "XDG_RUNTIME_DIR": str(deep)}
    with running(tmp_path, env) as formation:
        assert formation.socket.parent == deep / "procdash"
        assert len(os.fsencode(formation.socket)) > MAX_SOCKET_PATH
        result = ctl("status", cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        assert "web.1" in result.stdout and "running" in result.stdout


def test_a_fallback_socket_is_found_and_a_second_formation_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    # The preferred directory cannot be used at start (here: a file stands where it would be).
    blocker = Path(env["XDG_RUNTIME_DIR"]) / "procdash"
    blocker.write_text("")
    with running(tmp_path, env) as formation:
        assert formation.socket.parent == Path(env["HOME"]) / ".local" / "state" / "procdash"
        blocker.unlink()  # ... and later could be: clients and a second procdash must still see the first
        status = ctl("status", cwd=tmp_path, env=env)
        assert status.returncode == 0 and f"(pid {formation.proc.pid})" in status.stdout, status
        second = subprocess.run(
            [*PROCDASH, "start", "--headless"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30
        )
        assert second.returncode == 2
        assert second.stderr.startswith("procdash: error: procdash is already running for ")
        assert f"(pid {formation.proc.pid})" in second.stderr
        assert not blocker.exists(), "the second procdash claimed nothing"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can create a directory owned by another user")
def test_another_users_tmp_directory_cannot_stop_procdash(tmp_path: Path, env: dict[str, str]) -> None:
    env = {k: v for k, v in env.items() if k != "XDG_RUNTIME_DIR"}
    theirs = Path(env["TMPDIR"]) / f"procdash-{os.geteuid()}"
    theirs.mkdir(mode=0o777)
    os.chown(theirs, 4242, 4242)
    with running(tmp_path, env) as formation:
        assert formation.socket.parent == Path(env["HOME"]) / ".local" / "state" / "procdash"
        assert ctl("status", cwd=tmp_path, env=env).returncode == 0
    assert list(theirs.iterdir()) == []


def test_without_any_usable_directory_the_formation_runs_with_one_warning(tmp_path: Path, env: dict[str, str]) -> None:
    # Every candidate is unusable: a file where the runtime subdir goes, a state dir under a file, a TMPDIR
    # whose procdash directory belongs to someone else (or, without root, is a symlink).
    (Path(env["XDG_RUNTIME_DIR"]) / "procdash").write_text("")
    (tmp_path / "afile").write_text("")
    env = {**env, "XDG_STATE_HOME": str(tmp_path / "afile" / "state")}
    theirs = Path(env["TMPDIR"]) / f"procdash-{os.geteuid()}"
    theirs.symlink_to(tmp_path)
    result = start(tmp_path, env)
    assert result.returncode == 0, result.stderr
    assert "web.1  | web ran" in result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("procdash: warning: no control socket (procdash ctl cannot reach this formation): ")
    assert str(Path(env["XDG_RUNTIME_DIR"]) / "procdash") in lines[0]
