"""The table sorts by CPU, memory, name or state with shift+letter (C M N T, as k9s) and filters rows by name."""

from __future__ import annotations

import re

from procdash.core.instance import State
from procdash.ui.app import ProcdashApp
from tests.helpers import wait_until
from tests.ui.conftest import MakeApp

PROCFILE = "zeta: exec sleep 30\nalpha: exec sleep 30\nbusy: while :; do :; done\nfails: exit 4\n"


def keys(app: ProcdashApp) -> list[str]:
    """The table's row keys."""
    return list(app.table.row_keys)


async def test_shift_letters_sort_and_ctrl_f_filters(make_app: MakeApp) -> None:
    app = make_app(PROCFILE, stats_interval=0.2)
    async with app.run_test(size=(120, 30)) as pilot:
        sup = app.formation.supervisor
        await wait_until(lambda: sum(i.state is State.RUNNING for i in sup.instances()) == 3)
        await wait_until(lambda: (i := sup.find("fails.1")) is not None and i.state is State.CRASHED)
        await wait_until(
            lambda: app.metrics is not None and (u := app.metrics.usage("busy.1")) is not None and u.cpu_percent > 20
        )
        assert keys(app) == ["i:zeta.1", "i:alpha.1", "i:busy.1", "i:fails.1"]
        await pilot.press("N")
        await wait_until(lambda: keys(app) == ["i:alpha.1", "i:busy.1", "i:fails.1", "i:zeta.1"])
        assert "PROCESS ↑" in [c.label for c in app.table.columns]
        await pilot.press("N")
        await wait_until(lambda: keys(app) == ["i:zeta.1", "i:fails.1", "i:busy.1", "i:alpha.1"])
        await pilot.press("C")
        await wait_until(lambda: keys(app)[0] == "i:busy.1")
        assert "CPU ↓" in [c.label for c in app.table.columns]
        await pilot.press("T")
        await wait_until(lambda: keys(app)[0] == "i:fails.1")  # the worst state first
        await pilot.press("ctrl+f", *"ta", "enter")
        await wait_until(lambda: keys(app) == ["i:zeta.1"])  # "zeta" holds "ta"; alpha does not
        await pilot.press("ctrl+f", "ctrl+a", "ctrl+k", "enter")
        await wait_until(lambda: len(keys(app)) == 4)


async def test_spare_width_shows_the_command_and_when_the_last_exit_was(make_app: MakeApp) -> None:
    app = make_app("once: echo hi; exit 2\nweb: exec sleep 30\n")
    async with app.run_test(size=(170, 30)):
        sup = app.formation.supervisor
        await wait_until(lambda: (i := sup.find("once.1")) is not None and i.state is State.CRASHED)
        await wait_until(lambda: [c.key for c in app.table.columns][-2:] == ["exited", "command"])
        await wait_until(lambda: re.fullmatch(r"\d\d:\d\d:\d\d", app.table.get_cell("i:once.1", "exited").plain))
        assert app.table.get_cell("i:web.1", "command").plain == "exec sleep 30"
    narrow = make_app("web: exec sleep 30\n")
    async with narrow.run_test(size=(120, 30)):
        await wait_until(lambda: "i:web.1" in narrow.table.row_keys)
        assert "command" not in [c.key for c in narrow.table.columns]
