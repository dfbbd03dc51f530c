"""The local journal: signed records, every kind of event, and the key kept in the keyring."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from app.audit import journal, signing
from app.audit.signature import SigningKey, load_public_key, signature_valid
from app.audit.wire import find_chain_break, from_wire
from app.cache import open_cache
from app.cache.schema import audit_log
from app.secrets import SecretStore

NOW = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


@pytest.fixture
def key() -> Iterator[SigningKey]:
    test_key = SigningKey.generate()
    signing.use_key(test_key)
    yield test_key
    signing.use_key(None)


def test_every_kind_of_event_is_chained_and_signed(tmp_path: Path, key: SigningKey) -> None:
    cache = open_cache(tmp_path / "cache.sqlite3")
    with cache.engine.begin() as conn:
        journal.append(
            conn,
            "li.siyuan",
            cache.device_id,
            action="reply",
            system_id="zendesk",
            ticket_id="42",
            before=None,
            after={"body": "您好"},
            outcome="pending",
            now=NOW,
            action_id="a-1",
        )
        journal.record_event(conn, "li.siyuan", cache.device_id, event="sign_in", now=NOW)
        journal.record_event(
            conn,
            "li.siyuan",
            cache.device_id,
            event="settings_changed",
            before={"language": "en"},
            details={"language": "zh_CN"},
            now=NOW,
        )
        journal.record_event(
            conn,
            "li.siyuan",
            cache.device_id,
            event="field_revealed",
            system_id="zendesk",
            ticket_id="42",
            details={"field": "phone"},
            now=NOW,
        )
        journal.record_event(
            conn,
            "li.siyuan",
            cache.device_id,
            event="export",
            details={"format": "csv", "rows": 120},
            outcome="failed",
            now=NOW,
        )
        journal.record_event(conn, "li.siyuan", cache.device_id, event="sign_out", now=NOW)
        with pytest.raises(ValueError, match="unknown audit event"):
            journal.record_event(
                conn,
                "li.siyuan",
                cache.device_id,
                event="launch_missiles",  # type: ignore[arg-type]
                now=NOW,
            )
    with cache.engine.connect() as conn:
        records = [from_wire(r.record) for r in conn.execute(select(audit_log.c.record))]
    cache.close()

    assert [(r.action, r.outcome) for r in records] == [
        ("reply", "pending"),
        ("sign_in", "delivered"),
        ("settings_changed", "delivered"),
        ("field_revealed", "delivered"),
        ("export", "failed"),
        ("sign_out", "delivered"),
    ]
    assert records[2].before == {"language": "en"} and records[2].after == {"language": "zh_CN"}
    assert records[0].after == {"body": "您好", "action_id": "a-1"}
    assert find_chain_break(records) is None
    public = load_public_key(key.public_key)
    assert all(signature_valid(r, public) for r in records)
    assert not signature_valid(records[0], load_public_key(SigningKey.generate().public_key))


@pytest.mark.keyring
def test_the_device_key_is_created_once_in_the_keyring(real_keyring: str) -> None:
    store = SecretStore(service="tabless-test")
    store.delete(signing.KEY_OWNER, signing.KEY_NAME)
    signing.use_key(None)
    try:
        assert signing.existing_key(store) is None
        first = signing.device_key(store)
        assert store.has(signing.KEY_OWNER, signing.KEY_NAME)
        assert first.secret() not in repr(first)
        signing.use_key(None)  # a new process: read back from the keyring
        again = signing.device_key(store)
        assert again.public_key == first.public_key
        assert signing.existing_key(store) is again
    finally:
        signing.use_key(None)
        store.delete(signing.KEY_OWNER, signing.KEY_NAME)


@pytest.mark.keyring
def test_an_unreadable_key_in_the_keyring_is_an_error_not_a_new_key(real_keyring: str) -> None:
    from app.domain import SecretError

    store = SecretStore(service="tabless-test")
    store.set(signing.KEY_OWNER, signing.KEY_NAME, "not base64!")
    signing.use_key(None)
    try:
        with pytest.raises(SecretError, match="unreadable"):
            signing.device_key(store)
        assert store.get(signing.KEY_OWNER, signing.KEY_NAME) == "not base64!"
    finally:
        signing.use_key(None)
        store.delete(signing.KEY_OWNER, signing.KEY_NAME)
