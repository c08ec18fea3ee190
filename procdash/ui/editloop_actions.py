"""Dashboard actions of the edit-run loop: ctrl+r reloads the Procfile, S saves the formation."""

from __future__ import annotations

from procdash.ui.base import DashboardBase
from procdash.view.formation import FormationError


class EditLoopActions(DashboardBase):
    """Mixin for ProcdashApp: both go to the formation (its edit loop, locally or over the socket), as ``ctl`` does."""

    async def action_reload(self) -> None:
        """ctrl+r: re-read the Procfile, Procfile.toml and .env; the result shows as a notice (an error too)."""
        try:
            await self.formation.reload()  # its summary, or the file:line error, also arrives as a notice
        except FormationError as exc:
            self.notify(str(exc), title="not reloaded", severity="warning")

    async def action_save_formation(self) -> None:
        """S: write the current counts into Procfile.toml's formation, keeping its comments."""
        try:
            self.notify(await self.formation.save_formation(), title="formation saved")
        except FormationError as exc:
            self.notify(str(exc), title="formation not saved", severity="error")
