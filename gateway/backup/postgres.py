"""PostgreSQL state: `pg_dump` in custom format for a backup, `pg_restore` to put it back.

The password of a `postgresql://` URL is passed in PGPASSWORD, never on the command line
(argv is visible to every user of the machine).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from glob import glob
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from gateway.backup.archive import BackupError
from gateway.i18n import N_


def is_postgres_url(value: str) -> bool:
    return value.startswith(("postgresql://", "postgres://"))


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


def _tool(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"))), None
    )
    if found is None:
        raise BackupError(
            N_("{name} is not installed: install the PostgreSQL client (Debian postgresql-client)"),
            name=name,
        )
    return found


def _split(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and an environment that carries the password."""
    parts = urlsplit(url)
    env = dict(os.environ)
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
        url = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", "@", 1)).geturl()
    return url, env


def _run(argv: list[str], env: dict[str, str], what: str, url: str) -> str:
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=3600)
    except subprocess.TimeoutExpired:
        raise BackupError(
            N_("{program} of {url} took over an hour; stopped"), program=what, url=redact(url)
        ) from None
    if done.returncode != 0:
        detail = " ".join(done.stderr.split())[:500]
        raise BackupError(
            N_("{program} of {url} failed: {detail}"), program=what, url=redact(url), detail=detail
        )
    return done.stdout


def _psql(url: str, sql: str) -> list[str]:
    plain, env = _split(url)
    out = _run([_tool("psql"), "-X", "-A", "-t", "-q", "-d", plain, "-c", sql], env, "psql", url)
    return [line for line in out.splitlines() if line]


def schema_of(url: str) -> dict[str, Any]:
    tables = _psql(
        url,
        "SELECT schemaname || '.' || tablename FROM pg_tables "
        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    )
    version = _psql(url, "SHOW server_version")
    migration = []
    if "public.alembic_version" in tables:
        migration = _psql(url, "SELECT version_num FROM alembic_version")
    return {
        "tables": tables,
        "server_version": version[0] if version else None,
        "alembic_version": migration[0] if migration else None,
    }


def dump(url: str, target: Path) -> dict[str, Any]:
    """pg_dump in custom format (a consistent snapshot: one repeatable-read transaction)."""
    plain, env = _split(url)
    _run(
        [_tool("pg_dump"), "-Fc", "--no-owner", "-f", str(target), "-d", plain], env, "pg_dump", url
    )
    return schema_of(url)


def other_sessions(url: str) -> int:
    """Connections to the database other than ours: a running gateway holds some."""
    rows = _psql(
        url,
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
        # Not autovacuum and other workers, which come and go on their own.
        "AND backend_type = 'client backend'",
    )
    return int(rows[0]) if rows else 0


def restore(dump_file: Path, url: str) -> None:
    """Replace the database's objects by those of the dump, in one transaction."""
    plain, env = _split(url)
    _run(
        [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            "-d",
            plain,
            str(dump_file),
        ],
        env,
        "pg_restore",
        url,
    )
