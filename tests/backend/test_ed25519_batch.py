"""The batch Ed25519 checker gives PyNaCl's answers, with the GIL released once per batch."""

from __future__ import annotations

import threading

import pytest
from nacl.signing import SigningKey

from backend.core import ed25519


def _signed(count: int) -> tuple[bytes, list[bytes], list[bytes]]:
    key = SigningKey(bytes(range(32)))
    messages = [f"record {n} / 第{n}条".encode() * (n % 5 + 1) for n in range(count)]
    signatures = [key.sign(message).signature for message in messages]
    return bytes(key.verify_key), signatures, messages


def test_the_compiled_checker_is_in_use() -> None:
    """CI builds it (pyproject ext-modules); without it the backend falls back silently to the
    slower path, which this test would hide otherwise."""
    assert ed25519.NATIVE


@pytest.mark.parametrize("bad", [0, 1, 37, 99])
def test_the_first_bad_signature_is_found_as_pynacl_finds_it(bad: int) -> None:
    key, signatures, messages = _signed(100)
    assert ed25519.first_invalid(key, signatures, messages) == -1
    broken = list(signatures)
    broken[bad] = bytes([broken[bad][0] ^ 1]) + broken[bad][1:]
    broken[min(bad + 3, 99)] = b"\0" * 64  # a later one is bad too: the first is named
    tampered = list(messages)
    tampered[bad] = messages[bad] + b"!"
    for sigs, msgs in ((broken, messages), (signatures, tampered)):
        assert ed25519.first_invalid(key, sigs, msgs) == bad
        assert ed25519.first_invalid_one_by_one(key, sigs, msgs) == bad


def test_wrong_lengths_another_key_and_empty_batches() -> None:
    key, signatures, messages = _signed(5)
    assert ed25519.first_invalid(key, [], []) == -1
    short = [*signatures[:2], signatures[2][:63], *signatures[3:]]
    assert ed25519.first_invalid(key, short, messages) == 2
    assert ed25519.first_invalid_one_by_one(key, short, messages) == 2
    other = bytes(SigningKey.generate().verify_key)
    assert ed25519.first_invalid(other, signatures, messages) == 0
    with pytest.raises(ValueError, match="32-byte key"):
        ed25519.first_invalid(key[:31], signatures, messages)
    with pytest.raises(ValueError, match="as many messages"):
        ed25519.first_invalid(key, signatures, messages[:4])
    with pytest.raises(TypeError, match="must be bytes"):
        ed25519.first_invalid(key, [*signatures[:4], "text"], messages)  # type: ignore[list-item]


def test_other_threads_run_python_while_a_batch_is_checked() -> None:
    """The GIL is released while the signatures are checked: a thread counting in Python
    keeps counting during a batch of 2,000. (How much faster that is than PyNaCl's release
    per signature under load is measured by ``python -m bench audit``, not here.)"""
    key, signatures, messages = _signed(2000)
    counted = [0]
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            counted[0] += 1

    counter = threading.Thread(target=count)
    counter.start()
    try:
        before = counted[0]
        assert ed25519.first_invalid(key, signatures, messages) == -1
        during_batch = counted[0] - before
    finally:
        stop.set()
        counter.join()
    assert during_batch > 1000, "the counter did not run while the batch was checked"
