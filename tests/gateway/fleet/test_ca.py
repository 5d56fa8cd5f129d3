"""The campus CA: made on first use, or campus IT's own (RSA or EC) used as found."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from gateway.fleet.ca import CAError, CampusCA


def _existing_rsa_ca(folder: Path) -> rsa.RSAPrivateKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "District IT CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir()
    (folder / "ca.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "ca.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (folder / "ca.key").chmod(0o600)
    return key


def test_a_new_ca_issues_a_server_certificate_for_its_names(tmp_path: Path) -> None:
    ca = CampusCA.open(tmp_path / "ca")
    assert (tmp_path / "ca" / "ca.key").stat().st_mode & 0o777 == 0o600
    _, pem = ca.issue("broker", server_names=["broker.school.lan", "10.0.0.5"])
    cert = x509.load_pem_x509_certificate(pem)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["broker.school.lan"]
    assert [str(a) for a in names.get_values_for_type(x509.IPAddress)] == ["10.0.0.5"]
    cert.verify_directly_issued_by(ca.cert)
    # Opening again uses the same CA rather than making another.
    assert CampusCA.open(tmp_path / "ca").cert == ca.cert


def test_an_existing_rsa_ca_is_used_and_never_outlived(tmp_path: Path) -> None:
    _existing_rsa_ca(tmp_path / "it")
    ca = CampusCA.open(tmp_path / "it")
    _, pem = ca.issue("box/s1/b1")
    cert = x509.load_pem_x509_certificate(pem)
    cert.verify_directly_issued_by(ca.cert)
    assert cert.not_valid_after_utc <= ca.cert.not_valid_after_utc


def test_an_unsafe_or_wrong_ca_key_is_named(tmp_path: Path) -> None:
    _existing_rsa_ca(tmp_path / "it")
    key = tmp_path / "it" / "ca.key"
    key.chmod(0o644)
    with pytest.raises(CAError, match=f"{key}: readable by others; chmod 600"):
        CampusCA.open(tmp_path / "it")
    other = ec.generate_private_key(ec.SECP256R1())
    key.write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key.chmod(0o600)
    with pytest.raises(CAError, match=f"{key}: not the key of"):
        CampusCA.open(tmp_path / "it")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "ca.crt").write_text("x")
    with pytest.raises(CAError, match=r"ca\.key: missing"):
        CampusCA.open(tmp_path / "half")
