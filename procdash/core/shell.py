"""Shell rewriting: run a Procfile command's program with ``exec`` so it is the process that gets signals.

Debian's /bin/sh (dash) does not exec the last command of ``sh -c`` by itself, so without ``exec`` the
shell stays the session leader and the main process: it is what a stop signal kills first, what the PID
column shows, and its death hangs up the session under the app.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable

OPERATORS = ";&|()<>"
REDIRECTIONS = frozenset({"<", ">", ">>", "<<", "<<-", ">&", "<&", "<>", ">|"})
# Separators of a list whose last command can be exec'd without changing what the line means.
LIST_SEPARATORS = frozenset({"&&", "||", ";"})
RESERVED = frozenset(
    {"!", "{", "}", "[[", "]]", "case", "do", "done", "elif", "else", "esac", "fi", "for", "function"}
    | {"if", "in", "select", "then", "time", "until", "while"}
)
# Builtins with no program of the same name: ``exec`` would fail or change what the line does.
BUILTIN_ONLY = frozenset(
    {".", ":", "alias", "bg", "break", "cd", "command", "continue", "eval", "exec", "exit", "export", "fg"}
    | {"getopts", "hash", "jobs", "local", "read", "readonly", "return", "set", "shift", "source", "times"}
    | {"trap", "type", "ulimit", "umask", "unalias", "unset", "wait"}
)
# Characters that make a program word something only the shell can resolve (expansions, globs).
EXPANSIONS = frozenset("$`*?[~")
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
# A leading NAME=value word as written (quotes and escapes kept), followed by blanks.
RAW_ASSIGNMENT = re.compile(r"""[A-Za-z_][A-Za-z0-9_]*=(?:[^\s'"\\]|\\.|'[^']*'|"(?:[^"\\]|\\.)*")*[ \t]+""")


def exec_form(command: str, runnable: Callable[[str], bool] | None = None) -> str:
    """Put ``exec`` before the program of the command's last simple command, where that keeps its meaning.

    ``app args``, ``FOO=1 app`` and lists such as ``cd sub && app`` or ``setup; app`` become
    ``exec app``, ``FOO=1 exec app``, ``cd sub && exec app``; pipelines, background jobs, subshells,
    compound commands and command substitutions stay as written. ``runnable`` (when given) vetoes
    ``exec`` for a program that cannot run, so the shell reports it in its plain words
    ("sh: 1: prog: not found") rather than as an ``exec:`` error.
    """
    words = _words(command)
    if words is None:
        return command
    for word in words:
        if _is_operator(word) and word not in REDIRECTIONS and word not in LIST_SEPARATORS:
            return command
    last = len(words)
    while last and words[last - 1] in LIST_SEPARATORS:
        last -= 1  # a trailing ``;`` ends the list without starting another command
    first = last
    while first and words[first - 1] not in LIST_SEPARATORS:
        first -= 1
    tail = words[first:last]
    offset = _offset_after_separators(command, sum(word in LIST_SEPARATORS for word in words[:first]))
    if offset is None or not tail:
        return command
    return _exec_simple(command, offset, tail, runnable)


def _exec_simple(command: str, offset: int, words: list[str], runnable: Callable[[str], bool] | None) -> str:
    """Insert ``exec`` into the simple command that starts at ``offset`` and has these words."""
    assignments = 0
    while assignments < len(words) and ASSIGNMENT.match(words[assignments]):
        assignments += 1
    if assignments == len(words):
        return command
    program = words[assignments]
    if program in RESERVED or program in BUILTIN_ONLY or program.startswith("#"):
        return command
    if runnable is not None and not any(ch in EXPANSIONS for ch in program) and not runnable(program):
        return command
    offset += len(command[offset:]) - len(command[offset:].lstrip())
    for _ in range(assignments):
        match = RAW_ASSIGNMENT.match(command, offset)
        if match is None:
            return command
        offset = match.end()
    return f"{command[:offset]}exec {command[offset:]}"


def _is_operator(word: str) -> bool:
    """Whether a lexer word is made of operator characters only (``|``, ``&&``, ``>``...)."""
    return bool(word) and all(ch in OPERATORS for ch in word)


def _offset_after_separators(command: str, count: int) -> int | None:
    """The position just after the ``count``-th unquoted list separator (``;``, ``&&``, ``||``)."""
    if count == 0:
        return 0
    seen = 0
    index = 0
    quote = ""
    while index < len(command):
        char = command[index]
        if quote == "'":
            quote = "" if char == "'" else quote
        elif char == "\\":
            index += 1
        elif quote == '"':
            quote = "" if char == '"' else quote
        elif char in "'\"":
            quote = char
        elif char == ";" or command.startswith(("&&", "||"), index):
            index += 1 if char == ";" else 2
            seen += 1
            if seen == count:
                return index
            continue
        index += 1
    return None


def _words(command: str) -> list[str] | None:
    """Split like the shell would (operators as their own words), or None when quotes do not close."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=OPERATORS)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError:
        return None


def sh_quote(text: str) -> str:
    """One POSIX shell word that stands for ``text`` exactly (newlines and all)."""
    return shlex.quote(text)


def cd_prefix(directory: str | None) -> str:
    """``cd 'dir' && `` to run a command in a relative directory, or "" for the root itself."""
    if directory is None or directory in ("", "."):
        return ""
    return f"cd {shlex.quote(directory)} && "
