"""Where ``procdash serve`` listens, and which Host names may reach it: loopback unless ``--host`` says otherwise."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import socket
from dataclasses import dataclass

from procdash.core.errors import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8410
BACKLOG = 64


def port_number(text: str) -> int:
    """argparse type for --port: 0 (any free port) to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {value}")
    return value


def host_text(text: str) -> str:
    """argparse type for --host: an address or a name, ``[::1]`` written with or without brackets."""
    value = text.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    if not value or any(ch.isspace() or ch in "/@[]" for ch in value):
        raise argparse.ArgumentTypeError(f"expected an address or a host name, got {text!r}")
    return value


@dataclass(frozen=True)
class Address:
    """The bound socket's address and the Host names a browser may use for it."""

    ip: str  # the address bound, an IP literal
    port: int  # the port bound (the one the kernel chose for --port 0)
    names: frozenset[str]  # Host header names accepted, lower case, IPv6 without brackets
    loopback: bool  # only this machine can connect

    @property
    def url_host(self) -> str:
        """The host part of the printed URL: the bound address, or this machine's name for a wildcard."""
        if ipaddress.ip_address(self.ip).is_unspecified:
            return socket.gethostname().lower() or "localhost"
        return f"[{self.ip}]" if ":" in self.ip else self.ip

    def url(self, token: str) -> str:
        """The address to open, with the token that lets the browser in."""
        return f"http://{self.url_host}:{self.port}/?token={token}"


def resolve(host: str) -> str:
    """The IP address to bind for ``host``: itself when it is one, else its first address (IPv4 first)."""
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(host))
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"serve: --host {host!r}: cannot resolve it ({exc})") from None
    found = [str(info[4][0]) for info in infos]
    found.sort(key=lambda ip: ":" in ip)
    if not found:
        raise ConfigError(f"serve: --host {host!r}: it has no address")
    return found[0]


def interface_addresses() -> set[str]:
    """Every address of this machine's interfaces (a wildcard bind answers on all of them)."""
    import psutil

    found: set[str] = set()
    for addresses in psutil.net_if_addrs().values():
        for entry in addresses:
            if entry.family in (socket.AF_INET, socket.AF_INET6):
                found.add(entry.address.split("%", 1)[0].lower())
    return found


def host_names(requested: str, ip: str) -> frozenset[str]:
    """The Host names a page of ours can carry; a rebinding attacker's domain is never among them.

    The bound address and ``localhost`` always; the name given to --host; for a wildcard every
    address of this machine and its host name.
    """
    names = {ip.lower(), requested.lower()}
    parsed = ipaddress.ip_address(ip)
    if parsed.is_loopback or parsed.is_unspecified:
        names.add("localhost")
    if parsed.is_unspecified:
        names |= interface_addresses()
        names |= {name.lower() for name in (socket.gethostname(), socket.getfqdn()) if name}
    return frozenset(names)


def bind(requested: str, port: int) -> tuple[socket.socket, Address]:
    """Bind and listen before any process starts, so a port in use is one clear error and nothing runs."""
    ip = resolve(requested)
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and ipaddress.ip_address(ip).is_unspecified:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((ip, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        shown = f"[{ip}]" if ":" in ip else ip
        raise ConfigError(f"serve: cannot listen on {shown}:{port}: {exc.strerror or exc}") from None
    sock.setblocking(False)
    bound_port = int(sock.getsockname()[1])
    parsed = ipaddress.ip_address(ip)
    return sock, Address(ip=ip, port=bound_port, names=host_names(requested, ip), loopback=parsed.is_loopback)
