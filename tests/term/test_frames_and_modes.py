"""The connect framing and the terminal-mode follower: split anywhere, bounded, exact."""

from __future__ import annotations

import pytest

from procdash.control import frames as fr
from procdash.core.termmodes import TerminalModes
from procdash.term.raw import split_at_detach


def test_frames_survive_any_split() -> None:
    stream = fr.frame(fr.INPUT, b"hello") + fr.winsize(132, 43) + fr.frame(fr.OUTPUT, b"") + fr.frame(fr.END, b"bye")
    for cut in range(1, 4):
        reader = fr.FrameReader()
        got = []
        for i in range(0, len(stream), cut):
            got.extend(reader.feed(stream[i : i + cut]))
        assert got == [(fr.INPUT, b"hello"), (fr.WINSIZE, b"\x00\x84\x00\x2b"), (fr.OUTPUT, b""), (fr.END, b"bye")]
    assert fr.parse_winsize(b"\x00\x84\x00\x2b") == (132, 43)


def test_large_payloads_are_split_and_oversized_frames_refused() -> None:
    data = bytes(range(256)) * 600
    reader = fr.FrameReader()
    pieces = reader.feed(fr.frames(fr.OUTPUT, data))
    assert all(len(payload) <= fr.MAX_FRAME for _, payload in pieces)
    assert b"".join(payload for _, payload in pieces) == data
    with pytest.raises(fr.FrameError):
        fr.FrameReader().feed(fr.HEADER.pack(b"i", fr.MAX_FRAME + 1))
    with pytest.raises(fr.FrameError):
        fr.parse_winsize(b"\x00\x00\x00\x10")


def test_modes_follow_decckm_and_bracketed_paste_even_split_across_reads() -> None:
    modes = TerminalModes()
    modes.feed(b"vim starting \x1b[?1h\x1b=")
    assert modes.app_cursor and not modes.bracketed_paste
    modes.feed(b"text \x1b[?20")
    modes.feed(b"04h more")
    assert modes.bracketed_paste
    modes.feed(b"\x1b[?1;2004l")
    assert not modes.app_cursor and not modes.bracketed_paste
    modes.feed(b"\x1b[?1h")
    modes.reset()
    assert not modes.app_cursor


def test_mode_follower_keeps_bounded_memory() -> None:
    modes = TerminalModes()
    for _ in range(1000):
        modes.feed(b"\x1b[?" + b"1" * 10_000)  # an unterminated sequence that never ends
    assert len(modes._carry) < 64


def test_detach_key_cuts_input() -> None:
    assert split_at_detach(b"abc", 0x1D) == (b"abc", False)
    assert split_at_detach(b"ab\x1dcd", 0x1D) == (b"ab", True)
