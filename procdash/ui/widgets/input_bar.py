"""The bar that replaces the footer in input mode, so nobody mistakes it for the dashboard's keys."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class InputBar(Static):
    """``INPUT → web.1 · ctrl+] to leave`` across the bottom of the screen."""

    DEFAULT_CSS = """
    InputBar {
        dock: bottom;
        height: 1;
        background: $warning;
        color: $background;
        text-style: bold;
    }
    """

    def __init__(self, name: str, leave_key: str) -> None:
        super().__init__(input_bar_text(name, leave_key), id="input-bar", markup=False)


def input_bar_text(name: str, leave_key: str) -> Text:
    """The bar's words."""
    return Text(f" INPUT → {name} · {leave_key} to leave · every key goes to {name} · the mouse wheel scrolls")
