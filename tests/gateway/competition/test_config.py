"""A competition file: the sample validates; a wrong one names the field that is wrong."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from gateway.competition.config import CompetitionConfigError, load, validate
from tests.gateway.competition.conftest import SAMPLE, sample


def test_the_sample_competition_validates_with_its_defaults() -> None:
    cup = sample()
    assert cup.id == "autumn-cup-2026" and cup.schools == ["sch1", "sch2"]
    assert {k: (e.duration_s, e.ceiling) for k, e in cup.events.items()} == {
        "rope_1min": (60, 300),
        "speed_30s": (30, 160),
        "double_unders": (60, 200),
    }
    assert (cup.team.mode, cup.team.n, cup.show_full_names) == ("best_n", 3, False)
    assert cup.opens_at.isoformat() == "2026-11-02T09:00:00+08:00"
    assert cup.closes_at.isoformat() == "2026-11-02T11:00:00+08:00"


def _broken(change: Any) -> str:
    data = yaml.safe_load(SAMPLE.read_text("utf-8"))
    change(data)
    with pytest.raises(CompetitionConfigError) as caught:
        validate(data, "cup.yaml")
    return str(caught.value)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda d: d["rounds"][1].update(event="relay"), "rounds[1].event: 'relay' is not one"),
        (
            lambda d: d["rounds"][2].update(closes_at="2026-11-02T10:00:00+08:00"),
            "rounds[2]: closes_at must be after opens_at",
        ),
        (lambda d: d["events"]["speed_30s"].update(ceiling=0), "events.speed_30s.ceiling"),
        (lambda d: d["team"].update(mode="median"), "team.mode"),
        (lambda d: d.update(show_names=True), "show_names: Extra inputs are not permitted"),
        (lambda d: d.update(schools=["sch1", "sch1"]), "schools: a value is listed twice"),
        (lambda d: d["rounds"][2].update(id="r1-1min"), "rounds[2].id: 'r1-1min' is used"),
        # 1-minute skipping and 1-minute double-unders at once: a set could be either.
        (
            lambda d: d["rounds"][2].update(opens_at="2026-11-02T09:30:00+08:00"),
            "rounds[2]: overlaps round 'r1-1min', and both are 60 s sets",
        ),
        (lambda d: d["rounds"][0].update(opens_at="2026-11-02T09:00:00"), "rounds[0].opens_at"),
    ],
)
def test_a_wrong_field_is_named_with_what_is_wrong(change: Any, said: str) -> None:
    message = _broken(change)
    assert message.startswith("competition cup.yaml is not valid: ")
    assert said in message, message


def test_unreadable_text_and_yaml_aliases_are_refused_clearly() -> None:
    with pytest.raises(CompetitionConfigError, match="cannot be read"):
        load("id: [unclosed", "cup.yaml")
    with pytest.raises(CompetitionConfigError, match=r"aliases \(\*name\) are not allowed"):
        load("a: &x [1, 2]\nb: *x\n", "cup.yaml")
    with pytest.raises(CompetitionConfigError, match="cannot be read"):
        load("{", "cup.json")
