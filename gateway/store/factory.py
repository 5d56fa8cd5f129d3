"""`open_store(url)`: the one place a store URL becomes a store.

URLs:

- `sqlite:///relative/path.db`, `sqlite:////absolute/path.db` (three slashes then the path, as
  in SQLAlchemy); option `?synchronous=normal` trades power-loss durability for speed;
- `influx://[user:password@]host[:port]/database` over HTTP, `influxs://…` over HTTPS
  (InfluxDB 1.x basic auth);
- `influx://host[:port]/database?token=TOKEN` for the v1-compatible API of InfluxDB 2.x/3.x
  (`Authorization: Token …`); option `create=0` skips CREATE DATABASE (a 2.x/3.x database
  is a bucket mapped by DBRP and cannot be created over the v1 API).

The secret may be given apart from the URL (`password`: CAMPUSEDGE_STORE_PASSWORD), so that it
is not on a command line, which every user of the machine can read: with a user in the URL it
is that user's password, without one it is the token.
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from campusedge.words import N_
from gateway.store.base import Store, StoreError
from gateway.store.influx import InfluxStore
from gateway.store.sqlite import SqliteStore

DEFAULT_INFLUX_PORT = 8086


def open_store(url: str, password: str | None = None) -> Store:
    """Open the store a URL names; raise StoreError saying what is wrong with a bad URL.
    *password*: the store's password or token, when the URL holds none."""
    parts = urlsplit(url)
    options = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    if parts.scheme == "sqlite":
        return _open_sqlite(url, parts.netloc, parts.path, options)
    if parts.scheme in ("influx", "influxs"):
        return _open_influx(url, parts.scheme, options, password)
    raise StoreError(
        N_(
            "store URL {url!r}: unknown scheme {scheme!r}; use sqlite:///path/to.db, "
            "influx://user:pass@host:8086/db, influxs://… or influx://host:8086/db?token=…"
        ),
        url=_redact(url),
        scheme=parts.scheme,
    )


def _open_sqlite(url: str, netloc: str, path: str, options: dict[str, str]) -> Store:
    if netloc:
        raise StoreError(
            N_(
                "store URL {url!r}: sqlite takes no host ({host!r}); write "
                "sqlite:///relative.db or sqlite:////absolute.db"
            ),
            url=url,
            host=netloc,
        )
    file = unquote(path[1:]) if path.startswith("/") else unquote(path)
    if not file:
        raise StoreError(
            N_("store URL {url!r}: no database file; write sqlite:///path/to.db"), url=url
        )
    unknown = set(options) - {"synchronous"}
    if unknown:
        raise StoreError(
            N_("store URL {url!r}: unknown sqlite option(s) {options}"),
            url=url,
            options=sorted(unknown),
        )
    sync = options.get("synchronous", "full").lower()
    if sync == "full":
        return SqliteStore(file, synchronous="full")
    if sync == "normal":
        return SqliteStore(file, synchronous="normal")
    raise StoreError(
        N_("store URL {url!r}: synchronous must be 'full' or 'normal', not {given!r}"),
        url=url,
        given=sync,
    )


def has_secret(url: str) -> bool:
    """Whether *url* holds a password or a token."""
    parts = urlsplit(url)
    return parts.password is not None or "token" in parse_qs(parts.query)


def _open_influx(url: str, scheme: str, options: dict[str, str], secret: str | None) -> Store:
    shown = _redact(url)
    parts = urlsplit(url)
    unknown = set(options) - {"token", "create", "timeout"}
    if unknown:
        raise StoreError(
            N_("store URL {url!r}: unknown influx option(s) {options}"),
            url=shown,
            options=sorted(unknown),
        )
    try:
        port = parts.port or DEFAULT_INFLUX_PORT
    except ValueError:
        raise StoreError(
            N_("store URL {url!r}: the port is not a number from 1 to 65535"), url=shown
        ) from None
    host = parts.hostname
    if not host:
        raise StoreError(
            N_("store URL {url!r}: no host; write influx://host:8086/database"), url=shown
        )
    database = unquote(parts.path.strip("/"))
    if not database or "/" in database:
        raise StoreError(
            N_(
                "store URL {url!r}: give exactly one database name as the path, "
                "e.g. influx://host:8086/campusedge"
            ),
            url=shown,
        )
    token = options.get("token") or None
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    if token and username:
        raise StoreError(
            N_("store URL {url!r}: give either user:password or a token, not both"), url=shown
        )
    if secret:
        if password or token:
            raise StoreError(
                N_(
                    "store URL {url!r} holds a password or token, and CAMPUSEDGE_STORE_PASSWORD "
                    "gives one too: keep it in one place (the variable)"
                ),
                url=shown,
            )
        if username:
            password = secret
        else:
            token = secret
    create = options.get("create", "1") not in ("0", "false", "no")
    try:
        timeout = float(options.get("timeout", "10"))
    except ValueError:
        raise StoreError(
            N_("store URL {url!r}: timeout must be seconds, e.g. timeout=10"), url=shown
        ) from None
    http = "https" if scheme == "influxs" else "http"
    host_part = f"[{host}]" if ":" in host else host
    return InfluxStore(
        f"{http}://{host_part}:{port}",
        database,
        username=username,
        password=password,
        token=token,
        create_database=create,
        timeout=timeout,
    )


def _redact(url: str) -> str:
    """The URL without its password or token, for error messages and logs."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(":" + parts.password + "@", ":***@", 1)
    query = (
        "&".join("token=***" if q.startswith("token=") else q for q in parts.query.split("&"))
        if parts.query
        else ""
    )
    return parts._replace(netloc=netloc, query=query).geturl()
