"""The gateway's relational state on one SQLAlchemy engine: a SQLite file or a PostgreSQL URL."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import lru_cache
from pathlib import Path, PurePath
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    RowMapping,
    Table,
    create_engine,
    event,
    exc,
    make_url,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql import Executable

from campusedge.words import Shown
from gateway.i18n import N_

SQLITE_MAX_VARIABLES = 32_766


# Bound parameters one statement may carry on SQLite (its compiled-in default); PostgreSQL
# takes up to 65,535.
SQLITE_MAX_VARIABLES = 32_766


class StateDBError(Shown, RuntimeError):
    """The state database cannot be used; the message names the file or server."""


class StateDBUnavailable(StateDBError):
    """The state database's server cannot be reached now; the same call may succeed later."""


def is_sqlite_path(target: str | PurePath) -> bool:
    """Whether *target* names a SQLite file by its path (not a URL)."""
    return "://" not in str(target)


def state_url(target: str | PurePath) -> str:
    """The SQLAlchemy URL for *target*: a SQLite file path, or a `postgresql://` URL (psycopg 3)."""
    value = str(target)
    if value.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        rest = value.split("://", 1)[1]
        return f"postgresql+psycopg://{rest}"
    if "://" in value and not value.startswith("sqlite:"):
        raise StateDBError(
            N_("state database {value!r}: give a SQLite file path or a postgresql:// URL"),
            value=value,
        )
    if value.startswith("sqlite:"):
        return value
    return f"sqlite:///{Path(value)}"


def _sqlite_connect(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # The driver's own transaction handling is turned off so that `begin` below decides how a
    # transaction starts (BEGIN IMMEDIATE for writers: SQLite then never returns BUSY midway).
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    # journal_mode cannot change inside a transaction, so it is set here on the bare connection.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # SQLite's own default (Debian builds allow 250,000): a statement too large for some
    # builds fails here too, not only on the machine it is deployed to.
    dbapi_conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, SQLITE_MAX_VARIABLES)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # Writers take the write lock up front; a read runs in the driver's autocommit mode, one
    # statement being one consistent snapshot, without a BEGIN and ROLLBACK around it.
    if conn.get_execution_options().get("campusedge_write", False):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


_BYTE_ORDER = {"C", "POSIX", "C.UTF-8", "C.utf8"}


def _text_order(conn: Connection) -> str | None:
    """None when *conn*'s database compares text byte by byte (SQLite always does); else the
    collation it uses instead."""
    if conn.dialect.name != "postgresql":
        return None
    row = (
        conn.execute(text("SELECT * FROM pg_database WHERE datname = current_database()"))
        .mappings()
        .one()
    )
    # PostgreSQL 15 added ICU as a database's locale provider ("i"); older ones use libc.
    if row.get("datlocprovider", "c") != "c":
        return f"the ICU locale {row.get('daticulocale')!r}"
    return None if row["datcollate"] in _BYTE_ORDER else f"the locale {row['datcollate']!r}"


class StateDB:
    """Roster, devices, users, audit and alerts: SQLite (WAL, zero setup) or PostgreSQL.

    The schema is Alembic's (gateway/migrations): opening upgrades it to this code's head
    unless `migrate=False`, and refuses a schema newer than the code. Writers use
    `transaction()`; one thread's reads inside its own transaction see its writes.
    """

    def __init__(self, target: str | PurePath, *, migrate: bool = True) -> None:
        self.url = state_url(target)
        url = make_url(self.url)
        self.dialect = url.get_backend_name()
        # Where the database is, for messages: never the password.
        self.where = (url.database or "") if self.dialect == "sqlite" else url.render_as_string()
        self.path = self.where  # the SQLite file (kept for callers that name it)
        self._local = threading.local()
        self._write_lock = threading.Lock() if self.dialect == "sqlite" else None
        if self.dialect == "sqlite":
            # The API's worker threads, ingest and the alert engine each hold a connection for
            # a moment; SQLite connections are cheap, so the pool is roomy.
            self.engine: Engine = create_engine(
                self.url, connect_args={"timeout": 30}, pool_size=10, max_overflow=30
            )
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            # pre_ping: a connection the server dropped (a restart) is replaced, not used.
            self.engine = create_engine(
                self.url,
                pool_pre_ping=True,
                pool_size=10,
                max_overflow=20,
                connect_args={"connect_timeout": 5},
            )
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                collation = _text_order(conn)
        except exc.DBAPIError as error:
            self.engine.dispose()
            raise self._failure(error) from None
        if collation is not None:
            self.engine.dispose()
            raise StateDBError(
                N_(
                    "state database {where} sorts text by {collation}: campusedge stores "
                    "times as ISO text and compares them as text, which needs byte order. "
                    "Create the database with `createdb --locale=C --template=template0 NAME` "
                    "(or LC_COLLATE 'C' and the libc provider)"
                ),
                where=self.where,
                collation=collation,
            )
        if migrate:
            from gateway.migrations import upgrade  # the migrations import this module

            try:
                upgrade(self)
            except BaseException:
                self.engine.dispose()
                raise

    def _failure(self, error: exc.DBAPIError) -> StateDBError:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        if self.dialect == "sqlite":
            return StateDBError(
                N_("cannot open state database {where}: {reason}"), where=self.where, reason=reason
            )
        return StateDBUnavailable(
            N_("state database {where} is not reachable: {reason}"), where=self.where, reason=reason
        )

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """A server that went away is StateDBUnavailable naming it, not a driver traceback."""
        try:
            yield
        except exc.OperationalError as error:
            if self.dialect == "sqlite":
                raise
            raise self._failure(error) from None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction, committed at the end of the block, rolled back on error.

        Nested in another transaction of the same thread it is a savepoint of that one: a
        consumer holds one transaction around a batch (its cursor and every effect), and the
        modules it calls open their own as they do anywhere else.
        """
        current: Connection | None = getattr(self._local, "conn", None)
        if current is not None:
            with current.begin_nested():
                yield current
            return
        lock: AbstractContextManager[object] = self._write_lock or nullcontext()
        with self._translated(), lock, self.engine.connect() as conn:
            conn.execution_options(campusedge_write=True)
            with conn.begin():
                self._local.conn = conn
                try:
                    yield conn
                finally:
                    self._local.conn = None

    @contextmanager
    def joined(self) -> Iterator[Connection]:
        """This thread's open transaction, without a savepoint of its own (else a new one).

        For writes whose failure fails the enclosing transaction anyway: a savepoint would
        only add two round trips to the server, which a busy consumer step pays for each.
        """
        current: Connection | None = getattr(self._local, "conn", None)
        if current is not None:
            yield current
            return
        with self.transaction() as conn:
            yield conn

    def ensure(self, schema_sql: str) -> None:
        """Run `CREATE … IF NOT EXISTS` statements outside the revisions.

        Kept for code written before revisions: a table belongs in gateway/tables and in a
        revision (gateway/migrations/versions), which tests/gateway/test_migrations.py checks
        against the declarations. SQLite's spelling of an autoincrement key and of an 8-byte
        float is changed for PostgreSQL.
        """
        if self.dialect == "postgresql":
            schema_sql = schema_sql.replace(
                "INTEGER PRIMARY KEY AUTOINCREMENT",
                "INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            )
            schema_sql = re.sub(r"\bREAL\b", "DOUBLE PRECISION", schema_sql)
        lines = [line for line in schema_sql.splitlines() if not line.lstrip().startswith("--")]
        with self.transaction() as conn:
            for statement in "\n".join(lines).split(";"):
                if statement.strip():
                    conn.exec_driver_sql(statement)

    def query(
        self, sql: str | Executable, params: Mapping[str, Any] | None = None
    ) -> Sequence[RowMapping]:
        """Rows of one read as mappings; inside this thread's transaction, on its connection."""
        statement = text(sql) if isinstance(sql, str) else sql
        current: Connection | None = getattr(self._local, "conn", None)
        if current is not None:
            return current.execute(statement, params or {}).mappings().all()
        if self.dialect == "sqlite":
            reader = self._reader()
            try:
                return reader.execute(statement, params or {}).mappings().all()
            finally:
                reader.rollback()  # ends SQLAlchemy's transaction; SQLite opened none
        with self._translated(), self.engine.connect() as conn:
            return conn.execute(statement, params or {}).mappings().all()

    def _reader(self) -> Connection:
        """This thread's SQLite connection for reads, as the release before kept one per
        thread: a pool checkout costs about as much as a read by primary key. Detached from
        the pool, so that threads holding one never exhaust it; it closes with its thread."""
        reader: Connection | None = getattr(self._local, "reader", None)
        if reader is None or reader.closed:
            reader = self.engine.connect()
            reader.detach()
            self._local.reader = reader
        return reader

    def close(self) -> None:
        reader: Connection | None = getattr(self._local, "reader", None)
        if reader is not None:
            reader.close()
            self._local.reader = None
        self.engine.dispose()


def dialect_insert(conn: Connection, table: Table) -> sqlite.Insert | postgresql.Insert:
    """The connection's dialect's INSERT for *table*: it has `on_conflict_do_nothing` and
    `on_conflict_do_update`, which SQLite and PostgreSQL spell the same way."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_or_ignore(conn: Connection, table: Table) -> sqlite.Insert | postgresql.Insert:
    """An INSERT into *table* that does nothing on a clash of any unique key (execute it with
    the row as parameters)."""
    return _insert_or_ignore(conn.dialect.name, table)


@lru_cache(maxsize=64)
def _insert_or_ignore(dialect: str, table: Table) -> sqlite.Insert | postgresql.Insert:
    stmt = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return stmt.on_conflict_do_nothing()


def upsert(
    conn: Connection,
    table: Table,
    values: Mapping[str, Any],
    keys: Sequence[str],
    keep: Sequence[str] = (),
) -> None:
    """INSERT *values*, or on a clash of *keys* overwrite the row's other columns with them
    (except those in *keep*, which only a new row takes)."""
    changed = [c for c in values if c not in keep]
    conn.execute(_upsert_statement(conn.dialect.name, table, tuple(changed), tuple(keys)), values)


def upsert_rows(
    conn: Connection, table: Table, columns: Sequence[str], keys: Sequence[str]
) -> sqlite.Insert | postgresql.Insert:
    """`upsert` as a statement without values, to execute with a list of rows at once."""
    return _upsert_statement(conn.dialect.name, table, tuple(columns), tuple(keys))


@lru_cache(maxsize=256)
def _upsert_statement(
    dialect: str, table: Table, columns: tuple[str, ...], keys: tuple[str, ...]
) -> sqlite.Insert | postgresql.Insert:
    # Built once per shape: making an ON CONFLICT statement costs more than running it.
    stmt = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    changed = {c: stmt.excluded[c] for c in columns if c not in keys}
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=changed)


def serialize(conn: Connection, name: str) -> None:
    """Hold a lock named *name* until *conn*'s transaction ends, so that read-check-write
    sequences under that name run one at a time across processes. PostgreSQL takes a
    transaction advisory lock; SQLite's writers are serialised already (BEGIN IMMEDIATE)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})
