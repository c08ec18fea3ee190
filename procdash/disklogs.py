"""Logs on disk for one run: ``--log-dir``, ``log_dir`` and each type's ``log_file``, subscribed before anything starts.

Apart from the edit-run loop, because ``procdash start`` attaches these before its first process runs and
builds the loop afterwards.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from procdash.core.logfiles import DEFAULT_KEEP, DEFAULT_MAX_SIZE, LogFiles, LogSettings
from procdash.core.project import Project
from procdash.core.supervisor import Supervisor
from procdash.headless import Service


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


def attach_log_files(
    args: argparse.Namespace, project: Project, supervisor: Supervisor
) -> tuple[LogSettings, list[Service]]:
    """The run's log settings, and the LogFiles service (when logs go to disk) already subscribed to ``supervisor``."""
    settings = log_settings(args, project)
    if not settings.enabled:
        return settings, []
    logs = LogFiles(settings)
    logs.attach(supervisor)
    return settings, [logs]
