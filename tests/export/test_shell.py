"""``exec`` goes before simple commands only, and never changes what a command prints."""

from __future__ import annotations

import subprocess

import pytest

from procdash.export.shell import exec_form


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("python app.py", "exec python app.py"),
        ("  bundle exec puma -p $PORT 2>&1", "  exec bundle exec puma -p $PORT 2>&1"),
        ('FOO=1 BAR="a b" python app.py', 'FOO=1 BAR="a b" exec python app.py'),
        ("X=\\ y cmd > out.log", "X=\\ y exec cmd > out.log"),
        ("echo 'a; b'", "exec echo 'a; b'"),
    ],
)
def test_simple_commands_get_exec(command: str, expected: str) -> None:
    assert exec_form(command) == expected


@pytest.mark.parametrize(
    "command",
    [
        "a && b",
        "a; b",
        "a | b",
        "a &",
        "(a)",
        "cd dir && run",
        "cd dir",
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
