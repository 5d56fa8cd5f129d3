"""The dashboard's files ship in the wheel (package data), so an installed gateway serves them."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tests.test_packaging import ROOT, wheel

__all__ = ["wheel"]

pytestmark = pytest.mark.slow


def test_wheel_holds_every_dashboard_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    static = ROOT / "gateway" / "dashboard" / "static"
    on_disk = {
        f"gateway/dashboard/static/{p.relative_to(static).as_posix()}"
        for p in static.rglob("*")
        if p.is_file()
    }
    assert {
        "gateway/dashboard/static/index.html",
        "gateway/dashboard/static/main.js",
        "gateway/dashboard/static/app.css",
        "gateway/dashboard/static/i18n/zh-CN.json",
        "gateway/dashboard/static/i18n/en.json",
    } <= on_disk
    assert on_disk <= names
