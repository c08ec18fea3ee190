"""Focus you can see and that goes back where it was; the footer shows the keys of what has the focus."""

from __future__ import annotations

from procdash.core.instance import State
from procdash.ui.app import ProcdashApp
from procdash.ui.widgets.logview import LogView
from tests.helpers import wait_until
from tests.ui.conftest import MakeApp

SIZE = (120, 40)
PROCFILE = "web: for i in $(seq 1 80); do echo line-$i; done; exec sleep 30\nworker: exec sleep 30\n"


def footer_actions(app: ProcdashApp) -> set[str]:
    """The actions the footer shows now."""
    return {b.binding.action for b in app.active_bindings.values() if b.binding.show and b.enabled}


async def started(app: ProcdashApp) -> None:
    """Both processes run and web printed its lines."""
    sup = app.formation.supervisor
    await wait_until(lambda: all(i.state is State.RUNNING for i in sup.instances()) and len(sup.instances()) == 2)
    await wait_until(lambda: sup.find("web.1").log.next_seq >= 80)  # type: ignore[union-attr]


async def test_after_a_prompt_the_focus_returns_to_the_table_and_j_k_move_the_selection(make_app: MakeApp) -> None:
    app = make_app(PROCFILE)
    async with app.run_test(size=SIZE) as pilot:
        await started(app)
        assert app.table.has_focus
        await pilot.press("slash", "l", "i", "escape")
        await pilot.pause()
        assert app.focused is app.table
        assert app.panes["web.1"].search_term is None, "escape in the search prompt clears the highlights"
        view = app.panes["web.1"].view
        assert view.follow
        before = app.table.cursor
        await pilot.press("j")
        assert app.table.cursor == before + 1 and view.follow


async def test_after_a_prompt_opened_in_a_pane_the_focus_returns_to_that_pane(make_app: MakeApp) -> None:
    app = make_app(PROCFILE)
    async with app.run_test(size=SIZE) as pilot:
        await started(app)
        await pilot.press("tab")
        await pilot.pause()
        assert isinstance(app.focused, LogView)
        pane_view = app.focused
        await pilot.press("slash", "l", "i", "n", "e", "enter")
        await pilot.pause()
        assert app.focused is pane_view


async def test_the_footer_shows_the_keys_of_what_has_the_focus(make_app: MakeApp) -> None:
    app = make_app(PROCFILE)
    async with app.run_test(size=SIZE) as pilot:
        await started(app)
        table_keys = footer_actions(app)
        assert "scale(1)" in table_keys and "restart" in table_keys
        assert "leave_view" not in table_keys and "app.leave_view" not in table_keys
        await pilot.press("enter")  # focus view: the pane has the focus
        await pilot.pause()
        pane_keys = footer_actions(app)
        assert "app.leave_view" in pane_keys and "app.toggle_follow" in pane_keys
        assert "scale(1)" not in pane_keys and "restart" not in pane_keys


async def test_focus_is_drawn_on_the_table_header_and_the_pane_border(make_app: MakeApp) -> None:
    app = make_app(PROCFILE)
    async with app.run_test(size=SIZE) as pilot:
        await started(app)
        focused_header = app.table.render_line(0)
        await pilot.press("tab")
        await pilot.pause()
        blurred_header = app.table.render_line(0)
        assert focused_header != blurred_header
        pane = app.panes["web.1"]
        assert pane.styles.border_top[0] == "heavy"
