"""The quitting screen: shows every process still stopping, with a progress bar, until all are gone."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, ProgressBar, Static

from procdash.core.wording import stop_progress
from procdash.ui import formatting as fmt
from procdash.view.formation import FormationView

REFRESH = 0.1


class QuitScreen(ModalScreen[None]):
    """Progress of the graceful stop; q or ctrl+c here kills everything at once."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q,ctrl+c,ctrl+q", "app.kill_now", "Kill now", priority=True),
    ]

    def __init__(self, formation: FormationView) -> None:
        super().__init__()
        self.formation = formation
        self.total = max(1, sum(1 for inst in formation.instances() if inst.alive))
        self.killing = False

    def compose(self) -> ComposeResult:
        """Title, progress bar and the list of processes still stopping."""
        with Vertical(id="quit-box") as box:
            box.border_title = "quitting"
            yield Label(self._headline(), id="quit-headline")
            yield ProgressBar(total=self.total, show_eta=False, id="quit-progress")
            yield Static("", id="quit-list")
            yield Label("press q or ctrl+c again to kill at once", id="quit-hint")

    def on_mount(self) -> None:
        """Refresh the list a few times a second."""
        self.update_progress()
        self.set_interval(REFRESH, self.update_progress)

    def mark_killing(self) -> None:
        """Say that the processes are being killed rather than asked to stop."""
        self.killing = True
        self.update_progress()

    def _headline(self) -> str:
        """What is happening, in words."""
        timeout = self.formation.stop_timeout
        if self.killing:
            return "killing every process (SIGKILL)..."
        return f"stopping {self.total} process(es): SIGTERM, then SIGKILL after {timeout:g}s..."

    def update_progress(self) -> None:
        """Show which processes are still alive and how many have stopped."""
        alive = [inst for inst in self.formation.instances() if inst.alive]
        self.query_one("#quit-headline", Label).update(self._headline())
        self.query_one("#quit-progress", ProgressBar).update(progress=max(0, self.total - len(alive)))
        lines = Text()
        for inst in alive[:12]:
            if lines:
                lines.append("\n")
            lines.append(f"{inst.name:<16}", style=fmt.type_color(inst.type_index))
            progress = stop_progress(inst, self.formation.stop_timeout)
            lines.append_text(fmt.state_text(inst) if progress is None else Text(progress, style="yellow"))
            if inst.pid:
                lines.append(f"  pid {inst.pid}", style="dim")
        if len(alive) > 12:
            lines.append(f"\n... and {len(alive) - 12} more", style="dim")
        if not alive:
            lines.append("every process has stopped", style="green")
        self.query_one("#quit-list", Static).update(lines)
