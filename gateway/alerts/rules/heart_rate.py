"""Heart rate in PE: sustained high and extreme, sustained low, signal lost; tests expected."""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from campusedge.topics import DeviceKind
from gateway.alerts.config import HeartRateConfig
from gateway.alerts.lookup import RosterLookup
from gateway.alerts.model import Candidate, Rule, Severity
from gateway.alerts.rules import reading
from gateway.roster import Lesson, LessonKind
from gateway.store.base import StoredMessage

_FORGET = timedelta(hours=1)

# (school, lesson, device id -> student id, the school's heart-rate config)
RunningLesson = tuple[str, Lesson, dict[str, str], HeartRateConfig]


def tanaka_max(age_years: float) -> float:
    """Predicted maximum heart rate, 208 − 0.7 × age (Tanaka 2001; best for children)."""
    return 208.0 - 0.7 * age_years


@dataclass
class _Track:
    """What we know of one band in one lesson."""

    lesson_id: str
    student_id: str
    last_ts: datetime
    last_received: datetime
    high_since: datetime | None = None
    low_since: datetime | None = None
    extreme_since: datetime | None = None
    high_fired: bool = False
    extreme_fired: bool = False
    low_fired: bool = False
    lost_fired: bool = False


class HeartRateWatch:
    """Per-band state across batches; one instance per engine (no module-level state)."""

    def __init__(self, watching_since: datetime) -> None:
        # Silence is counted from when this watch began at the earliest: after a gateway
        # restart, bands of a running lesson get a full grace period to be heard again
        # rather than all being reported lost at the first tick.
        self.watching_since = watching_since
        self._tracks: dict[str, _Track] = {}
        # A student's maximal effort is expected while their own rope counts: per student, the
        # device time their rope last counted up, and per rope its last count.
        self._exerting: dict[str, datetime] = {}
        self._rope_counts: dict[str, float] = {}
        self._lock = threading.Lock()

    def on_message(
        self, msg: StoredMessage, cfg: HeartRateConfig, lookup: RosterLookup
    ) -> list[Candidate]:
        if msg.kind is DeviceKind.JUMP_ROPE:
            self._note_rope(msg)
            return []
        if msg.kind is not DeviceKind.HR_BAND:
            return []
        bpm = reading(msg, "heart_rate")
        if bpm is None:
            return []
        if msg.student_id is None or msg.lesson_id is None:
            return []  # a band nobody wears in a running lesson (bound at ingest)
        with self._lock:
            track = self._tracks.get(msg.device_id)
            if track is None or track.lesson_id != msg.lesson_id:
                track = _Track(msg.lesson_id, msg.student_id, msg.ts, msg.received_at)
                self._tracks[msg.device_id] = track
            gap = (msg.ts - track.last_ts).total_seconds()
            if gap > cfg.signal_lost_s:
                # A gap this long breaks "sustained": start counting again.
                track.high_since = track.low_since = None
            track.last_ts = max(track.last_ts, msg.ts)
            track.last_received = max(track.last_received, msg.received_at)
            track.lost_fired = False
            return self._judge(track, msg, bpm, cfg, lookup)

    def _note_rope(self, msg: StoredMessage) -> None:
        count = reading(msg, "rope_count")
        if count is None or msg.student_id is None:
            return
        with self._lock:
            before = self._rope_counts.get(msg.device_id)
            self._rope_counts[msg.device_id] = count
            if before is not None and count > before:
                last = self._exerting.get(msg.student_id)
                self._exerting[msg.student_id] = msg.ts if last is None else max(last, msg.ts)

    def exerting_until(
        self, student_id: str, lesson: Lesson | None, cfg: HeartRateConfig
    ) -> datetime | None:
        """Until when a high rate is expected of this student: in a fitness-test lesson, all
        of it; else while their rope counts and `exertion_recovery_s` after."""
        if lesson is not None and lesson.kind is LessonKind.FITNESS_TEST:
            return datetime.max.replace(tzinfo=UTC)
        last = self._exerting.get(student_id)
        return None if last is None else last + timedelta(seconds=cfg.exertion_recovery_s)

    def _judge(
        self,
        track: _Track,
        msg: StoredMessage,
        bpm: float,
        cfg: HeartRateConfig,
        lookup: RosterLookup,
    ) -> list[Candidate]:
        student = lookup.student(track.student_id)
        if student is None:
            return []
        age = student.age_on(msg.ts.date())
        limit = cfg.high_share_of_max * tanaka_max(age)
        out: list[Candidate] = []
        if bpm >= cfg.extreme_bpm:
            track.extreme_since = track.extreme_since or msg.ts
            held = (msg.ts - track.extreme_since).total_seconds()
            if held >= cfg.extreme_sustain_s and not track.extreme_fired:
                track.extreme_fired = True
                out.append(
                    self._candidate(
                        Rule.HR_EXTREME,
                        Severity.CRITICAL,
                        track,
                        msg,
                        lookup,
                        student.class_id,
                        f"heart rate {bpm:.0f} bpm, at or above {cfg.extreme_bpm:.0f}, "
                        f"for {held:.0f} s",
                        {
                            "bpm": bpm,
                            "limit_bpm": cfg.extreme_bpm,
                            "held_s": held,
                            "max_value": bpm,
                        },
                    )
                )
        else:
            track.extreme_since, track.extreme_fired = None, False
        expected = self.exerting_until(track.student_id, lookup.lesson(track.lesson_id), cfg)
        if bpm >= limit and (expected is None or msg.ts > expected):
            # Counted from the end of the test and its recovery at the earliest: a rate that
            # stays high after that is not the test's.
            start = msg.ts if track.high_since is None else track.high_since
            if expected is not None:
                start = max(start, expected)
            track.high_since = start
            held = (msg.ts - track.high_since).total_seconds()
            if held >= cfg.high_sustain_s and not track.high_fired:
                track.high_fired = True
                out.append(
                    self._candidate(
                        Rule.HR_HIGH,
                        Severity.WARNING,
                        track,
                        msg,
                        lookup,
                        student.class_id,
                        f"heart rate {bpm:.0f} bpm above {limit:.0f} "
                        f"({cfg.high_share_of_max:.0%} of "
                        f"208 − 0.7 × {age}) for {held:.0f} s",
                        {
                            "bpm": bpm,
                            "limit_bpm": round(limit, 1),
                            "age": age,
                            "held_s": held,
                            "max_value": bpm,
                        },
                    )
                )
        elif bpm < limit:
            track.high_since, track.high_fired = None, False
        if bpm < cfg.low_bpm:
            track.low_since = track.low_since or msg.ts
            held = (msg.ts - track.low_since).total_seconds()
            if held >= cfg.low_sustain_s and not track.low_fired:
                track.low_fired = True
                out.append(
                    self._candidate(
                        Rule.HR_LOW,
                        Severity.CRITICAL,
                        track,
                        msg,
                        lookup,
                        student.class_id,
                        f"heart rate {bpm:.0f} bpm below {cfg.low_bpm:.0f} for {held:.0f} s",
                        {"bpm": bpm, "limit_bpm": cfg.low_bpm, "held_s": held},
                    )
                )
        else:
            track.low_since, track.low_fired = None, False
        return out

    @staticmethod
    def _candidate(
        rule: Rule,
        severity: Severity,
        track: _Track,
        msg: StoredMessage,
        lookup: RosterLookup,
        class_id: str,
        summary: str,
        detail: dict[str, object],
    ) -> Candidate:
        lesson = lookup.lesson(track.lesson_id)
        return Candidate(
            rule=rule,
            key=f"{rule.value}:{track.lesson_id}:{track.student_id}",
            school=msg.school,
            severity=severity,
            at=msg.ts,
            summary=summary,
            student_id=track.student_id,
            class_id=class_id,
            lesson_id=track.lesson_id,
            teacher_id=lesson.teacher_id if lesson else None,
            device_id=msg.device_id,
            detail=detail,
        )

    def on_tick(
        self, now: datetime, lessons: list[RunningLesson], paused: Collection[str] = ()
    ) -> list[Candidate]:
        """Signal lost: a band bound in a running lesson that has been silent too long.

        Bands in *paused* are silent on purpose (their box stopped cleanly): their silence
        does not count, and once they are back they get a full `signal_lost_s` to be heard.
        """
        out: list[Candidate] = []
        with self._lock:
            for school, lesson, assignments, cfg in lessons:
                limit = timedelta(seconds=cfg.signal_lost_s)
                for device_id, student_id in assignments.items():
                    track = self._tracks.get(device_id)
                    if track is None or track.lesson_id != lesson.id:
                        since = max(lesson.started_at, self.watching_since)
                        track = _Track(lesson.id, student_id, since, since)
                        self._tracks[device_id] = track
                    if device_id in paused:
                        track.last_received = max(track.last_received, now)
                        continue
                    silent = now - track.last_received
                    if silent > limit and not track.lost_fired:
                        track.lost_fired = True
                        out.append(
                            Candidate(
                                rule=Rule.HR_SIGNAL_LOST,
                                key=f"{Rule.HR_SIGNAL_LOST.value}:{lesson.id}:{student_id}",
                                school=school,
                                severity=Severity.WARNING,
                                at=now,
                                summary=f"no heart-rate signal from band {device_id} for "
                                f"{silent.total_seconds():.0f} s during the lesson",
                                student_id=student_id,
                                lesson_id=lesson.id,
                                class_id=lesson.class_id,
                                teacher_id=lesson.teacher_id,
                                device_id=device_id,
                                detail={"silent_s": round(silent.total_seconds(), 1)},
                            )
                        )
            # Forget bands of lessons that have ended.
            running = {lesson.id for _, lesson, _, _ in lessons}
            for device_id in [
                d
                for d, t in self._tracks.items()
                if t.lesson_id not in running and (now - t.last_received) > timedelta(minutes=10)
            ]:
                del self._tracks[device_id]
            # Bounded: a rope that counted more than an hour ago exempts nobody any more.
            for student_id in [s for s, at in self._exerting.items() if now - at > _FORGET]:
                del self._exerting[student_id]
            if len(self._rope_counts) > 10_000:
                self._rope_counts.clear()  # forgetting only costs one reading's comparison
        return out
