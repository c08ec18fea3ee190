"""The header line: app name, Procfile, formation summary and resource totals."""

from __future__ import annotations

import os
from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from procdash.core.instance import State
from procdash.core.supervisor import Supervisor
from procdash.ui import formatting as fmt
from procdash.ui.metrics import Metrics


def display_path(path: Path) -> str:
    """The Procfile path relative to the working directory when it is below it, else as given."""
    try:
        return os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)
    except (OSError, ValueError):
        return str(path)


def header_text(procfile: str, supervisor: Supervisor, metrics: Metrics | None) -> Text:
    """Everything the header shows, as one line of styled text."""
    running = {
        t.name: sum(1 for inst in supervisor.slots[t.name] if inst.state is State.RUNNING) for t in supervisor.types
    }
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(" procdash ", style="bold reverse")
    text.append(f" {procfile} ", style="dim")
    text.append(fmt.formation_summary(running, dict(supervisor.desired)), style="bold")
    if metrics is not None:
        total = metrics.snapshot.total
        text.append(f"  cpu {fmt.percent(total.cpu_percent)}", style="cyan")
        text.append(f" · mem {fmt.size(total.rss)}", style="cyan")
        text.append(f" · {total.processes} procs", style="dim")
    return text


class DashHeader(Static):
    """A one-line header that only redraws when its text changed."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._last: Text | None = None

    def show(self, text: Text) -> None:
        """Display ``text`` unless it is what is already shown."""
        if text != self._last:
            self._last = text
            # One line, full width, whatever the text: no layout pass (it would reflow every pane).
            self.update(text, layout=False)
