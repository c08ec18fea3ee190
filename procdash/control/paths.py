"""Where a formation's control socket lives: a private per-user directory and a name hashed from the Procfile."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

from procdash.core.errors import ConfigError

# sun_path holds 108 bytes on Linux, one of them the terminating NUL.
MAX_SOCKET_PATH = 107
SUBDIR = "procdash"
SUFFIX = ".sock"
HASH_CHARS = 16
LABEL_CHARS = 24


def procfile_key(procfile: Path) -> str:
    """The Procfile's canonical absolute path, so a symlink or a relative spelling finds the same formation."""
    return os.path.realpath(os.path.abspath(procfile))


def socket_name(procfile: Path) -> str:
    """``<project dir>-<hash>.sock``: the hash makes it unique, the label lets a person tell sockets apart."""
    key = procfile_key(procfile)
    digest = hashlib.sha256(os.fsencode(key)).hexdigest()[:HASH_CHARS]
    label = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(key).parent.name)[:LABEL_CHARS].strip(".") or "procfile"
    return f"{label}-{digest}{SUFFIX}"


def _usable_runtime_dir(value: str | None) -> Path | None:
    """``$XDG_RUNTIME_DIR`` when it is an absolute, real directory this user owns and can write, else None."""
    if not value or not os.path.isabs(value):
        return None
    try:
        info = os.lstat(value)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        return None
    if not os.access(value, os.W_OK | os.X_OK):
        return None
    return Path(value)


def candidate_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Directories to hold sockets, best first: ``$XDG_RUNTIME_DIR/procdash``, then a per-user temp dir."""
    environ = os.environ if environ is None else environ
    dirs = []
    runtime = _usable_runtime_dir(environ.get("XDG_RUNTIME_DIR"))
    if runtime is not None:
        dirs.append(runtime / SUBDIR)
    dirs.append(Path(tempfile.gettempdir()) / f"{SUBDIR}-{os.geteuid()}")
    return dirs


def socket_path(procfile: Path, environ: Mapping[str, str] | None = None) -> Path:
    """The control socket for a Procfile: the first candidate directory whose full path fits in sun_path."""
    name = socket_name(procfile)
    dirs = candidate_dirs(environ)
    for directory in dirs:
        path = directory / name
        if len(os.fsencode(path)) <= MAX_SOCKET_PATH:
            return path
    raise ConfigError(f"no socket directory short enough for a Unix socket (tried {', '.join(map(str, dirs))})")


def check_private_dir(directory: Path) -> None:
    """Refuse a socket directory that is not a real directory owned by this user with no group/other access."""
    try:
        info = os.lstat(directory)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError(f"cannot inspect the control directory: {exc.strerror}", path=str(directory)) from None
    if not stat.S_ISDIR(info.st_mode):
        raise ConfigError("the control directory is not a directory (a symlink?); remove it", path=str(directory))
    if info.st_uid != os.geteuid():
        raise ConfigError(
            f"the control directory belongs to uid {info.st_uid}, not to you; remove it", path=str(directory)
        )
    if info.st_mode & 0o077:
        mode = stat.S_IMODE(info.st_mode)
        raise ConfigError(
            f"the control directory has loose permissions {mode:04o}; run chmod 700 on it", path=str(directory)
        )


def ensure_private_dir(directory: Path) -> Path:
    """Create the socket directory with mode 0700 if missing, then check it is private; returns it."""
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ConfigError(f"cannot create the control directory: {exc.strerror}", path=str(directory)) from None
    else:
        # mkdir's mode passes through the umask; a directory we just made gets exactly 0700.
        os.chmod(directory, 0o700)
    check_private_dir(directory)
    return directory
