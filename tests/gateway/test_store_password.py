"""The store's password kept off the command line: from CAMPUSEDGE_STORE_PASSWORD or a file."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from campusedge.settings import MqttSettings
from gateway.cli.run import add_arguments, settings_from_args
from gateway.service import Gateway, GatewayStartError
from gateway.store.base import StoreError
from gateway.store.factory import open_store
from gateway.store.influx import InfluxStore
from tests.services import INFLUX_ADMIN, INFLUX_ADMIN_PASSWORD, InfluxProcess, start_influxd


@pytest.fixture(scope="module")
def influxd_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxProcess]:
    server = start_influxd(tmp_path_factory.mktemp("influxd_pw"), auth_enabled=True)
    yield server
    server.stop()


def args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def open_gateway(tmp_path: Path, *argv: str) -> Gateway:
    settings = settings_from_args(args("--state-db", str(tmp_path / "state.db"), *argv))
    settings.api_port = 0
    return Gateway(settings, MqttSettings(host="127.0.0.1", port=1))


@pytest.mark.influxdb
def test_the_password_comes_from_the_environment_not_the_url(
    influxd_auth: InfluxProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"influx://{INFLUX_ADMIN}@127.0.0.1:{influxd_auth.port}/pw_env"
    monkeypatch.setenv("CAMPUSEDGE_STORE_PASSWORD", INFLUX_ADMIN_PASSWORD)
    with caplog.at_level(logging.WARNING):
        gw = open_gateway(tmp_path, "--store-url", url)
    try:
        assert gw.store.count_messages() == 0  # logged in: the database was made and answers
    finally:
        gw.store.close()
        gw.db.close()
    assert "can be read by every user" not in caplog.text
    # The password given twice is refused rather than one of them picked.
    with pytest.raises(StoreError, match="keep it in one place"):
        open_store(url.replace("@", f":{INFLUX_ADMIN_PASSWORD}@"), INFLUX_ADMIN_PASSWORD)
    # Without a user in the URL the secret is the token of InfluxDB 2.x/3.x.
    token = open_store(f"influx://127.0.0.1:{influxd_auth.port}/db?create=0", "t0k3n")
    assert isinstance(token, InfluxStore)
    assert token._client.headers["Authorization"] == "Token t0k3n"
    token.close()


@pytest.mark.influxdb
def test_a_password_on_the_command_line_is_warned_about_and_a_url_file_is_read(
    influxd_auth: InfluxProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv("CAMPUSEDGE_STORE_PASSWORD", raising=False)
    url = f"influx://{INFLUX_ADMIN}:{INFLUX_ADMIN_PASSWORD}@127.0.0.1:{influxd_auth.port}/pw_file"
    with caplog.at_level(logging.WARNING):
        gw = open_gateway(tmp_path, "--store-url", url)
    gw.store.close()
    gw.db.close()
    assert "CAMPUSEDGE_STORE_PASSWORD" in caplog.text and INFLUX_ADMIN_PASSWORD not in caplog.text
    caplog.clear()
    url_file = tmp_path / "store-url"
    url_file.write_text(url + "\n")
    url_file.chmod(0o600)
    with caplog.at_level(logging.WARNING):
        gw = open_gateway(tmp_path, "--store-url-file", str(url_file))
    try:
        assert gw.store.count_messages() == 0
    finally:
        gw.store.close()
        gw.db.close()
    assert caplog.text == ""
    with pytest.raises(GatewayStartError, match=r"--store-url-file .*No such file"):
        settings_from_args(args("--store-url-file", str(tmp_path / "missing")))
