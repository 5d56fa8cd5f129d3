"""An edge box that dies: Mosquitto publishes its last will and the gateway raises the alert.

Real parts only: Mosquitto, a `campusedge edge run` process with a gate on a pty, and the
gateway's ingest and alert engine. The agent is killed with SIGKILL, so nothing of its own
goes out; the offline status the gateway hears is the will the broker publishes for it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from campusedge.broker import MosquittoProcess
from gateway.alerts.model import AlertState, Rule
from gateway.ingest import IngestSettings
from gateway.service import Gateway, GatewaySettings
from simulators.links import PtyLink
from tests.conftest import mqtt_settings_for
from tests.gateway.alerts.test_delivery import wait_until
from tests.services import MQTT_PASSWORD, MQTT_USER

pytestmark = pytest.mark.mosquitto


@pytest.fixture
def gate_port() -> Iterator[PtyLink]:
    link = PtyLink()
    try:
        yield link
    finally:
        link.close()


def start_agent(box: Path, broker: MosquittoProcess, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "campusedge.cli",
                "edge",
                "run",
                "--config",
                str(box),
                "--mqtt-host",
                broker.host,
                "--mqtt-port",
                str(broker.port),
                "--mqtt-username",
                MQTT_USER,
                "--log-level",
                "WARNING",
            ],
            stdout=out,
            stderr=out,
            start_new_session=True,
            env={**os.environ, "CAMPUSEDGE_MQTT_PASSWORD": MQTT_PASSWORD},
        )


def test_a_killed_box_is_reported_by_its_last_will_and_cleared_when_back(
    tmp_path: Path, mosquitto: MosquittoProcess, gate_port: PtyLink
) -> None:
    school = f"lw{uuid.uuid4().hex[:6]}"
    box = tmp_path / "box.yaml"
    box.write_text(
        yaml.safe_dump(
            {
                "kind": "edge_box",
                "edge_id": "gate-box",
                "school": school,
                "config_version": "t1",
                "buffer": {"path": str(tmp_path / "buffer.db")},
                "status_interval_s": 10,
                "devices": [
                    {
                        "id": "gate-north",
                        "model": "temp_gate_ce_tg100",
                        "transport": {"type": "serial", "port": gate_port.port},
                    }
                ],
            }
        )
    )
    settings = GatewaySettings(
        store_url=f"sqlite:///{tmp_path / 'readings.db'}",
        state_db=tmp_path / "state.db",
        api_port=0,
        ingest=IngestSettings(school=school, client_id=f"gw-{school}"),
    )
    gw = Gateway(settings, mqtt_settings_for(mosquitto))
    gw.start()
    agent = start_agent(box, mosquitto, tmp_path / "agent.log")
    try:
        assert gw.ingest.connected.wait(15)

        def box_state() -> str | None:
            found = [d for d in gw.devices.all(school) if d.device_id == "gate-box"]
            return found[0].state if found else None

        assert wait_until(lambda: box_state() == "online", 20), (tmp_path / "agent.log").read_text()
        assert gw.alerts is not None
        lifecycle = gw.alerts.engine.lifecycle
        assert lifecycle.find(rule=Rule.DEVICE_OFFLINE) == []

        agent.send_signal(signal.SIGKILL)  # no clean stop: the broker speaks for the box
        agent.wait(10)
        assert wait_until(lambda: bool(lifecycle.find(rule=Rule.DEVICE_OFFLINE)), 20)
        [alert] = lifecycle.find(rule=Rule.DEVICE_OFFLINE)
        assert alert.device_id == "gate-box" and alert.detail["reason"] == "last_will"
        assert alert.summary == "edge gate-box went offline: connection lost (last will)"

        # The box comes back: its birth status resolves the alert on the system's behalf.
        agent = start_agent(box, mosquitto, tmp_path / "agent.log")
        assert wait_until(
            lambda: (a := lifecycle.get(alert.id)) is not None and a.state is AlertState.RESOLVED,
            20,
        )
        done = lifecycle.get(alert.id)
        assert done is not None and done.outcome == "back_online"
    finally:
        if agent.poll() is None:
            agent.send_signal(signal.SIGTERM)
            try:
                agent.wait(30)
            except subprocess.TimeoutExpired:
                agent.kill()
                agent.wait()
        gw.stop()
