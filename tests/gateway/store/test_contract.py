"""The store contract, run unchanged against every backend."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import UTC, datetime, timedelta

from campusedge.contract import TimeQuality
from campusedge.topics import DeviceKind
from gateway.store.base import DeadLetter, ReadingRow, Store, WriteResult
from gateway.store.influx import InfluxStore
from gateway.store.sqlite import SqliteStore
from tests.gateway.store.conftest import T0, message


def test_round_trip_keeps_every_field(store: Store) -> None:
    m = message(
        "hr-01",
        7,
        ts=T0 + timedelta(milliseconds=1234, microseconds=567),
        readings=(("heart_rate", 131.0, "bpm"), ("rr_interval", 0.458, "s")),
        quality=TimeQuality.ESTIMATED,
    )
    assert store.write([m]) == WriteResult(inserted=1, duplicates=0)
    rows = store.readings(device_id="hr-01")
    assert rows == [
        ReadingRow(
            school="sch-a",
            kind="hr_band",
            device_id="hr-01",
            seq=7,
            ts=m.ts,
            time_quality="estimated",
            metric="heart_rate",
            value=131.0,
            unit="bpm",
        ),
        ReadingRow(
            school="sch-a",
            kind="hr_band",
            device_id="hr-01",
            seq=7,
            ts=m.ts,
            time_quality="estimated",
            metric="rr_interval",
            value=0.458,
            unit="s",
        ),
    ]
    assert rows[0].ts.tzinfo is not None
    assert store.count_messages() == 1
    assert store.duplicate_keys() == 0


def test_rewrite_is_idempotent(store: Store) -> None:
    batch = [message("hr-01", s) for s in range(1, 11)]
    assert store.write(batch) == WriteResult(inserted=10, duplicates=0)
    assert store.write(batch) == WriteResult(inserted=0, duplicates=10)
    # A redelivery mixed with new messages stores only the new ones.
    assert store.write([*batch[5:], message("hr-01", 11)]) == WriteResult(1, 5)
    assert store.count_messages() == 11
    assert store.duplicate_keys() == 0
    assert len(store.readings(device_id="hr-01")) == 11


def test_duplicates_inside_one_batch(store: Store) -> None:
    m = message("rope-1", 3, kind=DeviceKind.JUMP_ROPE, readings=(("rope_count", 42, "count"),))
    result = store.write([m, message("rope-1", 4, kind=DeviceKind.JUMP_ROPE), m, m])
    assert result == WriteResult(inserted=2, duplicates=2)
    assert store.count_messages() == 2
    assert store.duplicate_keys() == 0
    assert [r.seq for r in store.readings(device_id="rope-1")] == [3, 4]


def test_same_device_timestamp_different_seqs_are_distinct(store: Store) -> None:
    # A device without a clock may stamp many messages alike; seq keeps them apart.
    same = T0 + timedelta(seconds=5)
    batch = [
        message("gate-1", s, ts=same, readings=(("body_temperature", 36.5 + s / 10, "degC"),))
        for s in (1, 2, 1_000_001, 2_000_001)
    ]
    assert store.write(batch).inserted == 4
    rows = store.readings(device_id="gate-1")
    assert sorted(r.seq for r in rows) == [1, 2, 1_000_001, 2_000_001]
    assert {r.ts for r in rows} == {same}
    assert store.count_messages() == 4
    assert store.duplicate_keys() == 0


def test_ordering_and_limits(store: Store) -> None:
    # Written out of order, across two devices: queries come back in time order.
    batch = [message("hr-02", s, ts=T0 + timedelta(seconds=s * 2 + 1)) for s in (5, 1, 3)]
    batch += [message("hr-01", s, ts=T0 + timedelta(seconds=s * 2)) for s in (4, 2, 6)]
    store.write(batch)
    rows = store.readings(metric="heart_rate")
    assert [(r.device_id, r.seq) for r in rows] == [
        ("hr-02", 1),
        ("hr-01", 2),
        ("hr-02", 3),
        ("hr-01", 4),
        ("hr-02", 5),
        ("hr-01", 6),
    ]
    assert [r.seq for r in store.readings(metric="heart_rate", limit=2)] == [1, 2]
    newest = store.readings(metric="heart_rate", limit=2, newest_first=True)
    assert [(r.device_id, r.seq) for r in newest] == [("hr-01", 6), ("hr-02", 5)]


def test_time_range_is_inclusive_exclusive(store: Store) -> None:
    store.write([message("hr-01", s, ts=T0 + timedelta(seconds=s)) for s in range(10)])
    rows = store.readings(
        device_id="hr-01", since=T0 + timedelta(seconds=3), until=T0 + timedelta(seconds=6)
    )
    assert [r.seq for r in rows] == [3, 4, 5]
    assert store.readings(since=T0 + timedelta(seconds=10)) == []
    assert [r.seq for r in store.readings(until=T0 + timedelta(seconds=2))] == [0, 1]


def test_sub_millisecond_range_bounds(store: Store) -> None:
    base = T0 + timedelta(seconds=1)
    store.write(
        [message("hr-01", s, ts=base + timedelta(microseconds=100 * s)) for s in range(1, 6)]
    )
    rows = store.readings(
        since=base + timedelta(microseconds=250), until=base + timedelta(microseconds=450)
    )
    assert [r.seq for r in rows] == [3, 4]


def test_filters_by_device_and_metric(store: Store) -> None:
    store.write(
        [
            message("hr-01", 1, readings=(("heart_rate", 100.0, "bpm"), ("battery", 80.0, "%"))),
            message("hr-02", 1, readings=(("heart_rate", 90.0, "bpm"),)),
        ]
    )
    assert [(r.device_id, r.value) for r in store.readings(metric="heart_rate")] == [
        ("hr-01", 100.0),
        ("hr-02", 90.0),
    ]
    assert [r.metric for r in store.readings(device_id="hr-01")] == ["battery", "heart_rate"] or [
        r.metric for r in store.readings(device_id="hr-01")
    ] == ["heart_rate", "battery"]
    assert [r.value for r in store.readings(device_id="hr-01", metric="battery")] == [80.0]
    assert store.readings(device_id="nobody") == []


def test_events_keep_type_attributes_and_readings(store: Store) -> None:
    attrs = (("lesson", "L-7"), ("valid", True), ("misses", 2), ("ratio", 0.5), ("note", None))
    store.write(
        [
            message("rope-1", 1, kind=DeviceKind.JUMP_ROPE, readings=(("rope_count", 5, "count"),)),
            message(
                "rope-1",
                2,
                kind=DeviceKind.JUMP_ROPE,
                event_type="rope_test_finished",
                readings=(("rope_count", 180, "count"), ("rope_elapsed", 60, "s")),
                attributes=attrs,
            ),
            message("rope-1", 3, kind=DeviceKind.JUMP_ROPE, event_type="rope_started", readings=()),
        ]
    )
    events = store.events(device_id="rope-1")
    assert [(e.seq, e.event_type) for e in events] == [
        (2, "rope_test_finished"),
        (3, "rope_started"),
    ]
    first = events[0]
    assert first.attributes == dict(attrs)
    assert sorted(first.readings) == [("rope_count", 180.0, "count"), ("rope_elapsed", 60.0, "s")]
    assert first.kind == "jump_rope" and first.school == "sch-a"
    assert events[1].readings == () and events[1].attributes == {}
    assert [e.seq for e in store.events(event_type="rope_started")] == [3]
    assert store.events(event_type="nothing") == []
    assert [e.seq for e in store.events(newest_first=True, limit=1)] == [3]


def test_last_seen_follows_highest_seq(store: Store) -> None:
    store.write([message("hr-01", s) for s in (1, 2, 3)] + [message("hr-02", 9)])
    store.write([message("hr-01", 2)])  # a late redelivery must not move hr-01 back
    seen = {d.device_id: d for d in store.last_seen()}
    assert set(seen) == {"hr-01", "hr-02"}
    assert seen["hr-01"].last_seq == 3
    assert seen["hr-01"].last_ts == T0 + timedelta(seconds=3)
    assert seen["hr-01"].last_received_at == T0 + timedelta(seconds=3, milliseconds=250)
    assert (seen["hr-02"].last_seq, seen["hr-02"].kind, seen["hr-02"].school) == (
        9,
        "hr_band",
        "sch-a",
    )


def test_dead_letters_are_kept_with_reason(store: Store) -> None:
    at = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
    letters = [
        DeadLetter(
            school="sch-a",
            topic="campus/sch-a/hr_band/hr-01/reading",
            reason="invalid_json",
            detail='line 1: expected "}"\nat byte 9',
            payload=b'{"v":1,\xff\x00',
            received_at=at,
        ),
        DeadLetter(
            school=None,
            topic="campus/??",
            reason="bad_topic",
            detail="no school",
            payload=b"",
            received_at=at + timedelta(seconds=1),
        ),
        DeadLetter(
            school="a\\,b c\n",
            topic="campus/a\\,b c\n/x",
            reason="bad topic\\",
            detail="",
            payload=bytes(range(256)),
            received_at=at - timedelta(seconds=1),
        ),
        DeadLetter(
            school="sch-a",
            topic="campus/sch-a/hr_band/hr-01/reading",
            reason="invalid_json",
            detail='line 1: expected "}"\nat byte 9',
            payload=b'{"v":1,\xff\x00',
            received_at=at,
        ),
    ]
    assert letters[0] == letters[3]
    store.write_dead_letters(letters)
    got = store.dead_letters()
    assert len(got) == 4
    assert got[0] == letters[1]  # newest first
    assert got[1:3] == [letters[0], letters[3]]  # same content and time, both kept
    assert got[3] == letters[2]  # unwritable as an InfluxDB tag, still kept
    assert [d.reason for d in store.dead_letters(limit=1)] == ["bad_topic"]
    assert store.count_messages() == 0


def test_dead_letters_of_any_size_are_kept(store: Store) -> None:
    # An oversize payload is a dead letter of its own; storing it must not fail the batch
    # (a backend may keep only a prefix: InfluxDB's string fields hold 64 KiB).
    at = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
    big = DeadLetter(
        school="sch-a",
        topic="campus/sch-a/x/" + "\\" * 40_000,
        reason="too_large",
        detail="é" * 100_000,
        payload=bytes(range(256)) * 400,
        received_at=at,
    )
    store.write_dead_letters([big])
    [got] = store.dead_letters()
    assert (got.school, got.reason, got.received_at) == (big.school, big.reason, at)
    assert big.payload.startswith(got.payload) and len(got.payload) >= 48 * 1024
    assert big.topic.startswith(got.topic) and len(got.topic) >= 8192
    assert big.detail.startswith(got.detail) and len(got.detail) >= 8192


def test_dead_letters_of_one_channel(store: Store) -> None:
    at = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
    topics = [
        "campus/s/hr_band/a/status",
        "campus/s/hr_band/a/reading",
        "campus/s/hr_band/b/xstatus",
        "campus/s/hr_band/c_%/status",
    ]
    store.write_dead_letters(
        [
            DeadLetter(
                school="s",
                topic=t,
                reason="invalid",
                detail="",
                payload=b"{}",
                received_at=at + timedelta(seconds=i),
            )
            for i, t in enumerate(topics)
        ]
    )
    got = [d.topic for d in store.dead_letters(topic_suffix="/status")]
    assert got == ["campus/s/hr_band/c_%/status", "campus/s/hr_band/a/status"]
    assert len(store.dead_letters()) == 4


def test_special_and_unicode_ids(store: Store) -> None:
    odd = ["hr 01", "hr,01", "hr=01", 'hr"01', "hr\\01", "hr'01", "手环-01", "hr\u00e9:01.a_b"]
    store.write(
        [message(d, 1, school="школа 1", readings=(("heart_rate", 99.0, "bpm"),)) for d in odd]
    )
    for d in odd:
        rows = store.readings(device_id=d)
        assert [(r.device_id, r.school, r.seq) for r in rows] == [(d, "школа 1", 1)], d
    assert store.count_messages() == len(odd)
    assert {s.device_id for s in store.last_seen()} == set(odd)


def test_integer_like_values_come_back_as_floats(store: Store) -> None:
    store.write(
        [
            message("rope-1", 1, readings=(("rope_count", 7, "count"),)),
            message("rope-1", 2, readings=(("rope_count", 7.5, "count"),)),
        ]
    )
    values = [r.value for r in store.readings(device_id="rope-1")]
    assert values == [7.0, 7.5]
    assert all(isinstance(v, float) for v in values)


def test_empty_writes(store: Store) -> None:
    assert store.write([]) == WriteResult(0, 0)
    store.write_dead_letters([])
    assert store.count_messages() == 0
    assert store.duplicate_keys() == 0
    assert store.readings() == []
    assert store.events() == []
    assert store.last_seen() == []
    assert store.dead_letters() == []


def test_the_same_device_and_seq_in_two_schools_are_two_messages(store: Store) -> None:
    theirs = message("hr-01", 1000, school="school-b", readings=(("heart_rate", 90.0, "bpm"),))
    ours = message("hr-01", 1000, school="school-a", readings=(("heart_rate", 140.0, "bpm"),))
    assert store.write([theirs]) == WriteResult(inserted=1, duplicates=0)
    # school-b's hr-01 seq 1000 does not make school-a's a duplicate...
    assert store.write([ours]) == WriteResult(inserted=1, duplicates=0)
    # ...while a redelivery of either still is one.
    assert store.write([ours, theirs]) == WriteResult(inserted=0, duplicates=2)
    assert store.count_messages() == 2
    assert store.duplicate_keys() == 0
    rows = store.readings(device_id="hr-01")
    assert sorted((r.school, r.value) for r in rows) == [("school-a", 140.0), ("school-b", 90.0)]
    assert sorted((d.school, d.device_id, d.last_seq) for d in store.last_seen()) == [
        ("school-a", "hr-01", 1000),
        ("school-b", "hr-01", 1000),
    ]


def test_the_binding_is_kept_with_the_message(store: Store) -> None:
    bound = dataclasses.replace(message("hr-01", 1), student_id="s-17", lesson_id="pe-3")
    store.write([bound, message("hr-02", 1)])
    assert stored_bindings(store) == {"hr-01": ("s-17", "pe-3"), "hr-02": (None, None)}


def stored_bindings(store: Store) -> dict[str, tuple[str | None, str | None]]:
    """device id -> (student_id, lesson_id) as the backend keeps them (no query returns them)."""
    if isinstance(store, SqliteStore):
        with sqlite3.connect(store.path) as conn:
            rows = conn.execute("SELECT device_id, student_id, lesson_id FROM messages").fetchall()
        return {d: (s, lesson) for d, s, lesson in rows}
    assert isinstance(store, InfluxStore)
    found = {}
    for series in store.query("SELECT student_id, lesson_id, seq FROM message GROUP BY device_id"):
        for row in series.rows():
            found[row["device_id"]] = (row["student_id"], row["lesson_id"])
    return found
