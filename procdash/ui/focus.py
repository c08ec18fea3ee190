"""Which keys apply, and are shown, depending on what has the focus: the prompt, a pane or the table."""

from __future__ import annotations

from textual import events

from procdash.ui.base import DashboardBase
from procdash.ui.keys import PROMPT_ACTIONS, TABLE_ACTIONS
from procdash.ui.widgets.logview import LogView
from procdash.ui.widgets.prompt_bar import PromptBar


class FocusKeys(DashboardBase):
    """Mixed into the app: keys of a burst reach the prompt; the footer offers what has the focus."""

    async def _on_key(self, event: events.Key) -> None:
        """Keys queued behind one that opened the prompt are typed into it, not run as commands.

        Textual calls every class's ``_on_key`` along the MRO; a caught key prevents App's (the bindings).
        """
        self.query_one(PromptBar).catch_stray_key(event)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer offers the keys of what has the focus: the prompt's, a pane's or the table's.

        While a prompt is typed into only quitting and help remain; in a pane the process keys are left
        out (they act on table rows); escape shows only where it leads somewhere.
        """
        focused = self.screen.focused
        if focused is self.query_one(PromptBar).input:
            return action in PROMPT_ACTIONS
        in_pane = isinstance(focused, LogView)
        if in_pane and action in TABLE_ACTIONS:
            return False
        return not (action == "leave_view" and self.mode == "type" and not in_pane)
