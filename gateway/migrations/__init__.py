"""Schema versions of the state database as Alembic revisions, run from code (no alembic.ini)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from gateway.i18n import N_
from gateway.state import StateDB, StateDBError

HERE = Path(__file__).parent
# One number for every campusedge, so that two workers upgrading one PostgreSQL take turns.
_ADVISORY_LOCK = 0x63616D70


class SchemaTooNew(StateDBError):
    """The database was upgraded by a newer release than this code."""


class SchemaBehind(StateDBError):
    """The database's schema is older than this code and was not upgraded."""


@dataclass(frozen=True)
class SchemaStatus:
    current: str | None  # None: an empty database, or one from before revisions
    head: str

    @property
    def at_head(self) -> bool:
        return self.current == self.head


def _config(conn: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["connection"] = conn
    return config


@cache
def scripts() -> ScriptDirectory:
    """The revisions shipped with this code (read once: they do not change while it runs)."""
    return ScriptDirectory.from_config(_config())


def head() -> str:
    revision = scripts().get_current_head()
    assert revision is not None
    return revision


def _current(conn: Connection) -> str | None:
    """The revision recorded in the database (Alembic's table), None before any.

    Read directly rather than through Alembic's MigrationContext, which logs its set-up at
    INFO on every open of the database."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    versions: list[str] = list(
        conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
    )
    return str(versions[0]) if versions else None


def _refuse_unknown(db: StateDB, current: str | None) -> None:
    known = {r.revision for r in scripts().walk_revisions()}
    if current is not None and current not in known:
        raise SchemaTooNew(
            N_(
                "state database {where} is at schema revision {current!r}, which this "
                "campusedge does not know (its newest is {head!r}): a newer release upgraded "
                "it. Run that release, or restore the backup taken before the upgrade; this "
                "one will not write to it."
            ),
            where=db.where,
            current=current,
            head=head(),
        )


def status(db: StateDB) -> SchemaStatus:
    """Where the database's schema is; SchemaTooNew if a newer release wrote it."""
    with db.engine.connect() as conn:
        current = _current(conn)
    _refuse_unknown(db, current)
    return SchemaStatus(current, head())


def upgrade(db: StateDB) -> SchemaStatus:
    """Bring the schema to this code's head; at head already, nothing happens.

    A file written before revisions existed (no version table) upgrades in place: revision 1
    creates only what is missing, and the later ones fix up old rows.
    """
    with db.transaction() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})
        current = _current(conn)
        _refuse_unknown(db, current)
        if current != head():
            command.upgrade(_config(conn), "head")
    return SchemaStatus(head(), head())


def require_head(db: StateDB) -> None:
    """SchemaBehind when the schema was not upgraded to this code's head."""
    found = status(db)
    if not found.at_head:
        raise SchemaBehind(
            N_(
                "state database {where} is at schema revision {current!r}, this code "
                "needs {head!r}: run `campusedge gateway migrate`"
            ),
            where=db.where,
            current=found.current,
            head=found.head,
        )
