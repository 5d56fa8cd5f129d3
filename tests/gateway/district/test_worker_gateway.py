"""A gateway worker on real PostgreSQL and Mosquitto: its id is its own, and a school taken
from a dead worker comes with the messages that worker's MQTT session queued."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from campusedge.settings import MqttSettings
from campusedge.topics import shared_subscriptions
from gateway.consumers.cursors import Cursors
from gateway.district.leases import holders
from gateway.ingest import IngestSettings
from gateway.ingest_mqtt import _Drainer
from gateway.service import Gateway, GatewaySettings, GatewayStartError
from gateway.state import StateDB
from gateway.tables.district import gateway_workers, school_leases
from gateway.tables.roster import classes
from tests.conftest import drop_pg_database, fresh_pg_database
from tests.gateway.mqtt_helpers import (
    client,
    publish_all,
    reading,
    wait_subscribed,
    wait_until,
)
from tests.services import PostgresProcess

pytestmark = pytest.mark.mosquitto


@pytest.fixture
def pg_url(postgres: PostgresProcess) -> Iterator[str]:
    name = fresh_pg_database(postgres)
    yield postgres.url(name)
    drop_pg_database(postgres, name)


def worker_rows(db: StateDB) -> set[str]:
    return {str(r["worker_id"]) for r in db.query(select(gateway_workers.c.worker_id))}


def worker_settings(tmp_path: Path, pg_url: str, school: str, worker: str) -> GatewaySettings:
    return GatewaySettings(
        store_url=f"sqlite:///{tmp_path / 'readings.db'}",
        state_db=pg_url,
        commit_log=tmp_path / f"{worker}.commits.db",
        api_port=0,
        strict_enrolment=False,
        alerts_enabled=False,
        worker_id=worker,
        worker_lease_s=1.5,
        ingest=IngestSettings(client_id=f"gw-{school}"),
    )


# Queued in a dead worker's session: more than one batch's worth for the worker taking it over.
QUEUED = 500


def test_a_second_process_with_the_same_worker_id_refuses_to_start(
    tmp_path: Path, pg_url: str, mqtt_settings: MqttSettings
) -> None:
    first = Gateway(worker_settings(tmp_path, pg_url, "s1", "w1"), mqtt_settings)
    try:
        with pytest.raises(GatewayStartError, match="'w1' is in use by another") as refused:
            Gateway(worker_settings(tmp_path / "b", pg_url, "s1", "w1"), mqtt_settings)
        # Transient (exit status 1, which systemd retries): a killed worker started again
        # before its lease lapsed gets in on a retry.
        assert refused.value.transient
    finally:
        first.stop()


def test_a_worker_takes_a_dead_workers_school_and_empties_its_session(
    tmp_path: Path, pg_url: str, mqtt_settings: MqttSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No idle time at all: only the drain's barrier says the session is empty. Idle time alone
    # once ended a drain with messages still queued, in a worker paused by a profiler.
    monkeypatch.setattr(_Drainer, "IDLE_S", 0.0)
    school = "s" + uuid.uuid4().hex[:8]
    db = StateDB(pg_url)
    with db.transaction() as conn:
        conn.execute(insert(classes).values(id="c1", school=school, name="1-1", grade="1"))
        # A worker that died holding the school: its row and lease have lapsed.
        conn.execute(
            insert(gateway_workers).values(
                worker_id="dead", instance="x", started_at=0.0, expires_at=1.0
            )
        )
        conn.execute(
            insert(school_leases).values(
                school=school, worker_id="dead", instance="x", expires_at=1.0
            )
        )
    # Its MQTT session: subscribed in the school's share group, then gone; the broker keeps
    # queuing the school's messages there, the group's only member.
    dead = client(mqtt_settings, f"gw-{school}-dead", clean=False)
    subscribed = threading.Event()
    dead.on_subscribe = lambda *_: subscribed.set()
    dead.subscribe([(f, 1) for f in shared_subscriptions(school, "campusedge")])
    assert subscribed.wait(5)
    dead.disconnect()
    dead.loop_stop()
    publish_all(mqtt_settings, [reading(school, "hr-1", seq) for seq in range(QUEUED)])

    gw = Gateway(worker_settings(tmp_path, pg_url, school, "w1"), mqtt_settings)
    gw.start()
    try:
        assert holders(db) == {school: "w1"}
        wait_until(lambda: gw.store.count_messages() == QUEUED, what="the dead session's")
        # The dead session left the group: every later message comes to the worker.
        publish_all(
            mqtt_settings, [reading(school, "hr-1", seq) for seq in range(QUEUED, QUEUED + 10)]
        )
        wait_until(lambda: gw.store.count_messages() == QUEUED + 10, what="10 more")
        assert gw.store.duplicate_keys() == 0
        gw.consumers.catch_up()
        assert {"devices@w1"} <= set(Cursors(db).all())
        # The drain, once done, is reported and the dead worker's row goes.
        wait_until(lambda: "dead" not in worker_rows(db), what="the drain reported done")
    finally:
        gw.stop()
        db.close()
    # A clean stop gives the school up at once.
    assert holders(StateDB(pg_url)) == {}


def test_a_worker_rides_out_postgresql_going_away_and_stores_everything_once(
    tmp_path: Path,
    pg_url: str,
    postgres: PostgresProcess,
    mqtt_settings: MqttSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    school = "s" + uuid.uuid4().hex[:8]
    db = StateDB(pg_url)
    with db.transaction() as conn:
        conn.execute(insert(classes).values(id="c1", school=school, name="1-1", grade="1"))
    gw = Gateway(worker_settings(tmp_path, pg_url, school, "w1"), mqtt_settings)
    gw.start()
    try:
        wait_subscribed(mqtt_settings, school, gw.store.count_messages)  # a probe: 1 stored
        publish_all(mqtt_settings, [reading(school, "hr-1", seq) for seq in range(10)])
        wait_until(lambda: gw.store.count_messages() == 11, what="the first 10 stored")
        postgres.stop()  # the session's server: started again below on its port and folder
        try:
            publish_all(mqtt_settings, [reading(school, "hr-1", seq) for seq in range(10, 25)])
            wait_until(
                lambda: "state_db_unreachable" in gw.ingest.problems(), what="health saying so"
            )
            # Past the lease, which cannot be renewed meanwhile: the school stays subscribed,
            # so what is published now is kept for the worker, not dropped by the broker.
            time.sleep(1.2 * gw.settings.worker_lease_s)
            publish_all(mqtt_settings, [reading(school, "hr-1", seq) for seq in range(25, 40)])
            assert gw.store.count_messages() == 11  # a commit needs the state: nothing stored
        finally:
            postgres.restart()
        wait_until(lambda: gw.store.count_messages() == 41, what="all 40 stored")
        assert gw.store.duplicate_keys() == 0
        wait_until(lambda: "state_db_unreachable" not in gw.ingest.problems(), what="health")
        wait_until(lambda: holders(db) == {school: "w1"}, what="the lease renewed")
        publish_all(mqtt_settings, [reading(school, "hr-1", seq) for seq in range(40, 50)])
        wait_until(lambda: gw.store.count_messages() == 51, what="later ones stored")
        wait_until(gw.consumers.caught_up, what="the consumers caught up")
        said = [r.getMessage() for r in caplog.records if r.name == "gateway.district.worker"]
        assert any("PostgreSQL cannot be reached" in m for m in said)
        assert any("leases have lapsed with PostgreSQL away" in m for m in said)
        assert any("PostgreSQL is back" in m for m in said)
    finally:
        gw.stop()
        db.close()


def test_a_worker_stopped_cleanly_leaves_its_schools_messages_queued_for_the_next(
    tmp_path: Path, pg_url: str, mqtt_settings: MqttSettings
) -> None:
    school = "s" + uuid.uuid4().hex[:8]
    db = StateDB(pg_url)
    with db.transaction() as conn:
        conn.execute(insert(classes).values(id="c1", school=school, name="1-1", grade="1"))
    first = Gateway(worker_settings(tmp_path, pg_url, school, "w1"), mqtt_settings)
    first.start()
    try:
        wait_until(lambda: holders(db) == {school: "w1"}, what="w1 holding the school")
        wait_until(lambda: first.ingest.connected.is_set(), what="w1 subscribed")
        publish_all(mqtt_settings, [reading(school, "hr-1", seq) for seq in range(10)])
        wait_until(lambda: first.store.count_messages() == 10, what="w1 storing")
    finally:
        first.stop()
    # No worker runs: a worker that had left the school's share group on its way out would
    # have the broker drop these.
    assert holders(db) == {}
    publish_all(mqtt_settings, [reading(school, "hr-1", seq) for seq in range(10, 40)])
    second = Gateway(worker_settings(tmp_path, pg_url, school, "w2"), mqtt_settings)
    second.start()
    try:
        wait_until(lambda: second.store.count_messages() == 40, what="the 30 sent meanwhile")
        assert second.store.duplicate_keys() == 0
        wait_until(lambda: "w1" not in worker_rows(db), what="w1's session emptied")
    finally:
        second.stop()
        db.close()
