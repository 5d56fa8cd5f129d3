"""Store fixtures: every contract test runs against SQLite and a real influxd."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from campusedge.contract import TimeQuality
from campusedge.topics import DeviceKind
from gateway.store.base import Store, StoredMessage
from gateway.store.sqlite import SqliteStore
from tests.services import InfluxProcess

T0 = datetime(2026, 9, 1, 8, 0, 0, tzinfo=UTC)
_db_numbers = itertools.count()


def message(
    device_id: str = "hr-01",
    seq: int = 1,
    *,
    ts: datetime | None = None,
    school: str = "sch-a",
    kind: DeviceKind = DeviceKind.HR_BAND,
    readings: tuple[tuple[str, float, str], ...] = (("heart_rate", 120.0, "bpm"),),
    event_type: str | None = None,
    attributes: tuple[tuple[str, bool | int | float | str | None], ...] = (),
    quality: TimeQuality = TimeQuality.SYNCED,
) -> StoredMessage:
    stamp = ts if ts is not None else T0 + timedelta(seconds=seq)
    return StoredMessage(
        school=school,
        kind=kind,
        device_id=device_id,
        seq=seq,
        ts=stamp,
        time_quality=quality,
        received_at=stamp + timedelta(milliseconds=250),
        readings=readings,
        event_type=event_type,
        attributes=attributes,
    )


def open_sqlite(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "store.db")


def open_influx(server: InfluxProcess, **kwargs: object) -> Store:
    from gateway.store.influx import InfluxStore

    return InfluxStore(server.url, f"test_{next(_db_numbers)}", **kwargs)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", pytest.param("influx", marks=pytest.mark.influxdb)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty store of each backend (a new database per test on the shared influxd)."""
    if request.param == "sqlite":
        opened: Store = open_sqlite(tmp_path)
    else:
        opened = open_influx(request.getfixturevalue("influxd"))
    yield opened
    opened.close()
