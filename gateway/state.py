"""The gateway's relational state (roster, devices, users, audit, alerts) in one SQLite file."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SQLITE_MAX_VARIABLES = 32_766


class StateDBError(RuntimeError):
    """The state database cannot be opened; the message names the file."""


class StateDB:
    """A SQLite database shared by the gateway's threads: one connection per thread, WAL mode.

    Modules declare their own tables with `ensure(schema_sql)`; every statement is
    `CREATE … IF NOT EXISTS`, so opening is idempotent.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        # journal_mode cannot change inside a transaction, so it is set on the bare connection.
        try:
            self.connection().execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error as exc:
            self.close()
            raise StateDBError(f"cannot open state database {self.path}: {exc}") from None

    def connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=True
            )
            conn.row_factory = sqlite3.Row
            # SQLite's own default (Debian builds allow 250,000): a statement too large for
            # some builds fails here too, not only on the machine it is deployed to.
            conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, SQLITE_MAX_VARIABLES)
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; writers are serialised so that SQLite never returns BUSY.

        Nested in another transaction of the same thread it is a savepoint of that one: a
        consumer holds one transaction around a batch (its cursor and every effect), and the
        modules it calls open their own as they do anywhere else.
        """
        conn = self.connection()
        depth: int = getattr(self._local, "depth", 0)
        if depth:
            name = f"nested_{depth}"
            conn.execute(f"SAVEPOINT {name}")
            self._local.depth = depth + 1
            try:
                yield conn
            except BaseException:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
                raise
            finally:
                self._local.depth = depth
            conn.execute(f"RELEASE {name}")
            return
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            self._local.depth = 1
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            finally:
                self._local.depth = 0
            conn.execute("COMMIT")

    def ensure(self, schema_sql: str) -> None:
        with self._write_lock:
            self.connection().executescript(schema_sql)

    def query(
        self, sql: str, params: tuple[object, ...] | dict[str, object] = ()
    ) -> list[sqlite3.Row]:
        return list(self.connection().execute(sql, params))

    def close(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
