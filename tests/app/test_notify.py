"""Notifications decided from real cache writes and real bus events (SQLite file, no Qt)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.cache import open_cache, repo
from app.domain import Message, MessageKind, Person, Status, Ticket, TicketKey
from app.events import EventBus, FirstSyncCompleted, TicketsChanged
from app.notify import (
    ASSIGNED,
    CUSTOMER_REPLY,
    SLA_DUE,
    SUMMARY,
    Notifier,
    NotifySettingError,
    NotifySettings,
    silenced,
)
from app.timeutil import to_iso_z

ME = "li.siyuan"
T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
CUSTOMER = Person("王芳", "wang.fang@example.cn")


def ticket(
    number: int,
    *,
    assignee: str | None = ME,
    replies: tuple[Message, ...] = (),
    due: datetime | None = None,
    status: Status = Status.OPEN,
) -> Ticket:
    return Ticket(
        key=TicketKey("zd", str(number)),
        subject=f"退款 #{number}",
        status=status,
        native_status=status.value,
        created_at=T0,
        updated_at=T0 + timedelta(minutes=len(replies)),
        requester=CUSTOMER,
        assignee=Person(assignee) if assignee else None,
        messages=replies,
        extra={"due_by": to_iso_z(due)} if due else {},
    )


def reply(number: int, author: Person, kind: MessageKind = MessageKind.REPLY) -> Message:
    return Message(f"m{number}", kind, f"text {number}", T0 + timedelta(minutes=number), author)


class Harness:
    """A cache file, a bus and a notifier, written to the way the sync engine does."""

    def __init__(self, tmp_path: Path, settings: NotifySettings | None = None) -> None:
        self.cache = open_cache(tmp_path / "cache.sqlite3")
        self.bus = EventBus()
        self.settings = settings or NotifySettings()
        self.notifier = Notifier(self.cache.engine, ME, lambda: self.settings)
        self.notifier.attach(self.bus)

    def store(self, tickets: list[Ticket], *, complete: bool = True) -> list[int]:
        with self.cache.engine.begin() as conn:
            ids = repo.store_pull(conn, "zd", tickets, [], "c", T0, complete)
        self.bus.publish(TicketsChanged("zd", tuple(ids)))
        self.notifier.drain()  # handled on the notifier's worker thread, in order
        return ids

    def first_sync_done(self) -> None:
        self.bus.publish(FirstSyncCompleted("zd"))
        self.notifier.drain()


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    yield h
    h.cache.close()


def test_the_first_full_sync_never_notifies_then_news_does(harness: Harness) -> None:
    first = [ticket(n, replies=(reply(1, CUSTOMER),)) for n in range(1, 41)]
    harness.store(first[:20], complete=False)
    harness.store(first[20:], complete=True)  # the last page is stored before the event
    assert harness.notifier.pending == []
    harness.first_sync_done()

    harness.store([ticket(41)])  # a new ticket assigned to me
    harness.store([ticket(5, replies=(reply(1, CUSTOMER), reply(2, CUSTOMER)))])
    harness.store([ticket(6, replies=(reply(1, CUSTOMER), reply(2, Person(ME, "me@x.cn"))))])
    note = reply(3, CUSTOMER, MessageKind.NOTE)
    harness.store([ticket(7, replies=(reply(1, CUSTOMER), note))])
    harness.store([ticket(99, assignee="someone.else")])
    items = harness.notifier.take(T0)
    assert [(i.kind, i.subject) for i in items] == [
        (ASSIGNED, "退款 #41"),
        (CUSTOMER_REPLY, "退款 #5"),
    ]
    assert items[1].who == "王芳"
    assert harness.notifier.take(T0) == []  # taken once


def test_reassignment_away_and_back_notifies_again(harness: Harness) -> None:
    harness.first_sync_done()
    harness.store([ticket(1)])
    harness.store([ticket(1, assignee="someone.else")])
    harness.store([ticket(1)])
    assert [i.kind for i in harness.notifier.take(T0)] == [ASSIGNED, ASSIGNED]


def test_thirty_at_once_become_one_summary(harness: Harness) -> None:
    harness.first_sync_done()
    harness.store([ticket(n) for n in range(1, 31)])
    items = harness.notifier.take(T0)
    assert len(items) == 1
    assert items[0].kind == SUMMARY and items[0].counts == ((ASSIGNED, 30),)


def test_do_not_disturb_and_quiet_hours_silence(tmp_path: Path) -> None:
    h = Harness(tmp_path, NotifySettings(dnd=True))
    h.first_sync_done()
    h.store([ticket(1), ticket(2)])
    assert h.notifier.take(T0) == [] and h.notifier.missed == 2
    h.settings = NotifySettings(quiet_hours="22:00-07:00", zone="Asia/Shanghai")
    h.store([ticket(3)])
    assert h.notifier.take(datetime(2026, 12, 3, 15, 30, tzinfo=UTC)) == []  # 23:30 in Shanghai
    h.store([ticket(4)])
    assert [i.subject for i in h.notifier.take(datetime(2026, 12, 3, 1, 0, tzinfo=UTC))] == [
        "退款 #4"  # 09:00 in Shanghai
    ]
    h.cache.close()


def test_quiet_hours_edges_and_bad_input() -> None:
    quiet = NotifySettings(quiet_hours="12:00-13:30", zone="UTC")
    assert silenced(quiet, datetime(2026, 1, 1, 12, 0, tzinfo=UTC))
    assert not silenced(quiet, datetime(2026, 1, 1, 13, 30, tzinfo=UTC))
    with pytest.raises(NotifySettingError, match="notify_quiet_hours"):
        silenced(NotifySettings(quiet_hours="after lunch"), T0)
    with pytest.raises(NotifySettingError, match="impossible"):
        silenced(NotifySettings(quiet_hours="25:00-07:00"), T0)


def test_sla_due_warns_once_within_the_lead_time(harness: Harness) -> None:
    harness.store(
        [
            ticket(1, due=T0 + timedelta(minutes=20)),
            ticket(2, due=T0 + timedelta(minutes=90)),
            ticket(3, due=T0 + timedelta(minutes=10), status=Status.SOLVED),
            ticket(4, due=T0 + timedelta(minutes=10), assignee="someone.else"),
            ticket(5, due=T0 - timedelta(minutes=5)),
        ]
    )
    assert harness.notifier.sla_due(T0) == []  # the first sync has not completed
    harness.first_sync_done()
    found = harness.notifier.sla_due(T0)
    assert [(n.kind, n.subject, n.due_at) for n in found] == [
        (SLA_DUE, "退款 #1", T0 + timedelta(minutes=20))
    ]
    assert harness.notifier.sla_due(T0 + timedelta(minutes=1)) == []  # once
    assert [n.subject for n in harness.notifier.sla_due(T0 + timedelta(minutes=61))] == ["退款 #2"]


def test_restart_takes_the_cache_as_baseline(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.store([ticket(1, replies=(reply(1, CUSTOMER),))])
    h.first_sync_done()
    h.notifier.detach()
    again = Notifier(h.cache.engine, ME, lambda: NotifySettings())
    again.attach(h.bus)  # a new session: first_sync_done is in the cache
    h.store([ticket(1, replies=(reply(1, CUSTOMER),))])  # nothing new
    h.store([ticket(1, replies=(reply(1, CUSTOMER), reply(2, CUSTOMER)))])
    again.drain()
    assert [i.kind for i in again.take(T0)] == [CUSTOMER_REPLY]
    assert h.notifier.pending == []  # detached
    h.cache.close()


def test_events_before_the_baseline_are_replayed_once_and_off_the_calling_thread(
    tmp_path: Path,
) -> None:
    import threading

    from sqlalchemy import event

    cache = open_cache(tmp_path / "cache.sqlite3")
    bus = EventBus()
    notifier = Notifier(cache.engine, ME, lambda: NotifySettings())
    notifier.attach(bus, prime=False)  # as the tray does: the baseline is read later
    readers: list[str] = []
    event.listen(
        cache.engine,
        "before_cursor_execute",
        lambda *_args: readers.append(threading.current_thread().name),
    )
    with cache.engine.begin() as conn:
        old = repo.store_pull(conn, "zd", [ticket(n) for n in range(1, 4)], [], "c", T0, True)
    for _ in range(50):  # a first sync announces the same tickets again and again
        bus.publish(TicketsChanged("zd", tuple(old)))
    bus.publish(FirstSyncCompleted("zd"))
    notifier.drain()
    baseline = notifier.baseline()
    with cache.engine.begin() as conn:  # assigned to me while the baseline was being read
        new = repo.store_pull(conn, "zd", [ticket(4)], [], "c", T0, True)
    bus.publish(TicketsChanged("zd", tuple(new)))
    readers.clear()
    notifier.start_in_background(baseline)
    notifier.drain()
    assert readers and all(name.startswith("notify") for name in readers)
    assert len(readers) == 2  # each waiting ticket looked at once, not fifty times
    assert [i.subject for i in notifier.take(T0)] == ["退款 #4"]
    notifier.detach()
    cache.close()
