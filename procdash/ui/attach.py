"""``procdash attach``: the full dashboard on a procdash already running for a Procfile (headless or not)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from procdash.cli import detach_key
from procdash.control import protocol as p
from procdash.control.client import ConnectionLost, ControlClient, NotRunning, ServerError
from procdash.control.connect import DEFAULT_DETACH
from procdash.core.errors import ConfigError
from procdash.term.hangup import backstop_terminal_loss

CHECK_TIMEOUT = 5.0
NEEDED_PROTOCOL = 3  # resize, send keys, logs since and usage events
HANGUP_GRACE = 3.0


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``procdash attach``."""
    from procdash.control.command import add_where

    attach = subparsers.add_parser(
        "attach",
        help="open the dashboard on the procdash running for a Procfile (q leaves, it keeps running)",
        description="Open the full dashboard on the procdash already running for a Procfile, headless or "
        "with its own dashboard: table, logs with their scrollback, scaling, restarts, input mode and connect. "
        "q leaves this view and the formation keeps running; Q asks, then stops every process and ends procdash.",
    )
    add_where(attach)
    attach.add_argument(
        "--detach-key",
        type=detach_key,
        default=DEFAULT_DETACH,
        metavar="KEY",
        help=f"the key that leaves input mode or a connected terminal (default {DEFAULT_DETACH})",
    )
    attach.add_argument(
        "--stats-interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="how often procdash sends CPU and memory readings (default 1; 0: none)",
    )
    attach.set_defaults(func=run)


def check_server(path: Path) -> dict[str, Any]:
    """Who serves on the socket; ConfigError (exit status 2) when nothing does or it speaks another protocol."""
    try:
        with ControlClient(path, timeout=CHECK_TIMEOUT) as client:
            reply = client.call("info")
    except NotRunning as exc:
        raise ConfigError(f"attach: {exc}") from None
    except ServerError as exc:
        raise ConfigError(f"attach: procdash on {path} refused: {exc}") from None
    except (ConnectionLost, OSError, ValueError) as exc:
        raise ConfigError(f"attach: cannot talk to procdash on {path}: {exc}") from None
    server = reply.get("server") or {}
    version = server.get("protocol")
    if not isinstance(version, int) or version < NEEDED_PROTOCOL:
        raise ConfigError(
            f"attach: procdash (pid {server.get('pid')}) speaks control protocol {version}, attach needs "
            f"{NEEDED_PROTOCOL} or later (procdash {server.get('version')} is older than this one)"
        )
    if version not in p.ACCEPTED_VERSIONS:
        raise ConfigError(
            f"attach: procdash (pid {server.get('pid')}) speaks control protocol {version}, this procdash "
            f"speaks {p.PROTOCOL_VERSION} (procdash {server.get('version')} is newer than this one)"
        )
    return dict(server)


def run(args: argparse.Namespace) -> int:
    """Attach until the person leaves (0), procdash ends (0, said on stderr) or the view fails (1)."""
    from procdash.control.command import socket_for

    if args.stats_interval < 0:
        raise ConfigError("attach: --stats-interval must be 0 or more")
    try:
        path = socket_for(args)
    except NotRunning as exc:
        raise ConfigError(f"attach: {exc}") from None
    server = check_server(path)

    from procdash.ui import settings
    from procdash.ui.app import ProcdashApp
    from procdash.view.remote import RemoteFormation

    formation = RemoteFormation(path, server, usage_interval=args.stats_interval)
    app = ProcdashApp(formation, args, handle_signals=True, settings_path=settings.default_path())
    finished = backstop_terminal_loss(HANGUP_GRACE)  # a view owns no process: leaving is all there is to do
    try:
        app.run()
    finally:
        finished()
    if app.ended_reason:
        print(f"procdash: attach: {app.ended_reason} (pid {server.get('pid')})", file=sys.stderr)
    return app.return_code or 0
