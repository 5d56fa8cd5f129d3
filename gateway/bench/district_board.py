"""The leaderboard phase of `campusedge bench district`: how long a rope's result takes to show
on the live leaderboard a reader follows.

A competition over every school of the bench is defined as data, as the API takes it; each
school has a class of grade 5 whose ropes a lesson binds to its students. Ropes publish a
running count and then a finished 60-second set to the broker, as an edge box forwards them;
each result goes the real way (broker → the worker holding the school → its commit log → its
competition consumer) and shows on the board that a reader follows over the public page's SSE
stream (`GET /api/competitions/{id}/stream`), opened on one worker while both hold their
share. A result's latency runs from just before its publish to the moment the reader has
parsed the first board that holds it. Counts rise with every set of a school, so that each set
is its student's new best and (school, count) names it on the board.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from campusedge.broker import MosquittoProcess
from campusedge.topics import Channel, DeviceKind, DeviceTopic
from gateway.competition.config import validate
from gateway.competition.results import Competitions
from gateway.roster import LessonKind, Roster
from gateway.state import StateDB
from gateway.tables.competition import competition_results

COMPETITION = "bench-cup"
ROPES_PER_SCHOOL = 2
FIRST_COUNT = 100  # below the event's ceiling of 300 for up to 200 sets a school


def ropes(school: str) -> list[str]:
    return [f"{school}-rope{r}" for r in range(ROPES_PER_SCHOOL)]


def define(db: StateDB, schools: list[str]) -> None:
    """The roster (a class, students and an open lesson binding the ropes, per school) and the
    competition, its round open from an hour ago to three hours on."""
    roster = Roster(db)
    now = datetime.now(UTC)
    for school in schools:
        class_id = f"{school}-5a"
        roster.add_class(class_id, school, "五(1)班", "5")
        assignments = {}
        for r, rope in enumerate(ropes(school)):
            student = f"{school}-s{r}"
            roster.add_student(student, f"Student {r}", "MF"[r % 2], date(2015, 3, 1), class_id)
            assignments[rope] = student
        roster.start_lesson(
            class_id, "bench-teacher", LessonKind.LESSON, assignments, now - timedelta(hours=1)
        )
    config = {
        "id": COMPETITION,
        "name": "District bench cup",
        "schools": schools,
        "grades": ["5"],
        "events": {"rope_1min": {"name": "1-minute rope", "duration_s": 60, "ceiling": 300}},
        "rounds": [
            {
                "id": "r1",
                "event": "rope_1min",
                "opens_at": (now - timedelta(hours=1)).isoformat(),
                "closes_at": (now + timedelta(hours=3)).isoformat(),
            }
        ],
        "team": {"mode": "best_n", "n": ROPES_PER_SCHOOL},
        "public_board": True,  # the reader is a gym screen: no sign-in
    }
    Competitions(db).define(validate(config, "bench"), "bench")


def _message(device: str, seq: int, ts: datetime, body: Mapping[str, object]) -> bytes:
    envelope = {
        "v": 1,
        "device_id": device,
        "kind": "jump_rope",
        "seq": seq,
        "ts": ts.isoformat(),
        "time_quality": "synced",
        **body,
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


class Ropes:
    """The schools' ropes on one MQTT client: a running count, then the finished set."""

    def __init__(self, broker: MosquittoProcess, user: str, password: str) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-ropes")
        self.client.username_pw_set(user, password)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self.seq: dict[str, int] = {}
        self.counts: dict[str, int] = {}
        self.published = 0  # messages (running counts and results)
        self.sent: dict[tuple[str, int], float] = {}  # (school, count) -> monotonic publish time
        self.sent_wall: dict[tuple[str, int], datetime] = {}  # the same on the wall clock

    def publish_set(self, school: str) -> None:
        count = self.counts.get(school, FIRST_COUNT)
        self.counts[school] = count + 1
        rope = ropes(school)[(count - FIRST_COUNT) % ROPES_PER_SCHOOL]
        seq = self.seq.get(rope, 0)
        self.seq[rope] = seq + 2
        now = datetime.now(UTC)
        running = {
            "readings": [
                {"metric": "rope_count", "value": count - 2, "unit": "count"},
                {"metric": "rope_elapsed", "value": 59, "unit": "s"},
            ]
        }
        result = {
            "event": {
                "type": "rope_result",
                "readings": [
                    {"metric": "rope_count", "value": count, "unit": "count"},
                    {"metric": "rope_elapsed", "value": 60, "unit": "s"},
                ],
                "attributes": {"mode": "countdown_time", "set_value": 60, "trips": 0},
            }
        }
        reading_topic = DeviceTopic(school, DeviceKind.JUMP_ROPE, rope, Channel.READING)
        event_topic = DeviceTopic(school, DeviceKind.JUMP_ROPE, rope, Channel.EVENT)
        self.client.publish(
            str(reading_topic), _message(rope, seq + 1, now - timedelta(seconds=1), running), qos=1
        )
        self.sent[(school, count)] = time.monotonic()
        self.sent_wall[(school, count)] = datetime.now(UTC)
        self.client.publish(str(event_topic), _message(rope, seq + 2, now, result), qos=1)
        self.published += 2

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class BoardReader:
    """Follows the leaderboard's SSE stream as the public page does, on a thread of its own,
    noting when each (school, count) first shows."""

    def __init__(self, api: str) -> None:
        self.url = f"{api}/api/competitions/{COMPETITION}/stream"
        self.seen: dict[tuple[str, int], float] = {}
        self.boards = 0
        self.opened = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(10, read=None))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="board-reader", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            with self._client.stream("GET", self.url) as response:
                response.raise_for_status()
                event = ""
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:") and event == "leaderboard":
                        self._board(json.loads(line[5:]), time.monotonic())
        except httpx.HTTPError:
            if not self._stop.is_set():
                raise
        finally:
            self._client.close()

    def _board(self, board: dict[str, object], at: float) -> None:
        self.boards += 1
        for event in board["events"]:  # type: ignore[attr-defined]
            for group in event["individuals"]:
                for row in group["ranking"]:
                    self.seen.setdefault((row["school"], int(row["count"])), at)
        self.opened.set()

    def close(self) -> None:
        """Stop reading; the stream itself ends at the next board or when its worker stops
        (a read blocked on a quiet stream is not interrupted)."""
        self._stop.set()
        self._thread.join(0.1)


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def recorded(db: StateDB) -> dict[tuple[str, int], datetime]:
    """When the competition consumer stored each (school, count), on the wall clock."""
    rows = db.query(
        select(
            competition_results.c.school,
            competition_results.c.count,
            competition_results.c.recorded_at,
        ).where(competition_results.c.competition_id == COMPETITION)
    )
    return {(r["school"], int(r["count"])): datetime.fromisoformat(r["recorded_at"]) for r in rows}


def measure(
    db: StateDB,
    ropes_out: Ropes,
    reader: BoardReader,
    schools: list[str],
    sets: int,
    rate_per_s: float,
) -> dict[str, float | int | None]:
    """Publish *sets* results round the schools at *rate_per_s*; latencies once all show (or
    after 30 s: what never showed is counted, not timed)."""
    if not reader.opened.wait(30):
        raise TimeoutError("the leaderboard stream did not open")
    started = time.monotonic()
    for i in range(sets):
        ropes_out.publish_set(schools[i % len(schools)])
        ahead = started + (i + 1) / rate_per_s - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not set(ropes_out.sent) <= set(reader.seen):
        time.sleep(0.05)
    # A result that never showed counts as slower than any that did (p99 is then None if
    # more than 1 % never showed).
    latencies = [
        (reader.seen[key] - sent) * 1000 if key in reader.seen else math.inf
        for key, sent in ropes_out.sent.items()
    ]

    # The first part of the way: from publish to the result's row, committed by the consumer
    # of the worker holding the school (one wall clock: all on this machine).
    stored = recorded(db)
    to_row = [
        (stored[key] - sent).total_seconds() * 1000 if key in stored else math.inf
        for key, sent in ropes_out.sent_wall.items()
    ]

    def ms(values: list[float], p: float) -> float | None:
        value = percentile(values, p)
        return round(value, 1) if math.isfinite(value) else None

    return {
        "leaderboard_results": len(latencies),
        "leaderboard_missing": sum(1 for x in latencies if math.isinf(x)),
        "leaderboard_median_ms": ms(latencies, 50),
        "leaderboard_p99_ms": ms(latencies, 99),
        "leaderboard_stored_median_ms": ms(to_row, 50),
        "leaderboard_stored_p99_ms": ms(to_row, 99),
    }
