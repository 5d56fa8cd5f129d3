"""Vision rules on a simulated screening day: grades, screening myopia, drops, referrals."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from gateway.alerts.config import VisionConfig
from gateway.health.vision import Screening, findings, grade
from gateway.tables.health import vision_screenings
from tests.gateway.alerts.scenario import MORNING, batch, build_world, screening


@pytest.mark.parametrize(
    ("acuity", "expected"),
    [
        (5.1, None),
        (5.0, None),
        (4.9, "mild"),
        (4.8, "moderate"),
        (4.6, "moderate"),
        (4.5, "severe"),
        (4.0, "severe"),
        (4.95, None),
        (4.85, "mild"),
    ],
)
def test_grades(acuity: float, expected: str | None) -> None:
    assert grade(acuity, VisionConfig()) == expected


def test_screening_myopia_needs_both_low_acuity_and_negative_se() -> None:
    cfg = VisionConfig()
    only_se = Screening({"left": 5.0, "right": 5.0}, {"left": -1.0, "right": -1.0})
    assert findings(only_se, None, cfg) == []
    at_limit = Screening({"left": 4.8, "right": 5.0}, {"left": -0.50, "right": 0.0})
    assert [f["finding"] for f in findings(at_limit, None, cfg)] == ["poor_vision"]
    myopic = Screening({"left": 4.8, "right": 5.0}, {"left": -0.75, "right": 0.0})
    assert [f["finding"] for f in findings(myopic, None, cfg)] == [
        "poor_vision",
        "screening_myopia",
    ]


def test_screening_day_builds_a_referral_list_without_paging(state_url: str) -> None:
    w = build_world(state_url)
    last_term = MORNING - timedelta(days=180)
    w.feed(batch(screening("card-c1s05", last_term, 5.0, 5.0)))
    day = [
        screening("card-c1s01", MORNING, 5.0, 5.1),  # normal
        screening("card-c1s02", MORNING, 4.9, 5.0),  # mild, left
        screening("card-c1s03", MORNING, 4.7, 4.6, -1.25, -1.5),  # moderate + myopia
        screening("card-c1s04", MORNING, 4.4, 4.8),  # severe
        screening("card-c1s05", MORNING, 4.8, 5.0),  # drop from 5.0
        screening("card-k1s00", MORNING, 4.6, 4.6),  # under 6: no referral
    ]
    w.feed(batch(*day))
    refs = {r.student_id: r for r in w.referrals.find(school="sch1")}
    assert set(refs) == {"c1s02", "c1s03", "c1s04", "c1s05"}
    assert refs["c1s02"].worst_grade == "mild"
    assert refs["c1s03"].worst_grade == "moderate"
    assert {f["finding"] for f in refs["c1s03"].findings} == {"poor_vision", "screening_myopia"}
    assert refs["c1s04"].worst_grade == "severe"
    drop = [f for f in refs["c1s05"].findings if f["finding"] == "acuity_drop"]
    assert drop == [{"eye": "left", "finding": "acuity_drop", "from": 5.0, "to": 4.8}]
    assert all(r.status == "open" for r in refs.values())
    # Referrals page nobody.
    assert w.out.notifications == []
    # A redelivered screening does not add a second referral.
    w.feed(batch(*day))
    assert len(w.referrals.find(school="sch1")) == 4


def test_screener_may_name_the_class_list_id(state_url: str) -> None:
    w = build_world(state_url)
    # Screeners load the class list and send the roster's pseudonymous student id itself.
    w.feed(batch(screening("c2s06", MORNING, 4.5, 4.9)))
    [ref] = w.referrals.find()
    assert ref.student_id == "c2s06" and ref.worst_grade == "severe"


def test_the_refraction_behind_a_screening_is_kept_for_the_national_file(state_url: str) -> None:
    w = build_world(state_url)
    message = screening("c2s07", MORNING, 4.7, 5.0, -1.25, 0.0)
    w.feed(
        batch(
            replace(
                message,
                readings=(
                    *message.readings,
                    ("sphere_left", -1.0, "D"),
                    ("cylinder_left", -0.5, "D"),
                    ("axis_left", 180.0, "deg"),
                ),
            )
        )
    )
    [row] = w.referrals.db.query(select(vision_screenings))
    assert (row["sphere_left"], row["cylinder_left"], row["axis_left"]) == (-1.0, -0.5, 180.0)
    assert (row["sphere_right"], row["cylinder_right"], row["axis_right"]) == (None, None, None)
    assert row["se_left"] == -1.25  # as sent, not recomputed from the sphere
