"""Keys that arrive in one burst after `/` or `\\` (SSH coalescing, macros, fast typists) land in the prompt."""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from procdash.core.instance import State
from procdash.ui.app import ProcdashApp
from tests.helpers import wait_until
from tests.ui.conftest import MakeApp

SIZE = (120, 40)


def burst(app: ProcdashApp, text: str) -> None:
    """Queue every character at once, as a terminal does when one read holds them all."""
    for char in text:
        key = {"/": "slash", "\\": "backslash"}.get(char, char)
        event = events.Key(key, char)
        event.set_sender(app)
        assert app._driver is not None
        app._driver.send_message(event)


async def test_burst_after_slash_goes_into_the_search_prompt(make_app: MakeApp) -> None:
    app = make_app("web: echo ready; exec sleep 30\n")
    async with app.run_test(size=SIZE) as pilot:
        sup = app.formation.supervisor
        await wait_until(lambda: (i := sup.find("web.1")) is not None and i.state is State.RUNNING)
        pid = sup.find("web.1").pid  # type: ignore[union-attr]
        burst(app, "/rqsa")
        await wait_until(lambda: app.query_one("#prompt-input", Input).value == "rqsa")
        await pilot.pause()
        inst = sup.find("web.1")
        assert inst is not None and inst.pid == pid and inst.restarts == 0 and inst.state is State.RUNNING
        assert not app._quitting and app.mode == "type"
        pane = app.panes["web.1"]
        assert pane.search_term == "rqsa"


async def test_burst_after_backslash_goes_into_the_filter_prompt(make_app: MakeApp) -> None:
    app = make_app("web: echo ready; exec sleep 30\n")
    async with app.run_test(size=SIZE) as pilot:
        sup = app.formation.supervisor
        await wait_until(lambda: (i := sup.find("web.1")) is not None and i.state is State.RUNNING)
        burst(app, "\\sabc")
        await wait_until(lambda: app.query_one("#prompt-input", Input).value == "sabc")
        await pilot.pause()
        inst = sup.find("web.1")
        assert inst is not None and inst.state is State.RUNNING and not inst.stop_requested
        assert app.mode == "type"
        assert app.panes["web.1"].filter_term == "sabc"
