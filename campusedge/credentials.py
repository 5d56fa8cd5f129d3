"""A client's MQTT credentials file (written by `campusedge provision`) and start-up checks."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from campusedge.settings import MqttSettings
from campusedge.words import N_, Shown


class CredentialsError(Shown, ValueError):
    """A credentials, certificate or key file is missing or unsafe; the message names it."""


class Credentials(BaseModel):
    """One identity's login; certificate paths are relative to the file's folder."""

    model_config = ConfigDict(extra="forbid")

    username: str
    password: SecretStr
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    host: str | None = None
    port: int | None = None


def _private(path: Path) -> None:
    if path.stat().st_mode & 0o077:
        raise CredentialsError(
            N_("{path}: readable by other users (mode {mode}); chmod 600 {path}"),
            path=path,
            mode=f"{path.stat().st_mode & 0o777:o}",
        )


def load_credentials(path: Path) -> dict[str, object]:
    """MqttSettings fields from a credentials file; CredentialsError if it is unusable."""
    if not path.is_file():
        raise CredentialsError(
            N_("{path}: no such credentials file (see `campusedge provision`)"), path=path
        )
    _private(path)
    try:
        creds = Credentials.model_validate(json.loads(path.read_text()))
    except (ValueError, ValidationError) as exc:
        raise CredentialsError(
            N_("{path}: not a credentials file ({reason})"), path=path, reason=exc
        ) from None
    fields: dict[str, object] = {"username": creds.username, "password": creds.password}
    for name in ("tls_ca", "tls_cert", "tls_key"):
        value = getattr(creds, name)
        if value is not None:
            fields[name] = str(path.parent / value)
    if creds.host is not None:
        fields["host"] = creds.host
    if creds.port is not None:
        fields["port"] = creds.port
    return fields


def check_tls_files(settings: MqttSettings) -> None:
    """Stop at start, naming the file, rather than half-secured or at the first reconnect."""
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise CredentialsError(
            N_("a client certificate needs both tls_cert and tls_key"), catalog=True
        )
    if settings.tls_cert and not settings.tls_ca:
        raise CredentialsError(
            N_("{path}: a client certificate is set but no tls_ca (TLS is off)"),
            path=settings.tls_cert,
        )
    for name in ("tls_ca", "tls_cert", "tls_key"):
        value = getattr(settings, name)
        if value is None:
            continue
        path = Path(value)
        if not path.is_file():
            raise CredentialsError(N_("{path}: {name} file does not exist"), path=path, name=name)
        if name == "tls_key":
            _private(path)
    # Parse them now as the TLS handshake will, so a wrong file is named here, not in a
    # reconnect loop's log.
    context = ssl.create_default_context()
    try:
        if settings.tls_ca:
            context.load_verify_locations(settings.tls_ca)
    except ssl.SSLError as exc:
        raise CredentialsError(
            N_("{path}: not a PEM CA certificate ({reason})"), path=settings.tls_ca, reason=exc
        ) from None
    try:
        if settings.tls_cert and settings.tls_key:
            context.load_cert_chain(settings.tls_cert, settings.tls_key)
    except ssl.SSLError as exc:
        raise CredentialsError(
            N_("{path}: not a PEM certificate whose key is {key} ({reason})"),
            path=settings.tls_cert,
            key=settings.tls_key,
            reason=exc,
        ) from None
