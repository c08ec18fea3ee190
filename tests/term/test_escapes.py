"""``ctl send`` escapes: what scripts type, and one clear error for what they get wrong."""

from __future__ import annotations

import pytest

from procdash.term.escapes import unescape


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        (r"yes\r", "yes\r"),
        (r"\x03", "\x03"),
        (r"\e[A", "\x1b[A"),
        (r"a\tb\nc", "a\tb\nc"),
        (r"back\\slash", "back\\slash"),
        (r"\u2603 \U0001F600", "☃ 😀"),
        (r"\0\a\b", "\0\a\b"),
        ("é unchanged", "é unchanged"),
    ],
)
def test_escapes(text: str, expected: str) -> None:
    assert unescape(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (r"\q", r"unknown escape \q"),
        ("trailing\\", "lone backslash"),
        (r"\x3", r"\x needs 2 hex digits"),
        (r"\xzz", r"\x needs 2 hex digits"),
        (r"\xff", "is not ASCII"),
        (r"\ud800", "is not a character"),
        (r"\U00110000", "is not a character"),
    ],
)
def test_bad_escapes_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=None) as info:
        unescape(text)
    assert message in str(info.value)
