"""A PostgreSQL state with five schools on the roster, for the lease and worker tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import insert

from gateway.state import StateDB
from gateway.tables.roster import classes
from tests.conftest import drop_pg_database, fresh_pg_database
from tests.services import PostgresProcess

TTL = 0.6  # short leases keep these tests fast; the gateway's default is 10 s
SCHOOLS = ["s1", "s2", "s3", "s4", "s5"]


@pytest.fixture
def db(postgres: PostgresProcess) -> Iterator[StateDB]:
    name = fresh_pg_database(postgres)
    state = StateDB(postgres.url(name))
    with state.transaction() as conn:
        for i, school in enumerate(SCHOOLS):
            conn.execute(
                insert(classes).values(id=f"c{i}", school=school, name=f"1-{i}", grade="1")
            )
    yield state
    state.close()
    drop_pg_database(postgres, name)
