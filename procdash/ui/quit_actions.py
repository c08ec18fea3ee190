"""Ending the dashboard: quitting the formation (with progress on screen), or leaving an attached view."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import replace

from textual import work

from procdash.ui.base import DashboardBase
from procdash.ui.screens.confirm import ConfirmQuitScreen
from procdash.ui.screens.quitting import QuitScreen


class QuitActions(DashboardBase):
    """Mixed into the app: ``q`` ends what this view owns; ``Q`` asks to stop a formation it only watches."""

    _quitting = False
    ended_reason: str | None = None  # why the formation went away under an attached view

    def label_quit_keys(self) -> None:
        """In a view that does not own its formation the footer says what q really does: leave."""
        if self.formation.leaving_stops_formation:
            return
        keys = self._bindings.key_to_bindings
        for key, label in (("q", "Leave"), ("Q", "Quit procdash")):
            keys[key] = [replace(binding, description=label, show=True) for binding in keys.get(key, [])]

    def action_request_quit(self) -> None:
        """q: the local dashboard stops everything (again: kill at once); an attached view just leaves."""
        if not self.formation.leaving_stops_formation and not self._quitting:
            self.action_leave()
            return
        if self._quitting:
            self.action_kill_now()
            return
        self._begin_quit()

    def action_leave(self) -> None:
        """Leave the view; a formation running elsewhere keeps running."""
        if self.formation.leaving_stops_formation:
            self.action_request_quit()
            return
        self.exit(0)

    def action_quit_formation(self) -> None:
        """Q: quit procdash itself; asked first when this view is attached (others may be using it)."""
        if self.formation.leaving_stops_formation or self._quitting:
            self.action_request_quit()
            return
        if not isinstance(self.screen, ConfirmQuitScreen):
            self.push_screen(ConfirmQuitScreen(self.formation.where), self._confirmed)

    def _confirmed(self, stop: bool | None) -> None:
        """The answer to "stop every process and end procdash?"."""
        if stop:
            self._begin_quit()

    def _begin_quit(self) -> None:
        """Stop the formation gracefully, with progress on screen."""
        self._quitting = True
        self.mark_table_dirty()
        self.push_screen(QuitScreen(self.formation))
        self._graceful_exit()

    def action_kill_now(self) -> None:
        """SIGKILL every process group now (second q or ctrl+c while quitting)."""
        if not self._quitting:
            self.action_request_quit()
            return
        self.formation.kill_now()
        if isinstance(self.screen, QuitScreen):
            self.screen.mark_killing()

    def _quit_from_ctl(self) -> None:
        """``procdash ctl quit``: the same graceful quit as ``q``, but never the second press that kills."""
        if not self._quitting:
            self._begin_quit()

    def _formation_ended(self, reason: str) -> None:
        """The formation went away under an attached view: say why (the command prints it) and leave."""
        self.ended_reason = reason
        self.exit(0)

    @work(group="shutdown", exit_on_error=False)
    async def _graceful_exit(self) -> None:
        """Stop the formation, then leave with status 0."""
        try:
            await self.formation.stop_formation()
        finally:
            self.exit(0)

    def install_signal_handlers(self) -> None:
        """SIGTERM, SIGHUP and SIGINT quit (the local dashboard) or leave (an attached view)."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            loop.add_signal_handler(signum, self.action_request_quit)

    def remove_signal_handlers(self) -> None:
        """Undo install_signal_handlers."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            loop.remove_signal_handler(signum)
