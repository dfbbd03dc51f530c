"""``OsTicketAdapter``: the legacy customer portal glued to the adapter contract.

Incremental pulls use the portal's ``since`` filter, which is inclusive and has one-second
resolution, so several tickets can share the second a page ends on. The cursor therefore keeps

* ``since`` / ``last_id`` — the ``(updated, id)`` of the newest ticket delivered (the mark);
* ``seen`` — ``id -> [native updated, fingerprint]`` of the versions delivered within
  :data:`LOOKBACK` of the mark, so re-read tickets are dropped and changed ones are not;
* ``chain`` — True while a sync round is paging (``has_more``).

A round starts ``LOOKBACK`` before the mark (a late-committed ticket stamped a little earlier is
still found); pages inside a round continue from the mark itself. A page whose tickets are all
already seen is skipped for the next one. Nothing is skipped or delivered twice, including two
tickets updated in the same second on either side of a page boundary.

Naive portal times are read in ``AdapterContext.naive_zone``; the context is authoritative (the
portal writes Asia/Shanghai, which the connection must say — a "UTC" context is taken at its
word). There are no per-ticket requests: list pages carry each ticket's whole thread.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from adapters._http import HttpSettings, network_reason
from adapters.base import (
    ActionKind,
    ActionOutcome,
    ActionRequest,
    Adapter,
    AdapterContext,
    CheckResult,
    PullResult,
)
from adapters.osticket import mapping
from adapters.osticket.client import (
    STREAM,
    Payload,
    PortalClient,
    RawTicket,
    decode_page,
    decode_ticket,
    encode_entry,
    encode_status,
)
from adapters.osticket.manifest import DEFAULT_PAGE_SIZE, MANIFEST, MAX_PAGE_SIZE
from app.domain import (
    AdapterError,
    AuthError,
    ConfigError,
    DecodeError,
    ErrorContext,
    RateLimitedError,
    RecordError,
    RemoteError,
    SecretError,
    TablessError,
    Ticket,
    UnreachableError,
)
from app.timeutil import parse_timestamp, to_iso_z, zone

LOOKBACK = timedelta(seconds=60)
_new = tuple.__new__
CURSOR_VERSION = 1


class _Item(NamedTuple):
    """One ticket of a page, mapped or quarantined, with what the cursor needs to know."""

    id: str
    updated_raw: str
    updated: datetime | None
    raw: RawTicket
    ticket: Ticket | None
    error: RecordError | None

    @property
    def fingerprint(self) -> str:
        """The raw ticket's digest (computed on demand: see ``SyncCursor.record``)."""
        return self.raw.fingerprint


@dataclass(frozen=True, slots=True)
class _Batch:
    page: int
    pages: int
    items: tuple[_Item, ...]


@dataclass(slots=True)
class SyncCursor:
    """The pull position; serialized as JSON (see the module docstring)."""

    mark: datetime | None = None
    last_id: str | None = None
    seen: dict[str, tuple[str, str]] = field(default_factory=dict)
    chain: bool = False

    @classmethod
    def load(cls, text: str | None, context: ErrorContext) -> SyncCursor:
        """The cursor in ``text``; ``None`` is the start of a full sync."""
        if text is None:
            return cls()
        try:
            data = json.loads(text)
            if data.get("v") != CURSOR_VERSION:
                raise ValueError(f"cursor version {data.get('v')!r}")
            mark = data.get("since")
            return cls(
                mark=parse_timestamp(mark) if mark else None,
                last_id=data.get("last_id"),
                seen={str(k): (str(v[0]), str(v[1])) for k, v in data.get("seen", {}).items()},
                chain=bool(data.get("chain", False)),
            )
        except (ValueError, TypeError, AttributeError, IndexError) as exc:
            raise DecodeError(f"unreadable osticket cursor: {exc}", context) from exc

    def dump(self) -> str:
        """The cursor as compact JSON."""
        return json.dumps(
            {
                "v": CURSOR_VERSION,
                "since": to_iso_z(self.mark) if self.mark else None,
                "last_id": self.last_id,
                "seen": {k: list(v) for k, v in sorted(self.seen.items())},
                "chain": self.chain,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    def since(self) -> datetime | None:
        """Where the next request starts: the mark inside a round, ``LOOKBACK`` before it else."""
        if self.mark is None:
            return None
        return self.mark if self.chain else self.mark - LOOKBACK

    def is_new(self, item: _Item) -> bool:
        """True unless this very version of the ticket was delivered already."""
        known = self.seen.get(item.id)
        return known is None or known != (item.updated_raw, item.fingerprint)

    def record(self, items: list[_Item]) -> None:
        """Remember ``items`` as delivered and move the mark forward.

        Only versions within :data:`LOOKBACK` of the new mark are kept in ``seen`` (``prune``
        would drop the others at once), so only those tickets are fingerprinted.
        """
        for item in items:
            if item.updated is not None and (self.mark is None or item.updated >= self.mark):
                self.mark, self.last_id = item.updated, item.id
        horizon = self.mark - LOOKBACK if self.mark is not None else None
        for item in items:
            if horizon is None or item.updated is None or item.updated >= horizon:
                self.seen[item.id] = (item.updated_raw, item.fingerprint)
            else:
                self.seen.pop(item.id, None)  # an older version's entry is out of date

    def prune(self, naive_zone: str) -> None:
        """Forget versions older than the lookback window (unreadable times are kept)."""
        if self.mark is None:
            return
        horizon = self.mark - LOOKBACK
        for key, (updated_raw, _fingerprint) in list(self.seen.items()):
            try:
                updated = mapping.portal_time(updated_raw, naive_zone=naive_zone)
            except ValueError:
                continue
            if updated < horizon:
                del self.seen[key]


class OsTicketAdapter(Adapter):
    """Pulls tickets with their threads; replies, adds notes and sets statuses."""

    manifest = MANIFEST

    @classmethod
    def decode_saved(cls, payloads: list[bytes], context: AdapterContext) -> list[Ticket]:
        """Tickets in saved portal answers (GBK list pages or one ticket); no network."""
        ctx = ErrorContext(system=context.system_id, stream="saved")
        tickets: list[Ticket] = []
        for data in payloads:
            try:
                raws = list(decode_page(Payload(data, None), ctx).tickets)
            except DecodeError:
                raws = [decode_ticket(Payload(data, None), ctx)]
            for raw in raws:
                try:
                    tickets.append(
                        mapping.to_ticket(
                            raw, system_id=context.system_id, naive_zone=context.naive_zone
                        )
                    )
                except RecordError:
                    continue
        return tickets

    def __init__(
        self, context: AdapterContext, *, http_settings: HttpSettings | None = None
    ) -> None:
        super().__init__(context)
        settings = context.settings
        self.base_url = str(settings.get("base_url") or "").rstrip("/")
        self.username = str(settings.get("username") or "")
        if not self.base_url or not self.username:
            raise ConfigError(
                "the customer portal needs base_url and username",
                ErrorContext(system=context.system_id),
            )
        try:
            self.page_size = int(settings.get("page_size") or DEFAULT_PAGE_SIZE)
        except (TypeError, ValueError):
            self.page_size = 0
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ConfigError(
                f"page_size must be a number from 1 to {MAX_PAGE_SIZE}",
                ErrorContext(system=context.system_id, field="page_size"),
            )
        zone(context.naive_zone)  # a clear ConfigError now rather than on the first page
        self.naive_zone = context.naive_zone
        self._http_settings = http_settings
        self._client: PortalClient | None = None

    def _portal(self) -> PortalClient:
        if self._client is None:
            self._client = PortalClient(
                self.base_url,
                self.username,
                lambda: self.context.secret("password"),
                system_id=self.system_id,
                settings=self._http_settings,
            )
        return self._client

    def _context(self, stream: str = STREAM, record_id: str | None = None) -> ErrorContext:
        return ErrorContext(
            system=self.system_id, stream=stream, record_id=record_id, url=self.base_url
        )

    # --- check --------------------------------------------------------------------------------

    async def check(self) -> CheckResult:
        """Fetch page 1 with one ticket and say what happened."""
        started = time.perf_counter()
        try:
            portal = self._portal()
            payload = await portal.list_page(since=None, page=1, limit=1, retry=False)
            page = await asyncio.to_thread(decode_page, payload, self._context())
        except SecretError as exc:
            return CheckResult(
                False, f"the password of {self.username!r} is unavailable: {exc.message}"
            )
        except AuthError as exc:
            if exc.message.startswith("403"):
                return CheckResult(False, f"403 — user {self.username!r} may not use the API")
            return CheckResult(
                False, f"401 — the portal rejected user {self.username!r} or its password"
            )
        except UnreachableError as exc:
            return CheckResult(False, f"cannot connect to {self.base_url}: {network_reason(exc)}")
        except RateLimitedError:
            return CheckResult(False, "429 — the portal is rate limiting; try again shortly")
        except RemoteError as exc:
            return CheckResult(False, f"{exc.status_code} — the portal answered with an error")
        except DecodeError as exc:
            return CheckResult(False, f"the portal's answer is not readable: {exc.message}")
        except TablessError as exc:
            return CheckResult(False, str(exc))
        except Exception as exc:  # check() never raises
            return CheckResult(False, f"unexpected failure: {type(exc).__name__}: {exc}")
        latency = (time.perf_counter() - started) * 1000
        return CheckResult(
            True, f"connected as {self.username}: {page.total} tickets", latency_ms=latency
        )

    # --- pull ---------------------------------------------------------------------------------

    def _decode_batch(self, payload: Payload) -> _Batch:
        """Parse and map one page (blocking: runs in a worker thread)."""
        page = decode_page(payload, self._context())
        cache = mapping.PageCache()
        cache.read_times(page.tickets, self.naive_zone)
        items = []
        for raw in page.tickets:
            ticket: Ticket | None = None
            error: RecordError | None = None
            updated: datetime | None = None
            try:
                ticket = mapping.to_ticket(
                    raw, system_id=self.system_id, naive_zone=self.naive_zone, cache=cache
                )
                updated = ticket.updated_at  # the same reading of raw.updated
            except RecordError as exc:
                error = exc
                try:
                    updated = mapping.portal_time(raw.updated, naive_zone=self.naive_zone)
                except ValueError:
                    updated = None
            # tuple.__new__ directly: a named tuple's own ``__new__`` is a Python function.
            items.append(_new(_Item, (raw.id, raw.updated, updated, raw, ticket, error)))
        return _Batch(page=page.page, pages=page.pages, items=tuple(items))

    async def pull(self, cursor: str | None) -> PullResult:
        """The next tickets changed since ``cursor``; ``None`` starts a full sync."""
        state = SyncCursor.load(cursor, self._context("cursor"))
        since = state.since()
        since_text = mapping.to_portal_time(since, naive_zone=self.naive_zone) if since else None
        portal = self._portal()
        page_no = 1
        while True:
            payload = await portal.list_page(since=since_text, page=page_no, limit=self.page_size)
            batch = await asyncio.to_thread(self._decode_batch, payload)
            fresh = [item for item in batch.items if state.is_new(item)]
            if fresh or not batch.items or page_no >= batch.pages:
                break
            page_no += 1  # every ticket on this page was delivered before
        state.record(fresh)
        state.prune(self.naive_zone)
        state.chain = bool(fresh) and page_no < batch.pages
        return PullResult(
            tickets=[item.ticket for item in fresh if item.ticket is not None],
            cursor=state.dump(),
            has_more=state.chain,
            quarantined=[item.error for item in fresh if item.error is not None],
        )

    # --- perform ------------------------------------------------------------------------------

    def _request_body(self, action: ActionRequest, context: ErrorContext) -> tuple[str, bytes]:
        if action.kind in (ActionKind.REPLY, ActionKind.NOTE):
            if not (action.body or "").strip():
                raise AdapterError(f"a {action.kind.value} needs text", context)
            route = "reply" if action.kind is ActionKind.REPLY else "note"
            return route, encode_entry(route, action.body or "", poster=None)
        if action.kind is ActionKind.SET_STATUS:
            native = mapping.native_status(action.status) if action.status else None
            if native is None:
                raise AdapterError(f"the customer portal has no status {action.status!s}", context)
            return "status", encode_status(native)
        raise AdapterError(f"the customer portal cannot {action.kind.value}", context)

    async def perform(self, action: ActionRequest) -> ActionOutcome:
        """Deliver a reply, an internal note or a status change (GBK XML, idempotency key)."""
        context = self._context("actions", action.external_id)
        if not action.external_id.isdigit():
            raise AdapterError(f"not a portal ticket id: {action.external_id!r}", context)
        route, body = self._request_body(action, context)
        payload = await self._portal().post_action(
            action.external_id, route, body, idempotency_key=action.idempotency_key
        )
        ticket: Ticket | None = None
        try:
            raw = await asyncio.to_thread(decode_ticket, payload, context)
            ticket = mapping.to_ticket(raw, system_id=self.system_id, naive_zone=self.naive_zone)
        except DecodeError:  # delivered (2xx); only the echo is unreadable
            ticket = None
        created = tuple(
            m for m in (ticket.messages if ticket else ()) if m.external_id == payload.entry_id
        )
        return ActionOutcome(
            ok=True,
            message=f"{route} delivered to ticket {action.external_id}",
            remote_id=payload.entry_id or action.external_id,
            ticket=ticket,
            created_messages=created,
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
