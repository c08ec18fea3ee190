"""Issue 12's smaller bugs: live search counts, CPU history of a new slot, logs kept over a scale to 0 and
back, the footer while typing, and the pty size of a pane never shown."""

from __future__ import annotations

import fcntl
import struct
import termios

from procdash.core.instance import State
from procdash.ui.app import ProcdashApp
from tests.helpers import wait_until
from tests.ui.conftest import MakeApp

SIZE = (100, 30)


def running(app: ProcdashApp, name: str) -> bool:
    """Whether an instance runs."""
    inst = app.formation.supervisor.find(name)
    return inst is not None and inst.state is State.RUNNING


def pane_text(app: ProcdashApp, name: str) -> list[str]:
    """Every line a pane shows, as plain text."""
    model = app.panes[name].view._model
    return model.plain_text(range(model.rows.rows))


async def test_search_count_follows_new_lines(make_app: MakeApp) -> None:
    app = make_app("web: echo ERROR one; sleep 2; echo ERROR two; echo ERROR three; exec sleep 30\n")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: running(app, "web.1"))
        await wait_until(lambda: "ERROR one" in "".join(pane_text(app, "web.1")))
        await pilot.press("slash", *"error", "enter")
        assert "1/1" in app.panes["web.1"].flags() or "1 match" in app.panes["web.1"].flags()
        await wait_until(lambda: app.formation.supervisor.find("web.1").log.next_seq >= 3)  # type: ignore[union-attr]
        await wait_until(lambda: "/3" in app.panes["web.1"].flags() or "3 matches" in app.panes["web.1"].flags())


async def test_scale_to_zero_and_back_keeps_the_lines_with_a_separator(make_app: MakeApp) -> None:
    app = make_app("web: echo run-$$-line; exec sleep 30\n", timeout=1.0)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: running(app, "web.1"))
        await wait_until(lambda: any("run-" in t for t in pane_text(app, "web.1")))
        first = next(t for t in pane_text(app, "web.1") if "run-" in t)
        await pilot.press("minus")
        await wait_until(lambda: app.formation.supervisor.find("web.1") is None)
        await pilot.press("plus")
        await wait_until(lambda: running(app, "web.1"))
        await wait_until(lambda: sum("run-" in t for t in pane_text(app, "web.1")) == 2)
        text = pane_text(app, "web.1")
        assert text.index(first) < next(i for i, t in enumerate(text) if "scaled up again" in t)
        assert any(t.startswith("── scaled up again · ") for t in text)


async def test_restart_draws_a_separator_and_the_start_and_exit_lines(make_app: MakeApp) -> None:
    app = make_app("job: echo working; sleep 0.3; exit 3\n", restart="always")
    async with app.run_test(size=SIZE):
        await wait_until(lambda: any("restarted · exit 3" in t for t in pane_text(app, "job.1")), timeout=15)
        text = pane_text(app, "job.1")
        assert any("job.1 started (pid" in t for t in text)
        assert any("job.1 exited with code 3" in t for t in text)
        assert app.formation.supervisor.find("job.1").log.slice(0, 100).count("working") >= 1  # type: ignore[union-attr]
        assert not any("started" in line for line in app.formation.supervisor.find("job.1").log.slice(0, 100))  # type: ignore[union-attr]


async def test_a_new_slot_does_not_inherit_the_cpu_history_of_an_old_one(make_app: MakeApp) -> None:
    app = make_app("busy: exec sleep 30\n", stats_interval=0.1, timeout=1.0)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: running(app, "busy.1"))
        await wait_until(lambda: app.sampler is not None and len(app.sampler.history("busy.1")) >= 5)
        await pilot.press("minus")
        await wait_until(lambda: app.formation.supervisor.find("busy.1") is None)
        await pilot.pause()
        app.flush()
        assert app.sampler is not None and app.sampler.history("busy.1") == []
        await pilot.press("plus")
        await wait_until(lambda: running(app, "busy.1"))
        assert len(app.sampler.history("busy.1")) < 5


async def test_footer_hides_process_keys_while_typing_in_the_prompt(make_app: MakeApp) -> None:
    app = make_app("web: exec sleep 30\n")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: running(app, "web.1"))
        shown = {b.binding.action for b in app.active_bindings.values() if b.binding.show and b.enabled}
        assert "scale(1)" in shown
        await pilot.press("slash")
        await pilot.pause()
        shown = {b.binding.action for b in app.active_bindings.values() if b.binding.show and b.enabled}
        assert "scale(1)" not in shown and "restart" not in shown


async def test_a_pane_never_shown_gets_the_terminal_sized_pty(make_app: MakeApp) -> None:
    app = make_app("web: exec sleep 30\nhidden: exec sleep 30\n")
    async with app.run_test(size=SIZE):
        await wait_until(lambda: running(app, "hidden.1"))

        def size() -> tuple[int, int]:
            inst = app.formation.supervisor.find("hidden.1")
            assert inst is not None and inst.child is not None
            rows, columns, _, _ = struct.unpack(
                "HHHH", fcntl.ioctl(inst.child.anchor_fd, termios.TIOCGWINSZ, b"\0" * 8)
            )
            return columns, rows

        await wait_until(lambda: size()[0] < SIZE[0] and size() != (120, 40))
        assert size()[0] >= SIZE[0] - 5
