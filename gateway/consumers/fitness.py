"""The fitness consumer: device result events of a fitness test session become scored results.

Idempotent: results are keyed by (device_id, seq), so a message handled again changes nothing.
The student and lesson are the message's binding, made once at ingest (`gateway.binding`).
"""

from __future__ import annotations

import contextlib
import logging
from contextlib import AbstractContextManager

from prometheus_client import CollectorRegistry, Counter

from gateway.fitness.device_events import RESULT_EVENTS, NotATestResult, result_of_event
from gateway.fitness.results import FitnessResults, NewResult, ResultError
from gateway.roster import LessonKind, Roster
from gateway.store.base import StoredMessage
from gateway.store.commit_log import Committed

log = logging.getLogger(__name__)


class FitnessConsumer:
    """Records the test results that device events of a bound student carry."""

    name = "fitness_results"
    savepoints = True

    def __init__(
        self, roster: Roster, results: FitnessResults, registry: CollectorRegistry
    ) -> None:
        self.roster = roster
        self.results = results
        self.outcomes = Counter(
            "campusedge_fitness_device_results",
            "Device result events by outcome (accepted, unbound, ...)",
            ["outcome"],
            registry=registry,
        )

    def exclusive(self) -> AbstractContextManager[object]:
        return contextlib.nullcontext()

    def wants(self, entry: Committed) -> bool:
        return entry.message is not None and entry.message.event_type in RESULT_EVENTS

    def handle(self, entry: Committed) -> None:
        message = entry.message
        if message is None or message.event_type not in RESULT_EVENTS:
            return
        new = self._result(message)
        if new is not None:
            self._record([new])

    def finish(self) -> None:
        pass

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

    def _result(self, message: StoredMessage) -> NewResult | None:
        try:
            found = result_of_event(message)
        except NotATestResult as exc:
            self._count(exc.reason, message, str(exc))
            return None
        if message.student_id is None or message.lesson_id is None:
            self._count(
                "unbound",
                message,
                f"no lesson binds {message.device_id} at {message.ts.isoformat()}",
            )
            return None
        lesson = self.roster.lesson(message.lesson_id)
        if lesson is None or lesson.kind is not LessonKind.FITNESS_TEST:
            self._count(
                "not_test_session",
                message,
                f"lesson {message.lesson_id} is not a fitness_test session",
            )
            return None
        return NewResult(
            lesson_id=message.lesson_id,
            student_id=message.student_id,
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
