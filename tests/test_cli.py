"""The command line: check, run, --version, and one-line errors with exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import write

PROCDASH = [sys.executable, "-m", "procdash"]


def procdash(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run procdash headless to completion."""
    return subprocess.run(
        [*PROCDASH, *args], cwd=cwd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
    )


def test_version() -> None:
    result = subprocess.run([*PROCDASH, "--version"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and result.stdout.startswith("procdash ")


def test_check_lists_types_counts_and_ports(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: serve\nworker: work\nclock: tick\n")
    write(tmp_path / ".env", "PORT=8000\n")
    result = procdash("check", "-c", "web=2,clock=0", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "  web     x2  port 8000-8001    serve" in result.stdout
    assert "  worker  x1  port 8100         work" in result.stdout
    assert "  clock   x0  port -            tick" in result.stdout
    assert result.stdout.rstrip().endswith("(1 variables)")
    assert result.stderr == "Valid procfile detected (web, worker, clock)\n"


def test_run_passes_exit_code_and_loads_env(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: echo web-command $GREETING\n")
    write(tmp_path / ".env", "GREETING=hello\n")
    result = procdash("run", "sh", "-c", 'echo "$GREETING"; exit 9', cwd=tmp_path)
    assert (result.returncode, result.stdout) == (9, "hello\n")
    shell = procdash("run", "echo $GREETING-x", cwd=tmp_path)
    assert shell.stdout == "hello-x\n"
    by_type = procdash("run", "web", cwd=tmp_path)
    assert by_type.stdout == "web-command hello\n"
    missing = procdash("run", "no-such-command-procdash", cwd=tmp_path)
    assert missing.returncode == 127 and "command not found" in missing.stderr


@pytest.mark.parametrize(
    ("files", "args", "message"),
    [
        ({}, [], "Procfile: no such file"),
        ({"Procfile": "web python\n"}, [], "Procfile:1: cannot parse 'web python'"),
        ({"Procfile": "web: a\nweb: b\n"}, [], "Procfile:2: duplicate process type 'web'"),
        ({"Procfile": "web: a\n"}, ["-m", "db=1"], "-m: unknown process type 'db'"),
        ({"Procfile": "web: a\n"}, ["-m", "web=two"], "-m web: count must be a whole number"),
        ({"Procfile": "web: a\n"}, ["-p", "http"], "-p: port must be a number"),
        ({"Procfile": "web: a\n"}, ["-p", "65535", "-m", "web=2"], "past 65535"),
        ({"Procfile": "web: a\n"}, ["-t", "soon"], "argument -t/--timeout: expected seconds"),
        ({"Procfile": "web: a\n"}, ["-e", "missing.env"], "missing.env: no such env file"),
        ({"Procfile": "web: a\n", ".env": "PORT=abc\n"}, [], "PORT in .env: port must be a number"),
        ({"Procfile": "web: a\n"}, ["nope"], "unknown process type 'nope'"),
        ({"Procfile": "web: a\n"}, ["--restart", "sometimes"], "argument --restart: invalid choice"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_starts_nothing(
    tmp_path: Path, files: dict[str, str], args: list[str], message: str
) -> None:
    marker = tmp_path / "started"
    for name, text in files.items():
        write(tmp_path / name, text.replace("web: a", f"web: touch {marker}"))
    result = procdash(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("procdash: error: ") and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not marker.exists()


def test_root_flag_sets_working_directory_and_default_procfile(tmp_path: Path) -> None:
    app = tmp_path / "app"
    write(app / "Procfile", "where: pwd\n")
    result = procdash("-d", str(app), "--no-prefix", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert os.path.realpath(str(app)) in [os.path.realpath(x) for x in result.stdout.splitlines()]


def test_check_prints_each_types_options_and_the_start_order(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: serve $PORT\nworker: work\ndb: postgres\nmigrate: migrate\n")
    write(
        tmp_path / "Procfile.toml",
        'timeout = 8\n[web]\nready = { http = "/healthz" }\ndepends_on = { db = "ready", migrate = "completed" }\n'
        'stop_signal = "INT"\n[worker]\ndepends_on = ["web"]\nautostart = false\n[migrate]\ndepends_on = ["db"]\n',
    )
    result = procdash("check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"options: {tmp_path}/Procfile.toml" in lines
    assert "  timeout = 8" in lines
    assert (
        "  web      stop with INT; depends on db (ready), migrate (completed); "
        "ready when http /healthz (every 1s, timeout 1s, unready after 3 failures)"
    ) in lines
    assert "  worker   autostart off (start with s or procdash ctl start); depends on web (ready)" in lines
    assert "start order: db -> migrate -> web -> worker (stop in reverse)" in lines


def test_options_flag_names_another_file_and_the_command_line_wins(tmp_path: Path) -> None:
    import argparse

    from procdash.cli import apply_settings, project_from

    write(tmp_path / "Procfile", "web: serve\n")
    write(tmp_path / "dev.toml", 'timeout = 2\nrestart = "always"\nno-pty = true\n[web]\ncount = 3\n')
    result = procdash("check", "--options", "dev.toml", cwd=tmp_path)
    assert result.returncode == 0 and "  web  x3" in result.stdout, result.stderr
    args = argparse.Namespace(
        procfile=str(tmp_path / "Procfile"), root=None, env=None, formation=None, concurrency=None, port=None,
        options=str(tmp_path / "dev.toml"), timeout=None, restart="no", no_pty=False, exit_on_failure=False,
        scrollback=None, stats_interval=None,
    )  # fmt: skip
    apply_settings(args, project_from(args))
    assert (args.timeout, args.restart, args.no_pty, args.scrollback) == (2.0, "no", True, 10_000)


def test_run_a_type_uses_its_procfile_toml_env_and_cwd(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    write(tmp_path / "Procfile", 'task: echo "$GREETING from $(basename "$PWD")"\n')
    write(tmp_path / "Procfile.toml", '[task]\nenv = { GREETING = "hi" }\ncwd = "sub"\n')
    result = procdash("run", "task", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "hi from sub\n"), result.stderr


def test_headless_with_only_autostart_false_types_says_so_and_exits(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "tool: touch started\n")
    write(tmp_path / "Procfile.toml", "[tool]\nautostart = false\n")
    result = procdash("start", "--no-control", "--no-timestamp", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout == "system | nothing started: every process type has a count of 0, autostart = false or waits\n"
    )
    assert not (tmp_path / "started").exists()
