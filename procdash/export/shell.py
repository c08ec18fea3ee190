"""Shell rewriting for exports: run a simple Procfile command with ``exec`` so it gets stop signals."""

from __future__ import annotations

import re
import shlex

# Engines signal one main process (systemd KillMode=mixed, a container's PID 1); /bin/sh -c does not
# exec its last command on Debian's dash, so without ``exec`` the app would never see SIGTERM.
OPERATORS = ";&|()<>"
REDIRECTIONS = frozenset({"<", ">", ">>", "<<", "<<-", ">&", "<&", "<>", ">|"})
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
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
# A leading NAME=value word as written (quotes and escapes kept), followed by blanks.
RAW_ASSIGNMENT = re.compile(r"""[A-Za-z_][A-Za-z0-9_]*=(?:[^\s'"\\]|\\.|'[^']*'|"(?:[^"\\]|\\.)*")*[ \t]+""")


def exec_form(command: str) -> str:
    """Put ``exec`` before the program of one simple command; lists, pipes and the like stay as written."""
    words = _words(command)
    if words is None:
        return command
    assignments = 0
    while assignments < len(words) and ASSIGNMENT.match(words[assignments]):
        assignments += 1
    if assignments == len(words):
        return command
    program = words[assignments]
    if program in RESERVED or program in BUILTIN_ONLY or program.startswith("#"):
        return command
    for word in words:
        if word and all(ch in OPERATORS for ch in word) and word not in REDIRECTIONS:
            return command
    stripped = command.lstrip()
    offset = len(command) - len(stripped)
    for _ in range(assignments):
        match = RAW_ASSIGNMENT.match(command, offset)
        if match is None:
            return command
        offset = match.end()
    return f"{command[:offset]}exec {command[offset:]}"


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
