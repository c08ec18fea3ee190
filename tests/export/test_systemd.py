"""systemd units: accepted by systemd-analyze verify, and systemd's own parser reads back every value."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from procdash.core.shell import exec_form
from procdash.export import systemd
from procdash.export.model import Rendered
from tests.export.helpers import TRICKY_ENV, dump_project, formation, make_project

ANALYZE = shutil.which("systemd-analyze")
MANAGER = next((p for p in (Path("/lib/systemd/systemd"), Path("/usr/lib/systemd/systemd")) if p.exists()), None)
SETPRIV = shutil.which("setpriv")
NOBODY = "65534"


def write_units(rendered: Rendered, directory: Path) -> list[Path]:
    """Write the rendered units into ``directory`` and return their paths."""
    paths = []
    for item in rendered.files:
        path = directory / item.name
        path.write_text(item.text)
        paths.append(path)
    return paths


def verify(directory: Path, *units: str) -> subprocess.CompletedProcess[str]:
    """Run ``systemd-analyze verify`` with ``directory`` first in the unit search path."""
    assert ANALYZE is not None
    env = {**os.environ, "SYSTEMD_UNIT_PATH": f"{directory}:"}
    return subprocess.run(
        [ANALYZE, "verify", "--man=no", *units], capture_output=True, text=True, env=env, cwd=directory, timeout=60
    )


@pytest.fixture
def readable_dir() -> Iterator[Path]:
    """A world-readable temp directory: systemd's test mode must run unprivileged and read the units."""
    path = Path(tempfile.mkdtemp(prefix="procdash-systemd-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path)


def manager_dump(directory: Path, unit: str) -> str:
    """Ask systemd itself (``systemd --test``) to load the units and dump one unit's parsed settings."""
    assert MANAGER is not None
    command = [str(MANAGER), "--test", "--system", f"--unit={unit}", "--no-pager"]
    if os.geteuid() == 0:
        # systemd refuses test mode as root.
        assert SETPRIV is not None
        command = [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command]
    env = {**os.environ, "SYSTEMD_UNIT_PATH": f"{directory}:"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=directory, timeout=60)
    assert done.returncode == 0, done.stderr
    start = done.stdout.index(f"-> Unit {unit}:")
    end = done.stdout.find("\t-> Unit ", start + 1)
    return done.stdout[start : end if end != -1 else None]


def dumped_environment(dump: str) -> dict[str, str]:
    """The Environment= entries of a dump; a value's newlines continue onto unindented lines."""
    entries: list[str] = []
    continuing = False
    for line in dump.split("\n"):
        if line.startswith("\t\tEnvironment: "):
            entries.append(line.removeprefix("\t\tEnvironment: "))
            continuing = True
        elif line.startswith("\t"):
            continuing = False
        elif continuing:
            entries[-1] += "\n" + line
    return dict(entry.split("=", 1) for entry in entries)


def dumped_command(dump: str) -> list[str]:
    """The ExecStart argv from a dump, undoing its quoting (double quotes, backslash before "\\`$)."""
    line = next(line for line in dump.split("\n") if line.startswith("\t\t\tCommand Line: "))
    text = line.removeprefix("\t\t\tCommand Line: ")
    words: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == " ":
            i += 1
            continue
        word = []
        if text[i] == '"':
            i += 1
            while text[i] != '"':
                if text[i] == "\\":
                    i += 1
                word.append(text[i])
                i += 1
            i += 1
        else:
            while i < len(text) and text[i] != " ":
                word.append(text[i])
                i += 1
        words.append("".join(word))
    return words


needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze not installed (Debian package systemd)")
needs_manager = pytest.mark.skipif(
    MANAGER is None or (os.geteuid() == 0 and SETPRIV is None),
    reason="systemd binary (or setpriv to leave root) not installed",
)


def test_files_and_wiring(tmp_path: Path) -> None:
    make_project(tmp_path / "My App!", "web: serve --port $PORT\nworker: work\nidle: nap\n")
    rendered = systemd.render(formation(tmp_path / "My App!", timeout=2.5, restart="on-failure"), tmp_path)
    names = [f.name for f in rendered.files]
    assert names == ["My-App.target", "My-App-web@.service", "My-App-worker@.service", "My-App-idle@.service"]
    target = rendered.files[0].text
    assert "Wants=My-App-web@1.service My-App-web@2.service My-App-worker@1.service\n" in target
    assert "idle@" not in target
    web = rendered.files[1].text
    for line in [
        "KillMode=mixed",
        "TimeoutStopSec=2500ms",
        "Restart=on-failure",
        "PartOf=My-App.target",
        'Environment="PS=web.%i"',
        "WantedBy=My-App.target",
    ]:
        assert line + "\n" in web
    assert 'ExecStart=/bin/sh -c "PORT=$$((5000 + %i - 1)); export PORT; exec serve --port $$PORT"' in web


@needs_analyze
def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", 'web: serve --port $PORT 100% && echo "done"\nworker: work\nidle: nap\n')
    rendered = systemd.render(
        formation(root, env=TRICKY_ENV, user="procdash", log=tmp_path / "logs", timeout=3), tmp_path
    )
    units = tmp_path / "units"
    units.mkdir()
    write_units(rendered, units)
    done = verify(
        units, "proj.target", "proj-web@1.service", "proj-web@2.service", "proj-worker@1.service", "proj-idle@7.service"
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and done.stdout == ""


@needs_analyze
def test_verify_would_catch_a_broken_unit(tmp_path: Path) -> None:
    """The check above means something: verify reports a bad escape and an unknown kill mode."""
    (tmp_path / "bad.service").write_text('[Service]\nEnvironment="A=\\q"\nKillMode=mixd\nExecStart=/bin/true\n')
    done = verify(tmp_path, "bad.service")
    assert "Invalid syntax" in done.stderr and "kill mode" in done.stderr


@needs_manager
def test_systemd_reads_back_env_and_the_command_runs_as_an_instance(readable_dir: Path) -> None:
    root = dump_project(readable_dir / "proj dir", stay=0)
    model = formation(root, env=TRICKY_ENV)
    rendered = systemd.render(model, readable_dir)
    units = readable_dir / "units"
    units.mkdir()
    write_units(rendered, units)
    for path in [units, *units.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)

    dump = manager_dump(units, "proj-dir-web@2.service")
    assert "\t\tWorkingDirectory: " + str(root) + "\n" in dump
    assert "\t\tKillMode: mixed\n" in dump
    env = dumped_environment(dump)
    assert env == {"PS": "web.2", **TRICKY_ENV}

    argv = dumped_command(dump)
    assert argv[:2] == ["/bin/sh", "-c"]
    # systemd keeps "$$" until exec time, then turns it into "$".
    script = argv[2].replace("$$", "$")
    assert script == "PORT=$((5000 + 2 - 1)); export PORT; " + exec_form(model.types[0].command)
    subprocess.run(["/bin/sh", "-c", script], env={"PATH": os.environ["PATH"], **env}, cwd=root, check=True, timeout=30)
    record = json.loads((root / "dumps" / "web.2.json").read_text())
    assert record["env"]["PORT"] == "5001"
    assert {key: record["env"][key] for key in TRICKY_ENV} == TRICKY_ENV


@needs_manager
def test_odd_commands_reach_the_shell_unchanged(readable_dir: Path) -> None:
    command = "printf '%s|%d\\n' \"a\\\\b $PORT\" 7 ☃ ; echo 'it''s' \"#x\" `echo $HOME`"
    root = make_project(readable_dir / "odd", f"web: {command}\n")
    model = formation(root, counts="")
    units = readable_dir / "units"
    units.mkdir()
    write_units(systemd.render(model, readable_dir), units)
    for path in [units, *units.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    assert verify(units, "odd-web@1.service").stderr == ""
    argv = dumped_command(manager_dump(units, "odd-web@3.service"))
    assert argv[2].replace("$$", "$") == f"PORT=$((5000 + 3 - 1)); export PORT; {exec_form(command)}"
