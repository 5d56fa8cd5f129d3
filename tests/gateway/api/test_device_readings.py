"""A device's readings of device and vendor metrics, for campus IT; person metrics refused."""

from __future__ import annotations

from campusedge.topics import DeviceKind
from tests.gateway.api.conftest import Campus, now, reading


def test_campus_it_reads_vendor_and_device_metrics_only(campus: Campus) -> None:
    at = now()
    rope = DeviceKind.JUMP_ROPE
    campus.feed(
        reading("acme-1-7", 1, at, "acme.jump_rate", 152.0, "1/min", kind=rope),
        reading("acme-1-7", 2, at, "battery", 81.0, "%", kind=rope),
        reading("acme-1-7", 3, at, "rope_count", 345.0, "count", kind=rope),
    )
    got = campus.get("/api/devices/acme-1-7/readings?metric=acme.jump_rate", "it1")
    assert got.status_code == 200, got.text  # type: ignore[attr-defined]
    [row] = got.json()  # type: ignore[attr-defined]
    assert (row["metric"], row["value"], row["unit"], row["kind"]) == (
        "acme.jump_rate",
        152.0,
        "1/min",
        "jump_rope",
    )
    battery = campus.get("/api/devices/acme-1-7/readings?metric=battery", "it1")
    assert [r["value"] for r in battery.json()] == [81.0]  # type: ignore[attr-defined]
    # A count, a heart rate: a student's once bound to a lesson.
    person = campus.get("/api/devices/acme-1-7/readings?metric=rope_count", "it1")
    assert person.status_code == 403  # type: ignore[attr-defined]
    assert "device metrics only" in person.json()["detail"]  # type: ignore[attr-defined]
    for bad in ("Acme.Rate", "acme", "acme.rate.x"):
        refused = campus.get(f"/api/devices/acme-1-7/readings?metric={bad}", "it1")
        assert refused.status_code == 422  # type: ignore[attr-defined]
        assert "vendor.metric" in refused.json()["detail"]  # type: ignore[attr-defined]
    teacher = campus.get("/api/devices/acme-1-7/readings?metric=acme.jump_rate", "t1")
    assert teacher.status_code == 403  # type: ignore[attr-defined]
    other_school = campus.get(
        "/api/devices/acme-1-7/readings?metric=acme.jump_rate&school=elsewhere", "it1"
    )
    assert other_school.status_code == 404  # type: ignore[attr-defined]
    logged = campus.gateway.audit.entries()
    assert any(e.action == "device_readings" and e.subject_id == "acme-1-7" for e in logged), logged


def test_campus_it_reads_a_classrooms_air(campus: Campus) -> None:
    # An environment sensor polled over Modbus: its readings are the room's, not a person's.
    at = now()
    env = DeviceKind.ENV_SENSOR
    campus.feed(
        reading("env-101", 1, at, "co2", 1240.0, "ppm", kind=env),
        reading("env-101", 2, at, "relative_humidity", 48.5, "%", kind=env),
        reading("env-101", 3, at, "ambient_temperature", 23.5, "degC", kind=env),
    )
    for metric, value in (("co2", 1240.0), ("relative_humidity", 48.5)):
        got = campus.get(f"/api/devices/env-101/readings?metric={metric}", "it1")
        assert got.status_code == 200, got.text  # type: ignore[attr-defined]
        [row] = got.json()  # type: ignore[attr-defined]
        assert (row["value"], row["kind"]) == (value, "env_sensor")
