"""What every exporter needs from a loaded project: names, per-type data, environment and options."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from procdash.core.depends import start_levels
from procdash.core.errors import ConfigError
from procdash.core.formation import port_for
from procdash.core.ports import uses_port
from procdash.core.project import Project
from procdash.core.shell import cd_prefix
from procdash.core.typeoptions import DEFAULT_TYPE_OPTIONS, TypeOptions, signal_name

# The POSIX shell's variable names: the only keys every engine (and `export` in sh) accepts.
SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Set per instance by procdash itself, so a value for them in .env never reaches an export.
PER_INSTANCE = ("PORT", "PS")
DEFAULT_APP = "app"


@dataclass(frozen=True)
class ExportOptions:
    """The command-line choices that shape the written files."""

    app: str | None = None
    user: str | None = None
    log: Path | None = None
    timeout: float = 5.0
    restart: str = "always"
    image: str | None = None


@dataclass(frozen=True)
class OutputFile:
    """One file an exporter produces: its name inside the target directory and its text."""

    name: str
    text: str


@dataclass(frozen=True)
class Rendered:
    """An exporter's result: the files, warnings for stderr, and the commands that start it all."""

    files: list[OutputFile]
    notes: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TypeSpec:
    """One process type as an exporter sees it: name, command, count and the port of instance 1."""

    name: str
    command: str
    index: int
    count: int
    port: int
    opts: TypeOptions = DEFAULT_TYPE_OPTIONS  # its Procfile.toml table
    level: int = 0  # start order: 0 depends on nothing

    @property
    def serves_port(self) -> bool:
        """Whether the command reads $PORT (or its probe connects to it), so an engine should expose that port."""
        probe = self.opts.ready
        return uses_port(self.command) or (probe is not None and probe.kind in ("tcp", "http") and probe.port is None)

    @property
    def probe_port(self) -> int:
        """The port a tcp/http readiness probe connects to (its own, or the type's)."""
        probe = self.opts.ready
        return probe.port if probe is not None and probe.port is not None else self.port

    def stop_timeout(self, options: ExportOptions) -> float:
        """Seconds between the stop signal and SIGKILL: the type's stop_timeout, else -t."""
        return self.opts.stop_timeout if self.opts.stop_timeout is not None else options.timeout

    def restart(self, options: ExportOptions) -> str:
        """The type's restart policy, else --restart."""
        return self.opts.restart if self.opts.restart is not None else options.restart

    @property
    def stop_signal(self) -> str:
        """The stop signal's name without SIG (TERM unless the type says otherwise)."""
        return signal_name(self.opts.stop_signal) if self.opts.stop_signal is not None else "TERM"

    def in_cwd(self, command: str) -> str:
        """A shell command run in the type's cwd (relative to the root) for engines without a per-type one."""
        return cd_prefix(self.opts.cwd) + command

    def port_of(self, number: int) -> int:
        """The Foreman port of instance ``number`` (1-based) of this type."""
        return self.port + (number - 1)

    def ps(self, number: int) -> str:
        """The PS value of instance ``number``, as procdash sets it (web.2)."""
        return f"{self.name}.{number}"


@dataclass(frozen=True)
class Formation:
    """A project reduced to what exporters write: the app's raw name, root, types, env and options."""

    app_source: str
    app_explicit: bool
    root: Path
    types: list[TypeSpec]
    env: dict[str, str]
    options: ExportOptions = field(default_factory=ExportOptions)

    def spec(self, name: str) -> TypeSpec:
        """The type called ``name``."""
        return next(t for t in self.types if t.name == name)

    def env_of(self, spec: TypeSpec) -> dict[str, str]:
        """The app's env with the type's own env (from Procfile.toml) on top."""
        return {**self.env, **spec.opts.env}

    def app_name(self, engine: str, clean: Callable[[str], str]) -> str:
        """The app name made valid for ``engine``; an explicit -a that needs changing is refused."""
        cleaned = clean(self.app_source)
        if self.app_explicit:
            if cleaned != self.app_source:
                hint = f"; try -a {cleaned}" if cleaned else ""
                raise ConfigError(f"-a: {self.app_source!r} is not a valid {engine} name{hint}")
            return cleaned
        return cleaned or clean(DEFAULT_APP)


def build_formation(project: Project, options: ExportOptions) -> Formation:
    """Turn a loaded project and the export options into the model every writer reads."""
    graph = {name: opts.depends_on for name, opts in project.sidefile.types.items()}
    level_of = {name: depth for depth, names in enumerate(start_levels(project.type_names, graph)) for name in names}
    types = [
        TypeSpec(
            name=t.name,
            command=t.command,
            index=index,
            count=project.counts[t.name],
            port=port_for(project.base_port, index, 1),
            opts=project.options_for(t.name),
            level=level_of[t.name],
        )
        for index, t in enumerate(project.types)
    ]
    env = {key: value for key, value in project.dotenv.items() if key not in PER_INSTANCE}
    for key, value in env.items():
        if "\0" in value or "\0" in key:
            raise ConfigError(f"env: {key!r} contains a NUL byte, which no process environment can hold")
    explicit = options.app is not None
    source = options.app if options.app is not None else project.root.name
    return Formation(app_source=source, app_explicit=explicit, root=project.root, types=types, env=env, options=options)


def clean_name(text: str, invalid: str, *, lower: bool = False, edges: str = "-._") -> str:
    """Replace each run of characters matching the ``invalid`` class with '-' and trim the edges."""
    if lower:
        text = text.lower()
    return re.sub(f"{invalid}+", "-", text).strip(edges)


def check_env_names(env: Mapping[str, str], pattern: re.Pattern[str], engine: str, rule: str) -> None:
    """Refuse env keys the engine cannot take, naming the first offender and the rule."""
    for key in env:
        if pattern.match(key) is None:
            raise ConfigError(f"{engine}: cannot export env variable {key!r}: names must be {rule}")


def whole_seconds(seconds: float) -> int:
    """A timeout rounded up to whole seconds, for engines that only take integers."""
    return math.ceil(seconds)


def duration(seconds: float) -> str:
    """A timeout as a Go/systemd-style duration: "5s", or "2500ms" when it is not whole."""
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{math.ceil(seconds * 1000)}ms"


def refuse_option(value: object, flag: str, engine: str, why: str) -> None:
    """Reject a flag that means nothing for this engine rather than silently dropping it."""
    if value is not None:
        raise ConfigError(f"{flag}: not used by {engine} ({why})")


def check_plain_path(path: Path, flag: str) -> str:
    """A path that every engine's config syntax takes literally: no whitespace, quotes or controls."""
    text = str(path)
    if re.search(r"[\s\"'\\%;#]|[\x00-\x1f\x7f]", text):
        raise ConfigError(f"{flag}: {text!r} has spaces, quotes or special characters the engines cannot take")
    return text
