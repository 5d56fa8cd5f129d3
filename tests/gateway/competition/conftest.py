"""The sample competition every competition test starts from."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from gateway.competition.anti_cheat import Hold, Participant, RopeSet, place
from gateway.competition.config import CompetitionConfig, load, validate
from gateway.competition.results import Competitions

SAMPLE = Path(__file__).parent / "district_cup.yaml"


def sample() -> CompetitionConfig:
    return load(SAMPLE.read_text("utf-8"), SAMPLE.name)


def one_school_cup(competition_id: str, school: str, at: datetime) -> CompetitionConfig:
    """A one-event competition of *school*, its round open an hour either side of *at*."""
    return validate(
        {
            "id": competition_id,
            "name": f"Cup of {school}",
            "schools": [school],
            "grades": ["5"],
            "events": {"rope_1min": {"name": "1-minute rope", "duration_s": 60, "ceiling": 300}},
            "rounds": [
                {
                    "id": "r1",
                    "event": "rope_1min",
                    "opens_at": (at - timedelta(hours=1)).isoformat(),
                    "closes_at": (at + timedelta(hours=1)).isoformat(),
                }
            ],
        }
    )


def store_set(
    competitions: Competitions,
    config: CompetitionConfig,
    student: Participant,
    device_id: str,
    count: int,
    at: datetime,
    reasons: list[Hold] = [],  # noqa: B006 (never changed)
) -> int:
    """A finished set stored as the consumer stores it; returns its result id."""
    rope_set = RopeSet(student.school, device_id, 1, 60, count, 0, at - timedelta(seconds=60), at)
    placement = place(config, rope_set)
    assert placement is not None
    assert competitions.record(config, placement, rope_set, student, student.student_id, reasons)
    [stored] = [r for r in competitions.results(config.id) if r.device_id == device_id]
    return stored.id
