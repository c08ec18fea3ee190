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

# Runs ``procdash ARGS`` exactly as the console script does and prints the modules loaded at exit.
RUN = (
    "import atexit, runpy, sys\n"
    "atexit.register(lambda: print('MODULES', ' '.join(sorted(sys.modules)), file=sys.stderr))\n"
    "sys.argv = ['procdash', *sys.argv[1:]]\n"
    "runpy.run_module('procdash', run_name='__main__', alter_sys=True)\n"
)


def modules_of_a_headless_run(root: Path, *args: str) -> set[str]:
    """Every module a whole ``procdash start --headless`` run imported (the control socket on)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONSTARTUP",)}
    result = subprocess.run(
        [sys.executable, "-c", RUN, "start", "--headless", *args],
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
