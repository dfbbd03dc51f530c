"""The contract suite every adapter passes, run over real HTTP against its sandbox stand-in.

Like Meltano's ``get_tap_test_class`` or Apprise's table-driven tester: describe an adapter and
its stand-in once in a :class:`ContractCase`, and :func:`contract_test_class` generates the
pytest tests::

    from adapters.testing import ContractCase, contract_test_class

    MYSYSTEM = ContractCase(
        name="mysystem",
        adapter=MySystemAdapter,
        stand_in=lambda seeds, tmp: MySystemStandIn(seeds),
        build=lambda context, http: MySystemAdapter(context, http=http),
        ticket_ids=lambda s: {str(i) for i in s.ticket_ids()},
        change=lambda s: {s.touch(1), s.touch(2)},      # remote changes -> changed ids
        delete=lambda s: s.remove(3),                    # -> the deleted id
        corrupt=lambda s: s.corrupt(4, "updated", "?"),  # -> the malformed record's id
        writable=lambda s: "5",
        remote_texts=lambda s, i: [e.body for e in s.ticket(int(i)).entries],
        remote_status=lambda s, i: s.ticket(int(i)).status,
        small_pages={"page_size": 10},
        fault_prefix="/api/",
    )
    TestMySystem = contract_test_class(MYSYSTEM)

What is checked (each a ``test_<name>`` method): ``connection`` (the stand-in's demo
connection fits the manifest), ``check_ok``, ``check_bad_credentials``,
``check_unreachable``, ``full_sync_pages`` (≥ 3 pages), ``incremental``, ``deleted``,
``rate_limit`` (429 + Retry-After, the wait is measured), ``server_errors`` (5xx retried, then a
typed error), ``timeouts`` (retried, then a typed error), ``quarantine`` (one malformed record,
the rest of its page kept), ``resume_after_kill`` (stop after N pages, a new adapter from the
last committed cursor: nothing lost, nothing twice), and the ``reply``/``note``/``status``
round trips for the capabilities the manifest declares.

Which checks apply follows from the manifest's capabilities, the case's :class:`Transport` and
the hooks it gives. A check ruled out by the manifest (no ``reply`` capability) or the transport
(a folder has no HTTP) is left out with that reason; one left out for a missing hook
(``delete=None``) must be named in ``not_applicable`` with the reason. The reasons are kept in
the generated class's docstring. A capability without the hooks its check needs, or a reason
given for a check that does apply, fails at collection: nothing is skipped silently.

The generated tests use the ``seed_tickets``, ``tmp_path`` and ``serve`` fixtures (``serve(app)
-> base URL``, see ``tests/conftest.py``). This module imports no stand-in: cases bring theirs.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from adapters._http import HttpSettings
from adapters.base import (
    ActionKind,
    ActionRequest,
    Adapter,
    AdapterContext,
    Capability,
    PullResult,
)
from app.domain import (
    AuthError,
    RateLimitedError,
    RemoteError,
    SecretError,
    Status,
    Ticket,
    UnreachableError,
)

__all__ = [
    "CHECKS",
    "FAST",
    "ContractCase",
    "Harness",
    "SyncRun",
    "Transport",
    "contract_test_class",
    "sync",
]

T = TypeVar("T")
StandIn = Any
"""A sandbox stand-in (``sandbox/<name>.py``); the suite uses ``app`` and ``plan`` of HTTP ones."""

FAST = HttpSettings(retries=2, backoff_base=0.02, backoff_max=0.1, read_timeout=20.0)
"""HTTP settings of the suite: real retries, short waits."""
MAX_PULLS = 500
REJECTED = re.compile(r"\b40[13]\b|reject|denied|invalid|unauthori[sz]ed|forbidden", re.I)
"""How a check() message says credentials were refused (SOAP systems have no 401)."""
"""A sync that needs more pulls than this is taken to loop forever."""


class Transport(StrEnum):
    """How an adapter reaches its system; HTTP-only checks apply to ``HTTP``."""

    HTTP = "http"
    FILE = "file"


def _connection(stand_in: StandIn, where: str) -> Mapping[str, Any]:
    connection: Mapping[str, Any] = stand_in.connection(where)
    return connection


@dataclass(frozen=True)
class ContractCase:
    """How to build a stand-in and an adapter for it, and how to make the stand-in change.

    Every hook receives the stand-in built by ``stand_in(seed_tickets, tmp_path)``:

    - ``ticket_ids``: the external ids a full sync must return (how many tickets to expect);
    - ``change``: make remote changes (a colleague's edit, a customer reply…); returns the ids
      an incremental pull must return — exactly those;
    - ``delete``: delete one ticket remotely; its id (None: deletions do not exist there);
    - ``corrupt``: make one record malformed; its id (it must not be in ``ticket_ids`` after);
    - ``writable``: the id of a ticket that actions may change;
    - ``remote_texts`` / ``remote_status``: what the stand-in holds for a ticket (message
      bodies, the native status), to see that an action really arrived.

    ``connect(stand_in, where)`` gives the demo's connection dict (``adapter``, ``settings``,
    ``secrets``, ``naive_zone``); ``where`` is the stand-in's base URL for HTTP, ``""`` for
    files. ``build(context, http)`` builds the adapter with the suite's HTTP settings (default:
    ``adapter(context)``). ``small_pages`` are settings that make a full sync take at least three
    pulls. ``fault_prefix`` limits injected faults to the data API (not the token endpoint).
    For ``Transport.FILE``, ``missing_location(tmp_path)`` gives settings pointing nowhere.
    ``lookback_repeats``: the adapter re-reads a lookback window, so a pull right after changes
    may hand out the same versions again (never others); idempotent upserts absorb them.
    """

    name: str
    adapter: type[Adapter]
    stand_in: Callable[[list[Any], Path], StandIn]
    ticket_ids: Callable[[StandIn], set[str]]
    change: Callable[[StandIn], set[str]]
    kind: Transport = Transport.HTTP
    build: Callable[[AdapterContext, HttpSettings], Adapter] | None = None
    connect: Callable[[StandIn, str], Mapping[str, Any]] = _connection
    small_pages: Mapping[str, Any] = field(default_factory=dict)
    delete: Callable[[StandIn], str] | None = None
    corrupt: Callable[[StandIn], str] | None = None
    writable: Callable[[StandIn], str] | None = None
    remote_texts: Callable[[StandIn, str], list[str]] | None = None
    remote_status: Callable[[StandIn, str], str] | None = None
    status_to_set: Status = Status.SOLVED
    reply_is_public: bool = True
    fault_prefix: str = ""
    missing_location: Callable[[Path], Mapping[str, Any]] | None = None
    stop_after_pages: int = 2
    lookback_repeats: bool = False
    not_applicable: Mapping[str, str] = field(default_factory=dict)

    def new_adapter(self, context: AdapterContext, http: HttpSettings = FAST) -> Adapter:
        """An adapter instance for ``context``."""
        if self.build is not None:
            return self.build(context, http)
        return self.adapter(context)

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What the adapter's manifest declares."""
        return self.adapter.manifest.capabilities


# --------------------------------------------------------------------------------- harness


@dataclass
class SyncRun:
    """Every page a run of pulls returned, and the cursor the engine would have committed."""

    pages: list[PullResult] = field(default_factory=list)
    cursor: str | None = None

    @property
    def tickets(self) -> list[Ticket]:
        """Every ticket returned, in order (a ticket may come back in a newer version)."""
        return [ticket for page in self.pages for ticket in page.tickets]

    @property
    def quarantined(self) -> list[Any]:
        """Every quarantined record error."""
        return [error for page in self.pages for error in page.quarantined]

    def latest(self) -> dict[str, Ticket]:
        """The tickets as the cache holds them after upserting every page in order."""
        return {ticket.key.external_id: ticket for ticket in self.tickets}

    def versions(self) -> list[tuple[str, float]]:
        """``(external id, updated_at)`` of every ticket returned; a repeat is a duplicate."""
        return [(t.key.external_id, t.updated_at.timestamp()) for t in self.tickets]


async def sync(
    adapter: Adapter, cursor: str | None = None, *, stop_after: int | None = None
) -> SyncRun:
    """Pull until ``has_more`` is false (or ``stop_after`` pages), like the sync engine."""
    run = SyncRun(cursor=cursor)
    while True:
        page = await adapter.pull(run.cursor)
        run.pages.append(page)
        run.cursor = page.cursor
        if not page.has_more or (stop_after is not None and len(run.pages) >= stop_after):
            return run
        if len(run.pages) >= MAX_PULLS:
            raise AssertionError(f"{adapter.system_id}: still has_more after {MAX_PULLS} pulls")


def closed_port_url() -> str:
    """``http://127.0.0.1:<port>`` where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


class _Stall:
    """ASGI wrapper that holds the next ``count`` requests under ``prefix`` for ``seconds``.

    The stand-ins' own ``hang_next`` sleeps an hour, which holds the server's shutdown (and the
    test's teardown) for its join timeout; a bounded stall times the client out just the same.
    """

    def __init__(self, app: Any, prefix: str) -> None:
        self.app = app
        self.prefix = prefix
        self.count = 0
        self.seconds = 3.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.count > 0 and scope["path"].startswith(self.prefix):
            self.count -= 1
            await asyncio.sleep(self.seconds)
        await self.app(scope, receive, send)


class Harness:
    """One stand-in (served on 127.0.0.1 when it speaks HTTP) and adapters connected to it."""

    def __init__(
        self,
        case: ContractCase,
        seed_tickets: list[Any],
        tmp_path: Path,
        serve: Callable[[Any], str],
    ) -> None:
        self.case = case
        self.tmp_path = tmp_path
        self.stand_in = case.stand_in(seed_tickets, tmp_path)
        self.stall: _Stall | None = None
        self.where = ""
        if case.kind is Transport.HTTP:
            self.stall = _Stall(self.stand_in.app, case.fault_prefix)
            self.where = serve(self.stall)
        self.connection = case.connect(self.stand_in, self.where)

    @property
    def system_id(self) -> str:
        """The system id adapters are built with (the case's name)."""
        return self.case.name

    def context(
        self,
        *,
        settings: Mapping[str, Any] | None = None,
        secrets: Mapping[str, str] | None = None,
        where: str | None = None,
    ) -> AdapterContext:
        """The demo's connection, with settings, secrets or the address overridden."""
        connection = self.connection
        if where is not None:
            connection = self.case.connect(self.stand_in, where)
        known = dict(secrets if secrets is not None else connection.get("secrets", {}))

        def secret(key: str) -> str:
            if key not in known:
                raise SecretError(f"no secret {key!r} for the contract suite")
            return str(known[key])

        return AdapterContext(
            system_id=self.system_id,
            settings={**connection["settings"], **(settings or {})},
            secret=secret,
            naive_zone=str(connection.get("naive_zone") or "UTC"),
        )

    @contextlib.asynccontextmanager
    async def adapter(
        self, *, http: HttpSettings = FAST, small_pages: bool = False, **overrides: Any
    ) -> AsyncIterator[Adapter]:
        """An adapter built inside the running loop, closed afterwards."""
        if small_pages:
            overrides["settings"] = {**self.case.small_pages, **overrides.get("settings", {})}
        instance = self.case.new_adapter(self.context(**overrides), http)
        try:
            yield instance
        finally:
            await instance.aclose()

    @property
    def plan(self) -> Any:
        """The stand-in's fault plan, limited to the case's data API."""
        plan = self.stand_in.plan
        plan.path_prefix = self.case.fault_prefix
        return plan

    def run(self, scenario: Callable[[Harness], Coroutine[Any, Any, T]]) -> T:
        """Run ``scenario`` in a fresh event loop."""
        return asyncio.run(scenario(self))


# ---------------------------------------------------------------------------------- checks


def _same_ids(got: Mapping[str, Ticket], expected: set[str], what: str) -> None:
    missing, extra = expected - set(got), set(got) - expected
    assert not missing and not extra, (
        f"{what}: {len(missing)} missing {sorted(missing)[:10]}, "
        f"{len(extra)} unexpected {sorted(extra)[:10]}"
    )


def _assert_utc(ticket: Ticket) -> None:
    moments = [ticket.created_at, ticket.updated_at, *(m.created_at for m in ticket.messages)]
    for moment in moments:
        assert moment.utcoffset() == timedelta(0), f"{ticket.key}: {moment!r} is not aware UTC"


async def check_connection(h: Harness) -> None:
    """The stand-in's demo connection fits the manifest: name, required settings, secrets."""
    manifest = h.case.adapter.manifest
    assert h.connection["adapter"] == manifest.name, h.connection["adapter"]
    settings = h.connection["settings"]
    required = {f.key for f in manifest.config if f.required and not f.secret and f.default is None}
    assert required <= set(settings), f"settings lack {sorted(required - set(settings))}"
    assert not {f.key for f in manifest.config if f.secret} & set(settings), "a secret in settings"
    secrets = set(h.connection.get("secrets", {}))
    declared = {f.key for f in manifest.config if f.secret}
    assert secrets == declared, f"secrets {sorted(secrets)} != manifest's {sorted(declared)}"


async def check_ok(h: Harness) -> None:
    """check() with the demo's credentials succeeds with a readable message."""
    async with h.adapter() as adapter:
        result = await adapter.check()
    assert result.ok, result.message
    assert result.message.strip() and "Traceback" not in result.message


async def check_bad_credentials(h: Harness) -> None:
    """Wrong secrets: check() says in words that they were rejected; pull() raises AuthError."""
    wrong = {key: f"wrong-{value}" for key, value in h.connection.get("secrets", {}).items()}
    async with h.adapter(secrets=wrong) as adapter:
        result = await adapter.check()
        with contextlib.suppress(AuthError):
            await adapter.pull(None)
            raise AssertionError("pull() with wrong credentials did not raise AuthError")
    assert not result.ok, result.message
    assert REJECTED.search(result.message), result.message
    assert all(value not in result.message for value in wrong.values())


async def check_unreachable(h: Harness) -> None:
    """A closed port (or a missing folder): check() names the place and the reason, quickly."""
    if h.case.kind is Transport.HTTP:
        where = closed_port_url()
        overrides: dict[str, Any] = {"where": where}
        expected: tuple[str, ...] = ("connection refused",)
    else:
        assert h.case.missing_location is not None
        settings = h.case.missing_location(h.tmp_path / "does-not-exist")
        where = str(next(iter(settings.values())))
        overrides = {"settings": settings}
        expected = ("does not exist", "not found", "no such")
    started = time.monotonic()
    async with h.adapter(**overrides) as adapter:
        result = await adapter.check()
        with contextlib.suppress(UnreachableError):
            await adapter.pull(None)
            raise AssertionError("pull() from nowhere did not raise UnreachableError")
    assert time.monotonic() - started < 15, "check() and pull() took too long to give up"
    assert not result.ok, result.message
    assert where in result.message, result.message
    assert any(words in result.message.lower() for words in expected), result.message


async def check_full_sync_pages(h: Harness) -> None:
    """A full sync over at least three pages returns every ticket once, in aware UTC."""
    async with h.adapter(small_pages=True) as adapter:
        run = await sync(adapter)
    assert len(run.pages) >= 3, f"only {len(run.pages)} pages: make small_pages smaller"
    assert [p.has_more for p in run.pages] == [True] * (len(run.pages) - 1) + [False]
    assert run.quarantined == [], [str(e) for e in run.quarantined]
    _same_ids(run.latest(), h.case.ticket_ids(h.stand_in), "full sync")
    versions = run.versions()
    assert len(versions) == len(set(versions)), "a ticket version was returned twice"
    for ticket in run.tickets:
        assert ticket.key.system_id == h.system_id, ticket.key
        assert isinstance(ticket.status, Status) and ticket.native_status, ticket.key
        _assert_utc(ticket)
    assert any(ticket.messages for ticket in run.tickets), "no ticket has a conversation"


def _assert_quiet(case: ContractCase, quiet: SyncRun, before: SyncRun, when: str) -> None:
    """Nothing changed since ``before``: no tickets, or (lookback) only versions seen."""
    if case.lookback_repeats:
        new = set(quiet.versions()) - set(before.versions())
        assert not new, f"nothing changed {when}, yet new versions came back: {sorted(new)[:5]}"
    else:
        assert quiet.tickets == [], f"nothing changed {when}, yet {len(quiet.tickets)} came back"


async def check_incremental(h: Harness) -> None:
    """After a full sync, a pull returns nothing; after remote changes, exactly those."""
    async with h.adapter(small_pages=True) as adapter:
        full = await sync(adapter)
        quiet = await sync(adapter, full.cursor)
        changed = h.case.change(h.stand_in)
        after = await sync(adapter, quiet.cursor)
        again = await sync(adapter, after.cursor)
    _assert_quiet(h.case, quiet, full, "after a full sync")
    assert changed, "the case's change hook changed nothing"
    _same_ids(after.latest(), changed, "incremental pull")
    assert after.quarantined == [], [str(e) for e in after.quarantined]
    _assert_quiet(h.case, again, after, "after the incremental pull")


async def check_deleted(h: Harness) -> None:
    """A remotely deleted ticket comes back with ``deleted=True``."""
    assert h.case.delete is not None
    async with h.adapter(small_pages=True) as adapter:
        full = await sync(adapter)
        gone = h.case.delete(h.stand_in)
        after = await sync(adapter, full.cursor)
    _same_ids(after.latest(), {gone}, "pull after a deletion")
    assert after.latest()[gone].deleted, f"ticket {gone} came back without deleted=True"


async def check_rate_limit(h: Harness) -> None:
    """429 with Retry-After: the adapter waits that long and succeeds; persistent: typed."""
    plan = h.plan
    plan.retry_after_s = 0.8
    plan.fail_next = [429]
    async with h.adapter(small_pages=True) as adapter:
        started = time.monotonic()
        page = await adapter.pull(None)
        waited = time.monotonic() - started
        assert plan.fail_next == [] and page.tickets
        assert waited >= 0.75, f"Retry-After 0.8 s not honoured: answered after {waited:.2f} s"
        plan.retry_after_s = 0.05
        plan.fail_next = [429] * (FAST.retries + 1)
        try:
            await adapter.pull(None)
        except RateLimitedError as exc:
            assert exc.status_code == 429 and exc.message.startswith("429")
        else:
            raise AssertionError("a persistent 429 was not reported as RateLimitedError")
        plan.fail_next = []
        assert (await adapter.pull(None)).tickets  # and nothing is stuck afterwards


async def check_server_errors(h: Harness) -> None:
    """500/503 are retried with backoff; a persistent 500 is a typed RemoteError."""
    plan = h.plan
    async with h.adapter(small_pages=True) as adapter:
        plan.fail_next = [500, 503]
        seen = plan.requests_seen
        page = await adapter.pull(None)
        assert plan.fail_next == [] and page.tickets
        assert plan.requests_seen - seen >= 3
        plan.fail_next = [500] * (FAST.retries + 1)
        try:
            await adapter.pull(None)
        except RemoteError as exc:
            assert exc.status_code == 500 and exc.message.startswith("500"), exc.message
            assert exc.context.system == h.system_id
        else:
            raise AssertionError("a persistent 500 was not reported as RemoteError")
        plan.fail_next = []
        assert (await adapter.pull(None)).tickets


async def check_timeouts(h: Harness) -> None:
    """A request that never answers is retried; a system that is always too slow is a typed
    UnreachableError saying "timed out"."""
    plan, stall = h.plan, h.stall
    assert stall is not None
    quick = HttpSettings(retries=1, backoff_base=0.02, backoff_max=0.05, read_timeout=1.0)
    async with h.adapter(small_pages=True, http=quick) as adapter:
        stall.count = 1
        started = time.monotonic()
        page = await adapter.pull(None)
        assert stall.count == 0 and page.tickets
        assert time.monotonic() - started >= 1.0, "the stalled request was not waited for"
        plan.latency_s = 1.6
        try:
            await adapter.pull(None)
        except UnreachableError as exc:
            assert "timed out" in exc.message, exc.message
        else:
            raise AssertionError("a system that never answers in time was not reported")
        finally:
            plan.latency_s = 0.0


async def check_quarantine(h: Harness) -> None:
    """One malformed record is quarantined with its context; the rest of its page is kept."""
    assert h.case.corrupt is not None
    bad = h.case.corrupt(h.stand_in)
    async with h.adapter(small_pages=True) as adapter:
        run = await sync(adapter)
    errors = run.quarantined
    assert len(errors) == 1, [str(e) for e in errors]
    error = errors[0]
    assert error.context.system == h.system_id and error.context.record_id == bad, str(error)
    assert error.context.field and error.message
    page = next(p for p in run.pages if p.quarantined)
    assert page.tickets, "the rest of the page with the malformed record was dropped"
    assert bad not in run.latest(), f"the malformed record {bad} was delivered"
    _same_ids(run.latest(), h.case.ticket_ids(h.stand_in) - {bad}, "sync with a bad record")


async def check_resume_after_kill(h: Harness) -> None:
    """Killed after N pages, a new adapter resumes from the last committed cursor: nothing
    lost, nothing delivered twice, the same final state as an uninterrupted sync."""
    stop = h.case.stop_after_pages
    async with h.adapter(small_pages=True) as adapter:
        reference = await sync(adapter)
    async with h.adapter(small_pages=True) as doomed:
        first = await sync(doomed, stop_after=stop)
    assert first.pages[-1].has_more, f"the sync ended within {stop} pages: nothing to resume"
    async with h.adapter(small_pages=True) as fresh:
        rest = await sync(fresh, first.cursor)
    combined = SyncRun(pages=[*first.pages, *rest.pages], cursor=rest.cursor)
    versions = combined.versions()
    assert len(versions) == len(set(versions)), "the resumed sync delivered a version twice"
    expected = reference.latest()
    got = combined.latest()
    _same_ids(got, set(expected), "resumed sync")
    for ticket_id, ticket in expected.items():
        assert got[ticket_id].updated_at == ticket.updated_at, ticket_id
        assert len(got[ticket_id].messages) == len(ticket.messages), ticket_id


async def _round_trip(h: Harness, kind: ActionKind) -> None:
    case = h.case
    assert case.writable is not None
    ticket_id = case.writable(h.stand_in)
    text = f"contract {kind.value} {uuid.uuid4().hex[:8]} — 合同测试"
    async with h.adapter(small_pages=True) as adapter:
        full = await sync(adapter)
        if kind is ActionKind.SET_STATUS:
            action = ActionRequest(
                kind, ticket_id, idempotency_key=uuid.uuid4().hex, status=case.status_to_set
            )
        else:
            action = ActionRequest(kind, ticket_id, idempotency_key=uuid.uuid4().hex, body=text)
        outcome = await adapter.perform(action)
        assert outcome.ok, outcome.message
        after = await sync(adapter, full.cursor)
    assert ticket_id in after.latest(), "the change did not come back with the next pull"
    ticket = after.latest()[ticket_id]
    if kind is ActionKind.SET_STATUS:
        assert case.remote_status is not None
        assert ticket.status is case.status_to_set, (ticket.status, ticket.native_status)
        assert case.remote_status(h.stand_in, ticket_id) == ticket.native_status
        return
    assert case.remote_texts is not None
    assert text in case.remote_texts(h.stand_in, ticket_id), "not visible remotely"
    echoed = [m for m in ticket.messages if m.body_text.strip() == text]
    assert len(echoed) == 1, "the delivered text is not in the pulled conversation once"
    public = case.reply_is_public if kind is ActionKind.REPLY else False
    assert echoed[0].public is public


async def check_reply(h: Harness) -> None:
    """A reply is delivered, visible remotely and echoed by the next pull."""
    await _round_trip(h, ActionKind.REPLY)


async def check_note(h: Harness) -> None:
    """An internal note is delivered, visible remotely and echoed (not public)."""
    await _round_trip(h, ActionKind.NOTE)


async def check_status(h: Harness) -> None:
    """A status change is delivered and the next pull shows it."""
    await _round_trip(h, ActionKind.SET_STATUS)


Check = Callable[[Harness], Coroutine[Any, Any, None]]


@dataclass(frozen=True, slots=True)
class NotApplicable:
    """Why a check does not apply; ``declared`` ones follow from the manifest or the transport,
    the others need a reason in ``ContractCase.not_applicable``."""

    reason: str
    declared: bool = False


Applies = Callable[[ContractCase], NotApplicable | None]
"""None when a check applies to a case."""


def _http(case: ContractCase) -> NotApplicable | None:
    if case.kind is Transport.HTTP:
        return None
    return NotApplicable(f"{case.kind.value} adapters speak no HTTP", declared=True)


def _has_secrets(case: ContractCase) -> NotApplicable | None:
    if case.kind is not Transport.HTTP:
        return NotApplicable(f"{case.kind.value} adapters have no credentials", declared=True)
    if any(f.secret for f in case.adapter.manifest.config):
        return None
    return NotApplicable("the manifest declares no secret", declared=True)


def _capability(capability: Capability, *hooks: str) -> Applies:
    def applies(case: ContractCase) -> NotApplicable | None:
        if capability not in case.capabilities:
            return NotApplicable(f"the manifest does not declare {capability.value}", True)
        missing = [hook for hook in hooks if getattr(case, hook) is None]
        if missing:
            raise TypeError(
                f"case {case.name!r} declares {capability.value} but lacks {', '.join(missing)}"
            )
        return None

    return applies


def _hook(name: str) -> Applies:
    return lambda case: None if getattr(case, name) is not None else NotApplicable(f"no {name}")


def _always(case: ContractCase) -> NotApplicable | None:
    if case.kind is Transport.FILE and case.missing_location is None:
        raise TypeError(f"file case {case.name!r} needs missing_location")
    return None


CHECKS: dict[str, tuple[Check, Applies]] = {
    "connection": (check_connection, lambda case: None),
    "check_ok": (check_ok, lambda case: None),
    "check_bad_credentials": (check_bad_credentials, _has_secrets),
    "check_unreachable": (check_unreachable, _always),
    "full_sync_pages": (check_full_sync_pages, lambda case: None),
    "incremental": (check_incremental, _capability(Capability.INCREMENTAL_SYNC)),
    "deleted": (check_deleted, _hook("delete")),
    "rate_limit": (check_rate_limit, _http),
    "server_errors": (check_server_errors, _http),
    "timeouts": (check_timeouts, _http),
    "quarantine": (check_quarantine, _hook("corrupt")),
    "resume_after_kill": (check_resume_after_kill, lambda case: None),
    "reply": (check_reply, _capability(Capability.REPLY, "writable", "remote_texts")),
    "note": (check_note, _capability(Capability.INTERNAL_NOTE, "writable", "remote_texts")),
    "status": (check_status, _capability(Capability.STATUS, "writable", "remote_status")),
}
"""Every check of the contract, and when it applies."""


def _test_method(case: ContractCase, check: Check) -> Callable[..., None]:
    def test(
        self: object, seed_tickets: list[Any], tmp_path: Path, serve: Callable[[Any], str]
    ) -> None:
        harness = Harness(case, seed_tickets, tmp_path, serve)
        harness.run(check)

    test.__doc__ = check.__doc__
    return test


def contract_test_class(case: ContractCase) -> type:
    """A pytest test class with one ``test_<check>`` per applicable check of ``case``.

    Checks the manifest's capabilities or the transport rule out are left out with that
    reason. Raises ``TypeError`` (a collection error) when a check lacks a hook and no reason
    is given in ``case.not_applicable``, or is declared not applicable but applies.
    """
    members: dict[str, Any] = {}
    lacking: dict[str, str] = {}
    for name, (check, applies) in CHECKS.items():
        why_not = applies(case)
        reason = case.not_applicable.get(name)
        if why_not is None:
            if reason is not None:
                raise TypeError(f"case {case.name!r}: {name} applies, yet is declared n/a")
            members[f"test_{name}"] = _test_method(case, check)
        elif reason:
            lacking[name] = reason
        elif why_not.declared:
            lacking[name] = why_not.reason
        else:
            raise TypeError(
                f"case {case.name!r}: {name} does not apply ({why_not.reason}); "
                "say why in not_applicable"
            )
    unknown = set(case.not_applicable) - set(CHECKS)
    if unknown:
        raise TypeError(f"case {case.name!r}: unknown checks in not_applicable: {unknown}")

    reasons = "".join(f"\n    {name}: {why}" for name, why in sorted(lacking.items()))
    members["__doc__"] = f"The adapter contract for {case.name!r}." + (
        f"\n\n    Not applicable:{reasons}" if reasons else ""
    )
    members["case"] = case
    return type(f"Test{case.name.title().replace('_', '')}Contract", (), members)
