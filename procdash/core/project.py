"""Everything one run needs from the command line and disk: Procfile, root, env, counts, base port."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from procdash.core.env import load_env_files
from procdash.core.errors import ConfigError
from procdash.core.foreman_defaults import load_foreman_defaults
from procdash.core.formation import check_ports, parse_formation, parse_port
from procdash.core.procfile import ProcessType, load_procfile
from procdash.core.sidefile import EMPTY, SideFile, load_sidefile, sidefile_path
from procdash.core.tomlkeys import line_of
from procdash.core.typeoptions import DEFAULT_TYPE_OPTIONS, TypeOptions


@dataclass(frozen=True)
class Project:
    """A loaded, validated formation, ready to hand to a supervisor or an exporter."""

    procfile: Path
    root: Path
    types: list[ProcessType]
    counts: dict[str, int]
    dotenv: dict[str, str]
    base_port: int
    env_files: list[Path]
    sidefile: SideFile = EMPTY
    # App-wide defaults from Procfile.toml (then .foreman) for options the caller resolves itself.
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def type_names(self) -> list[str]:
        """Type names in Procfile order."""
        return [t.name for t in self.types]

    def options_for(self, type_name: str) -> TypeOptions:
        """The Procfile.toml options of one type (all defaults when it has no table)."""
        return self.sidefile.types.get(type_name, DEFAULT_TYPE_OPTIONS)

    def setting(self, key: str, given: Any, default: Any) -> Any:
        """The command line's value when given, else the files' value, else ``default``."""
        if given is not None and given is not False:
            return given
        return self.settings.get(key, default)


def resolve_paths(procfile: str | None, root: str | None) -> tuple[Path, Path]:
    """Foreman's rule: the root defaults to the Procfile's directory, the Procfile to ROOT/Procfile."""
    if root is not None:
        root_path = Path(root).expanduser()
        if not root_path.is_dir():
            raise ConfigError("-d: no such directory", path=root)
    if procfile is not None:
        procfile_path = Path(procfile).expanduser()
    else:
        procfile_path = (Path(root).expanduser() if root is not None else Path.cwd()) / "Procfile"
    root_path = Path(root).expanduser() if root is not None else procfile_path.parent
    return procfile_path.absolute(), root_path.absolute()


@dataclass(frozen=True)
class Located:
    """Where a run's files are: the Procfile, the root, the .env files to read, and their merged values."""

    procfile: Path
    root: Path
    env_files: list[Path]
    dotenv: dict[str, str]


def locate(procfile: str | None, root: str | None, env: str | None, environ: Mapping[str, str]) -> Located:
    """Find the Procfile as honcho does: -f, else ``PROCFILE`` from the .env files, else from the environment.

    A ``PROCFILE`` in .env is relative to the directory that .env belongs to (-d, or the current one),
    which stays the root; one from the environment counts as if given with -f.
    """
    if procfile is None:
        procfile_path, root_path = resolve_paths(None, root)
        files, required = env_paths(env, root_path)
        dotenv = load_env_files(files, required=required, environ=environ)
        if dotenv.get("PROCFILE"):
            named = (root_path / Path(dotenv["PROCFILE"]).expanduser()).absolute()
            if not named.exists():
                sources = ", ".join(str(f) for f in files if f.exists())
                raise ConfigError(f"no such file (named by PROCFILE in {sources})", path=str(named))
            return Located(named, root_path, files, dotenv)
        if not environ.get("PROCFILE"):
            return Located(procfile_path, root_path, files, dotenv)
        procfile = environ["PROCFILE"]
    procfile_path, root_path = resolve_paths(procfile, root)
    files, required = env_paths(env, root_path)
    return Located(procfile_path, root_path, files, load_env_files(files, required=required, environ=environ))


def env_paths(spec: str | Sequence[Path] | None, root: Path) -> tuple[list[Path], bool]:
    """The .env files to read: the -e list (each required) or ROOT/.env if present."""
    if spec is None:
        return [root / ".env"], False
    if not isinstance(spec, str):
        return list(spec), True
    names = [part.strip() for part in spec.split(",") if part.strip()]
    if not names:
        raise ConfigError("-e: expected a comma-separated list of env files")
    return [Path(name).expanduser() for name in names], True


def base_port(flag: str | None, dotenv: Mapping[str, str], environ: Mapping[str, str]) -> int:
    """-p wins, then PORT from the .env files, then PORT from the environment, then 5000."""
    if flag is not None:
        return parse_port(flag, "-p")
    if "PORT" in dotenv:
        return parse_port(dotenv["PORT"], "PORT in .env")
    if environ.get("PORT"):
        return parse_port(environ["PORT"], "PORT in the environment")
    return parse_port(None, "PORT")


def port_source(flag: str | None, dotenv: Mapping[str, str], environ: Mapping[str, str]) -> str:
    """Where ``base_port`` took the base port from, in the words its errors use."""
    if flag is not None:
        return "-p"
    if "PORT" in dotenv:
        return "PORT in .env"
    return "PORT in the environment" if environ.get("PORT") else "the default"


def load_project(
    *,
    procfile: str | None,
    root: str | None,
    env: str | None,
    formation: str | None,
    port: str | None,
    only: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    formation_flag: Literal["-m", "-c"] = "-c",
    options_file: str | None = None,
    foreman_dir: Path | None = None,
) -> Project:
    """Load and validate everything; raises ConfigError with a one-line message on bad input.

    ``formation_flag`` says how ``formation`` reads: ``-m`` as Foreman's (only the listed types start),
    ``-c`` as honcho's (the unlisted ones keep their count). Each setting comes from the command line
    when given, else Procfile.toml, else ``.foreman`` (read from ``foreman_dir``, the current directory
    for the CLI), else procdash's default.
    """
    environ = os.environ if environ is None else environ
    foreman = load_foreman_defaults(foreman_dir) if foreman_dir is not None else {}
    located = locate(
        procfile if procfile is not None else foreman.get("procfile"),
        root if root is not None else foreman.get("root"),
        env if env is not None else foreman.get("env"),
        environ,
    )
    procfile_path, root_path, files, dotenv = located.procfile, located.root, located.env_files, located.dotenv
    types = load_procfile(procfile_path)
    names = [t.name for t in types]
    side_path = Path(options_file).expanduser().absolute() if options_file is not None else sidefile_path(procfile_path)
    side = load_sidefile(side_path, names, root_path, required=options_file is not None)
    if env is None and "env" in side.defaults and side.path is not None:
        # Procfile.toml's env files replace .foreman's and the default ROOT/.env.
        files = [side.path.parent / Path(item).expanduser() for item in side.defaults["env"]]
        dotenv = load_env_files(files, required=True, environ=environ)
    type_counts = {name: opts.count for name, opts in side.types.items() if opts.count is not None}
    label: str = formation_flag
    if formation is None:
        formation, label, formation_flag = _file_formation(side, foreman, foreman_dir, formation_flag)
    counts = parse_formation(
        formation, names, flag=label, unlisted=0 if formation_flag == "-m" else 1, defaults=type_counts
    )
    if only:
        unknown = [name for name in only if name not in counts]
        if unknown:
            raise ConfigError(f"unknown process type {unknown[0]!r} (the Procfile has {', '.join(names)})")
        counts = {name: (count if name in only else 0) for name, count in counts.items()}
    port_flag = port if port is not None else side.defaults.get("port", foreman.get("port"))
    if port is not None:
        source = "-p"
    elif "port" in side.defaults:
        source = f"port in {side.path.name if side.path else 'Procfile.toml'}"
    elif "port" in foreman:
        source = "port in .foreman"
    else:
        source = port_source(None, dotenv, environ)
    base = base_port(port_flag, dotenv, environ)
    check_ports(base, names, counts, source)
    settings = {key: value for key, value in side.defaults.items() if key not in FILE_ONLY}
    if "timeout" in foreman:
        settings.setdefault("timeout", foreman["timeout"])
    return Project(
        procfile=procfile_path,
        root=root_path,
        types=types,
        counts=counts,
        dotenv=dotenv,
        base_port=base,
        env_files=[f for f in files if f.exists()],
        sidefile=side,
        settings=settings,
    )


# Procfile.toml defaults load_project applies itself; the rest are left to the caller in ``settings``.
FILE_ONLY = ("formation", "concurrency", "env", "port")


def _file_formation(
    side: SideFile, foreman: Mapping[str, Any], foreman_dir: Path | None, flag: Literal["-m", "-c"]
) -> tuple[str | None, str, Literal["-m", "-c"]]:
    """The formation the files give when the command line gives none: (spec, error label, meaning).

    ``formation`` reads as Foreman's -m (only the listed types start), ``concurrency`` as honcho's -c.
    """
    for key, meaning in (("formation", "-m"), ("concurrency", "-c")):
        if key in side.defaults:
            line = line_of(side.lines, (key,))
            label = f"{side.path}:{line}: {key}" if line is not None else f"{side.path}: {key}"
            return side.defaults[key], label, meaning  # type: ignore[return-value]
    if "formation" in foreman:
        shown = foreman_dir / ".foreman" if foreman_dir is not None else ".foreman"
        return foreman["formation"], f"{shown}: formation", "-m"
    return None, flag, flag
