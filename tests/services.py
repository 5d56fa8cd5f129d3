"""Real Mosquitto, InfluxDB and PostgreSQL servers for tests, on free ports with their own dirs."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from campusedge.broker import MosquittoProcess, find_mosquitto, free_port
from campusedge.influxd import InfluxProcess, PortTaken, find_influxd
from campusedge.influxd import start_influxd as start_influx_process

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


def start_influxd(data_dir: Path, *, auth_enabled: bool = False) -> InfluxProcess:
    """An influxd of its own; with *auth_enabled*, the admin INFLUX_ADMIN is created."""
    binary = find_influxd()
    if binary is None:
        missing("influxdb")
    assert binary is not None
    admin = (INFLUX_ADMIN, INFLUX_ADMIN_PASSWORD) if auth_enabled else None
    return start_influx_process(data_dir, admin=admin, binary=binary)


def mosquitto_fixture(tmp: Path) -> Iterator[MosquittoProcess]:
    broker = start_mosquitto(tmp)
    try:
        yield broker
    finally:
        broker.stop()


PG_USER = "campusedge"
PG_PASSWORD = "pg-test-pw"
PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def find_pg_bin() -> Path | None:
    """The folder with initdb and pg_ctl: on PATH, else Debian's versioned folder."""
    on_path = shutil.which("pg_ctl")
    if on_path is not None and shutil.which("initdb") is not None:
        return Path(on_path).parent
    for folder in PG_BIN_DIRS:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


@dataclass
class PostgresProcess:
    """A PostgreSQL server with its own `initdb` folder, socket folder and TCP port.

    PostgreSQL refuses to run as root, so under root it runs as the `postgres` OS user, in a
    folder of its own under the system temp dir (pytest's are private to root).
    """

    bin_dir: Path
    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{self.port}/{database}"

    def _as_owner(self, *argv: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *argv]
        return list(argv)

    def start(self) -> None:
        (self.root / "sock").mkdir()
        pwfile = self.root / "pw"
        pwfile.write_text(PG_PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            for path in (self.root / "sock", pwfile):
                shutil.chown(path, "postgres", "postgres")
        subprocess.run(
            self._as_owner(
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                PG_USER,
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "-E",
                "UTF8",
                "--locale=C",
            ),
            check=True,
            capture_output=True,
        )
        # In the server's config rather than on pg_ctl's command line, so that a restart (a
        # server that went away and came back) keeps them. Durability is not under test:
        # fsync off keeps each CREATE DATABASE cheap.
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nunix_socket_directories = '{self.root / 'sock'}'\n"
                "listen_addresses = '127.0.0.1'\nfsync = off\nfull_page_writes = off\n"
                "synchronous_commit = off\nmax_connections = 200\n"
            )
        result = subprocess.run(
            self._as_owner(
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.root / "log"),
                "-w",
                "-t",
                "60",
                "start",
            ),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            log = (self.root / "log").read_text() if (self.root / "log").exists() else ""
            if "could not bind" in log or "already in use" in log:
                raise PortTaken(str(self.port))
            raise RuntimeError(f"postgres did not start: {result.stderr}\n{log[-2000:]}")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                self._as_owner(
                    str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"
                ),
                capture_output=True,
            )

    def restart(self) -> None:
        """Stop and start again on the same port and folder (a server that went away)."""
        self.stop()
        subprocess.run(
            self._as_owner(
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.root / "log"),
                "-w",
                "start",
            ),
            check=True,
            capture_output=True,
        )

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres(parent: Path | None = None) -> PostgresProcess:
    """A server in a new folder inside *parent* (default: the system temp dir; under root it
    must be a folder the `postgres` user can reach, which pytest's tmp_path is not)."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        missing("postgresql")
    assert bin_dir is not None
    for attempt in range(3):
        root = Path(tempfile.mkdtemp(prefix="campusedge-pg-", dir=parent))
        server = PostgresProcess(bin_dir=bin_dir, root=root, port=free_port())
        try:
            server.start()
            return server
        except PortTaken:
            server.remove()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
