"""``procdash connect NAME``: this terminal attached to a process's pty through the control socket."""

from __future__ import annotations

import argparse
import json
import os
import select
import socket
import sys
from pathlib import Path
from typing import Any

from procdash.cli import detach_key
from procdash.control import frames as fr
from procdash.control import protocol as p
from procdash.control.client import NotRunning
from procdash.core.errors import ConfigError
from procdash.term.keys import key_label, parse_key_spec
from procdash.term.raw import on_resize, raw_terminal, split_at_detach, terminal_size

DEFAULT_DETACH = "ctrl+]"
EXIT_FAILED = 1
HANDSHAKE_TIMEOUT = 5.0


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``procdash connect``."""
    from procdash.control.command import add_where

    connect = subparsers.add_parser(
        "connect",
        help="attach this terminal to a running process (ctrl+] detaches)",
        description="Attach this terminal to a process of the procdash running for a Procfile: raw keys in, "
        "raw output out, window size forwarded. The detach key returns with the terminal as it was.",
    )
    connect.add_argument("name", metavar="NAME", help="instance (web.1), or a type with one instance")
    connect.add_argument(
        "--detach-key", type=detach_key, default=DEFAULT_DETACH, help=f"key that detaches (default {DEFAULT_DETACH})"
    )
    add_where(connect)
    connect.set_defaults(func=run)


def _handshake(sock: socket.socket, name: str, columns: int, rows: int) -> bytes:
    """Send the connect request and read its reply; returns bytes already received after it."""
    sock.sendall(p.encode(p.request("connect", 1, name=name, columns=columns, rows=rows, context=max(0, rows - 1))))
    buffer = b""
    while b"\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("procdash closed the connection without answering")
        buffer += chunk
        if len(buffer) > p.MAX_REQUEST_BYTES:
            raise ConnectionError("reply too large")
    line, rest = buffer.split(b"\n", 1)
    reply = json.loads(line)
    if not reply.get("ok"):
        error = reply.get("error") or {}
        raise LookupError(str(error.get("message", "procdash refused to connect")))
    return rest


def _write_all(fd: int, data: bytes) -> None:
    """Write everything to a (possibly slow) terminal."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def relay(sock: socket.socket, pending: bytes, detach: int, stdin: int, stdout: int) -> str | None:
    """Pass bytes both ways until the detach key (None) or the server ends the session (its reason)."""
    reader = fr.FrameReader()
    sock_fd = sock.fileno()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)

    def resized() -> None:
        try:
            os.write(wake_w, b"w")
        except BlockingIOError:
            pass

    try:
        with on_resize(resized):
            incoming = pending
            while True:
                for kind, payload in reader.feed(incoming):
                    if kind == fr.OUTPUT:
                        _write_all(stdout, payload)
                    elif kind == fr.END:
                        return payload.decode("utf-8", "replace") or "session ended"
                incoming = b""
                try:
                    ready, _, _ = select.select([stdin, sock_fd, wake_r], [], [])
                except InterruptedError:
                    continue
                if wake_r in ready:
                    os.read(wake_r, 1024)
                    sock.sendall(fr.winsize(*terminal_size(stdout)))
                if stdin in ready:
                    data = os.read(stdin, 65536)
                    if not data:
                        return None
                    data, detached = split_at_detach(data, detach)
                    if data:
                        sock.sendall(fr.frames(fr.INPUT, data))
                    if detached:
                        return None
                if sock_fd in ready:
                    incoming = sock.recv(65536)
                    if not incoming:
                        return "procdash closed the connection"
    finally:
        os.close(wake_r)
        os.close(wake_w)


def run(args: argparse.Namespace) -> int:
    """Attach, relay, detach; 0 on detach or when the process ended, 1 when procdash refused or went away."""
    from procdash.control.command import fail, socket_for

    if not os.isatty(0) or not os.isatty(1):
        raise ConfigError("connect needs a terminal on stdin and stdout (for scripts: procdash ctl send)")
    key_name, detach = parse_key_spec(args.detach_key)
    try:
        path: Path = socket_for(args)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(HANDSHAKE_TIMEOUT)
        try:
            sock.connect(os.fspath(path))
        except (FileNotFoundError, ConnectionRefusedError):
            raise NotRunning(f"nothing is running (stale socket {path})") from None
        columns, rows = terminal_size(1)
        pending = _handshake(sock, args.name, columns, rows)
        sock.settimeout(None)
    except NotRunning as exc:
        return fail(str(exc))
    except LookupError as exc:
        return fail(str(exc))
    except (OSError, ValueError) as exc:
        return fail(f"cannot connect: {exc}")
    label = key_label(key_name)
    sys.stderr.write(f"procdash: connected to {args.name} ({label} to detach)\r\n")
    sys.stderr.flush()
    try:
        with raw_terminal(0):
            reason = relay(sock, pending, detach, 0, 1)
    finally:
        sock.close()
    if reason is None:
        sys.stderr.write(f"\r\nprocdash: detached from {args.name}\n")
        return 0
    sys.stderr.write(f"\r\nprocdash: {reason}\n")
    return 0 if reason.endswith(" ended") else EXIT_FAILED
