"""Where a formation's control socket lives: a private per-user directory and a name hashed from the Procfile."""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import pwd
import re
import stat
from collections.abc import Iterator, Mapping
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


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data`` in hex, from CPython's built-in implementation where there is one.

    hashlib would load OpenSSL's libcrypto (3.5 MB of memory) for one digest at start-up.
    """
    for name in ("_sha2", "_sha256"):  # CPython 3.12+, then 3.10 and 3.11
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        return str(module.sha256(data).hexdigest())
    import hashlib

    return hashlib.sha256(data).hexdigest()


def socket_name(procfile: Path) -> str:
    """``<project dir>-<hash>.sock``: the hash makes it unique, the label lets a person tell sockets apart."""
    key = procfile_key(procfile)
    digest = sha256_hex(os.fsencode(key))[:HASH_CHARS]
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


def _absolute(value: str | None) -> Path | None:
    """An environment value as a path, only when it is absolute (a relative one depends on the cwd)."""
    return Path(value) if value and os.path.isabs(value) else None


def state_dir(environ: Mapping[str, str]) -> Path | None:
    """``$XDG_STATE_HOME`` or ``~/.local/state``: a directory under the user's home that no one else can create."""
    explicit = _absolute(environ.get("XDG_STATE_HOME"))
    if explicit is not None:
        return explicit
    home = _absolute(environ.get("HOME"))
    if home is None:
        try:
            home = _absolute(pwd.getpwuid(os.geteuid()).pw_dir)
        except KeyError:
            return None
    return None if home is None else home / ".local" / "state"


def candidate_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Socket directories, best first; the same list for procdash and ``ctl`` whatever the disks hold.

    ``$XDG_RUNTIME_DIR/procdash`` (when it is a directory of ours), then ``procdash`` in the user's
    state directory under home, and only then ``$TMPDIR/procdash-<uid>`` (``/tmp`` without TMPDIR),
    which another user could create first. Nothing here probes the disk for free space or
    writability, so a full TMPDIR cannot move the socket somewhere a client would not look.
    """
    environ = os.environ if environ is None else environ
    dirs = []
    runtime = _usable_runtime_dir(environ.get("XDG_RUNTIME_DIR"))
    if runtime is not None:
        dirs.append(runtime / SUBDIR)
    state = state_dir(environ)
    if state is not None:
        dirs.append(state / SUBDIR)
    tmp = _absolute(environ.get("TMPDIR")) or Path("/tmp")
    dirs.append(tmp / f"{SUBDIR}-{os.geteuid()}")
    return dirs


def socket_paths(procfile: Path, environ: Mapping[str, str] | None = None) -> list[Path]:
    """Every place the control socket for a Procfile may be, in the order procdash tries them."""
    name = socket_name(procfile)
    return [directory / name for directory in candidate_dirs(environ)]


def socket_path(procfile: Path, environ: Mapping[str, str] | None = None) -> Path:
    """The preferred control socket for a Procfile (the first candidate)."""
    return socket_paths(procfile, environ)[0]


@contextlib.contextmanager
def socket_address(path: Path) -> Iterator[str]:
    """The address to bind or connect for ``path``: itself, or ``/proc/self/fd/N/NAME`` when it is too long.

    sun_path holds 107 bytes; a deep TMPDIR or runtime dir would otherwise make the socket unusable.
    The kernel resolves the descriptor link to the directory itself, so the socket is the same file.
    """
    text = os.fspath(path)
    if len(os.fsencode(text)) <= MAX_SOCKET_PATH:
        yield text
        return
    fd = os.open(path.parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        alias = f"/proc/self/fd/{fd}/{path.name}"
        if len(os.fsencode(alias)) > MAX_SOCKET_PATH:
            raise OSError(errno.ENAMETOOLONG, "socket name too long", text)
        yield alias
    finally:
        os.close(fd)


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


def check_parent(parent: Path) -> None:
    """Refuse a parent in which someone else could swap our directory: theirs, or writable without the sticky bit."""
    try:
        info = os.stat(parent)
    except OSError as exc:
        raise ConfigError(f"cannot use the directory: {exc.strerror}", path=str(parent)) from None
    if info.st_uid not in (0, os.geteuid()):
        raise ConfigError(f"belongs to uid {info.st_uid}; no control socket under it", path=str(parent))
    if info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX:
        raise ConfigError("is writable by others; no control socket under it", path=str(parent))


def ensure_private_dir(directory: Path) -> Path:
    """Create the socket directory with mode 0700 (and missing parents) if needed, then check it is private."""
    try:
        os.makedirs(directory.parent, 0o700, exist_ok=True)
        check_parent(directory.parent)
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
