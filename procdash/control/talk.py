"""Server side of ``send`` and ``connect``: input for a process's terminal, and a raw two-way session."""

from __future__ import annotations

import asyncio
import contextlib

from procdash.control import frames as fr
from procdash.control import protocol as p
from procdash.core.input import InputError as InputError
from procdash.core.instance import Instance
from procdash.core.supervisor import Supervisor
from procdash.term.keys import encode_key, encode_paste

CONNECT_LIMIT = 1024 * 1024  # output a connected client may fall behind before it is dropped
READ_CHUNK = 64 * 1024


def send(supervisor: Supervisor, inst: Instance, request: p.Send) -> p.JSONObject:
    """Write the request's text, key or paste to the instance's terminal; refusals are one-line protocol errors.

    Keys and pastes are encoded here, with the modes the process set on its terminal (only the
    server sees its output as it comes), so a remote dashboard types exactly what a local one would.
    """
    if request.key is not None:
        data = encode_key(request.key, request.char, app_cursor=inst.modes.app_cursor) or b""
        if not data:
            return p.ok(request.id, name=inst.name, bytes=0)
    elif request.paste is not None:
        data = encode_paste(request.paste, bracketed=inst.modes.bracketed_paste)
    else:
        data = request.text.encode("utf-8")
    try:
        supervisor.send_input(inst.name, data)
    except InputError as exc:
        raise p.ProtocolError(p.FAILED, str(exc), request.id) from None
    return p.ok(request.id, name=inst.name, bytes=len(data))


def resize(supervisor: Supervisor, request: p.Resize) -> p.JSONObject:
    """Size one instance's pty (a remote dashboard's pane), or set the size new ptys start with."""
    if request.name is None:
        supervisor.options.pty_size = (request.columns, request.rows)
        return p.ok(request.id, columns=request.columns, rows=request.rows)
    if supervisor.find(request.name) is None:
        raise p.ProtocolError(p.NOT_FOUND, f"no process called {request.name!r}", request.id)
    supervisor.resize(request.name, request.columns, request.rows)
    return p.ok(request.id, name=request.name, columns=request.columns, rows=request.rows)


def context_bytes(inst: Instance, lines: int) -> bytes:
    """The newest log lines and the unfinished one, as a freshly connected terminal should first show them."""
    shown = inst.log.tail(lines) if lines > 0 else []
    text = "".join(line + "\r\n" for line in shown) + inst.partial
    return text.encode("utf-8", "replace")


class ConnectSession:
    """One connected client: the instance's raw output goes out in frames, its frames come in as input."""

    def __init__(
        self, supervisor: Supervisor, inst: Instance, writer: asyncio.StreamWriter, request: p.Connect
    ) -> None:
        self.supervisor = supervisor
        self.inst = inst
        self.writer = writer
        self.request = request
        self.ended = False
        self._started = False
        self._held: list[bytes] = []  # output that came before the reply went out
        self._untap = supervisor.tap_output(inst.name, self._output, self.end)

    def start(self) -> None:
        """Send the context, then size the pty to the client's window and make a full-screen child redraw."""
        request = self.request
        self._started = True
        self._write(fr.frames(fr.OUTPUT, context_bytes(self.inst, request.context)))
        held, self._held = self._held, []
        for data in held:
            self._output(data)
        self._resize(request.columns, request.rows, nudge=True)

    async def run(self, reader: asyncio.StreamReader) -> None:
        """After the reply: relay the client's frames until it detaches (closes) or the process ends."""
        if not self.ended:
            self.start()
        frames = fr.FrameReader()
        try:
            while not self.ended:
                data = await reader.read(READ_CHUNK)
                if not data:
                    break
                for kind, payload in frames.feed(data):
                    self._handle(kind, payload)
        except fr.FrameError as exc:
            self.end(f"protocol error: {exc}")
        except (ConnectionError, InputError) as exc:
            self.end(str(exc))
        finally:
            self._untap()

    def end(self, reason: str) -> None:
        """Tell the client why the session is over and close it."""
        if self.ended:
            return
        self.ended = True
        self._untap()
        self._started = True
        self._write(fr.frame(fr.END, reason.encode("utf-8", "replace")))
        with contextlib.suppress(RuntimeError):
            self.writer.close()

    def _handle(self, kind: bytes, payload: bytes) -> None:
        """One frame from the client."""
        if kind == fr.INPUT:
            self.supervisor.send_input(self.inst.name, payload)
        elif kind == fr.WINSIZE:
            columns, rows = fr.parse_winsize(payload)
            self._resize(columns, rows, nudge=False)
        else:
            raise fr.FrameError(f"unknown frame kind {kind!r}")

    def _resize(self, columns: int, rows: int, *, nudge: bool) -> None:
        """Give the pty the client's size; when it already has it, change it twice so the child redraws."""
        if nudge and rows > 1:
            self.supervisor.resize(self.inst.name, columns, rows - 1)
        self.supervisor.resize(self.inst.name, columns, rows)

    def _output(self, data: bytes) -> None:
        """Raw output from the process (held until the JSON reply has gone out)."""
        if not self._started:
            if sum(map(len, self._held)) + len(data) <= CONNECT_LIMIT:
                self._held.append(data)
            return
        self._write(fr.frames(fr.OUTPUT, data))

    def _write(self, data: bytes) -> None:
        """Queue bytes for the client; one that falls too far behind is dropped, never waited for."""
        transport = self.writer.transport
        if not data or transport.is_closing():
            return
        transport.write(data)
        if transport.get_write_buffer_size() > CONNECT_LIMIT:
            self.ended = True
            self._untap()
            transport.abort()
