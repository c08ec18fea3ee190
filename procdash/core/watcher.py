"""Restart on file change: one watchfiles watcher for the whole formation, debounced per type.

Each type's ``watch`` globs (relative to the root) pick the changes that restart it, minus its
``watch_ignore`` and the defaults (.git, __pycache__, node_modules, editor swap files, the log files).
A burst of saves re-arms the type's ``watch_debounce`` timer, so it restarts once, after the burst.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from procdash.core.globs import PathPatterns
from procdash.core.typeoptions import TypeOptions

DEFAULT_DEBOUNCE = 0.3
DEFAULT_IGNORES = (
    ".git",
    ".hg",
    ".svn",
    "__pycache__",
    "node_modules",
    "*.swp",
    "*.swo",
    "*.swx",
    "*~",
    ".#*",
    "#*#",
    "4913",  # vim writes and deletes this file to test a directory
    ".*.kate-swp",
    "*.pyc",
)
WATCH_STEP_MS = 30  # quiet time that ends one batch of changes from the watcher
WATCH_GROUP_MS = 200  # longest batch while changes keep coming

Restart = Callable[[str, str], None]  # (type name, reason)


@dataclass(frozen=True)
class WatchRule:
    """What restarts one type."""

    patterns: PathPatterns
    ignore: PathPatterns
    debounce: float


def rules_for(type_options: Mapping[str, TypeOptions]) -> dict[str, WatchRule]:
    """The watch rule of every type that has ``watch`` patterns."""
    return {
        name: WatchRule(
            PathPatterns(opts.watch),
            PathPatterns((*DEFAULT_IGNORES, *opts.watch_ignore)),
            DEFAULT_DEBOUNCE if opts.watch_debounce is None else opts.watch_debounce,
        )
        for name, opts in type_options.items()
        if opts.watch
    }


class ChangeRouter:
    """Sends each changed path to the types it concerns and fires each type once its burst is over."""

    def __init__(self, root: Path, rules: Mapping[str, WatchRule], restart: Restart, ignored: tuple[Path, ...] = ()):
        self.root = root
        self.rules = dict(rules)
        self.restart = restart
        self.ignored = ignored
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._changed: dict[str, list[str]] = {}

    def relative(self, path: str) -> str | None:
        """A changed path relative to the root, or None when it is outside it or under an ignored directory."""
        full = Path(path)
        if any(full == skip or skip in full.parents for skip in self.ignored):
            return None
        try:
            return full.relative_to(self.root).as_posix()
        except ValueError:
            return None

    def feed(self, paths: list[str]) -> None:
        """One batch of changed paths from the watcher."""
        loop = asyncio.get_running_loop()
        for path in paths:
            rel = self.relative(path)
            if rel is None:
                continue
            for name, rule in self.rules.items():
                if rule.patterns.matches(rel) and not rule.ignore.matches(rel):
                    seen = self._changed.setdefault(name, [])
                    if rel not in seen:
                        seen.append(rel)
                    old = self._timers.pop(name, None)
                    if old is not None:
                        old.cancel()
                    self._timers[name] = loop.call_later(rule.debounce, self._fire, name)

    def _fire(self, name: str) -> None:
        """The burst for one type is over: restart it, naming what changed."""
        self._timers.pop(name, None)
        changed = self._changed.pop(name, [])
        if not changed:
            return
        more = len(changed) - 1
        what = changed[0] if not more else f"{changed[0]} and {more} other file{'s' if more > 1 else ''}"
        self.restart(name, f"{what} changed")

    def cancel(self) -> None:
        """Forget pending restarts."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._changed.clear()

    def watch_dirs(self) -> list[Path]:
        """The fewest existing directories that cover every rule's patterns (nested ones are dropped)."""
        dirs: set[Path] = set()
        for rule in self.rules.values():
            for base in rule.patterns.bases():
                path = self.root / base if base else self.root
                while not path.is_dir() and path != self.root and self.root in path.parents:
                    path = path.parent
                dirs.add(path if path.is_dir() else self.root)
        return sorted(d for d in dirs if not any(other in d.parents for other in dirs))


class FileWatcher:
    """A Service: watches the directories the rules need with watchfiles and feeds a ChangeRouter."""

    def __init__(self, router: ChangeRouter) -> None:
        self.router = router
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()  # set once the watcher is running, for tests
        self.batches = 0

    async def start(self, supervisor: object) -> None:
        """Begin watching (the supervisor is not needed: the router holds what to do)."""
        self._stop = asyncio.Event()
        self.ready = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop watching and drop pending restarts."""
        self._stop.set()
        self.router.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _run(self) -> None:
        """The watch loop; watchfiles runs its Rust watcher in a thread and yields batches here."""
        dirs = self.router.watch_dirs()
        if not dirs:
            return
        from watchfiles import awatch  # imported here: only a formation that watches pays for it (1.3 MB)

        self.ready.set()
        async for changes in awatch(
            *dirs,
            watch_filter=None,
            debounce=WATCH_GROUP_MS,
            step=WATCH_STEP_MS,
            stop_event=self._stop,
            rust_timeout=500,
            yield_on_timeout=False,
        ):
            self.batches += 1
            self.router.feed(sorted(path for _change, path in changes))
