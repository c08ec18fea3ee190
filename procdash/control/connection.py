"""One control client's connection: replies written in a bounded window, events queued up to a fixed limit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from procdash.control import protocol as p
from procdash.core.instance import Instance

if TYPE_CHECKING:
    from procdash.control.talk import ConnectSession

RESPONSE_TIMEOUT = 30.0  # seconds a client may take to make room for the next piece of a reply


class ReplyLost(Exception):
    """A reply cannot be finished as promised (its lines scrolled away while the client did not read)."""


class Connection:
    """One client; nothing it does can make procdash queue more than about ``limit`` bytes for it.

    A reply is written piece by piece, the next only once the socket has taken all of the previous
    one, so at most one piece (tens of KiB) of it waits in procdash; events that arrive meanwhile for
    a stream wait behind it, up to ``limit`` bytes. A stream that falls ``limit`` bytes behind is
    dropped rather than allowed to grow procdash's memory.
    """

    def __init__(self, writer: asyncio.StreamWriter, limit: int) -> None:
        self.writer = writer
        self.limit = limit
        self.closed = False
        self.follow: Instance | None = None
        self.subscribed = False
        self.logs = True
        self.usage = False  # a subscriber that asked for periodic usage events
        self.waiting_quit = False
        self.session: ConnectSession | None = None  # a connect session owns the connection's bytes
        self.replying = False  # a reply is being written: events wait in ``pending``
        self.served = False  # a complete request has arrived since the connection opened
        self.opened = time.monotonic()
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        # drain() then waits until the transport has handed everything to the kernel, not just some.
        writer.transport.set_write_buffer_limits(high=0, low=0)

    @property
    def streaming(self) -> bool:
        """Whether this connection receives events."""
        return self.follow is not None or self.subscribed

    @property
    def long_lived(self) -> bool:
        """A stream or a ``quit`` waiting for the end: counted apart from connections making requests."""
        return self.streaming or self.waiting_quit or self.session is not None

    def push(self, data: bytes) -> None:
        """Queue a stream event; drop the client if it has fallen too far behind to keep up."""
        if self.closed:
            return
        if self.replying:
            self._pending.append(data)
            self._pending_bytes += len(data)
            if self._pending_bytes > self.limit:
                self.abort()
            return
        transport = self.writer.transport
        if transport.is_closing():
            self.closed = True
            return
        transport.write(data)
        if transport.get_write_buffer_size() > self.limit:
            self.abort()

    async def reply(self, pieces: Iterable[bytes]) -> None:
        """Write a reply piece by piece as the client reads it, then release the events queued behind it."""
        self.replying = True
        try:
            for piece in pieces:
                if self.closed:
                    return
                self.writer.transport.write(piece)
                if self.writer.transport.get_write_buffer_size():
                    await self.drain()
        except ReplyLost:
            self.abort()
            return
        finally:
            self.replying = False
        pending, self._pending, self._pending_bytes = self._pending, [], 0
        if pending and not self.closed:
            self.writer.transport.writelines(pending)

    async def drain(self) -> None:
        """Wait until the client took what was queued, dropping it if it takes too long."""
        if self.closed:
            return
        try:
            await asyncio.wait_for(self.writer.drain(), RESPONSE_TIMEOUT)
        except (asyncio.TimeoutError, ConnectionError, RuntimeError):
            self.abort()

    def say(self, message: p.JSONObject) -> None:
        """Queue one short message (an error before closing) without any checks."""
        if not self.closed:
            self.writer.transport.write(p.encode(message))

    def end(self, reason: str) -> None:
        """Finish a stream politely: a last ``end`` event, then close once it is flushed."""
        if self.closed:
            return
        if self.session is not None:
            self.closed = True
            self.session.end(reason)  # a binary end frame, never a JSON line inside the frames
            return
        if self.replying:
            self.abort()  # an ``end`` now would land in the middle of the reply
            return
        if self.long_lived:
            self.say(p.event("end", reason=reason))
        self.close()

    def close(self) -> None:
        """Close after what is queued has been written."""
        if not self.closed:
            self.closed = True
            self.writer.close()

    def abort(self) -> None:
        """Close at once, discarding whatever is queued."""
        self.closed = True
        self._pending, self._pending_bytes = [], 0
        self.writer.transport.abort()
