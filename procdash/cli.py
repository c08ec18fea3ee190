"""Command line: start (default), check, run, export, ctl; Foreman and honcho flags where they exist."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from procdash import __version__
from procdash.argv import TOP_LEVEL, normalize_argv
from procdash.core.errors import ConfigError
from procdash.core.options import RESTART_POLICIES
from procdash.core.project import Project, load_project
from procdash.oneoff import cmd_run
from procdash.term.keys import parse_key_spec

# Subcommands that live in their own packages, by name: each module registers its command through
# add_parser(). They are imported only when one of them (or help) is asked for, so ``procdash start``
# never loads the export writers or the control client.
EXTENSIONS = {
    "export": "procdash.export.command",
    "ctl": "procdash.control.command",
    "connect": "procdash.control.connect",
    "attach": "procdash.ui.attach",
    "serve": "procdash.serve.command",
}
EXIT_USAGE = 2


def terminal_columns() -> int:
    """The width help is wrapped to: COLUMNS, else the terminal's, else 80 (shutil.get_terminal_size's rule)."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help layout, sized without shutil, which argparse imports for it on every add_argument.

    shutil loads three compression libraries (0.7 MB) that ``procdash start`` has no other use for.
    """

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None):
        width = terminal_columns() - 2 if width is None else width
        super().__init__(prog, indent_increment, max_help_position, width)


class Parser(argparse.ArgumentParser):
    """argparse that reports bad input as one line and exit status 2, without the usage block."""

    commands: dict[str, argparse.ArgumentParser]  # the subcommands by name, filled in by build_parser

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """Print ``procdash: error: ...`` and exit 2."""
        self.exit(EXIT_USAGE, f"procdash: error: {message}\n")


def positive_float(text: str) -> float:
    """A non-negative, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative number of seconds, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def detach_key(text: str) -> str:
    """argparse type for --detach-key: a key procdash can tell apart from what programs need."""
    try:
        parse_key_spec(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def project_options() -> Parser:
    """The options every formation-reading command shares (Foreman/honcho spelling)."""
    common = Parser(add_help=False)
    common.add_argument(
        "-f",
        "--procfile",
        help="Procfile to read (default: PROCFILE from .env, then from the environment, else ROOT/Procfile)",
    )
    common.add_argument("-e", "--env", help="comma-separated .env files, later ones win (default: ROOT/.env)")
    common.add_argument(
        "-d", "--root", "--app-root", help="directory processes run in (default: the Procfile's directory)"
    )
    counts = common.add_mutually_exclusive_group()
    counts.add_argument(
        "-m",
        "--formation",
        metavar="SPEC",
        help="Foreman's formation: start only the listed types, e.g. web=2,worker=1; all=N sets the rest "
        "(default all=1)",
    )
    counts.add_argument(
        "-c",
        "--concurrency",
        metavar="SPEC",
        help="honcho's concurrency: web=2 leaves unlisted types at 1; name=0 skips a type, all=N sets the rest",
    )
    common.add_argument("-p", "--port", help="base port (default: PORT from .env or the environment, else 5000)")
    common.add_argument(
        "--options", metavar="FILE", help="per-type options file (default: the Procfile's name + .toml, if present)"
    )
    return common


def build_parser(extensions: bool = True) -> Parser:
    """The whole command line; without ``extensions``, only the commands defined here (the quick path)."""
    parser = Parser(
        prog="procdash",
        description="Run a Procfile formation with a live dashboard (headless when not on a terminal).",
        epilog="Without a COMMAND, start is meant (procdash web worker, procdash -m web=2). As in honcho, the "
        "common options (-f, -e, -d, -m, -c, -p, --no-color, --no-prefix) may also come before the COMMAND.",
    )
    parser.add_argument("-v", "--version", action="version", version=f"procdash {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    common = project_options()

    start = sub.add_parser("start", parents=[common], help="start the formation (the default command)")
    start.add_argument("types", nargs="*", metavar="TYPE", help="only start these process types")
    start.add_argument(
        "-t",
        "--timeout",
        type=positive_float,
        default=None,
        help="seconds between SIGTERM and SIGKILL when stopping (default 5)",
    )
    start.add_argument(
        "--restart",
        choices=RESTART_POLICIES,
        default=None,
        help="restart policy for processes that end on their own (default: no)",
    )
    start.add_argument("--no-pty", action="store_true", help="use pipes instead of a pty per process")
    start.add_argument(
        "--detach-key",
        type=detach_key,
        default="ctrl+]",
        metavar="KEY",
        help="dashboard: the key that leaves input mode or a connected terminal (default ctrl+])",
    )
    start.add_argument("--headless", action="store_true", help="print prefixed logs instead of the dashboard")
    start.add_argument("--no-control", action="store_true", help="no control socket (procdash ctl cannot reach it)")
    start.add_argument("--color", action="store_true", help="colour headless output even when not a terminal")
    start.add_argument("--no-color", "--no-colour", action="store_true", help="no colour (also when NO_COLOR is set)")
    start.add_argument("--no-timestamp", "--no-prefix-time", action="store_true", help="headless: no time column")
    start.add_argument(
        "-q",
        "--quiet",
        metavar="TYPES",
        help="headless: hide the output of these types (web,worker); procdash's own lines stay",
    )
    start.add_argument("--no-prefix", action="store_true", help="headless: no time or name prefix at all")
    start.add_argument(
        "--exit-on-failure",
        action="store_true",
        help="stop everything and exit with its code when a process fails for good",
    )
    start.add_argument("--scrollback", type=positive_int, default=None, help="lines kept per process (default 10000)")
    start.add_argument(
        "--stats",
        type=positive_float,
        default=0,
        metavar="SECONDS",
        help="headless: print a CPU/memory summary per type every SECONDS (default off)",
    )
    start.add_argument(
        "--stats-interval",
        type=positive_float,
        default=None,
        metavar="SECONDS",
        help="how often CPU and memory are sampled (default 1)",
    )
    add_edit_loop_options(start)
    start.set_defaults(func=cmd_start)

    check = sub.add_parser("check", parents=[common], help="validate the Procfile and show the formation")
    check.set_defaults(func=cmd_check)

    run = sub.add_parser("run", parents=[common], help="run one command with the environment loaded")
    run.add_argument("argv", nargs=argparse.REMAINDER, metavar="COMMAND", help="command, or a Procfile type")
    run.set_defaults(func=cmd_run)

    for module_name in EXTENSIONS.values() if extensions else ():
        if importlib.util.find_spec(module_name) is not None:
            importlib.import_module(module_name).add_parser(sub, [common])

    helper = sub.add_parser("help", help="show the help of procdash or of one command")
    helper.add_argument("topic", nargs="?", metavar="COMMAND", help="the command to describe")
    helper.set_defaults(func=lambda args: cmd_help(parser, args))
    sub.add_parser("version", help="print procdash's version").set_defaults(func=cmd_version)
    parser.commands = dict(sub.choices)
    return parser


def add_edit_loop_options(start: argparse.ArgumentParser) -> None:
    """``procdash start`` options of the edit-run loop (procdash.editloop)."""
    start.add_argument(
        "--log-dir",
        metavar="DIR",
        default=None,
        help="also write every process's lines to DIR/NAME.log, timestamped and rotated (log_dir in Procfile.toml)",
    )
    start.add_argument(
        "--no-watch",
        action="store_true",
        help='watch no files: no restart on change (watch = [...]) and no reload = "auto"',
    )


def parser_for(argv: Sequence[str]) -> tuple[Parser, list[str]]:
    """The parser ``argv`` needs and the arguments in procdash's grammar.

    The extension commands are registered only when argv names one of them or asks for help;
    their names alone are enough to tell them from a process type.
    """
    quick = build_parser(extensions=False)
    placeholders = {name: Parser(add_help=False) for name in EXTENSIONS}
    normalized = normalize_argv(argv, {**quick.commands, **placeholders})
    command = normalized[0] if normalized else ""
    if command in EXTENSIONS or command == "help" or command in TOP_LEVEL:
        full = build_parser()
        return full, normalize_argv(argv, full.commands)
    return quick, normalized


def cmd_help(parser: Parser, args: argparse.Namespace) -> int:
    """``procdash help [COMMAND]``, as in Foreman and honcho: the same text as ``--help``."""
    if args.topic is None:
        parser.print_help()
    elif args.topic in parser.commands:
        parser.commands[args.topic].print_help()
    else:
        raise ConfigError(f"help: unknown command {args.topic!r} (one of {', '.join(parser.commands)})")
    return 0


def cmd_version(args: argparse.Namespace) -> int:
    """``procdash version``, as in Foreman and honcho."""
    print(f"procdash {__version__}")
    return 0


def project_from(args: argparse.Namespace, only: Sequence[str] = (), *, port_option: str = "port") -> Project:
    """Load the formation the shared options describe: -m with Foreman's meaning, -c with honcho's, over
    Procfile.toml and .foreman (``port_option`` names where the base port is, ``-p`` being serve's too)."""
    return load_project(
        procfile=args.procfile,
        root=args.root,
        env=args.env,
        formation=args.formation if args.formation is not None else args.concurrency,
        formation_flag="-m" if args.formation is not None else "-c",
        port=getattr(args, port_option),
        only=only,
        options_file=args.options,
        foreman_dir=Path.cwd(),
    )


def quiet_types(spec: str | None, project: Project) -> frozenset[str]:
    """The types -q names (honcho's ``-q web,worker``); an unknown name is bad input."""
    names = frozenset(part.strip() for part in (spec or "").split(",") if part.strip())
    unknown = sorted(names - set(project.type_names))
    if unknown:
        raise ConfigError(f"-q: unknown process type {unknown[0]!r} (the Procfile has {', '.join(project.type_names)})")
    return names


# start's options that Procfile.toml may set (its key, argparse's dest, procdash's default).
FILE_SETTINGS = (
    ("timeout", "timeout", 5.0),
    ("restart", "restart", "no"),
    ("no-pty", "no_pty", False),
    ("exit-on-failure", "exit_on_failure", False),
    ("scrollback", "scrollback", 10_000),
    ("stats-interval", "stats_interval", 1.0),
)


def apply_settings(args: argparse.Namespace, project: Project) -> None:
    """Fill each option the command line left out from the files, then from procdash's default."""
    for key, dest, default in FILE_SETTINGS:
        if hasattr(args, dest):
            setattr(args, dest, project.setting(key, getattr(args, dest), default))


def use_color(args: argparse.Namespace, on_terminal: bool) -> bool:
    """Colour when asked, else on a terminal, never with --no-color or NO_COLOR."""
    if args.no_color or "NO_COLOR" in os.environ:
        return False
    return args.color or bool(os.environ.get("FORCE_COLOR")) or on_terminal


def cmd_start(args: argparse.Namespace) -> int:
    """Start the formation: the dashboard on a terminal, headless otherwise (procdash.start)."""
    from procdash import lean

    lean.import_asyncio()  # before anything imports asyncio with its ssl
    from procdash.start import run_start

    return run_start(args)


def cmd_check(args: argparse.Namespace) -> int:
    """Validate everything and print each type with its count, ports and command (procdash.check)."""
    from procdash.check import run_check

    return run_check(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run procdash; bad input is one line on stderr and exit status 2, never a traceback."""
    _fill_closed_std_streams()
    parser, arguments = parser_for(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(arguments)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"procdash: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    finally:
        _quiet_closed_stdout()


def _fill_closed_std_streams() -> None:
    """Put /dev/null on a stdin, stdout or stderr procdash was started without (``<&-``), as daemons do.

    Python leaves such a stream as None, and the fd number would otherwise go to the first pty opened.
    """
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is None:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            setattr(sys, name, open(fd, "r" if fd == 0 else "w", closefd=False))  # noqa: SIM115


def _quiet_closed_stdout() -> None:
    """After ``procdash | head`` closed the pipe, keep Python from complaining at exit."""
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
