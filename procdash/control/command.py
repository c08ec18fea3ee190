"""``procdash ctl``: the command line client for a running procdash (status, scale, restart, logs, quit)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from procdash.control import protocol as p
from procdash.control.client import DEFAULT_TIMEOUT, ConnectionLost, ControlClient, NotRunning, ServerError, find_socket
from procdash.control.render import status_text, strip_sgr
from procdash.core.errors import ConfigError
from procdash.core.project import locate
from procdash.term.escapes import unescape

EXIT_FAILED = 1
QUIT_GRACE = 10.0  # seconds beyond procdash's own stop timeout that ``ctl quit`` waits for it to finish

DESCRIPTION = """\
Control the procdash running for a Procfile (found from -f/-d like `procdash start`, or --socket).
Targets of restart/stop/start are instance names (web.1), type names (web) or globs ('web.*'); none means all."""


def seconds(text: str) -> float:
    """A positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _where(parser: argparse.ArgumentParser, *, short_f: bool, suppress: bool) -> None:
    """Options choosing which procdash to talk to; after the action they only override when given."""
    default = argparse.SUPPRESS if suppress else None
    flags = ["-f", "--procfile"] if short_f else ["--procfile"]
    parser.add_argument(*flags, dest="procfile", default=default, help="the running formation's Procfile")
    parser.add_argument("-d", "--root", dest="root", default=default, help="its root (the Procfile is ROOT/Procfile)")
    parser.add_argument("--socket", dest="socket", metavar="PATH", default=default, help="talk to this socket instead")


def add_where(parser: argparse.ArgumentParser) -> None:
    """-f/-d/--socket for a command outside ``ctl`` that talks to a running procdash (``connect``)."""
    _where(parser, short_f=True, suppress=False)


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``procdash ctl`` and its actions; ``parents`` (start's options) do not apply to a client."""
    ctl = subparsers.add_parser(
        "ctl",
        help="control a running procdash: status, scale, restart, stop, start, logs, reload, quit",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _where(ctl, short_f=True, suppress=False)
    ctl.add_argument(
        "--timeout",
        type=seconds,
        default=DEFAULT_TIMEOUT,
        help=f"seconds to wait for an answer (default {DEFAULT_TIMEOUT:g})",
    )
    ctl.set_defaults(func=run)
    actions = ctl.add_subparsers(dest="action", metavar="ACTION", required=True)

    status = actions.add_parser("status", help="every process: state, pid, port, uptime, restarts, CPU, memory")
    status.add_argument("--json", action="store_true", help="print the server's JSON reply")
    scale = actions.add_parser("scale", help="set counts: web=3 worker=+1 (or web=3,worker=-1)")
    scale.add_argument("specs", nargs="+", metavar="TYPE=N", help="absolute count, or +N / -N")
    scale.add_argument("--save", action="store_true", help="also write the formation into Procfile.toml")
    actions.add_parser("reload", help="re-read the Procfile, Procfile.toml and .env: start, stop, restart what changed")
    for name, what in (
        ("restart", "restart processes now (also from backoff or fatal)"),
        ("stop", "stop processes and keep them stopped"),
        ("start", "start stopped, exited or crashed processes"),
    ):
        action = actions.add_parser(name, help=f"{what}; targets: names, types or globs (none = all)")
        action.add_argument("targets", nargs="*", metavar="TARGET")
    logs = actions.add_parser("logs", help="print a process's recent output, and follow it with -f")
    logs.add_argument("name", metavar="NAME", help="instance (web.1), or a type with one instance")
    logs.add_argument(
        "-n", "--lines", type=int, default=p.DEFAULT_LOG_LINES, help="how many recent lines (default 100)"
    )
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines until interrupted")
    send = actions.add_parser("send", help="type TEXT into a process's terminal (escapes: \\r \\x03 \\e \\uHHHH)")
    send.add_argument("name", metavar="NAME", help="instance (web.1), or a type with one instance")
    send.add_argument("text", metavar="TEXT", help="what to type; backslash escapes are understood")
    send.add_argument("--enter", action="store_true", help="press Enter after the text")
    actions.add_parser("quit", help="stop every process and end procdash; returns once it has finished")
    for action_parser in actions.choices.values():
        _where(action_parser, short_f=action_parser not in (logs, send), suppress=True)


def socket_for(args: argparse.Namespace) -> Path:
    """The socket to talk to: --socket, else the one for the Procfile that -f/-d name."""
    if args.socket:
        return Path(args.socket)
    return find_socket(locate(args.procfile, args.root, None, os.environ).procfile)


def fail(message: str) -> int:
    """Print one error line and return the failure status."""
    print(f"procdash: ctl: {message}", file=sys.stderr)
    return EXIT_FAILED


def run(args: argparse.Namespace) -> int:
    """Carry out one ``ctl`` action; 0 on success, 1 when nothing runs or the server says no, 2 for bad input."""
    try:
        path = socket_for(args)
        with ControlClient(path, timeout=args.timeout) as client:
            return ACTIONS[args.action](client, args)
    except NotRunning as exc:
        return fail(str(exc))
    except ServerError as exc:
        return fail(str(exc))
    except ConnectionLost as exc:
        return fail(str(exc))
    except TimeoutError:
        return fail(f"procdash did not answer within {args.timeout:g}s")
    except PermissionError as exc:
        return fail(f"cannot connect: {exc.strerror}")
    except OSError as exc:
        return fail(f"cannot talk to procdash: {exc.strerror or exc}")


def do_status(client: ControlClient, args: argparse.Namespace) -> int:
    """Print the status table, or the raw reply with --json."""
    reply = client.call("status")
    if args.json:
        print(json.dumps(reply, indent=2))
    else:
        print(status_text(reply))
    return 0


def do_scale(client: ControlClient, args: argparse.Namespace) -> int:
    """Change desired counts and print the resulting formation."""
    try:
        changes = p.parse_scale_spec(args.specs)
    except ValueError as exc:
        raise ConfigError(f"ctl scale: {exc}") from None
    extra = {"save": True} if args.save else {}
    reply = client.call("scale", changes=p.scale_payload(changes), **extra)
    desired = reply.get("desired") or {}
    print("formation: " + ", ".join(f"{name}={count}" for name, count in desired.items()))
    if reply.get("saved"):
        print(reply["saved"])
    return 0


def do_reload(client: ControlClient, args: argparse.Namespace) -> int:
    """Reload the project's files and say what changed (an unparsable file is an error: nothing changed)."""
    reply = client.call("reload")
    print(reply.get("summary") or "reloaded")
    return 0


def do_control(client: ControlClient, args: argparse.Namespace) -> int:
    """restart / stop / start, then say which processes it concerned."""
    reply = client.call(args.action, targets=list(args.targets))
    names = reply.get("names") or []
    done = {"restart": "restarting", "stop": "stopping", "start": "starting"}[args.action]
    print(f"{done}: {', '.join(names)}" if names else "no processes")
    return 0


def _print_lines(lines: list[str], color: bool) -> None:
    """Write log lines, without colour escapes unless stdout is a terminal that wants them."""
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text if color else strip_sgr(text))
    sys.stdout.flush()


def do_logs(client: ControlClient, args: argparse.Namespace) -> int:
    """Print the newest lines; with -f keep printing new ones until procdash ends the stream or Ctrl-C."""
    if args.lines < 0:
        raise ConfigError("ctl logs: -n must be 0 or more")
    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    reply = client.call("logs", name=args.name, lines=min(args.lines, p.MAX_LOG_LINES), follow=args.follow)
    try:
        if reply.get("lines"):
            _print_lines(reply["lines"], color)
        if not args.follow:
            return 0
        client.settimeout(None)
        # On a terminal the unfinished line (a prompt, a progress bar) shows in place until it completes.
        live = sys.stdout.isatty()
        partial = False
        for message in client.events():
            kind = message.get("event")
            if kind == "partial" and live:
                text = str(message.get("text") or "")
                sys.stdout.write("\r\x1b[K" + (text if color else strip_sgr(text)))
                sys.stdout.flush()
                partial = bool(text)
            elif kind == "lines":
                if partial:
                    sys.stdout.write("\r\x1b[K")
                    partial = False
                _print_lines(message.get("lines") or [], color)
            elif message.get("event") == "end":
                print(f"procdash: ctl: {message.get('reason', 'stream ended')}", file=sys.stderr)
    except BrokenPipeError:
        return 0
    return 0


def do_send(client: ControlClient, args: argparse.Namespace) -> int:
    """Type text (escapes decoded, Enter if asked) into one process's terminal."""
    try:
        text = unescape(args.text)
    except ValueError as exc:
        raise ConfigError(f"ctl send: {exc}") from None
    if args.enter:
        text += "\r"
    if not text:
        raise ConfigError("ctl send: nothing to send (give TEXT or --enter)")
    client.call("send", name=args.name, text=text)
    return 0


def do_quit(client: ControlClient, args: argparse.Namespace) -> int:
    """Ask procdash to stop everything and wait until it has (it closes the connection when done)."""
    reply = client.call("quit")
    timeout = float(reply.get("timeout") or 0) + QUIT_GRACE
    client.settimeout(timeout)
    try:
        client.wait_closed()
    except TimeoutError:
        return fail(f"procdash is still stopping after {timeout:g}s")
    print("procdash stopped")
    return 0


ACTIONS = {
    "status": do_status,
    "scale": do_scale,
    "restart": do_control,
    "stop": do_control,
    "start": do_control,
    "logs": do_logs,
    "reload": do_reload,
    "send": do_send,
    "quit": do_quit,
}
