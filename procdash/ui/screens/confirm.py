"""The "quit procdash" question of an attached view: stopping a formation others may be using is asked first."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label


class ConfirmQuitScreen(ModalScreen[bool]):
    """y stops every process and ends procdash; n or escape keeps it running (and this view open)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Stop procdash", priority=True),
        Binding("n,escape", "answer(False)", "Keep it running", priority=True),
        Binding("q", "app.leave", "Leave this view", priority=True),
    ]

    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where

    def compose(self) -> ComposeResult:
        """The question and the keys that answer it."""
        with Vertical(id="quit-box") as box:
            box.border_title = "quit procdash"
            yield Label(f"Stop every process and end procdash ({self.where})?", id="quit-headline")
            yield Label(
                "y: stop the formation · n or escape: keep it running · q: leave this view only", id="quit-hint"
            )

    def action_answer(self, stop: bool) -> None:
        """Close with the answer."""
        self.dismiss(stop)
