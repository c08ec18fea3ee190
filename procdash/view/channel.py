"""Asynchronous connections to a procdash's control socket: JSON lines, one request at a time, frames."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from procdash.control import frames as fr
from procdash.control import protocol as p
from procdash.control.paths import socket_address
from procdash.view.formation import EndCallback, FormationError, OutputCallback

READ_LIMIT = 256 * 1024 * 1024  # a logs reply may carry the whole scrollback of a process
CONNECT_TIMEOUT = 5.0

JSON = dict[str, Any]


class Gone(Exception):
    """procdash is not there (any more): nothing listens on the socket, or it closed the connection."""


async def open_connection(path: Path) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to the socket (a path too long for a socket address goes through /proc/self/fd)."""
    try:
        with socket_address(path) as address:
            return await asyncio.wait_for(asyncio.open_unix_connection(address, limit=READ_LIMIT), CONNECT_TIMEOUT)
    except (FileNotFoundError, ConnectionRefusedError) as exc:
        raise Gone(f"nothing is running on {path}") from exc
    except (OSError, asyncio.TimeoutError) as exc:
        raise Gone(f"cannot reach procdash on {path}: {exc}") from exc


async def read_message(reader: asyncio.StreamReader) -> JSON | None:
    """The next JSON line, or None at end of connection."""
    try:
        line = await reader.readline()
    except (ConnectionError, asyncio.IncompleteReadError):
        return None
    if not line:
        return None
    message = json.loads(line)
    if not isinstance(message, dict):
        raise Gone("procdash sent something that is not a JSON object")
    return message


def reply_error(reply: JSON) -> str | None:
    """The one-line message of a failed reply, None for success."""
    if reply.get("ok"):
        return None
    error = reply.get("error") or {}
    return str(error.get("message") or "request failed")


class Requests:
    """Requests answered in order over one connection, reopened when procdash closed an idle one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = asyncio.Lock()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._next_id = 0

    async def call(self, command: str, **fields: Any) -> JSON:
        """Send one request and return its reply (FormationError for a refusal, Gone when procdash is gone)."""
        async with self._lock:
            for attempt in range(2):
                if self._writer is None:
                    self._reader, self._writer = await open_connection(self.path)
                assert self._reader is not None
                self._next_id += 1
                try:
                    self._writer.write(p.encode(p.request(command, self._next_id, **fields)))
                    await self._writer.drain()
                    reply = await read_message(self._reader)
                except ConnectionError:
                    reply = None
                if reply is None or reply.get("error", {}).get("code") == p.TIMEOUT:
                    # The server closes a connection idle for a few seconds: open a new one, once.
                    self._drop()
                    if attempt == 0:
                        continue
                    raise Gone("procdash closed the connection")
                message = reply_error(reply)
                if message is not None:
                    raise FormationError(message)
                return reply
        raise Gone("procdash closed the connection")  # pragma: no cover - the loop always returns or raises

    def _drop(self) -> None:
        """Forget the current connection."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
        self._reader = self._writer = None

    def close(self) -> None:
        """Close the connection."""
        self._drop()


class RemoteSession:
    """A ``connect`` session: binary frames carrying the process's raw output and our input."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pending: bytes) -> None:
        self.reader = reader
        self.writer = writer
        self._pending = pending
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    async def open(
        cls,
        path: Path,
        name: str,
        columns: int,
        rows: int,
        context: int,
        on_output: OutputCallback,
        on_end: EndCallback,
    ) -> RemoteSession:
        """Handshake, then relay frames in a task until either side ends the session."""
        reader, writer = await open_connection(path)
        request = p.request("connect", 1, name=name, columns=columns, rows=rows, context=context)
        writer.write(p.encode(request))
        reply = await read_message(reader)
        if reply is None:
            writer.close()
            raise FormationError("procdash closed the connection without answering")
        message = reply_error(reply)
        if message is not None:
            writer.close()
            raise FormationError(message)
        session = cls(reader, writer, b"")
        session._task = asyncio.get_running_loop().create_task(session._relay(on_output, on_end))
        return session

    async def _relay(self, on_output: OutputCallback, on_end: Callable[[str], None]) -> None:
        """Deliver output frames; the end frame (or a closed connection) ends the session."""
        frames = fr.FrameReader()
        reason = "procdash closed the connection"
        try:
            while True:
                data = await self.reader.read(64 * 1024)
                if not data:
                    break
                for kind, payload in frames.feed(data):
                    if kind == fr.OUTPUT:
                        on_output(payload)
                    elif kind == fr.END:
                        reason = payload.decode("utf-8", "replace") or "session ended"
                        return
        except (ConnectionError, fr.FrameError) as exc:
            reason = str(exc)
        finally:
            if not self._closed:
                on_end(reason)

    def write(self, data: bytes) -> None:
        """Input frames."""
        if not self._closed and data:
            self.writer.write(fr.frames(fr.INPUT, data))

    def resize(self, columns: int, rows: int) -> None:
        """A window-size frame."""
        if not self._closed:
            self.writer.write(fr.winsize(columns, rows))

    def close(self) -> None:
        """Detach: close the connection (the process keeps running)."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
        with contextlib.suppress(Exception):
            self.writer.close()
