"""``procdash start``: the formation starts first; the dashboard is built around it, or headless runs.

Children start before anything they do not need is imported. Headless start never loads Textual,
rich, the export writers or the control client; the dashboard imports Textual while the formation
already runs on the same event loop, and takes over the events of that time from a Backlog.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import importlib.util
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from procdash.cli import apply_settings, project_from, quiet_types, use_color
from procdash.core.backlog import Backlog
from procdash.core.project import Project
from procdash.core.supervisor import Supervisor, SupervisorOptions
from procdash.disklogs import attach_log_files
from procdash.headless import Service, run_headless, stdout_is_terminal
from procdash.term.hangup import backstop_terminal_loss

if TYPE_CHECKING:
    from procdash.control.listener import Claim

# What stops the dashboard gracefully; before the app is up they are kept in the Backlog.
QUIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


def run_start(args: argparse.Namespace) -> int:
    """Start the formation: the dashboard on a terminal, headless otherwise."""
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
    logs, log_files = attach_log_files(args, project, supervisor)  # subscribed before any output
    claimed = claim_control(args, project)

    def services() -> list[Service]:
        """The services, built once the first processes run: what they import need not hold those up."""
        from procdash import editloop

        built = [
            *start_services(args, project, claimed, dashboard=dashboard),
            *log_files,
            editloop.edit_loop(args, project, supervisor, logs),
        ]
        editloop.connect(built)
        return built

    if dashboard:
        # Past the grace, kill every group and leave the rest to the pty hangup and the guardian.
        finished = backstop_terminal_loss(args.timeout + 3.0, supervisor.kill_all)
        try:
            return asyncio.run(run_dashboard(supervisor, project, args, services))
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


async def run_dashboard(
    supervisor: Supervisor, project: Project, args: argparse.Namespace, services: Callable[[], Sequence[Service]]
) -> int:
    """Start the formation, then import and run the dashboard on this loop; no process outlives it.

    Textual takes a few hundred milliseconds to import and set up; the children run meanwhile, and
    what they do is recorded for the app to take over once it is mounted.
    """
    loop = asyncio.get_running_loop()
    backlog = Backlog(supervisor)
    for signum in QUIT_SIGNALS:
        loop.add_signal_handler(signum, backlog.signals.append, signum)
    try:
        supervisor.start()
        app_module = importlib.import_module("procdash.ui.app")
        settings = importlib.import_module("procdash.ui.settings")
        local = importlib.import_module("procdash.view.local")
        formation = local.LocalFormation(supervisor, project, services(), backlog=backlog)
        app = app_module.ProcdashApp(formation, args, handle_signals=True, settings_path=settings.default_path())
        await app.run_async()
        return int(app.return_code or 0)
    finally:
        backlog.close()
        for signum in QUIT_SIGNALS:  # the app removes its own on unmount; these stay if it never mounted
            loop.remove_signal_handler(signum)
        if not supervisor.is_idle():
            # The app crashed or never came up: take every process down before leaving.
            supervisor.kill_all()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(supervisor.wait_idle(), supervisor.options.timeout + 3)
        supervisor.close()


def claim_control(args: argparse.Namespace, project: Project) -> Claim | None:
    """Bind the control socket before any process starts: a second procdash on this Procfile exits 2 here."""
    if getattr(args, "no_control", False):
        return None
    from procdash.control.listener import ControlUnavailable, claim

    try:
        return claim(project.procfile)
    except ControlUnavailable as exc:
        # The formation matters more than its remote control: run it, and say so once.
        warning = f"procdash: warning: no control socket (procdash ctl cannot reach this formation): {exc}"
        print(warning, file=sys.stderr)
        return None


def start_services(
    args: argparse.Namespace, project: Project, claimed: Claim | None, *, dashboard: bool
) -> list[Service]:
    """What runs beside the formation in both modes: the control socket (bound already), the headless stats summary."""
    services: list[Service] = []
    control = None
    if claimed is not None:
        from procdash.control.server import ControlServer

        # ``ctl quit`` stops everything; the dashboard replaces that with its own quit (progress on screen).
        control = ControlServer(project.procfile, project.root, claimed=claimed)
        services.append(control)
    if getattr(args, "stats", 0) > 0 and not dashboard:
        from procdash.stats_report import StatsReporter

        reporter = StatsReporter.for_args(args, project, color=use_color(args, stdout_is_terminal()))
        services.append(reporter)
        if control is not None:
            control.usage = lambda: reporter.latest.instances if reporter.latest is not None else None
    return services
