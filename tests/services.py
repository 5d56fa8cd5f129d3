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

from campusedge.broker import MosquittoProcess, find_mosquitto, free_port, wait_for_port

REQUIRE = os.environ.get("CAMPUSEDGE_REQUIRE_SERVICES") == "1"
MQTT_USER = "campusedge-test"
MQTT_PASSWORD = "s3cret-test-pw"


def missing(what: str) -> None:
    """Skip the test, or fail it when CI requires the real services."""
    reason = (f"{what} is not installed (Debian package); `make test` installs it when run as "
              "root")
    if REQUIRE:
        pytest.fail(f"CAMPUSEDGE_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def start_mosquitto(data_dir: Path) -> MosquittoProcess:
    if find_mosquitto() is None:
        missing("mosquitto")
    broker = MosquittoProcess(data_dir=data_dir, users={MQTT_USER: MQTT_PASSWORD})
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

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "influxdb.conf"
        conf.write_text(f"""reporting-disabled = true
bind-address = "127.0.0.1:{free_port()}"
[meta]
  dir = "{self.data_dir}/meta"
[data]
  dir = "{self.data_dir}/data"
  wal-dir = "{self.data_dir}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{self.port}"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
""")
        log = open(self.data_dir / "influxd.log", "wb")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen([self.binary, "-config", str(conf)], stdout=log, stderr=log)
        wait_for_port("127.0.0.1", self.port, 20)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/ping", timeout=1).status_code == 204:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("influxd did not answer /ping")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


def start_influxd(data_dir: Path) -> InfluxProcess:
    binary = find_influxd()
    if binary is None:
        missing("influxdb")
    assert binary is not None
    server = InfluxProcess(binary=binary, data_dir=data_dir, port=free_port())
    server.start()
    return server


def mosquitto_fixture(tmp: Path) -> Iterator[MosquittoProcess]:
    broker = start_mosquitto(tmp)
    try:
        yield broker
    finally:
        broker.stop()
