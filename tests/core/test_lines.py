"""Line assembly and the log ring: exactly-once delivery, CRLF, rewrites, caps, bad bytes, escapes."""

from __future__ import annotations

import random

import pytest

from procdash.core.lines import CUT_MARKER, LineAssembler, sanitize, strip_sgr
from procdash.core.logbuffer import LogBuffer


def assemble(chunks: list[bytes], **kwargs: object) -> list[str]:
    """Feed chunks one by one, then flush, collecting every line."""
    asm = LineAssembler(**kwargs)  # type: ignore[arg-type]
    out: list[str] = []
    for chunk in chunks:
        out.extend(asm.feed(chunk))
    out.extend(asm.flush())
    return out


def test_every_line_once_in_order_across_random_splits() -> None:
    data = "".join(f"line {i} {'x' * (i % 37)}\n" for i in range(5000)).encode()
    rng = random.Random(7)
    chunks = []
    pos = 0
    while pos < len(data):
        step = rng.randint(1, 300)
        chunks.append(data[pos : pos + step])
        pos += step
    assert assemble(chunks) == [f"line {i} {'x' * (i % 37)}" for i in range(5000)]


def test_crlf_split_across_chunks() -> None:
    assert assemble([b"a\r", b"\nb\r\n", b"c\r", b"\r\n"]) == ["a", "b", "c"]


def test_carriage_return_rewrite_keeps_last_state() -> None:
    assert assemble([b"10%\r50%\r100%\ndone\n"]) == ["100%", "done"]
    assert assemble([b"progress\r\r\n"]) == ["progress"]


def test_partial_last_line_flushed() -> None:
    asm = LineAssembler()
    assert asm.feed(b"one\ntw") == ["one"]
    assert asm.partial == "tw"
    assert asm.flush() == ["tw"]
    assert asm.flush() == []


def test_invalid_utf8_replaced_and_split_multibyte_kept() -> None:
    euro = "€".encode()
    assert assemble([b"bad \xff\xfe ok\n", euro[:1], euro[1:] + b"\n"]) == ["bad \ufffd\ufffd ok", "€"]


def test_long_line_cut_with_marker_and_nothing_lost() -> None:
    lines = assemble([b"a" * 25 + b"\n"], max_line=10)
    assert lines == ["a" * 10 + CUT_MARKER, "a" * 10 + CUT_MARKER, "a" * 5]
    assert "".join(line.removesuffix(CUT_MARKER) for line in lines) == "a" * 25


def test_unterminated_huge_line_is_emitted_in_pieces_while_streaming() -> None:
    asm = LineAssembler(max_line=100)
    emitted: list[str] = []
    for _ in range(50):
        emitted.extend(asm.feed(b"z" * 33))
    assert emitted and all(line == "z" * 100 + CUT_MARKER for line in emitted)
    assert len(asm.partial) <= 100
    rest = asm.flush()
    assert "".join(x.removesuffix(CUT_MARKER) for x in emitted + rest) == "z" * 1650


def test_sanitize_keeps_sgr_and_drops_terminal_control() -> None:
    dirty = (
        "\x1b[31mred\x1b[0m \x1b[2J\x1b[H\x1b[?1049h\x1b]0;title\x07\x1b]52;c;aGk=\x07"
        "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\x07\x1b7\x1b(B end"
    )
    clean = sanitize(dirty)
    assert clean == "\x1b[31mred\x1b[0m link\u2407 end"
    assert strip_sgr(clean) == "red link\u2407 end"
    assert sanitize(dirty, keep_sgr=False) == "red link\u2407 end"


def test_nul_and_controls_become_visible() -> None:
    assert assemble([b"a\x00b\x08c\td\x7f\n"]) == ["a\u2400b\u2408c\td\u2421"]


def test_private_csi_m_is_not_sgr() -> None:
    assert sanitize("a\x1b[>4;2mb") == "ab"


def test_logbuffer_sequences_and_drops() -> None:
    buf = LogBuffer(4)
    buf.extend(["a", "b", "c"])
    buf.extend(["d", "e", "f"])
    assert (buf.first_seq, buf.next_seq, buf.dropped) == (2, 6, 2)
    assert buf.slice(0, 10) == ["c", "d", "e", "f"]
    assert buf.get(3) == "d"
    assert buf.tail(2) == ["e", "f"]
    with pytest.raises(IndexError):
        buf.get(1)
    buf.extend([str(i) for i in range(10)])
    assert buf.slice(0, 100) == ["6", "7", "8", "9"]
    assert buf.dropped == 12 and buf.next_seq == 16
    buf.clear()
    assert len(buf) == 0 and buf.next_seq == 16 and buf.dropped == 12
    buf.append("x")
    assert buf.get(16) == "x"


def test_logbuffer_matches_a_model_under_random_batches() -> None:
    rng = random.Random(3)
    buf = LogBuffer(50)
    model: list[str] = []
    for round_ in range(300):
        batch = [f"{round_}:{i}" for i in range(rng.randint(0, 80))]
        buf.extend(batch)
        model.extend(batch)
        assert buf.slice(0, len(model)) == model[-50:]
        assert buf.dropped == max(0, len(model) - 50)


def test_logbuffer_character_budget_matches_a_model() -> None:
    rng = random.Random(11)
    buf = LogBuffer(40, max_chars=300)
    model: list[str] = []
    held_from = 0  # index in model of the oldest line the buffer should still hold
    for round_ in range(400):
        batch = [f"{round_}:" + "x" * rng.choice([0, 3, 20, 90, 400]) for _ in range(rng.randint(0, 60))]
        buf.extend(batch)
        model.extend(batch)
        held_from = max(held_from, len(model) - 40)
        while sum(map(len, model[held_from:])) > 300 and len(model) - held_from > 1:
            held_from += 1
        assert buf.first_seq == held_from and buf.next_seq == len(model)
        assert buf.slice(0, len(model)) == model[held_from:]
        assert buf.dropped == held_from and len(buf) == len(model) - held_from
        if len(buf):
            assert buf.get(held_from) == model[held_from] and buf.tail(1) == model[-1:]


def test_logbuffer_keeps_the_newest_line_even_over_budget() -> None:
    buf = LogBuffer(10, max_chars=5)
    buf.extend(["a" * 50, "b" * 60])
    assert buf.slice(0, 10) == ["b" * 60] and buf.dropped == 1 and buf.first_seq == 1


def test_the_echo_of_an_erased_character_rubs_it_out_as_on_a_terminal() -> None:
    assert assemble([b"name? bobq\x08 \x08\r\n"]) == ["name? bob"]
    assert assemble([b"abc\x08 \x08\x08 \x08\x08 \x08x\n"]) == ["x"]
    assert assemble([b"\x08 \x08alone\n"]) == ["␈ ␈alone"]  # nothing before it to erase: kept visible
    assert assemble([b"back\x08space\n"]) == ["back␈space"]  # a lone backspace is not an erase
    asm = LineAssembler()
    asm.feed(b"name? bobq\x08 \x08")
    assert asm.partial == "name? bob"
