"""Numeric ids in URLs past what a row id can be are refused (422), not sent to the database."""

from __future__ import annotations

from tests.gateway.api.conftest import Campus

HUGE = 551210062791175831552  # past SQLite's 64 bits
PAST_POSTGRES = 2**31  # past PostgreSQL's `integer`


def test_an_id_no_row_can_have_is_a_422_on_every_route_that_takes_one(campus: Campus) -> None:
    for number in (HUGE, PAST_POSTGRES, 0):
        for user, method, url, body in (
            ("it1", "GET", f"/api/alerts/{number}", None),
            ("it1", "POST", f"/api/alerts/{number}/acknowledge", None),
            ("it1", "POST", f"/api/alerts/{number}/resolve", None),
            ("h1", "POST", f"/api/alerts/{number}/recheck", {"temperature_c": 37.0}),
            ("h1", "POST", f"/api/alerts/referrals/{number}/status", {"status": "closed"}),
            ("it1", "DELETE", f"/api/alerts/silences/{number}", None),
            ("au1", "GET", f"/api/audit?before_id={number}", None),
        ):
            response = campus.client.request(method, url, headers=campus.auth(user), json=body)
            assert response.status_code == 422, (url, response.text)
    # The largest id a row can have is still looked up, and is unknown.
    largest = campus.client.get(f"/api/alerts/{PAST_POSTGRES - 1}", headers=campus.auth("it1"))
    assert largest.status_code == 404
