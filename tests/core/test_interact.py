"""Talking to children through the supervisor: partial lines, waiting state, input, raw taps (real ptys)."""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from pathlib import Path

import pytest

from procdash.core import events as ev
from procdash.core.input import InputError
from procdash.core.supervisor import Supervisor
from tests.core.test_supervisor import make
from tests.helpers import run_supervisor, wait_until

PY = sys.executable


def _record(sup: Supervisor) -> list[ev.Event]:
    """Every event the supervisor publishes from now on."""
    seen: list[ev.Event] = []
    sup.subscribe(seen.append)
    return seen


def test_a_prompt_is_visible_before_any_key_and_an_answer_completes_it(tmp_path: Path) -> None:
    sup = make({"ask": "printf 'name? '; read x; echo \"hello $x\"; sleep 30"}, root=tmp_path)
    seen = _record(sup)

    async def body(sup: Supervisor) -> None:
        inst = sup.find("ask.1")
        assert inst is not None
        await wait_until(lambda: inst.partial == "name? ")
        assert any(isinstance(e, ev.Partial) and e.text == "name? " for e in seen)
        assert inst.log.tail(1000) == []  # the ring buffer holds complete lines only
        await wait_until(lambda: inst.waiting)
        waits = [e for e in seen if isinstance(e, ev.Waiting)]
        assert waits and waits[0].waiting and waits[0].prompt == "name? "
        sup.send_input("ask.1", b"bob\r")
        await wait_until(lambda: "hello bob" in inst.log.tail(1000))
        assert inst.log.tail(1000) == ["name? bob", "hello bob"]
        await wait_until(lambda: not inst.waiting)
        assert inst.partial == ""

    run_supervisor(sup, body)


def test_a_carriage_return_progress_bar_rewrites_the_partial_line(tmp_path: Path) -> None:
    script = (
        "import time\nfor i in range(5):\n    print(f'\\\\r{i*25}%', end='', flush=True); time.sleep(0.2)\n"
        "print()\ntime.sleep(30)"
    )
    sup = make({"bar": f'{PY} -c "{script}"'}, root=tmp_path)
    seen = _record(sup)

    async def body(sup: Supervisor) -> None:
        inst = sup.find("bar.1")
        assert inst is not None
        await wait_until(lambda: inst.log.next_seq == 1)
        partials = [e.text for e in seen if isinstance(e, ev.Partial) and e.text]
        assert partials == ["0%", "25%", "50%", "75%", "100%"]
        assert inst.log.tail(1000) == ["100%"]

    run_supervisor(sup, body)


def test_pdb_answers_and_continues(tmp_path: Path) -> None:
    sup = make({"dbg": f"{PY} -c 'x = 6; breakpoint(); print(\"after\", x)'; sleep 30"}, root=tmp_path)

    async def body(sup: Supervisor) -> None:
        inst = sup.find("dbg.1")
        assert inst is not None
        await wait_until(lambda: inst.waiting and inst.partial == "(Pdb) ")
        sup.send_input("dbg.1", b"p x*7\r")
        await wait_until(lambda: "42" in inst.log.tail(1000))
        await wait_until(lambda: inst.partial == "(Pdb) ")
        sup.send_input("dbg.1", b"c\r")
        await wait_until(lambda: "after 6" in inst.log.tail(1000))

    run_supervisor(sup, body)


def test_ctrl_c_reaches_the_child_through_its_line_discipline(tmp_path: Path) -> None:
    loop = "import time\nprint('looping', flush=True)\nwhile True: time.sleep(0.05)"
    sup = make({"spin": f'{PY} -c "{loop}"'}, root=tmp_path)

    async def body(sup: Supervisor) -> None:
        inst = sup.find("spin.1")
        assert inst is not None
        await wait_until(lambda: "looping" in inst.log.tail(1000))
        sup.send_input("spin.1", b"\x03")
        # Python 3.13 colours its traceback on a terminal, so look inside the lines.
        await wait_until(lambda: any("KeyboardInterrupt" in line for line in inst.log.tail(1000)))
        await wait_until(lambda: not inst.alive)
        assert inst.exit_code == 130  # python re-raises SIGINT after its traceback: the signal did it

    run_supervisor(sup, body)


def test_input_errors_name_the_problem(tmp_path: Path) -> None:
    sup = make({"done": "true", "quiet": "sleep 30"}, root=tmp_path)

    async def body(sup: Supervisor) -> None:
        with pytest.raises(KeyError):
            sup.send_input("nope.1", b"x")
        done = sup.find("done.1")
        assert done is not None
        await wait_until(lambda: not done.alive)
        with pytest.raises(InputError, match=r"done\.1 is not running"):
            sup.send_input("done.1", b"x")

    run_supervisor(sup, body)


def test_no_pty_refuses_input_naming_the_option(tmp_path: Path) -> None:
    sup = make({"quiet": "sleep 30"}, root=tmp_path, use_pty=False)

    async def body(sup: Supervisor) -> None:
        inst = sup.find("quiet.1")
        assert inst is not None
        await wait_until(lambda: inst.alive)
        with pytest.raises(InputError, match="--no-pty"):
            sup.send_input("quiet.1", b"x")
        with pytest.raises(InputError, match="--no-pty"):
            sup.tap_output("quiet.1", lambda data: None, lambda reason: None)

    run_supervisor(sup, body)


def test_a_tap_sees_raw_bytes_and_the_end(tmp_path: Path) -> None:
    sup = make({"raw": "read x; printf '\\033[1mbold\\033[0m %s\\n' \"$x\""}, root=tmp_path)

    async def body(sup: Supervisor) -> None:
        inst = sup.find("raw.1")
        assert inst is not None
        await wait_until(lambda: inst.waiting)
        received = bytearray()
        ended: list[str] = []
        sup.tap_output("raw.1", received.extend, ended.append)
        sup.send_input("raw.1", b"yo\r")
        await wait_until(lambda: ended)
        assert b"\x1b[1mbold\x1b[0m yo" in received  # raw, escapes untouched
        assert "\x1b[1mbold\x1b[0m yo" in inst.log.tail(1000)  # and still in the log
        assert ended == ["raw.1 ended"]

    run_supervisor(sup, body)


def test_a_flood_does_not_publish_its_line_fragments_as_partial_lines(tmp_path: Path) -> None:
    flood = "import sys\nfor i in range(100000): sys.stdout.write('line %d of the flood\\n' % i)\nsys.stdout.flush()\n"
    (tmp_path / "flood.py").write_text(flood + "import time\ntime.sleep(30)\n")
    sup = make({"flood": f"{PY} flood.py"}, root=tmp_path)
    seen = _record(sup)

    async def body(sup: Supervisor) -> None:
        inst = sup.find("flood.1")
        assert inst is not None
        await wait_until(lambda: inst.log.next_seq == 100000, timeout=30)
        fragments = [e.text for e in seen if isinstance(e, ev.Partial) and e.text]
        # Reads that end mid-line happen all the time in a flood; showing each cut would flicker.
        assert len(fragments) <= 3, fragments[:5]
        assert inst.partial == ""

    run_supervisor(sup, body)


@pytest.mark.parametrize("use_pty", [True, False])
def test_quiet_processes_are_checked_ever_less_often(tmp_path: Path, use_pty: bool) -> None:
    sup = make({"quiet": "echo ready; sleep 30"}, root=tmp_path, use_pty=use_pty)
    rounds: list[float] = []
    hub = sup._talk
    original = hub._check_all

    def counted() -> None:
        rounds.append(time.monotonic())
        original()

    hub._check_all = counted  # type: ignore[method-assign]

    async def body(sup: Supervisor) -> None:
        inst = sup.find("quiet.1")
        assert inst is not None
        await wait_until(lambda: "ready" in inst.log.tail(10))
        await asyncio.sleep(2.0)
        # 0.25, 0.5, 1 s apart after the output: a handful of rounds, not one every poll tick.
        assert len(rounds) <= 5, [round(b - a, 2) for a, b in itertools.pairwise(rounds)]

    run_supervisor(sup, body)
