"""/metrics grows a series per enrolled device only, however many ids publishers invent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from campusedge.contract import DeviceState, Status
from campusedge.topics import DeviceKind
from gateway.devices import Devices
from gateway.metrics import UNKNOWN_DEVICE, GatewayMetrics
from gateway.state import StateDB

AT = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def series(metrics: GatewayMetrics, name: str) -> dict[tuple[str, str], float]:
    return {
        (s.labels["device_id"], s.labels["kind"]): s.value
        for metric in metrics.registry.collect()
        for s in metric.samples
        if s.name == name
    }


def test_only_devices_that_announced_themselves_get_series(tmp_path: Path) -> None:
    db = StateDB(tmp_path / "state.db")
    devices = Devices(db)
    band = Status(device_id="hr-01", kind=DeviceKind.HR_BAND, state=DeviceState.ONLINE, ts=AT)
    devices.apply([("sch1", band, AT)], [])
    # What one committed batch saw: the enrolled band, 500 invented ids, and hr-01 of a
    # school whose hr-01 never announced itself.
    seen = {("sch1", "hr-01", "hr_band"): (AT, 3)}
    for i in range(500):
        seen[("sch1", f"made-up-{i}", "hr_band")] = (AT + timedelta(seconds=i), 1)
    seen[("sch2", "hr-01", "hr_band")] = (AT, 2)
    devices.apply([], [(s, d, k, at, n) for (s, d, k), (at, n) in seen.items()])
    metrics = GatewayMetrics()
    metrics.count_devices(seen, devices.enrolled_pairs((s, d) for s, d, _ in seen))
    assert series(metrics, "campusedge_device_messages_total") == {
        ("hr-01", "hr_band"): 3.0,
        (UNKNOWN_DEVICE, "hr_band"): 502.0,
    }
    assert series(metrics, "campusedge_device_last_seen_timestamp_seconds") == {
        ("hr-01", "hr_band"): AT.timestamp(),
        (UNKNOWN_DEVICE, "hr_band"): (AT + timedelta(seconds=499)).timestamp(),
    }
    db.close()
