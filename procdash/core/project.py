"""Everything one run needs from the command line and disk: Procfile, root, env, counts, base port."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    options_file: str | None = None,
    foreman_dir: Path | None = None,
) -> Project:
    """Load and validate everything; raises ConfigError with a one-line message on bad input.

    Each setting comes from the command line when given, else Procfile.toml, else ``.foreman`` (read
    from ``foreman_dir``, the current directory for the CLI), else procdash's default.
    """
    environ = os.environ if environ is None else environ
    foreman = load_foreman_defaults(foreman_dir) if foreman_dir is not None else {}
    procfile_path, root_path = resolve_paths(
        procfile if procfile is not None else foreman.get("procfile"),
        root if root is not None else foreman.get("root"),
    )
    types = load_procfile(procfile_path)
    names = [t.name for t in types]
    side_path = Path(options_file).expanduser().absolute() if options_file is not None else sidefile_path(procfile_path)
    side = load_sidefile(side_path, names, root_path, required=options_file is not None)
    type_counts = {name: opts.count for name, opts in side.types.items() if opts.count is not None}
    formation_flag = "-m"
    if formation is None and "formation" in side.defaults:
        formation = side.defaults["formation"]
        formation_flag = _where(side, "formation")
    elif formation is None and "formation" in foreman:
        formation = foreman["formation"]
        formation_flag = f"{foreman_dir / '.foreman' if foreman_dir else '.foreman'}: formation"
    counts = parse_formation(formation, names, flag=formation_flag, defaults=type_counts)
    if only:
        unknown = [name for name in only if name not in counts]
        if unknown:
            raise ConfigError(f"unknown process type {unknown[0]!r} (the Procfile has {', '.join(names)})")
        counts = {name: (count if name in only else 0) for name, count in counts.items()}
    env_spec: str | list[Path] | None = env
    if env is None and "env" in side.defaults and side.path is not None:
        env_spec = [side.path.parent / Path(item).expanduser() for item in side.defaults["env"]]
    elif env is None and "env" in foreman:
        env_spec = foreman["env"]
    files, required = env_paths(env_spec, root_path)
    dotenv = load_env_files(files, required=required)
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
    settings = {key: value for key, value in side.defaults.items() if key not in ("formation", "env", "port")}
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


def _where(side: SideFile, key: str) -> str:
    """ "Procfile.toml:3: formation", to prefix errors about a value that came from the options file."""
    line = line_of(side.lines, (key,))
    return f"{side.path}:{line}: {key}" if line is not None else f"{side.path}: {key}"
