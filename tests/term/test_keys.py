"""The key encoder: every key a terminal can send, checked against xterm's table and Textual's own parser."""

from __future__ import annotations

import itertools
import string

import pytest
from textual._xterm_parser import XTermParser

from procdash.term.keys import encode_key, encode_paste, key_label, parse_key_spec, split_key

ESC = b"\x1b"

# (Textual key name, character Textual gives or None, bytes xterm sends)
XTERM = [
    ("enter", None, b"\r"),
    ("tab", None, b"\t"),
    ("shift+tab", None, b"\x1b[Z"),
    ("backspace", None, b"\x7f"),
    ("escape", None, ESC),
    ("space", " ", b" "),
    ("up", None, b"\x1b[A"),
    ("down", None, b"\x1b[B"),
    ("right", None, b"\x1b[C"),
    ("left", None, b"\x1b[D"),
    ("home", None, b"\x1b[H"),
    ("end", None, b"\x1b[F"),
    ("insert", None, b"\x1b[2~"),
    ("delete", None, b"\x1b[3~"),
    ("pageup", None, b"\x1b[5~"),
    ("pagedown", None, b"\x1b[6~"),
    ("f1", None, b"\x1bOP"),
    ("f2", None, b"\x1bOQ"),
    ("f3", None, b"\x1bOR"),
    ("f4", None, b"\x1bOS"),
    ("f5", None, b"\x1b[15~"),
    ("f6", None, b"\x1b[17~"),
    ("f7", None, b"\x1b[18~"),
    ("f8", None, b"\x1b[19~"),
    ("f9", None, b"\x1b[20~"),
    ("f10", None, b"\x1b[21~"),
    ("f11", None, b"\x1b[23~"),
    ("f12", None, b"\x1b[24~"),
    ("f13", None, b"\x1b[1;2P"),
    ("f24", None, b"\x1b[24;2~"),
    ("ctrl+up", None, b"\x1b[1;5A"),
    ("shift+up", None, b"\x1b[1;2A"),
    ("alt+up", None, b"\x1b[1;3A"),
    ("ctrl+shift+right", None, b"\x1b[1;6C"),
    ("ctrl+alt+shift+left", None, b"\x1b[1;8D"),
    ("meta+down", None, b"\x1b[1;9B"),
    ("shift+home", None, b"\x1b[1;2H"),
    ("ctrl+end", None, b"\x1b[1;5F"),
    ("ctrl+delete", None, b"\x1b[3;5~"),
    ("shift+pageup", None, b"\x1b[5;2~"),
    ("ctrl+f1", None, b"\x1b[1;5P"),
    ("shift+f4", None, b"\x1b[1;2S"),
    ("ctrl+f5", None, b"\x1b[15;5~"),
    ("alt+f12", None, b"\x1b[24;3~"),
    ("ctrl+@", None, b"\x00"),
    ("ctrl+space", None, b"\x00"),
    ("ctrl+backslash", None, b"\x1c"),
    ("ctrl+right_square_bracket", None, b"\x1d"),
    ("ctrl+circumflex_accent", None, b"\x1e"),
    ("ctrl+underscore", None, b"\x1f"),
    ("ctrl+left_square_bracket", None, ESC),
    ("alt+x", "x", b"\x1bx"),
    ("alt+shift+a", "A", b"\x1bA"),
    ("alt+enter", None, b"\x1b\r"),
    ("alt+backspace", None, b"\x1b\x7f"),
    ("ctrl+alt+c", None, b"\x1b\x03"),
    ("a", "a", b"a"),
    ("A", "A", b"A"),
    ("exclamation_mark", "!", b"!"),
    ("plus", "+", b"+"),
    ("é", "é", "é".encode()),
    ("☃", "☃", "☃".encode()),
    ("😀", "😀", "😀".encode()),
]


@pytest.mark.parametrize(("key", "character", "expected"), XTERM, ids=[k for k, _, _ in XTERM])
def test_keys_encode_as_xterm_sends_them(key: str, character: str | None, expected: bytes) -> None:
    assert encode_key(key, character) == expected


@pytest.mark.parametrize("letter", string.ascii_lowercase)
def test_every_ctrl_letter_is_its_c0_byte(letter: str) -> None:
    assert encode_key(f"ctrl+{letter}") == bytes([ord(letter) - 96])
    assert encode_key(f"ctrl+shift+{letter}") == bytes([ord(letter) - 96])  # a terminal cannot tell them apart
    assert encode_key(f"ctrl+alt+{letter}") == ESC + bytes([ord(letter) - 96])


def test_ctrl_c_is_byte_3_for_the_line_discipline() -> None:
    assert encode_key("ctrl+c", "\x03") == b"\x03"
    assert encode_key("ctrl+c") == b"\x03"


@pytest.mark.parametrize(
    ("digit", "byte"), [("2", 0), ("3", 27), ("4", 28), ("5", 29), ("6", 30), ("7", 31), ("8", 127)]
)
def test_ctrl_digits_follow_xterm(digit: str, byte: int) -> None:
    assert encode_key(f"ctrl+{digit}") == bytes([byte])


@pytest.mark.parametrize(
    ("key", "final"), [("up", "A"), ("down", "B"), ("right", "C"), ("left", "D"), ("home", "H"), ("end", "F")]
)
def test_application_cursor_mode_uses_ss3(key: str, final: str) -> None:
    assert encode_key(key, app_cursor=True) == f"\x1bO{final}".encode()
    assert encode_key(key, app_cursor=False) == f"\x1b[{final}".encode()
    # Modified cursor keys are the same in both modes.
    assert encode_key(f"ctrl+{key}", app_cursor=True) == f"\x1b[1;5{final}".encode()


def test_control_characters_textual_read_pass_through_unchanged() -> None:
    for code in [*range(0x20), 0x7F]:
        character = chr(code)
        assert encode_key("whatever", character) == character.encode()


def test_backspace_is_del_whichever_byte_textual_read() -> None:
    assert encode_key("backspace", "\x08") == b"\x7f"
    assert encode_key("backspace", "\x7f") == b"\x7f"


def test_a_lone_modifier_sends_nothing() -> None:
    assert encode_key("shift") is None
    assert encode_key("ctrl+unknown_key_name") is None


def test_split_key() -> None:
    assert split_key("ctrl+shift+up") == (frozenset({"ctrl", "shift"}), "up")
    assert split_key("+") == (frozenset(), "+")
    assert split_key("ctrl++") == (frozenset({"ctrl"}), "+")
    assert split_key("page_up") == (frozenset(), "pageup")


def _parsed(data: bytes) -> list[tuple[str, str | None]]:
    """What Textual's own terminal parser makes of these bytes."""
    parser = XTermParser()
    return [(event.key, event.character) for event in parser.feed(data.decode()) if hasattr(event, "key")]


NAMED = ["up", "down", "left", "right", "home", "end", "insert", "delete", "pageup", "pagedown"]
FUNCTION = [f"f{n}" for n in range(1, 13)]
MODIFIER_SETS = [(), ("shift",), ("ctrl",), ("alt",), ("ctrl", "shift"), ("alt", "shift"), ("alt", "ctrl")]


@pytest.mark.parametrize(
    "key",
    [
        "+".join([*sorted(mods), base])
        for base, mods in itertools.product(NAMED + FUNCTION, MODIFIER_SETS)
        # Textual's parser leaves out a few (modified F3 clashes with a cursor position report, CSI 1;m R),
        # and knows modified F-keys only with shift or ctrl alone.
        if not (base in FUNCTION and mods and (mods not in (("ctrl",), ("shift",)) or base == "f3"))
    ],
)
def test_what_we_send_textual_reads_back_as_the_same_key(key: str) -> None:
    data = encode_key(key)
    assert data is not None
    assert [name for name, _ in _parsed(data)] == [key]


@pytest.mark.parametrize("letter", string.ascii_lowercase)
def test_ctrl_letters_round_trip_through_textual(letter: str) -> None:
    ctrl = encode_key(f"ctrl+{letter}")
    assert ctrl is not None
    names = [name for name, _ in _parsed(ctrl)]
    # Textual names a few C0 bytes by the key that sends them (ctrl+i is tab, ctrl+m enter, ctrl+h backspace).
    assert names in ([f"ctrl+{letter}"], [{"i": "tab", "m": "enter", "h": "backspace", "j": "ctrl+j"}.get(letter)])


def test_paste_is_bracketed_only_when_the_child_asked() -> None:
    assert encode_paste("a\nb\r\nc", bracketed=False) == b"a\rb\rc"
    assert encode_paste("ls\n", bracketed=True) == b"\x1b[200~ls\r\x1b[201~"
    # A pasted end marker cannot end the paste early and let the rest run as typed commands.
    assert encode_paste("x\x1b[201~rm -rf /\n", bracketed=True) == b"\x1b[200~xrm -rf /\r\x1b[201~"


def test_detach_key_specs() -> None:
    assert parse_key_spec("ctrl+]") == ("ctrl+right_square_bracket", 0x1D)
    assert parse_key_spec("Ctrl+A") == ("ctrl+a", 0x01)
    assert parse_key_spec("ctrl+\\") == ("ctrl+backslash", 0x1C)
    assert parse_key_spec("ctrl+_") == ("ctrl+underscore", 0x1F)
    for bad in ("ctrl+c", "ctrl+z", "ctrl+m", "ctrl+[", "x", "alt+x", "ctrl+", "ctrl+foo", "ctrl+@"):
        with pytest.raises(ValueError):
            parse_key_spec(bad)


def test_key_labels() -> None:
    assert key_label("ctrl+right_square_bracket") == "ctrl+]"
    assert key_label("ctrl+a") == "ctrl+a"
    assert key_label("shift+ctrl+up") == "ctrl+shift+up"
