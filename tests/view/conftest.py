"""View tests run ``async def`` tests as the dashboard tests do."""

from __future__ import annotations

from tests.ui.conftest import pytest_pyfunc_call as pytest_pyfunc_call
