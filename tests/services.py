"""Real Mosquitto and InfluxDB servers for tests, started on free ports with their own dirs."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from campusedge.broker import MosquittoProcess, find_mosquitto, free_port

REQUIRE = os.environ.get("CAMPUSEDGE_REQUIRE_SERVICES") == "1"
MQTT_USER = "campusedge-test"
MQTT_PASSWORD = "s3cret-test-pw"
INFLUX_ADMIN = "campusedge-admin"
INFLUX_ADMIN_PASSWORD = "influx-test-pw"


def missing(what: str) -> None:
    """Skip the test, or fail it when CI requires the real services."""
    reason = f"{what} is not installed (Debian package); `make test` installs it when run as root"
    if REQUIRE:
        pytest.fail(f"CAMPUSEDGE_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def start_mosquitto(data_dir: Path) -> MosquittoProcess:
    if find_mosquitto() is None:
        missing("mosquitto")
    # Without the broker's payload limit, so that the gateway's own check (for brokers not
    # configured by us) stays reachable; tests/campusedge/test_broker.py checks the limit.
    broker = MosquittoProcess(
        data_dir=data_dir, users={MQTT_USER: MQTT_PASSWORD}, message_size_limit=0
    )
    broker.start()
    return broker


def find_influxd() -> str | None:
    return shutil.which("influxd") or (
        "/usr/bin/influxd" if Path("/usr/bin/influxd").exists() else None
    )


@dataclass
class InfluxProcess:
    """An influxd 1.x with its own config, data directories and HTTP port."""

    binary: str
    data_dir: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None
    # With auth on, start() creates the admin INFLUX_ADMIN (allowed while no user exists).
    auth_enabled: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "influxdb.conf"
        conf.write_text(f"""reporting-disabled = true
bind-address = "127.0.0.1:{self._rpc_port()}"
[meta]
  dir = "{self.data_dir}/meta"
[data]
  dir = "{self.data_dir}/data"
  wal-dir = "{self.data_dir}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{self.port}"
  log-enabled = false
  auth-enabled = {str(self.auth_enabled).lower()}
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
""")
        log = open(self.data_dir / "influxd.log", "wb")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen([self.binary, "-config", str(conf)], stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                # Typically a port taken between free_port() and bind; start_influxd retries.
                self.proc = None
                raise PortTaken(f"influxd exited at start; see {self.data_dir}/influxd.log")
            try:
                if httpx.get(f"{self.url}/ping", timeout=1).status_code == 204:
                    if self.auth_enabled:
                        httpx.post(
                            f"{self.url}/query",
                            data={
                                "q": f'CREATE USER "{INFLUX_ADMIN}" WITH PASSWORD '
                                f"'{INFLUX_ADMIN_PASSWORD}' WITH ALL PRIVILEGES"
                            },
                            timeout=10,
                        ).raise_for_status()
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("influxd did not answer /ping")

    def _rpc_port(self) -> int:
        port = free_port()
        while port == self.port:
            port = free_port()
        return port

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


class PortTaken(RuntimeError):
    """The server could not bind its port: another process took it first."""


def start_influxd(data_dir: Path, *, auth_enabled: bool = False) -> InfluxProcess:
    binary = find_influxd()
    if binary is None:
        missing("influxdb")
    assert binary is not None
    for attempt in range(3):
        server = InfluxProcess(
            binary=binary, data_dir=data_dir, port=free_port(), auth_enabled=auth_enabled
        )
        try:
            server.start()
            return server
        except PortTaken:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def mosquitto_fixture(tmp: Path) -> Iterator[MosquittoProcess]:
    broker = start_mosquitto(tmp)
    try:
        yield broker
    finally:
        broker.stop()
