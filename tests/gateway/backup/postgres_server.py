"""A real PostgreSQL 15 for tests: initdb in a temporary folder, run as the `postgres` user."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from glob import glob
from pathlib import Path

import pytest

from campusedge.broker import free_port
from tests.services import REQUIRE

PASSWORD = "pg-test-pw"


def _bin_dir() -> Path | None:
    found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _unavailable(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"CAMPUSEDGE_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


@dataclass
class PostgresServer:
    folder: Path
    port: int
    proc: subprocess.Popen[bytes]

    def url(self, database: str = "campus") -> str:
        return f"postgresql://postgres:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "campus") -> list[str]:
        done = subprocess.run(
            ["psql", "-X", "-A", "-t", "-q", "-d", self.url(database), "-c", sql],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return [line for line in done.stdout.splitlines() if line]


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    bin_dir = _bin_dir()
    if bin_dir is None or shutil.which("psql") is None:
        _unavailable("PostgreSQL is not installed (Debian packages postgresql, postgresql-client)")
        raise AssertionError  # not reached
    if os.geteuid() != 0:
        # PostgreSQL refuses to run as root, and only root can start it as another user here.
        pytest.skip("starting PostgreSQL as the postgres user needs root")
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        _unavailable("there is no postgres user (Debian package postgresql creates it)")
        raise AssertionError from None
    folder = Path(tempfile.mkdtemp(prefix="campusedge-pg-"))
    os.chown(folder, user.pw_uid, user.pw_gid)
    pwfile = folder / "pw"
    pwfile.write_text(PASSWORD + "\n")
    os.chown(pwfile, user.pw_uid, user.pw_gid)
    as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [
            *as_postgres,
            str(bin_dir / "initdb"),
            "-D",
            str(folder / "data"),
            "-U",
            "postgres",
            f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256",
            "--auth-local=peer",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_port()
    log = (folder / "postgres.log").open("wb")
    proc = subprocess.Popen(
        [
            *as_postgres,
            str(bin_dir / "postgres"),
            "-D",
            str(folder / "data"),
            "-p",
            str(port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={folder}",
            "-c",
            "fsync=off",
        ],
        stdout=log,
        stderr=log,
    )
    server = PostgresServer(folder, port, proc)
    try:
        deadline = time.monotonic() + 30
        while (
            subprocess.run(
                ["psql", "-X", "-d", server.url("postgres"), "-c", "select 1"], capture_output=True
            ).returncode
            != 0
        ):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"postgres did not start; see {folder}/postgres.log")
            time.sleep(0.2)
        server.psql("CREATE DATABASE campus", database="postgres")
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)
