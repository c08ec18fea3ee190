"""Every key the dashboard answers to: the app's bindings and the help screen's list come from here."""

from __future__ import annotations

from textual.binding import Binding, BindingType

APP_BINDINGS: list[BindingType] = [
    Binding("q", "request_quit", "Quit", id="quit"),
    Binding("ctrl+c,ctrl+q", "request_quit", "Quit", show=False, priority=True, id="interrupt"),
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
    Binding("enter", "focus_view", "Focus", id="focus"),
    Binding("escape", "leave_view", "Back", show=False, id="back"),
    Binding("slash", "prompt('search')", "Search", key_display="/", id="search"),
    Binding("n", "match(1)", "Next match", show=False, id="next_match"),
    Binding("N", "match(-1)", "Previous match", show=False, id="previous_match"),
    Binding("backslash", "prompt('filter')", "Filter", key_display="\\", show=False, id="filter"),
    Binding("f", "toggle_follow", "Follow", show=False, id="follow"),
    Binding("w", "toggle_wrap", "Wrap", show=False, id="wrap"),
    Binding("c", "clear_pane", "Clear", show=False, id="clear"),
    Binding("y", "copy_pane", "Copy", show=False, id="copy"),
    Binding("i", "input_mode", "Input", id="input"),
    Binding("I", "connect_terminal", "Connect", show=False, id="connect"),
]

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
        ],
    ),
    (
        "Views",
        [
            ("a", "merged view: every process interleaved, with name prefixes (again to leave)"),
            ("enter", "focus view: the selected process full width"),
            ("escape", "back to the panes of the selected type"),
            ("tab  shift+tab", "move between the table and the log panes"),
            ("ctrl+p", "command palette: scale TYPE to N, restart NAME, ..."),
        ],
    ),
    (
        "Log pane (the focused one, else the selected process)",
        [
            ("/", "search: highlight matches (enter keeps them, empty clears)"),
            ("n  N", "next / previous match"),
            ("\\", "filter: show only matching lines (empty shows all)"),
            ("f", "follow the tail on/off"),
            ("w", "wrap long lines on/off"),
            ("c", "clear the pane (the scrollback is kept)"),
            ("y", "copy the pane's visible text (OSC 52 clipboard)"),
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
        ],
    ),
]
