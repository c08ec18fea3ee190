"""The aiohttp application: the page, its websocket (one tab process each) and textual-serve's own assets."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
from collections.abc import Sequence
from pathlib import Path
from string import Template

import textual_serve
from aiohttp import WSMsgType, web
from textual_serve.download_manager import DownloadManager

from procdash.serve.guard import Guard
from procdash.serve.tabs import TabProcess, Tabs

STATIC = Path(textual_serve.__file__).parent / "static"  # xterm.js, its CSS and the font, all in the wheel
PAGE = Template((Path(__file__).parent / "page.html").read_text(encoding="utf-8"))
MAX_TABS = 32
MAX_CELLS = 1000  # a terminal size beyond this is not a browser's

# What the page may load and connect to: this server only (so nothing is fetched from the internet). No
# inline script; inline styles, because textual-serve's bundle inserts its CSS as style elements.
CONTENT_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)


def bounded(text: str | None, default: int, low: int, high: int) -> int:
    """A query number clamped to a sane range; anything unreadable is the default."""
    try:
        value = int(text) if text is not None else default
    except ValueError:
        value = default
    return max(low, min(high, value))


class Dashboard:
    """The routes of ``procdash serve``: the page, and one tab process per websocket."""

    def __init__(self, command: Sequence[str], title: str, tabs: Tabs) -> None:
        self.command = list(command)
        self.title = title
        self.tabs = tabs
        self.downloads = DownloadManager()
        self.sockets: set[web.WebSocketResponse] = set()
        self.closing = False  # once shutting down, no new tab may start

    async def index(self, request: web.Request) -> web.Response:
        """The page: textual-serve's xterm.js client pointed at our websocket, with the font served here."""
        font_size = bounded(request.query.get("fontsize"), 16, 6, 48)
        page = PAGE.substitute(
            title=html.escape(self.title),
            static="/static/",
            # The Host was checked by the guard; the websocket goes back to the very address the page came from.
            websocket=html.escape(f"ws://{request.host}/ws"),
            font_size=font_size,
        )
        return web.Response(text=page, content_type="text/html", headers={"Content-Security-Policy": CONTENT_POLICY})

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        """Run one tab: start its process, pass keys and sizes in and the screen out, close it at the end."""
        if self.closing:
            raise web.HTTPServiceUnavailable(text="procdash serve: shutting down\n")
        if self.tabs.full():
            raise web.HTTPServiceUnavailable(text=f"procdash serve: at most {self.tabs.limit} tabs at once\n")
        websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=1024 * 1024)
        width = bounded(request.query.get("width"), 80, 1, MAX_CELLS)
        height = bounded(request.query.get("height"), 24, 1, MAX_CELLS)
        await websocket.prepare(request)
        if self.closing:  # shutdown began while the handshake was under way
            await websocket.close()
            return websocket
        self.sockets.add(websocket)
        tab = TabProcess(
            self.command,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.downloads,
        )
        self.tabs.running.add(tab)
        try:
            await tab.start(width, height)
            await self._relay(websocket, tab)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.tabs.running.discard(tab)
            self.sockets.discard(websocket)
            await tab.close()
            with contextlib.suppress(ConnectionError):
                await websocket.close()
        return websocket

    async def _relay(self, websocket: web.WebSocketResponse, tab: TabProcess) -> None:
        """The browser's messages, as textual-serve's client sends them: keys, sizes, focus, pings."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = json.loads(message.data)
            except ValueError:
                continue
            if not isinstance(envelope, list) or not envelope:
                continue
            kind = envelope[0]
            if kind == "stdin" and len(envelope) > 1 and isinstance(envelope[1], str):
                await tab.send_bytes(envelope[1].encode("utf-8"))
            elif kind == "resize" and len(envelope) > 1 and isinstance(envelope[1], dict):
                width = bounded(str(envelope[1].get("width")), 80, 1, MAX_CELLS)
                height = bounded(str(envelope[1].get("height")), 24, 1, MAX_CELLS)
                await tab.set_terminal_size(width, height)
            elif kind == "ping" and len(envelope) > 1:
                await websocket.send_json(["pong", envelope[1]])
            elif kind == "blur":
                await tab.blur()
            elif kind == "focus":
                await tab.focus()

    async def close(self) -> None:
        """Close every tab's process, then every websocket still open."""
        self.closing = True
        await self.tabs.close_all()
        for websocket in list(self.sockets):
            with contextlib.suppress(ConnectionError):
                await websocket.close()


def build_app(guard: Guard, dashboard: Dashboard) -> web.Application:
    """The application with the guard in front of every route, the static files included."""
    app = web.Application(middlewares=[guard.middleware])
    app.router.add_get("/", dashboard.index)
    app.router.add_get("/ws", dashboard.websocket)
    app.router.add_static("/static/", STATIC, show_index=False, follow_symlinks=False)
    return app
