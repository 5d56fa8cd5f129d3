"""A student's erasure and the retention of raw readings, on SQLite and a real influxd."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.store.base import Store, StoredMessage
from gateway.store.sqlite import SqliteStore
from tests.gateway.store.conftest import T0, message


def bound(device_id: str, seq: int, student_id: str | None) -> StoredMessage:
    return dataclasses.replace(message(device_id, seq), student_id=student_id)


def test_forgetting_a_student_removes_their_messages_and_keeps_everyone_elses(
    store: Store,
) -> None:
    # One band worn by s1, then s2, then s1 again in a later lesson, with unbound messages
    # between: the erasure must cut out s1's runs and nothing around them.
    owners = ["s1"] * 5 + [None] * 2 + ["s2"] * 4 + ["s1"] * 3 + [None]
    batch = [bound("hr-01", seq, who) for seq, who in enumerate(owners, start=1)]
    batch += [bound("hr-02", seq, "s1") for seq in range(1, 4)]  # another band of s1's
    batch += [bound("hr-03", seq, "s3") for seq in range(1, 4)]
    store.write(batch)

    assert store.forget_student("s1") == 8 + 3

    left = {(r.device_id, r.seq) for r in store.readings(limit=1000)}
    expected = {("hr-01", seq) for seq, who in enumerate(owners, start=1) if who != "s1"} | {
        ("hr-03", seq) for seq in range(1, 4)
    }
    assert left == expected
    assert store.count_messages() == len(expected)
    assert store.forget_student("s1") == 0  # again: nothing left of them
    # A redelivery of an erased message would be stored again: ingest binds it anew, and
    # erasure is for a student who has left, whose devices no longer send as theirs.


def test_raw_readings_past_retention_are_removed(store: Store) -> None:
    old = [message("hr-01", seq, ts=T0 - timedelta(days=200, seconds=-seq)) for seq in (1, 2)]
    new = [message("hr-01", seq, ts=T0 + timedelta(seconds=seq)) for seq in (3, 4)]
    store.write(old + new)

    assert store.delete_messages(T0 - timedelta(days=180)) == 2

    assert [r.seq for r in store.readings(limit=100)] == [3, 4]
    assert store.count_messages() == 2
    assert store.delete_messages(T0 - timedelta(days=180)) == 0


def test_sqlite_keeps_readings_by_receipt_so_a_wrong_device_clock_loses_nothing(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "store.db")
    try:
        wrong_clock = dataclasses.replace(
            message("hr-09", 1, ts=datetime(2000, 1, 1, tzinfo=UTC)), received_at=T0
        )
        old = dataclasses.replace(message("hr-01", 1), received_at=T0 - timedelta(days=181))
        store.write([old, wrong_clock])

        assert store.delete_messages(T0 - timedelta(days=180)) == 1

        assert [(r.device_id, r.seq) for r in store.readings(limit=10)] == [("hr-09", 1)]
    finally:
        store.close()
