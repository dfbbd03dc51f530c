"""Agent roles and bearer tokens. Only the sha256 of a token is ever stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum


class Role(StrEnum):
    """What an agent may do: upload (all), read every record (supervisor, admin)."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def may_read_audit(self) -> bool:
        """Whether this role may list other agents' audit records."""
        return self in (Role.SUPERVISOR, Role.ADMIN)


def new_token() -> str:
    """A fresh random bearer token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The sha256 hex digest stored in place of ``token``."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(token: str, token_sha256: str) -> bool:
    """Whether ``token`` hashes to ``token_sha256``, compared in constant time."""
    return hmac.compare_digest(hash_token(token), token_sha256)
