"""Reload: re-read the Procfile, Procfile.toml and .env files and change only what changed.

Types added start, types removed stop (their rows go once their processes have ended), types whose
command, environment, port or options changed restart, and every other instance keeps running with the
same pid. A file that no longer parses changes nothing: the error (file:line) is the answer instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from procdash.core import events as ev
from procdash.core.depends import start_levels
from procdash.core.errors import ConfigError
from procdash.core.formation import check_ports, port_for
from procdash.core.instance import Instance, State
from procdash.core.procfile import ProcessType
from procdash.core.project import Project
from procdash.core.typeoptions import DEFAULT_TYPE_OPTIONS, TypeOptions

if TYPE_CHECKING:
    from procdash.core.supervisor import Supervisor

# Options that change how procdash watches or logs a type, not how its processes run.
# Ended instances a changed command brings back; stopped ones stay stopped, waiting ones start anyway.
RESTARTABLE = (State.CRASHED, State.EXITED, State.FATAL, State.BACKOFF)
NOT_RESTARTING = {"watch": (), "watch_ignore": (), "watch_debounce": None, "log_file": None}


@dataclass
class ReloadResult:
    """What a reload did, or the error that kept it from doing anything."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    error: str | None = None

    def summary(self) -> str:
        """One line for a notice, ``ctl reload`` and the dashboard."""
        if self.error is not None:
            return f"reload failed, nothing changed: {self.error}"
        parts = [
            f"{label} {', '.join(names)}"
            for label, names in (
                ("added", self.added),
                ("removed", self.removed),
                ("restarted", self.changed),
                ("kept", self.kept),
            )
            if names
        ]
        return "reloaded: " + ("; ".join(parts) if parts else "no process types")


def _running_options(opts: TypeOptions) -> TypeOptions:
    """A type's options without the ones that do not touch its processes (env is compared on its own)."""
    return dataclasses.replace(opts, env={}, env_files=(), **NOT_RESTARTING)  # type: ignore[arg-type]


ASPECTS = ("command", "options", "environment", "port")


def _type_state(project: Project, name: str, index: int) -> tuple[object, ...]:
    """Everything that, when different, means a type's processes must restart (in ASPECTS order)."""
    command = next(t.command for t in project.types if t.name == name)
    opts = project.options_for(name)
    env = {**project.dotenv, **opts.env}
    return command, _running_options(opts), env, port_for(project.base_port, index, 1)


def _what_changed(old: tuple[object, ...], new: tuple[object, ...]) -> str:
    """ "its command and environment changed", for the restart reason."""
    names = [aspect for aspect, a, b in zip(ASPECTS, old, new, strict=True) if a != b]
    return "its " + " and ".join(names) + " changed"


class Reloader:
    """Applies a freshly loaded project to a running supervisor (``load`` raises ConfigError on bad files)."""

    def __init__(
        self,
        supervisor: Supervisor,
        project: Project,
        load: Callable[[], Project],
        restart_type: Callable[[str, str], None] | None = None,
    ) -> None:
        self.supervisor = supervisor
        self.project = project
        self.load = load
        # How a changed type restarts: (type, reason); the edit-run loop passes its rolling restarter.
        self.restart_type = restart_type or self._restart_at_once
        self.on_reloaded: list[Callable[[Project], None]] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._leaving: set[str] = set()

    async def start(self, supervisor: Supervisor) -> None:
        """Service start: drop removed types once their last instance is gone."""
        self._unsubscribe = supervisor.subscribe(self._on_event)

    async def stop(self) -> None:
        """Service stop."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def reload(self) -> ReloadResult:
        """Re-read every file and apply the difference; the result says what happened."""
        if self.supervisor.stopping_all:
            return ReloadResult(error="procdash is stopping")
        try:
            new = self.load()
            check_ports(new.base_port, new.type_names, {n: self._count_after(n, new) for n in new.type_names})
        except ConfigError as exc:
            result = ReloadResult(error=str(exc))
        else:
            result = self._apply(new)
        self.supervisor.announce(result.summary())
        return result

    def _count_after(self, name: str, new: Project) -> int:
        """A kept type keeps the count it was scaled to, unless the files now say another."""
        sup = self.supervisor
        if name in sup.desired and name in self.project.counts and new.counts[name] == self.project.counts[name]:
            return sup.desired[name]
        return new.counts[name]

    def _apply(self, new: Project) -> ReloadResult:
        """Change the supervisor's formation in place to the new project's."""
        sup = self.supervisor
        old = self.project
        old_index = {name: i for i, name in enumerate(old.type_names)}
        result = ReloadResult()
        reasons: dict[str, str] = {}
        for index, name in enumerate(new.type_names):
            if name not in sup.desired or name in self._leaving:
                result.added.append(name)
                continue
            before, after = _type_state(old, name, old_index.get(name, index)), _type_state(new, name, index)
            if before != after:
                result.changed.append(name)
                reasons[name] = _what_changed(before, after)
            else:
                result.kept.append(name)
        result.removed = [name for name in sup.desired if name not in new.type_names and name not in self._leaving]
        counts = {name: self._count_after(name, new) for name in new.type_names}
        leaving = [t for t in sup.types if t.name not in new.type_names]
        self._leaving = {t.name for t in leaving}
        # The new Procfile's order, then the types on their way out (listed until their processes end).
        sup.types = [*new.types, *(ProcessType(t.name, t.command, t.line) for t in leaving)]
        sup.type_index = {t.name: i for i, t in enumerate(sup.types)}
        sup.desired = {t.name: sup.desired.get(t.name, 0) for t in sup.types}
        sup.type_options = {name: opts for name, opts in new.sidefile.types.items()}
        graph = {name: opts.depends_on for name, opts in sup.type_options.items()}
        sup.start_order = start_levels([t.name for t in sup.types], graph)
        sup._has_deps = any(graph.values())
        sup.dotenv = dict(new.dotenv)
        sup.base_port = new.base_port
        for t in sup.types:
            sup.slots.setdefault(t.name, [])
            for inst in sup.slots[t.name]:
                self._refresh(inst, t)
        self.project = new
        for name in result.removed:
            sup.scale(name, 0)
        for name in new.type_names:
            if name in result.added:
                sup.desired.setdefault(name, 0)
                # An added type starts as it would have at start-up: autostart = false keeps it stopped.
                sup._initial = True
                try:
                    sup.scale(name, counts[name])
                finally:
                    sup._initial = False
            elif counts[name] != sup.desired[name]:
                sup.scale(name, counts[name])
        for name in result.changed:
            self.restart_type(name, f"reload: {reasons[name]}")
        # A type the formation does not list gets 0 (Foreman's -m), which would otherwise look like a bug.
        result.added = [name if counts[name] else f"{name} (count 0)" for name in result.added]
        self._drop_finished()
        for callback in self.on_reloaded:
            callback(new)
        return result

    def _restart_at_once(self, type_name: str, reason: str) -> None:
        """Restart every running or ended instance of a type now (stopped and waiting ones stay as they are)."""
        for inst in list(self.supervisor.slots[type_name]):
            if inst.alive or inst.state in RESTARTABLE:
                self.supervisor.restart(inst.name, reason=reason)

    def _refresh(self, inst: Instance, t: ProcessType) -> None:
        """An instance takes its type's new index, command, port and stop signal (used from its next start)."""
        sup = self.supervisor
        inst.type_index = sup.type_index[t.name]
        inst.command = t.command
        if inst.port is not None:
            inst.port = port_for(sup.base_port, inst.type_index, inst.number)
        inst.stop_signal = sup.type_options.get(t.name, DEFAULT_TYPE_OPTIONS).stop_signal or inst.stop_signal

    def _on_event(self, event: ev.Event) -> None:
        """A removed type leaves the formation once its last instance has gone."""
        if self._leaving and isinstance(event, ev.Removed):
            self._drop_finished()

    def _drop_finished(self) -> None:
        """Forget every leaving type that has no instance left."""
        sup = self.supervisor
        gone = [name for name in self._leaving if not sup.slots.get(name)]
        if not gone:
            return
        for name in gone:
            self._leaving.discard(name)
            sup.slots.pop(name, None)
            sup.desired.pop(name, None)
        sup.types = [t for t in sup.types if t.name not in gone]
        sup.type_index = {t.name: i for i, t in enumerate(sup.types)}
        for t in sup.types:
            for inst in sup.slots[t.name]:
                inst.type_index = sup.type_index[t.name]
        sup.start_order = [[n for n in level if n not in gone] for level in sup.start_order]
        sup.start_order = [level for level in sup.start_order if level]
