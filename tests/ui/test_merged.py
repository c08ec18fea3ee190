"""The merged view is built from the per-process buffers: a chatty process never pushes the others out."""

from __future__ import annotations

from procdash.core.instance import State
from tests.helpers import wait_until
from tests.ui.conftest import MakeApp

SIZE = (120, 40)
CHATTY = "chatty: for i in $(seq 1 400); do echo chat-$i; done; exec sleep 30\n"
QUIET = "quiet: echo QUIET-LINE; exec sleep 30\n"


async def test_merged_view_keeps_what_every_buffer_keeps(make_app: MakeApp) -> None:
    app = make_app(QUIET + CHATTY, scrollback=50)
    async with app.run_test(size=SIZE) as pilot:
        sup = app.formation.supervisor
        await wait_until(lambda: (q := sup.find("quiet.1")) is not None and q.log.next_seq >= 1)
        await wait_until(lambda: (c := sup.find("chatty.1")) is not None and c.log.next_seq >= 400)
        await pilot.press("a")
        await pilot.pause()
        merged = app.feed.merged
        lines = merged.tail(10_000)
        # Everything the two buffers hold (50 lines each at most), once each, and nothing else of theirs.
        assert sum("QUIET-LINE" in line for line in lines) == 1
        chat = [line.rsplit("m", 1)[-1] for line in lines if "chat-" in line]
        assert chat == [f"chat-{i}" for i in range(351, 401)]
        await pilot.press("slash", *"quiet-line", "enter")
        await pilot.pause()
        assert app.merged_pane.view.match_count == 1
        await pilot.press("backslash", *"QUIET-LINE", "enter")
        await pilot.pause()
        assert app.merged_pane.view.line_count == 1


async def test_merged_view_drops_lines_only_as_their_buffer_does(make_app: MakeApp) -> None:
    app = make_app(QUIET + "chatty: for i in $(seq 1 3000); do echo chat-$i; done; exec sleep 30\n", scrollback=100)
    async with app.run_test(size=SIZE) as pilot:
        sup = app.formation.supervisor
        await pilot.press("a")
        await wait_until(lambda: (c := sup.find("chatty.1")) is not None and c.log.next_seq >= 3000)
        await wait_until(lambda: all(i.state is State.RUNNING for i in sup.instances()))
        for _ in range(5):
            app.flush()
            await pilot.pause()
        view = app.merged_pane.view
        await wait_until(lambda: view.line_count == len(app.feed.merged))
        texts = view._model.plain_text(range(view._model.rows.rows))
        assert sum("QUIET-LINE" in t for t in texts) == 1
        assert [t.rsplit(" ", 1)[-1] for t in texts if "chat-" in t] == [f"chat-{i}" for i in range(2901, 3001)]
