"""Shared fixtures for the fitness tests: the packaged standard, parsed and raw."""

from __future__ import annotations

import json
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest

from gateway.fitness.standard import Standard, load_standard


def raw_text() -> str:
    """The packaged JSON text, read directly (the tests' oracle is the data, not the loader)."""
    path = resources.files("gateway.fitness").joinpath("data", "fitness_standard_2014.json")
    return path.read_text("utf-8")


@pytest.fixture(scope="session")
def standard() -> Standard:
    return load_standard()


@pytest.fixture(scope="session")
def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(raw_text(), parse_float=Decimal)
    return data
