"""Keys that act on processes: scale the selected type, restart, stop and start instances."""

from __future__ import annotations

import webbrowser
from collections.abc import Sequence
from dataclasses import replace

from procdash.core.instance import State
from procdash.ui import rows as tablerows
from procdash.ui.base import DashboardBase
from procdash.ui.widgets.prompt_bar import PromptBar
from procdash.view.formation import FormationError

FAILED_STATES = (State.CRASHED, State.FATAL)
# Not running, but on the way to it: s cancels these rather than starting again.
HELD_STATES = (State.BACKOFF, State.STARTING, State.WAITING, State.BLOCKED)


class ProcessActions(DashboardBase):
    """Mixed into the app: every action turns into formation requests; the table follows through events."""

    def scale_to(self, type_name: str, count: int) -> None:
        """Set a type's desired count; the formation starts or stops instances to match."""
        try:
            self.formation.scale(type_name, count)
        except FormationError as exc:
            self.notify(str(exc), title="cannot scale", severity="error")

    def action_scale(self, delta: int) -> None:
        """+ / -: scale the selected type by one (relative where the formation runs, so presses add up)."""
        type_name = self.selected_type
        if type_name in self.formation.desired:
            try:
                self.formation.scale_by(type_name, delta)
            except FormationError as exc:
                self.notify(str(exc), title="cannot scale", severity="error")

    def restart_names(self, names: Sequence[str]) -> None:
        """Restart these instances now."""
        for name in names:
            self.formation.restart(name)

    def stop_names(self, names: Sequence[str]) -> None:
        """Stop these instances and keep them stopped."""
        for name in names:
            self.formation.stop(name)

    def start_names(self, names: Sequence[str]) -> None:
        """Start these instances again if they are not running."""
        for name in names:
            self.formation.start(name)

    def action_restart(self) -> None:
        """r: restart the selected instance, or every instance of the selected type."""
        self.restart_names(self.selected_names())

    def action_restart_failed(self) -> None:
        """R: restart every crashed or fatal instance."""
        failed = [inst.name for inst in self.formation.instances() if inst.state in FAILED_STATES]
        if not failed:
            self.notify("no crashed or fatal process", timeout=2)
        self.restart_names(failed)

    def action_sort(self, key: str) -> None:
        """C / M / N / T: sort by CPU, memory, name or state (as k9s); again: the other way round.

        CPU and memory start with the biggest, name and state with the first (state: the worst); a
        third press of the same key goes back to the Procfile's order.
        """
        order = self.order
        first = key in ("cpu", "mem")
        if order.key != key:
            self.order = replace(order, key=key, descending=first)
        elif order.descending == first:
            self.order = replace(order, descending=not first)
        else:
            self.order = replace(order, key=None, descending=False)
        self.mark_table_dirty()
        self.remember()

    def action_filter_rows(self) -> None:
        """ctrl+f: show only the rows whose name contains what is typed (empty: every row)."""
        self.query_one(PromptBar).open("rows", "by name", self.order.name_filter)

    def action_open_browser(self) -> None:
        """o: open the selected instance's web page (the port it listens on, else its $PORT)."""
        names = self.selected_names()
        inst = self.formation.find(names[0]) if names else None
        if inst is None:
            self.notify("select a process to open", timeout=2)
            return
        usage = self.metrics.usage(inst.name) if self.metrics is not None else None
        listening: tuple[int, ...] = usage.ports if usage is not None else ()
        port = inst.port if inst.port is not None and (inst.port in listening or not listening) else None
        if port is None and listening:
            port = listening[0]
        if port is None:
            self.notify(f"{inst.name} has no port", timeout=2)
            return
        url = f"http://127.0.0.1:{port}/"
        if open_url(url):
            self.notify(f"opened {url}", timeout=2)
        else:
            self.notify(f"no browser to open {url}", severity="warning")

    def action_stop_start(self) -> None:
        """s: stop what runs of the selection, or start it when nothing of it runs."""
        key = self.table.selected_key
        names = self.selected_names()
        if key is not None and not names and tablerows.parse_key(key)[0] == "type":
            self.scale_to(tablerows.parse_key(key)[1], 1)
            return
        insts = [inst for name in names if (inst := self.formation.find(name)) is not None]
        if any(inst.alive or inst.state in HELD_STATES for inst in insts):
            self.stop_names(names)
        else:
            self.start_names(names)


def open_url(url: str) -> bool:
    """Open a URL with the ``webbrowser`` module; False when it finds no browser."""
    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False
