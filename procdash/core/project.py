"""Everything one run needs from the command line and disk: Procfile, root, env, counts, base port."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from procdash.core.env import load_env_files
from procdash.core.errors import ConfigError
from procdash.core.formation import check_ports, parse_formation, parse_port
from procdash.core.procfile import ProcessType, load_procfile


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

    @property
    def type_names(self) -> list[str]:
        """Type names in Procfile order."""
        return [t.name for t in self.types]


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


def env_paths(spec: str | None, root: Path) -> tuple[list[Path], bool]:
    """The .env files to read: the -e list (each required) or ROOT/.env if present."""
    if spec is None:
        return [root / ".env"], False
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
) -> Project:
    """Load and validate everything; raises ConfigError with a one-line message on bad input.

    ``formation_flag`` says how ``formation`` reads: ``-m`` as Foreman's (only the listed types start),
    ``-c`` as honcho's (the unlisted ones keep a count of 1).
    """
    environ = os.environ if environ is None else environ
    located = locate(procfile, root, env, environ)
    procfile_path, root_path, files, dotenv = located.procfile, located.root, located.env_files, located.dotenv
    types = load_procfile(procfile_path)
    names = [t.name for t in types]
    counts = parse_formation(formation, names, flag=formation_flag, unlisted=0 if formation_flag == "-m" else 1)
    if only:
        unknown = [name for name in only if name not in counts]
        if unknown:
            raise ConfigError(f"unknown process type {unknown[0]!r} (the Procfile has {', '.join(names)})")
        counts = {name: (count if name in only else 0) for name, count in counts.items()}
    base = base_port(port, dotenv, environ)
    check_ports(base, names, counts, port_source(port, dotenv, environ))
    return Project(
        procfile=procfile_path,
        root=root_path,
        types=types,
        counts=counts,
        dotenv=dotenv,
        base_port=base,
        env_files=[f for f in files if f.exists()],
    )
