"""The files and directories procdash is pointed at: small files read safely, OS errors that name the path."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

from procdash.core.errors import ConfigError

MAX_FILE_BYTES = 4 * 1024 * 1024  # far beyond any real Procfile or .env, far below a memory problem

_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_small_file(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """A regular file's bytes, at most ``limit`` of them; raises OSError like ``Path.read_bytes``, else ConfigError.

    The open is non-blocking, so a FIFO with no writer cannot hang it; fstat on the open descriptor
    (not the name) decides, so a symlink to ``/dev/zero`` is refused too; and at most ``limit + 1``
    bytes are read, so a file that grows while being read cannot exhaust memory either.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(21, os.strerror(21), str(path))
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a file")
            raise ConfigError(f"is not a regular file ({kind}); procdash reads only regular files", path=str(path))
        too_large = ConfigError(f"is larger than {_size(limit)}; refusing to read it", path=str(path))
        if info.st_size > limit:
            raise too_large
        chunks = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:
            raise too_large
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_small_text(path: Path, encoding: str = "utf-8-sig", limit: int = MAX_FILE_BYTES) -> str:
    """``read_small_file`` decoded as ``Path.read_text`` would (universal newlines); UnicodeDecodeError if invalid."""
    return io.TextIOWrapper(io.BytesIO(read_small_file(path, limit)), encoding=encoding).read()


def spawn_failure(exc: OSError, cwd: Path) -> str:
    """Why a child could not be started, naming the working directory when that is what is missing."""
    reason = exc.strerror or str(exc)
    if exc.filename is not None and os.fspath(exc.filename) == os.fspath(cwd):
        return f"working directory {cwd}: {reason}"
    return f"{exc.filename}: {reason}" if exc.filename is not None else reason


def _size(limit: int) -> str:
    """A byte count the way the error line shows it (4 MiB)."""
    return f"{limit // (1024 * 1024)} MiB" if limit % (1024 * 1024) == 0 else f"{limit} bytes"
