"""Referrals: made once per screening, filtered for staff, followed up through known states."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.gateway.alerts.scenario import MORNING, build_world, screening


def test_a_screening_of_someone_not_on_the_roster_is_dropped(state_url: str) -> None:
    w = build_world(state_url)
    assert w.screenings.record(screening("card-nobody", MORNING, 4.0, 4.0)) is None
    assert w.referrals.find() == []


def test_status_follows_the_known_states_only(state_url: str) -> None:
    w = build_world(state_url)
    made = w.screenings.record(screening("card-c1s02", MORNING, 4.5, 5.0))
    assert made is not None and made.status == "open"
    later = MORNING + timedelta(hours=1)
    assert w.referrals.set_status(made.id, "parents_informed", "nurse", later)
    [ref] = w.referrals.find(status="parents_informed")
    assert (ref.id, ref.updated_by, ref.updated_at) == (made.id, "nurse", later)
    assert w.referrals.find(status="open") == []
    with pytest.raises(ValueError, match="status must be one of"):
        w.referrals.set_status(made.id, "lost", "nurse", later)
    assert not w.referrals.set_status(made.id + 1000, "closed", "nurse", later)


def test_a_drop_is_judged_against_the_last_screening_before_this_one(state_url: str) -> None:
    w = build_world(state_url)
    w.screenings.record(screening("card-c1s07", MORNING - timedelta(days=365), 5.2, 5.2))
    w.screenings.record(screening("card-c1s07", MORNING - timedelta(days=180), 5.0, 5.0))
    made = w.screenings.record(screening("card-c1s07", MORNING, 4.9, 5.0))
    assert made is not None
    # 5.0 → 4.9 is one line, not a drop; the older 5.2 is not what it is compared with.
    assert [f["finding"] for f in made.findings] == ["poor_vision"]
