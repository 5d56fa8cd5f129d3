"""Check a SQLite file for damage, move a damaged one aside and salvage its readable rows.

Shared by the edge buffer (repaired on its own, so the box keeps running) and the gateway's
`gateway repair` command (repaired only when an operator asks). Standard library only.

Why not `Connection.iterdump()`: it reads each table in one statement and stops at the first
damaged page, losing every row after it. Here each table is read in rowid order, and when a
read fails the next readable rowid is found by probing further on (doubling the step, then
narrowing back by bisection), so only the rows on damaged pages are lost. A file whose
100-byte header is overwritten ("file is not a database") gets a rebuilt header in a scratch
copy, trying each page size, before its rows are read.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

# The sidecar files a WAL-mode database keeps next to it; they move with it.
SIDECARS = ("-wal", "-shm", "-journal")
# SQLITE_CORRUPT and SQLITE_NOTADB (primary result codes): the file itself is damaged.
_DAMAGE_CODES = {11, 26}
_PAGE_SIZES = (4096, 1024, 2048, 8192, 16384, 32768, 65536, 512)
_ROWID_MAX = 2**63 - 1
_ROWID_MIN = -(2**63)
# Past this many damaged places in one table, the rest of it is given up (bounded work).
_MAX_READ_ERRORS = 10_000


def is_damage(exc: BaseException) -> bool:
    """Whether a sqlite3 error says the file is damaged (not locked, full or unreadable)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in _DAMAGE_CODES
    text = str(exc)
    return "malformed" in text or "not a database" in text


def check(path: Path) -> str | None:
    """What is wrong with the SQLite file at *path*, or None when it reads as sound.

    A missing file is sound (it will be created); a zero-length one is reported, because a
    file that once held data and now holds nothing lost it.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        return "the file is empty (zero length)"
    # Opened as its owner opens it (a read-only open of a WAL file can fail for reasons that
    # are not damage); errors other than damage (locked, unreadable) are raised, not reported.
    db = sqlite3.connect(path)
    try:
        rows = db.execute("PRAGMA quick_check(5)").fetchall()
    except sqlite3.DatabaseError as exc:
        if not is_damage(exc):
            raise
        return str(exc)
    finally:
        db.close()
    problems = [str(r[0]) for r in rows if r[0] != "ok"]
    return "; ".join(problems)[:400] if problems else None


def foreign(path: Path) -> bool:
    """Whether *path* is no SQLite file at all, not even a damaged one (so not ours to move).

    A file without the SQLite magic whose schema no rebuilt header makes readable: a path
    given by mistake (a config file, a log) rather than a damaged database.
    """
    with path.open("rb") as f:
        if f.read(16) == b"SQLite format 3\x00":
            return False
    with tempfile.TemporaryDirectory(prefix="salvage-", dir=path.parent) as scratch:
        copy = Path(scratch) / "copy.db"
        shutil.copyfile(path, copy)
        db = _open_readable(copy, Salvage())
        if db is None:
            return True
        db.close()
        return False


def move_aside(path: Path, now: datetime | None = None) -> Path:
    """Rename *path* and its sidecar files to `<name>.damaged-<UTC time>`; return the new path."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S.%fZ")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    os.replace(path, aside)
    for suffix in SIDECARS:
        side = Path(str(path) + suffix)
        if side.exists():
            os.replace(side, Path(str(aside) + suffix))
    return aside


@dataclass
class TableSalvage:
    """What was read from one table."""

    rows: int = 0
    read_errors: int = 0
    from_pages: int = 0  # of `rows`, read from leaf pages the seeks could not reach


@dataclass
class Salvage:
    """The outcome of salvaging a damaged file into a fresh one."""

    tables: dict[str, TableSalvage] = field(default_factory=dict)
    header_rebuilt: bool = False
    schema_readable: bool = True
    error: str | None = None

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables.values())

    def summary(self) -> str:
        if not self.schema_readable:
            return f"nothing readable ({self.error})"
        parts = [f"{name} {t.rows}" for name, t in sorted(self.tables.items())]
        text = f"{self.rows} rows recovered ({', '.join(parts) or 'no tables'})"
        if self.header_rebuilt:
            text += "; the file header was rebuilt"
        return text


def salvage(damaged: Path, into: sqlite3.Connection) -> Salvage:
    """Copy what can still be read from *damaged* into the open database *into*.

    Tables missing from *into* are created from the damaged file's schema; rows keep their
    rowids, and a row whose key is already in *into* is kept as it is there. Indexes and
    triggers of the damaged file are created after the rows. *damaged* itself is never
    written: the work is done on a scratch copy.
    """
    with tempfile.TemporaryDirectory(prefix="salvage-", dir=damaged.parent) as scratch:
        copy = Path(scratch) / "copy.db"
        shutil.copyfile(damaged, copy)
        for suffix in SIDECARS[:1]:
            side = Path(str(damaged) + suffix)
            if side.exists():
                shutil.copyfile(side, Path(str(copy) + suffix))
        result = Salvage()
        src = _open_readable(copy, result)
        if src is None:
            return result
        try:
            _copy_schema_and_rows(src, into, result)
            if result.header_rebuilt or any(t.read_errors for t in result.tables.values()):
                into.execute("BEGIN")
                try:
                    _scan_pages(copy, src, into, result)
                    into.execute("COMMIT")
                except BaseException:
                    into.execute("ROLLBACK")
                    raise
        finally:
            src.close()
        return result


def _schema(db: sqlite3.Connection) -> list[tuple[str, str, str, str | None]]:
    return [
        (str(t), str(n), str(tbl), s)
        for t, n, tbl, s in db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master")
    ]


def _open_readable(copy: Path, result: Salvage) -> sqlite3.Connection | None:
    """Open the scratch copy so that its schema reads, rebuilding the header if it must."""
    db = sqlite3.connect(copy, isolation_level=None)
    try:
        _schema(db)
        return db
    except sqlite3.DatabaseError as exc:
        db.close()
        result.error = str(exc)
    original = copy.read_bytes()[:100]
    wal = Path(str(copy) + "-wal").exists()
    for size in _PAGE_SIZES:
        with copy.open("r+b") as f:
            f.write(_header(size, wal))
        db = sqlite3.connect(copy, isolation_level=None)
        try:
            if any(t == "table" for t, *_ in _schema(db)):
                result.header_rebuilt = True
                result.error = None
                return db
        except sqlite3.DatabaseError:
            pass
        db.close()
    with copy.open("r+b") as f:
        f.write(original)
    result.schema_readable = False
    return None


def _header(page_size: int, wal: bool) -> bytes:
    """A database header for *page_size*: sizes and counts that SQLite recomputes are zero."""
    version = 2 if wal else 1
    h = bytearray(100)
    h[0:16] = b"SQLite format 3\x00"
    struct.pack_into(">H", h, 16, 1 if page_size == 65536 else page_size)
    h[18], h[19], h[20], h[21], h[22], h[23] = version, version, 0, 64, 32, 32
    # Change counter 1 with version-valid-for 0: the page count at 28 is ignored and taken
    # from the file size; the freelist (32, 36) is forgotten, which only leaks pages.
    struct.pack_into(">I", h, 24, 1)
    struct.pack_into(">I", h, 40, 1)  # schema cookie
    struct.pack_into(">I", h, 44, 4)  # schema format
    struct.pack_into(">I", h, 56, 1)  # UTF-8
    struct.pack_into(">I", h, 96, 3_040_001)
    return bytes(h)


def _copy_schema_and_rows(
    src: sqlite3.Connection, dst: sqlite3.Connection, result: Salvage
) -> None:
    schema = _schema(src)
    have = {str(r[0]) for r in dst.execute("SELECT name FROM sqlite_master")}
    dst.execute("BEGIN")
    try:
        for kind, name, _, sql in schema:
            if kind != "table" or name.startswith("sqlite_") or sql is None:
                continue
            if name not in have:
                dst.execute(sql)
            result.tables[name] = _copy_table(src, dst, name, sql)
        for kind, name, _, sql in schema:
            if kind in ("index", "trigger", "view") and sql is not None and name not in have:
                # A unique index that salvaged rows no longer satisfy: the rows matter more.
                with contextlib.suppress(sqlite3.Error):
                    dst.execute(sql)
        dst.execute("COMMIT")
    except BaseException:
        dst.execute("ROLLBACK")
        raise


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _copy_table(
    src: sqlite3.Connection, dst: sqlite3.Connection, name: str, sql: str
) -> TableSalvage:
    out = TableSalvage()
    table = _quote(name)
    try:
        columns = [str(r[1]) for r in src.execute(f"PRAGMA table_info({table})")]
    except sqlite3.DatabaseError:
        out.read_errors += 1
        return out
    cols = ", ".join(_quote(c) for c in columns)
    without_rowid = "WITHOUT ROWID" in sql.upper()
    if without_rowid:
        insert = f"INSERT OR IGNORE INTO {table} ({cols}) VALUES ({', '.join('?' * len(columns))})"
        try:
            for row in src.execute(f"SELECT {cols} FROM {table}"):
                dst.execute(insert, row)
                out.rows += 1
        except sqlite3.DatabaseError:
            out.read_errors += 1  # no rowid to step past the damage by
        return out
    insert = (
        f"INSERT OR IGNORE INTO {table} (rowid, {cols}) VALUES (?, {', '.join('?' * len(columns))})"
    )
    for row in _readable_rows(src, table, cols, out):
        dst.execute(insert, row)
        out.rows += 1
    return out


def _readable_rows(
    src: sqlite3.Connection, table: str, cols: str, out: TableSalvage
) -> Iterator[tuple[object, ...]]:
    """Rows of a rowid table in rowid order, stepping past those that cannot be read."""
    select = f"SELECT rowid, {cols} FROM {table} WHERE rowid > ? ORDER BY rowid"
    after: int | float = float("-inf")
    while True:
        try:
            for row in src.execute(select, (after,)):
                if int(row[0]) <= after:
                    # A damaged interior page points back into rows already read.
                    raise sqlite3.DatabaseError("rowid out of order")
                after = int(row[0])
                yield tuple(row)
            return
        except sqlite3.DatabaseError:
            out.read_errors += 1
            if out.read_errors > _MAX_READ_ERRORS:
                return
        # The row after *after*, or the page holding it, is unreadable: go on from the first
        # row beyond the damage whose own record reads.
        nxt = _next_readable(src, table, cols, _ROWID_MIN if isinstance(after, float) else after)
        if nxt is None:
            return
        after = nxt - 1


def _probe(src: sqlite3.Connection, table: str, after: int) -> int | bool | None:
    """The first rowid above *after*; None when there is none, False when the seek fails."""
    try:
        row = src.execute(
            f"SELECT rowid FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT 1", (after,)
        ).fetchone()
    except sqlite3.DatabaseError:
        return False
    if row is None:
        return None
    # A damaged page can send a seek to a smaller rowid: that is a failed seek too.
    return int(row[0]) if int(row[0]) > after else False


def _row_reads(src: sqlite3.Connection, table: str, cols: str, rowid: int) -> bool:
    try:
        src.execute(f"SELECT {cols} FROM {table} WHERE rowid = ?", (rowid,)).fetchall()
    except sqlite3.DatabaseError:
        return False
    return True


def _next_readable(src: sqlite3.Connection, table: str, cols: str, after: int) -> int | None:
    """The smallest rowid above *after* whose row reads, as far as seeks can tell.

    A seek into a damaged leaf fails, and one beyond it lands on the next leaf: doubling the
    distance finds a seek that works, bisection then finds the first one, so the rows just
    past the damage are kept. A row whose seek works but whose record does not read (a
    damaged overflow page) is stepped over by itself.
    """
    while True:
        lo, step = after, 1
        while True:
            at = min(lo + step, _ROWID_MAX)
            found = _probe(src, table, at)
            if found is not False:
                break
            if at >= _ROWID_MAX:
                return None
            lo, step = at, step * 2
        hi = at
        while hi - lo > 1:
            mid = lo + (hi - lo) // 2
            got = _probe(src, table, mid)
            if got is False:
                lo = mid
            else:
                hi, found = mid, got
        if found is None or isinstance(found, bool):
            return None
        if _row_reads(src, table, cols, found):
            return found
        after = found


# -- reading leaf pages directly ----------------------------------------------------------
#
# A damaged interior page hides every leaf below it from a rowid seek, though the leaves
# themselves are intact. So after the seeks, every table leaf page of the file is read by
# hand (file format: https://www.sqlite.org/fileformat2.html, "B-tree Pages" and "Record
# Format"), and each record is given to the one table whose column count and declared types
# it fits; a record that fits none or several is left out rather than guessed.


def _varint(buf: bytes, at: int) -> tuple[int, int]:
    """A SQLite varint at *at*: its value and the offset after it."""
    value = 0
    for i in range(9):
        if at + i >= len(buf):
            raise ValueError("varint runs off the page")
        b = buf[at + i]
        if i == 8:
            return (value << 8) | b, at + 9
        value = (value << 7) | (b & 0x7F)
        if b < 0x80:
            return value, at + i + 1
    raise AssertionError("unreachable")


def _record(payload: bytes) -> list[object]:
    size, at = _varint(payload, 0)
    if not 0 < size <= len(payload):
        raise ValueError("bad record header size")
    types = []
    while at < size:
        t, at = _varint(payload, at)
        types.append(t)
    if at != size:
        raise ValueError("record header overruns")
    values: list[object] = []
    pos = size
    for t in types:
        if t == 0:
            values.append(None)
        elif 1 <= t <= 6:
            n = (1, 2, 3, 4, 6, 8)[t - 1]
            values.append(int.from_bytes(payload[pos : pos + n], "big", signed=True))
            pos += n
        elif t == 7:
            values.append(struct.unpack(">d", payload[pos : pos + 8])[0])
            pos += 8
        elif t in (8, 9):
            values.append(t - 8)
        elif t >= 12:
            n = (t - 12) // 2
            chunk = payload[pos : pos + n]
            values.append(bytes(chunk) if t % 2 == 0 else chunk.decode("utf-8"))
            pos += n
        else:
            raise ValueError("reserved serial type")
        if pos > len(payload):
            raise ValueError("record runs past its payload")
    if pos != len(payload):
        raise ValueError("record length does not match its payload")
    return values


def _leaf_cells(data: bytes, page_size: int, usable: int) -> Iterator[tuple[int, list[object]]]:
    """(rowid, record) of every cell of every table leaf page from page 2 on."""
    pages = len(data) // page_size
    max_local = usable - 35
    min_local = (usable - 12) * 32 // 255 - 23
    for pgno in range(2, pages + 1):
        page = data[(pgno - 1) * page_size : pgno * page_size]
        if page[0] != 0x0D:
            continue
        ncells = int.from_bytes(page[3:5], "big")
        if 8 + 2 * ncells > usable:
            continue
        for i in range(ncells):
            ptr = int.from_bytes(page[8 + 2 * i : 10 + 2 * i], "big")
            try:
                if not 8 <= ptr < usable:
                    raise ValueError("cell pointer off the page")
                length, at = _varint(page, ptr)
                rowid, at = _varint(page, at)
                if rowid >= 2**63:
                    rowid -= 2**64
                if length <= max_local:
                    local = length
                else:
                    k = min_local + (length - min_local) % (usable - 4)
                    local = k if k <= max_local else min_local
                if at + local > usable:
                    raise ValueError("cell runs off the page")
                payload = bytearray(page[at : at + local])
                if local < length:
                    nxt = int.from_bytes(page[at + local : at + local + 4], "big")
                    seen = 0
                    while len(payload) < length:
                        seen += 1
                        if not 2 <= nxt <= pages or seen > pages:
                            raise ValueError("broken overflow chain")
                        over = data[(nxt - 1) * page_size : nxt * page_size]
                        payload += over[4 : min(usable, 4 + length - len(payload))]
                        nxt = int.from_bytes(over[0:4], "big")
                yield rowid, _record(bytes(payload))
            except (ValueError, UnicodeDecodeError, struct.error):
                continue


@dataclass(frozen=True)
class _Shape:
    name: str
    columns: list[str]
    types: list[str]  # declared affinity per column: "int", "text", "blob", "real" or "any"
    notnull: list[bool]
    ipk: int | None  # the INTEGER PRIMARY KEY column (stored as NULL, its value is the rowid)

    def fits(self, rowid: int, values: list[object]) -> list[object] | None:
        if len(values) != len(self.columns):
            return None
        out = list(values)
        for i, v in enumerate(values):
            if i == self.ipk:
                if v is not None:
                    return None
                out[i] = rowid
                continue
            if v is None:
                if self.notnull[i]:
                    return None
                continue
            want = self.types[i]
            ok = {
                "int": isinstance(v, int),
                "text": isinstance(v, str),
                "blob": isinstance(v, bytes),
                "real": isinstance(v, int | float),
            }.get(want, True)
            if not ok:
                return None
        return out


def _affinity(declared: str) -> str:
    d = declared.upper()
    if "INT" in d:
        return "int"
    if any(x in d for x in ("CHAR", "CLOB", "TEXT")):
        return "text"
    if "BLOB" in d:
        return "blob"
    if any(x in d for x in ("REAL", "FLOA", "DOUB")):
        return "real"
    return "any"


def _shapes(dst: sqlite3.Connection, names: list[str]) -> list[_Shape]:
    shapes = []
    for name in names:
        info = list(dst.execute(f"PRAGMA table_info({_quote(name)})"))
        pks = [r for r in info if int(r[5]) > 0]
        ipk = None
        if len(pks) == 1 and str(pks[0][2]).upper() == "INTEGER":
            ipk = int(pks[0][0])
        shapes.append(
            _Shape(
                name,
                [str(r[1]) for r in info],
                [_affinity(str(r[2])) for r in info],
                [bool(r[3]) for r in info],
                ipk,
            )
        )
    return shapes


def _scan_pages(
    copy: Path, src: sqlite3.Connection, dst: sqlite3.Connection, result: Salvage
) -> None:
    """Add the rows of leaf pages that the seeks could not reach (see above)."""
    page_size = int(src.execute("PRAGMA page_size").fetchone()[0])
    reserved = copy.read_bytes()[20] if copy.stat().st_size > 20 else 0
    usable = page_size - reserved
    names = [n for n in result.tables if not n.startswith("sqlite_")]
    rowid_tables = [
        n
        for n in names
        if "WITHOUT ROWID"
        not in str(
            dst.execute("SELECT sql FROM sqlite_master WHERE name = ?", (n,)).fetchone()[0]
        ).upper()
    ]
    shapes = _shapes(dst, rowid_tables)
    inserts = {
        s.name: (
            f"INSERT OR IGNORE INTO {_quote(s.name)} (rowid, "
            f"{', '.join(_quote(c) for c in s.columns)}) VALUES (?{', ?' * len(s.columns)})"
        )
        for s in shapes
    }
    for rowid, values in _leaf_cells(copy.read_bytes(), page_size, usable):
        fitting = [(s, row) for s in shapes if (row := s.fits(rowid, values)) is not None]
        if len(fitting) != 1:
            continue
        shape, row = fitting[0]
        if dst.execute(inserts[shape.name], (rowid, *row)).rowcount:
            table = result.tables[shape.name]
            table.rows += 1
            table.from_pages += 1
