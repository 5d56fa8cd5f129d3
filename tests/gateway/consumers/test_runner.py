"""Consumers over the commit log: cursor and effects commit together; a bad entry costs itself."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import text

from gateway.alerts.engine import AlertEngine
from gateway.alerts.model import Rule
from gateway.consumers import runner as runner_module
from gateway.consumers.alerts import AlertConsumer
from gateway.consumers.runner import Consumers
from gateway.state import StateDB
from gateway.store.commit_log import CommitLog, Committed
from gateway.store.sqlite import SqliteStore
from tests.gateway.alerts.scenario import MORNING, build_world, gate_pass, heart_rate


class Recorder:
    """Writes each message's seq to a table of the state database; raises on one seq."""

    name = "recorder"
    savepoints = True

    def __init__(self, db: StateDB, poison_seq: int | None = None) -> None:
        self.db = db
        self.poison_seq = poison_seq
        db.ensure(
            "CREATE TABLE IF NOT EXISTS recorded "
            "(id INTEGER PRIMARY KEY AUTOINCREMENT, seq INTEGER NOT NULL)"
        )

    def exclusive(self) -> AbstractContextManager[object]:
        return contextlib.nullcontext()

    def wants(self, entry: Committed) -> bool:
        return entry.message is not None

    def handle(self, entry: Committed) -> None:
        assert entry.message is not None
        with self.db.transaction() as conn:  # a module opening its own, as they all do
            conn.execute(
                text("INSERT INTO recorded(seq) VALUES (:seq)"), {"seq": entry.message.seq}
            )
            if entry.message.seq == self.poison_seq:
                raise ValueError(f"cannot handle seq {entry.message.seq}")

    def finish(self) -> None:
        pass

    def recorded(self) -> list[int]:
        return [r["seq"] for r in self.db.query("SELECT seq FROM recorded ORDER BY id")]


class Crash(BaseException):
    """Stands for the process dying mid-step (kill -9): nothing after it runs."""


class CrashingAlerts(AlertConsumer):
    """The alert consumer of a process that dies after the step's effects, before its commit."""

    def finish(self) -> None:
        raise Crash


def test_an_entry_a_consumer_raises_on_is_counted_dead_lettered_and_skipped(
    tmp_path: Path, state_url: str
) -> None:
    db = StateDB(state_url)
    log = CommitLog(tmp_path / "commits.db")
    registry = CollectorRegistry()
    consumers = Consumers(log, db, registry)
    recorder = Recorder(db, poison_seq=3)
    runner = consumers.add(recorder)
    log.append([heart_rate("band-1", 120.0, MORNING) for _ in range(5)])
    seqs = [e.message.seq for e in log.since(0) if e.message]
    recorder.poison_seq = seqs[2]
    consumers.catch_up()
    # The others' effects are kept, the bad one's (its insert before the raise) are not.
    assert recorder.recorded() == seqs[:2] + seqs[3:]
    assert runner.position == log.head()
    assert consumers.cursors.get("recorder") == log.head()
    [dead] = consumers.cursors.dead_letters("recorder")
    assert (dead.consumer, dead.entry, dead.device_id, dead.seq) == (
        "recorder",
        "message",
        "band-1",
        seqs[2],
    )
    assert "ValueError: cannot handle seq" in dead.error and "Traceback" in dead.detail
    value = registry.get_sample_value("campusedge_consumer_errors_total", {"consumer": "recorder"})
    assert value == 1.0
    handled = registry.get_sample_value(
        "campusedge_consumer_entries_total", {"consumer": "recorder"}
    )
    assert handled == 5.0


def test_a_restarted_consumer_resumes_from_its_cursor(tmp_path: Path, state_url: str) -> None:
    db = StateDB(state_url)
    log = CommitLog(tmp_path / "commits.db")
    log.append([heart_rate("band-1", 120.0, MORNING) for _ in range(3)])
    Consumers(log, db, CollectorRegistry()).add(Recorder(db)).catch_up()
    assert len(Recorder(db).recorded()) == 3
    log.append([heart_rate("band-2", 120.0, MORNING) for _ in range(2)])
    # A new process: new consumers on the same files handle only what came after the cursor.
    restarted = Consumers(log, db, CollectorRegistry())
    restarted.add(Recorder(db)).catch_up()
    restarted.catch_up()
    seqs = [e.message.seq for e in log.since(0) if e.message]
    assert Recorder(db).recorded() == seqs  # each once, in commit order
    assert restarted.caught_up()


def test_a_crash_mid_step_keeps_neither_the_alert_nor_the_cursor_and_the_restart_alerts_once(
    tmp_path: Path, state_url: str
) -> None:
    w = build_world(state_url)
    log = CommitLog(tmp_path / "commits.db")
    log.append([heart_rate("band-1", 120.0, MORNING), gate_pass("card-c1s01", 38.4, MORNING)])

    dying = Consumers(log, w.db, CollectorRegistry())
    dying.add(CrashingAlerts(w.engine))
    with pytest.raises(Crash):
        dying.catch_up()
    # The engine raised the fever inside the step; the crash rolled it back with the cursor.
    assert w.engine.lifecycle.find(rule=Rule.FEVER) == []
    assert dying.cursors.get("alerts") == 0
    assert w.out.notifications == []  # nothing was sent for the alert that was rolled back

    # The restart: a new engine and consumers on the same state and log.
    engine = AlertEngine(w.db, w.roster, w.devices, w.configs, channels=[w.out], clock=w.clock)
    consumers = Consumers(log, w.db, CollectorRegistry())
    consumers.add(AlertConsumer(engine))
    consumers.catch_up()
    consumers.catch_up()
    [fever] = engine.lifecycle.find(rule=Rule.FEVER)
    assert fever.student_id == "c1s01"
    assert w.out.alert_ids() == [fever.id]  # sent once, after its step committed
    assert consumers.cursors.get("alerts") == log.head()
    # The gate sending the same pass again (a new seq) folds into the same alert.
    log.append([gate_pass("card-c1s01", 38.4, MORNING, seq=10_000)])
    consumers.catch_up()
    assert len(engine.lifecycle.find(rule=Rule.FEVER)) == 1


def test_a_cursor_beyond_a_new_log_starts_that_log_from_its_beginning(
    tmp_path: Path, state_url: str
) -> None:
    db = StateDB(state_url)
    old = CommitLog(tmp_path / "commits.db")
    old.append([heart_rate("band-1", 120.0, MORNING) for _ in range(5)])
    Consumers(old, db, CollectorRegistry()).add(Recorder(db)).catch_up()
    old.prune(old.head(), age_s=0)  # pruned to nothing: the head stays where it was
    assert old.head() == 5 and old.since(0) == []
    old.close()
    # The log file is lost (a state restored onto another machine): a new one starts at 1.
    (tmp_path / "commits.db").unlink()
    new = CommitLog(tmp_path / "commits.db")
    new.append([heart_rate("band-2", 120.0, MORNING) for _ in range(2)])
    consumers = Consumers(new, db, CollectorRegistry())
    consumers.add(Recorder(db))
    consumers.check_cursors()
    consumers.catch_up()
    assert len(Recorder(db).recorded()) == 7  # the new log's two are not skipped


class Counting(Recorder):
    """A recorder that wants only band-9's messages and counts its step transactions."""

    name = "counting"

    def __init__(self, db: StateDB) -> None:
        super().__init__(db)
        self.steps = 0

    def wants(self, entry: Committed) -> bool:
        return entry.message is not None and entry.message.device_id == "band-9"

    def finish(self) -> None:
        self.steps += 1


def test_entries_a_consumer_passes_by_cost_no_transaction_and_its_cursor_is_kept(
    tmp_path: Path, state_url: str
) -> None:
    db = StateDB(state_url)
    log = CommitLog(tmp_path / "commits.db")
    consumers = Consumers(log, db, CollectorRegistry(), batch_limit=10)
    counting = Counting(db)
    runner = consumers.add(counting)
    for _ in range(5):
        log.append([heart_rate("band-1", 120.0, MORNING) for _ in range(10)])
    consumers.catch_up()
    # Five steps of entries it does not want: no step transaction, and its cursor is saved
    # once it has caught up (a restart does not read them again).
    assert counting.steps == 0 and counting.recorded() == []
    assert consumers.cursors.get("counting") == log.head() == runner.position
    log.append([heart_rate("band-9", 120.0, MORNING)])
    consumers.catch_up()
    assert counting.steps == 1 and len(counting.recorded()) == 1
    assert consumers.cursors.get("counting") == log.head()


def test_a_running_consumer_saves_a_passed_by_cursor_when_due_not_after_every_commit(
    tmp_path: Path, state_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Seven consumers caught up after every commit of a drain each wrote their cursor: a
    # state-database transaction per consumer and batch for entries they do not want.
    monkeypatch.setattr(runner_module, "PASSED_BY_SAVE_S", 3600.0)
    db = StateDB(state_url)
    log = CommitLog(tmp_path / "commits.db")
    consumers = Consumers(log, db, CollectorRegistry(), batch_limit=10)
    runner = consumers.add(Counting(db))
    runner.start()
    try:
        for _ in range(5):
            log.append([heart_rate("band-1", 120.0, MORNING) for _ in range(10)])
            runner.wake()
        _wait_for(lambda: runner.position == log.head())
        assert consumers.cursors.get("counting") == 0  # passed by, not saved yet
        # When due (here: at once), the idle loop saves it within about a second.
        monkeypatch.setattr(runner_module, "PASSED_BY_SAVE_S", 0.0)
        _wait_for(lambda: consumers.cursors.get("counting") == log.head())
        monkeypatch.setattr(runner_module, "PASSED_BY_SAVE_S", 3600.0)
        log.append([heart_rate("band-1", 120.0, MORNING)])
        runner.wake()
        _wait_for(lambda: runner.position == log.head())
    finally:
        runner.stop()
    assert consumers.cursors.get("counting") == log.head()  # and at stop


def _wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_consumer_moves_past_a_page_of_readings_the_store_no_longer_has(
    tmp_path: Path, state_url: str
) -> None:
    # Readings logged by key and erased from the store before a consumer read them from the
    # file: a whole page of them must not look like "caught up" and stop the consumer there.
    store = SqliteStore(tmp_path / "store.db")
    erased = [
        dataclasses.replace(heart_rate("band-1", 120.0, MORNING), seq=seq, student_id="s9")
        for seq in (1, 2, 3)
    ]
    kept = [dataclasses.replace(heart_rate("band-2", 120.0, MORNING), seq=seq) for seq in (4, 5)]
    writer = CommitLog(tmp_path / "commits.db", source=store)
    store.write(erased + kept)
    writer.append(erased + kept)
    writer.close()
    store.forget_student("s9")
    db = StateDB(state_url)
    log = CommitLog(tmp_path / "commits.db", source=store)  # a restart: read from the file
    consumers = Consumers(log, db, CollectorRegistry(), batch_limit=3)
    runner = consumers.add(Recorder(db))
    consumers.catch_up()
    assert Recorder(db).recorded() == [4, 5]
    assert runner.position == log.head() == 5
    assert consumers.cursors.get("recorder") == 5
    log.close()
    store.close()
