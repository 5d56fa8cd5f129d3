"""`campusedge edge run` with a `type: ble` box: bands over the virtual BLE link to Mosquitto."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from campusedge.broker import MosquittoProcess
from campusedge.cli import main
from campusedge.contract import ReadingMessage, Status
from campusedge.envelope import parse_message
from campusedge.topics import DeviceTopic
from campusedge.units import Metric
from tests.conftest import mqtt_settings_for
from tests.edge.ble_bands import BandSimulator
from tests.edge.collector import Collector
from tests.services import MQTT_PASSWORD, MQTT_USER

pytestmark = pytest.mark.mosquitto


def test_heart_rates_reach_the_broker_under_the_kit_ids(
    tmp_path: Path, mosquitto: MosquittoProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    school = "school-ble"
    sim = BandSimulator(3, "--strangers", "1", "--period", "0.25", "--outage", "2:1.5:0.8")
    col = Collector(mqtt_settings_for(mosquitto), [f"campus/{school}/#"], client_id="c-ble").start()
    ids = {addr: f"hr-{i + 1:02d}" for i, addr in enumerate(sim.addresses)}
    box = tmp_path / "box.yaml"
    box.write_text(
        yaml.safe_dump(
            {
                "kind": "edge_box",
                "edge_id": "ble-box",
                "school": school,
                "devices": [
                    {
                        "id": "gym-bands",
                        "model": "hr_band_ce_hrb40",
                        "transport": {"type": "ble", "hci": sim.hci, "max_connections": 4},
                        "ids": ids,
                    }
                ],
            }
        )
    )
    stats = tmp_path / "stats.json"
    try:
        rc = main(
            [
                "edge",
                "run",
                "--config",
                str(box),
                "--buffer",
                str(tmp_path / "b.db"),
                "--mqtt-host",
                mosquitto.host,
                "--mqtt-port",
                str(mosquitto.port),
                "--mqtt-username",
                MQTT_USER,
                "--mqtt-password",
                MQTT_PASSWORD,
                "--duration",
                "4",
                "--stats-out",
                str(stats),
            ]
        )
        assert rc == 0
        printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        col.wait_for(
            lambda ms: sum(t.endswith("/reading") for t, _, _ in ms) >= printed["messages"] - 3, 5
        )
    finally:
        col.stop()
        sim.stop()
    assert printed["decode_errors"] == 0 and printed["acked"] == printed["messages"]

    heart_rates: dict[str, list[float]] = defaultdict(list)
    now = datetime.now(UTC)
    for topic, payload, _ in col.snapshot():
        if not topic.endswith("/reading"):
            continue
        msg = parse_message(DeviceTopic.parse(topic), payload, now=now)
        assert isinstance(msg, ReadingMessage)
        assert msg.time_quality == "received"  # bands have no clock
        heart_rates[msg.device_id] += [
            r.value for r in msg.readings if r.metric == Metric.HEART_RATE
        ]
    # Attributed to the kit's ids, never "<entry>-<address>"; the stranger never appears.
    assert set(heart_rates) == set(ids.values())
    for device, values in heart_rates.items():
        assert len(values) >= 4, device
        assert all(40 <= v <= 220 for v in values), device
    # The band that left range came back, and the agent's central connected it again.
    assert len(sim.seen("connected", sim.addresses[2])) == 2, sim.events
    assert not sim.seen("connected", "CE:5E:00:00:FF:00")

    # Each band's status is its own link: hr-03 went offline while out of range (the radio
    # stayed up) and online again; the battery is the bands' Battery Level characteristic.
    states: dict[str, list[Status]] = defaultdict(list)
    for topic, payload, _ in col.snapshot():
        if topic.endswith("/status") and "/hr_band/" in topic:
            status = Status.model_validate_json(payload)
            states[status.device_id].append(status)
    hr03 = [s.state for s in states["hr-03"]]
    assert "offline" in hr03 and hr03.index("offline") < len(hr03) - 1, hr03
    assert hr03[hr03.index("offline") + 1] == "online", hr03
    went = next(s for s in states["hr-03"] if s.state == "offline")
    assert went.detail and "not connected" in went.detail
    # (The first status may come before the battery was read, so None is allowed there.)
    for device, history in states.items():
        batteries = [s.battery_pct for s in history]
        assert 100 in batteries and set(batteries) <= {None, 100}, (device, batteries)
