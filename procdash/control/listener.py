"""Claiming the control socket before any process starts: stale sockets removed, a live procdash refused.

This module is what ``procdash start`` loads before its first process runs, so it stays light: the
protocol is imported only to question a socket that is already there.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

from procdash.control.paths import check_private_dir, ensure_private_dir, socket_address, socket_paths
from procdash.core.errors import ConfigError

PROBE_TIMEOUT = 2.0
BACKLOG = 128


class SocketTaken(ConfigError):
    """A procdash (or something else) already listens on the socket: starting a second formation is refused."""


class ControlUnavailable(Exception):
    """No candidate directory can hold the socket; procdash runs without control (the message says why)."""


@contextlib.contextmanager
def directory_lock(directory: Path) -> Iterator[None]:
    """Hold an exclusive flock on the socket directory, so two procdash starting at once cannot both bind."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


def read_line(sock: socket.socket, limit: int) -> bytes:
    """Read one newline-terminated message (at most ``limit`` bytes) from a blocking socket."""
    data = b""
    while b"\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > limit:
            raise ValueError("reply too long")
    return data.split(b"\n", 1)[0]


def ask_info(path: Path, timeout: float = PROBE_TIMEOUT) -> dict[str, object] | None:
    """Connect and ask who serves; None when nothing listens (refused or gone), ValueError/OSError if it is mute."""
    import json

    from procdash.control import protocol as p

    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(timeout)
    try:
        try:
            with socket_address(path) as address:
                probe.connect(address)
        except (ConnectionRefusedError, FileNotFoundError):
            return None
        probe.sendall(p.encode(p.request("info")))
        reply = json.loads(read_line(probe, p.MAX_REQUEST_BYTES))
        server = reply.get("server") if isinstance(reply, dict) else None
        if not isinstance(server, dict):
            raise ValueError("not a procdash reply")
        return server
    finally:
        probe.close()


def clear_stale(path: Path, timeout: float = PROBE_TIMEOUT) -> None:
    """Remove a socket nobody listens on; refuse with a one-line ConfigError if a procdash (or anything) answers."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISSOCK(info.st_mode):
        try:
            server = ask_info(path, timeout)
        except (OSError, ValueError):
            raise SocketTaken(
                f"something is listening on {path} but does not answer as procdash; stop it or remove the socket"
            ) from None
        if server is not None:
            raise SocketTaken(
                f"procdash is already running for {server.get('procfile')} (pid {server.get('pid')}); "
                "control it with `procdash ctl` or stop it first"
            )
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def bind_socket(path: Path) -> tuple[socket.socket, tuple[int, int]]:
    """Bind and listen on ``path`` with mode 0600; returns the socket and the file's (device, inode)."""
    with directory_lock(path.parent):
        clear_stale(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with socket_address(path) as address:
                sock.bind(address)
            # The directory is 0700 already; the socket's own mode is a second fence.
            os.chmod(path, 0o600)
            sock.listen(BACKLOG)
            sock.setblocking(False)
            info = os.stat(path)
        except OSError as exc:
            sock.close()
            raise ConfigError(f"cannot listen on the control socket: {exc.strerror or exc}", path=str(path)) from None
    return sock, (info.st_dev, info.st_ino)


def unlink_if_ours(path: Path, identity: tuple[int, int] | None) -> None:
    """Remove the socket file unless another procdash has replaced it since (same path, other inode)."""
    if identity is None:
        return
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if (info.st_dev, info.st_ino) == identity:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def refuse_if_running(path: Path) -> None:
    """Remove a stale socket at ``path`` or refuse if one answers; a directory that is not ours is left alone."""
    try:
        check_private_dir(path.parent)
    except (OSError, ConfigError):
        return
    with directory_lock(path.parent):
        clear_stale(path)


def bind_first(paths: list[Path]) -> tuple[Path, socket.socket, tuple[int, int]]:
    """Claim the first candidate that works, after making sure no procdash for this Procfile answers at any.

    Every candidate is checked first, so a formation bound in a fallback directory (the preferred one
    was full, say) is still found, and a second ``procdash start`` is refused instead of running twice.
    Raises SocketTaken for a live socket, ControlUnavailable when no directory can hold one.
    """
    for path in paths:
        refuse_if_running(path)
    reasons = []
    for path in paths:
        try:
            ensure_private_dir(path.parent)
            sock, identity = bind_socket(path)
        except SocketTaken:
            raise
        except ConfigError as exc:
            reasons.append(str(exc))
            continue
        return path, sock, identity
    raise ControlUnavailable("; ".join(reasons))


class Claim(NamedTuple):
    """A bound, listening control socket: where it is and the file's (device, inode), to remove only our own."""

    path: Path
    sock: socket.socket
    identity: tuple[int, int]


def claim(procfile: Path, environ: Mapping[str, str] | None = None, explicit: Path | None = None) -> Claim:
    """Bind the control socket for ``procfile``: at ``explicit``, or the first candidate that works.

    Raises ConfigError (SocketTaken) if a procdash for this Procfile already answers, and
    ControlUnavailable if no directory can hold the socket.
    """
    if explicit is None:
        return Claim(*bind_first(socket_paths(procfile, environ)))
    if not explicit.parent.is_dir():
        raise ConfigError("no such directory for the control socket", path=str(explicit.parent))
    return Claim(explicit, *bind_socket(explicit))
