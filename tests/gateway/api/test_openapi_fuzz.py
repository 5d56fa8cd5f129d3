"""The API fuzzed from its own OpenAPI schema (schemathesis): no request makes a 5xx.

Every /api operation gets a few generated requests (valid and invalid parameters and bodies),
sent as a role the route lets through (`ACCESS`), so that the requests reach the route's code
rather than stopping at 403. A 2xx answer must match the schema. (Whether a request that
breaks the schema gets a 4xx is not asked: in a query string everything is text, and
"until=859877" is a valid time to pydantic, a Unix time, though not to the schema.) The state
is on PostgreSQL (the route x role matrix runs on SQLite). The alert and leaderboard streams
are left out: they answer with an endless event stream (tests/gateway/alerts and
tests/gateway/api/test_competition_routes.py have their tests).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from gateway.auth import Role
from tests.conftest import drop_pg_database, fresh_pg_database
from tests.gateway.api.test_route_roles import ACCESS, USERS
from tests.gateway.api.two_schools import TwoSchools, World, two_schools
from tests.services import PostgresProcess

# Bounded: about 40 operations x this many requests keeps the module within a few seconds,
# the same requests every run; CAMPUSEDGE_FUZZ_EXAMPLES=500 digs deeper, new ones each time.
DEEPER = os.environ.get("CAMPUSEDGE_FUZZ_EXAMPLES")
EXAMPLES = int(DEEPER or "3")


@pytest.fixture(scope="module")
def two(
    tmp_path_factory: pytest.TempPathFactory, postgres: PostgresProcess
) -> Iterator[TwoSchools]:
    name = fresh_pg_database(postgres)
    try:
        with two_schools(tmp_path_factory.mktemp("fuzz"), postgres.url(name)) as made:
            yield made
    finally:
        drop_pg_database(postgres, name)


@pytest.fixture(scope="module")
def api_schema(two: TwoSchools) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", two.campus.client.app)


# Each route as one role it lets through (the first in `Role`'s order; every role in turn
# doubles the time for little: the route x role matrix covers who is let through), or None for
# the push route, which lets in no person: it is sent with its device's push token. Parametrized
# here rather than by schemathesis' own `from_fixture`, which reaches into pytest internals
# that pytest 9 no longer has.
FUZZED = [
    (route, next((role for role in Role if role in roles), None))
    for route, roles in ACCESS.items()
    if route not in ("GET /api/alerts/stream", "GET /api/competitions/{competition_id}/stream")
]


def _own_ids(own: World, path: str) -> dict[str, str | int]:
    """The path parameters of *path* set to ids of the user's school."""
    ids: dict[str, str | int] = {
        "lesson_id": own.lesson,
        "class_id": own.class_id,
        "student_id": own.student,
        "alert_id": own.fever_alert if "recheck" in path else own.device_alert,
        "referral_id": own.referral,
        "silence_id": own.silence,
        "device_id": own.device,
        "card_id": own.card,
        "user_id": own.user,
        "school": own.school,
        "device": own.push_device,
    }
    return {name: value for name, value in ids.items() if f"{{{name}}}" in path}


@pytest.mark.parametrize(("route", "role"), FUZZED, ids=[f"{r}-{role}" for r, role in FUZZED])
def test_no_request_makes_a_server_error(
    api_schema: schemathesis.BaseSchema, two: TwoSchools, route: str, role: Role | None
) -> None:
    method, path = route.split(" ", 1)
    operation = api_schema[path][method]
    if role is None:
        token = {"Authorization": f"Bearer {two.push_tokens[two.own.school]}"}
    else:
        token = two.campus.auth(USERS[role])

    # Requests that fit the schema, ones that break it, and ones on this school's real
    # lesson, class, student, alert... so that the rest of the request reaches past the 404.
    own = _own_ids(two.own, path)
    strategies = [operation.as_strategy(mode) for mode in GenerationMode]
    if own:
        strategies.append(operation.as_strategy(path_parameters=own))

    @given(case=st.one_of(*strategies))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=DEEPER is None,
    )
    def fuzz(case: schemathesis.Case) -> None:
        # The generated Authorization header gives way to a real token: a random one would
        # be refused before any route code runs (and soon rate-limited as guessing).
        sent = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        case.headers = {**sent, **token}
        response = case.call()
        case.validate_response(response, checks=[not_a_server_error])
        if 200 <= response.status_code < 300:
            case.validate_response(response, checks=[response_schema_conformance])

    fuzz()
