"""A campus for API tests: a real Gateway on temporary files, users, two classes, a TestClient.

Ingest is not started: tests bind, store and log messages as the writer thread does, then run
the consumers until they have read the commit log, which is exactly the seam ingest uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from campusedge.contract import TimeQuality
from campusedge.settings import MqttSettings
from campusedge.topics import DeviceKind
from gateway.api.app import create_app
from gateway.auth import Role
from gateway.service import Gateway, GatewaySettings
from gateway.store.base import Scalar, StoredMessage

SCHOOL = "sch1"


@dataclass
class Campus:
    gateway: Gateway
    client: TestClient
    tokens: dict[str, str]

    def auth(self, user_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user_id]}"}

    def get(self, url: str, user: str, **kw: object) -> object:
        return self.client.get(url, headers=self.auth(user), **kw)  # type: ignore[arg-type]

    def feed(self, *messages: StoredMessage) -> None:
        """What ingest does with a batch (bind, store, log), then the consumers read it."""
        bound = self.gateway.binder.bind_messages(messages)
        self.gateway.store.write(bound)
        self.gateway.commit_log.append(bound)
        self.gateway.consumers.catch_up()

    def metric(self, name: str, **labels: str) -> float:
        value = self.gateway.metrics.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value


def event(
    device_id: str,
    seq: int,
    ts: datetime,
    event_type: str,
    readings: tuple[tuple[str, float, str], ...],
    kind: DeviceKind = DeviceKind.JUMP_ROPE,
    **attributes: Scalar,
) -> StoredMessage:
    return StoredMessage(
        school=SCHOOL,
        kind=kind,
        device_id=device_id,
        seq=seq,
        ts=ts,
        time_quality=TimeQuality.SYNCED,
        received_at=ts,
        readings=readings,
        event_type=event_type,
        attributes=tuple(sorted(attributes.items())),
    )


def rope_result(
    device_id: str,
    seq: int,
    ts: datetime,
    count: int,
    *,
    mode: str = "countdown_time",
    set_value: int = 60,
) -> StoredMessage:
    return event(
        device_id,
        seq,
        ts,
        "rope_result",
        (("rope_count", float(count), "count"), ("rope_elapsed", 60.0, "s")),
        mode=mode,
        set_value=set_value,
    )


def reading(
    device_id: str,
    seq: int,
    ts: datetime,
    metric: str,
    value: float,
    unit: str,
    kind: DeviceKind = DeviceKind.HR_BAND,
) -> StoredMessage:
    return StoredMessage(
        school=SCHOOL,
        kind=kind,
        device_id=device_id,
        seq=seq,
        ts=ts,
        time_quality=TimeQuality.SYNCED,
        received_at=ts,
        readings=((metric, value, unit),),
    )


def build_campus(tmp_path: Path, state: str | None = None) -> Gateway:
    """A gateway on files in *tmp_path*; its state in *state* (a path or URL) when given."""
    settings = GatewaySettings(
        store_url=f"sqlite:///{tmp_path / 'readings.db'}",
        state_db=state or str(tmp_path / "state.db"),
        # Beside the test's files: a PostgreSQL state's default log is under var/campusedge.
        commit_log=tmp_path / "commits.db",
        ca_dir=tmp_path / "ca",
        api_port=0,
    )
    return Gateway(settings, MqttSettings())


def populate(gateway: Gateway) -> dict[str, str]:
    """Users t1 (PE teacher of 5a), t2 (of 5b), h1 (health), it1 (campus IT), au1 (auditor);
    students."""
    users = gateway.users
    tokens = {
        "t1": users.create("t1", "Teacher One", Role.PE_TEACHER, schools=[SCHOOL]),
        "t2": users.create("t2", "Teacher Two", Role.PE_TEACHER, schools=[SCHOOL]),
        "h1": users.create("h1", "Nurse", Role.HEALTH_STAFF, schools=[SCHOOL]),
        "it1": users.create("it1", "Admin", Role.CAMPUS_IT, schools=[SCHOOL]),
        "au1": users.create("au1", "Auditor", Role.AUDITOR),
    }
    roster = gateway.roster
    roster.add_class("5a", SCHOOL, "Class 5A", "5", "t1")
    roster.add_class("5b", SCHOOL, "Class 5B", "5", "t2")
    roster.add_student("s1", "王小明", "M", date(2015, 3, 1), "5a")
    roster.add_student("s2", "李小红", "F", date(2012, 1, 1), "5a")
    roster.add_student("s3", "张三", "M", date(2015, 5, 5), "5a")
    roster.add_student("s9", "赵九", "M", date(2015, 6, 6), "5b")
    return tokens


@pytest.fixture
def campus(tmp_path: Path, state_url: str) -> Iterator[Campus]:
    """Every API test runs on a SQLite state file and on PostgreSQL."""
    gateway = build_campus(tmp_path, state_url)
    tokens = populate(gateway)
    # The tests read the gateway's messages in English; tests/gateway/api/test_language.py
    # reads them in the deployment's language (Chinese by default) and as a reader asks.
    with TestClient(create_app(gateway), headers={"Accept-Language": "en"}) as client:
        yield Campus(gateway, client, tokens)
    gateway.store.close()
    gateway.db.close()


def now() -> datetime:
    return datetime.now(UTC)
