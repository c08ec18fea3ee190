"""`t` starts every line with the time it arrived, kept per batch in the buffer, in panes and the merged view."""

from __future__ import annotations

import re

from procdash.core.instance import State
from tests.helpers import wait_until
from tests.ui.conftest import MakeApp

STAMP = re.compile(r"^(\d\d:\d\d:\d\d) ")


async def test_t_shows_each_lines_own_arrival_time(make_app: MakeApp) -> None:
    app = make_app("web: echo early; sleep 1.2; echo late; exec sleep 30\n")
    async with app.run_test(size=(100, 30)) as pilot:
        sup = app.formation.supervisor
        await wait_until(
            lambda: (i := sup.find("web.1")) is not None and i.log.next_seq >= 2 and i.state is State.RUNNING
        )
        await wait_until(lambda: app.panes["web.1"].view.line_count >= 3)
        model = app.panes["web.1"].view._model
        await pilot.press("t")
        await pilot.pause()
        text = model.plain_text(range(model.rows.rows))
        assert all(STAMP.match(line) for line in text), text
        early = next(STAMP.match(t).group(1) for t in text if t.endswith("early"))  # type: ignore[union-attr]
        late = next(STAMP.match(t).group(1) for t in text if t.endswith("late"))  # type: ignore[union-attr]
        assert early != late
        assert "times" in str(app.panes["web.1"].border_subtitle)
        await pilot.press("a")
        await pilot.pause()
        merged = app.merged_pane.view._model
        assert all(STAMP.match(t) for t in merged.plain_text(range(merged.rows.rows)))
        await pilot.press("t")
        await pilot.pause()
        assert not any(STAMP.match(t) for t in merged.plain_text(range(merged.rows.rows)))
        assert sup.find("web.1").log.slice(0, 10)[0] == "early"  # type: ignore[union-attr]
