"""Talking to a process from the dashboard: provisional rows, input mode (``i``) and the real terminal (``I``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys

from rich.text import Text
from textual import events
from textual.widgets import Footer

from procdash.core import events as ev
from procdash.core.instance import LIVE_STATES
from procdash.term.keys import key_label, parse_key_spec
from procdash.term.raw import raw_terminal, split_at_detach, terminal_size
from procdash.ui.base import DashboardBase
from procdash.ui.widgets.input_bar import InputBar
from procdash.ui.widgets.panes import LogPane
from procdash.view.formation import FormationError

DEFAULT_DETACH = "ctrl+]"


class InputModeActions(DashboardBase):
    """Mixed into the app in front of the others: while in input mode it takes every key before bindings."""

    input_target: str | None = None
    _detach_key = "ctrl+right_square_bracket"
    _detach_byte = 0x1D
    _input_unsubscribe: object = None
    _connected: str | None = None

    def init_input_mode(self, detach_spec: str | None) -> None:
        """Set the leave key (``--detach-key``; validated by the command line)."""
        self._detach_key, self._detach_byte = parse_key_spec(detach_spec or DEFAULT_DETACH)

    @property
    def detach_label(self) -> str:
        """The leave key as people write it."""
        return key_label(self._detach_key)

    # ----- provisional rows --------------------------------------------------------------------------

    def flush_partials(self) -> None:
        """Show each visible pane's unfinished line (called by the flush timer, once per frame)."""
        self.feed.dirty_partials.clear()
        for pane in self.visible_panes():
            typing = pane.key == self.input_target
            if pane is self.merged_pane:
                rows = [
                    f"{inst.name:<{self.feed.width}} | {inst.partial}"
                    for inst in self.formation.instances()
                    if inst.partial
                ]
            else:
                inst = self.formation.find(pane.key)
                rows = [inst.partial] if inst is not None and inst.partial else []
            pane.partial_row.show_rows(rows, cursor=typing)

    def _pane_title(self, pane: LogPane) -> str | Text:
        """The views' title, or the unmistakable input-mode title for the pane being typed into."""
        if pane.key != self.input_target or pane is self.merged_pane:
            title: str | Text = super()._pane_title(pane)  # type: ignore[misc]
            return title
        pane.title_key = None  # rebuild the normal title once input mode ends
        return Text(f"INPUT → {pane.key} · {self.detach_label} to leave", style="bold")

    # ----- input mode --------------------------------------------------------------------------------

    def action_input_mode(self) -> None:
        """i: type into the focused pane's process, or the selected one; the leave key comes back."""
        name = self._input_candidate()
        if name is None:
            self.notify("select one process to type into", timeout=3)
            return
        self.start_input(name)

    def start_input(self, name: str) -> None:
        """Enter input mode on one process (``i``, or "type into NAME" in the palette)."""
        if self.input_target is not None:
            self.leave_input_mode()
        refusal = self.formation.input_refusal(name)
        if refusal is not None:
            self.notify(refusal, title="no input", severity="warning", timeout=4)
            return
        if name not in {pane.key for pane in self.visible_panes()}:
            self.show_focus(name)  # type: ignore[attr-defined]
        self.input_target = name
        self._input_unsubscribe = self.formation.subscribe(self._input_event)
        pane = self.panes[name]
        pane.add_class("-input")
        pane.show_title(self._pane_title(pane), pane.flags())
        pane.view.focus()
        self.query_one(Footer).display = False
        self.mount(InputBar(name, self.detach_label))
        self.flush_partials()

    def leave_input_mode(self, message: str | None = None) -> None:
        """Back to the dashboard's keys; ``message`` says why when it was not the leave key."""
        name = self.input_target
        if name is None:
            return
        self.input_target = None
        if callable(self._input_unsubscribe):
            self._input_unsubscribe()
        self._input_unsubscribe = None
        pane = self.panes.get(name)
        if pane is not None:
            pane.remove_class("-input")
            pane.title_key = None
            pane.show_title(super()._pane_title(pane), pane.flags())  # type: ignore[misc]
        for bar in self.query(InputBar):
            bar.remove()
        self.query_one(Footer).display = True
        self.flush_partials()
        if message:
            self.notify(message, title="input mode ended", severity="warning", timeout=4)

    def _input_candidate(self) -> str | None:
        """The process ``i`` and ``I`` act on: the focused pane's, else the single selected instance."""
        pane = self.focused_pane()
        if pane is not None and pane.key in self.panes:
            return pane.key
        names = self.selected_names()
        return names[0] if len(names) == 1 else None

    def _input_event(self, event: ev.Event) -> None:
        """The typed-into process ended: input mode ends with a message (after this event is handled)."""
        if isinstance(event, ev.Partial) and event.instance.name == self.input_target:
            # The echo of what is being typed is drawn now, not at the next flush: typing must feel direct.
            pane = self.panes.get(event.instance.name)
            if pane is not None:
                pane.partial_row.show_rows([event.text] if event.text else [], cursor=True)
        elif isinstance(event, ev.Exited) and event.instance.name == self.input_target:
            self.call_later(self.leave_input_mode, f"{event.instance.name} ended while you typed")
        elif isinstance(event, ev.Removed) and event.instance.name == self.input_target:
            self.call_later(self.leave_input_mode, f"{event.instance.name} was removed")

    async def on_event(self, event: events.Event) -> None:
        """In input mode every key and paste goes to the process; only the leave key is the dashboard's."""
        # Only on the main screen: the help or quit screen on top takes its own keys.
        if self.input_target is not None and len(self.screen_stack) == 1:
            if isinstance(event, events.Key) and not event.is_forwarded:
                self._type_key(event)
                return
            if isinstance(event, events.Paste):
                self._type_paste(event.text)
                return
        await super().on_event(event)

    def _type_key(self, event: events.Key) -> None:
        """Encode one key as a terminal would and write it to the process's pty."""
        name = self.input_target
        if name is None:
            return
        if event.key == self._detach_key:
            self.leave_input_mode()
            return
        if self.formation.find(name) is None:
            self.leave_input_mode(f"{name} is gone")
            return
        try:
            self.formation.send_key(name, event.key, event.character)
        except FormationError as exc:  # it ended, stopped reading: input mode ends with the reason
            self.leave_input_mode(str(exc))

    def _type_paste(self, text: str) -> None:
        """A paste, bracketed when the process turned bracketed paste on."""
        name = self.input_target
        if name is None or self.formation.find(name) is None:
            return
        try:
            self.formation.send_paste(name, text)
        except FormationError as exc:
            self.leave_input_mode(str(exc))

    # ----- the real terminal -------------------------------------------------------------------------

    async def action_connect_terminal(self) -> None:
        """I: hand the real terminal to the process (vim, htop, a curses debugger); the leave key returns."""
        name = self.input_target or self._input_candidate()
        if name is None:
            self.notify("select one process to connect to", timeout=3)
            return
        await self.connect_to(name)

    async def connect_to(self, name: str) -> None:
        """Hand the real terminal to one process (``I``, or "connect NAME" in the palette)."""
        inst = self.formation.find(name)
        refusal = self.formation.input_refusal(name) if inst is not None else f"{name} is gone"
        if refusal is None and inst is not None and inst.state not in LIVE_STATES:
            refusal = f"{name} is not running"
        if refusal is not None:
            self.notify(refusal, title="cannot connect", severity="warning", timeout=4)
            return
        self.leave_input_mode()
        try:
            with self.suspend():
                reason = await self._relay_terminal(name)
        except Exception as exc:  # SuspendNotSupported (web, tests) or a terminal that refused raw mode
            self.notify(f"{type(exc).__name__}: {exc} (use procdash connect {name})", title="cannot connect")
            return
        finally:
            self._connected = None
            self._pty_sent.clear()  # the pty gets its pane size back at the next sync
            self.call_after_refresh(self._sync_pty_size)  # type: ignore[attr-defined]
        if reason:
            self.notify(reason, title=f"back from {name}", timeout=4)

    async def _relay_terminal(self, name: str) -> str | None:
        """Raw passthrough between procdash's own terminal and the process; other processes keep being read."""
        loop = asyncio.get_running_loop()
        stdin, stdout = sys.__stdin__.fileno(), sys.__stdout__.fileno()  # type: ignore[union-attr]
        done: asyncio.Future[str | None] = loop.create_future()
        self._connected = name

        def output(data: bytes) -> None:
            with contextlib.suppress(OSError):
                _write_all(stdout, data)

        def ended(reason: str) -> None:
            if not done.done():
                done.set_result(reason)

        _write_all(stdout, f"procdash: connected to {name} ({self.detach_label} to return)\r\n".encode())
        columns, rows = terminal_size(stdout)
        try:
            session = await self.formation.connect(name, columns, rows, max(0, rows - 2), output, ended)
        except FormationError as exc:
            return str(exc)

        def typed() -> None:
            try:
                data = os.read(stdin, 65536)
            except OSError:
                data = b""
            if not data:
                ended("the terminal closed")
                return
            data, detached = split_at_detach(data, self._detach_byte)
            if data:
                try:
                    session.write(data)
                except FormationError as exc:
                    ended(str(exc))
            if detached and not done.done():
                done.set_result(None)

        def resized() -> None:
            session.resize(*terminal_size(stdout))

        try:
            with raw_terminal(stdin):
                loop.add_reader(stdin, typed)
                loop.add_signal_handler(signal.SIGWINCH, resized)
                try:
                    return await done
                finally:
                    loop.remove_reader(stdin)
                    loop.remove_signal_handler(signal.SIGWINCH)
        finally:
            session.close()


def _write_all(fd: int, data: bytes) -> None:
    """Write everything to the terminal."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            continue
        view = view[written:]
