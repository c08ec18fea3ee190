"""A small Textual app standing in for ``procdash attach`` where only the server's plumbing is tested."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Static


class Tiny(App[None]):
    """Shows a counter that ``+`` raises, so a test can see a key reach the app and the screen come back."""

    BINDINGS = [("plus", "bump", "bump")]  # noqa: RUF012 (Textual's own spelling)
    count = 0

    def compose(self) -> ComposeResult:
        """One line of text."""
        yield Static("tiny app 0", id="line")

    def action_bump(self) -> None:
        """Raise the counter."""
        self.count += 1
        self.query_one("#line", Static).update(f"tiny app {self.count}")


if __name__ == "__main__":
    Tiny().run()
