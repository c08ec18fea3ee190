"""Guarantee: a Procfile or .env that is a device, a FIFO or huge is one error line and exit 2, never a hang."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from procdash.core.files import MAX_FILE_BYTES
from tests.faults.support import procdash_argv, procdash_env

GOOD = "web: touch started-web; exec sleep 1000\n"


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """procdash to completion; the timeout is what turns a hang into a failure."""
    return subprocess.run(
        procdash_argv(*args),
        cwd=cwd,
        env=procdash_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )


def assert_refused(result: subprocess.CompletedProcess[str], names: str, cwd: Path) -> None:
    """One line naming the file, exit 2, no traceback, nothing started."""
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("procdash: error: ") and names in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not list(cwd.glob("started-*"))


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/full", "/dev/urandom"])
@pytest.mark.parametrize("flag", ["-f", "-e"])
def test_a_device_is_refused_without_reading_it(tmp_path: Path, device: str, flag: str) -> None:
    (tmp_path / "Procfile").write_text(GOOD)
    result = run(["check", flag, device], tmp_path)
    assert_refused(result, f"{device}: is not a regular file (a character device)", tmp_path)


@pytest.mark.parametrize("command", ["check", "start", "export"])
def test_a_fifo_without_a_writer_is_refused_at_once(tmp_path: Path, command: str) -> None:
    os.mkfifo(tmp_path / "Procfile")
    args = [command, "-f", "Procfile"] + (["compose", "out"] if command == "export" else [])
    assert_refused(run(args, tmp_path), "Procfile: is not a regular file (a FIFO)", tmp_path)


def test_an_env_fifo_and_a_symlink_to_a_device_are_refused(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_text(GOOD)
    os.mkfifo(tmp_path / ".env")  # the default .env, read without -e
    assert_refused(run(["start"], tmp_path), ".env: is not a regular file (a FIFO)", tmp_path)
    (tmp_path / ".env").unlink()
    (tmp_path / ".env").symlink_to("/dev/zero")
    assert_refused(run(["start"], tmp_path), ".env: is not a regular file (a character device)", tmp_path)


@pytest.mark.parametrize("name", ["Procfile", ".env"])
def test_a_file_over_the_cap_is_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / "Procfile").write_text(GOOD)
    with open(tmp_path / name, "a") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: costs no disk
    assert_refused(run(["start"], tmp_path), f"{name}: is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB", tmp_path)


def test_a_file_just_under_the_cap_is_read(tmp_path: Path) -> None:
    comment = b"#" + b"x" * 1000 + b"\n"
    body = comment * ((MAX_FILE_BYTES - 100) // len(comment))
    (tmp_path / "Procfile").write_bytes(body + GOOD.encode())
    result = run(["check"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Valid procfile detected (web)" in result.stderr


def test_procdash_run_refuses_a_special_env_file(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_text(GOOD)
    assert_refused(
        run(["run", "-e", "/dev/zero", "touch", "started-run"], tmp_path), "/dev/zero: is not a regular", tmp_path
    )


@pytest.mark.parametrize("name", ["Procfile.toml", ".foreman"])
def test_an_options_file_that_is_a_fifo_or_too_large_is_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / "Procfile").write_text(GOOD)
    os.mkfifo(tmp_path / name)
    assert_refused(run(["start"], tmp_path), f"{name}: is not a regular file (a FIFO)", tmp_path)
    (tmp_path / name).unlink()
    with open(tmp_path / name, "a") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    assert_refused(run(["start"], tmp_path), f"{name}: is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB", tmp_path)
