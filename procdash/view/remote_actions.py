"""What a mirrored formation view asks of the procdash it mirrors: every action is a control request."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from procdash.control import protocol as p
from procdash.core import events as ev
from procdash.view.channel import JSON, Gone, RemoteSession, Requests
from procdash.view.formation import EndCallback, FormationError, OutputCallback, TerminalSession
from procdash.view.mirror import Mirror

if TYPE_CHECKING:
    from pathlib import Path


class RemoteActions:
    """Mixed into RemoteFormation: requests sent in order on one connection; a refusal becomes a notice."""

    path: Path
    mirror: Mirror
    requests: Requests
    _tasks: set[asyncio.Task[Any]]

    if TYPE_CHECKING:  # provided by RemoteFormation

        def _emit(self, event: ev.Event) -> None: ...

        def input_refusal(self, name: str) -> str | None: ...

    def _request(self, command: str, **fields: Any) -> None:
        """Send a request in the background; a refusal shows as a notice."""
        self._spawn(self._call(command, **fields))

    async def _call(self, command: str, **fields: Any) -> JSON | None:
        """One request; its failure becomes a notice rather than an exception nobody awaits."""
        try:
            return await self.requests.call(command, **fields)
        except FormationError as exc:
            self._emit(ev.Notice(f"{command}: {exc}"))
        except Gone:
            pass  # the stream notices too, and says so once
        return None

    def _spawn(self, coro: Any) -> None:
        """Run a coroutine on the loop, keeping a reference until it is done."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def scale(self, type_name: str, count: int) -> None:
        """An absolute count."""
        self._check_type(type_name)
        self._request("scale", changes=[{"type": type_name, "count": max(0, min(count, p.MAX_SCALE))}])

    def scale_by(self, type_name: str, delta: int) -> None:
        """A relative count, applied by the server (two quick presses add two)."""
        self._check_type(type_name)
        self._request("scale", changes=[{"type": type_name, "delta": delta}])

    def _check_type(self, type_name: str) -> None:
        """Refuse an unknown type here, as the server would."""
        if type_name not in self.mirror.desired:
            raise FormationError(f"no process type {type_name!r}")

    def restart(self, name: str) -> None:
        """``restart NAME``."""
        self._request("restart", targets=[name])

    def stop(self, name: str) -> None:
        """``stop NAME``."""
        self._request("stop", targets=[name])

    def start(self, name: str) -> None:
        """``start NAME``."""
        self._request("start", targets=[name])

    def send_input(self, name: str, data: bytes) -> None:
        """``send`` the bytes as text (an empty write checks only)."""
        refusal = self.input_refusal(name)
        if refusal is not None:
            raise FormationError(refusal)
        if data:
            self._request("send", name=name, text=data.decode("utf-8", "surrogateescape"))

    def send_key(self, name: str, key: str, character: str | None) -> None:
        """The server encodes the key with the modes the process set."""
        refusal = self.input_refusal(name)
        if refusal is not None:
            raise FormationError(refusal)
        self._request("send", name=name, key=key, char=character)

    def send_paste(self, name: str, text: str) -> None:
        """The server brackets it when the process asked for that."""
        refusal = self.input_refusal(name)
        if refusal is not None:
            raise FormationError(refusal)
        self._request("send", name=name, paste=text)

    def resize(self, name: str, columns: int, rows: int) -> None:
        """``resize NAME``."""
        self._request(
            "resize", name=name, columns=max(1, min(columns, p.MAX_WINDOW)), rows=max(1, min(rows, p.MAX_WINDOW))
        )

    def set_default_size(self, columns: int, rows: int) -> None:
        """``resize`` without a name."""
        self._request("resize", columns=max(1, min(columns, p.MAX_WINDOW)), rows=max(1, min(rows, p.MAX_WINDOW)))

    async def connect(
        self, name: str, columns: int, rows: int, context: int, on_output: OutputCallback, on_end: EndCallback
    ) -> TerminalSession:
        """A ``connect`` session over its own connection."""
        refusal = self.input_refusal(name)
        if refusal is not None:
            raise FormationError(refusal)
        columns, rows = max(1, min(columns, p.MAX_WINDOW)), max(1, min(rows, p.MAX_WINDOW))
        try:
            return await RemoteSession.open(
                self.path, name, columns, rows, min(context, p.MAX_WINDOW), on_output, on_end
            )
        except Gone as exc:
            raise FormationError(str(exc)) from None

    async def save_formation(self) -> str:
        """``scale --save`` with the current counts."""
        changes = [{"type": name, "count": count} for name, count in self.mirror.desired.items()]
        if not changes:
            raise FormationError("no process types to save")
        reply = await self._required("scale", changes=changes, save=True)
        return str(reply.get("saved") or "formation saved")

    async def reload(self) -> str:
        """``reload``."""
        reply = await self._required("reload")
        return str(reply.get("summary") or "reloaded")

    async def _required(self, command: str, **fields: Any) -> JSON:
        """A request whose failure the caller shows."""
        try:
            return await self.requests.call(command, **fields)
        except Gone as exc:
            raise FormationError(str(exc)) from None
