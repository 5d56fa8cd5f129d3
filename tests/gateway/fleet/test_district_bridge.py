"""A school Mosquitto bridged to a district Mosquitto by the generated config: the school's
device messages go up, commands come down, and nothing of another school crosses."""

from __future__ import annotations

from pathlib import Path

import pytest

from campusedge.broker import MosquittoProcess, find_mosquitto
from campusedge.cli import main
from tests.conftest import mqtt_settings_for
from tests.edge.collector import Collector
from tests.services import MQTT_PASSWORD, MQTT_USER, missing

pytestmark = pytest.mark.mosquitto


def test_a_bridged_school_sends_its_devices_up_and_gets_its_commands(tmp_path: Path) -> None:
    if find_mosquitto() is None:
        missing("mosquitto")
    users = {MQTT_USER: MQTT_PASSWORD, "bridge-s1": "bridge-secret"}
    district = MosquittoProcess(tmp_path / "district", users)
    school = MosquittoProcess(tmp_path / "school", {MQTT_USER: MQTT_PASSWORD})
    secret = tmp_path / "bridge-password"
    secret.write_text("bridge-secret\n")
    out = tmp_path / "bridge-s1.conf"
    assert main(
        [
            "gateway", "district-broker", "bridge", "--school", "s1", "--host", "127.0.0.1",
            "--port", str(district.port), "--username", "bridge-s1",
            "--password-file", str(secret), "--out", str(out),
        ]
    ) == 0  # fmt: skip
    school.write_config()
    school.config_path.write_text(school.config_path.read_text() + out.read_text())
    district.start()
    school.start()
    up = Collector(mqtt_settings_for(district), ["campus/#"], client_id="district-gw").start()
    down = Collector(mqtt_settings_for(school), ["campus/#"], client_id="school-box").start()
    try:
        for collector in (up, down):
            assert collector.wait_for(lambda ms, c=collector: c._client.is_connected(), 5)
        reading = "campus/s1/hr_band/hr-01/reading"
        # The bridge connects in its own time: publish until the district has it.
        for _ in range(50):
            down.publish(reading, b"{}")
            if up.wait_for(lambda ms: any(t == reading for t, _, _ in ms), 0.2):
                break
        assert any(t == reading for t, _, _ in up.snapshot())
        up.publish("campus/s1/edge/box-1/cmd/config", b'{"config_version": "2"}')
        up.publish("campus/s2/edge/box-9/cmd/config", b"{}")  # another school's
        assert down.wait_for(
            lambda ms: any(t == "campus/s1/edge/box-1/cmd/config" for t, _, _ in ms), 5
        )
        down.publish("campus/s2/hr_band/hr-99/reading", b"{}")  # not this bridge's school
        down.publish("campus/s1/edge/box-1/cmd/rope", b"{}")  # commands only come down
        down.publish(reading, b'{"last": true}')
        assert up.wait_for(lambda ms: any(p == b'{"last": true}' for _, p, _ in ms), 5)
        went_up = {t for t, _, _ in up.snapshot()}
        assert "campus/s2/hr_band/hr-99/reading" not in went_up
        assert "campus/s1/edge/box-1/cmd/rope" not in went_up
        assert "campus/s2/edge/box-9/cmd/config" not in {t for t, _, _ in down.snapshot()}
    finally:
        up.stop()
        down.stop()
        school.stop()
        district.stop()


def test_the_emqx_files_name_the_cluster_the_hash_strategy_and_each_workers_rules(
    tmp_path: Path,
) -> None:
    args = ["gateway", "district-broker", "emqx", "--node", "emqx@10.0.0.1", "--node",
            "emqx@10.0.0.2", "--worker-user", "gateway/w1", "--school", "s1", "--school", "s2",
            "--out", str(tmp_path)]  # fmt: skip
    assert main(args) == 0
    conf = (tmp_path / "emqx.conf").read_text()
    assert 'static.seeds = ["emqx@10.0.0.1", "emqx@10.0.0.2"]' in conf
    assert 'shared_subscription_strategy = "hash_topic"' in conf
    acl = (tmp_path / "campusedge_acl.conf").read_text()
    assert '{allow, {username, "gateway/w1"}, subscribe, ["campus/#"]}.' in acl
    assert '"campus/s2/edge/+/cmd/#"' in acl and acl.rstrip().endswith("{deny, all}.")
    assert main([*args[:-2], "--school", "bad school", "--out", str(tmp_path)]) == 2
