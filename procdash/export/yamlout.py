"""YAML output that no YAML 1.1 or 1.2 reader can misread: risky strings are always double-quoted."""

from __future__ import annotations

import re
from collections.abc import Sequence

import yaml

# Plain (unquoted) only for strings that read back as strings under every YAML version and parser:
# they start with a letter, '_' or '/', so they cannot be numbers, dates, octals or sexagesimals.
SAFE_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./-]*\Z")
# Words some YAML readers (1.1 ones such as go-yaml v2 behind kubectl) turn into booleans or null.
RESERVED = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "none"})
WIDE = 1 << 30  # no line folding inside long scalars


class Dumper(yaml.SafeDumper):
    """A safe dumper whose strings are plain only when unambiguous, double-quoted otherwise."""

    def ignore_aliases(self, data: object) -> bool:
        """Repeat shared objects (labels, env) in full: anchors like &id001 only confuse readers."""
        return True


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    """Pick the plain style for safe words and double quotes for anything a reader could retype."""
    plain = SAFE_PLAIN.match(data) is not None and data.lower() not in RESERVED
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=None if plain else '"')


def _represent_none(dumper: yaml.SafeDumper, _data: None) -> yaml.ScalarNode:
    """Write None as the explicit ``null`` rather than an empty value."""
    return dumper.represent_scalar("tag:yaml.org,2002:null", "null")


Dumper.add_representer(str, _represent_str)
Dumper.add_representer(type(None), _represent_none)


def dump_documents(documents: Sequence[object]) -> str:
    """Serialise one or more documents in order, keys in insertion order, unicode kept readable."""
    text = yaml.dump_all(
        documents,
        Dumper=Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=WIDE,
        explicit_start=len(documents) > 1,
    )
    return str(text)
