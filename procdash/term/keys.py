"""Keys as the bytes an xterm sends for them, so a child in input mode gets what a real terminal would type.

Keys are named as Textual names them (``up``, ``ctrl+up``, ``shift+tab``, ``alt+x``, ``f5``,
``ctrl+right_square_bracket``), with the character Textual read when there was one; this module never
imports Textual, so it can be tested exhaustively on its own. A control character Textual read from the
terminal is passed through unchanged (the most faithful encoding there is); keys made up without one
(tests, bindings) are encoded from their names. Modified cursor and function keys use xterm's
``CSI 1;m X`` / ``CSI n;m ~`` form with m = 1 + shift + 2*alt + 4*ctrl + 8*meta.
"""

from __future__ import annotations

ESC = "\x1b"
CSI = ESC + "["
SS3 = ESC + "O"

# Cursor keys: the final byte; sent as CSI X normally, SS3 X in application cursor mode (DECCKM).
_CURSOR = {"up": "A", "down": "B", "right": "C", "left": "D", "home": "H", "end": "F"}
# Editing keys and F5-F12: CSI n ~.
_TILDE = {
    "insert": 2,
    "delete": 3,
    "pageup": 5,
    "pagedown": 6,
    "f5": 15,
    "f6": 17,
    "f7": 18,
    "f8": 19,
    "f9": 20,
    "f10": 21,
    "f11": 23,
    "f12": 24,
}
_SS3_FUNCTION = {"f1": "P", "f2": "Q", "f3": "R", "f4": "S"}
_SIMPLE = {
    "enter": "\r",
    "tab": "\t",
    "backspace": "\x7f",  # xterm's default for the Backspace key (DEL), as stty erase expects
    "escape": ESC,
    "space": " ",
}
# Control combinations of punctuation and digits (xterm's table); letters are computed.
_CONTROL_NAMED = {
    "@": "\x00",
    "at": "\x00",
    "space": "\x00",
    "left_square_bracket": ESC,
    "backslash": "\x1c",
    "right_square_bracket": "\x1d",
    "circumflex_accent": "\x1e",
    "underscore": "\x1f",
    "minus": "\x1f",
    "slash": "\x1f",
    "question_mark": "\x7f",
    "2": "\x00",
    "3": ESC,
    "4": "\x1c",
    "5": "\x1d",
    "6": "\x1e",
    "7": "\x1f",
    "8": "\x7f",
}
_MODIFIER_BITS = {"shift": 1, "alt": 2, "ctrl": 4, "meta": 8}
_ALIASES = {"page_up": "pageup", "page_down": "pagedown", "return": "enter", "esc": "escape", "ctrl-at": "ctrl+@"}
PASTE_START = CSI + "200~"
PASTE_END = CSI + "201~"


def split_key(key: str) -> tuple[frozenset[str], str]:
    """A Textual key name as its modifiers and base key (``ctrl+shift+up`` -> {ctrl, shift}, ``up``)."""
    key = _ALIASES.get(key, key)
    parts = key.split("+")
    # A bare "+" names the plus key; "ctrl++" would too.
    if parts[-1] == "" and len(parts) > 1:
        parts = [*parts[:-2], "+"]
    modifiers = {part for part in parts[:-1] if part in _MODIFIER_BITS or part in ("super", "hyper")}
    base = _ALIASES.get(parts[-1], parts[-1])
    return frozenset(modifiers), base


def _modifier_code(modifiers: frozenset[str]) -> int:
    """xterm's modifier parameter: 1 + the sum of the held modifiers' bits."""
    return 1 + sum(_MODIFIER_BITS.get(name, 0) for name in modifiers)


def _is_control(character: str | None) -> bool:
    """Whether a character Textual read is a single C0 control or DEL (what the terminal really sent)."""
    return character is not None and len(character) == 1 and (ord(character) < 0x20 or character == "\x7f")


def _printable(character: str | None) -> bool:
    """Whether a key's character is text to type (not a control character)."""
    return character is not None and character != "" and not any(ord(c) < 0x20 or c == "\x7f" for c in character)


def encode_key(key: str, character: str | None = None, *, app_cursor: bool = False) -> bytes | None:
    """The bytes a terminal sends for a key, or None for a key that sends nothing (a lone modifier)."""
    text = _encode(key, character, app_cursor)
    return None if text is None else text.encode("utf-8")


def _encode(key: str, character: str | None, app_cursor: bool) -> str | None:
    """encode_key as text."""
    modifiers, base = split_key(key)
    ctrl = "ctrl" in modifiers
    alt = "alt" in modifiers or "meta" in modifiers
    prefix = ESC if alt else ""
    if base == "backspace" and not modifiers - {"shift"}:
        # Textual calls both ^H and DEL "backspace"; a fresh pty erases with DEL (stty erase ^?).
        return "\x7f"
    if _is_control(character) and not alt:
        return character
    if base in _CURSOR:
        final = _CURSOR[base]
        if modifiers - {"super", "hyper"}:
            return f"{CSI}1;{_modifier_code(modifiers)}{final}"
        return (SS3 if app_cursor else CSI) + final
    if base in _TILDE:
        number = _TILDE[base]
        if modifiers - {"super", "hyper"}:
            return f"{CSI}{number};{_modifier_code(modifiers)}~"
        return f"{CSI}{number}~"
    if base in _SS3_FUNCTION:
        if modifiers - {"super", "hyper"}:
            return f"{CSI}1;{_modifier_code(modifiers)}{_SS3_FUNCTION[base]}"
        return SS3 + _SS3_FUNCTION[base]
    if base.startswith("f") and base[1:].isdigit() and 13 <= int(base[1:]) <= 24:
        # xterm reports shift+F1..F12 as F13..F24.
        return _encode("shift+f" + str(int(base[1:]) - 12), None, app_cursor)
    if base == "tab" and "shift" in modifiers:
        return prefix + CSI + "Z"
    if ctrl:
        control = _control_byte(base)
        if control is not None:
            return prefix + control
    if base in _SIMPLE:
        return prefix + _SIMPLE[base]
    if _printable(character):
        assert character is not None
        return prefix + character
    if len(base) == 1:
        return prefix + (base.upper() if "shift" in modifiers else base)
    if _is_control(character):
        return prefix + (character or "")
    return None


def _control_byte(base: str) -> str | None:
    """What ctrl+key sends: letters map to 0x01-0x1a, some punctuation and digits to xterm's codes."""
    if len(base) == 1 and base.isascii() and base.isalpha():
        return chr(ord(base.lower()) & 0x1F)
    return _CONTROL_NAMED.get(base)


def encode_paste(text: str, *, bracketed: bool) -> bytes:
    """A paste as a terminal sends it: newlines as CR, wrapped in CSI 200~/201~ when the child asked."""
    text = text.replace("\r\n", "\r").replace("\n", "\r")
    if bracketed:
        # A pasted end marker must not end the paste early (and let the rest run as typed commands).
        text = text.replace(PASTE_END, "")
        return (PASTE_START + text + PASTE_END).encode("utf-8")
    return text.encode("utf-8")


def parse_key_spec(spec: str) -> tuple[str, int]:
    """A detach key such as ``ctrl+]`` as (Textual key name, byte); raises ValueError naming what is wrong."""
    text = spec.strip().lower()
    named = {"]": "right_square_bracket", "\\": "backslash", "^": "circumflex_accent", "_": "underscore", "@": "@"}
    if not text.startswith("ctrl+") or len(text) < 6:
        raise ValueError(f"detach key must be ctrl+LETTER or ctrl+] / ctrl+\\ / ctrl+^ / ctrl+_, got {spec!r}")
    rest = text[5:]
    base = named.get(rest, rest)
    byte = _control_byte(base)
    if byte is None or base in ("@",):
        raise ValueError(f"detach key must be ctrl+LETTER or ctrl+] / ctrl+\\ / ctrl+^ / ctrl+_, got {spec!r}")
    if base in ("c", "z", "m", "i", "j", "h", "left_square_bracket"):
        raise ValueError(f"detach key {spec!r} is needed by programs (interrupt, suspend, enter, tab, escape)")
    return f"ctrl+{base}", ord(byte)


def key_label(key: str) -> str:
    """A key name as people write it (``ctrl+right_square_bracket`` -> ``ctrl+]``)."""
    named = {"right_square_bracket": "]", "backslash": "\\", "circumflex_accent": "^", "underscore": "_"}
    modifiers, base = split_key(key)
    order = [m for m in ("ctrl", "alt", "shift", "meta") if m in modifiers]
    return "+".join([*order, named.get(base, base)])
