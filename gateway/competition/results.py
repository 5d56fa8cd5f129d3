"""Competitions and their results in the state database (SQLAlchemy Core, SQLite or PostgreSQL).

A result is stored once per rope message (unique on competition, school, device and seq):
ranked when no anti-cheat rule holds it, else held with its reasons until a PE teacher of its
school approves (it is then ranked) or rejects it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import RowMapping, exc, select, update

from gateway.competition.anti_cheat import Hold, Placement, RopeSet
from gateway.competition.anti_cheat import Participant as Participant
from gateway.competition.config import CompetitionConfig, validate
from gateway.competition.leaderboard import Leaderboard
from gateway.competition.live import BoardHub
from gateway.competition.ranking import Entry
from gateway.i18n import N_, Worded
from gateway.state import StateDB, insert_or_ignore, upsert_rows
from gateway.tables.competition import competition_results, competitions, rope_progress
from gateway.tables.roster import classes, students

Decision = Literal["approve", "reject"]
RANKED_STATUSES = ("ranked", "approved")
# How long a board is reused when no change was told of (another worker's changes).
BOARD_TTL_S = 2.0


class CompetitionError(Worded, ValueError):
    """A competition or result that cannot be changed as asked (said in the reader's words)."""


class CompetitionExists(CompetitionError):
    pass


class NotHeld(CompetitionError):
    pass


@dataclass(frozen=True)
class StoredResult:
    """One stored set of a competition, as PE teachers review it (pseudonymous ids only)."""

    id: int
    competition_id: str
    round_id: str | None
    event: str
    school: str
    device_id: str
    seq: int
    student_id: str | None
    class_id: str | None
    count: int
    trips: int
    started_at: datetime
    finished_at: datetime
    status: str
    reasons: tuple[str, ...]
    reviewed_by: str | None


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


class Competitions:
    """Competitions, their results and each rope's newest progress time."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._cache: dict[str, CompetitionConfig] | None = None
        self.generation = 0  # bumped when this process defines one
        # Told (with the competition id) after results are stored or reviewed: live boards.
        self.hub = BoardHub()
        self.on_changed: list[Callable[[str], None]] = []
        self._versions: dict[str, int] = {}
        self._boards: dict[str, tuple[int, float, Leaderboard]] = {}

    # --- definitions ------------------------------------------------------------------------
    def define(self, config: CompetitionConfig, by: str) -> None:
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    competitions.insert().values(
                        id=config.id,
                        name=config.name,
                        definition=config.model_dump_json(),
                        defined_by=by,
                        defined_at=_iso(datetime.now(UTC)),
                    )
                )
        except exc.IntegrityError:
            # The key decides, not a look first: two workers defining one id at once.
            raise CompetitionExists(
                N_("competition {competition_id!r} exists already"), competition_id=config.id
            ) from None
        with self._lock:
            self._cache = None
            self.generation += 1

    def all(self) -> list[CompetitionConfig]:
        with self._lock:
            cached = self._cache
        if cached is None:
            rows = self.db.query(select(competitions.c.id, competitions.c.definition))
            cached = {
                r["id"]: validate(json.loads(r["definition"]), f"stored {r['id']}") for r in rows
            }
            with self._lock:
                self._cache = cached
        return sorted(cached.values(), key=lambda c: (c.opens_at, c.id))

    def forget_cache(self) -> None:
        """Read the definitions again (another gateway worker may have added one)."""
        with self._lock:
            self._cache = None

    def get(self, competition_id: str) -> CompetitionConfig | None:
        return next((c for c in self.all() if c.id == competition_id), None)

    # --- results ----------------------------------------------------------------------------
    def record(
        self,
        config: CompetitionConfig,
        placement: Placement,
        rope_set: RopeSet,
        participant: Participant | None,
        student_id: str | None,
        reasons: list[Hold],
    ) -> bool:
        """Store one set (ranked, or held with *reasons*); False when it was stored before.
        Inside a transaction (the competition consumer's step) it is one statement of it."""
        with self.db.joined() as conn:
            done = conn.execute(
                insert_or_ignore(conn, competition_results),
                {
                    "competition_id": config.id,
                    "round_id": placement.round.id if placement.round else None,
                    "event": placement.event,
                    "school": rope_set.school,
                    "device_id": rope_set.device_id,
                    "seq": rope_set.seq,
                    "student_id": student_id,
                    "class_id": participant.class_id if participant else None,
                    "grade": participant.grade if participant else None,
                    "sex": participant.sex if participant else None,
                    "count": rope_set.count,
                    "trips": rope_set.trips,
                    "started_at": _iso(rope_set.started_at),
                    "finished_at": _iso(rope_set.finished_at),
                    "status": "held" if reasons else "ranked",
                    "reasons": ",".join(r.value for r in reasons),
                    "reviewed_by": None,
                    "reviewed_at": None,
                    "recorded_at": _iso(datetime.now(UTC)),
                },
            )
        return bool(done.rowcount)

    def note_progress(self, newest: dict[tuple[str, str], datetime]) -> None:
        """Each rope's newest running-count time (school, device) -> device time."""
        if not newest:
            return
        with self.db.joined() as conn:
            conn.execute(
                upsert_rows(
                    conn, rope_progress, ["school", "device_id", "last_at"], ["school", "device_id"]
                ),
                [
                    {"school": s, "device_id": d, "last_at": _iso(at)}
                    for (s, d), at in sorted(newest.items())
                ],
            )

    def last_progress(self, school: str, device_id: str) -> datetime | None:
        p = rope_progress.c
        rows = self.db.query(select(p.last_at).where(p.school == school, p.device_id == device_id))
        return datetime.fromisoformat(rows[0]["last_at"]) if rows else None

    def results(
        self,
        competition_id: str,
        schools: Collection[str] | None = None,
        statuses: Iterable[str] | None = None,
    ) -> list[StoredResult]:
        """A competition's stored sets, of *schools* and *statuses* when given, oldest first."""
        c = competition_results.c
        query = select(competition_results).where(c.competition_id == competition_id)
        if schools is not None:
            query = query.where(c.school.in_(sorted(schools)))
        if statuses is not None:
            query = query.where(c.status.in_(list(statuses)))
        return [_result(r) for r in self.db.query(query.order_by(c.id))]

    def result(self, result_id: int) -> StoredResult | None:
        c = competition_results.c
        rows = self.db.query(select(competition_results).where(c.id == result_id))
        return _result(rows[0]) if rows else None

    def review(self, result_id: int, decision: Decision, by: str) -> StoredResult:
        """Approve (rank) or reject a held result; NotHeld when it is not held (any more)."""
        c = competition_results.c
        with self.db.transaction() as conn:
            done = conn.execute(
                update(competition_results)
                .where(c.id == result_id, c.status == "held")
                .values(
                    status="approved" if decision == "approve" else "rejected",
                    reviewed_by=by,
                    reviewed_at=_iso(datetime.now(UTC)),
                )
            )
            if not done.rowcount:
                raise NotHeld(
                    N_("result {result_id} is not held for review (reviewed already?)"),
                    result_id=result_id,
                )
        found = self.result(result_id)
        assert found is not None
        self.changed(found.competition_id)
        return found

    def changed(self, competition_id: str) -> None:
        """After a commit that changed *competition_id*'s results: its live boards read again
        (this process's, then, through `on_changed`, those of the other gateway workers)."""
        self.changed_elsewhere(competition_id)
        self.tell_others(competition_id)

    def tell_others(self, competition_id: str) -> None:
        """The other gateway workers' boards of *competition_id* read again (`on_changed`).
        Called inside the transaction that changes the results, the notice goes out with its
        commit (PostgreSQL's NOTIFY is transactional): no transaction of its own after it."""
        for tell in self.on_changed:
            tell(competition_id)

    def changed_elsewhere(self, competition_id: str | None) -> None:
        """*competition_id*'s results changed, committed by another worker or by this one's
        consumer, which told the others itself (None: any competition's): this process's
        boards read again."""
        with self._lock:
            cached = [competition_id] if competition_id is not None else list(self._boards)
            for changed in cached:
                self._versions[changed] = self._versions.get(changed, 0) + 1
        streamed = [competition_id] if competition_id is not None else self.hub.competitions()
        for changed in streamed:
            self.hub.changed(changed)

    def board(self, competition_id: str, build: Callable[[], Leaderboard]) -> Leaderboard:
        """The competition's board, built again after a change this process was told of, or
        when older than BOARD_TTL_S (a change another gateway worker made): every open stream
        and poll between changes shares one build."""
        now = time.monotonic()
        with self._lock:
            version = self._versions.get(competition_id, 0)
            hit = self._boards.get(competition_id)
        if hit is not None and hit[0] == version and now - hit[1] < BOARD_TTL_S:
            return hit[2]
        board = build()
        with self._lock:
            self._boards[competition_id] = (version, now, board)
        return board

    def entries(self, competition_id: str) -> list[Entry]:
        """The sets that rank: ranked or approved, of a known student."""
        return self.board_rows(competition_id)[0]

    def board_rows(self, competition_id: str) -> tuple[list[Entry], dict[str, str], dict[str, str]]:
        """The sets that rank, with their students' and classes' names (by id), in one query:
        a live board is built again at each change, and every query is a round trip (on
        PostgreSQL three, with the connection's check and its rollback)."""
        c = competition_results.c
        rows = self.db.query(
            select(
                competition_results,
                students.c.name.label("student_name"),
                classes.c.name.label("class_name"),
            )
            .outerjoin(students, students.c.id == c.student_id)
            .outerjoin(classes, classes.c.id == c.class_id)
            .where(c.competition_id == competition_id, c.status.in_(RANKED_STATUSES))
        )
        entries: list[Entry] = []
        names: dict[str, str] = {}
        class_names: dict[str, str] = {}
        for row in rows:
            r = _result(row)
            if r.student_id is None or r.class_id is None:
                continue
            entries.append(
                Entry(
                    r.id,
                    r.event,
                    r.student_id,
                    r.school,
                    r.class_id,
                    row["grade"] or "",
                    row["sex"] or "",
                    r.count,
                    r.trips,
                    r.finished_at,
                    r.device_id,
                    r.seq,
                )
            )
            if row["student_name"] is not None:
                names[r.student_id] = row["student_name"]
            if row["class_name"] is not None:
                class_names[r.class_id] = row["class_name"]
        return entries, names, class_names


def _result(m: RowMapping) -> StoredResult:
    return StoredResult(
        id=int(m["id"]),
        competition_id=m["competition_id"],
        round_id=m["round_id"],
        event=m["event"],
        school=m["school"],
        device_id=m["device_id"],
        seq=int(m["seq"]),
        student_id=m["student_id"],
        class_id=m["class_id"],
        count=int(m["count"]),
        trips=int(m["trips"]),
        started_at=datetime.fromisoformat(m["started_at"]),
        finished_at=datetime.fromisoformat(m["finished_at"]),
        status=m["status"],
        reasons=tuple(x for x in m["reasons"].split(",") if x),
        reviewed_by=m["reviewed_by"],
    )
