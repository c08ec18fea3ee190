"""Asynchronous connections to a procdash's control socket: JSON lines, one request at a time, frames."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from procdash.control import frames as fr
from procdash.control import protocol as p
from procdash.control.paths import socket_address
from procdash.view.formation import EndCallback, FormationError, OutputCallback

READ_LIMIT = 256 * 1024 * 1024  # a logs reply may carry the whole scrollback of a process
CONNECT_TIMEOUT = 5.0
STREAM_BUFFER = 64 * 1024 * 1024  # bytes of a subscription held in this process before it stops reading
READ_CHUNK = 1024 * 1024
REPLY_TIMEOUT = 30.0  # a logs reply of a whole scrollback included

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
    if not line.endswith(b"\n"):
        return None  # cut off mid-line: procdash dropped this connection (a stream that fell behind)
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


class MessageStream:
    """A subscription's messages, read off the socket by a thread so a busy UI frame never stalls the stream.

    procdash drops a stream that falls 1 MiB behind; the dashboard's loop can be busy for a frame or a
    collection at a time, so the bytes are taken from the socket as they come (up to ``limit`` held
    here) and parsed on the loop when it gets to them.
    """

    def __init__(self, sock: socket.socket, loop: asyncio.AbstractEventLoop, limit: int = STREAM_BUFFER) -> None:
        self.sock = sock
        self.loop = loop
        self.limit = limit
        self._chunks: collections.deque[bytes] = collections.deque()
        self._held = 0
        self._partial = b""
        self._lines: collections.deque[bytes] = collections.deque()
        self._eof = False
        self._room = threading.Condition()
        self._ready = asyncio.Event()
        self._thread = threading.Thread(target=self._read, name="procdash-attach-stream", daemon=True)

    @classmethod
    async def open(cls, path: Path, request: bytes, limit: int = STREAM_BUFFER) -> MessageStream:
        """Connect, send the request, and start reading."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(CONNECT_TIMEOUT)
            with socket_address(path) as address:
                sock.connect(address)
            sock.sendall(request)
            sock.settimeout(None)
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            sock.close()
            raise Gone(f"nothing is running on {path}") from exc
        except OSError as exc:
            sock.close()
            raise Gone(f"cannot reach procdash on {path}: {exc}") from exc
        stream = cls(sock, asyncio.get_running_loop(), limit)
        stream._thread.start()
        return stream

    def _read(self) -> None:
        """The thread: receive until end of connection, never holding more than ``limit`` bytes."""
        try:
            while True:
                with self._room:
                    while self._held > self.limit:
                        self._room.wait()
                try:
                    data = self.sock.recv(READ_CHUNK)
                except OSError:
                    data = b""
                with self._room:
                    if data:
                        self._chunks.append(data)
                        self._held += len(data)
                    else:
                        self._eof = True
                self.loop.call_soon_threadsafe(self._ready.set)
                if not data:
                    return
        except RuntimeError:
            return  # the loop closed under us: nobody is reading any more

    async def next(self) -> JSON | None:
        """The next message; None at end of connection (or when cut off mid-line)."""
        while not self._lines:
            with self._room:
                chunks = list(self._chunks)
                self._chunks.clear()
                self._held -= sum(map(len, chunks))
                eof = self._eof
                self._room.notify()
            if chunks:
                data = self._partial + b"".join(chunks)
                *lines, self._partial = data.split(b"\n")
                self._lines.extend(lines)
                continue
            if eof:
                return None
            self._ready.clear()
            if not self._chunks and not self._eof:
                await self._ready.wait()
        message = json.loads(self._lines.popleft())
        if not isinstance(message, dict):
            raise Gone("procdash sent something that is not a JSON object")
        return message

    def close(self) -> None:
        """Hang up (the thread sees end of connection and ends)."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        with self._room:
            self._held = 0
            self._room.notify()


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
                    reply = await asyncio.wait_for(read_message(self._reader), REPLY_TIMEOUT)
                except ConnectionError:
                    reply = None
                except asyncio.TimeoutError:
                    self._drop()
                    raise Gone(f"procdash did not answer {command!r} within {REPLY_TIMEOUT:g}s") from None
                if command == "quit" and not fields.get("kill"):
                    # procdash keeps a quit's connection until it ends and answers nothing more on it.
                    self._drop()
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
