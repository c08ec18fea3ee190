"""Command palette entries (ctrl+p): "scale TYPE to N", restart/stop/start/focus NAME, views, quit."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from procdash.ui.app import ProcdashApp

SCALE_RE = re.compile(r"^\s*scale\s+(\S+)\s+(?:to\s+)?(\d{1,4})\s*$", re.IGNORECASE)

Entry = tuple[str, Callable[[], object], str]


class ProcdashCommands(Provider):
    """Offers every dashboard action by name; a typed "scale web to 3" becomes that exact command."""

    @property
    def dashboard(self) -> ProcdashApp:
        """The app, typed."""
        return cast("ProcdashApp", self.app)

    def entries(self) -> Iterator[Entry]:
        """Every command for the current formation: (text, callback, help)."""
        app = self.dashboard
        formation = app.formation
        yield "restart crashed", app.action_restart_failed, "restart every crashed or fatal instance"
        yield "merged view", app.action_toggle_merged, "every process's log interleaved"
        yield "save formation", app.action_save_formation, "write every type's count into Procfile.toml (S)"
        yield "reload", app.action_reload, "re-read the Procfile, Procfile.toml and .env (ctrl+r)"
        yield "help", app.action_help, "list every key"
        if app.formation.leaving_stops_formation:
            yield "quit", app.action_request_quit, "stop every process gracefully and leave"
        else:
            yield "leave", app.action_leave, "leave this view; the formation keeps running"
            yield "quit procdash", app.action_quit_formation, "stop every process and end procdash (asked first)"
        for t in formation.types:
            name = t.name
            count = formation.desired[name]
            yield f"scale {name} up", partial(app.scale_to, name, count + 1), f"to {count + 1} instances"
            if count > 0:
                yield f"scale {name} down", partial(app.scale_to, name, count - 1), f"to {count - 1} instances"
                yield f"scale {name} to 0", partial(app.scale_to, name, 0), "stop the type, keep its row"
            yield f"restart {name}", partial(app.restart_names, app.names_of_type(name)), "every instance"
            yield f"stop {name}", partial(app.stop_names, app.names_of_type(name)), "every instance"
            yield f"start {name}", partial(app.start_names, app.names_of_type(name)), "every stopped instance"
        for inst in formation.instances():
            yield f"restart {inst.name}", partial(app.restart_names, [inst.name]), inst.command
            yield f"stop {inst.name}", partial(app.stop_names, [inst.name]), inst.command
            yield f"start {inst.name}", partial(app.start_names, [inst.name]), inst.command
            yield f"focus {inst.name}", partial(app.show_focus, inst.name), "its log full width"
            yield f"type into {inst.name}", partial(app.start_input, inst.name), "input mode: every key goes to it"
            yield f"connect {inst.name}", partial(app.call_later, app.connect_to, inst.name), "the real terminal"

    async def search(self, query: str) -> Hits:
        """An exact "scale TYPE to N" first, then fuzzy matches over every entry."""
        app = self.dashboard
        scale = SCALE_RE.match(query)
        if scale and scale.group(1) in app.formation.desired:
            type_name, count = scale.group(1), int(scale.group(2))
            text = f"scale {type_name} to {count}"
            yield Hit(1.0, text, partial(app.scale_to, type_name, count), text=text, help="set the desired count")
        matcher = self.matcher(query)
        for text, callback, help_text in self.entries():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), callback, text=text, help=help_text)

    async def discover(self) -> Hits:
        """What the palette lists before anything is typed."""
        for text, callback, help_text in self.entries():
            yield DiscoveryHit(text, callback, text=text, help=help_text)
