"""The ingest listener: device results become scored test results; live values feed lesson views.

Runs on the ingest writer thread after each commit, so it binds a whole batch with one roster
query and records all of a batch's results in one transaction. It is idempotent:
results are keyed by (device_id, seq) and live values keep the newest device timestamp, so a
message redelivered after a crash changes nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter

from gateway.fitness.device_events import RESULT_EVENTS, NotATestResult, result_of_event
from gateway.fitness.results import FitnessResults, NewResult, ResultError
from gateway.ingest import CommittedBatch
from gateway.lessons.live import LIVE_METRICS, Latest, LiveLessons
from gateway.roster import Binding, Lesson, LessonKind, Roster
from gateway.store.base import StoredMessage

log = logging.getLogger(__name__)


class BatchBinder:
    """Binds a batch's messages with one roster query, by the same rule as `Roster.bind`:
    the latest-started lesson that assigns the device and is open at the message's time."""

    def __init__(self, roster: Roster, since: datetime) -> None:
        self._by_device: dict[str, list[tuple[Binding, Lesson]]] = {}
        for device_id, binding, lesson in roster.assignments_open_since(since):
            self._by_device.setdefault(device_id, []).append((binding, lesson))
        for held in self._by_device.values():
            held.sort(key=lambda pair: pair[1].started_at, reverse=True)

    def bind(self, device_id: str, at: datetime) -> tuple[Binding, Lesson] | None:
        for binding, lesson in self._by_device.get(device_id, ()):
            if lesson.started_at <= at and (lesson.ended_at is None or lesson.ended_at >= at):
                return binding, lesson
        return None


class FitnessListener:
    """Binds device messages to students through the roster at the message's device time."""

    def __init__(
        self,
        roster: Roster,
        results: FitnessResults,
        live: LiveLessons,
        registry: CollectorRegistry,
    ) -> None:
        self.roster = roster
        self.results = results
        self.live = live
        self.outcomes = Counter(
            "campusedge_fitness_device_results",
            "Device result events by outcome (accepted, unbound, ...)",
            ["outcome"],
            registry=registry,
        )

    def __call__(self, batch: CommittedBatch) -> None:
        relevant = [
            m
            for m in batch.messages
            if m.event_type in RESULT_EVENTS
            or any(metric in LIVE_METRICS for metric, _, _ in m.readings)
        ]
        if not relevant:
            return
        binder = BatchBinder(self.roster, min(m.ts for m in relevant))
        pending: list[NewResult] = []
        for message in relevant:
            bound = binder.bind(message.device_id, message.ts)
            if message.event_type in RESULT_EVENTS:
                new = self._result(message, bound)
                if new is not None:
                    pending.append(new)
            if bound is not None:
                self._live(message, bound[0])
        if pending:
            self._record(pending)

    def _live(self, message: StoredMessage, binding: Binding) -> None:
        for metric, value, _unit in message.readings:
            if metric in LIVE_METRICS:
                self.live.update(
                    binding.lesson_id,
                    binding.student_id,
                    metric,
                    Latest(value, message.ts, message.device_id),
                )

    def _count(self, outcome: str, message: StoredMessage, detail: str) -> None:
        self.outcomes.labels(outcome=outcome).inc()
        # An unbound result is most often a device nobody assigned: worth a teacher's look.
        log.log(
            logging.WARNING if outcome == "unbound" else logging.INFO,
            "device result %s/%s not recorded (%s): %s",
            message.device_id,
            message.seq,
            outcome,
            detail,
        )

    def _result(
        self, message: StoredMessage, bound: tuple[Binding, Lesson] | None
    ) -> NewResult | None:
        try:
            found = result_of_event(message)
        except NotATestResult as exc:
            self._count(exc.reason, message, str(exc))
            return None
        if bound is None:
            self._count(
                "unbound",
                message,
                f"no lesson binds {message.device_id} at {message.ts.isoformat()}",
            )
            return None
        binding, lesson = bound
        if lesson.kind is not LessonKind.FITNESS_TEST:
            self._count(
                "not_test_session",
                message,
                f"lesson {binding.lesson_id} is not a fitness_test session",
            )
            return None
        return NewResult(
            lesson_id=binding.lesson_id,
            student_id=binding.student_id,
            item=found.item,
            raw_value=found.value,
            measured_at=message.ts,
            source="device",
            device_id=message.device_id,
            seq=message.seq,
        )

    def _record(self, pending: list[NewResult]) -> None:
        for new, outcome in zip(pending, self.results.record(pending), strict=True):
            if isinstance(outcome, ResultError):
                self.outcomes.labels(outcome="rejected").inc()
                log.warning(
                    "device result %s/%s for student %s refused: %s",
                    new.device_id,
                    new.seq,
                    new.student_id,
                    outcome,
                )
            else:
                # A redelivery is accepted again (and stored once).
                self.outcomes.labels(outcome="accepted").inc()
