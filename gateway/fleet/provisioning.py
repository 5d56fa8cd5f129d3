"""Provisioning an identity: its credentials files, and the broker told of the change."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from gateway.fleet.broker_files import reload_broker, write_access_files
from gateway.fleet.ca import CampusCA, write_private
from gateway.fleet.registry import FleetRegistry, Issued
from gateway.state import is_sqlite_path

CREDENTIALS = "credentials.json"
CA_CERT = "ca.crt"
CLIENT_CERT = "client.crt"
CLIENT_KEY = "client.key"


def default_ca_dir(state_db: str) -> Path:
    """The campus CA folder when none is named: `ca/` beside a SQLite state database, else
    var/campusedge/ca (a PostgreSQL state has no folder of its own)."""
    if is_sqlite_path(state_db):
        return Path(state_db).absolute().parent / "ca"
    return Path("var/campusedge/ca").absolute()


@dataclass(frozen=True)
class ClientFiles:
    """What a box (or worker) needs to log in: shown or written once; the secret and the key
    are kept nowhere else."""

    username: str
    password: str
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes
    host: str | None = None
    port: int | None = None

    def credentials_json(self) -> str:
        """The credentials file the edge agent reads (`mqtt_credentials:`), naming the
        certificate files beside it."""
        fields: dict[str, object] = {
            "username": self.username,
            "password": self.password,
            "tls_ca": CA_CERT,
            "tls_cert": CLIENT_CERT,
            "tls_key": CLIENT_KEY,
        }
        if self.host:
            fields["host"] = self.host
        if self.port:
            fields["port"] = self.port
        return json.dumps(fields, indent=2) + "\n"

    def write(self, out: Path) -> Path:
        """Write the credentials folder (secrets mode 0600); returns the credentials file."""
        out.mkdir(parents=True, exist_ok=True)
        os.chmod(out, 0o700)
        write_private(out / CLIENT_KEY, self.key_pem)
        (out / CLIENT_CERT).write_bytes(self.cert_pem)
        (out / CA_CERT).write_bytes(self.ca_pem)
        path = out / CREDENTIALS
        write_private(path, self.credentials_json().encode())
        return path


def client_files(
    issued: Issued, ca: CampusCA, host: str | None = None, port: int | None = None
) -> ClientFiles:
    """A new key and certificate from the campus CA for the identity just enrolled or
    rotated, with its secret."""
    key, cert = ca.issue(issued.identity.username)
    return ClientFiles(
        issued.identity.username,
        issued.password,
        ca.cert_path.read_bytes(),
        cert,
        key,
        host,
        port,
    )


@dataclass(frozen=True)
class BrokerRefresh:
    """What became of the broker after a change: its folder (None: none written yet) and the
    pid of the running broker that was reloaded (None: none runs there)."""

    folder: Path | None
    pid: int | None


def refresh_broker(registry: FleetRegistry, given: Path | None = None) -> BrokerRefresh:
    """Rewrite the broker's password and ACL files from the registry and make a running
    broker reread them (ReloadError when it cannot be told)."""
    remembered = registry.broker_dir()
    out = given or (Path(remembered) if remembered else None)
    if out is None:
        return BrokerRefresh(None, None)
    write_access_files(out, registry.active())
    return BrokerRefresh(out, reload_broker(out))
