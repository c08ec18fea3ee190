"""Protocol version 3, what ``procdash attach`` mirrors with: logs since, keys, checks, resize, usage, kill."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from procdash.control import protocol as p
from procdash.control.server import ControlServer
from procdash.core.instance import State
from procdash.core.stats import Usage
from procdash.core.supervisor import Supervisor
from tests.control.test_server import Client, code, serve
from tests.helpers import wait_until

SLEEPER = {"web": "sleep 300"}


def test_older_versions_are_still_accepted_and_replies_say_3(env: dict[str, str]) -> None:
    async def body(sup: Supervisor, server: ControlServer) -> None:
        client = await Client.open(server)
        for version in (1, 2, 3):
            reply = await client.call({"v": version, "cmd": "info"})
            assert reply["ok"] and reply["v"] == 3 and reply["server"]["protocol"] == 3
        assert code(await client.call({"v": 4, "cmd": "info"})) == p.UNSUPPORTED_VERSION
        client.close()

    assert serve(env, SLEEPER, body) == []


def test_logs_since_returns_exactly_the_lines_from_that_number(env: dict[str, str]) -> None:
    procfile = {"web": "for i in $(seq 1 50); do echo n$i; done; sleep 300"}

    async def body(sup: Supervisor, server: ControlServer) -> None:
        await wait_until(lambda: sup.find("web.1").log.next_seq == 50)  # type: ignore[union-attr]
        client = await Client.open(server)
        reply = await client.call(p.request("logs", name="web.1", since=45))
        assert reply["seq"] == 45 and reply["lines"] == [f"n{i}" for i in range(46, 51)]
        capped = await client.call(p.request("logs", name="web.1", since=10, lines=3))
        assert capped["seq"] == 10 and capped["lines"] == ["n11", "n12", "n13"]
        assert (await client.call(p.request("logs", name="web.1", since=999)))["lines"] == []
        assert code(await client.call(p.request("logs", name="web.1", since=-1))) == p.BAD_REQUEST
        client.close()

    assert serve(env, procfile, body) == []


def test_status_and_instances_carry_what_a_mirror_needs(env: dict[str, str]) -> None:
    async def body(sup: Supervisor, server: ControlServer) -> None:
        client = await Client.open(server)
        reply = await client.call(p.request("status"))
        assert reply["commands"] == {"web": "sleep 300"}
        assert reply["options"] == {"scrollback": 10_000, "timeout": 2}
        web = reply["instances"][0]
        assert web["command"] == "sleep 300" and web["alive"] is True and web["pty"] is True
        assert web["stop_signal"] == "SIGTERM" and web["killed"] is False
        client.close()

    assert serve(env, SLEEPER, body) == []


def test_send_keys_pastes_and_checks(env: dict[str, str]) -> None:
    # The child turns on application cursor keys and bracketed paste, then shows what it reads, in hex.
    procfile = {"web": "printf '\\033[?1h\\033[?2004h'; stty raw -echo; head -c 20 | od -An -tx1; sleep 300"}

    async def body(sup: Supervisor, server: ControlServer) -> None:
        inst = sup.find("web.1")
        assert inst is not None
        await wait_until(lambda: inst.modes.app_cursor and inst.modes.bracketed_paste)
        client = await Client.open(server)
        assert (await client.call(p.request("send", name="web.1", check=True)))["bytes"] == 0
        assert (await client.call(p.request("send", name="web.1", key="up")))["bytes"] == 3  # ESC O A
        assert (await client.call(p.request("send", name="web.1", paste="hi")))["bytes"] == 14
        assert (await client.call(p.request("send", name="web.1", text="abc")))["bytes"] == 3
        await wait_until(lambda: any("1b 4f 41 1b 5b 32 30 30 7e 68 69 1b 5b 32" in line for line in inst.log.tail(5)))
        both = await client.call(p.request("send", name="web.1", text="a", key="up"))
        assert code(both) == p.BAD_REQUEST
        client.close()

    assert serve(env, procfile, body) == []


def test_resize_sizes_one_pty_or_the_next_ones(env: dict[str, str]) -> None:
    # "armed" says the trap is set: a WINCH before that is ignored by the shell and never answered.
    procfile = {"web": "trap 'stty size' WINCH; echo armed; while :; do sleep 0.05; done"}

    async def body(sup: Supervisor, server: ControlServer) -> None:
        await wait_until(lambda: "armed" in sup.find("web.1").log.tail(3))  # type: ignore[union-attr]
        client = await Client.open(server)
        assert (await client.call(p.request("resize", name="web.1", columns=77, rows=22)))["ok"]
        await wait_until(lambda: "22 77" in sup.find("web.1").log.tail(3))  # type: ignore[union-attr]
        assert (await client.call(p.request("resize", columns=90, rows=30)))["ok"]
        assert sup.options.pty_size == (90, 30)
        assert code(await client.call(p.request("resize", name="nope.1", columns=9, rows=9))) == p.NOT_FOUND
        client.close()

    assert serve(env, procfile, body) == []


def test_usage_events_come_to_subscribers_that_ask(env: dict[str, str]) -> None:
    async def body(sup: Supervisor, server: ControlServer) -> None:
        plain, wanting = await Client.open(server), await Client.open(server)
        assert (await plain.call(p.request("subscribe", 1)))["ok"]
        assert (await wanting.call(p.request("subscribe", 2, usage=0.2)))["ok"]
        message: dict[str, Any] | None = None
        for _ in range(50):
            message = await wanting.read()
            if message is not None and message.get("event") == "usage":
                break
        assert message is not None and message["event"] == "usage"
        assert message["instances"]["web.1"] == {"cpu": 1.5, "rss": 4096, "processes": 2, "listening": [8080]}
        with_nothing = [m for m in [await _maybe(plain) for _ in range(3)] if m is not None]
        assert all(m.get("event") != "usage" for m in with_nothing)
        assert code(await (await Client.open(server)).call(p.request("subscribe", usage=0.01))) == p.BAD_REQUEST
        plain.close()
        wanting.close()

    usage = {"web.1": Usage(1.5, 4096, 2, ports=(8080,))}
    assert serve(env, SLEEPER, body, usage=lambda: usage) == []


async def _maybe(client: Client) -> dict[str, Any] | None:
    """The next message within a short while, or None."""
    try:
        return await client.read(timeout=0.3)
    except asyncio.TimeoutError:
        return None


def test_headless_samples_on_its_own_while_someone_wants_usage(env: dict[str, str]) -> None:
    async def body(sup: Supervisor, server: ControlServer) -> None:
        client = await Client.open(server)
        assert (await client.call(p.request("subscribe", usage=0.2)))["ok"]
        for _ in range(50):
            message = await client.read()
            if message is not None and message.get("event") == "usage":
                break
        assert message is not None and message["event"] == "usage"
        assert message["instances"]["web.1"]["rss"] > 0
        client.close()

    assert serve(env, SLEEPER, body) == []


def test_quit_kill_kills_at_once(env: dict[str, str]) -> None:
    procfile = {"web": "trap '' TERM; while :; do sleep 0.1; done"}

    async def body(sup: Supervisor, server: ControlServer) -> None:
        client = await Client.open(server)
        await wait_until(lambda: sup.find("web.1").state is State.RUNNING)  # type: ignore[union-attr]
        started = time.monotonic()
        assert (await client.call(p.request("quit", kill=True)))["killing"] is True
        await asyncio.wait_for(sup.wait_idle(), 5)
        # A TERM-ignorer would take the whole 2 s stop timeout; SIGKILL at once takes a moment.
        assert time.monotonic() - started < 1.0
        assert sup.find("web.1").exit_description == "SIGKILL"  # type: ignore[union-attr]
        client.close()

    assert serve(env, procfile, body) == []
