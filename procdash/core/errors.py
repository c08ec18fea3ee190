"""The one error type for bad user input, printed as a single line with exit status 2."""

from __future__ import annotations


class ConfigError(Exception):
    """Bad input from the user: a file, a line or a flag; the message is one complete line."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}")
