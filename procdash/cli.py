"""Command line: start (default), check, run, export, ctl; Foreman and honcho flags where they exist."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import json
import math
import os
import select
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from procdash import __version__, editloop
from procdash.argv import normalize_argv
from procdash.control.connect import detach_key
from procdash.core.errors import ConfigError
from procdash.core.project import Project, load_project
from procdash.core.supervisor import RESTART_POLICIES, Supervisor, SupervisorOptions
from procdash.headless import Service
from procdash.oneoff import cmd_run

# Subcommands that live in their own packages register themselves through add_parser().
EXTENSIONS = (
    "procdash.export.command",
    "procdash.control.command",
    "procdash.control.connect",
    "procdash.ui.attach",
    "procdash.serve.command",
)
EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """argparse that reports bad input as one line and exit status 2, without the usage block."""

    commands: dict[str, argparse.ArgumentParser]  # the subcommands by name, filled in by build_parser

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


def build_parser() -> Parser:
    """The whole command line."""
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
    editloop.add_start_options(start)
    start.set_defaults(func=cmd_start)

    check = sub.add_parser("check", parents=[common], help="validate the Procfile and show the formation")
    check.set_defaults(func=cmd_check)

    run = sub.add_parser("run", parents=[common], help="run one command with the environment loaded")
    run.add_argument("argv", nargs=argparse.REMAINDER, metavar="COMMAND", help="command, or a Procfile type")
    run.set_defaults(func=cmd_run)

    for module_name in EXTENSIONS:
        if importlib.util.find_spec(module_name) is not None:
            importlib.import_module(module_name).add_parser(sub, [common])

    helper = sub.add_parser("help", help="show the help of procdash or of one command")
    helper.add_argument("topic", nargs="?", metavar="COMMAND", help="the command to describe")
    helper.set_defaults(func=lambda args: cmd_help(parser, args))
    sub.add_parser("version", help="print procdash's version").set_defaults(func=cmd_version)
    parser.commands = dict(sub.choices)
    return parser


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


def project_from(args: argparse.Namespace, only: Sequence[str] = ()) -> Project:
    """Load the formation the shared options describe: -m with Foreman's meaning, -c with honcho's, over
    Procfile.toml and .foreman."""
    return load_project(
        procfile=args.procfile,
        root=args.root,
        env=args.env,
        formation=args.formation if args.formation is not None else args.concurrency,
        formation_flag="-m" if args.formation is not None else "-c",
        port=args.port,
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
    """Start the formation: the dashboard on a terminal, headless otherwise."""
    from procdash.headless import run_headless, stdout_is_terminal

    project = project_from(args, args.types)
    apply_settings(args, project)
    quiet = quiet_types(args.quiet, project)
    on_terminal = stdout_is_terminal() and sys.stdin.isatty()
    dashboard = not args.headless and on_terminal and importlib.util.find_spec("procdash.ui.app") is not None
    color = use_color(args, stdout_is_terminal() or dashboard)
    try:
        size = os.get_terminal_size()
        pty_size = (max(40, size.columns), max(10, size.lines))
    except OSError:
        pty_size = (120, 40)
    options = SupervisorOptions(
        timeout=args.timeout,
        restart=args.restart,
        use_pty=not args.no_pty,
        color=color,
        scrollback=args.scrollback,
        pty_size=pty_size,
    )
    supervisor = Supervisor.from_project(project, options)
    loop_services = editloop.services(args, project, supervisor)
    services = start_services(args, project, dashboard=dashboard) + loop_services
    editloop.connect(services)
    if dashboard:
        app_module = importlib.import_module("procdash.ui.app")
        finished = _backstop_terminal_loss(supervisor, grace=args.timeout + 3.0)
        try:
            return int(app_module.run_dashboard(supervisor, project, args, services))
        finally:
            finished()
    return asyncio.run(
        run_headless(
            supervisor,
            color=color,
            timestamps=not args.no_timestamp,
            prefix=not args.no_prefix,
            exit_on_failure=args.exit_on_failure,
            services=services,
            quiet=quiet,
        )
    )


def start_services(args: argparse.Namespace, project: Project, *, dashboard: bool) -> list[Service]:
    """What runs beside the formation in both modes: the control socket, the headless stats summary."""
    services: list[Service] = []
    control = None
    if not getattr(args, "no_control", False):
        from procdash.control.listener import ControlUnavailable
        from procdash.control.server import ControlServer

        # ``ctl quit`` stops everything; the dashboard replaces that with its own quit (progress on screen).
        control = ControlServer(project.procfile, project.root)
        try:
            control.bind()  # before any process starts: a second procdash on this Procfile exits 2 here
        except ControlUnavailable as exc:
            # The formation matters more than its remote control: run it, and say so once.
            print(
                f"procdash: warning: no control socket (procdash ctl cannot reach this formation): {exc}",
                file=sys.stderr,
            )
            control = None
        else:
            services.append(control)
    if getattr(args, "stats", 0) > 0 and not dashboard:
        from procdash.headless import stdout_is_terminal
        from procdash.stats_report import StatsReporter

        reporter = StatsReporter.for_args(args, project, color=use_color(args, stdout_is_terminal()))
        services.append(reporter)
        if control is not None:
            control.usage = lambda: reporter.latest.instances if reporter.latest is not None else None
    return services


def cmd_check(args: argparse.Namespace) -> int:
    """Validate everything and print each type with its count, ports and command."""
    from procdash.core.depends import start_levels
    from procdash.core.formation import port_for
    from procdash.core.typeoptions import option_summary

    project = project_from(args)
    width = max(len(name) for name in project.type_names)
    print(f"{project.procfile}: {len(project.types)} process types, root {project.root}")
    for index, t in enumerate(project.types):
        count = project.counts[t.name]
        if count == 0:
            ports = "-"
        elif count == 1:
            ports = str(port_for(project.base_port, index, 1))
        else:
            ports = f"{port_for(project.base_port, index, 1)}-{port_for(project.base_port, index, count)}"
        print(f"  {t.name:<{width}}  x{count}  port {ports:<11}  {t.command}")
    if project.env_files:
        print(f"env: {', '.join(str(p) for p in project.env_files)} ({len(project.dotenv)} variables)")
    side = project.sidefile
    if side.path is not None:
        print(f"options: {side.path}")
        for key, value in side.defaults.items():
            print(f"  {key} = {toml_value(value)}")
        for t in project.types:
            parts = option_summary(project.options_for(t.name))
            if parts:
                print(f"  {t.name:<{width}}  " + "; ".join(parts))
    graph = {name: opts.depends_on for name, opts in side.types.items()}
    if any(graph.values()):
        levels = start_levels(project.type_names, graph)
        print("start order: " + " -> ".join(", ".join(level) for level in levels) + " (stop in reverse)")
    sys.stdout.flush()  # the table first, then honcho's line that scripts grep for, on stderr as honcho has it
    print(f"Valid procfile detected ({', '.join(project.type_names)})", file=sys.stderr)
    return 0


def toml_value(value: object) -> str:
    """A setting as it would be written in Procfile.toml (for ``check``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return json.dumps(value) if isinstance(value, str) else str(value)


def main(argv: Sequence[str] | None = None) -> int:
    """Run procdash; bad input is one line on stderr and exit status 2, never a traceback."""
    _fill_closed_std_streams()
    parser = build_parser()
    args = parser.parse_args(normalize_argv(sys.argv[1:] if argv is None else argv, parser.commands))
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"procdash: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    finally:
        _quiet_closed_stdout()


def _backstop_terminal_loss(supervisor: Supervisor, *, grace: float) -> Callable[[], None]:
    """Dashboard only: if the terminal hangs up and the UI has not finished ``grace`` s later, kill and exit.

    Textual's output thread dies on the EIO a closed terminal gives, and the UI thread then blocks for
    good on its full queue, so the formation would outlive the terminal. Killing every group and exiting
    hands whatever is left to the pty hangup and the guardian, as when procdash itself is killed.
    Returns the function to call once the dashboard has returned normally.
    """
    done = threading.Event()

    def watch() -> None:
        poller = select.poll()
        for fd in (0, 1):
            poller.register(fd, 0)  # no events asked for: only hangup and error conditions wake us
        gone = select.POLLHUP | select.POLLERR | select.POLLNVAL
        while not any(event & gone for _, event in poller.poll()):
            pass
        if not done.wait(grace):
            supervisor.kill_all()
            os._exit(128 + signal.SIGHUP)

    threading.Thread(target=watch, name="procdash-hangup", daemon=True).start()
    return done.set


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
