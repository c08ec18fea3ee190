"""The control protocol: newline-delimited JSON, versioned; requests are parsed and validated by pure functions."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from procdash.control.requests import DEFAULT_LOG_LINES as DEFAULT_LOG_LINES
from procdash.control.requests import (
    Action as Action,
)
from procdash.control.requests import (
    Connect as Connect,
)
from procdash.control.requests import (
    Control as Control,
)
from procdash.control.requests import (
    Info as Info,
)
from procdash.control.requests import (
    Logs as Logs,
)
from procdash.control.requests import (
    Quit as Quit,
)
from procdash.control.requests import (
    Reload as Reload,
)
from procdash.control.requests import (
    Request as Request,
)
from procdash.control.requests import (
    RequestId as RequestId,
)
from procdash.control.requests import (
    Resize as Resize,
)
from procdash.control.requests import (
    Scale as Scale,
)
from procdash.control.requests import (
    ScaleChange as ScaleChange,
)
from procdash.control.requests import (
    Send as Send,
)
from procdash.control.requests import (
    Status as Status,
)
from procdash.control.requests import (
    Subscribe as Subscribe,
)

PROTOCOL_VERSION = 3
# Version 2 added send, connect, the partial and waiting events and the waiting/partial status fields;
# version 3 (what ``procdash attach`` mirrors) added resize, ``since`` for logs, keys and pastes for send,
# periodic ``usage`` events for subscribers and more instance fields. Every older request means the same
# in the newer versions, so all three are accepted.
ACCEPTED_VERSIONS = (1, 2, 3)
MIN_USAGE_INTERVAL = 0.2  # seconds between usage events a subscriber may ask for
MAX_USAGE_INTERVAL = 3600.0
MAX_KEY_CHARS = 64
MAX_WINDOW = 1000  # columns or rows of a connecting terminal
MAX_REQUEST_BYTES = 64 * 1024  # one request line, newline included
MAX_TARGETS = 256
MAX_NAME_CHARS = 256
MAX_LOG_LINES = 1_000_000
MAX_SCALE = 1000

# Error codes a response can carry in ``error.code``.
BAD_JSON = "bad_json"
BAD_REQUEST = "bad_request"
TOO_LARGE = "too_large"
UNKNOWN_COMMAND = "unknown_command"
UNSUPPORTED_VERSION = "unsupported_version"
NOT_FOUND = "not_found"
FAILED = "failed"
BUSY = "busy"
TIMEOUT = "timeout"

ACTIONS: tuple[Action, ...] = ("restart", "stop", "start")
COMMANDS = (
    "info",
    "status",
    "scale",
    *ACTIONS,
    "logs",
    "subscribe",
    "send",
    "connect",
    "resize",
    "reload",
    "quit",
)
_SCALE_ITEM = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=\s*([+-]?)(\d{1,6})\s*$")

JSONObject = dict[str, Any]


class ProtocolError(Exception):
    """A request the server cannot act on; ``code`` is machine-readable, the message one line for people."""

    def __init__(self, code: str, message: str, request_id: RequestId = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


@dataclass
class _Fields:
    """Typed access to a request object's fields that turns every mistake into a ProtocolError."""

    data: JSONObject
    request_id: RequestId
    used: set[str] = field(default_factory=lambda: {"v", "id", "cmd"})

    def fail(self, message: str, code: str = BAD_REQUEST) -> ProtocolError:
        """An error for this request."""
        return ProtocolError(code, message, self.request_id)

    def get(self, key: str) -> object:
        """A field's raw value (None when absent), remembered as known."""
        self.used.add(key)
        return self.data.get(key)

    def boolean(self, key: str, default: bool) -> bool:
        """A true/false field."""
        value = self.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(f"{key!r} must be true or false")
        return value

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        """A whole-number field within [low, high]."""
        value = self.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(f"{key!r} must be a whole number from {low} to {high}")
        return value

    def name(self, key: str) -> str:
        """A required name field."""
        return self.check_name(key, self.get(key))

    def check_name(self, key: str, value: object) -> str:
        """A non-empty, single-line string of bounded length."""
        if not isinstance(value, str) or not value or len(value) > MAX_NAME_CHARS:
            raise self.fail(f"{key!r} must be a non-empty string of at most {MAX_NAME_CHARS} characters")
        if any(ch in value for ch in "\n\r\0"):
            raise self.fail(f"{key!r} must be a single line")
        return value

    def names(self, key: str) -> tuple[str, ...]:
        """A list of names (absent means empty)."""
        value = self.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or len(value) > MAX_TARGETS:
            raise self.fail(f"{key!r} must be a list of at most {MAX_TARGETS} names")
        return tuple(self.check_name(key, item) for item in value)

    def reject_unknown(self) -> None:
        """Unknown fields are an error, so a typo never silently means the default."""
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.fail(f"unknown field {unknown[0]!r}")


def _request_id(data: JSONObject) -> RequestId:
    """The request's ``id`` if it is a scalar a response can echo, else None."""
    value = data.get("id")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    if isinstance(value, str) and len(value) > MAX_NAME_CHARS:
        return None
    if isinstance(value, float) and not math.isfinite(value):  # 1e999 parses as inf, which JSON cannot carry
        return None
    return value


def _reject_constant(name: str) -> object:
    """JSON has no NaN or Infinity; Python's parser accepts them unless told not to."""
    raise ValueError(f"{name} is not JSON")


def decode_line(line: bytes) -> JSONObject:
    """One request line as a JSON object; raises ProtocolError for anything else."""
    if len(line) > MAX_REQUEST_BYTES:
        raise ProtocolError(TOO_LARGE, f"request longer than {MAX_REQUEST_BYTES} bytes")
    try:
        text = line.decode("utf-8")
        data = json.loads(text, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ProtocolError(BAD_JSON, "request is not a line of UTF-8 JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError(BAD_REQUEST, "request must be a JSON object")
    return data


def parse_request(line: bytes) -> Request:
    """Parse and validate one request line; raises ProtocolError (and nothing else) when it is not valid."""
    data = decode_line(line)
    request_id = _request_id(data)
    fields = _Fields(data, request_id)
    if "id" in data and request_id is None:
        raise fields.fail(f"'id' must be a string of at most {MAX_NAME_CHARS} characters or a number")
    version = data.get("v", PROTOCOL_VERSION)
    if version not in ACCEPTED_VERSIONS or isinstance(version, bool):
        raise fields.fail(
            f"protocol version {PROTOCOL_VERSION} is the one spoken here (1 and 2 too)", UNSUPPORTED_VERSION
        )
    command = data.get("cmd")
    if not isinstance(command, str):
        raise fields.fail("'cmd' must be a string naming the command")
    request: Request
    if command == "info":
        request = Info(request_id)
    elif command == "status":
        request = Status(request_id)
    elif command == "scale":
        request = Scale(_scale_changes(fields), request_id, fields.boolean("save", False))
    elif command in ACTIONS:
        action: Action = "restart" if command == "restart" else "stop" if command == "stop" else "start"
        request = Control(action, fields.names("targets"), request_id)
    elif command == "logs":
        name = fields.name("name")
        lines = fields.integer("lines", DEFAULT_LOG_LINES, 0, MAX_LOG_LINES)
        since = fields.get("since")
        if since is not None:
            since = fields.integer("since", 0, 0, 2**62)
            lines = fields.integer("lines", MAX_LOG_LINES, 0, MAX_LOG_LINES)
        request = Logs(name, lines, fields.boolean("follow", False), request_id, since)
    elif command == "subscribe":
        request = Subscribe(fields.boolean("logs", True), request_id, _usage_interval(fields))
    elif command == "send":
        request = _send(fields)
    elif command == "resize":
        target = fields.get("name")
        request = Resize(
            None if target is None else fields.name("name"),
            fields.integer("columns", 80, 1, MAX_WINDOW),
            fields.integer("rows", 24, 1, MAX_WINDOW),
            request_id,
        )
    elif command == "connect":
        request = Connect(
            fields.name("name"),
            fields.integer("columns", 80, 1, MAX_WINDOW),
            fields.integer("rows", 24, 1, MAX_WINDOW),
            fields.integer("context", 0, 0, MAX_WINDOW),
            request_id,
        )
    elif command == "reload":
        request = Reload(request_id)
    elif command == "quit":
        request = Quit(request_id, fields.boolean("kill", False))
    else:
        shown = command if len(command) <= 40 else command[:40] + "..."
        raise fields.fail(f"unknown command {shown!r} (known: {', '.join(COMMANDS)})", UNKNOWN_COMMAND)
    fields.reject_unknown()
    return request


def _usage_interval(fields: _Fields) -> float:
    """``usage`` of a subscribe request: seconds between usage events, 0 (the default) for none."""
    value = fields.get("usage")
    if value is None or value == 0:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fields.fail(f"'usage' must be a number of seconds from {MIN_USAGE_INTERVAL:g} (0: no usage events)")
    if not MIN_USAGE_INTERVAL <= value <= MAX_USAGE_INTERVAL:
        raise fields.fail(f"'usage' must be from {MIN_USAGE_INTERVAL:g} to {MAX_USAGE_INTERVAL:g} seconds (or 0)")
    return float(value)


def _send(fields: _Fields) -> Send:
    """A send request: exactly one of ``text``, ``key`` (with an optional ``char``) and ``paste``, or ``check``."""
    name = fields.name("name")
    if fields.boolean("check", False):
        return Send(name, "", fields.request_id, check=True)
    given = [key for key in ("text", "key", "paste") if fields.data.get(key) is not None]
    if len(given) > 1:
        raise fields.fail("give one of 'text', 'key' and 'paste'")
    if given == ["key"]:
        key = fields.get("key")
        if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS:
            raise fields.fail(f"'key' must be a key name of at most {MAX_KEY_CHARS} characters")
        char = fields.get("char")
        if char is not None and (not isinstance(char, str) or len(char) > 8):
            raise fields.fail("'char' must be the character of the key (a short string) or null")
        return Send(name, "", fields.request_id, key=key, char=char)
    if given == ["paste"]:
        paste = fields.get("paste")
        if not isinstance(paste, str):
            raise fields.fail("'paste' must be a string")
        return Send(name, "", fields.request_id, paste=paste)
    return Send(name, _text(fields), fields.request_id)


def _text(fields: _Fields) -> str:
    """``text`` of a send request: a non-empty string (any characters: control bytes are the point)."""
    value = fields.get("text")
    if not isinstance(value, str) or not value:
        raise fields.fail("'text' must be a non-empty string")
    return value


def _scale_changes(fields: _Fields) -> tuple[ScaleChange, ...]:
    """``changes``: a non-empty list of {"type": T, "count": N} or {"type": T, "delta": D}."""
    value = fields.get("changes")
    if not isinstance(value, list) or not value or len(value) > MAX_TARGETS:
        raise fields.fail(f"'changes' must be a list of 1 to {MAX_TARGETS} {{type, count|delta}} objects")
    changes = []
    for item in value:
        if not isinstance(item, dict) or set(item) not in ({"type", "count"}, {"type", "delta"}):
            raise fields.fail('each change must be {"type": T, "count": N} or {"type": T, "delta": D}')
        type_name = fields.check_name("type", item["type"])
        relative = "delta" in item
        number = item["delta" if relative else "count"]
        low = -MAX_SCALE if relative else 0
        if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= MAX_SCALE:
            raise fields.fail(
                f"a scale {'delta' if relative else 'count'} must be a whole number from {low} to {MAX_SCALE}"
            )
        changes.append(ScaleChange(type_name, number, relative))
    return tuple(changes)


def parse_scale_spec(specs: list[str]) -> list[ScaleChange]:
    """``web=3,worker=+1`` (one or more arguments) as changes; raises ValueError with a one-line reason."""
    changes = []
    for spec in specs:
        for item in spec.split(","):
            if not item.strip():
                continue
            match = _SCALE_ITEM.match(item)
            if match is None:
                raise ValueError(f"expected TYPE=N, TYPE=+N or TYPE=-N, got {item.strip()!r}")
            type_name, sign, digits = match.groups()
            number = int(digits)
            if number > MAX_SCALE:
                raise ValueError(f"{type_name}: at most {MAX_SCALE}")
            changes.append(ScaleChange(type_name, -number if sign == "-" else number, bool(sign)))
    if not changes:
        raise ValueError("expected at least one TYPE=N")
    return changes


def scale_payload(changes: list[ScaleChange]) -> list[JSONObject]:
    """Changes as the ``changes`` field of a scale request."""
    return [
        {"type": c.type_name, "delta": c.value} if c.relative else {"type": c.type_name, "count": c.value}
        for c in changes
    ]


def encode(message: JSONObject) -> bytes:
    """One message as a JSON line (UTF-8, compact, newline-terminated)."""
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8", "replace") + b"\n"


def request(command: str, request_id: RequestId = None, **fields: Any) -> JSONObject:
    """A request object for ``command`` with the protocol version."""
    message: JSONObject = {"v": PROTOCOL_VERSION, "cmd": command}
    if request_id is not None:
        message["id"] = request_id
    message.update(fields)
    return message


def ok(request_id: RequestId, **payload: Any) -> JSONObject:
    """A success response."""
    message: JSONObject = {"v": PROTOCOL_VERSION, "id": request_id, "ok": True}
    message.update(payload)
    return message


def error(code: str, message: str, request_id: RequestId = None) -> JSONObject:
    """A failure response; ``message`` is one line a client can print as is."""
    return {"v": PROTOCOL_VERSION, "id": request_id, "ok": False, "error": {"code": code, "message": message}}


def event(kind: str, **payload: Any) -> JSONObject:
    """A stream event (after the response to ``logs`` with follow, or ``subscribe``)."""
    message: JSONObject = {"v": PROTOCOL_VERSION, "event": kind}
    message.update(payload)
    return message
