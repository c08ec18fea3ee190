"""Shared pieces for export tests: hard env values, a sample project and running the CLI in-process."""

from __future__ import annotations

import dataclasses
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from procdash.cli import main
from procdash.core.project import load_project
from procdash.export.model import ExportOptions, Formation, build_formation
from tests.helpers import write

# Values that break naive quoting somewhere: every exporter must hand them to the process unchanged.
TRICKY_ENV = {
    "DOLLAR": "$HOME ${PATH} $(date) `id` $$ $",
    "PERCENT": "100% %i %n %% %(ENV_HOME)s %(process_num)d",
    "DOUBLE": 'say "hi"',
    "SINGLE": "it's",
    "BOTH": 'it\'s "both"',
    "EDGE_QUOTES": '"quoted"',
    "SPACES": "  leading and trailing  ",
    "NEWLINES": "line one\nline two\n",
    "UNICODE": "héllo wörld ☃ 日本語",
    "BACKSLASH": "C:\\dir\\n \\t \\",
    "COMMENTS": "value ; not a comment # nor this",
    "EMPTY": "",
    "TAB": "a\tb",
    "PAIRS": "a=b,c=d",
    "YAML_BOOL": "yes",
    "YAML_OCTAL": "0755",
    "YAML_NULL": "null",
}

DUMP_ENV = """\
import json, os, sys, time
os.makedirs("dumps", exist_ok=True)
record = {"env": dict(os.environ), "pid": os.getpid(), "ppid": os.getppid(), "cwd": os.getcwd()}
with open(os.path.join("dumps", os.environ["PS"] + ".json.tmp"), "w") as f:
    json.dump(record, f)
os.replace(os.path.join("dumps", os.environ["PS"] + ".json.tmp"), os.path.join("dumps", os.environ["PS"] + ".json"))
time.sleep(float(sys.argv[1]))
"""


def make_project(root: Path, procfile: str, env: str = "") -> Path:
    """Write a Procfile (and .env when given) into ``root`` and return it."""
    write(root / "Procfile", procfile)
    if env:
        write(root / ".env", env)
    return root


def dump_project(root: Path, stay: float) -> Path:
    """A project whose types record their environment, pid and cwd as JSON, then linger ``stay`` s."""
    write(root / "dump_env.py", DUMP_ENV)
    python = shlex.quote(sys.executable)
    return make_project(
        root,
        f"web: {python} dump_env.py {stay}\nworker: {python} dump_env.py {stay}\nidle: {python} dump_env.py {stay}\n",
    )


def formation(
    root: Path, *, counts: str = "web=2,worker=1,idle=0", env: dict[str, str] | None = None, **options: Any
) -> Formation:
    """Load the project at ``root`` into an export model, optionally swapping in ``env``."""
    project = load_project(procfile=None, root=str(root), env=None, formation=counts, port=None)
    model = build_formation(project, ExportOptions(**options))
    return model if env is None else dataclasses.replace(model, env=dict(env))


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``procdash ARGS`` in this process and return (exit status, stdout, stderr)."""
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err
