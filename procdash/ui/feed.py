"""Supervisor events turned into what the dashboard redraws: a merged log, dirty marks and pending toasts.

Events arrive synchronously on the loop, often many per frame; this class only appends to buffers and
sets flags, so the cost per event stays constant and widgets are touched once per flush instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from procdash.core import events as ev
from procdash.core.lines import strip_sgr
from procdash.core.logbuffer import DEFAULT_SCROLLBACK, LogBuffer
from procdash.core.wording import describe_exit, describe_stopping
from procdash.headless import RESET, SYSTEM
from procdash.ui.formatting import type_sgr


@dataclass(frozen=True)
class Toast:
    """A notification to show once: a crash, a fatal give-up, a notice from the supervisor."""

    title: str
    message: str
    severity: str  # "information" | "warning" | "error", as App.notify takes it


def waiting_toast(name: str, prompt: str) -> Toast:
    """The toast shown once per wait: the prompt, and the keys that answer it."""
    shown = strip_sgr(prompt).strip()
    said = f"{shown[:60]!r} · " if shown else ""
    return Toast(f"{name} is waiting for input", f"{said}i types into it, I connects the terminal", "information")


class DashboardFeed:
    """Subscriber that keeps the merged "all" log and records what changed since the last flush."""

    def __init__(self, names: list[str], scrollback: int = DEFAULT_SCROLLBACK) -> None:
        self.merged = LogBuffer(scrollback)
        self.width = max([len(SYSTEM), *map(len, names)])
        self.dirty_logs: set[str] = set()
        self.merged_dirty = False
        self.table_dirty = True
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
        if isinstance(event, ev.Added | ev.Removed):
            self.structure_dirty = True
            self.width = max(self.width, len(event.instance.name))
        if isinstance(event, ev.Started):
            inst = event.instance
            port = f", port {inst.port}" if inst.port is not None else ""
            self.system(f"{inst.name} started (pid {inst.pid}{port})")
        elif isinstance(event, ev.Stopping):
            self.system(describe_stopping(event))
        elif isinstance(event, ev.Exited):
            self.system(describe_exit(event))
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
            self.system(event.text)
            self.toasts.append(Toast("procdash", event.text, "warning"))
        elif isinstance(event, ev.Waiting):
            self.dirty_partials.add(event.instance.name)
            if event.waiting:
                self.toasts.append(waiting_toast(event.instance.name, event.prompt))

    def _output(self, event: ev.Output) -> None:
        """Mark the instance's pane dirty and append its lines, prefixed and coloured, to the merged log."""
        inst = event.instance
        self.dirty_logs.add(inst.name)
        head = f"\x1b[{type_sgr(inst.type_index)}m{inst.name:<{self.width}} | {RESET}"
        self.merged.extend([head + line for line in event.lines])
        self.merged_dirty = True
        self.lines_in += len(event.lines)

    def system(self, text: str) -> None:
        """A line from procdash itself in the merged log."""
        self.merged.append(f"\x1b[1m{SYSTEM:<{self.width}} | {RESET}{text}")
        self.merged_dirty = True

    def take_toasts(self) -> list[Toast]:
        """The toasts queued since the last call."""
        toasts, self.toasts = self.toasts, []
        return toasts
