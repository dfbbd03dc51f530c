"""Ed25519 signatures of audit records, shared by the client and the backend.

A record is signed over :func:`app.audit.wire.canonical_bytes` (which excludes ``hash`` and
``signature``), so signing never changes the hash chain. Keys and signatures travel as
standard base64: a public key is 32 raw bytes (44 characters), a signature 64
raw bytes (88 characters). No keyring here: the backend imports this module too.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from app.audit.wire import AuditRecord, canonical_bytes

__all__ = [
    "PUBLIC_KEY_LENGTH",
    "BadKey",
    "SigningKey",
    "load_public_key",
    "signature_valid",
]

PUBLIC_KEY_LENGTH = 44
"""Characters of a base64 Ed25519 public key."""


class BadKey(ValueError):
    """A key that cannot be read (not base64, wrong length)."""


class SigningKey:
    """A device's Ed25519 private key. ``repr`` never shows the key."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public_key = _b64(
            self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        )
        """The public key, base64 (what the device registers with the backend)."""

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh random key."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_secret(cls, secret: str) -> SigningKey:
        """The key stored as :meth:`secret` (base64 of the 32-byte seed)."""
        raw = _unb64(secret, "private key")
        if len(raw) != 32:
            raise BadKey(f"an Ed25519 private key has 32 bytes, not {len(raw)}")
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    def secret(self) -> str:
        """The private key as text for the keyring (base64 of the 32-byte seed)."""
        raw = self._private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return _b64(raw)

    def sign(self, record: AuditRecord) -> AuditRecord:
        """``record`` with its ``signature`` set (the hash is unchanged)."""
        signature = _b64(self._private.sign(canonical_bytes(record)))
        return dataclasses.replace(record, signature=signature)

    def __repr__(self) -> str:
        return f"<SigningKey public={self.public_key}>"


def load_public_key(text: str) -> Ed25519PublicKey:
    """Read a base64 public key; :class:`BadKey` when it is not one."""
    raw = _unb64(text, "public key")
    if len(raw) != 32:
        raise BadKey(f"an Ed25519 public key has 32 bytes, not {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def signature_valid(
    record: AuditRecord, public_key: Ed25519PublicKey, *, canonical: bytes | None = None
) -> bool:
    """Whether ``record.signature`` signs ``record`` under ``public_key`` (False: unsigned).

    ``canonical`` saves recomputing :func:`canonical_bytes` when the caller already has it.
    """
    if record.signature is None:
        return False
    try:
        signature = _unb64(record.signature, "signature")
        public_key.verify(
            signature, canonical if canonical is not None else canonical_bytes(record)
        )
    except (BadKey, InvalidSignature):
        return False
    return True


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise BadKey(f"the {what} is not base64") from None
