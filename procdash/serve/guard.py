"""The checks in front of the dashboard's web server: a token, and Host and Origin naming this server.

textual-serve has no authentication, and the page it serves can type into the formation, so every
request passes here first. The token (in the printed URL, then in a cookie) keeps out whoever does not
have the URL; the Host check keeps out a page whose domain was re-pointed at 127.0.0.1 (DNS rebinding);
the Origin check keeps another site open in the same browser from opening the websocket.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import hdrs, web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TOKEN_PARAM = "token"
TOKEN_BYTES = 32


def new_token() -> str:
    """A fresh random token for one run of ``procdash serve``."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def split_host(value: str) -> tuple[str, int | None] | None:
    """A Host header (or an origin's authority) as (lower-case name without brackets, port); None if malformed."""
    if not value or "@" in value or any(ch.isspace() for ch in value):
        return None
    try:
        parts = urlsplit(f"//{value}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or parts.path or parts.query or parts.fragment:
        return None
    return parts.hostname.lower(), port


class Guard:
    """Decides whether one request may reach the dashboard, and hands the browser its cookie."""

    def __init__(
        self, token: str, port: int, names: frozenset[str], on_refuse: Callable[[str], None] | None = None
    ) -> None:
        self.token = token
        self.on_refuse = on_refuse  # told one line per refusal: whoever watches serve sees attempts
        self.port = port
        self.names = frozenset(name.lower() for name in names)
        # Cookies are kept per host, not per port: two servers on one machine must not share one.
        self.cookie = f"procdash-token-{port}"

    def host_allowed(self, host: str | None) -> bool:
        """Whether the Host header names this server (one of its names, and its port)."""
        parsed = split_host(host or "")
        if parsed is None:
            return False
        name, port = parsed
        return name in self.names and (port if port is not None else 80) == self.port

    def origin_allowed(self, origin: str | None, host: str | None) -> bool:
        """Whether an Origin header is this very server's page (``http://`` plus the Host it was asked by)."""
        if not origin or not self.host_allowed(host):
            return False
        try:
            parts = urlsplit(origin)
        except ValueError:
            return False
        if parts.scheme != "http" or parts.path or parts.query:
            return False
        return split_host(parts.netloc) == split_host(host or "")

    def token_given(self, request: web.Request) -> str | None:
        """The token the request carries: the query's first, so a fresh URL replaces an old cookie."""
        return request.query.get(TOKEN_PARAM) or request.cookies.get(self.cookie)

    def refusal(self, request: web.Request) -> tuple[int, str] | None:
        """Why this request may not pass (its status and a one-line reason), or None when it may."""
        host = request.headers.get(hdrs.HOST)
        if not self.host_allowed(host):
            return 403, f"Host {host!r} is not this server's address (DNS rebinding?)"
        origin = request.headers.get(hdrs.ORIGIN)
        # A browser always sends Origin with a websocket; without one, a request is not a page's.
        if (origin is not None or is_websocket(request)) and not self.origin_allowed(origin, host):
            return 403, f"Origin {origin!r} is not this server's page"
        given = self.token_given(request)
        if not given:
            return 401, "a token is needed: open the URL procdash serve printed"
        if not secrets.compare_digest(given.encode(), self.token.encode()):
            return 403, "wrong token: open the URL this procdash serve printed"
        return None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """aiohttp middleware: refuse, or pass on and remember the token in a cookie for the page's own requests."""
        refused = self.refusal(request)
        if refused is not None:
            status, reason = refused
            if self.on_refuse is not None:
                kind = "websocket" if is_websocket(request) else request.method
                self.on_refuse(f"refused {kind} {request.path} from {request.remote}: {reason}")
            return web.Response(status=status, text=f"procdash serve: {reason}\n", headers=SECURITY_HEADERS)
        response = await handler(request)
        if not response.prepared:  # a websocket has already answered; anything else can still take headers
            response.headers.update(SECURITY_HEADERS)
            if request.query.get(TOKEN_PARAM):
                response.set_cookie(self.cookie, self.token, httponly=True, samesite="Strict", path="/")
        return response


def is_websocket(request: web.Request) -> bool:
    """Whether the request asks to become a websocket."""
    return request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"


# No framing by other sites, no token leaking in a Referer, nothing kept in a shared cache.
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
