"""Scenario commands end to end: virtual devices, a real edge agent process, real Mosquitto."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from campusedge.broker import MosquittoProcess
from campusedge.cli import main
from campusedge.contract import EventMessage
from campusedge.envelope import parse_message
from campusedge.topics import DeviceTopic
from tests.conftest import mqtt_settings_for
from tests.edge.collector import Collector
from tests.services import MQTT_PASSWORD, MQTT_USER

pytestmark = pytest.mark.mosquitto


def _simulate(
    argv: list[str], broker: MosquittoProcess, tmp: Path, capsys: pytest.CaptureFixture[str]
) -> dict[str, object]:
    rc = main(
        [
            "simulate",
            *argv,
            "--mqtt-host",
            broker.host,
            "--mqtt-port",
            str(broker.port),
            "--mqtt-username",
            MQTT_USER,
            "--mqtt-password",
            MQTT_PASSWORD,
            "--workdir",
            str(tmp),
            # A broker alone, no gateway to publish stored watermarks.
            "--delete-on",
            "broker",
        ]
    )
    assert rc == 0
    summary: dict[str, object] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    return summary


def test_gate_morning_with_skew_noise_and_duplicates(
    tmp_path: Path, mosquitto: MosquittoProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    s = _simulate(
        [
            "gate",
            "--students",
            "60",
            "--fever-rate",
            "0.1",
            "--window-minutes",
            "0.5",
            "--speed",
            "10",
            "--clock-skew",
            "600",
            "--garbage-rate",
            "0.2",
            "--duplicate-rate",
            "0.2",
            "--school",
            "sim-gate",
        ],
        mosquitto,
        tmp_path,
        capsys,
    )
    edge = s["edge"]
    assert isinstance(edge, dict)
    # Every pass arrives once: noise is skipped, cut lines are counted, repeats are dropped.
    assert edge["messages"] == s["passes"] == 60 and edge["buffered"] == 0
    assert edge["duplicate_frames"] > 0 and edge["decode_errors"] + edge["discarded_bytes"] > 0
    assert edge["rtc_corrected"] > 0  # the north gate's clock is 10 minutes off


def test_lesson_with_a_dropped_link_still_delivers_rope_results(
    tmp_path: Path, mosquitto: MosquittoProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    col = Collector(
        mqtt_settings_for(mosquitto), ["campus/sim-lesson/+/+/event"], client_id="c-sim-lesson"
    ).start()
    assert col.wait_for(lambda ms: col._client.is_connected(), 5)
    s = _simulate(
        [
            "lesson",
            "--students",
            "4",
            "--minutes",
            "1.5",
            "--speed",
            "10",
            "--drop-link",
            "20",
            "--low-battery",
            "1.0",
            "--school",
            "sim-lesson",
        ],
        mosquitto,
        tmp_path,
        capsys,
    )
    assert col.wait_for(lambda ms: len(ms) >= 4, 5)
    col.stop()
    edge = s["edge"]
    assert isinstance(edge, dict) and isinstance(s["frames_sent"], int)
    assert s["band_notifications"] == 4 * 90
    # 20 of 90 scenario seconds the links were down: what was sent then is gone.
    assert edge["messages"] < s["frames_sent"] * 0.9
    # About 42 MB (docs/edge.md, "Memory"); the pose pipeline alone would add about 50 MB.
    assert 0 < edge["peak_rss_mb"] < 80
    now = datetime.now(UTC)
    results = [parse_message(DeviceTopic.parse(t), p, now=now) for t, p, _ in col.snapshot()]
    ropes = {
        m.device_id
        for m in results
        if isinstance(m, EventMessage) and m.event.type == "rope_result"
    }
    assert ropes == {"rope-01", "rope-02", "rope-03", "rope-04"}


def test_screening_day(
    tmp_path: Path, mosquitto: MosquittoProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    s = _simulate(
        [
            "screening",
            "--students",
            "12",
            "--seconds-per-student",
            "2",
            "--speed",
            "8",
            "--duplicate-rate",
            "0.3",
            "--school",
            "sim-screen",
        ],
        mosquitto,
        tmp_path,
        capsys,
    )
    edge = s["edge"]
    assert isinstance(edge, dict)
    assert edge["messages"] == s["records"] == 12 and edge["duplicate_frames"] > 0


def test_lesson_over_the_virtual_ble_link(
    tmp_path: Path, mosquitto: MosquittoProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    col = Collector(
        mqtt_settings_for(mosquitto), ["campus/sim-ble/hr_band/+/reading"], client_id="c-sim-ble"
    ).start()
    assert col.wait_for(lambda ms: col._client.is_connected(), 5)
    s = _simulate(
        [
            "lesson",
            "--ble-link",
            "--students",
            "4",
            "--minutes",
            "1",
            "--speed",
            "6",
            "--drop-link",
            "15",
            "--school",
            "sim-ble",
        ],
        mosquitto,
        tmp_path,
        capsys,
    )
    edge = s["edge"]
    assert isinstance(edge, dict) and edge["decode_errors"] == 0
    assert 4 * 60 <= s["band_notifications"] <= 4 * 61  # a tick may end past the minute
    now = datetime.now(UTC)
    readings = [parse_message(DeviceTopic.parse(t), p, now=now) for t, p, _ in col.snapshot()]
    per_band = {f"hr-0{i}": 0 for i in range(1, 5)}
    for m in readings:
        per_band[m.device_id] += 1
    # 15 of 60 scenario seconds every band was out of range; after it each was connected again.
    assert all(40 <= n <= 46 for n in per_band.values()), per_band
    assert edge["connects"] == 1  # the central reconnected the bands itself, no reopen
    col.stop()
