"""What Foreman and honcho users type works: each case runs the installed ``procdash`` command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import write

PROCDASH = Path(sys.executable).with_name("procdash")


def procdash(
    *args: str, cwd: Path, env: dict[str, str] | None = None, merge_stderr: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the installed procdash to completion with stdout piped (so headless), as a script would."""
    assert PROCDASH.exists(), f"{PROCDASH} is not installed: pip install -e ."
    environ = {key: value for key, value in os.environ.items() if key not in ("PROCFILE", "PORT", "FORCE_COLOR")}
    return subprocess.run(
        [str(PROCDASH), *args],
        cwd=cwd,
        env={**environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        text=True,
        timeout=30,
    )


def one_error_line(result: subprocess.CompletedProcess[str], message: str) -> None:
    """Bad input: exit 2, nothing on stdout, one ``procdash: error:`` line containing ``message``."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("procdash: error: ") and message in lines[0], result.stderr


# 1. The common options before the subcommand (honcho: ``honcho -e .env.one,.env.two run ...``).


def test_env_option_before_run(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: true\n")
    write(tmp_path / ".env.x", "A=giraffe\n")
    result = procdash("-e", ".env.x", "run", "printenv", "A", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, "giraffe\n", "")


def test_root_and_procfile_options_before_start_and_check(tmp_path: Path) -> None:
    app = tmp_path / "app"
    write(app / "Procfile.dev", "dev: pwd\n")
    started = procdash(
        "-d", str(app), "-f", str(app / "Procfile.dev"), "--no-colour", "start", "--no-prefix", cwd=tmp_path
    )
    assert started.returncode == 0, started.stderr
    assert os.path.realpath(app) in [os.path.realpath(line) for line in started.stdout.splitlines()]
    checked = procdash("--procfile=app/Procfile.dev", "-mdev=2", "check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "  dev  x2  port 5000-5001" in checked.stdout


def test_options_on_both_sides_of_the_subcommand(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: echo web\nworker: echo worker\n")
    write(tmp_path / "one.env", "A=1\n")
    write(tmp_path / "two.env", "A=2\nB=b\n")
    result = procdash("-e", "one.env,two.env", "run", "-p", "7000", "sh", "-c", 'echo "$A$B $PORT"', cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "2b 7000\n"), result.stderr


def test_leading_options_reach_export_and_ctl(tmp_path: Path) -> None:
    write(tmp_path / "Procfile.dev", "web: serve\nworker: work\n")
    exported = procdash("-f", "Procfile.dev", "--no-colour", "-c", "web=3", "export", "compose", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.count("replicas: 3") == 1 and exported.stdout.count("replicas: 1") == 1
    asked = procdash("-f", "Procfile.dev", "ctl", "status", cwd=tmp_path)
    missing = f"procdash: ctl: nothing is running for {tmp_path / 'Procfile.dev'}\n"
    assert (asked.returncode, asked.stderr) == (1, missing)


def test_an_unknown_leading_option_is_still_an_error(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: true\n")
    one_error_line(procdash("--no-such-option", "check", cwd=tmp_path), "--no-such-option")


# 2. PROCFILE from .env or the environment (honcho), after -f.


def test_procfile_named_in_dotenv(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: echo from-the-default-procfile\n")
    write(tmp_path / "Procfile.dev", "dev: echo dev\n")
    write(tmp_path / ".env", "PROCFILE=Procfile.dev\n")
    result = procdash("start", "--headless", "--no-prefix", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "dev" in result.stdout.splitlines() and "from-the-default-procfile" not in result.stdout
    checked = procdash("check", cwd=tmp_path)
    assert "Procfile.dev: 1 process types" in checked.stdout.splitlines()[0], checked.stdout
    assert procdash("run", "dev", cwd=tmp_path).stdout == "dev\n"


def test_procfile_from_the_environment_and_flag_precedence(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: echo default\n")
    write(tmp_path / "Procfile.env", "fromenv: echo env\n")
    write(tmp_path / "Procfile.dotenv", "fromdotenv: echo dotenv\n")
    write(tmp_path / "Procfile.flag", "fromflag: echo flag\n")
    environ = {"PROCFILE": "Procfile.env"}
    assert "fromenv" in procdash("check", cwd=tmp_path, env=environ).stdout
    write(tmp_path / ".env", "PROCFILE=Procfile.dotenv\n")
    assert "fromdotenv" in procdash("check", cwd=tmp_path, env=environ).stdout  # .env beats the environment
    flagged = procdash("check", "-f", "Procfile.flag", cwd=tmp_path, env=environ)
    assert "fromflag" in flagged.stdout and "fromdotenv" not in flagged.stdout  # -f beats both


def test_procfile_in_dotenv_that_does_not_exist_names_where_it_came_from(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: true\n")
    write(tmp_path / ".env", "PROCFILE=Procfile.gone\n")
    one_error_line(procdash("check", cwd=tmp_path), "Procfile.gone: no such file")


# 3. .env quoting: single quotes are literal; double quotes and bare values expand ${VAR}.


def test_single_quoted_env_values_are_literal(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: true\n")
    write(tmp_path / ".env", "T='Hello ${name}!'\n")
    result = procdash("run", "printenv", "T", cwd=tmp_path, env={"name": "shell"})
    assert result.stdout == "Hello ${name}!\n"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("V='${NAME} and $NAME'", "${NAME} and $NAME"),
        ("V = '${NAME}'  # comment", "${NAME}"),
        ("export V='${NAME:-x}'", "${NAME:-x}"),
        ("V='it\\'s ${NAME}'", "it's ${NAME}"),
        ('V="Hello ${NAME}!"', "Hello World!"),
        ("V=Hello ${NAME}!", "Hello World!"),
        ('V="${MISSING:-fallback} ${MISSING}."', "fallback ."),
        ("V=${FROM_SHELL}", "shell-value"),
        ('V="${NAME}\'s"', "World's"),
        ("V='multi\nline ${NAME}'", "multi\nline ${NAME}"),
        ('V="multi\nline ${NAME}"', "multi\nline World"),
        ("V=", ""),
    ],
)
def test_env_quoting_and_expansion(tmp_path: Path, line: str, expected: str) -> None:
    write(tmp_path / "Procfile", "web: true\n")
    write(tmp_path / ".env", f"NAME=World\n{line}\n")
    code = "import os, sys; sys.stdout.write(repr(os.environ['V']))"
    result = procdash("run", sys.executable, "-c", code, cwd=tmp_path, env={"FROM_SHELL": "shell-value"})
    assert result.stdout == repr(expected), result.stderr


def test_later_env_files_expand_values_of_earlier_ones(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: true\n")
    write(tmp_path / "base.env", "HOST=db.local\n")
    write(tmp_path / "more.env", "URL=postgres://${HOST}/app\nRAW='postgres://${HOST}/app'\n")
    result = procdash("run", "-e", "base.env,more.env", "printenv", "URL", "RAW", cwd=tmp_path)
    assert result.stdout == "postgres://db.local/app\npostgres://${HOST}/app\n", result.stderr


def test_single_quotes_are_literal_in_started_processes_too(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: printenv T\n")
    write(tmp_path / ".env", "T='${HOME}'\n")
    result = procdash("--no-prefix", cwd=tmp_path)
    assert "${HOME}" in result.stdout.splitlines(), result.stdout


# 4. ``procdash run`` runs a command where the user is, a Procfile type in the root (as Foreman does).


def test_run_command_stays_in_the_current_directory(tmp_path: Path) -> None:
    write(tmp_path / "sub" / "Procfile", "web: true\nwhere: pwd\n")
    write(tmp_path / "note.txt", "hi\n")
    result = procdash("run", "-f", "sub/Procfile", "cat", "note.txt", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "hi\n"), result.stderr
    by_root = procdash("run", "-d", "sub", "cat", "note.txt", cwd=tmp_path)
    assert by_root.stdout == "hi\n", by_root.stderr
    by_type = procdash("run", "-f", "sub/Procfile", "where", cwd=tmp_path)
    assert os.path.realpath(by_type.stdout.strip()) == os.path.realpath(tmp_path / "sub")


# 5. -m is Foreman's formation (only the listed types), -c is honcho's concurrency (the rest stay at 1).


def counts_of(check_output: str) -> dict[str, int]:
    """The ``xN`` count of each type in ``procdash check``'s table."""
    rows = [line.split() for line in check_output.splitlines() if line.startswith("  ")]
    return {row[0]: int(row[1][1:]) for row in rows}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), {"web": 1, "worker": 1, "clock": 1}),
        (("-m", "web=2"), {"web": 2, "worker": 0, "clock": 0}),
        (("--formation", "web=2,worker=1"), {"web": 2, "worker": 1, "clock": 0}),
        (("-m", "all=2,clock=0"), {"web": 2, "worker": 2, "clock": 0}),
        (("-c", "web=2"), {"web": 2, "worker": 1, "clock": 1}),
        (("--concurrency", "web=2,clock=0"), {"web": 2, "worker": 1, "clock": 0}),
        (("-c", "all=3,web=1"), {"web": 1, "worker": 3, "clock": 3}),
    ],
)
def test_formation_flags_keep_their_origins_meaning(
    tmp_path: Path, args: tuple[str, ...], expected: dict[str, int]
) -> None:
    write(tmp_path / "Procfile", "web: a\nworker: b\nclock: c\n")
    result = procdash("check", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert counts_of(result.stdout) == expected


def test_foreman_formation_starts_only_the_listed_types(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: echo web-ran\nworker: echo worker-ran\n")
    result = procdash("-m", "web=1", "--no-prefix", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "web-ran" in result.stdout.splitlines() and "worker-ran" not in result.stdout


def test_formation_and_concurrency_together_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: a\n")
    one_error_line(procdash("check", "-m", "web=1", "-c", "web=2", cwd=tmp_path), "-c")
    one_error_line(procdash("check", "-c", "web=x", cwd=tmp_path), "-c web: count must be a whole number")


def test_help_explains_both_formation_spellings(tmp_path: Path) -> None:
    result = procdash("start", "--help", cwd=tmp_path)
    text = " ".join(result.stdout.split())
    assert result.returncode == 0
    # Python 3.13's argparse writes "-m, --formation SPEC", older ones "-m SPEC, --formation SPEC".
    assert re.search(r"-m( SPEC)?, --formation SPEC", text) and re.search(r"-c( SPEC)?, --concurrency SPEC", text)
    assert "only the listed types" in text and "unlisted types at 1" in text


# 6. honcho's -q/--quiet TYPE,...: that type's output is hidden, procdash's own lines about it are not.


def test_quiet_hides_a_types_output(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: echo web-said\nworker: echo worker-said\nclock: echo clock-said\n")
    result = procdash("start", "-q", "worker,clock", "--no-timestamp", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "web.1    | web-said" in result.stdout
    assert "worker-said" not in result.stdout and "clock-said" not in result.stdout
    assert "system   | worker.1 exited with code 0" in result.stdout
    assert "clock-said" not in procdash("--quiet", "clock", cwd=tmp_path).stdout


def test_quiet_with_an_unknown_type_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: true\n")
    one_error_line(procdash("start", "-q", "db", cwd=tmp_path), "-q: unknown process type 'db'")


# 8. Spellings of the other tools: --no-colour, --app-root, -v, version, help [COMMAND].


def test_no_colour_and_no_prefix_time(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: echo hi\n")
    coloured = procdash("--color", cwd=tmp_path)
    assert "\x1b[" in coloured.stdout
    plain = procdash("--color", "--no-colour", "--no-prefix-time", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert "\x1b[" not in plain.stdout and "web.1  | hi" in plain.stdout
    assert not plain.stdout[0].isdigit()


def test_app_root(tmp_path: Path) -> None:
    write(tmp_path / "app" / "Procfile", "where: pwd\n")
    result = procdash("--app-root", "app", "--no-prefix", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert os.path.realpath(tmp_path / "app") in [os.path.realpath(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize("args", [("-v",), ("--version",), ("version",), ("--no-colour", "-v")])
def test_version_spellings(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = procdash(*args, cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("procdash ") and result.stdout.count("\n") == 1


def test_help_command(tmp_path: Path) -> None:
    overview = procdash("help", cwd=tmp_path)
    assert overview.returncode == 0 and overview.stdout.startswith("usage: procdash")
    assert "start" in overview.stdout and "export" in overview.stdout
    about_run = procdash("help", "run", cwd=tmp_path)
    assert about_run.returncode == 0 and about_run.stdout.startswith("usage: procdash run")
    assert procdash("help", "start", cwd=tmp_path).stdout == procdash("start", "--help", cwd=tmp_path).stdout
    one_error_line(procdash("help", "nosuch", cwd=tmp_path), "help: unknown command 'nosuch'")


# 9. ``procdash check`` ends with honcho's line on stderr, after its table.


def test_check_ends_with_honchos_line_on_stderr(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: serve\nworker: work\n")
    result = procdash("check", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stderr == "Valid procfile detected (web, worker)\n"
    assert "  web     x1  port 5000" in result.stdout
    merged = procdash("check", cwd=tmp_path, merge_stderr=True)
    assert merged.stdout.splitlines()[-1] == "Valid procfile detected (web, worker)"
    assert merged.stdout.splitlines()[-2].startswith("  worker  x1")
