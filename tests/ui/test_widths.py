"""Every character class the log renderer lets through takes the cells the terminal's own wcwidth gives it."""

from __future__ import annotations

import ctypes
import locale
import unicodedata

import pytest

from procdash.ui.widgets.logtext import cells, plain_line

# Symbols whose width changed between Unicode versions (wide in Unicode 16, narrow in older C libraries):
# the renderer follows the newer tables, so these differ from an older libc, whatever procdash does.
VERSION_SKEW = [(0x2630, 0x2637), (0x268A, 0x268F), (0x3248, 0x324F), (0x1D300, 0x1D356), (0x1D360, 0x1D376)]


def libc_width() -> ctypes._CFuncPtr:
    """The C library's wcwidth in a UTF-8 locale (what tmux and most terminals use)."""
    try:
        locale.setlocale(locale.LC_CTYPE, "C.UTF-8")
    except locale.Error:
        pytest.skip("no C.UTF-8 locale")
    libc = ctypes.CDLL(None)
    libc.wcwidth.argtypes = [ctypes.c_wchar]
    libc.wcwidth.restype = ctypes.c_int
    return libc.wcwidth


def skewed(cp: int) -> bool:
    """Whether a code point is in a range whose width depends on the Unicode version."""
    return any(lo <= cp <= hi for lo, hi in VERSION_SKEW)


def test_skin_tone_modifiers_zwj_and_selectors_leave_pieces_of_one_agreed_width() -> None:
    wcwidth = libc_width()
    for sample in ["👍🏽", "👋🏻👋🏿", "👨\u200d👩\u200d👧", "❤\ufe0f", "🏳\ufe0f\u200d🌈", "🇺🇸"]:
        shown = plain_line(f"a {sample} b")
        assert not any(0x1F3FB <= ord(ch) <= 0x1F3FF or ch in "\u200d\ufe0f" for ch in shown)
        assert cells(shown) == sum(wcwidth(ch) for ch in shown), sample


def test_unassigned_code_points_and_hangul_fillers_become_replacement_characters() -> None:
    wcwidth = libc_width()
    for raw in ["\U000e0080", "\u0378", "\u3164", "\uffa0", "\U0010fffd"]:
        shown = plain_line(f"x{raw}y")
        assert shown == "x\ufffdy" or (unicodedata.category(raw) == "Co" and shown == f"x{raw}y")
        assert cells(shown) == sum(max(0, wcwidth(ch)) for ch in shown)


def test_every_character_of_the_bmp_and_the_emoji_planes_agrees_with_wcwidth() -> None:
    """Spacing combining marks (Mc, e.g. Devanagari vowel signs) are the known exception: see README."""
    wcwidth = libc_width()
    wrong = []
    for cp in [*range(0x20, 0xD800), *range(0xE000, 0x10000), *range(0x1D000, 0x1FB00)]:
        ch = chr(cp)
        if unicodedata.category(ch) == "Mc" or skewed(cp):
            continue
        shown = plain_line(ch)
        if cells(shown) != sum(wcwidth(c) for c in shown):
            wrong.append(hex(cp))
    assert wrong == []


def test_batch_plain_text_matches_the_line_by_line_one() -> None:
    from procdash.ui.widgets.logtext import plain_lines

    lines = ["ok 👍🏽", "plain", "fill \u3164 x", "\x1b[31mred 👋🏿\x1b[0m", "cjk 漢字"]
    assert plain_lines(lines)[0] == [plain_line(line) for line in lines]
