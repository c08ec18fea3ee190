"""The one-line prompt for searching or filtering the current pane, docked above the footer."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label

PLACEHOLDER = "any case; ctrl+r regex/text; filter !term hides matches; enter keeps, escape closes"


class PromptBar(Horizontal):
    """Asks for a search or filter term; the term applies as it is typed, enter keeps it, escape closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", key_display="esc"),
        Binding("ctrl+r", "toggle_regex", "Regex/text"),
    ]

    class Changed(Message):
        """The term changed (``final`` once enter was pressed)."""

        def __init__(self, kind: str, target: str, term: str, final: bool, regex: bool = False) -> None:
            super().__init__()
            self.kind = kind
            self.target = target
            self.term = term
            self.final = final
            self.regex = regex

    class Closed(Message):
        """The prompt was dismissed; focus should return to where it came from."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.kind = "search"
        self.target = ""
        self.return_to: Widget | None = None  # what had the focus before the prompt opened
        self.regex = False  # the term is a regular expression (ctrl+r), else plain text
        self._label = Label("", id="prompt-label")
        self._input = Input(
            placeholder=PLACEHOLDER,
            id="prompt-input",
        )

    def compose(self) -> ComposeResult:
        """A label saying what is asked and where, then the input."""
        yield self._label
        yield self._input

    def open(self, kind: str, target: str, term: str, regex: bool = False) -> None:
        """Ask for a ``kind`` ("search" or "filter") term for pane ``target``, starting from ``term``."""
        if not self.display:
            self.return_to = self.screen.focused
        self.kind = kind
        self.target = target
        self.regex = regex
        self.show_error(None)
        self.display = True
        with self._input.prevent(Input.Changed):
            self._input.value = term
        self._input.cursor_position = len(term)
        # At once, not through Widget.focus() (which waits for the next loop turn): keys that came in the
        # same burst as "/" are already queued behind it and must be typed into the prompt, in order.
        self.screen.set_focus(self._input)

    def action_toggle_regex(self) -> None:
        """ctrl+r: read the term as a regular expression, or as plain text again; applies at once."""
        self.regex = not self.regex
        self.show_error(None)
        self.post_message(self.Changed(self.kind, self.target, self._input.value, final=False, regex=self.regex))

    def show_error(self, error: str | None) -> None:
        """The label: what is asked, where, in which mode (and why a regular expression is refused)."""
        mode = "regex" if self.regex else "text"
        label = Text(f"{self.kind} {self.target} ")
        label.append(f"[{mode}]", style="reverse" if self.regex else "dim")
        if error:
            label.append(f" bad regex: {error}", style="bold red")
        label.append(": ")
        self._label.update(label)

    def catch_stray_key(self, event: events.Key) -> bool:
        """Type a printable key into the open prompt when it reached the app from another widget.

        Keys of one burst are handed to the widget focused when each was read, so those behind "/" sit
        in the table's (or a pane's) queue and bubble up unhandled once the prompt has the focus; they
        belong in the prompt, in order. Keys typed into the input itself never bubble (it stops them).
        """
        if not (self.display and self.screen.focused is self._input and event.is_printable and event.character):
            return False
        event.stop()
        event.prevent_default()
        self._input.insert_text_at_cursor(event.character)
        return True

    @property
    def input(self) -> Input:
        """The text field."""
        return self._input

    @property
    def term(self) -> str:
        """What is typed now."""
        return self._input.value

    def action_close(self) -> None:
        """Escape: hide the prompt; a search is cleared (its highlights go), a filter stays as typed."""
        if self.kind == "search" and self._input.value:
            self.post_message(self.Changed(self.kind, self.target, "", final=True, regex=self.regex))
        self._hide()

    def _hide(self) -> None:
        """Hide the prompt and ask for the focus to go back where it was."""
        self.display = False
        self.post_message(self.Closed())

    @on(Input.Changed, "#prompt-input")
    def _changed(self, event: Input.Changed) -> None:
        """Apply while typing."""
        event.stop()
        self.post_message(self.Changed(self.kind, self.target, event.value, final=False, regex=self.regex))

    @on(Input.Submitted, "#prompt-input")
    def _submitted(self, event: Input.Submitted) -> None:
        """Enter: apply and close."""
        event.stop()
        self.post_message(self.Changed(self.kind, self.target, event.value, final=True, regex=self.regex))
        self._hide()
