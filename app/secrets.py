"""The only module that touches ``keyring``. Secrets never reach config, SQLite or logs.

Entries are stored under service ``tabless`` with username ``<system_id>/<key>``.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable

import keyring
import keyring.backend
import keyring.errors

from app.domain import ErrorContext, SecretError

# The keyring service; the demo uses its own ("tabless-demo") so it never overwrites real secrets.
SERVICE = "tabless"
SERVICE_ENV = "TABLESS_KEYRING_SERVICE"
_INSECURE_BACKENDS = ("fail", "null", "plaintext", "PlaintextKeyring", "chainer")
MASK = "••••••"


def _username(system_id: str, key: str) -> str:
    return f"{system_id}/{key}"


class SecretStore:
    """Reads and writes Tabless secrets in the OS keyring; refuses insecure backends."""

    def __init__(self, service: str | None = None) -> None:
        self.service = service or os.environ.get(SERVICE_ENV) or SERVICE

    @staticmethod
    def backend_name() -> str:
        """Human-readable name of the active keyring backend."""
        backend = keyring.get_keyring()
        return f"{type(backend).__module__}.{type(backend).__name__}"

    def ensure_available(self) -> None:
        """Raise ``SecretError`` (clear, actionable) when no secure OS keyring is usable."""
        backend = keyring.get_keyring()
        name = self.backend_name()
        priority = getattr(backend, "priority", 0)
        if any(bad.lower() in name.lower() for bad in _INSECURE_BACKENDS[:4]) or priority <= 0:
            raise SecretError(
                "No OS keyring is available (backend "
                f"{name}). Tabless stores secrets only in the keyring: on Linux start a Secret "
                "Service (GNOME Keyring or KWallet) in your session; Windows and macOS have one "
                "built in. Nothing was written in plain text."
            )

    def get(self, system_id: str, key: str) -> str:
        """The secret ``key`` of ``system_id``; ``SecretError`` when missing or locked."""
        try:
            value = keyring.get_password(self.service, _username(system_id, key))
        except keyring.errors.KeyringError as exc:
            raise SecretError(
                f"the keyring refused to read {key!r}: {exc}", ErrorContext(system=system_id)
            ) from exc
        if value is None:
            raise SecretError(
                f"no secret {key!r} in the keyring for this system", ErrorContext(system=system_id)
            )
        return value

    def set(self, system_id: str, key: str, value: str) -> None:
        """Store a secret (after checking the keyring is a real one)."""
        self.ensure_available()
        try:
            keyring.set_password(self.service, _username(system_id, key), value)
        except keyring.errors.KeyringError as exc:
            raise SecretError(
                f"the keyring refused to store {key!r}: {exc}", ErrorContext(system=system_id)
            ) from exc

    def has(self, system_id: str, key: str) -> bool:
        """True when the secret exists."""
        try:
            return keyring.get_password(self.service, _username(system_id, key)) is not None
        except keyring.errors.KeyringError:
            return False

    def delete(self, system_id: str, key: str) -> None:
        """Remove a secret; missing entries are fine."""
        with contextlib.suppress(keyring.errors.PasswordDeleteError):
            keyring.delete_password(self.service, _username(system_id, key))

    def getter(self, system_id: str) -> _Getter:
        """A callable ``key -> secret`` for one system, as adapters receive it."""
        return _Getter(self, system_id)


class _Getter:
    def __init__(self, store: SecretStore, system_id: str) -> None:
        self._store = store
        self._system_id = system_id

    def __call__(self, key: str) -> str:
        return self._store.get(self._system_id, key)

    def __repr__(self) -> str:
        return f"<secrets of {self._system_id}: {MASK}>"


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret (and bearer tokens) masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return re.sub(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}", rf"\1 {MASK}", text)
