"""Every key the dashboard answers to: the app's bindings and the help screen's list come from here."""

from __future__ import annotations

from textual.binding import Binding, BindingType

APP_BINDINGS: list[BindingType] = [
    Binding("q", "request_quit", "Quit", id="quit"),
    Binding("ctrl+c,ctrl+q", "request_quit", "Quit", show=False, priority=True, id="interrupt"),
    Binding("Q", "quit_formation", "Quit procdash", show=False, id="quit_formation"),
    Binding("question_mark", "help", "Help", key_display="?", id="help"),
    Binding("plus,equals_sign", "scale(1)", "Scale+", key_display="+", id="scale_up"),
    Binding("minus", "scale(-1)", "Scale-", key_display="-", id="scale_down"),
    Binding("r", "restart", "Restart", id="restart"),
    Binding("R", "restart_failed", "Restart failed", show=False, id="restart_failed"),
    Binding("s", "stop_start", "Stop/start", id="stop_start"),
    Binding("o", "open_browser", "Open", show=False, id="open"),
    Binding("S", "save_formation", "Save formation", show=False, id="save_formation"),
    Binding("ctrl+r", "reload", "Reload", show=False, id="reload"),
    Binding("a", "toggle_merged", "All", id="merged"),
    Binding("p", "pin", "Pin", show=False, id="pin"),
    Binding("P", "show_pinned", "Pinned", show=False, id="pinned"),
    Binding("enter", "focus_view", "Focus", id="focus"),
    Binding("escape", "leave_view", "Back", key_display="esc", id="back"),
    Binding("slash", "prompt('search')", "Search", key_display="/", id="search"),
    Binding("n", "match(1)", "Next match", show=False, id="next_match"),
    Binding("C", "sort('cpu')", "Sort CPU", show=False, id="sort_cpu"),
    Binding("M", "sort('mem')", "Sort memory", show=False, id="sort_mem"),
    Binding("N", "sort('name')", "Sort name", show=False, id="sort_name"),
    Binding("T", "sort('state')", "Sort state", show=False, id="sort_state"),
    Binding("ctrl+f", "filter_rows", "Find rows", show=False, id="filter_rows"),
    Binding("backslash", "prompt('filter')", "Filter", key_display="\\", show=False, id="filter"),
    Binding("f", "toggle_follow", "Follow", show=False, id="follow"),
    Binding("w", "toggle_wrap", "Wrap", show=False, id="wrap"),
    Binding("c", "clear_pane", "Clear", show=False, id="clear"),
    Binding("y", "copy_pane", "Copy", show=False, id="copy"),
    Binding("Y", "copy_all", "Copy all", show=False, id="copy_all"),
    Binding("v", "select_lines", "Select", show=False, id="select"),
    Binding("ctrl+s", "save_pane", "Save log", show=False, id="save"),
    Binding("t", "toggle_timestamps", "Times", show=False, id="timestamps"),
    Binding("i", "input_mode", "Input", id="input"),
    Binding("I", "connect_terminal", "Connect", show=False, id="connect"),
]

# What a focused log pane offers in the footer; they run the app's actions (the app has the same keys).
PANE_BINDINGS: list[BindingType] = [
    Binding("escape", "app.leave_view", "Back", key_display="esc", id="pane_back"),
    Binding("slash", "app.prompt('search')", "Search", key_display="/", id="pane_search"),
    Binding("backslash", "app.prompt('filter')", "Filter", key_display="\\", id="pane_filter"),
    Binding("n", "app.match(1)", "Next", id="pane_next"),
    Binding("N", "app.match(-1)", "Previous", show=False, id="pane_previous"),
    Binding("f", "app.toggle_follow", "Follow", id="pane_follow"),
    Binding("w", "app.toggle_wrap", "Wrap", id="pane_wrap"),
    Binding("y", "app.copy_pane", "Copy", id="pane_copy"),
    Binding("v", "app.select_lines", "Select", id="pane_select"),
    Binding("ctrl+s", "app.save_pane", "Save", id="pane_save"),
    Binding("t", "app.toggle_timestamps", "Times", id="pane_timestamps"),
]
# App actions that concern the process table: the footer leaves them out while a pane has the focus.
TABLE_ACTIONS = frozenset(
    {"scale", "restart", "restart_failed", "stop_start", "focus_view", "toggle_merged", "pin", "show_pinned"}
    | {"sort", "filter_rows", "save_formation", "reload"}
)
# App actions still offered while the prompt has the focus.
PROMPT_ACTIONS = frozenset({"request_quit", "kill_now", "help"})

# Sections of the help screen: (title, [(keys as shown, what they do)]).
HELP: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Processes (selected row)",
        [
            ("+  =", "scale the selected type up by one (starts the next instance, next port)"),
            ("-", "scale the selected type down by one (stops the newest; 0 keeps the row)"),
            ("r", "restart the selected instance (on a type row: all its instances)"),
            ("R", "restart every crashed or fatal instance"),
            ("s", "stop the selected instance or type, or start it again"),
            ("o", "open the selected instance's http://127.0.0.1:PORT/ in the browser"),
            ("S", "save the formation (every type's count) into Procfile.toml"),
            ("ctrl+r", "reload the Procfile, Procfile.toml and .env: start, stop, restart what changed"),
            ("↑ ↓  j k", "select a row (the panes show the selected type)"),
            ("C  M  N  T", "sort by CPU, memory, name or sTate (again: reversed, a third time: Procfile order)"),
            ("ctrl+f", "show only the rows whose name contains what you type"),
        ],
    ),
    (
        "Views",
        [
            ("a", "merged view: every process (or only the pinned ones) interleaved, with name prefixes"),
            ("p", "pin / unpin the selected process (a type row: all its instances); pinned rows show *"),
            ("P", "pinned view: the pinned processes side by side, from any types (again to leave)"),
            ("enter", "focus view: the selected process full width"),
            ("escape", "clear search highlights, else back to the panes of the selected type"),
            ("tab  shift+tab", "move between the table and the log panes (the focused one is highlighted)"),
            ("ctrl+p", "command palette: scale TYPE to N, restart NAME, ..."),
        ],
    ),
    (
        "Log pane (the focused one, else the selected process)",
        [
            ("/", "search: highlight matches, newest first from the tail (enter keeps them, escape clears)"),
            ("n  N", "next / previous match (N in a pane; in the table it sorts); position shown, e.g. 3/14"),
            ("\\", "filter: show only matching lines (!term: the lines without it; empty shows all)"),
            ("ctrl+r", "in the search or filter prompt: regular expression / plain text (shown)"),
            ("f", "follow the tail on/off"),
            ("w", "wrap long lines on/off"),
            ("c", "clear the pane (the scrollback is kept)"),
            ("y", "copy the selected lines, else the visible text (system clipboard or OSC 52)"),
            ("Y", "copy every line the pane holds"),
            ("v", "select lines: j k or arrows extend from the newest on screen, y copies, escape stops"),
            ("ctrl+s", "save the pane's log to procdash-NAME-DATE-TIME.log in the project directory"),
            ("t", "timestamps on/off in every pane: the time each line arrived"),
            ("↑ ↓ pgup pgdn home end", "scroll; the mouse wheel scrolls too"),
        ],
    ),
    (
        "Talking to a process",
        [
            ("i", "input mode: every key goes to the focused or selected process (its pty)"),
            ("ctrl+]", "leave input mode or a connected terminal (--detach-key changes it)"),
            ("I", "connect the real terminal to the process (vim, htop, debuggers); ctrl+] returns"),
        ],
    ),
    (
        "App",
        [
            ("?", "this help"),
            ("q  ctrl+c  ctrl+q", "quit: stop every process gracefully; press again to kill at once"),
            ("", "in `procdash attach`: leave this view; the formation keeps running"),
            ("Q", "quit procdash itself: stop every process (asked first in an attached view)"),
        ],
    ),
]
