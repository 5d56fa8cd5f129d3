"""Debian's chromium and chromedriver driven by selenium; a real gateway with its API on a port."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.services import REQUIRE, missing

CHROMIUM = ("chromium", "/usr/bin/chromium")
CHROMEDRIVER = ("chromedriver", "/usr/bin/chromedriver")


def _find(names: tuple[str, str]) -> str | None:
    return shutil.which(names[0]) or (names[1] if Path(names[1]).exists() else None)


def start_chromium(profile: Path, accept_language: str = "en-US,en") -> Any:
    """A headless Chromium on a profile of its own, asking for pages in *accept_language*;
    skips (or fails in CI) when not installed."""
    chromium, driver = _find(CHROMIUM), _find(CHROMEDRIVER)
    if chromium is None:
        missing("chromium")
    if driver is None:
        missing("chromium-driver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        reason = "selenium is not installed: pip install -e '.[test]'"
        if REQUIRE:
            pytest.fail(f"CAMPUSEDGE_REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    # The page follows the browser's Accept-Language, as a reader's browser would set it.
    options.add_experimental_option("prefs", {"intl.accept_languages": accept_language})
    # The driver is given by path, so selenium never looks one up or downloads one.
    return webdriver.Chrome(service=Service(executable_path=str(driver)), options=options)


@dataclass
class Publisher:
    """Builds wire-contract messages for one school (topics and JSON as devices send them)."""

    school: str
    seq: int = 0

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def heart_rate(self, device: str, bpm: float, at: datetime | None = None) -> tuple[str, bytes]:
        body = {
            "v": 1,
            "device_id": device,
            "kind": "hr_band",
            "seq": self._next(),
            "ts": (at or datetime.now(UTC)).isoformat(),
            "time_quality": "synced",
            "readings": [{"metric": "heart_rate", "value": bpm, "unit": "bpm"}],
        }
        return f"campus/{self.school}/hr_band/{device}/reading", json.dumps(body).encode()

    def rope_progress(self, device: str, count: int, at: datetime) -> tuple[str, bytes]:
        """A rope's running count during a set (its realtime frame)."""
        body = {
            "v": 1,
            "device_id": device,
            "kind": "jump_rope",
            "seq": self._next(),
            "ts": at.isoformat(),
            "time_quality": "synced",
            "readings": [
                {"metric": "rope_count", "value": count, "unit": "count"},
                {"metric": "rope_elapsed", "value": 30, "unit": "s"},
            ],
        }
        return f"campus/{self.school}/jump_rope/{device}/reading", json.dumps(body).encode()

    def event(
        self,
        kind: str,
        device: str,
        event_type: str,
        readings: list[tuple[str, float, str]],
        attributes: dict[str, str | int],
    ) -> tuple[str, bytes]:
        body = {
            "v": 1,
            "device_id": device,
            "kind": kind,
            "seq": self._next(),
            "ts": datetime.now(UTC).isoformat(),
            "time_quality": "synced",
            "event": {
                "type": event_type,
                "readings": [{"metric": m, "value": v, "unit": u} for m, v, u in readings],
                "attributes": attributes,
            },
        }
        return f"campus/{self.school}/{kind}/{device}/event", json.dumps(body).encode()

    def rope_result(self, device: str, count: int) -> tuple[str, bytes]:
        return self.event(
            "jump_rope",
            device,
            "rope_result",
            [("rope_count", count, "count"), ("rope_elapsed", 60, "s")],
            {"mode": "countdown_time", "set_value": 60},
        )

    def gate_pass(self, device: str, card_id: str, temperature_c: float) -> tuple[str, bytes]:
        return self.event(
            "temp_gate",
            device,
            "gate_pass",
            [("body_temperature", temperature_c, "degC")],
            {"card_id": card_id, "site": "forehead"},
        )

    def vision_screening(
        self, device: str, card_id: str, left: float, right: float, se_left: float, se_right: float
    ) -> tuple[str, bytes]:
        return self.event(
            "vision_screener",
            device,
            "vision_screening",
            [
                ("acuity_uncorrected_left", left, "acuity_5pt"),
                ("acuity_uncorrected_right", right, "acuity_5pt"),
                ("spherical_equivalent_left", se_left, "D"),
                ("spherical_equivalent_right", se_right, "D"),
            ],
            {"card_id": card_id},
        )

    def status(
        self,
        kind: str,
        device: str,
        state: str,
        battery_pct: float | None,
        firmware: str,
        model_versions: dict[str, str] | None = None,
        *,
        stopped: bool = False,
        detail: str | None = None,
        edge_id: str | None = None,
    ) -> tuple[str, bytes]:
        body: dict[str, object] = {
            "v": 1,
            "device_id": device,
            "kind": kind,
            "state": state,
            "firmware": firmware,
            "model_versions": model_versions or {},
        }
        if battery_pct is not None:
            body["battery_pct"] = battery_pct
        if stopped:
            body["stopped"] = True
        if detail is not None:
            body["detail"] = detail
        if edge_id is not None:
            body["edge_id"] = edge_id
        return f"campus/{self.school}/{kind}/{device}/status", json.dumps(body).encode()


def unique_school() -> str:
    return "dash" + uuid.uuid4().hex[:8]


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
