"""Rankings: each student once, stated tie-breaks, team scores; the same for any input order."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from gateway.competition.config import TeamScore
from gateway.competition.ranking import (
    Entry,
    best_per_student,
    order_key,
    rank_individuals,
    rank_teams,
    team_score,
)

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def entry(n: int, student: str, count: int, **changes: object) -> Entry:
    base = Entry(
        result_id=n,
        event="rope_1min",
        student_id=student,
        school="sch1",
        class_id="5a",
        grade="5",
        sex="F",
        count=count,
        trips=0,
        finished_at=T0 + timedelta(minutes=n),
        device_id=f"rope-{n}",
        seq=n,
    )
    return dataclasses.replace(base, **changes)


def test_ties_break_by_fewer_trips_then_earlier_finish_then_school_rope_and_seq() -> None:
    a = entry(1, "a", 180, trips=2)
    b = entry(2, "b", 180, trips=1)
    c = entry(3, "c", 180, trips=1, finished_at=T0)
    d = entry(4, "d", 181, trips=5)
    e = entry(5, "e", 180, trips=1, finished_at=T0, device_id="rope-0")
    ranked = rank_individuals([a, b, c, d, e], "rope_1min")
    assert [(p.rank, p.entry.student_id) for p in ranked] == [
        (1, "d"),
        (2, "e"),
        (3, "c"),
        (4, "b"),
        (5, "a"),
    ]


def test_a_student_counts_once_with_the_best_set_and_groups_filter_by_grade_and_sex() -> None:
    sets = [
        entry(1, "a", 150),
        entry(2, "a", 170),
        entry(3, "b", 160, sex="M"),
        entry(4, "c", 200, grade="6"),
    ]
    assert [(p.entry.student_id, p.entry.count) for p in rank_individuals(sets, "rope_1min")] == [
        ("c", 200),
        ("a", 170),
        ("b", 160),
    ]
    girls_5 = rank_individuals(sets, "rope_1min", grade="5", sex="F")
    assert [(p.rank, p.entry.student_id) for p in girls_5] == [(1, "a")]
    assert rank_individuals(sets, "speed_30s") == []


def test_team_score_is_the_mean_of_the_best_n_with_missing_as_zero_or_of_all() -> None:
    assert team_score([100, 200, 300, 50], TeamScore(mode="best_n", n=3)) == 200.0
    assert team_score([300], TeamScore(mode="best_n", n=3)) == 100.0
    assert team_score([100, 200, 300, 50], TeamScore(mode="all")) == 162.5
    assert team_score([], TeamScore(mode="all")) == 0.0


def test_classes_and_schools_rank_by_team_score_then_participants() -> None:
    sets = [
        entry(1, "a", 200, class_id="5a"),
        entry(2, "b", 100, class_id="5a"),
        entry(3, "c", 150, class_id="5b"),
        entry(4, "d", 150, class_id="5b"),
        entry(5, "e", 300, class_id="9a", school="sch2"),
    ]
    classes = rank_teams(sets, "rope_1min", "class", TeamScore(mode="all"))
    # 5a and 5b both 150 with 2 participants: 5a's best (200) wins the tie.
    assert [(t.rank, t.team, t.score) for t in classes] == [
        (1, "9a", 300.0),
        (2, "5a", 150.0),
        (3, "5b", 150.0),
    ]
    schools = rank_teams(sets, "rope_1min", "school", TeamScore(mode="best_n", n=2))
    assert [(t.team, t.score, t.participants, t.best) for t in schools] == [
        ("sch1", 175.0, 4, 200),
        ("sch2", 150.0, 1, 300),
    ]


CLASS_SCHOOL = {"5a": "sch1", "5b": "sch1", "6a": "sch2"}


def _entries(rows: list[tuple[str, int, int, str, str, int]]) -> list[Entry]:
    # As stored: one row per rope message (device, seq), and each class in one school.
    return [
        entry(
            n,
            student,
            count,
            trips=trips,
            sex=sex,
            class_id=class_id,
            school=CLASS_SCHOOL[class_id],
            finished_at=T0 + timedelta(seconds=second),
            device_id=f"rope-{n % 3}",
        )
        for n, (student, count, trips, sex, class_id, second) in enumerate(rows)
    ]


entries = st.lists(
    st.tuples(
        st.sampled_from("abcdefgh"),
        st.integers(0, 300),
        st.integers(0, 3),
        st.sampled_from("FM"),
        st.sampled_from(sorted(CLASS_SCHOOL)),
        st.integers(0, 1),
    ),
    max_size=30,
).map(_entries)


@given(entries, st.randoms())
def test_rankings_do_not_depend_on_the_order_results_arrive_in(
    sets: list[Entry], rnd: object
) -> None:
    shuffled = list(sets)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert rank_individuals(sets, "rope_1min") == rank_individuals(shuffled, "rope_1min")
    team = TeamScore(mode="best_n", n=2)
    for by in ("class", "school"):
        assert rank_teams(sets, "rope_1min", by, team) == rank_teams(
            shuffled, "rope_1min", by, team
        )  # type: ignore[arg-type]


@given(entries)
def test_a_ranking_is_positions_one_to_n_of_each_students_best_in_tie_break_order(
    sets: list[Entry],
) -> None:
    ranked = rank_individuals(sets, "rope_1min")
    assert [p.rank for p in ranked] == list(range(1, len(ranked) + 1))
    students = [p.entry.student_id for p in ranked]
    assert len(students) == len(set(students)) == len({e.student_id for e in sets})
    keys = [order_key(p.entry) for p in ranked]
    assert keys == sorted(keys)
    for p in ranked:  # nobody's better set is left out
        own = [e for e in sets if e.student_id == p.entry.student_id]
        assert p.entry.count == max(e.count for e in own)
    assert {e.student_id for e in best_per_student(sets)} == set(students)


@given(st.lists(st.integers(0, 300), min_size=1, max_size=20), st.integers(1, 25))
def test_a_best_n_score_lies_between_zero_and_the_best_count_and_grows_with_a_better_set(
    counts: list[int], n: int
) -> None:
    team = TeamScore(mode="best_n", n=n)
    score = team_score(counts, team)
    assert 0 <= score <= max(counts)
    assert team_score([*counts, max(counts) + 1], team) > score
