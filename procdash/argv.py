"""Reorder what Foreman and honcho users type into procdash's grammar before argparse reads it."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence

# Options honcho and Foreman accept before the subcommand (``honcho -e .env.dev run ...``), by whether
# they take a value. They are moved behind the subcommand, where procdash defines them.
LEADING_WITH_VALUE = frozenset(
    (
        *("-f", "--procfile", "-e", "--env", "-d", "--root", "--app-root"),
        *("-m", "--formation", "-c", "--concurrency", "-p", "--port"),
    )
)
# Output switches: honcho takes them before any subcommand; one that does not print a formation (check,
# run, export) has no use for them and drops them, as honcho ignores them there.
LEADING_SWITCHES = frozenset(
    ("--color", "--no-color", "--no-colour", "--no-prefix", "--no-timestamp", "--no-prefix-time")
)
TOP_LEVEL = frozenset(("-h", "--help", "-v", "--version"))


def option_name(token: str) -> str:
    """The option a token spells: ``--procfile=P`` is ``--procfile``, ``-fP`` is ``-f``."""
    if token.startswith("--"):
        return token.partition("=")[0]
    if token.startswith("-") and len(token) > 2:
        return token[:2]
    return token


def normalize_argv(argv: Sequence[str], commands: Mapping[str, argparse.ArgumentParser]) -> list[str]:
    """Make ``start`` the default command and move the common options that precede a subcommand behind it.

    ``procdash -m web=2`` is ``procdash start -m web=2``; ``procdash -e .env.x run printenv A`` is
    ``procdash run -e .env.x printenv A``. A token that is neither a common option nor a command stops the
    scan, so ``procdash -f P web`` still starts type ``web`` and unknown options still fail in argparse.
    """
    argv = list(argv)
    if not argv:
        return ["start"]
    if argv[0] in commands or argv[0] in TOP_LEVEL:
        return argv
    leading: list[str] = []
    index = 0
    while index < len(argv):
        token = argv[index]
        name = option_name(token)
        if name in LEADING_WITH_VALUE:
            width = 2 if token == name else 1
            leading += argv[index : index + width]
            index += width
        elif token in LEADING_SWITCHES:
            leading.append(token)
            index += 1
        else:
            break
    rest = argv[index:]
    if rest and rest[0] in ("-v", "--version"):
        return ["--version"]  # honcho takes -v among its common options: ``honcho --no-colour -v``
    if not rest or rest[0] not in commands:
        return ["start", *argv]
    command = commands[rest[0]]
    known = command._option_string_actions  # argparse's own table of the options the command defines
    kept = [token for token in leading if token not in LEADING_SWITCHES or token in known]
    return [rest[0], *kept, *rest[1:]]
