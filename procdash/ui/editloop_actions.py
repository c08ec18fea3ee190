"""Dashboard actions of the edit-run loop: ctrl+r reloads the Procfile, S saves the formation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from procdash import editloop
from procdash.core.errors import ConfigError
from procdash.ui.base import DashboardBase

if TYPE_CHECKING:
    from procdash.headless import Service


class EditLoopActions(DashboardBase):
    """Mixin for ProcdashApp: both actions go through the run's EditLoop service, as ``ctl`` does."""

    services: list[Service]

    def action_reload(self) -> None:
        """ctrl+r: re-read the Procfile, Procfile.toml and .env; the result shows as a notice (an error too)."""
        loop = editloop.find(self.services)
        if loop is None:
            self.notify("reload is not available in this dashboard", severity="warning")
            return
        loop.reload()  # its summary, or the file:line error, arrives as a notice

    def action_save_formation(self) -> None:
        """S: write the current counts into Procfile.toml's formation, keeping its comments."""
        loop = editloop.find(self.services)
        if loop is None:
            self.notify("saving the formation is not available in this dashboard", severity="warning")
            return
        try:
            self.notify(loop.save(), title="formation saved")
        except ConfigError as exc:
            self.notify(str(exc), title="formation not saved", severity="error")
