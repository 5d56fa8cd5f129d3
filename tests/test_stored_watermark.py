"""End-to-end acknowledgement: a broker that loses what it acknowledged loses nothing.

The edge box keeps each message until the gateway's stored watermark covers it, so a broker
killed before it saved a burst (the gateway offline) costs nothing: the box sends again what
the gateway never got.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from pathlib import Path

import pytest

from campusedge.broker import MosquittoProcess
from drivers import jump_rope as jr
from edge.agent import EdgeAgent
from gateway.ingest import IngestSettings
from gateway.service import Gateway, GatewaySettings
from gateway.store.sqlite import SqliteStore
from simulators.jump_rope import BaseStation
from simulators.links import PtyLink
from tests.conftest import mqtt_settings_for
from tests.edge.boxes import write_box
from tests.gateway.mqtt_helpers import wait_until
from tests.services import start_mosquitto

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]


def _gateway(tmp_path: Path, broker: MosquittoProcess, school: str) -> Gateway:
    settings = GatewaySettings(
        state_db=tmp_path / "state.db",
        api_port=0,
        alerts_enabled=False,
        ingest=IngestSettings(school=school, client_id=f"gw-{school}"),
    )
    return Gateway(settings, mqtt_settings_for(broker), store=SqliteStore(tmp_path / "r.db"))


def test_a_broker_killed_after_a_burst_loses_nothing(tmp_path: Path) -> None:
    broker = start_mosquitto(tmp_path / "mosquitto")
    broker.stop()
    # A broker that saves rarely, as Mosquitto's default (30 min) does: a kill loses the burst.
    broker.autosave_interval = 3600
    broker.write_config()
    broker.start()
    school = "w" + uuid.uuid4().hex[:8]
    gw = _gateway(tmp_path, broker, school)
    gw.start()  # the gateway's persistent session, then it goes away
    assert gw.ingest.connected.wait(10)
    gw.stop()

    link = PtyLink()
    devices = [
        {
            "id": "ropes",
            "model": "jump_rope_ce_rbs2",
            "transport": {"type": "serial", "port": link.port},
        }
    ]
    box = write_box(tmp_path, devices, school=school, delete_on="gateway", resend_after_s=2)
    agent = EdgeAgent(box, mqtt_settings_for(broker))
    runner = threading.Thread(target=agent.run, kwargs={"drain_s": 30}, daemon=True)
    runner.start()
    station = BaseStation(8, random.Random(3))
    station.start_all(jr.Mode.FREE, 0, 0)
    for _ in range(40):  # a two-second burst of rope readings
        for f in station.step(0.05, realtime=False):
            link.write(f)
        time.sleep(0.05)
    wait_until(
        lambda: agent.stats.acked >= agent.stats.messages > 200, 30, "the burst acknowledged"
    )
    sent = agent.stats.messages
    # The broker acknowledged all of it; the box still holds all of it.
    assert agent.buffer.count == sent
    broker.kill()
    broker.start()
    gw = _gateway(tmp_path, broker, school)
    gw.start()
    try:
        store = gw.store
        assert isinstance(store, SqliteStore)
        wait_until(lambda: store.count_messages() >= 1, 30, "the first stored")
        # The broker did lose some: the gateway got fewer than were sent, to begin with.
        first = store.count_messages()
        wait_until(lambda: store.count_messages() == sent, 90, f"all {sent} stored ({first})")
        assert store.duplicate_keys() == 0
        # The broker did lose some, and the box sent them again.
        assert agent.stored_marks.resent > 0
        wait_until(lambda: agent.buffer.count == 0, 30, "the box's buffer emptied by watermarks")
    finally:
        agent.stop_event.set()
        runner.join(40)
        gw.stop()
        broker.stop()
