"""Ed25519 checks of many signatures by one key: libsodium, the GIL released once per batch.

The signatures are checked by libsodium's ``crypto_sign_verify_detached`` in PyNaCl's copy of
libsodium, as PyNaCl's own ``crypto_sign_open`` does. PyNaCl releases and re-takes the GIL
around every signature; next to threads running Python each re-take waits for them (100
signatures: 5.6 ms alone, 22-120 ms beside one busy thread, on this project's 2-core
machine), which made the audit upload slower the more uploads ran at once. The small C
extension ``backend._ed25519_batch`` runs the loop with the GIL released once, so a batch's
signatures are checked on one core while Python runs on the other.

Without the compiled extension (a platform where it was not built), the same checks run
through PyNaCl one by one: same answers, the old speed; :data:`NATIVE` says which.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Sequence
from types import ModuleType

import nacl._sodium  # PyNaCl's compiled module: its libsodium is the one used
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError

logger = logging.getLogger("tabless.backend")

SIGNATURE_BYTES = 64
PUBLIC_KEY_BYTES = 32


def _native() -> ModuleType | None:
    try:
        from backend import _ed25519_batch  # type: ignore[attr-defined]
    except ImportError:
        return None
    assert isinstance(_ed25519_batch, ModuleType)
    try:
        sodium = ctypes.CDLL(nacl._sodium.__file__)  # already loaded: the same handle
        address = ctypes.cast(sodium.crypto_sign_verify_detached, ctypes.c_void_p).value
        _ed25519_batch.bind(address)
    except (OSError, AttributeError, TypeError, ValueError) as exc:  # no such file or symbol
        logger.warning("batch Ed25519 checks unavailable (%s): checking one by one", exc)
        return None
    return _ed25519_batch


_BATCH = _native()
NATIVE = _BATCH is not None
"""Whether the compiled batch checker is in use."""


def first_invalid(public_key: bytes, signatures: list[bytes], messages: list[bytes]) -> int:
    """Index of the first of ``signatures`` that is not ``public_key``'s signature of the
    message at the same index (one of the wrong length counts as such); -1 when all are."""
    if len(public_key) != PUBLIC_KEY_BYTES or len(signatures) != len(messages):
        raise ValueError("a 32-byte key and as many messages as signatures are needed")
    if _BATCH is not None:
        return int(_BATCH.first_invalid(public_key, signatures, messages))
    return first_invalid_one_by_one(public_key, signatures, messages)


def first_invalid_one_by_one(
    public_key: bytes, signatures: Sequence[bytes], messages: Sequence[bytes]
) -> int:
    """:func:`first_invalid` through PyNaCl, one signature per call (the reference)."""
    for index, (signature, message) in enumerate(zip(signatures, messages, strict=True)):
        if len(signature) != SIGNATURE_BYTES:
            return index
        try:
            crypto_sign_open(signature + message, public_key)
        except BadSignatureError:
            return index
    return -1
