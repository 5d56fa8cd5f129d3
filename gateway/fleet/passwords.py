"""Secrets for MQTT identities and their hashes in Mosquitto's password-file format."""

from __future__ import annotations

import base64
import hashlib
import secrets

# What `mosquitto_passwd` writes (Mosquitto 2.0): PBKDF2-HMAC-SHA512, a 12-byte salt and
# 101 iterations, as `$7$<iterations>$<base64 salt>$<base64 hash>`. The count is Mosquitto's
# own default; a higher one would slow every login of every box at the broker.
ITERATIONS = 101
SALT_BYTES = 12


def new_secret() -> str:
    """A fresh password for one identity (32 random bytes, URL-safe text)."""
    return secrets.token_urlsafe(32)


def mosquitto_hash(password: str, *, salt: bytes | None = None) -> str:
    """The password-file hash Mosquitto 2.0 checks a login against."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ITERATIONS)
    b64 = base64.b64encode
    return f"$7${ITERATIONS}${b64(salt).decode()}${b64(digest).decode()}"
