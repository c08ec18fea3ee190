"""Words and numbers the dashboard shows, the table's columns and rows, the merged log, the key list."""

from __future__ import annotations

import re

from procdash.core import events as ev
from procdash.core.instance import Instance, State
from procdash.core.lines import LineAssembler
from procdash.core.logbuffer import LogBuffer
from procdash.ui import formatting as fmt
from procdash.ui.feed import DashboardFeed
from procdash.ui.keys import APP_BINDINGS, HELP
from procdash.ui.rows import COLUMNS, fit_columns
from tests.ui.fakes import FakeInstance


def instance(state: State, **fields: object) -> Instance:
    """An instance slot in a given state, no process behind it."""
    inst = FakeInstance(
        type_name="web",
        type_index=0,
        number=1,
        command="true",
        port=5000,
        log=LogBuffer(10),
        assembler=LineAssembler(),
        state=state,
    )
    for name, value in fields.items():
        setattr(inst, name, value)
    return inst


def test_states_are_worded() -> None:
    assert fmt.state_words(instance(State.RUNNING)) == "running"
    assert fmt.state_words(instance(State.EXITED, exit_code=0)) == "done"  # a finished task, not a failure
    assert fmt.state_words(instance(State.CRASHED, exit_description="exit 1")) == "crashed (exit 1)"
    assert fmt.state_words(instance(State.CRASHED, exit_description="SIGSEGV")) == "crashed (SIGSEGV)"
    assert fmt.state_words(instance(State.BACKOFF, fixed_retry=3.2)) == "retry in 4s"
    assert fmt.state_words(instance(State.FATAL, exit_description="exit 3")) == "fatal (exit 3)"
    assert fmt.state_text(instance(State.CRASHED)).style == "bold red"
    assert fmt.state_text(instance(State.EXITED)).style == "dim green"


def test_type_summary_agrees_or_counts_per_state() -> None:
    def insts(*states: State) -> list[FakeInstance]:
        return [instance(state) for state in states]

    assert fmt.type_state_text(insts(State.RUNNING, State.RUNNING), 2).plain == "2 running"
    mixed = fmt.type_state_text(insts(State.RUNNING, State.CRASHED, State.BACKOFF), 3)
    assert mixed.plain == "1 crashed, 1 retry, 1 up"  # worst first
    assert fmt.type_state_text([], 0).plain == "scaled to 0"
    assert fmt.type_state_text(insts(State.EXITED, State.EXITED), 2).plain == "2 done"


def test_exit_codes_and_durations_and_sizes() -> None:
    assert fmt.exit_text(instance(State.CRASHED, exit_code=1, exit_description="exit 1")) == "1"
    assert fmt.exit_text(instance(State.CRASHED, exit_code=139, exit_description="SIGSEGV")) == "SIGSEGV"
    assert fmt.exit_text(instance(State.RUNNING)) == ""
    # A live instance's exit is its previous run's, shown as history.
    assert fmt.exit_text(instance(State.RUNNING, exit_code=143, exit_description="SIGTERM")) == "was SIGTERM"
    assert fmt.exit_text(instance(State.STARTING, exit_code=3, exit_description="exit 3")) == "was 3"
    assert fmt.state_words(instance(State.CRASHED, exit_description="command not found")) == (
        "crashed (command not found)"
    )
    durations = [fmt.duration(s) for s in (None, 5, 59.9, 60, 243, 2065, 3725, 3 * 86400 + 4 * 3600)]
    assert durations == ["", "5s", "59s", "1m", "4m", "34m", "1h02m", "3d04h"]
    assert [fmt.size(n) for n in (512, 812 * 1024, 45_200_000, 3 * 2**30)] == ["512B", "812K", "43.1M", "3.0G"]
    assert [fmt.percent(v) for v in (0.04, 12.4, 250.0)] == ["0.0%", "12%", "250%"]


def test_sparkline_scales_to_its_peak_and_keeps_idle_visible() -> None:
    assert fmt.sparkline([0.0, 50.0, 100.0], 5) == "  ▁▄█"
    assert fmt.sparkline([1.0] * 3, 3) == "▁▁▁"  # below the floor: the lowest bar, not a spike
    assert fmt.sparkline([float(i) for i in range(100)], 4) == "████"
    assert fmt.sparkline([], 4) == "    "


def test_ports_and_formation_summary() -> None:
    assert fmt.port_range([5000]) == "5000"
    assert fmt.port_range([5001, 5000, 5002]) == "5000-5002"
    assert fmt.port_range([None]) == ""
    summary = fmt.formation_summary({"web": 2, "worker": 1}, {"web": 2, "worker": 1, "clock": 1})
    assert summary == "web 2 · worker 1 · clock 0/1"


def test_type_colours_never_use_red() -> None:
    assert all(code not in ("31", "91") for code in fmt.UI_PALETTE)
    assert fmt.type_color(0) == "cyan"
    assert fmt.type_color(len(fmt.UI_PALETTE)) == "cyan"


def test_columns_drop_the_least_important_first() -> None:
    wide = [c.key for c in fit_columns(119, 12)]
    assert wide == [c.key for c in COLUMNS if c.key not in ("exited", "command")]
    spare = fit_columns(160, 12)
    assert [c.key for c in spare][-2:] == ["exited", "command"]
    assert sum(c.width + 2 for c in spare) == 160  # the command takes the spare width
    narrow = [c.key for c in fit_columns(79, 12)]
    assert narrow[:2] == ["name", "pid"] and "state" in narrow and "cpu" in narrow and "mem" in narrow
    assert "spark" not in narrow and "exit" not in narrow
    assert sum(c.width + 2 for c in fit_columns(79, 12)) <= 79
    assert [c.key for c in fit_columns(10, 12)] == ["name"]


def test_merged_log_prefixes_lines_and_marks_dirty() -> None:
    feed = DashboardFeed(["web.1", "worker.1"])
    inst = instance(State.RUNNING)
    feed.merge([inst])
    inst.log.extend(["hello", "\x1b[31mred\x1b[0m"])
    feed(ev.Output(inst, ["hello", "\x1b[31mred\x1b[0m"]))
    plain = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in feed.merged.tail(10)]
    assert plain == ["web.1    | hello", "web.1    | red"]
    assert feed.merged.tail(1)[0].startswith("\x1b[36m")  # the type's colour on the prefix
    assert feed.dirty_logs == {"web.1"} and feed.merged_dirty and feed.lines_in == 2


def test_crash_and_fatal_become_toasts_but_requested_stops_do_not() -> None:
    feed = DashboardFeed(["web.1"])
    inst = instance(State.CRASHED)
    feed(ev.Exited(inst, 0, "SIGTERM", requested=True, will_restart=False))
    assert feed.take_toasts() == []
    feed(ev.Exited(inst, 3, "exit 3", requested=False, will_restart=True))
    feed(ev.Fatal(inst, 5))
    toasts = feed.take_toasts()
    assert [t.title for t in toasts] == ["web.1 crashed", "web.1 is fatal"]
    assert all(t.severity == "error" for t in toasts)
    assert feed.take_toasts() == []
    assert any("web.1 exited with code 3" in line for line in feed.merged.tail(10))


def test_help_lists_every_bound_key() -> None:
    shown = " ".join(keys for _, rows in HELP for keys, _ in rows)
    names = {"plus": "+", "equals_sign": "=", "minus": "-", "question_mark": "?", "slash": "/", "backslash": "\\"}
    for binding in APP_BINDINGS:
        for key in binding.key.split(","):  # type: ignore[union-attr]
            assert names.get(key, key) in shown.split(), key
