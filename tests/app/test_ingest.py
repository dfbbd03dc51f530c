"""The cache's bulk write path: idempotent upserts, ids in input order, pending-status
protection, one transaction per page, and the ingest benchmark's figures."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, text

from app.cache import open_cache, queries, repo, search
from app.cache.schema import outbox
from app.domain import Attachment, Message, MessageKind, Person, Priority, Status, Ticket, TicketKey

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def _ticket(number: int, *, status: Status = Status.OPEN, body: str = "请尽快处理") -> Ticket:
    return Ticket(
        key=TicketKey("zendesk", str(number)),
        subject=f"订单 {number} 申请退款",
        status=status,
        native_status=status.value,
        created_at=T0 - timedelta(minutes=number),
        updated_at=T0,
        priority=Priority.HIGH,
        requester=Person(name="王芳", email="wang.fang@example.cn", phone="+86 138"),
        assignee=Person(name="Priya Nair", external_id="9004"),
        queue="Billing",
        tags=("退款", "order"),
        extra={"channel": "web"},
        messages=(
            Message(
                f"{number}-a",
                MessageKind.REPLY,
                body,
                T0 - timedelta(minutes=number),
                author=Person(name="王芳"),
                attachments=(Attachment("发票.pdf", "application/pdf", 1234),),
            ),
            Message(f"{number}-b", MessageKind.NOTE, "internal", T0),
        ),
    )


def test_a_large_page_is_stored_in_input_order_and_every_field_round_trips(
    tmp_path: Path,
) -> None:
    cache = open_cache(tmp_path / "c.sqlite3")
    page = [_ticket(n) for n in range(2500)]  # more rows than one SQL statement may bind
    page.reverse()
    with cache.engine.begin() as conn:
        ids = repo.store_pull(conn, "zendesk", page, [], "c1", T0, True)
    with cache.engine.connect() as conn:
        assert queries.ticket_count(conn) == 2500
        stored = {
            row.external_id: row.id
            for row in conn.execute(text("SELECT id, external_id FROM tickets"))
        }
        assert ids == [stored[t.key.external_id] for t in page]
        row = queries.ticket(conn, ids[0])
        assert row is not None
        assert (row.subject, row.status, row.priority, row.queue) == (
            "订单 2499 申请退款",
            "open",
            "high",
            "Billing",
        )
        assert (row.requester_name, row.requester_phone, row.assignee_external_id) == (
            "王芳",
            "+86 138",
            "9004",
        )
        assert row.tags == ["退款", "order"] and row.extra == {"channel": "web"}
        assert row.created_at == T0 - timedelta(minutes=2499) and row.synced_at == T0
        first, second = queries.conversation(conn, ids[0])
        assert first.attachments == [
            {"filename": "发票.pdf", "content_type": "application/pdf", "size": 1234, "url": None}
        ]
        assert (first.author_name, second.kind, second.attachments) == ("王芳", "note", [])
        assert search.search(conn, "退款", limit=1).total == 2500  # every subject
        assert search.search(conn, "处理", search.SearchFilters(kinds=("reply",))).total == 2500


def test_upserts_are_idempotent_and_update_in_place(tmp_path: Path) -> None:
    cache = open_cache(tmp_path / "c.sqlite3")
    with cache.engine.begin() as conn:
        ids = repo.upsert_tickets(conn, [_ticket(1), _ticket(2)], T0)
    with cache.engine.begin() as conn:
        again = repo.upsert_tickets(
            conn, [_ticket(2, status=Status.SOLVED, body="已解决"), _ticket(1), _ticket(2)], T0
        )
    assert again == [ids[1], ids[0], ids[1]]
    with cache.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM messages")).scalar() == 4
        assert queries.ticket(conn, ids[1]).status == "open"  # type: ignore[union-attr]
        bodies = [m.body_text for m in queries.conversation(conn, ids[1])]
        assert bodies == ["请尽快处理", "internal"]  # the last copy in the page wins
        assert search.search(conn, "已解决").total == 0


def test_a_pending_status_action_keeps_the_local_status(tmp_path: Path) -> None:
    cache = open_cache(tmp_path / "c.sqlite3")
    with cache.engine.begin() as conn:
        (ticket_id,) = repo.upsert_tickets(conn, [_ticket(1)], T0)
        conn.execute(
            insert(outbox).values(
                action_id="a1",
                ticket_id=ticket_id,
                system_id="zendesk",
                kind="set_status",
                payload={"status": "solved"},
                state="pending",
                attempts=0,
                created_at=T0,
                updated_at=T0,
            )
        )
        repo.set_ticket_status(conn, ticket_id, "solved", T0)
        repo.upsert_tickets(conn, [_ticket(1, status=Status.OPEN)], T0)
    with cache.engine.begin() as conn:
        assert queries.ticket(conn, ticket_id).status == "solved"  # type: ignore[union-attr]
        conn.execute(text("UPDATE outbox SET state = 'sent'"))
        repo.upsert_tickets(conn, [_ticket(1, status=Status.OPEN)], T0)
        assert queries.ticket(conn, ticket_id).status == "open"  # type: ignore[union-attr]


def test_a_failing_page_stores_nothing_not_even_its_cursor(tmp_path: Path) -> None:
    cache = open_cache(tmp_path / "c.sqlite3")
    naive = Ticket(
        key=TicketKey("zendesk", "bad"),
        subject="x",
        status=Status.OPEN,
        native_status="open",
        created_at=datetime(2026, 1, 1),
        updated_at=T0,  # the bad record: created_at is naive
    )
    with pytest.raises(ValueError, match="naive"), cache.engine.begin() as conn:
        repo.store_pull(conn, "zendesk", [_ticket(1), naive], [], "c9", T0, True)
    with cache.engine.connect() as conn:
        assert queries.ticket_count(conn) == 0
        assert repo.load_cursor(conn, "zendesk") == (None, False)
        assert conn.execute(text("SELECT count(*) FROM search_docs")).scalar() == 0


def test_a_page_stored_again_keeps_the_docs_of_its_unchanged_texts(tmp_path: Path) -> None:
    cache = open_cache(tmp_path / "c.sqlite3")
    page = [_ticket(n) for n in range(300)]

    def docs() -> set[tuple[int, int, int | None, int]]:
        with cache.engine.connect() as conn:
            rows = conn.execute(text("SELECT doc, ticket_id, message_id, sig FROM search_docs"))
            return {tuple(row) for row in rows}  # type: ignore[misc]

    with cache.engine.begin() as conn:
        repo.store_pull(conn, "zendesk", page, [], "c1", T0, True)
    first = docs()
    assert len(first) == 300 * 3
    with cache.engine.begin() as conn:
        repo.store_pull(conn, "zendesk", page, [], "c2", T0, True)
    assert docs() == first  # nothing re-indexed
    page[7] = _ticket(7, body="已经退款")
    with cache.engine.begin() as conn:
        repo.store_pull(conn, "zendesk", page, [], "c3", T0, True)
    third = docs()
    assert len(first - third) == len(third - first) == 1  # only the changed message
    with cache.engine.connect() as conn:
        assert search.search(conn, "已经").total == 1
        assert search.search(conn, "处理").total == 299


def test_the_ingest_benchmark_prints_its_figures(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import ingest

    assert ingest.main(["--tickets", "400", "--page", "100"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["tickets"] == 400 and figures["messages"] > 400
    assert figures["rows_per_s"] > 0 and figures["indexed_rows_per_s"] > 0
    assert figures["ratio_to_raw"] == pytest.approx(
        figures["rows_per_s"] / figures["raw_rows_per_s"], rel=0.01
    )


def test_the_search_benchmark_prints_its_figures(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import search as bench_search

    assert bench_search.main(["--messages", "3000", "--runs", "3", "--like-runs", "1"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(figures["p50_ms"]) == set(figures["p99_ms"]) == {"common", "rare", "zh2", "filtered"}
    assert figures["messages"] >= 3000 and figures["speedup_vs_like"] > 0
    assert set(figures["repeat_p50_ms"]) == set(figures["p50_ms"])
    assert figures["repeat_speedup_vs_like"] > 0
