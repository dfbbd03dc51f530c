"""One customer across systems: matching by e-mail, phone and external id; manual link/unlink;
QA results; the lookups use the expression indexes (a real SQLite cache, migrated)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.cache import open_cache
from app.cache.customers import decide, identity_key, phone_key, profile
from app.cache.repo import upsert_tickets
from app.cache.schema import tickets
from app.domain import Person, Status, Ticket, TicketKey

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def _ticket(
    system: str, number: int, who: Person, *, extra: dict[str, str] | None = None, tags=()
) -> Ticket:
    at = T0 + timedelta(hours=number)
    return Ticket(
        key=TicketKey(system, str(number)),
        subject=f"{system} #{number}",
        status=Status.OPEN,
        native_status="open",
        created_at=at,
        updated_at=at,
        requester=who,
        extra=extra or {},
        tags=tuple(tags),
    )


WANG = Person("王芳", "Wang.Fang@example.cn", "+86 138-0013-8000", "u-1")
SEEDED = [
    _ticket("zendesk", 1, WANG),
    # same person in the legacy portal: same e-mail (other case), no phone
    _ticket("osticket", 2, Person("Wang Fang", "wang.fang@example.cn ", None, "77")),
    # the CSV export knows only her phone, written differently
    _ticket("csv", 3, Person("王女士", None, "13800138000", None)),
    # her phone's other ticket in freshdesk carries a second e-mail: followed one round further
    _ticket("freshdesk", 4, Person("王芳", "fang@home.example", "138 0013 8000", None)),
    _ticket("freshdesk", 5, Person("王芳", "fang@home.example", None, None)),
    # a QA inspection of her conversation
    _ticket(
        "quality",
        6,
        Person("王芳", "wang.fang@example.cn", None, None),
        extra={"qa_score": "92", "ticket_ref": "zendesk:1"},
        tags=("qa:pass",),
    ),
    # somebody else entirely
    _ticket("zendesk", 7, Person("李雷", "li.lei@example.cn", "+86 139 0000 1111", "u-2")),
    # and someone who shares nothing with her yet
    _ticket("rt", 8, Person("Fang W.", "fw@corp.example", None, None)),
]


@pytest.fixture
def cache(tmp_path: Path):  # type: ignore[no-untyped-def]
    cache = open_cache(tmp_path / "cache.sqlite3")
    with cache.engine.begin() as conn:
        upsert_tickets(conn, SEEDED, T0)
    yield cache
    cache.close()


def _id(conn, system: str, number: int) -> int:  # type: ignore[no-untyped-def]
    return conn.execute(
        tickets.select()
        .with_only_columns(tickets.c.id)
        .where(tickets.c.system_id == system, tickets.c.external_id == str(number))
    ).scalar_one()


def test_the_same_person_is_found_in_every_system(cache) -> None:  # type: ignore[no-untyped-def]
    with cache.engine.connect() as conn:
        found = profile(conn, _id(conn, "zendesk", 1))
    assert found is not None
    assert [(t.system_id, t.external_id) for t in found.tickets] == [
        ("freshdesk", "5"),
        ("freshdesk", "4"),
        ("csv", "3"),
        ("osticket", "2"),
        ("zendesk", "1"),
    ]
    assert found.name == "王芳"
    assert found.phones == ["+86 138-0013-8000"]  # one phone, however each system wrote it
    assert found.emails == ["fang@home.example", "wang.fang@example.cn"]
    assert found.keys["email:wang.fang@example.cn"] == "ticket"
    assert found.keys["email:fang@home.example"] == "matched"
    assert [(i.score, i.passed, i.ticket_ref) for i in found.inspections] == [
        ("92", True, "zendesk:1")
    ]
    assert "li.lei@example.cn" not in found.emails


def test_from_any_of_her_tickets_the_profile_is_the_same(cache) -> None:  # type: ignore[no-untyped-def]
    with cache.engine.connect() as conn:
        a = profile(conn, _id(conn, "zendesk", 1))
        b = profile(conn, _id(conn, "csv", 3))
    assert a is not None and b is not None
    assert {t.id for t in a.tickets} == {t.id for t in b.tickets}


def test_manual_link_and_unlink(cache) -> None:  # type: ignore[no-untyped-def]
    with cache.engine.begin() as conn:
        start = _id(conn, "zendesk", 1)
        decide(
            conn,
            "email:wang.fang@example.cn",
            "email:fw@corp.example",
            linked=True,
            agent="li",
            at=T0,
        )
        linked = profile(conn, start)
        # the home address is not hers after all: unlinking drops it and what only it found
        decide(
            conn,
            "email:wang.fang@example.cn",
            "email:fang@home.example",
            linked=False,
            agent="li",
            at=T0,
        )
        unlinked = profile(conn, start)
    assert linked is not None and unlinked is not None
    assert ("rt", "8") in {(t.system_id, t.external_id) for t in linked.tickets}
    assert linked.keys["email:fw@corp.example"] == "linked"
    systems = {(t.system_id, t.external_id) for t in unlinked.tickets}
    assert ("freshdesk", "5") not in systems  # only the unlinked address found it
    assert ("freshdesk", "4") in systems  # still hers through the shared phone
    assert unlinked.unlinked == ["email:fang@home.example"]
    assert ("rt", "8") in systems  # the earlier manual link still holds


def test_a_later_decision_replaces_the_earlier_one(cache) -> None:  # type: ignore[no-untyped-def]
    with cache.engine.begin() as conn:
        start = _id(conn, "zendesk", 1)
        decide(
            conn,
            "email:fw@corp.example",
            "email:wang.fang@example.cn",
            linked=True,
            agent="li",
            at=T0,
        )
        decide(
            conn,
            "email:wang.fang@example.cn",
            "email:fw@corp.example",
            linked=False,
            agent="li",
            at=T0,
        )
        found = profile(conn, start)
    assert found is not None
    assert ("rt", "8") not in {(t.system_id, t.external_id) for t in found.tickets}
    with pytest.raises(ValueError, match="itself"), cache.engine.begin() as conn:
        decide(conn, "email:a@b.c", "email:a@b.c", linked=True, agent="li", at=T0)


def test_identity_keys_normalise_what_agents_type() -> None:
    assert identity_key(" Wang.Fang@Example.CN ") == "email:wang.fang@example.cn"
    assert identity_key("+86 (138) 0013-8000") == phone_key("13800138000") == "phone:13800138000"
    assert identity_key("12345") is None  # too short to be a phone


def test_lookups_use_the_expression_indexes(cache) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from app.cache.customers import _email_expression, _phone_expression

    with cache.engine.connect() as conn:
        for expression in (_email_expression(), _phone_expression()):
            compiled = (
                tickets.select()
                .where(expression == "x")
                .compile(conn, compile_kwargs={"literal_binds": True})
            )
            plan = " ".join(
                str(row[-1]) for row in conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
            )
            assert "USING INDEX ix_tickets_requester_" in plan, plan
