"""``procdash serve``: its command line (kept light: the web server is imported only when it runs)."""

from __future__ import annotations

import argparse
from typing import Any

from procdash.cli import positive_float
from procdash.core.options import RESTART_POLICIES
from procdash.serve.address import DEFAULT_HOST, DEFAULT_PORT, host_text, port_number

DESCRIPTION = """\
Serve the dashboard in a browser. It runs the formation as `procdash start --headless` does (its logs
on this terminal), or, when a procdash already runs for this Procfile, serves that one. Every browser
tab is a `procdash attach` to the same formation. The printed URL carries a random token; without it,
or from another site, or under another host name, the server refuses."""


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``procdash serve``; start's common options are its own here, since ``--port`` is the web port."""
    serve = subparsers.add_parser(
        "serve",
        help="serve the dashboard in a browser (loopback, with a token in the URL)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("types", nargs="*", metavar="TYPE", help="only start these process types")
    serve.add_argument(
        "--host",
        type=host_text,
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}; anything not loopback is a warning)",
    )
    serve.add_argument(
        "--port", type=port_number, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT}; 0: any)"
    )
    serve.add_argument("--socket", metavar="PATH", help="serve the procdash listening on this control socket")
    serve.add_argument("-f", "--procfile", help="Procfile to read (as for start)")
    serve.add_argument("-d", "--root", "--app-root", help="directory processes run in (as for start)")
    serve.add_argument("-e", "--env", help="comma-separated .env files, later ones win (as for start)")
    counts = serve.add_mutually_exclusive_group()
    counts.add_argument("-m", "--formation", metavar="SPEC", help="Foreman's formation, as for start")
    counts.add_argument("-c", "--concurrency", metavar="SPEC", help="honcho's concurrency, as for start")
    serve.add_argument("-p", dest="base_port", metavar="N", help="the formation's base port (start's -p/--port)")
    serve.add_argument("--options", metavar="FILE", help="per-type options file (as for start)")
    serve.add_argument(
        "-t",
        "--timeout",
        type=positive_float,
        default=None,
        help="seconds between SIGTERM and SIGKILL when stopping (default 5)",
    )
    serve.add_argument("--restart", choices=RESTART_POLICIES, default=None, help="restart policy (as for start)")
    serve.add_argument("--no-pty", action="store_true", help="pipes instead of a pty per process (as for start)")
    serve.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Carry out ``procdash serve``."""
    from procdash.serve.main import serve

    return serve(args)
