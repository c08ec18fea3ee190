"""The control server in-process with a real supervisor: bad input, crowds, slow and vanishing clients, streams."""

from __future__ import annotations

import asyncio
import json
import select
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from procdash.control import protocol as p
from procdash.control.server import ControlServer
from procdash.core.procfile import ProcessType
from procdash.core.stats import Usage
from procdash.core.supervisor import Supervisor, SupervisorOptions
from tests.helpers import wait_until

Body = Callable[[Supervisor, ControlServer], Awaitable[None]]


def serve(env: dict[str, str], procfile: dict[str, str], body: Body, **server_options: Any) -> list[dict[str, Any]]:
    """Run a supervisor and a control server on one loop around ``body``; returns loop exception reports."""
    errors: list[dict[str, Any]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: errors.append(context))
        root = Path(env["XDG_RUNTIME_DIR"])
        types = [ProcessType(name, cmd, i + 1) for i, (name, cmd) in enumerate(procfile.items())]
        sup = Supervisor(
            types,
            dict.fromkeys(procfile, 1),
            root=root,
            dotenv={},
            base_port=5000,
            options=SupervisorOptions(timeout=2),
        )
        server = ControlServer(root / "Procfile", root, path=root / "t.sock", **server_options)
        server.bind()
        sup.start()
        await server.start(sup)
        try:
            await body(sup, server)
        finally:
            await sup.stop_all()
            await server.stop()
            sup.close()

    asyncio.run(main())
    return errors


class Client:
    """A raw asyncio connection speaking the protocol."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, server: ControlServer) -> Client:
        """Connect to the server's socket."""
        assert server.path is not None
        reader, writer = await asyncio.open_unix_connection(str(server.path), limit=64 * 1024 * 1024)
        return cls(reader, writer)

    async def send(self, message: dict[str, Any] | bytes) -> None:
        """Send a request object, or raw bytes as they are."""
        self.writer.write(message if isinstance(message, bytes) else p.encode(message))
        await self.writer.drain()

    async def read(self, timeout: float = 10) -> dict[str, Any] | None:
        """The next message, or None at end of connection."""
        line = await asyncio.wait_for(self.reader.readline(), timeout)
        return json.loads(line) if line else None

    async def call(self, message: dict[str, Any] | bytes) -> dict[str, Any]:
        """Send and read the response."""
        await self.send(message)
        reply = await self.read()
        assert reply is not None, "connection closed instead of answering"
        return reply

    def close(self) -> None:
        """Hang up at once."""
        self.writer.transport.abort()


def code(reply: dict[str, Any]) -> str | None:
    """The error code of a reply, None for success."""
    return None if reply["ok"] else reply["error"]["code"]


SLEEPER = {"web": "sleep 300"}


def test_bad_requests_get_one_line_errors_and_the_connection_keeps_working(env: dict[str, str]) -> None:
    async def body(sup: Supervisor, server: ControlServer) -> None:
        client = await Client.open(server)
        assert code(await client.call(b"not json\n")) == p.BAD_JSON
        assert code(await client.call(b"\xff\xfe\n")) == p.BAD_JSON
        unknown = await client.call(p.request("fly", 5))
        assert code(unknown) == p.UNKNOWN_COMMAND and unknown["id"] == 5
        assert code(await client.call({"v": 9, "cmd": "status"})) == p.UNSUPPORTED_VERSION
        assert code(await client.call(p.request("logs", name="web.7"))) == p.NOT_FOUND
        await client.send(b"\n\n")  # blank lines are skipped, not answered
        status = await client.call(p.request("status", "s"))
        assert status["ok"] and status["id"] == "s" and status["instances"][0]["name"] == "web.1"
        client.close()

        huge = await Client.open(server)
        await huge.send(b'{"cmd": "status", "pad": "' + b"x" * (2 * p.MAX_REQUEST_BYTES))
        assert code(await huge.call(b'"}\n')) == p.TOO_LARGE
        assert await huge.read() is None, "an oversized request ends the connection"

        last = await Client.open(server)
        await last.send(b'{"cmd": "info"}')  # no newline, then end of input: still answered
        last.writer.write_eof()
        reply = await last.read()
        assert reply is not None and reply["server"]["procfile"].endswith("Procfile")
        assert await last.read() is None
        assert sup.find("web.1") is not None and sup.find("web.1").alive  # type: ignore[union-attr]

    assert serve(env, SLEEPER, body) == []


def test_many_clients_at_once(env: dict[str, str]) -> None:
    async def body(sup: Supervisor, server: ControlServer) -> None:
        async def session() -> list[bool]:
            client = await Client.open(server)
            replies = [
                await client.call(p.request(cmd, name="web.1") if cmd == "logs" else p.request(cmd))
                for cmd in ("status", "info", "logs")
            ]
            client.close()
            return [reply["ok"] for reply in replies]

        results = await asyncio.gather(*(session() for _ in range(60)))
        assert results == [[True, True, True]] * 60
        await wait_until(lambda: server.client_count == 0)

    assert serve(env, SLEEPER, body) == []


def test_streams_have_their_own_limit_and_never_block_requests(env: dict[str, str]) -> None:
    async def body(sup: Supervisor, server: ControlServer) -> None:
        holders = [await Client.open(server) for _ in range(8)]
        for holder in holders:
            assert (await holder.call(p.request("subscribe", logs=False)))["ok"]
        extra = await Client.open(server)
        busy = await extra.call(p.request("subscribe"))
        assert code(busy) == p.BUSY and busy["error"]["message"] == "too many streaming clients (at most 8)"
        assert (await extra.call(p.request("status")))["ok"], "the refused stream's connection still answers"
        holders[0].close()
        await wait_until(lambda: server.client_count == 8)
        assert (await extra.call(p.request("subscribe", logs=False)))["ok"]
        for client in [*holders, extra]:
            client.close()

    assert serve(env, SLEEPER, body, max_clients=8, max_streams=8) == []


def test_a_full_house_of_idle_connections_makes_room_for_a_new_one(env: dict[str, str]) -> None:
    async def body(sup: Supervisor, server: ControlServer) -> None:
        idle = [await Client.open(server) for _ in range(8)]
        await wait_until(lambda: server.client_count == 8)
        fresh = await Client.open(server)
        assert (await fresh.call(p.request("status")))["ok"]
        evicted = await idle[0].read()
        assert evicted is not None and code(evicted) == p.BUSY
        assert evicted["error"]["message"] == "too many control clients at once (at most 8); try again"
        assert await idle[0].read() is None
        for client in [*idle, fresh]:
            client.close()

    assert serve(env, SLEEPER, body, max_clients=8) == []


def test_a_connection_without_a_complete_request_is_closed_after_the_timeout(env: dict[str, str]) -> None:
    async def body(sup: Supervisor, server: ControlServer) -> None:
        silent, partial, served = [await Client.open(server) for _ in range(3)]
        await partial.send(b'{"cmd": "sta')
        assert (await served.call(p.request("info")))["ok"]
        for client in (silent, partial, served):
            reply = await client.read(timeout=5)
            assert reply is not None and code(reply) == p.TIMEOUT, reply
            assert reply["error"]["message"] == "no complete request within 0.5s; closing"
            assert await client.read() is None
        await wait_until(lambda: server.client_count == 0)

    assert serve(env, SLEEPER, body, request_timeout=0.5) == []


def test_a_slow_subscriber_is_dropped_and_nothing_else_suffers(env: dict[str, str]) -> None:
    # The burst waits for the go file, so it floods a subscription that certainly exists.
    procfile = {"burst": "while [ ! -e go ]; do sleep 0.02; done; seq 1 200000; exec sleep 300", "web": "sleep 300"}

    async def body(sup: Supervisor, server: ControlServer) -> None:
        # A plain socket that asks for everything and then never reads a byte.
        slow = socket.socket(socket.AF_UNIX)
        slow.connect(str(server.path))
        slow.sendall(p.encode(p.request("subscribe")))
        await wait_until(lambda: select.select([slow], [], [], 0)[0])  # the snapshot came: it is subscribed
        (Path(env["XDG_RUNTIME_DIR"]) / "go").touch()
        burst = sup.find("burst.1")
        assert burst is not None
        await wait_until(lambda: server.client_count == 0, timeout=30)
        await wait_until(lambda: burst.log.next_seq >= 200000, timeout=30)
        assert burst.log.tail(1) == ["200000"]
        fresh = await Client.open(server)
        status = await fresh.call(p.request("status"))
        assert [inst["state"] for inst in status["instances"]] == ["running", "running"]
        fresh.close()
        assert slow.recv(1 << 20), "what was sent before the drop arrives"
        slow.close()

    assert serve(env, procfile, body, write_limit=16 * 1024) == []


def test_a_client_vanishing_mid_follow_is_forgotten(env: dict[str, str]) -> None:
    procfile = {"ticker": "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.05; done"}

    async def body(sup: Supervisor, server: ControlServer) -> None:
        follower = await Client.open(server)
        reply = await follower.call(p.request("logs", name="ticker.1", lines=0, follow=True))
        assert reply["ok"] and reply["lines"] == []
        seqs: list[int] = []
        while len(seqs) < 3:
            message = await follower.read()
            assert message is not None and message["event"] == "lines"
            seqs.extend(range(message["seq"], message["seq"] + len(message["lines"])))
            assert all(line.startswith("tick ") for line in message["lines"])
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "no line lost or repeated"
        follower.close()
        await wait_until(lambda: server.client_count == 0)
        ticker = sup.find("ticker.1")
        assert ticker is not None
        seen = ticker.log.next_seq
        await wait_until(lambda: ticker.log.next_seq >= seen + 3)
        assert ticker.alive

    assert serve(env, procfile, body) == []


def test_subscribe_mirrors_scaling_state_and_lines_then_ends_at_stop(env: dict[str, str]) -> None:
    procfile = {"web": "echo hello $PS; exec sleep 300"}
    ended: list[dict[str, Any] | None] = []

    async def body(sup: Supervisor, server: ControlServer) -> None:
        # web.1's line is in its buffer before the subscription, so it is not streamed among the scaling events.
        await wait_until(lambda: (web := sup.find("web.1")) is not None and web.log.next_seq >= 1)
        watcher = await Client.open(server)
        snapshot = await watcher.call(p.request("subscribe", 1))
        assert snapshot["ok"] and snapshot["desired"] == {"web": 1}
        assert [inst["name"] for inst in snapshot["instances"]] == ["web.1"]
        other = await Client.open(server)
        assert (await other.call(p.request("scale", changes=[{"type": "web", "delta": 1}])))["desired"] == {"web": 2}
        kinds: list[str] = []
        for _ in range(100):
            message = await watcher.read()
            assert message is not None
            kinds.append(message["event"])
            if message["event"] == "lines" and message["name"] == "web.2":
                assert message["lines"] == ["hello web.2"]
                break
        else:
            raise AssertionError(f"no lines from web.2 among {kinds}")
        assert kinds[:2] == ["scaled", "added"]
        assert "started" in kinds and "state" in kinds
        other.close()
        await server.stop()
        while (message := await watcher.read()) is not None:
            ended.append(message)
        watcher.close()

    assert serve(env, procfile, body) == []
    assert ended and ended[-1] == p.event("end", reason="procdash stopped")


def test_follow_ends_when_the_instance_is_scaled_away(env: dict[str, str]) -> None:
    async def body(sup: Supervisor, server: ControlServer) -> None:
        sup.scale("web", 2)
        follower = await Client.open(server)
        assert (await follower.call(p.request("logs", name="web.2", follow=True)))["ok"]
        sup.scale("web", 1)
        message = await follower.read()
        assert message == p.event("end", reason="web.2 was removed (scaled down)")
        assert await follower.read() is None

    assert serve(env, SLEEPER, body) == []


def test_quit_stops_the_formation_once_and_status_carries_usage(env: dict[str, str]) -> None:
    quits: list[int] = []

    async def body(sup: Supervisor, server: ControlServer) -> None:
        client = await Client.open(server)
        web = (await client.call(p.request("status")))["instances"][0]
        assert web["cpu"] == 12.5 and web["rss"] == 2048
        client.close()
        first, second = await Client.open(server), await Client.open(server)
        for quitter in (first, second):
            reply = await quitter.call(p.request("quit"))
            assert reply["quitting"] is True and reply["timeout"] == 2
        assert quits == [1]
        await sup.stop_all()
        await server.stop()
        for quitter in (first, second):
            assert await quitter.read() == p.event("end", reason="procdash stopped")
            assert await quitter.read() is None

    errors = serve(env, SLEEPER, body, usage=lambda: {"web.1": Usage(12.5, 2048, 1)}, on_quit=lambda: quits.append(1))
    assert errors == []


def test_default_quit_stops_every_process(env: dict[str, str]) -> None:
    async def body(sup: Supervisor, server: ControlServer) -> None:
        client = await Client.open(server)
        assert (await client.call(p.request("quit")))["ok"]
        await asyncio.wait_for(sup.wait_idle(), 10)
        assert all(not inst.alive for inst in sup.instances())
        client.close()

    assert serve(env, SLEEPER, body) == []


def test_a_long_logs_reply_comes_whole_and_a_follower_continues_without_gap(env: dict[str, str]) -> None:
    # 6,000 lines of 1 KiB arrive before the request; then a ticker keeps writing while the reply is read.
    procfile = {
        "web": "python3 -c \"import sys; [print('%05d ' % i + 'y' * 1018) for i in range(6000)]\"; "
        "i=6000; while :; do echo $i; i=$((i+1)); sleep 0.01; done"
    }

    async def body(sup: Supervisor, server: ControlServer) -> None:
        web = sup.find("web.1")
        assert web is not None
        await wait_until(lambda: web.log.next_seq >= 6000, timeout=30)
        client = await Client.open(server)
        await client.send(p.request("logs", 1, name="web.1", lines=10000, follow=True))
        await wait_until(lambda: any(c.follow is web for c in server._connections))
        seen = web.log.next_seq
        await wait_until(lambda: web.log.next_seq >= seen + 10)  # lines that must queue behind the reply
        reply = await client.read(timeout=30)
        assert reply is not None and reply["ok"] and reply["seq"] == 0
        numbers = [int(line.split()[0]) for line in reply["lines"]]
        while len(numbers) < reply["seq"] + len(reply["lines"]) + 20:
            message = await client.read()
            assert message is not None and message["event"] == "lines"
            assert message["seq"] == len(numbers), "the first event starts right after the reply"
            numbers.extend(int(line) for line in message["lines"])
        assert numbers == list(range(len(numbers)))
        client.close()

    assert serve(env, procfile, body) == []


def test_a_reader_so_slow_that_its_reply_scrolls_away_is_dropped(env: dict[str, str]) -> None:
    # A full scrollback first; the rest (which pushes it all out) only once the reply has begun.
    procfile = {
        "burst": "python3 -c \"[print('z' * 1000) for i in range(10000)]\"; "
        "while [ ! -e go ]; do sleep 0.02; done; seq 1 100000; exec sleep 300"
    }

    async def body(sup: Supervisor, server: ControlServer) -> None:
        burst = sup.find("burst.1")
        assert burst is not None
        await wait_until(lambda: burst.log.next_seq >= 10000, timeout=30)
        slow = socket.socket(socket.AF_UNIX)
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.connect(str(server.path))
        slow.sendall(p.encode(p.request("logs", name="burst.1", lines=10000)))
        await wait_until(lambda: any(c.replying for c in server._connections))
        (Path(env["XDG_RUNTIME_DIR"]) / "go").touch()
        await wait_until(lambda: burst.log.first_seq >= 10000, timeout=30)  # every promised line is gone
        received = bytearray()
        slow.setblocking(False)

        def ended() -> bool:
            try:
                chunk = slow.recv(65536)
            except BlockingIOError:
                return False
            except ConnectionResetError:
                return True
            received.extend(chunk)
            return not chunk

        await wait_until(ended, timeout=20)  # reading again, it learns at once, well before the 30 s timeout
        assert received.startswith(b'{"v":3') and not received.endswith(b"]}\n"), "cut off, not finished"
        await wait_until(lambda: server.client_count == 0)
        fresh = await Client.open(server)
        assert (await fresh.call(p.request("status")))["ok"]
        fresh.close()
        slow.close()

    assert serve(env, procfile, body) == []
