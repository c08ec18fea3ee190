"""The request parser and message encoding: valid requests round-trip, anything else is only ever a ProtocolError."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procdash.control import protocol as p

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(["v", "id", "cmd", "targets", "name", "lines", "follow", "logs", "changes", "x"])
near_valid = st.fixed_dictionaries(
    {"cmd": st.sampled_from([*p.COMMANDS, "nope", ""])},
    optional={
        "v": st.sampled_from([1, 2, 0, "1", True, None]),
        "id": json_values,
        "targets": json_values | st.lists(st.text(max_size=300), max_size=3),
        "name": json_values,
        "lines": json_values | st.integers(),
        "follow": json_values,
        "logs": json_values,
        "changes": json_values
        | st.lists(
            st.fixed_dictionaries({"type": json_values}, optional={"count": json_values, "delta": json_values}),
            max_size=3,
        ),
    },
).flatmap(lambda base: st.dictionaries(field_names, json_values, max_size=2).map(lambda extra: {**extra, **base}))


def parse(message: Any) -> p.Request:
    """Parse a Python object as if it came over the wire."""
    return p.parse_request(json.dumps(message).encode() + b"\n")


def outcome(line: bytes) -> p.Request | p.ProtocolError:
    """What the parser makes of a line; any exception other than ProtocolError fails the test."""
    try:
        return p.parse_request(line)
    except p.ProtocolError as exc:
        assert exc.code and exc.message and "\n" not in exc.message
        # The error must be sendable as a response: its id echoes as JSON.
        json.loads(p.encode(p.error(exc.code, exc.message, exc.request_id)))
        return exc


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise_anything_but_a_protocol_error(data: bytes) -> None:
    outcome(data)


@FUZZ
@given(json_values)
def test_arbitrary_json_never_raises_anything_but_a_protocol_error(value: Any) -> None:
    result = outcome(json.dumps(value).encode())
    if not isinstance(value, dict):
        assert isinstance(result, p.ProtocolError)


@FUZZ
@given(near_valid)
def test_near_valid_requests_parse_or_fail_cleanly(message: dict[str, Any]) -> None:
    result = outcome(json.dumps(message).encode())
    if isinstance(result, p.Control):
        assert all(isinstance(t, str) and t for t in result.targets)
    if isinstance(result, p.Logs):
        assert 0 <= result.lines <= p.MAX_LOG_LINES


@FUZZ
@given(
    st.lists(
        st.tuples(st.text(alphabet="abcxyz_-", min_size=1, max_size=8), st.integers(0, 999), st.booleans()), min_size=1
    )
)
def test_scale_spec_round_trips_through_a_request(items: list[tuple[str, int, bool]]) -> None:
    specs = [f"{name}={'+' if rel else ''}{n}" for name, n, rel in items]
    changes = p.parse_scale_spec([",".join(specs)])
    request = parse(p.request("scale", 7, changes=p.scale_payload(changes)))
    assert isinstance(request, p.Scale) and request.id == 7
    assert list(request.changes) == changes == [p.ScaleChange(n, v, r) for n, v, r in items]


@FUZZ
@given(st.lists(st.text(), max_size=5), st.text())
def test_encoded_messages_are_exactly_one_line(lines: list[str], reason: str) -> None:
    for message in (p.ok(1, lines=lines), p.event("end", reason=reason), p.error("x", reason)):
        data = p.encode(message)
        assert data.endswith(b"\n") and data.count(b"\n") == 1
        assert json.loads(data)["v"] == p.PROTOCOL_VERSION


def test_each_command_parses_to_its_request() -> None:
    assert parse({"v": 1, "cmd": "status", "id": "a"}) == p.Status("a")
    assert parse({"cmd": "info"}) == p.Info()
    assert parse({"cmd": "restart", "targets": ["web.1", "w*"]}) == p.Control("restart", ("web.1", "w*"))
    assert parse({"cmd": "stop"}) == p.Control("stop", ())
    assert parse({"cmd": "logs", "name": "web.1", "lines": 5, "follow": True}) == p.Logs("web.1", 5, True)
    assert parse({"cmd": "subscribe", "logs": False}) == p.Subscribe(False)
    assert parse({"cmd": "quit", "id": 3}) == p.Quit(3)
    assert parse({"cmd": "scale", "changes": [{"type": "web", "delta": -1}]}) == p.Scale(
        (p.ScaleChange("web", -1, True),)
    )


@pytest.mark.parametrize(
    ("message", "code", "words"),
    [
        ({"cmd": "launch"}, p.UNKNOWN_COMMAND, "unknown command 'launch'"),
        ({"v": 4, "cmd": "status"}, p.UNSUPPORTED_VERSION, "version 3"),
        ({"cmd": "status", "colour": 1}, p.BAD_REQUEST, "unknown field 'colour'"),
        ({"cmd": "logs"}, p.BAD_REQUEST, "'name'"),
        ({"cmd": "logs", "name": "w", "lines": -1}, p.BAD_REQUEST, "'lines'"),
        ({"cmd": "logs", "name": "w", "follow": "yes"}, p.BAD_REQUEST, "'follow'"),
        ({"cmd": "scale", "changes": []}, p.BAD_REQUEST, "'changes'"),
        ({"cmd": "scale", "changes": [{"type": "web", "count": -1}]}, p.BAD_REQUEST, "from 0"),
        ({"cmd": "restart", "targets": "web"}, p.BAD_REQUEST, "'targets'"),
        ({"cmd": "status", "id": {"x": 1}}, p.BAD_REQUEST, "'id'"),
        ([1, 2], p.BAD_REQUEST, "JSON object"),
    ],
)
def test_invalid_requests_say_what_is_wrong(message: Any, code: str, words: str) -> None:
    with pytest.raises(p.ProtocolError) as caught:
        parse(message)
    assert caught.value.code == code
    assert words in caught.value.message


def test_bad_bytes_oversized_lines_and_non_json_constants() -> None:
    for line, code in [
        (b"\xff\xfe{}", p.BAD_JSON),
        (b"{not json", p.BAD_JSON),
        (b'{"cmd": "status", "id": NaN}', p.BAD_JSON),
        (b"[" * 100_000, p.TOO_LARGE),
        (b"[" * 50_000 + b"]" * 10_000, p.BAD_JSON),
    ]:
        with pytest.raises(p.ProtocolError) as caught:
            p.parse_request(line)
        assert caught.value.code == code


def test_an_id_is_echoed_even_when_the_request_is_rejected() -> None:
    with pytest.raises(p.ProtocolError) as caught:
        parse({"cmd": "logs", "id": 42})
    assert caught.value.request_id == 42


@pytest.mark.parametrize("spec", ["web", "web=x", "=3", "web=3;rm", "web=9999999", ""])
def test_bad_scale_specs_are_value_errors(spec: str) -> None:
    with pytest.raises(ValueError):
        p.parse_scale_spec([spec])
