"""Procfile, .env, formation and port rules, per DESIGN.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from procdash.core.env import child_env, load_env_files
from procdash.core.errors import ConfigError
from procdash.core.formation import check_ports, instance_name, parse_formation, parse_port, port_for
from procdash.core.procfile import load_procfile, parse_procfile
from procdash.core.project import load_project
from tests.helpers import write


def test_procfile_keeps_file_order_and_strips_commands() -> None:
    text = "# comment\n\nweb:   python app.py  \nworker: celery -A x\n  release:echo hi\n"
    types = parse_procfile(text)
    assert [(t.name, t.command, t.line) for t in types] == [
        ("web", "python app.py", 3),
        ("worker", "celery -A x", 4),
        ("release", "echo hi", 5),
    ]


def test_procfile_command_may_contain_colons() -> None:
    (web,) = parse_procfile("web: sh -c 'echo a:b; echo http://x:1'\n")
    assert web.command == "sh -c 'echo a:b; echo http://x:1'"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("web python\n", "Procfile:1: cannot parse 'web python'"),
        ("web: a\nweb: b\n", "Procfile:2: duplicate process type 'web' (first on line 1)"),
        ("# only a comment\n\n", "Procfile: no process types defined"),
        ("web:\n", "Procfile:1: cannot parse 'web:'"),
        ("we b: x\n", "Procfile:1: cannot parse"),
        ("all: x\n", "Procfile:1: 'all' is reserved"),
    ],
)
def test_procfile_errors_name_file_and_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_procfile(text)
    assert str(info.value).startswith(message)


def test_procfile_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "Procfile"
    path.write_bytes(b"\xef\xbb\xbfweb: run web\r\nworker: run worker\r\n")
    assert [(t.name, t.command) for t in load_procfile(path)] == [("web", "run web"), ("worker", "run worker")]


def test_procfile_invalid_utf8_names_line(tmp_path: Path) -> None:
    path = tmp_path / "Procfile"
    path.write_bytes(b"web: ok\nworker: \xff\n")
    with pytest.raises(ConfigError, match=r"Procfile:2: is not valid UTF-8"):
        load_procfile(path)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, {"web": 1, "worker": 1, "clock": 1}),
        ("web=2", {"web": 2, "worker": 1, "clock": 1}),
        ("all=3", {"web": 3, "worker": 3, "clock": 3}),
        ("all=0,web=1", {"web": 1, "worker": 0, "clock": 0}),
        ("web=1,all=0", {"web": 1, "worker": 0, "clock": 0}),
        (" web = 2 , clock=0 ", {"web": 2, "worker": 1, "clock": 0}),
    ],
)
def test_formation(spec: str | None, expected: dict[str, int]) -> None:
    assert parse_formation(spec, ["web", "worker", "clock"]) == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, {"web": 1, "worker": 1, "clock": 1}),
        ("", {"web": 1, "worker": 1, "clock": 1}),
        ("web=2", {"web": 2, "worker": 0, "clock": 0}),
        ("all=3,web=1", {"web": 1, "worker": 3, "clock": 3}),
    ],
)
def test_foreman_formation_starts_only_what_it_lists(spec: str | None, expected: dict[str, int]) -> None:
    assert parse_formation(spec, ["web", "worker", "clock"], flag="-m", unlisted=0) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nope=1", "unknown process type 'nope'"),
        ("web=x", "count must be a whole number"),
        ("web=-1", "must not be negative"),
        ("web", "expected NAME=COUNT"),
        ("=2", "expected NAME=COUNT"),
        ("web=5000", "more than 1000"),
    ],
)
def test_formation_errors(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_formation(spec, ["web", "worker"])


@pytest.mark.parametrize(
    ("base", "index", "number", "port"),
    [(5000, 0, 1, 5000), (5000, 0, 3, 5002), (5000, 1, 1, 5100), (5000, 2, 2, 5201), (3000, 1, 4, 3103)],
)
def test_foreman_port_rule(base: int, index: int, number: int, port: int) -> None:
    assert port_for(base, index, number) == port


def test_instance_name() -> None:
    assert instance_name("web", 2) == "web.2"


@pytest.mark.parametrize("text", ["abc", "0", "70000", "-5", "5.5"])
def test_bad_ports(text: str) -> None:
    with pytest.raises(ConfigError, match="-p"):
        parse_port(text, "-p")


def test_formation_past_last_port() -> None:
    with pytest.raises(ConfigError, match="past 65535"):
        check_ports(65500, ["web", "worker"], {"web": 1, "worker": 1})
    check_ports(65400, ["web", "worker"], {"web": 1, "worker": 1})


def test_env_files_layer_and_drop_none(tmp_path: Path) -> None:
    a = write(tmp_path / "a.env", "A=1\nB=from_a\nexport C='quoted value'\nBARE\n")
    b = write(tmp_path / "b.env", "B=from_b\nD=${B}-x\n")
    env = load_env_files([a, b], required=True)
    assert env == {"A": "1", "B": "from_b", "C": "quoted value", "D": "from_b-x"}


def test_missing_required_env_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope.env: no such env file"):
        load_env_files([tmp_path / "nope.env"], required=True)
    assert load_env_files([tmp_path / "nope.env"], required=False) == {}


def test_child_env_layers_without_touching_os_environ() -> None:
    base = {"PATH": "/bin", "B": "base"}
    env = child_env(base, {"B": "dotenv"}, port=5100, ps="worker.1", pipes=True, color=True)
    assert env["B"] == "dotenv" and env["PORT"] == "5100" and env["PS"] == "worker.1"
    assert env["PYTHONUNBUFFERED"] == "1" and env["FORCE_COLOR"] == "1"
    assert base == {"PATH": "/bin", "B": "base"}
    no_color = child_env({"NO_COLOR": "1"}, {}, port=None, ps="a.1", pipes=True, color=True)
    assert "FORCE_COLOR" not in no_color and "PORT" not in no_color


def test_project_port_precedence(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: x\nworker: y\n")
    write(tmp_path / ".env", "PORT=7000\n")
    procfile = str(tmp_path / "Procfile")
    kwargs = {"procfile": procfile, "root": None, "env": None, "formation": None}
    assert load_project(**kwargs, port=None, environ={"PORT": "6000"}).base_port == 7000
    assert load_project(**kwargs, port="8000", environ={}).base_port == 8000
    (tmp_path / ".env").unlink()
    assert load_project(**kwargs, port=None, environ={"PORT": "6000"}).base_port == 6000
    assert load_project(**kwargs, port=None, environ={}).base_port == 5000


def test_project_only_types(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: x\nworker: y\n")
    project = load_project(
        procfile=str(tmp_path / "Procfile"), root=None, env=None, formation="web=2", port=None, only=["web"]
    )
    assert project.counts == {"web": 2, "worker": 0}
    assert project.root == tmp_path
