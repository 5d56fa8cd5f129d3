"""Where the state and the readings live, from the command line or the gateway's settings."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from gateway.backup.archive import BackupError
from gateway.backup.postgres import is_postgres_url
from gateway.cli.common import load_settings
from gateway.i18n import N_
from gateway.service import GatewaySettings, GatewayStartError


def _settings() -> GatewaySettings:
    try:
        return load_settings(GatewaySettings, {})
    except GatewayStartError as exc:
        raise BackupError(exc) from None


@dataclass(frozen=True)
class Target:
    """A database to copy or restore: a SQLite file, or a PostgreSQL URL."""

    kind: str  # "sqlite" or "postgresql"
    path: Path | None = None
    url: str | None = None


def state_target(option: str | None) -> Target:
    """--state-db, else CAMPUSEDGE_STATE_DB, else the gateway's default file."""
    # Read as text: a postgresql:// URL must not go through Path, which folds its "//".
    value = option or os.environ.get("CAMPUSEDGE_STATE_DB") or str(_settings().state_db)
    if is_postgres_url(value):
        return Target("postgresql", url=value)
    if "://" in value:
        raise BackupError(
            N_("state database {scheme}://…: give a SQLite file path or a postgresql:// URL"),
            scheme=value.split("://")[0],
        )
    return Target("sqlite", path=Path(value))


def readings_target(store_url: str | None, db: Path | None) -> Target | None:
    """The readings store when it is a SQLite file; None for InfluxDB (backed up by its own
    tools: `influxd backup -portable`)."""
    url = f"sqlite:///{db}" if db is not None else store_url or _settings().store_url
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        return None
    path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
    if not path:
        raise BackupError(
            N_("store URL {url!r}: no database file; write sqlite:///path/to.db"), url=url
        )
    return Target("sqlite", path=Path(path))
