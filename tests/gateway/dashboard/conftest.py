"""Fixtures for the dashboard tests: the API tests' campus, reused as it is."""

from tests.gateway.api.conftest import campus

__all__ = ["campus"]
