"""Fixtures for control tests: a short private runtime directory per test."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest


@pytest.fixture
def env() -> Iterator[dict[str, str]]:
    """An environment whose XDG_RUNTIME_DIR is a fresh 0700 dir, short enough for sun_path, removed afterwards."""
    runtime = tempfile.mkdtemp(prefix="pdctl-")  # tmp_path is too deep for a 107-byte socket path
    os.chmod(runtime, 0o700)
    # The state dir is the fallback after the runtime dir: keep it out of the real home too.
    environ = {**os.environ, "XDG_RUNTIME_DIR": runtime, "XDG_STATE_HOME": os.path.join(runtime, "state")}
    environ.pop("NO_COLOR", None)
    try:
        yield environ
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
