"""The checks in front of ``procdash serve``: token, Host and Origin, on a real server with real requests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import aiohttp
import psutil
import pytest

from procdash.serve.guard import Guard, split_host
from procdash.serve.main import RefusalLog
from tests.serve.support import TOKEN, Served, serving

NAMES = frozenset({"127.0.0.1", "localhost"})


def run(body: Callable[[Served], Awaitable[None]], **options: object) -> None:
    """Run ``body`` against a fresh server, bounded."""

    async def main() -> None:
        async with serving(**options) as served:  # type: ignore[arg-type]
            await asyncio.wait_for(body(served), 30)

    asyncio.run(main())


# ----- the rules, one by one ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1:8410", True),
        ("localhost:8410", True),
        ("LOCALHOST:8410", True),
        ("127.0.0.1:8411", False),  # another port
        ("127.0.0.1", False),  # no port means 80
        ("evil.example:8410", False),  # a rebound domain
        ("127.0.0.1.evil.example:8410", False),
        ("user@127.0.0.1:8410", False),
        ("127.0.0.1:8410/x", False),
        ("", False),
        ("127.0.0.1:notaport", False),
    ],
)
def test_host_must_name_this_server(host: str, allowed: bool) -> None:
    assert Guard("t", 8410, NAMES).host_allowed(host) is allowed


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://127.0.0.1:8410", True),
        ("http://evil.example", False),
        ("http://evil.example:8410", False),
        ("http://localhost:8410", False),  # a page on another of our names is another origin
        ("https://127.0.0.1:8410", False),
        ("http://127.0.0.1:8411", False),
        ("null", False),
        ("", False),
    ],
)
def test_origin_must_be_this_page(origin: str, allowed: bool) -> None:
    assert Guard("t", 8410, NAMES).origin_allowed(origin, "127.0.0.1:8410") is allowed


def test_ipv6_host_is_read_without_brackets() -> None:
    assert split_host("[::1]:8410") == ("::1", 8410)
    assert Guard("t", 8410, frozenset({"::1"})).host_allowed("[::1]:8410")


def test_refusals_shown_are_bounded_per_minute() -> None:
    lines: list[str] = []
    now = [0.0]
    log = RefusalLog(lines.append, burst=3, window=60.0, clock=lambda: now[0])
    for n in range(10):
        log(f"refused {n}")
    assert lines == ["refused 0", "refused 1", "refused 2"]
    now[0] = 61.0
    log("refused again")
    assert lines[3:] == ["7 more requests refused (not shown)", "refused again"]


# ----- a real server, real requests ----------------------------------------------------------------------


def test_no_token_is_refused_with_401() -> None:
    async def body(served: Served) -> None:
        async with aiohttp.ClientSession() as session:
            for path in ("/", "/static/js/textual.js", "/ws"):
                async with session.get(served.base + path) as response:
                    assert response.status == 401, path
                    assert "token" in await response.text()

    run(body)


def test_wrong_token_is_refused_with_403() -> None:
    async def body(served: Served) -> None:
        async with aiohttp.ClientSession() as session:
            async with session.get(served.base + "/?token=guess") as response:
                assert response.status == 403
                assert "Set-Cookie" not in response.headers
            cookie = {f"procdash-token-{served.address.port}": "guess"}
            async with session.get(served.base + "/", cookies=cookie) as response:
                assert response.status == 403

    run(body)


def test_right_token_serves_the_page_and_sets_a_strict_cookie() -> None:
    async def body(served: Served) -> None:
        # The default jar keeps no cookie from an IP address; a browser does.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            async with session.get(f"{served.base}/?token={TOKEN}") as response:
                assert response.status == 200
                page = await response.text()
                cookie = response.headers["Set-Cookie"]
            assert f"procdash-token-{served.address.port}={TOKEN}" in cookie
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
            assert response.headers["X-Frame-Options"] == "DENY"
            assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
            assert f'data-session-websocket-url="ws://127.0.0.1:{served.address.port}/ws"' in page
            # Nothing from the internet: textual-serve's own template links a web font stylesheet.
            assert "googleapis" not in page and "https://" not in page
            # The cookie alone now lets the page's own requests in.
            async with session.get(served.base + "/static/js/textual.js") as response:
                assert response.status == 200
                assert len(await response.read()) > 100_000
            async with session.get(served.base + "/static/fonts/RobotoMono-VariableFont_wght.ttf") as response:
                assert response.status == 200

    run(body)


def test_foreign_host_is_refused_even_with_the_token() -> None:
    async def body(served: Served) -> None:
        async with aiohttp.ClientSession() as session:
            for host in (f"evil.example:{served.address.port}", f"127.0.0.1:{served.address.port + 1}"):
                headers = {"Host": host}
                async with session.get(f"{served.base}/?token={TOKEN}", headers=headers) as response:
                    assert response.status == 403, host
                    assert "DNS rebinding" in await response.text()
            headers = {"Host": f"localhost:{served.address.port}"}
            async with session.get(f"{served.base}/?token={TOKEN}", headers=headers) as response:
                assert response.status == 200
                assert f"ws://localhost:{served.address.port}/ws" in await response.text()

    run(body)


def test_a_request_another_site_sends_is_refused_even_with_the_cookie() -> None:
    async def body(served: Served) -> None:
        async with aiohttp.ClientSession(cookies={f"procdash-token-{served.address.port}": TOKEN}) as session:
            async with session.get(served.base + "/", headers={"Origin": "http://evil.example"}) as response:
                assert response.status == 403
            async with session.get(served.base + "/", headers={"Origin": served.origin}) as response:
                assert response.status == 200

    run(body)


def test_websocket_from_a_foreign_origin_is_refused() -> None:
    async def body(served: Served) -> None:
        async with aiohttp.ClientSession(cookies={f"procdash-token-{served.address.port}": TOKEN}) as session:
            for origin in ("http://evil.example", f"http://evil.example:{served.address.port}", "null"):
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await session.ws_connect(served.base + "/ws", origin=origin)
                assert refused.value.status == 403, origin
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(served.base + "/ws")  # no Origin at all: not a browser's page
            assert refused.value.status == 403
        assert not served.dashboard.tabs.running
        assert served.refusals[0] == (
            "refused websocket /ws from 127.0.0.1: Origin 'http://evil.example' is not this server's page"
        )
        assert len(served.refusals) == 4

    run(body)


def test_websocket_without_the_token_is_refused() -> None:
    async def body(served: Served) -> None:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(served.base + "/ws", origin=served.origin)
            assert refused.value.status == 401
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(served.base + "/ws?token=guess", origin=served.origin)
            assert refused.value.status == 403
        assert not served.dashboard.tabs.running

    run(body)


async def _screen_until(ws: aiohttp.ClientWebSocketResponse, text: bytes) -> bytes:
    """Collect the tab's output until ``text`` shows up."""
    seen = b""
    while text not in seen:
        message = await ws.receive(timeout=20)
        assert message.type == aiohttp.WSMsgType.BINARY, message
        seen += message.data
    return seen


def test_right_token_and_origin_run_a_tab_that_closes_with_the_socket() -> None:
    pids: list[int] = []

    async def body(served: Served) -> None:
        async with aiohttp.ClientSession(cookies={f"procdash-token-{served.address.port}": TOKEN}) as session:
            ws = await session.ws_connect(served.base + "/ws?width=60&height=10", origin=served.origin)
            await _screen_until(ws, b"tiny app 0")
            (tab,) = served.dashboard.tabs.running
            assert tab.pid is not None
            pids.append(tab.pid)
            await ws.send_str('["stdin", "+"]')
            await _screen_until(ws, b"tiny app 1")
            await ws.close()
        deadline = time.monotonic() + 10
        while served.dashboard.tabs.running and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert not served.dashboard.tabs.running

    run(body)
    assert not psutil.pid_exists(pids[0]) or psutil.Process(pids[0]).status() == psutil.STATUS_ZOMBIE


def test_tabs_past_the_limit_are_refused() -> None:
    async def body(served: Served) -> None:
        async with aiohttp.ClientSession(cookies={f"procdash-token-{served.address.port}": TOKEN}) as session:
            ws = await session.ws_connect(served.base + "/ws", origin=served.origin)
            await _screen_until(ws, b"tiny app 0")
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(served.base + "/ws", origin=served.origin)
            assert refused.value.status == 503
            await ws.close()

    run(body, tabs=1)
