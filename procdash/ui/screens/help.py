"""The help screen: every key the dashboard answers to, grouped by what it acts on."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from procdash.ui.keys import HELP

KEY_WIDTH = 22


def help_table() -> Group:
    """The key list: one two-column table per section, the keys in a fixed-width column."""
    sections = []
    for title, rows in HELP:
        table = Table(
            title=Text(title, style="bold underline"),
            title_justify="left",
            box=None,
            show_header=False,
            padding=(0, 1),
            expand=False,
        )
        table.add_column(style="bold cyan", no_wrap=True, width=KEY_WIDTH)
        table.add_column(ratio=1)
        for keys, what in rows:
            table.add_row(keys, what)
        sections.append(table)
    return Group(*sections)


class HelpScreen(ModalScreen[None]):
    """A modal list of keys; escape, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close", key_display="esc"),
    ]

    def compose(self) -> ComposeResult:
        """A scrollable box with the key table."""
        with VerticalScroll(id="help-box") as box:
            box.border_title = "procdash keys"
            box.border_subtitle = "escape to close"
            yield Static(help_table(), id="help-text")
