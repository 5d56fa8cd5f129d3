"""The commit log: commit order, each message once, statuses and dead letters, pruning."""

from __future__ import annotations

import dataclasses
import sqlite3
import time
import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campusedge.contract import DeviceState, Status
from campusedge.topics import DeviceKind
from gateway.store.base import DeadLetter
from gateway.store.commit_log import CommitLog
from gateway.store.sqlite import SqliteStore
from tests.gateway.store.conftest import T0, message


def test_entries_come_back_in_commit_order_as_they_went_in(tmp_path: Path) -> None:
    log = CommitLog(tmp_path / "commits.db")
    event = dataclasses.replace(
        message(
            "rope-1",
            7,
            kind=DeviceKind.JUMP_ROPE,
            readings=(("rope_count", 150.0, "count"),),
            event_type="rope_result",
            attributes=(("mode", "countdown_time"), ("set_value", 60), ("ok", True)),
        ),
        student_id="s1",
        lesson_id="pe-1",
    )
    later, earlier = message("hr-01", 2), message("hr-01", 1)  # logged as committed
    status = Status(device_id="gate-1", kind=DeviceKind.TEMP_GATE, state=DeviceState.OFFLINE, ts=T0)
    letter = DeadLetter("sch-a", "campus/sch-a/hr_band/hr-01/reading", "bad_json", "x", b"{", T0)
    log.append([event, later], [("sch-a", status)], [letter])
    log.append([earlier])
    entries = log.since(0)
    assert [e.position for e in entries] == sorted(e.position for e in entries)
    assert [e.message for e in entries if e.message] == [event, later, earlier]
    assert [e.status for e in entries if e.status] == [("sch-a", status)]
    [kept] = [e.dead_letter for e in entries if e.dead_letter]
    assert kept is not None and (kept.topic, kept.reason, kept.school) == (
        letter.topic,
        "bad_json",
        "sch-a",
    )
    assert log.since(entries[1].position, limit=2) == entries[2:4]
    assert log.head() == entries[-1].position
    log.close()


def test_a_dead_letter_is_kept_in_memory_as_the_file_keeps_it(tmp_path: Path) -> None:
    # A 60 KiB bad payload is in the store; the log's window of recent entries must not hold
    # it as well (a flood of them stayed in memory for as long as the window held them).
    letter = DeadLetter(
        "sch-a", "campus/sch-a/hr_band/hr-01/reading", "bad_json", "y" * 5000, b"\xff" * 61_440, T0
    )
    log = CommitLog(tmp_path / "commits.db")
    log.append([], [], [letter])
    [recent] = log.since(0)
    log.close()
    reader = CommitLog(tmp_path / "commits.db")  # another process: reads the file
    [from_file] = reader.since(0)
    reader.close()
    assert recent == from_file
    assert recent.dead_letter is not None
    assert recent.dead_letter.payload == b""
    assert recent.dead_letter.detail == "y" * 1024
    assert recent.dead_letter.topic == letter.topic


def test_a_message_is_logged_once_per_school_device_and_seq(tmp_path: Path) -> None:
    log = CommitLog(tmp_path / "commits.db")
    log.append([message("hr-01", 1), message("hr-01", 2)])
    # A redelivery (after a crash between the store's commit and the log's, or any other).
    log.append([message("hr-01", 2), message("hr-01", 3)])
    # The same device id and seq at another school is another message.
    log.append([message("hr-01", 1, school="sch-b")])
    keys = [(e.message.school, e.message.seq) for e in log.since(0) if e.message]
    assert keys == [("sch-a", 1), ("sch-a", 2), ("sch-a", 3), ("sch-b", 1)]
    log.close()


def test_prune_forgets_only_what_every_consumer_read_and_is_old_enough(tmp_path: Path) -> None:
    log = CommitLog(tmp_path / "commits.db")
    log.append([message("hr-01", s) for s in range(1, 11)])
    assert log.prune(5, age_s=900) == 0  # all too young
    time.sleep(0.05)
    log.append([message("hr-01", 11)])
    assert log.prune(5, age_s=0.04) == 5  # read by every consumer and old enough
    assert log.prune(100, age_s=0.04) == 5  # the newest append is too young still
    assert [e.message.seq for e in log.since(0) if e.message] == [11]
    log.close()
    # After a restart the file's entries count as appended at the first append.
    reopened = CommitLog(tmp_path / "commits.db")
    assert reopened.prune(100, age_s=0) == 0  # nothing appended by this process yet
    reopened.append([message("hr-01", 12)])
    assert reopened.prune(100, age_s=0) == 2
    reopened.close()


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    readings=st.lists(
        st.tuples(_TEXT, st.floats(allow_nan=False, allow_infinity=False), _TEXT),
        min_size=1,
        max_size=4,
    ),
    student=st.none() | _TEXT,
    lesson=st.none() | _TEXT,
    micros=st.integers(0, 999_999),
)
def test_a_reading_read_back_from_the_file_is_the_one_logged(
    tmp_path: Path,
    readings: list[tuple[str, float, str]],
    student: str | None,
    lesson: str | None,
    micros: int,
) -> None:
    # Readings are written out by a path of their own (not the JSON encoder): any text, any
    # float, with or without a binding, must come back from the file as it went in.
    logged = dataclasses.replace(
        message("hr-01", 1, ts=T0.replace(microsecond=micros), readings=tuple(readings)),
        student_id=student,
        lesson_id=lesson,
    )
    path = tmp_path / f"commits-{uuid.uuid4().hex}.db"
    log = CommitLog(path)
    log.append([logged])
    log.close()
    reader = CommitLog(path)  # another process: parses the file
    [entry] = reader.since(0)
    reader.close()
    assert entry.message == logged


_METRICS = st.sampled_from(
    [
        ("heart_rate", "bpm"),
        ("rr_interval", "s"),
        ("body_temperature", "degC"),
        ("rope_count", "count"),
    ]
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batch=st.lists(
        st.tuples(
            st.sampled_from(["hr-01", "hr-02", "rope-1"]),
            st.integers(0, 2**63 - 1),
            st.lists(
                st.tuples(_METRICS, st.floats(allow_nan=False, allow_infinity=False)),
                min_size=1,
                max_size=4,
            ),
            st.integers(0, 999_999),
            st.none() | st.just("s1"),
        ),
        min_size=1,
        max_size=8,
        unique_by=lambda row: (row[0], row[1]),
    )
)
def test_readings_logged_by_key_come_back_from_the_store_as_they_went_in(
    tmp_path: Path,
    batch: list[tuple[str, int, list[tuple[tuple[str, str], float]], int, str | None]],
) -> None:
    # With the SQLite store the log keeps a reading's key, not a copy: read from the file (a
    # restart, or a consumer far behind) each must come back from the store unchanged, in
    # the order logged, with its binding, whatever its values and times.
    messages = [
        dataclasses.replace(
            message(
                device,
                seq,
                ts=T0.replace(microsecond=micros),
                readings=tuple((metric, value, unit) for (metric, unit), value in values),
            ),
            student_id=student,
            lesson_id=None if student is None else "pe-1",
        )
        for device, seq, values, micros, student in batch
    ]
    folder = tmp_path / uuid.uuid4().hex
    store = SqliteStore(folder / "store.db")
    log = CommitLog(folder / "commits.db", source=store)
    store.write(messages)
    log.append(messages)
    log.close()
    body = sqlite3.connect(folder / "commits.db").execute("SELECT DISTINCT body FROM commits")
    assert body.fetchall() == [("",)]  # no copy was written
    reader = CommitLog(folder / "commits.db", source=store)
    assert [e.message for e in reader.since(0)] == messages
    reader.close()
    store.close()


def test_events_and_vendor_metrics_are_logged_as_copies(tmp_path: Path) -> None:
    event = message(
        "rope-1",
        3,
        kind=DeviceKind.JUMP_ROPE,
        readings=(("rope_count", 150.0, "count"),),
        event_type="rope_result",
        attributes=(("mode", "free"),),
    )
    vendor = message("hr-01", 4, readings=(("acme.grip", 3.5, "count"),))
    plain = message("hr-01", 5)
    store = SqliteStore(tmp_path / "store.db")
    assert [store.finds_by_key(m) for m in (event, vendor, plain)] == [False, False, True]
    log = CommitLog(tmp_path / "commits.db", source=store)
    store.write([event, vendor, plain])
    log.append([event, vendor, plain])
    log.close()
    reader = CommitLog(tmp_path / "commits.db", source=store)
    assert [e.message for e in reader.since(0)] == [event, vendor, plain]
    reader.close()
    store.close()


def test_a_reading_the_store_no_longer_has_is_skipped_and_counted(tmp_path: Path) -> None:
    # A student's erasure (or retention) removed it from the store before a consumer read it
    # from the file: the consumer goes on past it; erasure wins over processing.
    kept, erased = message("hr-01", 1), dataclasses.replace(message("hr-01", 2), student_id="s9")
    store = SqliteStore(tmp_path / "store.db")
    log = CommitLog(tmp_path / "commits.db", source=store)
    store.write([kept, erased])
    log.append([kept, erased])
    log.close()
    assert store.forget_student("s9") == 1
    reader = CommitLog(tmp_path / "commits.db", source=store)
    assert reader.forget_student("s9") == 0  # no copy of it in the log to remove
    # Kept as an empty entry at its position: a cursor moves past it like past any other.
    entries = reader.since(0)
    assert [e.message for e in entries] == [kept, None]
    assert (entries[1].status, entries[1].dead_letter) == (None, None)
    assert reader.skipped == 1
    reader.close()
    store.close()
