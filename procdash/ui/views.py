"""The pane views: which log panes are mounted and shown (type, merged or focus) and the pty sizes."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from procdash.ui import rows as tablerows
from procdash.ui.base import DashboardBase
from procdash.ui.formatting import state_text, state_words
from procdash.ui.process_actions import FAILED_STATES
from procdash.ui.widgets.panes import LogPane


class ViewActions(DashboardBase):
    """Mixed into the app: keeps one pane per instance and shows the ones the current view asks for."""

    def _sync_panes(self) -> None:
        """One pane per instance slot: mount new ones in order, drop removed ones, follow new buffers."""
        instances = self.formation.instances()
        names = {inst.name for inst in instances}
        for name in [n for n in self.panes if n not in names]:
            self.panes.pop(name).remove()
        previous: LogPane | None = None
        for inst in instances:
            pane = self.panes.get(inst.name)
            log = self.feed.pane_log(inst)
            if pane is None:
                pane = LogPane(inst.name, log)
                pane.view.set_timestamps(self.timestamps)
                pane.view.wrap = self.wrap_default
                self.panes[inst.name] = pane
                pane.display = False
                if previous is None:
                    self.grid.mount(pane, after=self.empty_pane)
                else:
                    self.grid.mount(pane, after=previous)
            else:
                pane.follow_sources()
            previous = pane
        self._merge_chosen()
        if self.mode == "focus" and self.focus_name not in names:
            self.mode = "type"
        self.layout_panes()

    def _merge_chosen(self) -> None:
        """The merged view shows the pinned processes when there are any, else every process."""
        instances = self.formation.instances()
        chosen = [inst for inst in instances if inst.name in self.pinned]
        self.feed.merge(chosen or instances)
        self.merged_pane.follow_sources()

    def visible_panes(self) -> list[LogPane]:
        """The log panes on screen now."""
        if self.mode == "all":
            return [self.merged_pane]
        if self.mode == "pinned":
            return [self.panes[name] for name in self.pinned if name in self.panes]
        if self.mode == "focus" and self.focus_name in self.panes:
            return [self.panes[self.focus_name]]
        return [self.panes[name] for name in self.names_of_type(self.selected_type) if name in self.panes]

    def layout_panes(self) -> None:
        """Show the panes of the current view and hide the rest."""
        panes = self.visible_panes()
        if panes:
            self.grid.show_panes(list(panes))
        elif self.mode == "pinned":
            self.empty_pane.update("nothing pinned: p pins the selected process, P shows the pinned ones")
            self.grid.show_panes([self.empty_pane])
        else:
            desired = self.formation.desired.get(self.selected_type, 0)
            why = "is scaled to 0" if desired == 0 else "has no instances yet"
            self.empty_pane.update(f"{self.selected_type} {why}: press + to start one")
            self.grid.show_panes([self.empty_pane])
        self.table.set_class(self.mode == "focus", "-focus-view")
        selected = self.table.selected_key
        for pane in panes:
            pane.view.refresh_from_buffer()
            pane.set_class(selected == tablerows.instance_key(pane.key) and len(panes) > 1, "-selected")
            pane.show_title(self._pane_title(pane), pane.flags())
        focused = self.focused
        if focused is not None and not _shown(focused):
            self.table.focus()
        self._refresh_header()
        self.refresh_bindings()  # escape is offered in the footer only where it leads somewhere
        self.call_after_refresh(self._sync_pty_size)

    def _pane_title(self, pane: LogPane) -> str | Text:
        """ "web.1 · running · :5000" with the state in its colour; a failed pane gets a red border."""
        if pane is self.merged_pane:
            chosen = [name for name in self.pinned if name in self.panes]
            return f"merged: {', '.join(chosen)}" if chosen else "all processes (merged)"
        inst = self.formation.find(pane.key)
        if inst is None:
            return pane.key
        key = (inst.state, state_words(inst), inst.port)
        if key == pane.title_key:
            return pane.title_text
        pane.title_key = key
        pane.set_class(inst.state in FAILED_STATES, "-failed")
        title = Text(inst.name, style="bold")
        title.append(" · ")
        title.append_text(state_text(inst))
        if inst.port is not None:
            title.append(f" · :{inst.port}")
        return title

    def _sync_pty_size(self) -> None:
        """Give the pty of a process shown alone (focus view, or the only pane) the pane's size.

        Every other process gets the size its pane would have alone (also the size new ptys start
        with), so a pane never shown still matches the terminal rather than a fixed default.
        """
        self._guess_pty_sizes()
        if self.mode == "all":
            return
        panes = self.visible_panes()
        if len(panes) != 1:
            return
        pane = panes[0]
        inst = self.formation.find(pane.key)
        width, height = pane.view.size
        if inst is None or inst.pid is None or width < 10 or height < 2:
            return
        if self._pty_sent.get(inst.name) != (inst.pid, width, height):
            self._pty_sent[inst.name] = (inst.pid, width, height)
            self.formation.resize(inst.name, width, height)

    def _guess_pty_sizes(self) -> None:
        """Size every process's pty as a lone pane in this terminal, once per process (and per size)."""
        width, height = self.grid.size
        if width < 12 or height < 4:
            return
        size = (width - 3, height - 2)  # border on both sides, scrollbar; border above and below
        if size != self._default_size:
            self._default_size = size
            self.formation.set_default_size(*size)
        for inst in self.formation.instances():
            if inst.pid is None or (inst.name in self._pty_sent and self._pty_sent[inst.name][0] == inst.pid):
                continue
            if self._pty_guessed.get(inst.name) != (inst.pid, *size):
                self._pty_guessed[inst.name] = (inst.pid, *size)
                self.formation.resize(inst.name, *size)

    def action_pin(self) -> None:
        """p: pin the selected process (a type row: all its instances) to the pinned view, or unpin it."""
        names = self.selected_names()
        if not names:
            return
        if all(name in self.pinned for name in names):
            self.pinned = [name for name in self.pinned if name not in names]
            self.notify(f"unpinned {', '.join(names)}", timeout=2)
        else:
            self.pinned += [name for name in names if name not in self.pinned]
            self.notify(f"pinned {', '.join(names)}: P shows the pinned side by side, a merges them", timeout=3)
        self._merge_chosen()
        self.mark_table_dirty()
        if self.mode in ("pinned", "all"):
            self.layout_panes()

    def action_show_pinned(self) -> None:
        """P: the pinned processes side by side (from any types), or back to the selected type."""
        self.mode = "type" if self.mode == "pinned" else "pinned"
        self.layout_panes()

    def action_toggle_merged(self) -> None:
        """a: the merged log of every process, or back to the panes."""
        self.mode = "type" if self.mode == "all" else "all"
        self.layout_panes()

    def show_focus(self, name: str) -> None:
        """One process full width, its pane focused."""
        if name not in self.panes:
            return
        self.mode = "focus"
        self.focus_name = name
        self.table.select_key(tablerows.instance_key(name))
        self.layout_panes()
        self.panes[name].view.focus()

    def action_focus_view(self) -> None:
        """enter: focus view of the focused pane's process, or of the selected process."""
        pane = self.focused_pane()
        if pane is not None and pane.key in self.panes:
            self.show_focus(pane.key)
            return
        names = self.selected_names()
        if names:
            self.show_focus(names[0])

    def action_leave_view(self) -> None:
        """escape: stop selecting lines, else clear search highlights, else leave the view for the table.

        (The prompt closes itself on escape.)
        """
        if self.cancel_selection() or self.clear_search():
            return
        if self.mode != "type":
            self.mode = "type"
            self.layout_panes()
        self.table.focus()


def _shown(widget: object) -> bool:
    """Whether a widget and all its ancestors are displayed."""
    node = widget
    while isinstance(node, Widget):
        if not node.display:
            return False
        node = node.parent
    return True
