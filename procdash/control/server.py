"""The control server: serves the protocol on the formation's Unix socket, beside the formation, in either mode."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Mapping
from pathlib import Path

from procdash.control import actions
from procdash.control import protocol as p
from procdash.control.listener import bind_socket, unlink_if_ours
from procdash.control.paths import ensure_private_dir, socket_path
from procdash.control.views import UsageSnapshot, UsageSource, event_view
from procdash.core import events as ev
from procdash.core.errors import ConfigError
from procdash.core.instance import Instance
from procdash.core.reload import ReloadResult
from procdash.core.supervisor import Supervisor

MAX_CLIENTS = 64
WRITE_LIMIT = 1024 * 1024  # bytes a streaming client may fall behind before it is dropped
IDLE_TIMEOUT = 300.0  # seconds a connection may sit without sending a request
RESPONSE_TIMEOUT = 30.0  # seconds a client has to take a response off the socket
STOP_TIMEOUT = 2.0
READ_CHUNK = 64 * 1024


class Connection:
    """One client: writes never block the loop; a stream that falls ``limit`` bytes behind is dropped."""

    def __init__(self, writer: asyncio.StreamWriter, limit: int) -> None:
        self.writer = writer
        self.limit = limit
        self.slack = 0  # a big first response (logs -n) may sit in the buffer on top of the limit
        self.closed = False
        self.follow: Instance | None = None
        self.subscribed = False
        self.logs = True
        self.waiting_quit = False

    @property
    def streaming(self) -> bool:
        """Whether this connection receives events."""
        return self.follow is not None or self.subscribed

    def send(self, data: bytes) -> None:
        """Queue a response without checking the buffer; the caller drains it."""
        if not self.closed:
            self.writer.write(data)

    def push(self, data: bytes) -> None:
        """Queue a stream event; drop the client if it has fallen too far behind to keep up."""
        if self.closed:
            return
        transport = self.writer.transport
        if transport.is_closing():
            self.closed = True
            return
        transport.write(data)
        if transport.get_write_buffer_size() > self.limit + self.slack:
            self.abort()

    async def drain(self) -> None:
        """Wait until the client took what was queued, dropping it if it takes too long."""
        if self.closed:
            return
        try:
            await asyncio.wait_for(self.writer.drain(), RESPONSE_TIMEOUT)
        except (asyncio.TimeoutError, ConnectionError, RuntimeError):
            self.abort()

    def end(self, reason: str) -> None:
        """Finish a stream politely: a last ``end`` event, then close once it is flushed."""
        if self.closed:
            return
        if self.streaming or self.waiting_quit:
            self.writer.transport.write(p.encode(p.event("end", reason=reason)))
        self.close()

    def close(self) -> None:
        """Close after what is queued has been written."""
        if not self.closed:
            self.closed = True
            self.writer.close()

    def abort(self) -> None:
        """Close at once, discarding whatever is queued."""
        self.closed = True
        self.writer.transport.abort()


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
        write_limit: int = WRITE_LIMIT,
        environ: Mapping[str, str] | None = None,
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
        self.write_limit = write_limit
        self.info: actions.ServerInfo | None = None
        self._sock: socket.socket | None = None
        self._identity: tuple[int, int] | None = None
        self._server: asyncio.AbstractServer | None = None
        self._supervisor: Supervisor | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._connections: set[Connection] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._quit_task: asyncio.Task[None] | None = None
        self._quitting = False

    @property
    def client_count(self) -> int:
        """Connections being served right now (streams included)."""
        return len(self._connections)

    # ----- lifecycle ---------------------------------------------------------------------------------

    def bind(self) -> Path:
        """Claim the socket now (before any process starts); raises ConfigError if another procdash has it."""
        if self._sock is not None and self.path is not None:
            return self.path
        if self.explicit_path is None:
            path = socket_path(self.procfile, self.environ)
            ensure_private_dir(path.parent)
        else:
            path = self.explicit_path
            if not path.parent.is_dir():
                raise ConfigError("no such directory for the control socket", path=str(path.parent))
        self._sock, self._identity = bind_socket(path)
        self.path = path
        self.info = actions.ServerInfo(procfile=self.procfile, root=self.root, socket=path)
        return path

    async def start(self, supervisor: Supervisor) -> None:
        """Serve on the running loop and mirror supervisor events to streaming clients."""
        self.bind()
        self._supervisor = supervisor
        self._server = await asyncio.start_unix_server(self._serve, sock=self._sock, limit=p.MAX_REQUEST_BYTES)
        self._unsubscribe = supervisor.subscribe(self._on_event)

    async def stop(self) -> None:
        """Stop listening, end every stream with a reason, and remove the socket file."""
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
        if len(self._connections) >= self.max_clients:
            conn.send(p.encode(p.error(p.BUSY, f"too many control clients (at most {self.max_clients})")))
            await conn.drain()
            conn.close()
            return
        self._connections.add(conn)
        if task is not None:
            self._handlers.add(task)
        try:
            await self._requests(conn, reader)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._connections.discard(conn)
            if task is not None:
                self._handlers.discard(task)
            conn.close()

    async def _requests(self, conn: Connection, reader: asyncio.StreamReader) -> None:
        """The request loop of one connection."""
        while not conn.closed:
            try:
                line = await asyncio.wait_for(reader.readline(), IDLE_TIMEOUT)
            except ValueError:
                # Over the limit: the rest of the line is still coming, so the connection cannot resync.
                conn.send(p.encode(p.error(p.TOO_LARGE, f"request longer than {p.MAX_REQUEST_BYTES} bytes")))
                await conn.drain()
                return
            except asyncio.TimeoutError:
                return
            if not line:
                return
            if not line.strip():
                continue
            if self._dispatch(conn, line):
                # No drain here: a busy stream may never dip below the low-water mark; push() bounds it instead.
                await self._hold(conn, reader)
                return
            await conn.drain()

    async def _hold(self, conn: Connection, reader: asyncio.StreamReader) -> None:
        """Keep a streaming connection until either side closes it; anything the client sends is ignored."""
        while not conn.closed:
            data = await reader.read(READ_CHUNK)
            if not data:
                return

    def _dispatch(self, conn: Connection, line: bytes) -> bool:
        """Answer one request line; True when the connection now streams (or waits for quit)."""
        try:
            request = p.parse_request(line)
            return self._handle(conn, request)
        except p.ProtocolError as exc:
            conn.send(p.encode(p.error(exc.code, exc.message, exc.request_id)))
        except Exception as exc:  # a bug in one request must not take the server or the formation down
            asyncio.get_running_loop().call_exception_handler(
                {"message": "procdash control request failed", "exception": exc}
            )
            conn.send(p.encode(p.error(p.FAILED, f"internal error: {type(exc).__name__}: {exc}")))
        return False

    def _handle(self, conn: Connection, request: p.Request) -> bool:
        """Run a parsed request; registration of a stream happens in the same tick as its snapshot."""
        supervisor = self._supervisor
        assert supervisor is not None and self.info is not None
        if isinstance(request, p.Info):
            conn.send(p.encode(p.ok(request.id, server=self.info.view())))
        elif isinstance(request, p.Status):
            conn.send(p.encode(actions.status(supervisor, self.info, request.id, self._usage())))
        elif isinstance(request, p.Scale):
            conn.send(p.encode(actions.scale(supervisor, request, self.on_save)))
        elif isinstance(request, p.Reload):
            conn.send(p.encode(actions.reload(request, self.on_reload)))
        elif isinstance(request, p.Control):
            conn.send(p.encode(actions.control(supervisor, request)))
        elif isinstance(request, p.Logs):
            inst = actions.find_instance(supervisor, request.name, request.id)
            data = p.encode(actions.logs(inst, request))
            conn.send(data)
            if request.follow:
                conn.slack = len(data)
                conn.follow = inst
                return True
        elif isinstance(request, p.Subscribe):
            snapshot = actions.status(supervisor, self.info, request.id, self._usage())
            data = p.encode(snapshot)
            conn.send(data)
            conn.slack = len(data)
            conn.subscribed = True
            conn.logs = request.logs
            return True
        elif isinstance(request, p.Quit):
            conn.send(p.encode(p.ok(request.id, quitting=True, timeout=supervisor.options.timeout)))
            conn.waiting_quit = True
            self._quit(supervisor)
            return True
        return False

    def _quit(self, supervisor: Supervisor) -> None:
        """Stop the formation once, however many clients ask."""
        if self._quitting:
            return
        self._quitting = True
        if self.on_quit is not None:
            self.on_quit()
        else:
            self._quit_task = asyncio.get_running_loop().create_task(supervisor.stop_all())

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
                if not isinstance(event, ev.Output) or event.instance is not conn.follow:
                    continue
            elif isinstance(event, ev.Output) and not conn.logs:
                continue
            if encoded is None:
                view = event_view(event, logs=True)
                if view is None:
                    return
                encoded = p.encode(view)
            conn.push(encoded)
