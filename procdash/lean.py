"""Start-up weight: asyncio imported without its TLS support, before anything else pulls it in."""

from __future__ import annotations

import sys


def import_asyncio() -> None:
    """Import asyncio without ssl, unless either is loaded already.

    asyncio imports ssl only to offer TLS transports, and procdash opens none. The ssl module and
    OpenSSL's two libraries cost about 5 MB of RSS and 7 ms of start-up, a fifth of what headless
    procdash may weigh with 20 processes. Once asyncio is in, ``import ssl`` works again for any code
    that needs it; only asyncio's own TLS transports stay unavailable in this process.
    """
    if "asyncio" in sys.modules or "ssl" in sys.modules:
        return
    sys.modules["ssl"] = None  # type: ignore[assignment]  # an ImportError for asyncio's "try: import ssl"
    try:
        import asyncio  # noqa: F401
    finally:
        del sys.modules["ssl"]
