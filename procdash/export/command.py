"""The ``procdash export FORMAT [DIR]`` subcommand: load the formation, render it, write or print it."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from procdash.cli import positive_float
from procdash.core.errors import ConfigError
from procdash.core.project import load_project
from procdash.core.supervisor import RESTART_POLICIES
from procdash.export.model import ExportOptions, Formation, Rendered, build_formation

STDOUT = "-"


@dataclass(frozen=True)
class Format:
    """One export target: how to render it and whether its output is a single file (so ``-`` works)."""

    module: str
    one_file: bool

    @property
    def render(self) -> Callable[[Formation, Path], Rendered]:
        """The writer, imported only when exporting so ``procdash start`` never loads YAML and friends."""
        writer: Callable[[Formation, Path], Rendered] = importlib.import_module(self.module).render
        return writer


FORMATS: dict[str, Format] = {
    "systemd": Format("procdash.export.systemd", one_file=False),
    "supervisord": Format("procdash.export.supervisord", one_file=True),
    "compose": Format("procdash.export.compose", one_file=True),
    "kubernetes": Format("procdash.export.kubernetes", one_file=True),
}


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]
) -> None:
    """Register ``export`` with the Foreman option spellings plus --restart and --image."""
    parser = subparsers.add_parser(
        "export",
        parents=parents,
        help="write the formation out for systemd, supervisord, Docker Compose or Kubernetes",
        description="Write the formation out for a real process engine. Existing files are overwritten.",
    )
    parser.add_argument("format", choices=list(FORMATS), metavar="FORMAT", help=", ".join(FORMATS))
    parser.add_argument(
        "location",
        nargs="?",
        default=STDOUT,
        metavar="DIR",
        help="directory to write into (created if missing); '-' or nothing prints a one-file format",
    )
    parser.add_argument("-a", "--app", help="app name (default: the root directory's name, made valid)")
    parser.add_argument("-u", "--user", help="user the processes run as")
    parser.add_argument("-l", "--log", help="directory for log files (systemd, supervisord)")
    parser.add_argument(
        "-t", "--timeout", type=positive_float, default=None, help="seconds between SIGTERM and SIGKILL (default 5)"
    )
    parser.add_argument("--restart", choices=RESTART_POLICIES, default=None, help="restart policy (default: always)")
    parser.add_argument("--image", help="container image (required for kubernetes; compose builds . without it)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Render the chosen format and write its files (saying which were replaced) or print the one file."""
    fmt = FORMATS[args.format]
    to_stdout = args.location == STDOUT
    if to_stdout and not fmt.one_file:
        raise ConfigError(
            f"{args.format} writes several files: name a directory, e.g. procdash export {args.format} out"
        )
    project = load_project(
        procfile=args.procfile,
        root=args.root,
        env=args.env,
        formation=args.formation if args.formation is not None else args.concurrency,
        formation_flag="-m" if args.formation is not None else "-c",
        port=args.port,
        options_file=args.options,
        foreman_dir=Path.cwd(),
    )
    options = ExportOptions(
        app=args.app,
        user=args.user,
        log=Path(args.log).expanduser().absolute() if args.log is not None else None,
        timeout=project.setting("timeout", args.timeout, 5.0),
        restart=project.setting("restart", args.restart, "always"),
        image=args.image,
    )
    target = Path.cwd() if to_stdout else Path(args.location).expanduser().absolute()
    rendered = fmt.render(build_formation(project, options), target)
    for note in rendered.notes:
        print(f"procdash export: {note}", file=sys.stderr)
    if to_stdout:
        sys.stdout.write(rendered.files[0].text)
        return 0
    write_files(rendered, target)
    if rendered.next_steps:
        print("next:")
        for step in rendered.next_steps:
            print(f"  {step}")
    return 0


def write_files(rendered: Rendered, target: Path) -> None:
    """Create the directory and write each file, printing "wrote" or "overwrote" like Foreman does."""
    if target.exists() and not target.is_dir():
        raise ConfigError("not a directory", path=str(target))
    try:
        target.mkdir(parents=True, exist_ok=True)
        for item in rendered.files:
            path = target / item.name
            verb = "overwrote" if path.exists() else "wrote"
            path.write_text(item.text, encoding="utf-8", newline="\n")
            print(f"{verb} {path}")
    except OSError as exc:
        raise ConfigError(f"cannot write: {exc.strerror}", path=str(exc.filename or target)) from None
