"""The control server: serves the protocol on the formation's Unix socket, beside the formation, in either mode."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from procdash.control import actions, talk
from procdash.control import protocol as p
from procdash.control.connection import Connection
from procdash.control.listener import Claim, claim, unlink_if_ours
from procdash.control.usage import UsagePublisher
from procdash.control.views import UsageSnapshot, UsageSource, event_view, usage_view
from procdash.core import events as ev
from procdash.core.instance import Instance
from procdash.core.reload import ReloadResult
from procdash.core.supervisor import Supervisor

MAX_CLIENTS = 64  # connections making requests; past it the oldest is closed to make room
MAX_STREAMS = 64  # subscribe / logs --follow connections, counted apart so they never block a request
WRITE_LIMIT = 1024 * 1024  # bytes queued for one client (events behind a reply, or a stream) before it is dropped
REQUEST_TIMEOUT = 5.0  # seconds a connection has to send a complete request (after opening or the last reply)
STOP_TIMEOUT = 2.0
READ_CHUNK = 64 * 1024
BUSY_MESSAGE = "too many control clients at once (at most {}); try again"


class ControlServer:
    """A Service that lets ``procdash ctl`` (and later ``procdash attach``) drive the running formation."""

    def __init__(
        self,
        procfile: Path,
        root: Path,
        *,
        path: Path | None = None,
        usage: UsageSource | None = None,
        on_quit: Callable[[], object] | None = None,
        max_clients: int = MAX_CLIENTS,
        max_streams: int = MAX_STREAMS,
        write_limit: int = WRITE_LIMIT,
        request_timeout: float = REQUEST_TIMEOUT,
        environ: Mapping[str, str] | None = None,
        claimed: Claim | None = None,
    ) -> None:
        self.procfile = procfile
        self.root = root
        self.explicit_path = path
        self.environ = environ
        self.path: Path | None = path
        self.usage = usage
        # What ``quit`` does; the default stops every process, which ends headless mode. The dashboard sets it.
        self.on_quit = on_quit
        # ``reload`` and ``scale --save``, given by the edit-run loop (procdash.editloop.connect).
        self.on_reload: Callable[[], ReloadResult] | None = None
        self.on_save: Callable[[], str] | None = None
        self.max_clients = max_clients
        self.max_streams = max_streams
        self.write_limit = write_limit
        self.request_timeout = request_timeout
        self.info: actions.ServerInfo | None = None
        self._sock: socket.socket | None = None
        self._identity: tuple[int, int] | None = None
        if claimed is not None:  # bound before the formation started, by ``procdash start``
            self._adopt(claimed)
        self._server: asyncio.AbstractServer | None = None
        self._supervisor: Supervisor | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._connections: set[Connection] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._quit_task: asyncio.Task[None] | None = None
        self._quitting = False
        self._usage_events = UsagePublisher(lambda: self.usage, self._instances, self._publish_usage)

    @property
    def client_count(self) -> int:
        """Connections being served right now (streams included)."""
        return len(self._connections)

    # ----- lifecycle ---------------------------------------------------------------------------------

    def bind(self) -> Path:
        """Claim the socket now, before any process starts.

        Raises ConfigError (SocketTaken) if a procdash for this Procfile already answers, and
        ControlUnavailable if no directory can hold the socket (procdash then runs without control).
        """
        if self._sock is not None and self.path is not None:
            return self.path
        return self._adopt(claim(self.procfile, self.environ, self.explicit_path))

    def _adopt(self, claimed: Claim) -> Path:
        """Serve on a socket bound already; returns its path."""
        self.path, self._sock, self._identity = claimed
        self.info = actions.ServerInfo(procfile=self.procfile, root=self.root, socket=claimed.path)
        return claimed.path

    async def start(self, supervisor: Supervisor) -> None:
        """Serve on the running loop and mirror supervisor events to streaming clients."""
        self.bind()
        self._supervisor = supervisor
        self._server = await asyncio.start_unix_server(self._serve, sock=self._sock, limit=p.MAX_REQUEST_BYTES)
        self._unsubscribe = supervisor.subscribe(self._on_event)

    async def stop(self) -> None:
        """Stop listening, end every stream with a reason, and remove the socket file."""
        await self._usage_events.stop()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        # Unlink while the listener is still open: its inode cannot have been reused by another socket yet.
        if self.path is not None:
            unlink_if_ours(self.path, self._identity)
        self._identity = None
        if self._server is not None:
            self._server.close()
        elif self._sock is not None:
            self._sock.close()
        for conn in list(self._connections):
            conn.end("procdash stopped")
        if self._handlers:
            _done, pending = await asyncio.wait(set(self._handlers), timeout=STOP_TIMEOUT)
            for task in pending:
                task.cancel()
        for conn in list(self._connections):
            conn.abort()
        if self._quit_task is not None and not self._quit_task.done():
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._quit_task), STOP_TIMEOUT)

    # ----- connections -------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer requests one after another until EOF; a stream or ``quit`` keeps the connection to itself."""
        conn = Connection(writer, self.write_limit)
        task = asyncio.current_task()
        self._make_room()
        self._connections.add(conn)
        if task is not None:
            self._handlers.add(task)
        try:
            await self._requests(conn, reader)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._connections.discard(conn)
            self._usage_events.drop(id(conn))
            if task is not None:
                self._handlers.discard(task)
            conn.close()

    def _make_room(self) -> None:
        """Keep a new connection from being turned away: close the oldest request connection if all are taken.

        One that has not sent a complete request goes first (it is the likely culprit), else the
        oldest still being answered. Streams are never closed here: they have their own limit.
        """
        requesting = [c for c in self._connections if not c.long_lived and not c.closed]
        if len(requesting) < self.max_clients:
            return
        victim = min(requesting, key=lambda c: (c.served, c.opened))
        if victim.replying:
            victim.abort()  # a message now would land in the middle of its reply, which it is not reading
            return
        victim.say(p.error(p.BUSY, BUSY_MESSAGE.format(self.max_clients)))
        victim.close()

    async def _requests(self, conn: Connection, reader: asyncio.StreamReader) -> None:
        """The request loop of one connection."""
        while not conn.closed:
            try:
                line = await asyncio.wait_for(reader.readline(), self.request_timeout)
            except ValueError:
                # Over the limit: the rest of the line is still coming, so the connection cannot resync.
                conn.say(p.error(p.TOO_LARGE, f"request longer than {p.MAX_REQUEST_BYTES} bytes"))
                await conn.drain()
                return
            except asyncio.TimeoutError:
                conn.say(p.error(p.TIMEOUT, f"no complete request within {self.request_timeout:g}s; closing"))
                return
            if not line or conn.closed:
                return
            if not line.strip():
                continue
            conn.served = True
            pieces, streams = self._dispatch(conn, line)
            await conn.reply(pieces)
            if streams:
                # No drain here: a busy stream may never dip below the low-water mark; push() bounds it instead.
                await self._hold(conn, reader)
                return
            await conn.drain()
            conn.served = False  # the next request gets its own time limit, and may be closed for room

    async def _hold(self, conn: Connection, reader: asyncio.StreamReader) -> None:
        """Keep a streaming connection until either side closes it; anything the client sends is ignored."""
        if conn.session is not None:
            await conn.session.run(reader)
            return
        while not conn.closed:
            data = await reader.read(READ_CHUNK)
            if not data:
                return

    def _dispatch(self, conn: Connection, line: bytes) -> tuple[Iterable[bytes], bool]:
        """Answer one request line: the reply's pieces, and True when the connection now streams (or waits)."""
        try:
            request = p.parse_request(line)
            return self._handle(conn, request)
        except p.ProtocolError as exc:
            return [p.encode(p.error(exc.code, exc.message, exc.request_id))], False
        except Exception as exc:  # a bug in one request must not take the server or the formation down
            asyncio.get_running_loop().call_exception_handler(
                {"message": "procdash control request failed", "exception": exc}
            )
            return [p.encode(p.error(p.FAILED, f"internal error: {type(exc).__name__}: {exc}"))], False

    def _check_streams(self, request_id: p.RequestId) -> None:
        """Refuse one more stream past the limit (requests still get through: they are counted apart)."""
        if sum(1 for c in self._connections if c.streaming and not c.closed) >= self.max_streams:
            raise p.ProtocolError(p.BUSY, f"too many streaming clients (at most {self.max_streams})", request_id)

    def _handle(self, conn: Connection, request: p.Request) -> tuple[Iterable[bytes], bool]:
        """Run a parsed request; registration of a stream happens in the same tick as its snapshot."""
        supervisor = self._supervisor
        assert supervisor is not None and self.info is not None
        if isinstance(request, p.Info):
            return [p.encode(p.ok(request.id, server=self.info.view()))], False
        if isinstance(request, p.Status):
            return [p.encode(actions.status(supervisor, self.info, request.id, self._usage()))], False
        if isinstance(request, p.Scale):
            return [p.encode(actions.scale(supervisor, request, self._quitting, self.on_save))], False
        if isinstance(request, p.Reload):
            return [p.encode(actions.reload(supervisor, request, self.on_reload, self._quitting))], False
        if isinstance(request, p.Control):
            return [p.encode(actions.control(supervisor, request, self._quitting))], False
        if isinstance(request, p.Logs):
            inst = actions.find_instance(supervisor, request.name, request.id)
            if request.follow:
                self._check_streams(request.id)
            pieces = actions.logs(inst, request)
            if request.follow:
                conn.replying = True  # events from now on queue behind the reply
                conn.follow = inst
            return pieces, request.follow
        if isinstance(request, p.Subscribe):
            self._check_streams(request.id)
            snapshot = p.encode(actions.status(supervisor, self.info, request.id, self._usage()))
            conn.replying = True
            conn.subscribed = True
            conn.logs = request.logs
            if request.usage:
                conn.usage = True
                self._usage_events.want(id(conn), request.usage)
            return _pieces(snapshot), True
        if isinstance(request, p.Resize):
            return [p.encode(talk.resize(supervisor, request))], False
        if isinstance(request, p.Send):
            inst = actions.find_instance(supervisor, request.name, request.id)
            return [p.encode(talk.send(supervisor, inst, request))], False
        if isinstance(request, p.Connect):
            return self._connect(conn, supervisor, request)
        if isinstance(request, p.Quit):
            if request.kill:
                self._quit(supervisor)
                supervisor.kill_all()
                return [p.encode(p.ok(request.id, killing=True))], False
            conn.waiting_quit = True
            reply = p.encode(p.ok(request.id, quitting=True, timeout=supervisor.options.timeout))
            self._quit(supervisor)
            return [reply], True
        return [], False

    def _connect(self, conn: Connection, supervisor: Supervisor, request: p.Connect) -> tuple[Iterable[bytes], bool]:
        """Answer a connect request; after the reply the connection belongs to a raw session (control/talk.py)."""
        inst = actions.find_instance(supervisor, request.name, request.id)
        self._check_streams(request.id)
        try:
            conn.session = talk.ConnectSession(supervisor, inst, conn.writer, request)
        except talk.InputError as exc:
            raise p.ProtocolError(p.FAILED, str(exc), request.id) from None
        return [p.encode(p.ok(request.id, name=inst.name, framing="frames-1"))], True

    def _quit(self, supervisor: Supervisor) -> None:
        """Stop the formation once, however many clients ask."""
        if self._quitting:
            return
        self._quitting = True
        if self.on_quit is not None:
            self.on_quit()
        else:
            self._quit_task = asyncio.get_running_loop().create_task(supervisor.stop_all())

    def _instances(self) -> list[Instance]:
        """The formation's instances (none before start)."""
        return self._supervisor.instances() if self._supervisor is not None else []

    def _publish_usage(self, usage: UsageSnapshot) -> None:
        """Send one usage reading to every subscriber that asked for usage."""
        encoded = p.encode(usage_view(usage))
        for conn in list(self._connections):
            if conn.usage and not conn.closed:
                conn.push(encoded)

    def _usage(self) -> UsageSnapshot | None:
        """The latest CPU/memory sample, if a sampler is wired in and has one; a failing sampler counts as none."""
        if self.usage is None:
            return None
        try:
            return self.usage()
        except Exception:
            return None

    # ----- events ------------------------------------------------------------------------------------

    def _on_event(self, event: ev.Event) -> None:
        """Forward one supervisor event to every stream that wants it, encoding it at most once."""
        encoded: bytes | None = None
        for conn in list(self._connections):
            if conn.closed or not conn.streaming:
                continue
            if conn.follow is not None:
                if isinstance(event, ev.Removed) and event.instance is conn.follow:
                    conn.end(f"{conn.follow.name} was removed (scaled down)")
                    continue
                if not isinstance(event, (ev.Output, ev.Partial)) or event.instance is not conn.follow:
                    continue
            elif isinstance(event, (ev.Output, ev.Partial)) and not conn.logs:
                continue
            if encoded is None:
                view = event_view(event, logs=True)
                if view is None:
                    return
                encoded = p.encode(view)
            conn.push(encoded)


def _pieces(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    """A long encoded reply in slices, so it too is written no faster than the client reads."""
    view = memoryview(data)
    for offset in range(0, len(data), size):
        yield bytes(view[offset : offset + size])
