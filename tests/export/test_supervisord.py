"""supervisord config: its own parser reads it back exactly, and a real supervisord runs each instance."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from supervisor.options import ServerOptions

from procdash.core.shell import exec_form
from procdash.export import supervisord
from procdash.export.model import Rendered
from procdash.export.supervisord import command_word, env_entry, percent
from tests.export.helpers import TRICKY_ENV, dump_project, formation, make_project
from tests.helpers import wait_until_sync

MAIN_CONF = """\
[unix_http_server]
file=%(here)s/supervisor.sock

[supervisord]
logfile=%(here)s/supervisord.log
pidfile=%(here)s/supervisord.pid
childlogdir=%(here)s
nodaemon=true

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://%(here)s/supervisor.sock

[include]
files=export/*.conf
"""


def install(rendered: Rendered, base: Path) -> Path:
    """Write a minimal supervisord.conf in ``base`` that includes the exported file."""
    (base / "export").mkdir()
    for item in rendered.files:
        (base / "export" / item.name).write_text(item.text)
    conf = base / "supervisord.conf"
    conf.write_text(MAIN_CONF)
    return conf


def parsed_processes(conf: Path) -> dict[str, Any]:
    """Process configs by name, as supervisord's own option parser builds them from ``conf``."""
    options = ServerOptions()
    options.realize(args=["-c", str(conf)])
    return {p.name: p for group in options.process_group_configs for p in group.process_configs}


def test_program_settings(tmp_path: Path) -> None:
    make_project(tmp_path / "proj", "web: serve $PORT\nworker: work\nidle: nap\n")
    rendered = supervisord.render(
        formation(tmp_path / "proj", timeout=2.5, restart="on-failure", log=tmp_path / "logs"), tmp_path
    )
    assert [f.name for f in rendered.files] == ["proj.conf"]
    text = rendered.files[0].text
    assert "[group:proj]\nprograms=proj-web,proj-worker,proj-idle\n" in text
    web = text[text.index("[program:proj-web]") : text.index("[program:proj-worker]")]
    for line in [
        "numprocs=2",
        "numprocs_start=1",
        "stopasgroup=true",
        "killasgroup=true",
        "stopwaitsecs=3",
        "autorestart=unexpected",
        "autostart=true",
        "process_name=%(program_name)s-%(process_num)d",
        f"stdout_logfile={tmp_path}/logs/%(program_name)s-%(process_num)d.log",
    ]:
        assert line + "\n" in web
    idle = text[text.index("[program:proj-idle]") :]
    assert "numprocs=1\n" in idle and "autostart=false\n" in idle


def test_supervisord_parser_reads_back_every_value(tmp_path: Path) -> None:
    command = "serve --port $PORT 100% ; echo \"x #y\" 'a\\b' ☃"
    root = make_project(tmp_path / "proj", f"web: {command}\nworker: work\nidle: nap\n")
    model = formation(root, env=TRICKY_ENV)
    rendered = supervisord.render(model, tmp_path)
    processes = parsed_processes(install(rendered, tmp_path))
    assert sorted(processes) == ["proj-idle-1", "proj-web-1", "proj-web-2", "proj-worker-1"]
    web2 = processes["proj-web-2"]
    argv = shlex.split(web2.command)
    assert argv[:2] == ["/bin/sh", "-c"]
    assert argv[2].startswith("PORT=$((5000 + 2 - 1)); export PORT; ")
    assert argv[2].endswith(f"; {exec_form(command)}")
    environment = web2.environment
    assert environment["PS"] == "web.2"
    in_config = {key: value for key, value in TRICKY_ENV.items() if env_entry(key, value) is not None}
    assert {key: environment[key] for key in in_config} == in_config
    # The rest travels as shell assignments; a shell reads them back exactly.
    exports = argv[2].split("export PORT; ", 1)[1].removesuffix(exec_form(command))
    script = exports + "env -0"
    shown = subprocess.run(["/bin/sh", "-c", script], capture_output=True, check=True, timeout=10, env={}).stdout
    exported = dict(item.split("=", 1) for item in shown.decode().split("\0") if item and "=" in item)
    assert {key: exported[key] for key in TRICKY_ENV if key not in in_config} == {
        key: value for key, value in TRICKY_ENV.items() if key not in in_config
    }
    assert "NEWLINES" in exported and "BOTH" in exported and "EDGE_QUOTES" in exported
    assert any("set in the command line" in note for note in rendered.notes)


@pytest.mark.parametrize(
    "text",
    ["plain", "", "a ; b # c", "a;b#c", "line\n", "\n\nx\n", "q\"uo'te\\", "  pad  ", "☃ %(x)s", ";start", " #"],
)
def test_command_word_survives_the_ini_reader_and_shlex(tmp_path: Path, text: str) -> None:
    conf = tmp_path / "x.conf"
    conf.write_text(f"[supervisord]\n[program:x]\ncommand=/bin/echo {command_word(percent(text))}\n")
    processes = parsed_processes(conf)
    assert shlex.split(processes["x"].command) == ["/bin/echo", text]


def test_a_real_supervisord_runs_each_instance_with_its_port_and_ps(tmp_path: Path) -> None:
    root = dump_project(tmp_path / "proj", stay=120)
    rendered = supervisord.render(formation(root, env=TRICKY_ENV, timeout=5), tmp_path)
    conf = install(rendered, tmp_path)
    dumps = root / "dumps"
    daemon = subprocess.Popen(
        [sys.executable, "-m", "supervisor.supervisord", "-c", str(conf), "-n"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        expected = {"web.1": "5000", "web.2": "5001", "worker.1": "5100"}
        wait_until_sync(lambda: all((dumps / f"{ps}.json").exists() for ps in expected), timeout=30)
        for ps, port in expected.items():
            record = json.loads((dumps / f"{ps}.json").read_text())
            assert record["env"]["PS"] == ps
            assert record["env"]["PORT"] == port
            assert {key: record["env"][key] for key in TRICKY_ENV} == TRICKY_ENV
            assert record["cwd"] == str(root)
            # exec made the app supervisord's own child, so stop signals reach it directly.
            assert record["ppid"] == daemon.pid
        assert not (dumps / "idle.1.json").exists()
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(timeout=10)
    assert daemon.returncode == 0
