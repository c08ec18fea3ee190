"""Supervisor events turned into what the dashboard redraws: procdash's own lines, dirty marks and toasts.

Events arrive synchronously on the loop, often many per frame; this class only appends to buffers and
sets flags, so the cost per event stays constant and widgets are touched once per flush instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from procdash.core import events as ev
from procdash.core.instance import Instance
from procdash.core.lines import strip_sgr
from procdash.core.logbuffer import DEFAULT_SCROLLBACK, LogBuffer
from procdash.core.wording import describe_exit, describe_stopping
from procdash.headless import RESET, SYSTEM
from procdash.ui.formatting import type_sgr
from procdash.ui.widgets.logmerge import MergedLog, Source
from procdash.view.mirror import PaneNotice

# procdash's own lines kept per process pane (starts, exits, separators), and earlier slots kept per name.
LIFECYCLE_LINES = 1000
MAX_RETIRED = 2


def separator(what: str) -> str:
    """A lifecycle separator: ``── restarted · exit 3 · 21:02:11 ──``."""
    return f"── {what} · {time.strftime('%H:%M:%S')} ──"


@dataclass(frozen=True)
class Toast:
    """A notification to show once: a crash, a fatal give-up, a notice from procdash."""

    title: str
    message: str
    severity: str  # "information" | "warning" | "error", as App.notify takes it


def waiting_toast(name: str, prompt: str) -> Toast:
    """The toast shown once per wait: the prompt, and the keys that answer it."""
    shown = strip_sgr(prompt).strip()
    said = f"{shown[:60]!r} · " if shown else ""
    return Toast(f"{name} is waiting for input", f"{said}i types into it, I connects the terminal", "information")


class DashboardFeed:
    """Subscriber that keeps procdash's own lines and records what changed since the last flush.

    The merged "all" log is a view over every instance's own buffer and this system buffer, interleaved by
    arrival: it holds exactly what they hold, and no line is stored twice.
    """

    def __init__(self, names: list[str], scrollback: int = DEFAULT_SCROLLBACK) -> None:
        self.scrollback = scrollback
        self.system_log = LogBuffer(scrollback)
        self.lifecycle: dict[str, LogBuffer] = {}  # name -> procdash's lines about it, shown in its pane
        self.retired: dict[str, list[LogBuffer]] = {}  # name -> buffers of earlier slots of that name
        self.pane_logs: dict[str, MergedLog] = {}
        self.removed: list[str] = []  # names scaled away since the last flush (their CPU history goes)
        self.width = max([len(SYSTEM), *map(len, names)])
        self.merged = MergedLog([Source(self.system_log, self._head(SYSTEM, "1"))])
        self.dirty_logs: set[str] = set()
        self.merged_dirty = False
        self.generation = 0  # counts the events that are not output: what the table and panes show moved
        self.table_dirty = True
        self.numbers_dirty = False  # only uptimes and readings moved: cells and header, no layout work
        self.structure_dirty = True
        self.toasts: list[Toast] = []
        self.dirty_partials: set[str] = set()  # instances whose unfinished line changed since the last flush
        self.lines_in = 0

    def __call__(self, event: ev.Event) -> None:
        """Record one event; never touches a widget."""
        if isinstance(event, ev.Output):
            self.dirty_partials.add(event.instance.name)  # complete lines end the unfinished one
            self._output(event)
            return
        if isinstance(event, ev.Partial):
            self.dirty_partials.add(event.instance.name)
            return
        self.table_dirty = True
        self.generation += 1
        if isinstance(event, ev.Added | ev.Removed):
            self.structure_dirty = True
            self.width = max(self.width, len(event.instance.name))
        if isinstance(event, ev.Added) and event.instance.name in self.retired:
            self.note(event.instance.name, separator("scaled up again"))
        elif isinstance(event, ev.Removed):
            inst = event.instance
            if len(inst.log):
                # The slot goes, its lines stay: scaling back up shows them above a separator.
                self.retired[inst.name] = [*self.retired.get(inst.name, []), inst.log][-MAX_RETIRED:]
            self.removed.append(inst.name)
        elif isinstance(event, ev.Started):
            inst = event.instance
            port = f", port {inst.port}" if inst.port is not None else ""
            started = f"{inst.name} started (pid {inst.pid}{port})"
            self.system(started)
            if inst.restarts and inst.exit_description:
                self.note(inst.name, separator(f"restarted · {inst.exit_description}"))
            self.note(inst.name, started)
        elif isinstance(event, ev.Stopping):
            self.system(describe_stopping(event))
            self.note(event.instance.name, describe_stopping(event))
        elif isinstance(event, ev.Exited):
            self.system(describe_exit(event))
            self.note(event.instance.name, describe_exit(event))
            if not event.requested and event.code != 0:
                name = event.instance.name
                after = "restarting" if event.will_restart else "not restarted"
                self.toasts.append(Toast(f"{name} crashed", f"{event.description} ({after})", "error"))
        elif isinstance(event, ev.Fatal):
            name = event.instance.name
            self.system(f"{name} failed {event.failures} times in a row: giving up")
            self.toasts.append(
                Toast(f"{name} is fatal", f"gave up after {event.failures} failures; R restarts", "error")
            )
        elif isinstance(event, ev.Scaled):
            self.system(f"{event.type_name} scaled to {event.count}")
        elif isinstance(event, ev.Notice):
            if isinstance(event, PaneNotice) and event.instance is not None:
                self.note(event.instance.name, event.text)  # the view's own word on this pane's lines
            self.system(event.text)
            self.toasts.append(Toast("procdash", event.text, "warning"))
        elif isinstance(event, ev.Waiting):
            self.dirty_partials.add(event.instance.name)
            if event.waiting:
                self.toasts.append(waiting_toast(event.instance.name, event.prompt))

    def _output(self, event: ev.Output) -> None:
        """Mark the instance's pane dirty and append its lines, prefixed and coloured, to the merged log."""
        self.dirty_logs.add(event.instance.name)
        self.merged_dirty = True
        self.lines_in += len(event.lines)

    def _head(self, name: str, sgr: str) -> str:
        """The coloured ``name |`` column a merged line starts with."""
        return f"\x1b[{sgr}m{name:<{self.width}} | {RESET}"

    def merge(self, instances: list[Instance]) -> None:
        """Merge these instances' buffers (and procdash's own lines) in the "all" view."""
        sources = [Source(self.system_log, self._head(SYSTEM, "1"))]
        old = {(s.buffer, s.head): s for s in self.merged.sources}
        for inst in instances:
            head = self._head(inst.name, type_sgr(inst.type_index))
            for buffer in [*self.retired.get(inst.name, []), inst.log]:
                sources.append(old.get((buffer, head)) or Source(buffer, head))
        self.merged.set_sources(sources)

    def note(self, name: str, text: str) -> None:
        """A dim line from procdash in one process's own pane (never in its engine buffer)."""
        log = self.lifecycle.get(name)
        if log is None:
            log = self.lifecycle[name] = LogBuffer(LIFECYCLE_LINES)
        log.append(f"\x1b[2m{text}{RESET}")
        self.dirty_logs.add(name)

    def pane_log(self, inst: Instance) -> MergedLog:
        """The log a process's pane shows: earlier slots of its name, procdash's lines about it, its output."""
        sources = [Source(buffer) for buffer in self.retired.get(inst.name, [])]
        lifecycle = self.lifecycle.get(inst.name)
        if lifecycle is None:
            lifecycle = self.lifecycle[inst.name] = LogBuffer(LIFECYCLE_LINES)
        sources += [Source(lifecycle, minor=True), Source(inst.log)]
        log = self.pane_logs.get(inst.name)
        if log is None:
            log = self.pane_logs[inst.name] = MergedLog(sources)
        else:
            log.set_sources(sources)
        return log

    def system(self, text: str) -> None:
        """A line from procdash itself in the merged log."""
        self.system_log.append(text)
        self.merged_dirty = True

    def take_toasts(self) -> list[Toast]:
        """The toasts queued since the last call."""
        toasts, self.toasts = self.toasts, []
        return toasts
