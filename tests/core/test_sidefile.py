"""Procfile.toml and .foreman: good files, every kind of bad one (exact messages), and precedence."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from procdash.core.errors import ConfigError
from procdash.core.project import load_project
from procdash.core.sidefile import parse_sidefile, sidefile_path
from procdash.core.tomlkeys import key_lines
from procdash.core.typeoptions import Backoff, Probe
from tests.helpers import write

NAMES = ["web", "db", "migrate", "worker"]


def parse(text: str, root: Path | None = None) -> dict[str, object]:
    """Parse options text against NAMES; returns the types' options by name."""
    side = parse_sidefile(text, "Procfile.toml", NAMES, root or Path("/"))
    return dict(side.types)


def test_every_type_key_is_read(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    write(tmp_path / "web.env", "FROM_FILE=1\nBOTH=file\n")
    text = """
[web]
restart = "always"
max_restarts = 3
backoff = { base = 0.5, cap = 8 }
stop_signal = "SIGINT"
stop_timeout = 12.5
autostart = false
count = 2
pty = false
env = { BOTH = "table", N = 3, FLAG = true }
env_file = "web.env"
cwd = "app"
success_exit_codes = [0, 143]
depends_on = { db = "ready", migrate = "completed" }
ready = { http = "/healthz", interval = 0.25, timeout = 2, initial_delay = 1, retries = 5 }

[worker]
depends_on = ["db"]
stop_signal = 10
ready = "tcp"
"""
    types = parse(text, tmp_path)
    web = types["web"]
    assert web.restart == "always" and web.max_restarts == 3  # type: ignore[attr-defined]
    assert web.backoff == Backoff(0.5, 8.0)  # type: ignore[attr-defined]
    assert web.stop_signal == signal.SIGINT and web.stop_timeout == 12.5  # type: ignore[attr-defined]
    assert web.autostart is False and web.count == 2 and web.pty is False  # type: ignore[attr-defined]
    assert web.env == {"FROM_FILE": "1", "BOTH": "table", "N": "3", "FLAG": "true"}  # type: ignore[attr-defined]
    assert web.cwd == "app" and web.success_exit_codes == {0, 143}  # type: ignore[attr-defined]
    assert web.depends_on == {"db": "ready", "migrate": "completed"}  # type: ignore[attr-defined]
    assert web.ready == Probe(  # type: ignore[attr-defined]
        kind="http", path="/healthz", interval=0.25, timeout=2.0, initial_delay=1.0, retries=5
    )
    worker = types["worker"]
    assert worker.depends_on == {"db": "ready"}  # type: ignore[attr-defined]
    assert worker.stop_signal == 10 and worker.ready == Probe(kind="tcp")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("ready", "expected"),
    [
        ('"tcp"', Probe(kind="tcp")),
        ("{ tcp = 5432 }", Probe(kind="tcp", port=5432)),
        ('{ http = "/" }', Probe(kind="http", path="/")),
        ('{ http = "http://127.0.0.1:8080/up" }', Probe(kind="http", port=8080, path="/up")),
        ('{ http = ":9000/x" }', Probe(kind="http", port=9000, path="/x")),
        ('{ log = "listening on \\\\d+" }', Probe(kind="log", pattern="listening on \\d+")),
        ('{ exec = "pg_isready -q" }', Probe(kind="exec", command="pg_isready -q")),
    ],
)
def test_probe_forms(ready: str, expected: Probe) -> None:
    assert parse(f"[db]\nready = {ready}\n")["db"].ready == expected  # type: ignore[attr-defined]


BAD = [
    ('[web]\nrestrat = "always"\n', "Procfile.toml:2: web.restrat: unknown key (did you mean restart?)"),
    (
        '[web]\nrestart = "sometimes"\n',
        "Procfile.toml:2: web.restart: expected one of no, on-failure, always, got 'sometimes'",
    ),
    ("[wbe]\ncount = 1\n", "Procfile.toml:1: wbe: no process type 'wbe' in the Procfile (did you mean web?)"),
    (
        "[api]\ncount = 1\n",
        "Procfile.toml:1: api: no process type 'api' in the Procfile (it has web, db, migrate, worker)",
    ),
    ("\n\nweb = 3\n", "Procfile.toml:3: web: expected a table [web] of options for that process type, got an integer"),
    ('formaton = "web=2"\n', "Procfile.toml:1: formaton: unknown key (did you mean formation?)"),
    ("exit_on_failure = true\n", "Procfile.toml:1: exit_on_failure: unknown key (did you mean exit-on-failure?)"),
    ('[web]\ncount = "2"\n', "Procfile.toml:2: web.count: expected a whole number, got a string"),
    ("[web]\ncount = 5000\n", "Procfile.toml:2: web.count: 5000 is outside 0-1000"),
    ("[web]\nautostart = 1\n", "Procfile.toml:2: web.autostart: expected true or false, got an integer"),
    (
        "[web]\nstop_timeout = -1\n",
        "Procfile.toml:2: web.stop_timeout: expected a non-negative number of seconds, got -1",
    ),
    (
        '[web]\nstop_signal = "TREM"\n',
        "Procfile.toml:2: web.stop_signal: expected one of TERM, INT, QUIT, HUP, USR1, USR2, WINCH, KILL or a number,"
        " got 'TREM' (did you mean TERM?)",
    ),
    ("[web]\nsuccess_exit_codes = [0, 300]\n", "Procfile.toml:2: web.success_exit_codes: 300 is outside 0-255"),
    ("[web]\nbackoff = { base = 4, cap = 1 }\n", "Procfile.toml:2: web.backoff.cap: 1 is less than base 4"),
    ("[web]\nenv = [1]\n", 'Procfile.toml:2: web.env: expected a table of NAME = "value", got an array'),
    ('[web]\ncwd = "nowhere"\n', "Procfile.toml:2: web.cwd: no such directory '/nowhere'"),
    ('[web]\nenv_file = "missing.env"\n', "Procfile.toml:2: web.env_file: /missing.env: no such env file"),
    (
        '[web]\ndepends_on = ["wbe"]\n',
        "Procfile.toml:2: web.depends_on.wbe: no process type 'wbe' in the Procfile (did you mean web?)",
    ),
    ('[web]\ndepends_on = ["web"]\n', "Procfile.toml:2: web.depends_on.web: web cannot depend on itself"),
    (
        '[web]\ndepends_on = { db = "healthy" }\n',
        "Procfile.toml:2: web.depends_on.db: expected one of started, ready, completed, got 'healthy'",
    ),
    (
        '[web]\ndepends_on = ["db"]\n[db]\ndepends_on = ["migrate"]\n[migrate]\n\ndepends_on = { web = "started" }\n',
        "Procfile.toml:2: web.depends_on: dependency cycle: web -> db -> migrate -> web",
    ),
    ('[web]\nready = { htp = "/x" }\n', "Procfile.toml:2: web.ready.htp: unknown key (did you mean http?)"),
    (
        '[web]\nready = { http = "/x", period_seconds = 2 }\n',
        "Procfile.toml:2: web.ready.period_seconds: unknown key (did you mean interval?)",
    ),
    (
        '[web]\nready = "http"\n',
        'Procfile.toml:2: web.ready: expected "tcp" or a table such as { http = "/healthz" }, got \'http\'',
    ),
    (
        '[web]\nready = { tcp = 1, log = "x" }\n',
        "Procfile.toml:2: web.ready: expected exactly one of tcp, http, log, exec, got tcp and log",
    ),
    (
        '[web]\nready = { log = "(" }\n',
        "Procfile.toml:2: web.ready.log: not a valid regular expression:"
        " missing ), unterminated subpattern at position 0",
    ),
    (
        '[web]\nready = { http = "/x", interval = 0 }\n',
        "Procfile.toml:2: web.ready.interval: expected a positive number of seconds, got 0",
    ),
    ("[web]\nready = { tcp = 70000 }\n", "Procfile.toml:2: web.ready.tcp: 70000 is outside 1-65535"),
    ("port = 0\n", "Procfile.toml:1: port: 0 is outside 1-65535"),
    ('restart = "al"\n', "Procfile.toml:1: restart: expected one of no, on-failure, always, got 'al'"),
    ("[web\n", "Procfile.toml:1: invalid TOML: Expected ']' at the end of a table declaration"),
    ("x = = 1\n", "Procfile.toml:1: invalid TOML: Invalid value"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[m.split(": ", 2)[1] for _, m in BAD])
def test_bad_files_name_file_line_and_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)


def test_key_lines_cover_tables_dotted_keys_inline_tables_and_skip_strings() -> None:
    text = '''# comment with = sign
formation = "web=2" # trailing = comment
[web]
cmd = """
fake = "not a key"
"""
ready = { http = "/x", interval = 2 }
"quoted key" = 1
env.A = "1"

[ "db" ]
depends_on = { migrate = "completed",
  web = "ready" }
'''
    lines = key_lines(text)
    assert lines[("formation",)] == 2
    assert lines[("web",)] == 3
    assert ("web", "fake") not in lines and ("fake",) not in lines
    assert lines[("web", "ready")] == 7 and lines[("web", "ready", "interval")] == 7
    assert lines[("web", "quoted key")] == 8
    assert lines[("web", "env", "A")] == 9
    assert lines[("db",)] == 11
    assert lines[("db", "depends_on", "web")] == 13


def project(tmp_path: Path, **kwargs: object) -> object:
    """Load the project in tmp_path with the given overrides."""
    args: dict[str, object] = {"procfile": str(tmp_path / "Procfile"), "root": None, "env": None}
    args.update({"formation": None, "port": None, "environ": {}})
    args.update(kwargs)
    return load_project(**args)  # type: ignore[arg-type]


def test_sidefile_follows_the_procfile_name_and_a_missing_one_is_fine(tmp_path: Path) -> None:
    write(tmp_path / "Procfile.dev", "web: true\n")
    assert sidefile_path(tmp_path / "Procfile.dev") == tmp_path / "Procfile.dev.toml"
    loaded = project(tmp_path, procfile=str(tmp_path / "Procfile.dev"))
    assert loaded.sidefile.path is None  # type: ignore[attr-defined]
    write(tmp_path / "Procfile.dev.toml", "[web]\ncount = 3\n")
    loaded = project(tmp_path, procfile=str(tmp_path / "Procfile.dev"))
    assert loaded.counts == {"web": 3}  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match=r"other\.toml: no such options file"):
        project(tmp_path, procfile=str(tmp_path / "Procfile.dev"), options_file=str(tmp_path / "other.toml"))


def test_precedence_command_line_then_procfile_toml_then_foreman_then_default(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: true\nworker: true\nclock: true\n")
    write(tmp_path / "a.env", "A=1\n")
    write(tmp_path / "b.env", "B=2\n")
    write(tmp_path / ".foreman", "formation: web=5\nport: 7000\ntimeout: 9\nenv: a.env\n")
    fore = tmp_path
    # .foreman alone: its formation reads as Foreman's -m, so only web starts
    loaded = project(tmp_path, foreman_dir=fore)
    assert loaded.counts == {"web": 5, "worker": 0, "clock": 0}  # type: ignore[attr-defined]
    assert loaded.base_port == 7000 and loaded.settings == {"timeout": 9.0}  # type: ignore[attr-defined]
    # Procfile.toml wins over .foreman; per-type count is the default under the formation string
    write(
        tmp_path / "Procfile.toml",
        'concurrency = "web=2"\nport = 6000\ntimeout = 3\nenv = ["b.env"]\n[worker]\ncount = 4\n[clock]\ncount = 0\n',
    )
    loaded = project(tmp_path, foreman_dir=fore)
    assert loaded.counts == {"web": 2, "worker": 4, "clock": 0}  # type: ignore[attr-defined]
    assert loaded.base_port == 6000 and loaded.settings == {"timeout": 3.0}  # type: ignore[attr-defined]
    assert loaded.dotenv == {"B": "2"}  # type: ignore[attr-defined]
    # the command line wins over both
    loaded = project(tmp_path, foreman_dir=fore, formation="web=1", port="8000", env=str(tmp_path / "a.env"))
    assert loaded.counts == {"web": 1, "worker": 4, "clock": 0}  # type: ignore[attr-defined]
    assert loaded.base_port == 8000 and loaded.dotenv == {"A": "1"}  # type: ignore[attr-defined]
    assert loaded.setting("timeout", 1.5, 5.0) == 1.5  # type: ignore[attr-defined]
    assert loaded.setting("restart", None, "no") == "no"  # type: ignore[attr-defined]


def test_formation_from_the_file_names_the_file_on_error(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: true\n")
    write(tmp_path / "Procfile.toml", '# app\nformation = "wbe=2"\n')
    with pytest.raises(ConfigError) as caught:
        project(tmp_path)
    assert (
        str(caught.value) == f"{tmp_path}/Procfile.toml:2: formation: unknown process type 'wbe' (the Procfile has web)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("formation: [1, 2]\n", ".foreman:1: formation: expected a string or number, got list"),
        ("port: 1\ntimeout: soon\n", ".foreman:2: timeout: expected seconds, got 'soon'"),
        ("env: a.env\nport: http\n", ".foreman:2: port: expected a port number 1-65535, got 'http'"),
        ("a: [\n", ".foreman:2: invalid YAML"),
        ("- just\n- a list\n", ".foreman:1: expected a mapping of option: value"),
    ],
)
def test_bad_foreman_files(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path / "Procfile", "web: true\n")
    write(tmp_path / ".foreman", text)
    with pytest.raises(ConfigError) as caught:
        project(tmp_path, foreman_dir=tmp_path)
    assert str(caught.value).startswith(f"{tmp_path}/{message}")


def test_foreman_procfile_and_root(tmp_path: Path) -> None:
    write(tmp_path / "deploy" / "Procfile.prod", "web: true\n")
    write(tmp_path / ".foreman", "procfile: deploy/Procfile.prod\nconcurrency: web=3\n")
    import os

    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        loaded = load_project(
            procfile=None, root=None, env=None, formation=None, port=None, environ={}, foreman_dir=tmp_path
        )
    finally:
        os.chdir(here)
    assert loaded.procfile == tmp_path / "deploy" / "Procfile.prod"
    assert loaded.counts == {"web": 3}


def test_file_formation_reads_as_foremans_and_concurrency_as_honchos(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: true\nworker: true\n")
    write(tmp_path / "Procfile.toml", 'formation = "web=2"\n[worker]\ncount = 3\n')
    assert project(tmp_path).counts == {"web": 2, "worker": 0}  # type: ignore[attr-defined]
    write(tmp_path / "Procfile.toml", 'concurrency = "web=2"\n[worker]\ncount = 3\n')
    assert project(tmp_path).counts == {"web": 2, "worker": 3}  # type: ignore[attr-defined]
    write(tmp_path / "Procfile.toml", "[worker]\ncount = 3\n")
    assert project(tmp_path).counts == {"web": 1, "worker": 3}  # type: ignore[attr-defined]
    write(tmp_path / "Procfile.toml", 'formation = "web=1"\nconcurrency = "web=2"\n')
    with pytest.raises(ConfigError, match=r"concurrency: set formation .* or concurrency, not both"):
        project(tmp_path)
