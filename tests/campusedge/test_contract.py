"""Wire contract: topic round trips, model validation, JSON Schema export."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from campusedge.contract import (
    Event,
    EventMessage,
    Reading,
    ReadingMessage,
    Status,
    TimeQuality,
)
from campusedge.topics import (
    Channel,
    DeviceKind,
    DeviceTopic,
    TopicError,
    cmd_topic,
    dead_letter_topic,
    device_subscriptions,
)
from campusedge.units import Metric, Unit, UnitError, normalize


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the command's messages in English (the deployment's default is
    Chinese; tests/campusedge/test_cli_errors.py reads them in both)."""
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


TS = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def reading_message(**over: object) -> ReadingMessage:
    fields: dict[str, object] = dict(
        device_id="hr-0001",
        kind=DeviceKind.HR_BAND,
        seq=7,
        ts=TS,
        time_quality=TimeQuality.SYNCED,
        readings=[Reading(metric=Metric.HEART_RATE, value=128, unit=Unit.BPM)],
    )
    fields.update(over)
    return ReadingMessage(**fields)  # type: ignore[arg-type]


def test_topic_round_trip() -> None:
    topic = DeviceTopic("school-1", DeviceKind.JUMP_ROPE, "rope-07", Channel.EVENT)
    assert str(topic) == "campus/school-1/jump_rope/rope-07/event"
    assert DeviceTopic.parse(str(topic)) == topic


@pytest.mark.parametrize(
    "bad",
    [
        "campus/s1/hr_band/dev/reading/extra",
        "campus/s1/toaster/dev/reading",
        "campus/s1/hr_band/dev/gossip",
        "other/s1/hr_band/dev/reading",
        "campus/s 1/hr_band/d/reading",
        "campus/s1/hr_band/+/reading",
        "campus/s1/hr_band/#/reading",
        "campus//hr_band/d/reading",
    ],
)
def test_topic_parse_rejects(bad: str) -> None:
    with pytest.raises(TopicError):
        DeviceTopic.parse(bad)


def test_topic_helpers() -> None:
    assert device_subscriptions("s1") == [
        "campus/s1/+/+/reading",
        "campus/s1/+/+/event",
        "campus/s1/+/+/status",
    ]
    assert dead_letter_topic("s1") == "campus/s1/deadletter"
    assert cmd_topic("s1", "box-1") == "campus/s1/edge/box-1/cmd/config"
    with pytest.raises(TopicError):
        cmd_topic("s1", "box/1")


def test_reading_message_json_round_trip() -> None:
    msg = reading_message()
    again = ReadingMessage.model_validate_json(msg.model_dump_json())
    assert again == msg
    assert json.loads(msg.model_dump_json())["v"] == 1


def test_event_message_round_trip() -> None:
    msg = EventMessage(
        device_id="rope-1",
        kind=DeviceKind.JUMP_ROPE,
        seq=0,
        ts=TS,
        time_quality=TimeQuality.ESTIMATED,
        event=Event(
            type="rope_test",
            readings=[Reading(metric=Metric.ROPE_COUNT, value=151, unit=Unit.COUNT)],
            attributes={"mode": "countdown_time", "duration_s": 60},
        ),
    )
    assert EventMessage.model_validate_json(msg.model_dump_json()) == msg


def test_status_round_trip() -> None:
    status = Status(
        device_id="box-1",
        kind=DeviceKind.EDGE,
        state="online",  # type: ignore[arg-type]
        firmware="1.2.0",
        battery_pct=88.5,
        model_versions={"pose": "full-1"},
    )
    assert Status.model_validate_json(status.model_dump_json()) == status


@pytest.mark.parametrize(
    "override, field",
    [
        ({"seq": -1}, "seq"),
        ({"seq": "7"}, "seq"),
        ({"ts": datetime(2026, 9, 1, 8, 0)}, "ts"),
        ({"device_id": "has space"}, "device_id"),
        ({"readings": []}, "readings"),
        ({"time_quality": "sundial"}, "time_quality"),
        ({"v": 2}, "v"),
    ],
)
def test_reading_message_rejects(override: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        reading_message(**override)
    assert info.value.errors()[0]["loc"][0] == field


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_reading_rejects_non_finite(value: float) -> None:
    with pytest.raises(ValidationError, match="finite"):
        Reading(metric=Metric.HEART_RATE, value=value, unit=Unit.BPM)


def test_unknown_fields_are_rejected() -> None:
    data = json.loads(reading_message().model_dump_json())
    data["student_name"] = "someone"
    with pytest.raises(ValidationError, match="student_name"):
        ReadingMessage.model_validate(data)


def test_timestamps_are_utc() -> None:
    msg = reading_message(ts=datetime(2026, 9, 1, 16, 0, tzinfo=UTC) + timedelta(0))
    assert msg.ts.tzinfo is UTC


@pytest.mark.parametrize(
    "metric, value, unit, expected",
    [
        (Metric.BODY_TEMPERATURE, 98.6, Unit.FAHRENHEIT, 37.0),
        (Metric.RR_INTERVAL, 750, Unit.MILLISECOND, 0.75),
        (Metric.ENERGY_EXPENDED, 10, Unit.KILOCALORIE, 41.84),
        (Metric.ACUITY_UNCORRECTED_LEFT, 0.8, Unit.DECIMAL_ACUITY, 4.9),
        (Metric.HEART_RATE, 120, Unit.BPM, 120),
    ],
)
def test_normalize_converts_to_canonical_units(
    metric: Metric, value: float, unit: Unit, expected: float
) -> None:
    converted, canonical = normalize(metric, value, unit)
    assert converted == pytest.approx(expected, abs=0.01)
    assert canonical is not unit or unit is Unit.BPM


@pytest.mark.parametrize(
    "metric, value, unit",
    [
        (Metric.HEART_RATE, 400, Unit.BPM),
        (Metric.BODY_TEMPERATURE, 37, Unit.BPM),
        (Metric.BODY_TEMPERATURE, 150, Unit.FAHRENHEIT),
        (Metric.BATTERY, -1, Unit.PERCENT),
    ],
)
def test_normalize_rejects(metric: Metric, value: float, unit: Unit) -> None:
    with pytest.raises(UnitError):
        normalize(metric, value, unit)


def test_exported_schema_is_current() -> None:
    from gateway.cli.contract import schemas

    folder = Path(__file__).resolve().parents[2] / "docs" / "contract"
    for name, text in schemas().items():
        assert (folder / name).read_text() == text, f"run `campusedge contract export` ({name})"


def test_export_check_outside_the_project_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from campusedge.cli import main

    assert main(["contract", "export", "--check", "--out", str(tmp_path / "nowhere")]) == 2
    assert "nowhere does not exist" in capsys.readouterr().err
    assert main(["contract", "export", "--out", str(tmp_path / "out")]) == 0
    assert main(["contract", "export", "--check", "--out", str(tmp_path / "out")]) == 0


def test_a_status_on_the_wire_carries_later_fields_only_when_set() -> None:
    import json

    from campusedge.contract import DeviceKind, DeviceState, Status

    # The fields Status had when schema version 1 was first published: a gateway of that
    # time forbids anything else, so a box's own status and its last will must fit them.
    later = {"clock_offset_s", "stopped", "edge_id"}
    first = set(Status.model_fields) - later
    box = Status(device_id="box-1", kind=DeviceKind.EDGE, state=DeviceState.OFFLINE)
    assert set(json.loads(box.wire())) <= first
    band = Status(
        device_id="hr-01", kind=DeviceKind.HR_BAND, state=DeviceState.ONLINE, edge_id="box-1"
    )
    assert set(json.loads(band.wire())) - first == {"edge_id"}
    gate = Status(
        device_id="gate-1",
        kind=DeviceKind.TEMP_GATE,
        state=DeviceState.OFFLINE,
        clock_offset_s=0.0,
        stopped=True,
    )
    assert set(json.loads(gate.wire())) - first == {"clock_offset_s", "stopped"}
    # What goes out reads back as the same status.
    for status in (box, band, gate):
        assert Status.model_validate_json(status.wire()) == status


def test_export_check_fails_on_a_stale_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from campusedge.cli import main

    out = tmp_path / "contract"
    assert main(["contract", "export", "--out", str(out)]) == 0
    stale = out / "status.schema.json"
    stale.write_text(stale.read_text().replace('"battery_pct"', '"battery"', 1))
    capsys.readouterr()
    assert main(["contract", "export", "--check", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert str(stale) in err and "out of date" in err
    assert "reading.schema.json" not in err
