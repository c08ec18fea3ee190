"""Start-up weight: what a headless start imports (measured as sys.modules at exit of the real command)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import write

# Never imported by a headless start: the dashboard, the export writers, the control client, TLS.
NEVER = (
    "textual",
    "rich",
    "ssl",
    "_ssl",
    "procdash.ui",
    "procdash.export",
    "procdash.control.client",
    "procdash.control.command",
    "procdash.control.connect",
)
# Imported only when the project needs them: none of these files is there, nothing is watched.
ONLY_WHEN_NEEDED = ("yaml", "dotenv", "tomllib", "watchfiles", "psutil", "hashlib", "shutil", "tempfile")

# Runs ``procdash ARGS`` exactly as the console script does.
RUN_PROCDASH = (
    "sys.argv = ['procdash', *sys.argv[1:]]\nrunpy.run_module('procdash', run_name='__main__', alter_sys=True)\n"
)
# That, printing the modules loaded at exit.
RUN = (
    "import atexit, runpy, sys\n"
    "atexit.register(lambda: print('MODULES', ' '.join(sorted(sys.modules)), file=sys.stderr))\n"
) + RUN_PROCDASH

# The same, printing the modules loaded when the first process is spawned (subprocess's fork_exec).
RUN_TO_FIRST_SPAWN = (
    "import _posixsubprocess, runpy, subprocess, sys\n"
    "owner = subprocess if hasattr(subprocess, '_fork_exec') else _posixsubprocess\n"
    "name = '_fork_exec' if owner is subprocess else 'fork_exec'\n"
    "spawn, seen = getattr(owner, name), []\n"
    "def first(*args, **kwargs):\n"
    "    if not seen:\n"
    "        seen.append(1)\n"
    "        print('MODULES', ' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    "    return spawn(*args, **kwargs)\n"
    "setattr(owner, name, first)\n"
) + RUN_PROCDASH


def modules_of_a_headless_run(root: Path, *args: str, until_first_spawn: bool = False) -> set[str]:
    """The modules a whole ``procdash start --headless`` run imported (control socket on), or up to its first spawn."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONSTARTUP",)}
    result = subprocess.run(
        [sys.executable, "-c", RUN_TO_FIRST_SPAWN if until_first_spawn else RUN, "start", "--headless", *args],
        cwd=root,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "one.1 exited with code 0" in result.stdout, result.stdout
    line = next(line for line in result.stderr.splitlines() if line.startswith("MODULES "))
    return set(line.split()[1:])


def loaded(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    """The modules that are, or are inside, one of ``prefixes``."""
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_headless_start_imports_no_ui_no_export_no_control_client_no_tls(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "one: true\n")
    modules = modules_of_a_headless_run(tmp_path)
    assert "procdash.control.server" in modules  # the control socket runs in headless mode too
    assert "procdash.core.supervisor" in modules
    assert loaded(modules, NEVER) == []
    assert loaded(modules, ONLY_WHEN_NEEDED) == []


def test_the_optional_parsers_load_when_their_files_are_there(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "one: true\n")
    write(tmp_path / ".env", "A=1\n")
    write(tmp_path / ".foreman", "port: 6000\n")
    write(tmp_path / "Procfile.toml", "timeout = 2\n")
    modules = modules_of_a_headless_run(tmp_path)
    assert {"yaml", "dotenv", "tomllib"} <= modules or {"yaml", "dotenv", "tomli"} <= modules
    assert loaded(modules, NEVER) == []


def test_the_first_process_starts_before_the_services_are_imported(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "one: true\n")
    modules = modules_of_a_headless_run(tmp_path, until_first_spawn=True)
    assert "procdash.core.supervisor" in modules
    assert "procdash.control.listener" in modules  # the socket is claimed before: a second start exits 2 first
    later = ("procdash.control.server", "procdash.control.protocol", "procdash.editloop", "procdash.core.reload")
    assert loaded(modules, later) == []
    assert loaded(modules, ("json",)) == []
