"""The edit-run loop's services: logs on disk, restart on change, reload, save (cli.py holds their options).

``services()`` builds them for one run; ``connect()`` hands ``ctl reload`` and ``ctl scale --save`` to
the control server; the dashboard finds the same ``EditLoop`` among its services for ctrl+r and S.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path

from procdash.core.formation_file import save_formation
from procdash.core.globs import PathPatterns
from procdash.core.logfiles import LogSettings
from procdash.core.project import Project
from procdash.core.reload import Reloader, ReloadResult
from procdash.core.rolling import RollingRestarter
from procdash.core.sidefile import sidefile_path
from procdash.core.supervisor import Supervisor
from procdash.core.watcher import ChangeRouter, FileWatcher, WatchRule, rules_for
from procdash.disklogs import attach_log_files
from procdash.headless import Service

RELOAD_RULE = "\0reload"  # the router's name for "the project's own files changed" (no type can be called that)


def project_files(project: Project) -> list[Path]:
    """The files a reload re-reads: the Procfile, its options file, the .env files (ROOT/.env even if missing)."""
    side = project.sidefile.path or sidefile_path(project.procfile)
    return list(dict.fromkeys([project.procfile, side, *project.env_files, project.root / ".env"]))


class EditLoop:
    """One Service for watch, reload and save: the rolling restarter, the reloader and the one file watcher."""

    def __init__(
        self,
        project: Project,
        supervisor: Supervisor,
        load: Callable[[], Project],
        *,
        watch: bool,
        ignored: tuple[Path, ...],
    ) -> None:
        self.supervisor = supervisor
        self.watch = watch
        self.restarter = RollingRestarter(supervisor)
        self.reloader = Reloader(supervisor, project, load, self.restarter.request)
        self.reloader.on_reloaded.append(self._reconfigure)
        self.router = ChangeRouter(project.root, self._rules(project), self._changed, ignored)
        self.watcher = FileWatcher(self.router)
        self._restarting: asyncio.Task[None] | None = None

    @property
    def project(self) -> Project:
        """The project as last loaded (at start or by the latest reload)."""
        return self.reloader.project

    def _rules(self, project: Project) -> dict[str, WatchRule]:
        """Every type's watch rule, and with reload = "auto" one for the project's own files."""
        if not self.watch:
            return {}
        rules = rules_for(project.sidefile.types)
        if project.settings.get("reload") == "auto":
            names = []
            for path in project_files(project):
                # A file outside the root cannot be named by a root-relative pattern, so it is not watched.
                with contextlib.suppress(ValueError):
                    names.append(path.relative_to(project.root).as_posix())
            if names:
                rules[RELOAD_RULE] = WatchRule(PathPatterns(names), PathPatterns(()), 0.3)
        return rules

    async def start(self, supervisor: Supervisor) -> None:
        """Begin watching (when anything is to be watched) and follow removed types."""
        await self.reloader.start(supervisor)
        await self.watcher.start(supervisor)

    async def stop(self) -> None:
        """Stop watching and cancel any roll under way."""
        if self._restarting is not None:
            await self._restarting
        await self.watcher.stop()
        await self.restarter.close()
        await self.reloader.stop()

    def _changed(self, name: str, reason: str) -> None:
        """The router fired: restart a type, or reload when the project's files changed."""
        if name == RELOAD_RULE:
            self.reload()
        else:
            self.restarter.request(name, reason)

    def reload(self) -> ReloadResult:
        """Re-read the files and apply what changed (ctl reload, ctrl+r, reload = "auto")."""
        return self.reloader.reload()

    def save(self) -> str:
        """Write the current formation into the options file; returns the line to show. Raises ConfigError."""
        project = self.project
        path = project.sidefile.path or sidefile_path(project.procfile)
        written = save_formation(path, self.supervisor.desired)
        return f"saved formation {written} to {path}"

    def _reconfigure(self, project: Project) -> None:
        """After a reload: the watcher follows the new watch rules (restarted when its directories change)."""
        old_dirs = self.router.watch_dirs()
        self.router.cancel()
        self.router.root = project.root
        self.router.rules = self._rules(project)
        if self.router.watch_dirs() != old_dirs:
            self._restarting = asyncio.get_running_loop().create_task(self._restart_watcher())

    async def _restart_watcher(self) -> None:
        """Stop the watcher and start it on the new directories."""
        await self.watcher.stop()
        await self.watcher.start(self.supervisor)


def services(args: argparse.Namespace, project: Project, supervisor: Supervisor) -> list[Service]:
    """The edit-run loop's services for one run; log files are subscribed before anything starts."""
    settings, logs = attach_log_files(args, project, supervisor)
    return [*logs, edit_loop(args, project, supervisor, settings)]


def edit_loop(args: argparse.Namespace, project: Project, supervisor: Supervisor, logs: LogSettings) -> EditLoop:
    """Watch, reload and save for one run; the log files it writes are never watched."""
    ignored = tuple(p for p in (logs.directory, *(logs.type_files or {}).values()) if p is not None)
    return EditLoop(project, supervisor, _loader(args), watch=not getattr(args, "no_watch", False), ignored=ignored)


def _loader(args: argparse.Namespace) -> Callable[[], Project]:
    """Load the project again exactly as ``procdash start`` did, from the same options."""

    def load() -> Project:
        from procdash.cli import project_from  # the command line's own loader; imported late (cli imports us)

        return project_from(args, getattr(args, "types", ()) or ())

    return load


def find(services: Sequence[object]) -> EditLoop | None:
    """The EditLoop among a run's services."""
    return next((s for s in services if isinstance(s, EditLoop)), None)


def connect(services: Sequence[object]) -> None:
    """Give the control server ``reload`` and ``scale --save``."""
    loop = find(services)
    if loop is None:
        return
    for service in services:
        if hasattr(service, "on_reload") and hasattr(service, "on_save"):
            service.on_reload = loop.reload
            service.on_save = loop.save
