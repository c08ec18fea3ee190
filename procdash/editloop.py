"""The edit-run loop's command-line options and services: logs on disk, restart on change, reload."""

from __future__ import annotations

import argparse
from pathlib import Path

from procdash.core.logfiles import DEFAULT_KEEP, DEFAULT_MAX_SIZE, LogFiles, LogSettings
from procdash.core.project import Project
from procdash.core.rolling import RollingRestarter
from procdash.core.supervisor import Supervisor
from procdash.core.watcher import ChangeRouter, FileWatcher, rules_for
from procdash.headless import Service


class Watching:
    """The watch Service: one FileWatcher for the formation, restarting types through a RollingRestarter."""

    def __init__(self, project: Project, supervisor: Supervisor, ignored: tuple[Path, ...]) -> None:
        self.restarter = RollingRestarter(supervisor)
        self.router = ChangeRouter(project.root, rules_for(project.sidefile.types), self.restarter.request, ignored)
        self.watcher = FileWatcher(self.router)

    async def start(self, supervisor: Supervisor) -> None:
        """Begin watching."""
        await self.watcher.start(supervisor)

    async def stop(self) -> None:
        """Stop watching and cancel any roll under way."""
        await self.watcher.stop()
        await self.restarter.close()


def add_start_options(start: argparse.ArgumentParser) -> None:
    """``procdash start`` options of the edit-run loop."""
    start.add_argument(
        "--log-dir",
        metavar="DIR",
        default=None,
        help="also write every process's lines to DIR/NAME.log, timestamped and rotated (log_dir in Procfile.toml)",
    )
    start.add_argument("--no-watch", action="store_true", help="do not restart types on file changes (watch = [...])")


def log_settings(args: argparse.Namespace, project: Project) -> LogSettings:
    """--log-dir (relative to the current directory) or log_dir (relative to Procfile.toml), and each log_file."""
    directory: Path | None = None
    given = getattr(args, "log_dir", None)
    if given is not None:
        directory = Path(given).expanduser().absolute()
    elif "log_dir" in project.settings and project.sidefile.path is not None:
        directory = project.sidefile.path.parent / Path(project.settings["log_dir"]).expanduser()
    type_files = {
        t.name: project.root / Path(opts.log_file).expanduser()
        for t in project.types
        if (opts := project.options_for(t.name)).log_file is not None
    }
    return LogSettings(
        directory=directory,
        type_files=type_files or None,
        color=bool(project.settings.get("log_color", False)),
        max_size=int(project.settings.get("log_max_size", DEFAULT_MAX_SIZE)),
        keep=int(project.settings.get("log_keep", DEFAULT_KEEP)),
    )


def services(args: argparse.Namespace, project: Project, supervisor: Supervisor) -> list[Service]:
    """The edit-run loop's services for one run; log files are subscribed before anything starts."""
    found: list[Service] = []
    settings = log_settings(args, project)
    if settings.enabled:
        logs = LogFiles(settings)
        logs.attach(supervisor)
        found.append(logs)
    if not getattr(args, "no_watch", False) and any(opts.watch for opts in project.sidefile.types.values()):
        ignored = tuple(p for p in (settings.directory, *(settings.type_files or {}).values()) if p is not None)
        found.append(Watching(project, supervisor, ignored))
    return found
