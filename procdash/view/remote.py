"""The formation view of a procdash running elsewhere, mirrored over its control socket (``procdash attach``).

Joining without a gap or a repeat: subscribe first (its snapshot gives every instance's next sequence
number), hold the live events, fetch each backlog, then apply the held events past what the backlog
covered. A stream the server drops because this view fell behind is joined again the same way, from
the last line held, and the panes say what was fetched again (or lost, if it scrolled away meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from procdash.control import protocol as p
from procdash.core import events as ev
from procdash.core.instance import Instance, State
from procdash.core.interact import NO_PTY_MESSAGE
from procdash.core.logbuffer import DEFAULT_SCROLLBACK
from procdash.core.procfile import ProcessType
from procdash.core.supervisor import Subscriber
from procdash.view.channel import JSON, STREAM_BUFFER, Gone, MessageStream, Requests, reply_error
from procdash.view.formation import FormationError, ViewHooks
from procdash.view.mirror import Mirror, MirroredInstance, PaneNotice
from procdash.view.remote_actions import RemoteActions
from procdash.view.usage import Metrics

RESYNC_ATTEMPTS = 5
RESYNC_PAUSE = 0.2
ENDED = "procdash ended"


class RemoteFormation(RemoteActions):
    """A FormationView whose formation runs in another procdash; actions become control requests."""

    leaving_stops_formation = False

    def __init__(
        self, path: Path, server: Mapping[str, Any], *, usage_interval: float = 1.0, stream_buffer: int = STREAM_BUFFER
    ) -> None:
        self.path = path
        self.stream_buffer = stream_buffer  # bytes of the stream held here while the loop is busy
        self.server = dict(server)
        self.usage_interval = usage_interval
        self._subscribers: list[Subscriber] = []
        self.mirror = Mirror(self._emit, DEFAULT_SCROLLBACK)
        self.requests = Requests(path)
        self._hooks: ViewHooks | None = None
        self._stream: asyncio.Task[None] | None = None
        self._reader: MessageStream | None = None
        self._usage: Callable[[Metrics], None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ended: asyncio.Future[str] | None = None
        self._closing = False
        self.resyncs = 0

    # ----- reading -----------------------------------------------------------------------------------

    @property
    def procfile(self) -> Path:
        """The Procfile the server runs."""
        return Path(str(self.server.get("procfile") or "Procfile"))

    @property
    def root(self) -> Path:
        """Its root."""
        return Path(str(self.server.get("root") or "."))

    @property
    def where(self) -> str:
        """ "attached to pid N"."""
        return f"attached to pid {self.server.get('pid')}"

    @property
    def types(self) -> Sequence[ProcessType]:
        """Types as the server lists them."""
        return self.mirror.types

    @property
    def desired(self) -> Mapping[str, int]:
        """Desired counts as last heard."""
        return self.mirror.desired

    @property
    def slots(self) -> Mapping[str, list[Instance]]:
        """Replica slots per type."""
        return self.mirror.slots

    @property
    def type_index(self) -> Mapping[str, int]:
        """Procfile positions."""
        return self.mirror.type_index

    @property
    def scrollback(self) -> int:
        """The server's scrollback (the replicas keep as much)."""
        return self.mirror.scrollback

    @property
    def stop_timeout(self) -> float:
        """The server's stop timeout."""
        return self.mirror.stop_timeout

    def instances(self) -> list[Instance]:
        """Every replica."""
        return self.mirror.instances()

    def find(self, name: str) -> Instance | None:
        """One replica."""
        return self.mirror.find(name)

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Events re-made from the server's stream."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def input_refusal(self, name: str) -> str | None:
        """Decided from the replica, as the server would (it checks again when the bytes arrive)."""
        inst = self.mirror.find(name)
        if inst is None:
            return f"no process called {name}"
        if not inst.alive or inst.state not in (State.RUNNING, State.STOPPING):
            return f"{name} is not running"
        if isinstance(inst, MirroredInstance) and inst.remote_pty is False:
            return NO_PTY_MESSAGE.format(name=name)
        return None

    def watch_usage(self, interval: float, deliver: Callable[[Metrics], None]) -> bool:
        """Readings arrive as ``usage`` events (the server samples once for every client)."""
        self._usage = deliver
        if self.mirror.metrics is not None:
            deliver(self.mirror.metrics)
        return True

    # ----- lifecycle ---------------------------------------------------------------------------------

    async def open(self, hooks: ViewHooks) -> list[str]:
        """Subscribe, take the snapshot and every backlog, then follow the stream in a task."""
        self._hooks = hooks
        self._ended = asyncio.get_running_loop().create_future()
        try:
            reader, held = await self._join(first=True)
        except Gone as exc:
            raise FormationError(str(exc)) from None
        self._stream = asyncio.get_running_loop().create_task(self._follow(reader, held))
        return []

    async def _join(self, *, first: bool) -> tuple[MessageStream, list[JSON]]:
        """Subscribe and fill every replica's log up to the live stream; returns the stream and what it held."""
        fields: dict[str, Any] = {"logs": True}
        if self.usage_interval > 0:
            fields["usage"] = max(p.MIN_USAGE_INTERVAL, self.usage_interval)
        if self._reader is not None:
            self._reader.close()
        request = p.encode(p.request("subscribe", 1, **fields))
        reader = self._reader = await MessageStream.open(self.path, request, self.stream_buffer)
        snapshot = await reader.next()
        if snapshot is None:
            raise Gone("procdash closed the connection")
        message = reply_error(snapshot)
        if message is not None:
            raise FormationError(message)
        self.server.update(snapshot.get("server") or {})
        held: list[JSON] = []
        # Events keep arriving while the backlogs are fetched: hold them, to apply after.
        holder = asyncio.get_running_loop().create_task(_hold(reader, held))
        try:
            self.mirror.load(snapshot)
            notes = await self._backlogs(first)
        finally:
            holder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await holder
        for inst, text in notes:
            self._emit(PaneNotice(text, inst))
        return reader, held

    async def _backlogs(self, first: bool) -> list[tuple[Instance, str]]:
        """Fetch each replica's missing lines (all the server holds, at first); what was lost is reported."""
        notes: list[tuple[Instance, str]] = []
        for inst in self.mirror.instances():
            empty = len(inst.log) == 0
            since = 0 if empty else inst.log.next_seq  # a replica without lines takes all the server holds
            try:
                reply = await self.requests.call("logs", name=inst.name, since=since, lines=self.mirror.scrollback)
            except FormationError:
                continue  # scaled away between the snapshot and now: its removal is in the held events
            seq = int(reply.get("seq") or 0)
            lines = [str(line) for line in reply.get("lines") or []]
            log = inst.log
            if empty:
                log.next_seq = log.dropped = seq
            missed = self.mirror.lines(inst, seq, lines)
            if not first and (missed or lines):
                text = f"this view fell behind procdash: {len(lines)} lines of {inst.name} fetched again"
                if missed:
                    text += f", {missed} scrolled away before they could be"
                notes.append((inst, text))
        return notes

    async def _follow(self, reader: MessageStream, held: list[JSON]) -> None:
        """Apply held events, then the live stream; a stream cut short is joined again."""
        reason = ENDED
        try:
            while True:
                for message in held:
                    if self._dispatch(message):
                        return
                held = []
                ended = await self._read_stream(reader)
                if ended is not None:
                    reason = ended
                    return
                if self._closing:
                    return
                rejoined = await self._rejoin()
                if rejoined is None:
                    return
                reader, held = rejoined
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a broken stream ends the view with the reason, never a traceback
            reason = f"lost procdash: {type(exc).__name__}: {exc}"
        finally:
            if not self._closing:
                self._finish(reason)

    async def _read_stream(self, reader: MessageStream) -> str | None:
        """Apply events until the server ends the stream (its reason) or cuts it (None)."""
        while True:
            message = await reader.next()
            if message is None:
                return None
            if message.get("event") == "end":
                return ENDED if "stopped" in str(message.get("reason", "")) else str(message.get("reason") or ENDED)
            self._dispatch(message)

    async def _rejoin(self) -> tuple[MessageStream, list[JSON]] | None:
        """The stream was cut: join again if the same procdash still answers (None when it is gone)."""
        pid = self.server.get("pid")
        for _attempt in range(RESYNC_ATTEMPTS):
            try:
                info = await self.requests.call("info")
            except (Gone, FormationError):
                await asyncio.sleep(RESYNC_PAUSE)
                continue
            if (info.get("server") or {}).get("pid") != pid:
                return None  # another procdash took the socket: this formation is gone
            try:
                joined = await self._join(first=False)
            except (Gone, FormationError):
                await asyncio.sleep(RESYNC_PAUSE)
                continue
            self.resyncs += 1
            self._emit(ev.Notice("this view fell behind procdash and was resynchronised"))
            return joined
        return None

    def _dispatch(self, message: JSON) -> bool:
        """One stream message; True when it ends the stream."""
        kind = message.get("event")
        if kind == "lines":
            inst = self.mirror.find(str(message.get("name")))
            if inst is not None:
                missed = self.mirror.lines(inst, int(message.get("seq") or 0), list(message.get("lines") or []))
                if missed:
                    self._emit(PaneNotice(f"{missed} lines of {inst.name} were lost on the way", inst))
            return False
        if kind == "usage":
            metrics = self.mirror.usage(message)
            if self._usage is not None:
                self._usage(metrics)
            return False
        if kind == "end":
            return True
        self.mirror.apply(message)
        if kind == "notice" and str(message.get("text", "")).startswith("reloaded"):
            self._spawn(self._refresh_types())  # a reload changed the types: their list comes with status
        elif kind == "removed":
            type_name = str(message.get("name", "")).rpartition(".")[0]
            if not self.mirror.slots.get(type_name) and not self.mirror.desired.get(type_name):
                self._spawn(self._refresh_types())  # perhaps a type a reload removed, gone with its last process
        return False

    async def _refresh_types(self) -> None:
        """Take the types, commands and counts from a fresh status (instances keep following the stream)."""
        reply = await self._call("status")
        if reply is not None:
            self.mirror.load_types(reply)

    def _finish(self, reason: str) -> None:
        """The formation is gone: tell the app once."""
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(reason)
        if self._hooks is not None:
            self._hooks.ended(reason)

    async def stop_formation(self) -> None:
        """``quit``, then wait until the stream says procdash has ended."""
        await self._call("quit")
        if self._ended is not None:
            await asyncio.shield(self._ended)

    def kill_now(self) -> None:
        """``quit`` with ``kill``: SIGKILL every group now."""
        self._request("quit", kill=True)

    async def close(self) -> None:
        """Disconnect; the formation keeps running."""
        self._closing = True
        if self._stream is not None:
            self._stream.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._stream
        if self._reader is not None:
            self._reader.close()
        self.requests.close()
        for task in list(self._tasks):
            task.cancel()

    def _emit(self, event: ev.Event) -> None:
        """Deliver a re-made event to every subscriber; one failing never stops the others."""
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception as exc:
                asyncio.get_running_loop().call_exception_handler(
                    {"message": "procdash view subscriber failed", "exception": exc}
                )


async def _hold(reader: MessageStream, held: list[JSON]) -> None:
    """Collect stream messages until cancelled (while the backlogs are fetched)."""
    while True:
        message = await reader.next()
        if message is None:
            return
        held.append(message)
