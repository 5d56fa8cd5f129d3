"""open_store(url): which URLs open which store, and the errors for the rest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.store.base import StoreError
from gateway.store.factory import open_store
from gateway.store.influx import InfluxStore
from gateway.store.sqlite import SqliteStore
from tests.services import INFLUX_ADMIN, INFLUX_ADMIN_PASSWORD, InfluxProcess, start_influxd


def test_sqlite_absolute_and_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(f"sqlite:///{tmp_path}/a.db")  # tmp_path is absolute: four slashes
    assert isinstance(store, SqliteStore) and store.path == tmp_path / "a.db"
    assert store.synchronous == "full"
    store.close()
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:///sub/b.db?synchronous=normal")
    assert isinstance(store, SqliteStore) and store.synchronous == "normal"
    assert (tmp_path / "sub" / "b.db").exists() and not os.path.isabs(store.path)
    store.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgres://x/y", "unknown scheme 'postgres'"),
        ("/just/a/path.db", "unknown scheme ''"),
        ("sqlite://host/x.db", "takes no host"),
        ("sqlite:///", "no database file"),
        ("sqlite:///x.db?synchronous=off", "'full' or 'normal'"),
        ("sqlite:///x.db?journal=delete", "unknown sqlite option"),
        ("influx://host:8086", "exactly one database"),
        ("influx://host:8086/a/b", "exactly one database"),
        ("influx://host:port/db", "port is not a number"),
        ("influx:///db", "no host"),
        ("influx://u:p@host/db?token=t", "not both"),
        ("influx://host/db?precision=s", "unknown influx option"),
        ("influx://host/db?timeout=soon", "timeout must be seconds"),
    ],
)
def test_bad_urls(url: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match=message):
        open_store(url)


def test_errors_hide_secrets() -> None:
    with pytest.raises(StoreError) as err:
        open_store("influx://admin:hunter2@host:99999/db")
    assert "hunter2" not in str(err.value) and "***" in str(err.value)
    with pytest.raises(StoreError) as err:
        open_store("influx://host/a/b?token=sekrit")
    assert "sekrit" not in str(err.value)


@pytest.mark.influxdb
def test_influx_urls(tmp_path: Path) -> None:
    server: InfluxProcess = start_influxd(tmp_path / "influxd", auth_enabled=True)
    try:
        store = open_store(
            f"influx://{INFLUX_ADMIN}:{INFLUX_ADMIN_PASSWORD}@127.0.0.1:{server.port}/from_url"
        )
        assert isinstance(store, InfluxStore)
        assert store.base_url == f"http://127.0.0.1:{server.port}"
        assert store.database == "from_url"
        assert store.count_messages() == 0  # the database exists and answers
        store.close()
        token = open_store(f"influxs://127.0.0.1:{server.port}/db?token=abc&create=0")
        assert isinstance(token, InfluxStore)
        assert token.base_url == f"https://127.0.0.1:{server.port}"
        assert token._client.headers["Authorization"] == "Token abc"
        token.close()
    finally:
        server.stop()
