"""The competition consumer: rope sets become ranked or held results, once, across restarts."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from campusedge.contract import TimeQuality
from campusedge.topics import DeviceKind
from gateway.binding import Binder
from gateway.competition.anti_cheat import RopeSet
from gateway.competition.config import CompetitionConfig
from gateway.competition.results import Competitions
from gateway.consumers.competition import CompetitionConsumer
from gateway.consumers.cursors import Cursors
from gateway.consumers.runner import Consumers
from gateway.roster import LessonKind, Roster
from gateway.state import StateDB
from gateway.store.base import StoredMessage
from gateway.store.commit_log import CommitLog
from tests.gateway.competition.conftest import sample

START = datetime.fromisoformat("2026-11-02T09:10:00+08:00")


class Crash(BaseException):
    """Stands for the process dying mid-step (kill -9): nothing after it runs."""


class CrashingConsumer(CompetitionConsumer):
    def finish(self) -> None:
        raise Crash


def rope(device: str, seq: int, at: datetime, **event: object) -> StoredMessage:
    """A running count (no event) or, with count=..., a finished 60 s countdown set."""
    count = event.pop("count", None)
    readings: tuple[tuple[str, float, str], ...]
    if count is None:
        readings = (("rope_count", float(seq * 10), "count"), ("rope_elapsed", 10.0, "s"))
        kind = None
        attributes: tuple[tuple[str, bool | int | float | str | None], ...] = ()
    else:
        readings = (("rope_count", float(count), "count"), ("rope_elapsed", 60.0, "s"))  # type: ignore[arg-type]
        kind = "rope_result"
        attributes = (("mode", "countdown_time"), ("set_value", 60), ("trips", 1))
    return StoredMessage(
        school="sch1",
        kind=DeviceKind.JUMP_ROPE,
        device_id=device,
        seq=seq,
        ts=at,
        time_quality=TimeQuality.ESTIMATED,
        received_at=at,
        readings=readings,
        event_type=kind,
        attributes=attributes,
    )


@pytest.fixture
def world(state_url: str) -> tuple[StateDB, Roster, Competitions]:
    db = StateDB(state_url)
    roster = Roster(db)
    roster.add_class("5a", "sch1", "五(1)班", "5", "t1")
    roster.add_class("3a", "sch1", "三(1)班", "3", "t1")
    roster.add_student("s1", "王小明", "M", date(2015, 3, 1), "5a")
    roster.add_student("s2", "李华", "F", date(2015, 4, 1), "5a")
    roster.add_student("s3", "张三", "M", date(2017, 4, 1), "3a")
    roster.start_lesson(
        "5a",
        "t1",
        LessonKind.LESSON,
        {"rope-1": "s1", "rope-2": "s2"},
        at=START - timedelta(hours=1),
    )
    roster.start_lesson(
        "3a", "t1", LessonKind.LESSON, {"rope-4": "s3"}, at=START - timedelta(hours=1)
    )
    competitions = Competitions(db)
    competitions.define(sample(), "it1")
    return db, roster, competitions


def bound(roster: Roster, messages: list[StoredMessage]) -> list[StoredMessage]:
    return Binder(roster).bind_messages(messages)  # as ingest binds before it stores


def run(log: CommitLog, db: StateDB, consumer: CompetitionConsumer) -> Consumers:
    consumers = Consumers(log, db, CollectorRegistry())
    consumers.add(consumer)
    consumers.catch_up()
    return consumers


def test_sets_are_ranked_or_held_with_their_reasons_and_stored_once(
    tmp_path: Path, world: tuple[StateDB, Roster, Competitions]
) -> None:
    db, roster, competitions = world
    log = CommitLog(f"{tmp_path}/commits.db")
    finish = START + timedelta(seconds=60)
    # Running counts of rope-1 come in a step of their own: kept in the state database.
    log.append(bound(roster, [rope("rope-1", 1, START + timedelta(seconds=20))]))
    run(log, db, CompetitionConsumer(competitions, roster, CollectorRegistry()))
    sets = [
        rope("rope-1", 2, finish, count=182),  # fair
        rope("rope-2", 1, finish, count=175),  # no running count at all
        rope("rope-3", 1, START + timedelta(seconds=30)),
        rope("rope-3", 2, finish, count=400),  # unbound, and above the 300 ceiling
        rope("rope-4", 1, START + timedelta(seconds=30)),
        rope("rope-4", 2, finish, count=150),  # a grade 3 student: not entered
        # Another school's rope, and a free-mode set: neither is the competition's.
        dataclasses.replace(rope("rope-1", 9, finish, count=100), school="sch7"),
        dataclasses.replace(rope("rope-1", 10, finish, count=100), attributes=(("mode", "free"),)),
    ]
    log.append(bound(roster, sets))

    # The process dies after the step's effects, before its commit: none of them is kept.
    with pytest.raises(Crash):
        run(log, db, CrashingConsumer(competitions, roster, CollectorRegistry()))
    assert competitions.results("autumn-cup-2026") == []

    registry = CollectorRegistry()
    consumers = run(log, db, CompetitionConsumer(competitions, roster, registry))
    stored = {(r.device_id, r.status, r.reasons) for r in competitions.results("autumn-cup-2026")}
    assert stored == {
        ("rope-1", "ranked", ()),
        ("rope-2", "held", ("no_live_progress",)),
        ("rope-3", "held", ("over_ceiling", "unbound")),
        ("rope-4", "held", ("not_entered",)),
    }
    [ranked] = competitions.entries("autumn-cup-2026")
    assert (ranked.student_id, ranked.class_id, ranked.count, ranked.grade) == (
        "s1",
        "5a",
        182,
        "5",
    )
    assert consumers.cursors.dead_letters("competitions") == []

    def counted(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(f"campusedge_competition_{name}_total", labels)

    assert (counted("sets", status="ranked"), counted("sets", status="held")) == (1.0, 3.0)
    assert counted("holds", reason="unbound") == counted("holds", reason="over_ceiling") == 1.0

    # Read again from the start (a cursor lost with a restored state) and a redelivery: the
    # rows are keyed by the rope message, so nothing is counted twice.
    with db.transaction() as conn:
        Cursors.save(conn, "competitions", 0)
    log.append(bound(roster, sets[:2]))
    run(log, db, CompetitionConsumer(competitions, roster, CollectorRegistry()))
    assert len(competitions.results("autumn-cup-2026")) == 4
    log.close()
    db.close()


def test_a_teacher_approves_a_held_set_into_the_ranking_or_rejects_it(
    tmp_path: Path, world: tuple[StateDB, Roster, Competitions]
) -> None:
    db, roster, competitions = world
    log = CommitLog(f"{tmp_path}/commits.db")
    finish = START + timedelta(seconds=60)
    log.append(
        bound(roster, [rope("rope-1", 1, finish, count=190), rope("rope-2", 1, finish, count=170)])
    )
    run(log, db, CompetitionConsumer(competitions, roster, CollectorRegistry()))
    held = {r.device_id: r for r in competitions.results("autumn-cup-2026", {"sch1"}, ["held"])}
    assert set(held) == {"rope-1", "rope-2"}
    approved = competitions.review(held["rope-2"].id, "approve", "t1")
    assert (approved.status, approved.reviewed_by) == ("approved", "t1")
    competitions.review(held["rope-1"].id, "reject", "t1")
    assert [(e.student_id, e.count) for e in competitions.entries("autumn-cup-2026")] == [
        ("s2", 170)
    ]
    with pytest.raises(ValueError, match="not held for review"):
        competitions.review(held["rope-1"].id, "approve", "t1")
    log.close()
    db.close()


def test_a_set_bound_to_a_student_the_roster_no_longer_has_is_held_not_dropped(
    tmp_path: Path, world: tuple[StateDB, Roster, Competitions]
) -> None:
    db, roster, competitions = world
    log = CommitLog(f"{tmp_path}/commits.db")
    finish = START + timedelta(seconds=60)
    running = rope("rope-1", 1, START + timedelta(seconds=30))
    result = rope("rope-1", 2, finish, count=180)
    # Bound at ingest to a student id the roster does not have by the time the set is placed.
    log.append([dataclasses.replace(m, student_id="s-gone") for m in bound(roster, [running])])
    log.append([dataclasses.replace(m, student_id="s-gone") for m in bound(roster, [result])])
    run(log, db, CompetitionConsumer(competitions, roster, CollectorRegistry()))
    [stored] = competitions.results("autumn-cup-2026")
    assert (stored.status, stored.student_id, stored.count) == ("held", "s-gone", 180)
    assert "unknown_student" in stored.reasons
    # A teacher may approve it, but a set of no known student stays off the board.
    competitions.review(stored.id, "approve", "t1")
    assert competitions.entries("autumn-cup-2026") == []
    log.close()
    db.close()


class FailingAfterItsRow(CompetitionConsumer):
    """Raises on rope-2's set once its row is written (a bug, or the database refusing)."""

    def _place(self, config: CompetitionConfig, m: StoredMessage, found: RopeSet) -> None:
        super()._place(config, m, found)
        if found.device_id == "rope-2":
            raise RuntimeError("refused after the row")


def test_a_set_that_fails_leaves_nothing_and_the_rest_of_its_step_is_kept(
    tmp_path: Path, world: tuple[StateDB, Roster, Competitions]
) -> None:
    # Running counts take no savepoint of their own; a finished set does, so that a failing
    # one is undone alone and dead-lettered while the step's other effects commit.
    db, roster, competitions = world
    log = CommitLog(f"{tmp_path}/commits.db")
    finish = START + timedelta(seconds=60)
    log.append(
        bound(
            roster,
            [
                rope("rope-1", 1, START + timedelta(seconds=20)),
                rope("rope-2", 1, START + timedelta(seconds=20)),
                rope("rope-2", 2, finish, count=170),
                rope("rope-1", 2, finish, count=182),
            ],
        )
    )
    consumers = run(log, db, FailingAfterItsRow(competitions, roster, CollectorRegistry()))
    assert [(r.device_id, r.count) for r in competitions.results("autumn-cup-2026")] == [
        ("rope-1", 182)
    ]
    [letter] = consumers.cursors.dead_letters("competitions")
    assert (letter.position, "refused after the row" in letter.error) == (3, True)
    assert competitions.last_progress("sch1", "rope-2") == START + timedelta(seconds=20)
    log.close()
    db.close()
