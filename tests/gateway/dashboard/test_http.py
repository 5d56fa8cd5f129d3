"""The dashboard over HTTP: page and files served with the right types, `/api/me` by role."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from gateway.api.routes.dashboard import STATIC_DIR
from gateway.roster import LessonKind
from tests.gateway.api.conftest import Campus


def test_index_is_the_dashboard_page(campus: Campus) -> None:
    r = campus.client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert '<script type="module" src="/static/main.js">' in r.text
    assert '<label for="token" data-i18n="signin.token">' in r.text


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/static/main.js", "text/javascript; charset=utf-8"),
        ("/static/api.js", "text/javascript; charset=utf-8"),
        ("/static/alerts.js", "text/javascript; charset=utf-8"),
        ("/static/app.css", "text/css; charset=utf-8"),
    ],
)
def test_static_files_have_their_content_type(campus: Campus, path: str, content_type: str) -> None:
    r = campus.client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"] == content_type
    assert r.headers["x-content-type-options"] == "nosniff"


def test_the_page_has_an_icon(campus: Campus) -> None:
    """Without one every page load logs a 404 for /favicon.ico."""
    page = campus.client.get("/").text
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    icon = campus.client.get("/static/favicon.svg")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/svg+xml"
    assert icon.text.startswith("<svg")
    old_name = campus.client.get("/favicon.ico", follow_redirects=False)
    assert old_name.status_code == 308
    assert old_name.headers["location"] == "/static/favicon.svg"


def test_every_module_the_page_imports_is_served(campus: Campus) -> None:
    """A missing or misspelt module would leave the page blank in a browser without a build.
    The pages' entry modules: the dashboard's, and the leaderboard's (leaderboard.html)."""
    pending, seen = ["main.js", "leaderboard.js"], set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        r = campus.client.get(f"/static/{name}")
        assert r.status_code == 200, name
        pending += re.findall(r'from "\./([\w.]+\.js)"', r.text)
    assert {p.name for p in STATIC_DIR.glob("*.js")} == seen  # and no file left unused


def test_no_file_outside_static_is_served(campus: Campus) -> None:
    assert campus.client.get("/static/../__init__.py").status_code == 404
    assert campus.client.get("/static/missing.js").status_code == 404


def test_nothing_is_loaded_from_elsewhere(campus: Campus) -> None:
    names = [p.relative_to(STATIC_DIR).as_posix() for p in STATIC_DIR.rglob("*") if p.is_file()]
    assert len(names) >= 10
    for name in names:
        # An SVG's XML namespace is a name, not something fetched.
        r = campus.client.get(f"/static/{name}")
        assert r.status_code == 200, name
        text = r.text.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert not re.search(r"https?://", text), f"{name} refers to another origin"
        # localStorage keeps the reader's language choice, and nothing else.
        uses = re.findall(r"localStorage\.(\w+)\(([^)]*)\)", text)
        assert all(arg.startswith("CHOICE_KEY") for _, arg in uses), f"{name}: {uses}"
        assert text.count("localStorage") == len(uses), f"{name} uses localStorage otherwise"


@pytest.mark.parametrize(
    ("user", "name", "role"),
    [
        ("t1", "Teacher One", "pe_teacher"),
        ("h1", "Nurse", "health_staff"),
        ("it1", "Admin", "campus_it"),
    ],
)
def test_me_says_who_and_which_role(campus: Campus, user: str, name: str, role: str) -> None:
    r = campus.client.get("/api/me", headers=campus.auth(user))
    assert r.status_code == 200
    assert r.json() == {
        "id": user,
        "display_name": name,
        "role": role,
        "schools": ["sch1"],
        "district": None,  # a district user's alone
        "district_schools": [],
    }


def test_me_needs_a_known_token(campus: Campus) -> None:
    assert campus.client.get("/api/me").status_code == 401
    r = campus.client.get("/api/me", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert "unknown" in r.json()["detail"]


def test_my_lessons_by_role(campus: Campus) -> None:
    roster = campus.gateway.roster
    t0 = datetime(2026, 9, 1, 8, tzinfo=UTC)
    mine = roster.start_lesson("5a", "t1", LessonKind.LESSON, {"hr-1": "s1"}, at=t0)
    other = roster.start_lesson(
        "5b", "t2", LessonKind.FITNESS_TEST, {"hr-9": "s9"}, at=t0 + timedelta(hours=1)
    )
    # t1 covers for t2 in 5b: t1's own lesson, but not t1's class (so no names for t1).
    cover = roster.start_lesson("5b", "t1", LessonKind.LESSON, {}, at=t0 + timedelta(hours=2))

    def ids(user: str) -> list[tuple[str, bool]]:
        r = campus.client.get("/api/me/lessons", headers=campus.auth(user))
        assert r.status_code == 200
        return [(item["id"], item["class_teacher"]) for item in r.json()]

    assert ids("t1") == [(cover.id, False), (mine.id, True)]
    assert ids("t2") == [(cover.id, True), (other.id, True)]
    assert ids("h1") == [(cover.id, True), (other.id, True), (mine.id, True)]
    assert ids("it1") == []
    newest = campus.client.get("/api/me/lessons?limit=1", headers=campus.auth("h1")).json()
    assert [item["id"] for item in newest] == [cover.id]
    first = campus.client.get("/api/me/lessons", headers=campus.auth("t1")).json()[1]
    assert first["class_name"] == "Class 5A"
    assert first["kind"] == "lesson"
    assert first["ended_at"] is None
