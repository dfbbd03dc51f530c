"""The device's audit signing key, kept in the OS keyring (owner ``device``).

The key is created on first use and cached for the life of the process, so the keyring is read
once, not on every action. Tests and tools may install another key with :func:`use_key`.
"""

from __future__ import annotations

import threading

from app.audit.signature import BadKey, SigningKey
from app.domain import ErrorContext, SecretError
from app.secrets import SecretStore

KEY_OWNER = "device"
KEY_NAME = "audit_signing_key"

_lock = threading.Lock()
_cached: SigningKey | None = None


def device_key(store: SecretStore | None = None) -> SigningKey:
    """This device's signing key: from the keyring, or created and stored there on first use.

    Raises :class:`SecretError` when the keyring is unavailable or holds an unreadable key
    (never silently replaced: the backend knows the old public key).
    """
    global _cached
    with _lock:
        if _cached is not None:
            return _cached
        store = store or SecretStore()
        if store.has(KEY_OWNER, KEY_NAME):
            try:
                key = SigningKey.from_secret(store.get(KEY_OWNER, KEY_NAME))
            except BadKey as exc:
                raise SecretError(
                    f"the audit signing key in the keyring is unreadable ({exc})",
                    ErrorContext(system=KEY_OWNER, field=KEY_NAME),
                ) from None
        else:
            key = SigningKey.generate()
            store.set(KEY_OWNER, KEY_NAME, key.secret())
        _cached = key
        return key


def existing_key(store: SecretStore | None = None) -> SigningKey | None:
    """The device's key if one exists (never creates one): for verifying."""
    with _lock:
        if _cached is not None:
            return _cached
    store = store or SecretStore()
    if not store.has(KEY_OWNER, KEY_NAME):
        return None
    return device_key(store)


def use_key(key: SigningKey | None) -> None:
    """Sign with ``key`` from now on (None: read the keyring again on next use)."""
    global _cached
    with _lock:
        _cached = key
