"""The header line: app name, Procfile, formation summary and resource totals."""

from __future__ import annotations

import os
from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from procdash.core.instance import State
from procdash.ui import formatting as fmt
from procdash.view.formation import FormationView
from procdash.view.usage import Metrics


def display_path(path: Path) -> str:
    """The Procfile path relative to the working directory when it is below it, else as given."""
    try:
        return os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)
    except (OSError, ValueError):
        return str(path)


def header_text(
    procfile: str, formation: FormationView, metrics: Metrics | None, width: int = 0, *, quitting: bool = False
) -> Text:
    """Everything the header shows, as one line fitting ``width`` cells (0: no limit).

    The totals are what the person looks for at a glance, so they always stay; the Procfile path and
    then the type list are elided to make room.
    """
    totals = Text()
    if quitting:
        # The sampler no longer sees a process that is being reaped: count what the quit dialog lists.
        stopping = sum(1 for inst in formation.instances() if inst.alive)
        totals.append(f"  quitting · {stopping} stopping", style="bold yellow")
    elif metrics is not None:
        total = metrics.snapshot.total
        totals.append(f"  cpu {fmt.percent(total.cpu_percent)}", style="cyan")
        totals.append(f" · mem {fmt.size(total.rss)}", style="cyan")
        totals.append(f" · {total.processes} procs", style="dim")
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(" procdash ", style="bold reverse")
    room = width - text.cell_len - totals.cell_len if width else 1 << 30
    path = f" {procfile} "
    if len(path) > max(12, room // 3):
        path = f" …{procfile[-max(8, room // 3 - 3) :]} "
    text.append(path, style="dim")
    room -= len(path)
    summary = formation_text(formation)
    if summary.cell_len > room:
        summary.truncate(max(1, room), overflow="ellipsis")
    text.append_text(summary)
    text.append_text(totals)
    return text


def formation_text(formation: FormationView) -> Text:
    """Every type with its count; a finished one-off task reads "done" (dim), not a missing instance."""
    text = Text(style="bold")
    for index, t in enumerate(formation.types):
        if index:
            text.append(" · ")
        slots = formation.slots[t.name]
        want = formation.desired[t.name]
        have = sum(1 for inst in slots if inst.state is State.RUNNING)
        if fmt.all_done(slots, want):
            text.append(f"{t.name} done", style="dim")
        elif have == want:
            text.append(f"{t.name} {have}")
        else:
            text.append(f"{t.name} {have}/{want}", style="yellow")
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
