"""The fleet API: what campus IT reads about each device's last status."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import inspect

from campusedge.contract import DeviceState, Status
from campusedge.topics import DeviceKind
from gateway.devices import Devices
from gateway.state import StateDB
from tests.gateway.api.conftest import SCHOOL, Campus

AT = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def status(
    device: str,
    state: DeviceState,
    *,
    stopped: bool = False,
    kind: DeviceKind = DeviceKind.JUMP_ROPE,
    at: datetime = AT,
    edge_id: str | None = None,
) -> Status:
    return Status(
        device_id=device,
        kind=kind,
        state=state,
        ts=at,
        stopped=stopped,
        detail="box stopped" if stopped else None,
        edge_id=edge_id,
    )


def test_devices_behind_a_box_that_died_are_unknown_not_online(campus: Campus) -> None:
    devices = campus.gateway.devices

    def fleet() -> dict[str, tuple[str, str, str | None, str | None]]:
        r = campus.client.get("/api/devices", headers=campus.auth("it1"))
        assert r.status_code == 200
        return {
            d["device_id"]: (d["state"], d["reported_state"], d["edge_id"], d["edge_state"])
            for d in r.json()
        }

    devices.apply(
        [
            (SCHOOL, status("gym-box", DeviceState.ONLINE, kind=DeviceKind.EDGE), AT),
            (SCHOOL, status("rope-01", DeviceState.ONLINE, edge_id="gym-box"), AT),
            (SCHOOL, status("rope-02", DeviceState.OFFLINE, edge_id="gym-box"), AT),
            (
                SCHOOL,
                status("gate-1", DeviceState.ONLINE, kind=DeviceKind.TEMP_GATE, edge_id="gate-box"),
                AT,
            ),
        ],
        [],
    )
    assert fleet()["rope-01"] == ("online", "online", "gym-box", "online")
    # The box's last will: the broker publishes its offline status, nothing for its ropes.
    later = AT + timedelta(minutes=3)
    devices.apply(
        [(SCHOOL, status("gym-box", DeviceState.OFFLINE, kind=DeviceKind.EDGE, at=later), later)],
        [],
    )
    shown = fleet()
    assert shown["rope-01"] == ("unknown", "online", "gym-box", "offline")
    assert shown["rope-02"] == ("offline", "offline", "gym-box", "offline")
    assert shown["gym-box"] == ("offline", "offline", None, None)
    assert shown["gate-1"] == ("online", "online", "gate-box", None)  # its box: never heard
    one = campus.client.get("/api/devices/rope-01", headers=campus.auth("it1")).json()
    assert (one["state"], one["edge_state"]) == ("unknown", "offline")
    # The box is back: its birth, then its devices' statuses.
    back = later + timedelta(minutes=1)
    devices.apply(
        [(SCHOOL, status("gym-box", DeviceState.ONLINE, kind=DeviceKind.EDGE, at=back), back)], []
    )
    assert fleet()["rope-01"] == ("online", "online", "gym-box", "online")


def test_a_clean_stop_is_told_apart_from_a_fault(campus: Campus) -> None:
    campus.gateway.devices.apply(
        [
            (SCHOOL, status("rope-01", DeviceState.OFFLINE, stopped=True), AT),
            (SCHOOL, status("rope-02", DeviceState.OFFLINE), AT),
            (SCHOOL, status("rope-03", DeviceState.ONLINE), AT),
        ],
        [],
    )
    r = campus.client.get("/api/devices", headers=campus.auth("it1"))
    assert r.status_code == 200
    got = {d["device_id"]: (d["state"], d["stopped"]) for d in r.json()}
    assert got == {
        "rope-01": ("offline", True),
        "rope-02": ("offline", False),
        "rope-03": ("online", False),
    }
    # The box comes back: its birth clears the stop.
    campus.gateway.devices.apply(
        [(SCHOOL, status("rope-01", DeviceState.ONLINE, at=AT + timedelta(minutes=5)), AT)], []
    )
    one = campus.client.get("/api/devices/rope-01", headers=campus.auth("it1")).json()
    assert (one["state"], one["stopped"]) == ("online", False)


def test_a_state_database_from_before_the_stopped_column_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE devices (device_id TEXT PRIMARY KEY, school TEXT NOT NULL, "
            "kind TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'unknown', firmware TEXT, "
            "battery_pct REAL, model_versions TEXT NOT NULL DEFAULT '{}', "
            "config_version TEXT, detail TEXT, status_at TEXT, last_seen TEXT, "
            "messages INTEGER NOT NULL DEFAULT 0)"
        )
        conn.execute(
            "INSERT INTO devices(device_id, school, kind, state) "
            "VALUES ('gate-1', 'sch1', 'temp_gate', 'online')"
        )
    db = StateDB(path)
    devices = Devices(db)
    [old] = devices.all()
    assert (old.device_id, old.state, old.stopped) == ("gate-1", "online", False)
    devices.apply(
        [
            (
                "sch1",
                status("gate-1", DeviceState.OFFLINE, stopped=True, kind=DeviceKind.TEMP_GATE),
                AT,
            )
        ],
        [],
    )
    assert devices.get("gate-1").stopped is True  # type: ignore[union-attr]
    db.close()


def test_two_schools_each_have_their_own_hr_01(campus: Campus) -> None:
    """Device ids are chosen per school: school-b's hr-01 is another band than school-a's."""
    devices = campus.gateway.devices
    later = AT + timedelta(minutes=1)
    devices.apply(
        [
            ("school-a", status("hr-01", DeviceState.ONLINE, kind=DeviceKind.HR_BAND), AT),
            ("school-b", status("hr-01", DeviceState.OFFLINE, kind=DeviceKind.HR_BAND), AT),
        ],
        [("school-a", "hr-01", "hr_band", later, 5), ("school-b", "hr-01", "hr_band", AT, 2)],
    )
    a, b = devices.get("hr-01", "school-a"), devices.get("hr-01", "school-b")
    assert a is not None and (a.state, a.messages, a.last_seen) == ("online", 5, later)
    assert b is not None and (b.state, b.messages, b.last_seen) == ("offline", 2, AT)
    assert devices.get("hr-01") is None  # ambiguous without the school
    assert devices.last_statuses(["hr-01"], "school-b") == {"hr-01": (AT, "offline")}
    assert devices.enrolled(["hr-01", "hr-99"], "school-a") == {"hr-01"}
    campus.gateway.users.set_schools("it1", ["school-a", "school-b"])  # IT of both schools
    r = campus.client.get("/api/devices/hr-01", headers=campus.auth("it1"))
    assert r.status_code == 409 and "?school=" in r.json()["detail"]
    r = campus.client.get("/api/devices/hr-01?school=school-b", headers=campus.auth("it1"))
    assert r.status_code == 200 and r.json()["state"] == "offline"
    listed = campus.client.get("/api/devices", headers=campus.auth("it1")).json()
    assert sorted((d["school"], d["device_id"], d["messages"]) for d in listed) == [
        ("school-a", "hr-01", 5),
        ("school-b", "hr-01", 2),
    ]
    # IT of school-a alone: the id is school-a's band, school-b's is not there for them.
    campus.gateway.users.set_schools("it1", ["school-a"])
    r = campus.client.get("/api/devices/hr-01", headers=campus.auth("it1"))
    assert r.status_code == 200 and r.json()["school"] == "school-a"
    r = campus.client.get("/api/devices/hr-01?school=school-b", headers=campus.auth("it1"))
    assert r.status_code == 404 and r.json() == {"detail": "no school 'school-b'"}
    listed = campus.client.get("/api/devices", headers=campus.auth("it1")).json()
    assert [(d["school"], d["device_id"]) for d in listed] == [("school-a", "hr-01")]


def test_a_state_database_keyed_by_device_id_alone_is_upgraded_in_place(tmp_path: Path) -> None:
    """The file is what the gateway wrote before devices were keyed by school (its dump)."""
    path = tmp_path / "state.db"
    dump = Path(__file__).parent.parent / "testdata" / "state_devices_by_id.sql"
    with sqlite3.connect(path) as conn:
        conn.executescript(dump.read_text())
    db = StateDB(path)
    devices = Devices(db)
    keyed = inspect(db.engine).get_pk_constraint("devices")["constrained_columns"]
    assert sorted(keyed) == ["device_id", "school"]
    rows = {(d.school, d.device_id): d for d in devices.all()}
    assert set(rows) == {("school-a", "box-1"), ("school-a", "gate-1"), ("school-a", "hr-01")}
    hr = rows[("school-a", "hr-01")]
    assert (hr.firmware, hr.battery_pct, hr.messages, hr.edge_id) == ("1.2.0", 81.0, 42, "box-1")
    # After the upgrade a second school's hr-01 is a device of its own.
    devices.apply(
        [], [("school-b", "hr-01", "hr_band", AT, 3), ("school-a", "hr-01", "hr_band", AT, 1)]
    )
    assert devices.get("hr-01", "school-a").messages == 43  # type: ignore[union-attr]
    assert devices.get("hr-01", "school-b").messages == 3  # type: ignore[union-attr]
    db.close()
    # Opening it again changes nothing.
    db = StateDB(path)
    assert len(Devices(db).all()) == 4
    db.close()
