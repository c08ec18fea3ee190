"""A small blocking client for the control socket, used by ``procdash ctl`` and by tests."""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from procdash.control import protocol as p
from procdash.control.paths import check_private_dir, socket_address, socket_paths
from procdash.core.errors import ConfigError

DEFAULT_TIMEOUT = 10.0
MAX_REPLY_BYTES = 256 * 1024 * 1024  # a logs reply carries up to the whole scrollback


class NotRunning(Exception):
    """No procdash answers on the socket (missing, stale, or the directory is missing)."""


class ServerError(Exception):
    """The server answered with an error; the message is its one line."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ConnectionLost(Exception):
    """The server closed the connection without a reply or an ``end`` event."""


def find_socket(procfile: Path, environ: Mapping[str, str] | None = None) -> Path:
    """The socket a procdash for this Procfile listens on: the first candidate that accepts a connection.

    The candidates are the ones procdash tries, in its order; each private directory is checked before
    a socket in it is trusted. A directory someone else owns is only reported when nothing was found.
    """
    refused: ConfigError | None = None
    stale: Path | None = None
    for path in socket_paths(procfile, environ):
        try:
            check_private_dir(path.parent)
        except FileNotFoundError:
            continue
        except ConfigError as exc:
            refused = refused or exc
            continue
        if not os.path.lexists(path):
            continue
        if _accepts(path):
            return path
        stale = stale or path
    if refused is not None:
        raise refused
    if stale is not None:
        raise NotRunning(f"nothing is running for {procfile} (stale socket {stale})")
    raise NotRunning(f"nothing is running for {procfile}")


def _accepts(path: Path) -> bool:
    """Whether something listens on the socket (a stale file left by a killed procdash refuses)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(DEFAULT_TIMEOUT)
    try:
        with socket_address(path) as address:
            probe.connect(address)
    except (ConnectionRefusedError, FileNotFoundError):
        return False
    except OSError:
        return True  # busy (a full backlog) or slow, but there: the real connection will tell
    finally:
        probe.close()
    return True


class ControlClient:
    """One connection: ``call`` sends a request and returns its response; ``events`` reads a stream after it."""

    def __init__(self, path: Path, timeout: float | None = DEFAULT_TIMEOUT) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            with socket_address(path) as address:
                self.sock.connect(address)
        except (FileNotFoundError, ConnectionRefusedError):
            self.sock.close()
            raise NotRunning(f"nothing is running (stale socket {path})") from None
        except OSError:
            self.sock.close()
            raise
        self._buffer = b""
        self._next_id = 0

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        with contextlib.suppress(OSError):
            self.sock.close()

    def settimeout(self, timeout: float | None) -> None:
        """Change how long a read may block (None: forever, for following a stream)."""
        self.sock.settimeout(timeout)

    def send(self, command: str, **fields: Any) -> None:
        """Send one request."""
        self._next_id += 1
        self.sock.sendall(p.encode(p.request(command, self._next_id, **fields)))

    def read(self) -> dict[str, Any] | None:
        """The next message, or None at end of connection."""
        while b"\n" not in self._buffer:
            try:
                chunk = self.sock.recv(1024 * 1024)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return None
            self._buffer += chunk
            if len(self._buffer) > MAX_REPLY_BYTES:
                raise ConnectionLost("reply too large")
        line, self._buffer = self._buffer.split(b"\n", 1)
        message = json.loads(line)
        if not isinstance(message, dict):
            raise ConnectionLost("server sent something that is not a JSON object")
        return message

    def call(self, command: str, **fields: Any) -> dict[str, Any]:
        """Send a request and return its successful response; ServerError if the server refused it."""
        try:
            self.send(command, **fields)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed on us (to make room, say): the reason may be waiting to be read
        reply = self.read()
        if reply is None:
            raise ConnectionLost("procdash closed the connection without answering")
        if not reply.get("ok"):
            err = reply.get("error") or {}
            raise ServerError(str(err.get("code", "error")), str(err.get("message", "request failed")))
        return reply

    def events(self) -> Iterator[dict[str, Any]]:
        """Stream events until the server sends ``end`` (included) or closes; ConnectionLost if cut off."""
        while True:
            message = self.read()
            if message is None:
                raise ConnectionLost("connection closed by procdash")
            yield message
            if message.get("event") == "end":
                return

    def wait_closed(self) -> None:
        """Read until the server closes the connection (how ``quit`` learns procdash has finished)."""
        while self.read() is not None:
            pass
