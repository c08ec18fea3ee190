"""Fixtures for serve tests: the control tests' private runtime directory."""

from tests.control.conftest import env

__all__ = ["env"]
