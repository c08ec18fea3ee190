"""``procdash run``: one command, or one Procfile type's command, with the formation's environment."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from procdash.core.env import child_env
from procdash.core.errors import ConfigError
from procdash.core.procfile import load_procfile
from procdash.core.project import base_port, locate
from procdash.core.sidefile import load_sidefile, sidefile_path


def cmd_run(args: argparse.Namespace) -> int:
    """Replace procdash with one command in the formation's environment; its exit code is ours.

    A command runs in the current directory, a Procfile type in the root, as in Foreman.
    """
    argv = list(args.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise ConfigError("run: expected a command, e.g. procdash run python manage.py migrate")
    located = locate(args.procfile, args.root, args.env, os.environ)
    procfile, dotenv = located.procfile, located.dotenv
    port = base_port(args.port, dotenv, os.environ) if args.port is not None or "PORT" in dotenv else None
    env = child_env(os.environ, dotenv, port=port, ps="run.1", pipes=False, color=True)
    workdir: Path | None = None
    if len(argv) == 1 and procfile.exists():
        commands = {t.name: t.command for t in load_procfile(procfile)}
        if argv[0] in commands:
            type_name = argv[0]
            argv = ["/bin/sh", "-c", commands[type_name]]
            workdir = located.root
            # A Procfile type runs with its Procfile.toml env and cwd, as it would under start.
            side_path = Path(args.options) if args.options is not None else sidefile_path(procfile)
            sidefile = load_sidefile(side_path, list(commands), located.root, required=args.options is not None)
            own = sidefile.types.get(type_name)
            if own is not None:
                env.update(own.env)
                workdir = located.root / own.cwd if own.cwd else located.root
    if len(argv) == 1 and any(ch in argv[0] for ch in " ;|&$<>()'\"`*?"):
        argv = ["/bin/sh", "-c", argv[0]]
    sys.stdout.flush()
    try:
        if workdir is not None:
            os.chdir(workdir)
        os.execvpe(argv[0], argv, env)
    except FileNotFoundError:
        print(f"procdash: {shlex.quote(argv[0])}: command not found", file=sys.stderr)
        return 127
    except PermissionError:
        print(f"procdash: {shlex.quote(argv[0])}: permission denied", file=sys.stderr)
        return 126
    return 0  # pragma: no cover - exec does not return
