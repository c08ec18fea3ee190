"""Search and filter as less and k9s users expect: regex toggle shown, !inverse filter, a no-hits message."""

from __future__ import annotations

from textual.widgets import Label

from procdash.core.instance import State
from procdash.ui.app import ProcdashApp
from tests.helpers import wait_until
from tests.ui.conftest import MakeApp

SIZE = (120, 40)
PROCFILE = "web: printf 'GET /a 200\\nGET /b 500\\nPOST /c 201\\nGET /d 404\\n'; exec sleep 30\n"


async def ready(app: ProcdashApp) -> None:
    """web printed its four lines and they are in its pane."""
    await wait_until(lambda: (i := app.formation.supervisor.find("web.1")) is not None and i.state is State.RUNNING)
    await wait_until(lambda: "web.1" in app.panes and app.panes["web.1"].view.line_count >= 5)


def label(app: ProcdashApp) -> str:
    """The prompt's label as plain text."""
    return str(app.query_one("#prompt-label", Label).render())


async def test_regex_toggle_is_shown_and_applies(make_app: MakeApp) -> None:
    app = make_app(PROCFILE)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app)
        pane = app.panes["web.1"]
        await pilot.press("slash", *"GET /[ab]")
        assert "[text]" in label(app)
        assert pane.view.match_count == 0  # literal by default
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert "[regex]" in label(app)
        assert pane.view.match_count == 2
        await pilot.press("enter")
        assert "(regex)" in str(pane.border_subtitle) and "2/2" in str(pane.border_subtitle)
        await pilot.press("slash", "ctrl+a", "ctrl+k", *"5(")
        await pilot.pause()
        assert "bad regex" in label(app)


async def test_inverse_filter_and_the_no_hits_message(make_app: MakeApp) -> None:
    app = make_app(PROCFILE)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app)
        pane = app.panes["web.1"]
        await pilot.press("backslash", *"!GET", "enter")
        await pilot.pause()
        text = pane.view._model.plain_text(range(pane.view._model.rows.rows))
        assert any("POST /c" in t for t in text) and not any("GET /" in t for t in text)
        await pilot.press("backslash", "ctrl+a", "ctrl+k", *"DELETE", "enter")
        await pilot.pause()
        assert pane.view.line_count == 0
        assert "no lines match" in str(pane.border_subtitle)
        first_row = "".join(segment.text for segment in pane.view.render_line(0))
        assert "no line matches the filter DELETE" in first_row


async def test_n_and_shift_n_update_the_position_in_the_border(make_app: MakeApp) -> None:
    app = make_app(PROCFILE)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app)
        pane = app.panes["web.1"]
        await pilot.press("enter", "slash", *"get", "enter")
        assert "3/3" in str(pane.border_subtitle)
        await pilot.press("n")
        assert "1/3" in str(pane.border_subtitle)
        await pilot.press("n")
        assert "2/3" in str(pane.border_subtitle)
        await pilot.press("N")
        assert "1/3" in str(pane.border_subtitle)
