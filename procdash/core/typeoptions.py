"""What Procfile.toml can say about one process type, and about its readiness probe."""

from __future__ import annotations

import signal
from dataclasses import dataclass, field

CONDITIONS = ("started", "ready", "completed")
PROBE_KINDS = ("tcp", "http", "log", "exec")


@dataclass(frozen=True)
class Probe:
    """How to tell that an instance is ready: a TCP connect, an HTTP GET, a log line or a command."""

    kind: str  # one of PROBE_KINDS
    port: int | None = None  # tcp/http: None means the instance's $PORT
    path: str = "/"  # http: the path (or full URL) to GET
    pattern: str = ""  # log: a regular expression a line must match
    command: str = ""  # exec: a shell command that must exit 0
    interval: float = 1.0
    timeout: float = 1.0
    initial_delay: float = 0.0
    retries: int = 3  # consecutive failures before the instance shows as unready

    def describe(self) -> str:
        """A short name for messages: "http /healthz", "tcp 5432", "log /ready/", "exec pg_isready"."""
        if self.kind == "tcp":
            return f"tcp {self.port}" if self.port is not None else "tcp $PORT"
        if self.kind == "http":
            return f"http {self.path}" if self.port is None else f"http :{self.port}{self.path}"
        if self.kind == "log":
            return f"log /{self.pattern}/"
        return f"exec {self.command}"


@dataclass(frozen=True)
class Backoff:
    """Exponential restart delay: ``base`` seconds, doubling, at most ``cap``."""

    base: float = 1.0
    cap: float = 30.0


@dataclass(frozen=True)
class TypeOptions:
    """One ``[type]`` table of Procfile.toml; None means "use procdash's (or the command line's) default"."""

    restart: str | None = None
    max_restarts: int | None = None
    backoff: Backoff | None = None
    stop_signal: int | None = None
    stop_timeout: float | None = None
    autostart: bool = True
    count: int | None = None
    pty: bool | None = None
    env: dict[str, str] = field(default_factory=dict)  # env_file values, then the env table
    env_files: tuple[str, ...] = ()
    cwd: str | None = None  # relative to the root, as written
    success_exit_codes: frozenset[int] = frozenset({0})
    depends_on: dict[str, str] = field(default_factory=dict)  # type name -> condition
    ready: Probe | None = None
    watch: tuple[str, ...] = ()  # globs relative to the root; a matching change restarts the type
    watch_ignore: tuple[str, ...] = ()
    watch_debounce: float | None = None  # seconds; None means DEFAULT_DEBOUNCE
    log_file: str | None = None  # relative to the root: every instance's lines, named

    def succeeded(self, code: int) -> bool:
        """Whether an exit code counts as success for this type."""
        return code in self.success_exit_codes


DEFAULT_TYPE_OPTIONS = TypeOptions()


def signal_name(signum: int) -> str:
    """TERM for 15, or the number when it has no name."""
    try:
        return signal.Signals(signum).name.removeprefix("SIG")
    except ValueError:
        return str(signum)


def option_summary(opts: TypeOptions) -> list[str]:
    """The options a type sets, in words, for ``procdash check``: ["restart always", "ready http /healthz", ...]."""
    parts: list[str] = []
    if opts.count is not None:
        parts.append(f"count {opts.count}")
    if not opts.autostart:
        parts.append("autostart off (start with s or procdash ctl start)")
    if opts.restart is not None or opts.max_restarts is not None or opts.backoff is not None:
        words = [f"restart {opts.restart or '(default policy)'}"]
        if opts.max_restarts is not None:
            words.append(f"at most {opts.max_restarts} quick restarts in a row")
        if opts.backoff is not None:
            words.append(f"backoff {opts.backoff.base:g}s doubling to {opts.backoff.cap:g}s")
        parts.append(", ".join(words))
    if opts.stop_signal is not None or opts.stop_timeout is not None:
        sig = signal_name(opts.stop_signal) if opts.stop_signal is not None else "TERM"
        after = f", KILL after {opts.stop_timeout:g}s" if opts.stop_timeout is not None else ""
        parts.append(f"stop with {sig}{after}")
    if opts.success_exit_codes != frozenset({0}):
        parts.append("success exit codes " + ", ".join(str(code) for code in sorted(opts.success_exit_codes)))
    if opts.pty is not None:
        parts.append("pty" if opts.pty else "pipes (no pty)")
    if opts.cwd is not None:
        parts.append(f"cwd {opts.cwd}")
    if opts.env_files:
        parts.append("env_file " + ", ".join(opts.env_files))
    if opts.env:
        parts.append("env " + ", ".join(sorted(opts.env)))
    if opts.depends_on:
        parts.append("depends on " + ", ".join(f"{name} ({cond})" for name, cond in opts.depends_on.items()))
    if opts.ready is not None:
        probe = opts.ready
        timing = f"every {probe.interval:g}s, timeout {probe.timeout:g}s, unready after {probe.retries} failures"
        if probe.initial_delay:
            timing = f"after {probe.initial_delay:g}s, {timing}"
        parts.append(f"ready when {probe.describe()} ({timing})")
    if opts.watch:
        ignoring = f", ignoring {', '.join(opts.watch_ignore)}" if opts.watch_ignore else ""
        debounce = f" after {opts.watch_debounce:g}s quiet" if opts.watch_debounce is not None else ""
        parts.append(f"restart on changes to {', '.join(opts.watch)}{ignoring}{debounce}")
    if opts.log_file is not None:
        parts.append(f"log file {opts.log_file}")
    return parts
