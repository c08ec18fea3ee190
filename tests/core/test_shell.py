"""``exec`` goes before the last simple command of a plain list only, and never changes what a command prints."""

from __future__ import annotations

import subprocess

import pytest

from procdash.core.shell import exec_form


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("python app.py", "exec python app.py"),
        ("  bundle exec puma -p $PORT 2>&1", "  exec bundle exec puma -p $PORT 2>&1"),
        ('FOO=1 BAR="a b" python app.py', 'FOO=1 BAR="a b" exec python app.py'),
        ("X=\\ y cmd > out.log", "X=\\ y exec cmd > out.log"),
        ("echo 'a; b'", "exec echo 'a; b'"),
        ("a && b", "a && exec b"),
        ("a; b", "a; exec b"),
        ("cd dir && run", "cd dir && exec run"),
        ("cd 'x;y' && FOO=1 run --a", "cd 'x;y' && FOO=1 exec run --a"),
        ("setup || fallback;", "setup || exec fallback;"),
    ],
)
def test_simple_commands_get_exec(command: str, expected: str) -> None:
    assert exec_form(command) == expected


@pytest.mark.parametrize(
    "command",
    [
        "a | b",
        "a && b | c",
        "a & b",
        "a &",
        "(a)",
        "cd dir",
        "run && cd dir",
        "echo '&&' ; run",
        "exec already",
        "if true; then x; fi",
        "FOO=$(date) cmd",
        "ONLY=assignment",
        'echo "unterminated',
        "export A=1",
    ],
)
def test_anything_else_is_left_alone(command: str) -> None:
    assert exec_form(command) == command


@pytest.mark.parametrize(
    "command",
    [
        "echo plain",
        'GREETING="hi there" sh -c \'echo "$GREETING"\'',
        "printf '%s|' a 'b c' 2>&1",
        "echo first; echo second",
        "true && echo and",
    ],
)
def test_rewritten_command_prints_the_same(command: str) -> None:
    def output(text: str) -> str:
        return subprocess.run(["/bin/sh", "-c", text], capture_output=True, text=True, check=True, timeout=10).stdout

    assert output(exec_form(command)) == output(command)


def test_a_program_that_cannot_run_keeps_the_shell_s_own_words() -> None:
    assert exec_form("missing-program --flag", lambda program: False) == "missing-program --flag"
    assert exec_form("cd x && present", lambda program: program == "present") == "cd x && exec present"
    # Expansions are the shell's to resolve: only it knows what $APP names.
    assert exec_form("$APP --flag", lambda program: False) == "exec $APP --flag"
