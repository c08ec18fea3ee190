"""The YAML writer: every string reads back identically, and risky ones are always quoted."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from procdash.export.yamlout import SAFE_PLAIN, dump_documents
from tests.export.helpers import TRICKY_ENV

AMBIGUOUS = [
    "yes",
    "No",
    "ON",
    "off",
    "y",
    "n",
    "true",
    "null",
    "~",
    "0755",
    "0o755",
    "0x1F",
    "1e3",
    "1_000",
    ".inf",
    ".NaN",
    "12:30",
    "2024-01-02",
    "-",
    "",
    " ",
    "@x",
    "*x",
    "&x",
    "!x",
    "%x",
    "- x",
    "a: b",
    "#x",
]


def scalar_line(text: str) -> str:
    """The emitted form of one string value, as it appears after ``v: ``."""
    return dump_documents([{"v": text}]).split("v: ", 1)[1].rstrip("\n")


def test_ambiguous_strings_are_double_quoted_and_read_back_as_strings() -> None:
    for text in AMBIGUOUS:
        emitted = scalar_line(text)
        assert emitted.startswith('"'), (text, emitted)
        assert yaml.safe_load(f"v: {emitted}") == {"v": text}


def test_safe_words_stay_plain() -> None:
    for text in ["web", "/bin/sh", "app.kubernetes.io/name", "my-app_1"]:
        assert scalar_line(text) == text


def test_tricky_env_round_trips_and_unicode_stays_readable() -> None:
    text = dump_documents([TRICKY_ENV])
    assert yaml.safe_load(text) == TRICKY_ENV
    assert "日本語" in text
    assert "&id" not in text


def test_shared_objects_are_written_out_not_aliased() -> None:
    labels = {"a": "b"}
    text = dump_documents([{"x": labels, "y": labels}])
    assert "*id" not in text and "&id" not in text
    assert yaml.safe_load(text) == {"x": labels, "y": labels}


def test_several_documents_are_separated() -> None:
    text = dump_documents([{"a": 1}, {"b": "2"}])
    assert list(yaml.safe_load_all(text)) == [{"a": 1}, {"b": "2"}]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_round_trips_and_plain_only_when_safe(text: str) -> None:
    emitted = scalar_line(text)
    assert yaml.safe_load(f"v: {emitted}") == {"v": text}
    if not emitted.startswith('"'):
        assert SAFE_PLAIN.match(emitted) and emitted == text
