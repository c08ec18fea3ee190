"""The one-line prompt for searching or filtering the current pane, docked above the footer."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label


class PromptBar(Horizontal):
    """Asks for a search or filter term; the term applies as it is typed, enter keeps it, escape closes."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close", show=False)]

    class Changed(Message):
        """The term changed (``final`` once enter was pressed)."""

        def __init__(self, kind: str, target: str, term: str, final: bool) -> None:
            super().__init__()
            self.kind = kind
            self.target = target
            self.term = term
            self.final = final

    class Closed(Message):
        """The prompt was dismissed; focus should return to where it came from."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.kind = "search"
        self.target = ""
        self._label = Label("", id="prompt-label")
        self._input = Input(placeholder="text (case-insensitive); enter to keep, escape to close", id="prompt-input")

    def compose(self) -> ComposeResult:
        """A label saying what is asked and where, then the input."""
        yield self._label
        yield self._input

    def open(self, kind: str, target: str, term: str) -> None:
        """Ask for a ``kind`` ("search" or "filter") term for pane ``target``, starting from ``term``."""
        self.kind = kind
        self.target = target
        self._label.update(f"{kind} {target}: ")
        self.display = True
        with self._input.prevent(Input.Changed):
            self._input.value = term
        self._input.cursor_position = len(term)
        self._input.focus()

    @property
    def term(self) -> str:
        """What is typed now."""
        return self._input.value

    def action_close(self) -> None:
        """Hide the prompt, keeping what was applied."""
        self.display = False
        self.post_message(self.Closed())

    @on(Input.Changed, "#prompt-input")
    def _changed(self, event: Input.Changed) -> None:
        """Apply while typing."""
        event.stop()
        self.post_message(self.Changed(self.kind, self.target, event.value, final=False))

    @on(Input.Submitted, "#prompt-input")
    def _submitted(self, event: Input.Submitted) -> None:
        """Enter: apply and close."""
        event.stop()
        self.post_message(self.Changed(self.kind, self.target, event.value, final=True))
        self.action_close()
