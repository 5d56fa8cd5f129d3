"""Shared fixtures: real Mosquitto, InfluxDB and PostgreSQL servers, per test session or test."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, settings

from campusedge.broker import MosquittoProcess
from campusedge.settings import MqttSettings
from tests.services import (
    MQTT_PASSWORD,
    MQTT_USER,
    InfluxProcess,
    PostgresProcess,
    start_influxd,
    start_mosquitto,
    start_postgres,
)

# Tests publish for devices they make up on the spot, as the demo does, so their gateways
# (in process and the `campusedge gateway run` they start) run without strict enrolment, as
# the demo's does. Strict enrolment, the default, is tested by tests/gateway/
# test_ingest_enrolment.py, which turns it on by name.
os.environ["CAMPUSEDGE_STRICT_ENROLMENT"] = "false"

# The machines are shared and noisy: a slow example is not a failure of the code under test.
settings.register_profile("campusedge", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("campusedge")


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoProcess]:
    """One broker for the session; tests keep apart by using their own school ids."""
    broker = start_mosquitto(tmp_path_factory.mktemp("mosquitto"))
    yield broker
    broker.stop()


@pytest.fixture
def own_mosquitto(tmp_path: Path) -> Iterator[MosquittoProcess]:
    """A broker of the test's own, for tests that stop and restart it."""
    broker = start_mosquitto(tmp_path / "mosquitto")
    yield broker
    broker.stop()


def mqtt_settings_for(broker: MosquittoProcess) -> MqttSettings:
    return MqttSettings(
        host=broker.host, port=broker.port, username=MQTT_USER, password=MQTT_PASSWORD
    )  # type: ignore[arg-type]


@pytest.fixture
def mqtt_settings(mosquitto: MosquittoProcess) -> MqttSettings:
    return mqtt_settings_for(mosquitto)


@pytest.fixture(scope="session")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxProcess]:
    server = start_influxd(tmp_path_factory.mktemp("influxd"))
    yield server
    server.stop()


# A database migrated to head once per session; each test gets a copy (CREATE DATABASE …
# TEMPLATE), which takes a fraction of the time of running the migrations again.
PG_TEMPLATE = "campusedge_template"
_pg_databases = itertools.count(1)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresProcess]:
    from gateway.state import StateDB

    server = start_postgres()
    try:
        with psycopg.connect(server.url(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {PG_TEMPLATE}")
        StateDB(server.url(PG_TEMPLATE)).close()
        yield server
    finally:
        server.remove()


def fresh_pg_database(server: PostgresProcess, *, migrated: bool = True) -> str:
    """A new database on *server*: a copy of the migrated template, or an empty one."""
    name = f"campusedge_test_{next(_pg_databases)}"
    template = f" TEMPLATE {PG_TEMPLATE}" if migrated else ""
    with psycopg.connect(server.url(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}{template}")
    return name


def drop_pg_database(server: PostgresProcess, name: str) -> None:
    with psycopg.connect(server.url(), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def state_backend(request: pytest.FixtureRequest) -> str:
    """Each state test runs twice: on a SQLite file and on a real PostgreSQL."""
    return str(request.param)


@pytest.fixture
def new_state(
    state_backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[], str]]:
    """Makes a fresh state database of the test's backend per call (a file, or a database
    copied from the migrated template); the test's databases are dropped after it."""
    made: list[str] = []
    server: PostgresProcess | None = (
        request.getfixturevalue("postgres") if state_backend == "postgresql" else None
    )

    def make() -> str:
        if server is None:
            path = tmp_path / f"state-{len(made)}.db" if made else tmp_path / "state.db"
            made.append(str(path))
            return str(path)
        name = fresh_pg_database(server)
        made.append(name)
        return server.url(name)

    yield make
    if server is not None:
        for name in made:
            drop_pg_database(server, name)


@pytest.fixture
def state_url(new_state: Callable[[], str]) -> str:
    """Where a state test's database is: a SQLite file, then a fresh PostgreSQL database."""
    return new_state()
