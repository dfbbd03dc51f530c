"""Agent roles and bearer tokens. Only the sha256 of a token is ever stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum


class Role(StrEnum):
    """What an agent may do: upload (all); read audit records (supervisor: as far as their
    permission groups allow; admin: all); administer agents and groups (admin)."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def may_read_audit(self) -> bool:
        """Whether this role may read audit records at all (a supervisor: within its groups)."""
        return self in (Role.SUPERVISOR, Role.ADMIN)

    @property
    def may_administer(self) -> bool:
        """Whether this role may create agents and permission groups."""
        return self is Role.ADMIN


class Scope(StrEnum):
    """The data scope of a permission group: whose records its members see."""

    OWN = "own"
    """Only the member's own records."""
    TEAM = "team"
    """Records of every member of the group, within its departments."""
    DEPARTMENT = "department"
    """Every record within the group's departments."""
    ALL = "all"
    """Every record of every department."""


def new_token() -> str:
    """A fresh random bearer token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The sha256 hex digest stored in place of ``token``."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(token: str, token_sha256: str) -> bool:
    """Whether ``token`` hashes to ``token_sha256``, compared in constant time."""
    return hmac.compare_digest(hash_token(token), token_sha256)
