"""The dashboard's side of the settings file: apply it at start, write it when a remembered choice changes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual.theme import Theme

from procdash.ui import settings as store
from procdash.ui.base import DashboardBase


class Remembered(DashboardBase):
    """Mixed into the app: theme, wrap, timestamps and table order survive a restart of procdash."""

    settings_path: Path | None
    wrap_default: bool

    def apply_settings(self) -> None:
        """Read the settings file (if the app has one) and apply what it holds; report a bad file once."""
        if self.settings_path is None:
            return
        settings, problem = store.load(self.settings_path)
        if problem:
            self.notify(problem, title="settings", severity="warning", timeout=8)
        if settings.theme in self.available_themes:
            self.theme = settings.theme
        elif settings.theme != store.Settings.theme:
            self.notify(f"{self.settings_path}: unknown theme {settings.theme!r}", title="settings", severity="warning")
        self.wrap_default = settings.wrap
        self.timestamps = settings.timestamps
        self.order = replace(self.order, key=settings.sort, descending=settings.sort_descending)
        self.apply_timestamps()
        self.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, theme: Theme) -> None:
        """A theme was picked (command palette): remember it."""
        self.remember()

    def remember(self) -> None:
        """Write the current choices to the settings file (when the app has one)."""
        if self.settings_path is None:
            return
        current = store.Settings(
            theme=self.theme,
            wrap=self.wrap_default,
            timestamps=self.timestamps,
            sort=self.order.key,
            sort_descending=self.order.descending,
        )
        problem = store.save(self.settings_path, current)
        if problem:
            self.notify(problem, title="settings", severity="warning")
