"""Keys that act on one log pane: search, filter, next/previous match, follow, wrap, clear, copy."""

from __future__ import annotations

from dataclasses import replace

from textual import work
from textual.widget import Widget

from procdash.ui.base import DashboardBase
from procdash.ui.clipboard import describe_copy, save_path, system_copy
from procdash.ui.widgets.panes import LogPane
from procdash.ui.widgets.prompt_bar import PromptBar


class PaneActions(DashboardBase):
    """Mixed into the app: finds "the current pane" and applies pane keys to its LogView."""

    def focused_pane(self) -> LogPane | None:
        """The pane holding the keyboard focus, if any."""
        node = self.focused
        while node is not None:
            if isinstance(node, LogPane):
                return node
            node = node.parent  # type: ignore[assignment]
        return None

    def current_pane(self) -> LogPane | None:
        """The pane pane keys act on: the focused one, else the selected process's, else the first shown."""
        visible = self.visible_panes()
        focused = self.focused_pane()
        if focused is not None and focused in visible:
            return focused
        names = self.selected_names()
        for pane in visible:
            if len(names) == 1 and pane.key == names[0]:
                return pane
        return visible[0] if visible else None

    def _pane_by_key(self, key: str) -> LogPane | None:
        """A pane by instance name or "all"."""
        return self.merged_pane if key == self.merged_pane.key else self.panes.get(key)

    def action_prompt(self, kind: str) -> None:
        """/ or \\: ask for a search or filter term for the current pane."""
        pane = self.current_pane()
        if pane is None:
            self.notify("no log pane to search", timeout=2)
            return
        term = pane.search_term if kind == "search" else pane.filter_term
        pane.search_from_tail = pane.view.follow
        self.query_one(PromptBar).open(kind, pane.key, term or "", regex=pane.regex)

    def on_prompt_bar_changed(self, message: PromptBar.Changed) -> None:
        """Apply a search or filter term (or the table's name filter) as it is typed."""
        if message.kind == "rows":
            self.order = replace(self.order, name_filter=message.term)
            self.mark_table_dirty()
            return
        pane = self._pane_by_key(message.target)
        if pane is None:
            return
        term = message.term or None
        pane.regex = message.regex
        if message.kind == "search":
            pane.search_term = term
            pane.matches = pane.view.set_search(term, from_tail=pane.search_from_tail, regex=message.regex)
        else:
            pane.filter_term = term
            pane.view.set_filter(term, regex=message.regex)
        self.query_one(PromptBar).show_error(pane.view.search_error)
        pane.refresh_flags()

    def on_prompt_bar_closed(self, message: PromptBar.Closed) -> None:
        """The focus goes back to what had it before the prompt opened (the table, or a pane)."""
        back = self.query_one(PromptBar).return_to
        if back is not None and back.is_attached and _shown(back):
            self.screen.set_focus(back)
        else:
            self.table.focus()

    def clear_search(self) -> bool:
        """Escape in a pane with highlights: clear them; False when there was no search."""
        pane = self.current_pane()
        if pane is None or not pane.search_term:
            return False
        pane.search_term = None
        pane.matches = pane.view.set_search(None)
        pane.refresh_flags()
        return True

    def action_match(self, direction: int) -> None:
        """n / N: the next or previous search hit in the current pane."""
        pane = self.current_pane()
        if pane is None or not pane.search_term:
            self.notify("no search: press / first", timeout=2)
            return
        moved = pane.view.next_match() if direction > 0 else pane.view.previous_match()
        pane.refresh_flags()  # the position, 3/14
        if not moved:
            self.bell()

    def action_toggle_follow(self) -> None:
        """f: follow the tail of the current pane, or stop following."""
        pane = self.current_pane()
        if pane is not None:
            pane.view.follow = not pane.view.follow
            pane.refresh_flags()

    def action_toggle_wrap(self) -> None:
        """w: wrap long lines in the current pane, or scroll them sideways."""
        pane = self.current_pane()
        if pane is not None:
            pane.view.wrap = not pane.view.wrap
            pane.refresh_flags()
            self.wrap_default = pane.view.wrap  # new panes start this way, next time too
            self.remember()

    def action_toggle_timestamps(self) -> None:
        """t: every pane (and the merged view) starts each line with the time it arrived, or stops."""
        self.timestamps = not self.timestamps
        self.apply_timestamps()
        self.remember()

    def apply_timestamps(self) -> None:
        """Every pane shows arrival times, or none does, as ``timestamps`` says."""
        shown = set(self.visible_panes())
        for pane in [self.merged_pane, *self.panes.values()]:
            pane.view.set_timestamps(self.timestamps, now=pane in shown)
            pane.refresh_flags()

    def action_clear_pane(self) -> None:
        """c: hide what the current pane shows so far (the scrollback is kept)."""
        pane = self.current_pane()
        if pane is not None:
            pane.view.clear_view()

    def action_copy_pane(self) -> None:
        """y: copy the selected lines (v), else the pane's visible text."""
        pane = self.current_pane()
        if pane is None:
            return
        view = pane.view
        if view.selection is not None:
            text, what = view.selected_text(), f"{pane.key} (selected)"
            view.cancel_selection()
        else:
            text, what = view.visible_text(), pane.key
        self._copy(text, what)

    def action_copy_all(self) -> None:
        """Y: copy every line the pane shows (its whole buffer, after clear and filter)."""
        pane = self.current_pane()
        if pane is not None:
            self._copy(pane.view.all_text(), f"{pane.key} (all)")

    def action_select_lines(self) -> None:
        """v: select lines from the newest on screen; j/k or arrows extend, y copies, escape cancels."""
        pane = self.current_pane()
        if pane is None:
            return
        if pane.view.selection is not None:
            pane.view.cancel_selection()
            return
        self.screen.set_focus(pane.view)
        pane.view.start_selection()

    def cancel_selection(self) -> bool:
        """Escape while selecting lines: stop selecting; False when nothing was selected."""
        pane = self.current_pane()
        return pane is not None and pane.view.cancel_selection()

    def _copy(self, text: str, what: str) -> None:
        """Send ``text`` to the terminal (OSC 52) and try the system clipboard in a thread."""
        self.copy_to_clipboard(text)
        self._system_copy(text, what, len(text.splitlines()))

    @work(thread=True, group="clipboard", exclusive=True, exit_on_error=False)
    def _system_copy(self, text: str, what: str, count: int) -> None:
        """Runs in a thread (a clipboard tool may take a moment): report what really happened."""
        confirmed = system_copy(text)
        self.call_from_thread(self.notify, describe_copy(count, what, confirmed=confirmed), timeout=3)

    def action_save_pane(self) -> None:
        """ctrl+s: write every line the pane shows to a new file in the project directory."""
        pane = self.current_pane()
        if pane is None:
            return
        text = pane.view.all_text()
        path = save_path(self.project_root, pane.key)
        try:
            path.write_text(text + "\n" if text else "", encoding="utf-8")
        except OSError as exc:
            self.notify(f"cannot save {pane.key}: {exc.strerror or exc}", title="save failed", severity="error")
            return
        count = len(text.splitlines())
        self.notify(f"saved {count} line{'s' if count != 1 else ''} of {pane.key} to {path}", timeout=4)


def _shown(widget: Widget) -> bool:
    """Whether a widget and all its ancestors are displayed."""
    node: object = widget
    while isinstance(node, Widget):
        if not node.display:
            return False
        node = node.parent
    return True
