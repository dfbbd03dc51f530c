"""The Freshdesk adapter: glues the wire client to the pure mapping.

Pull — one *pass* reads ``GET /api/v2/tickets?updated_since=<since>&order_by=updated_at&
order_type=asc`` and then the same with ``filter=deleted`` (trashed tickets leave the normal
list), each followed through its ``Link`` header, with every live ticket's conversations. The
cursor (JSON) holds the pass's ``since``, the stream and next link, the server time the pass
started and the newest ``updated_at`` seen. The next pass starts at the older of those two, so
a change made while a pass ran is read again rather than lost; tickets read back at the
boundary unchanged — same id, same ``updated_at``, already older than the server clock when
first read — are dropped, so a quiet pull returns nothing.

Known limit of Freshdesk's page-number lists: a ticket updated during a long pass moves to its
end and the rows behind it shift one place; the adapter cannot see that shift in the Link
pages (the row that slid over a page boundary comes back at its next change).

Perform — Freshdesk has no idempotency keys. A reply or note carries an invisible marker with
the action's key; before posting, the conversations are searched for it (an outbox retry after
a crash posts nothing), and after an answer is lost (5xx, timeout) they are read back before
any new attempt, so one action never becomes two replies.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from adapters._delivery import bounded, outcome_after, post_once, put_value, ticket_number
from adapters._http import (
    HttpSettings,
    base_url_setting,
    error_text,
    map_saved,
    network_reason,
    page_size_setting,
    saved_error,
    saved_json,
)
from adapters.base import (
    ActionKind,
    ActionOutcome,
    ActionRequest,
    Adapter,
    AdapterContext,
    CheckResult,
    PullResult,
)
from adapters.freshdesk import mapping
from adapters.freshdesk.client import TICKETS_PATH, FreshdeskClient, body_detail
from adapters.freshdesk.manifest import DEFAULT_PAGE_SIZE, MANIFEST, MAX_PAGE_SIZE
from app.domain import (
    AdapterError,
    AuthError,
    DecodeError,
    ErrorContext,
    Person,
    RemoteError,
    SecretError,
    Status,
    Ticket,
    UnreachableError,
)
from app.timeutil import parse_timestamp, to_iso_z

EPOCH = "1970-01-01T00:00:00Z"
Seen = tuple[str, str, bool]  # ticket id, updated_at, deleted


def _later(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if parse_timestamp(a) >= parse_timestamp(b) else b


def _earlier(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if parse_timestamp(a) <= parse_timestamp(b) else b


@dataclass
class Cursor:
    """Where a pull stands; serialised as JSON into the opaque cursor string."""

    since: str = EPOCH
    stream: str = "tickets"  # then "deleted"
    next: str | None = None
    start: str | None = None  # server time of the pass's first page
    high: str | None = None  # newest updated_at seen in this pass
    skip: set[Seen] = field(default_factory=set)  # read unchanged at the last boundary
    seen: set[Seen] = field(default_factory=set)  # this pass's boundary candidates

    def dumps(self) -> str:
        """The cursor string."""
        return json.dumps(
            {
                "since": self.since,
                "stream": self.stream,
                "next": self.next,
                "start": self.start,
                "high": self.high,
                "skip": sorted(list(s) for s in self.skip),
                "seen": sorted(list(s) for s in self.seen),
            },
            sort_keys=True,
        )

    @classmethod
    def loads(cls, text: str | None, system: str) -> Cursor:
        """The cursor a previous pull returned (None: a full sync from the beginning)."""
        if text is None:
            return cls()
        try:
            raw = json.loads(text)
            cursor = cls(
                since=to_iso_z(parse_timestamp(str(raw["since"]))),
                stream=raw["stream"],
                next=raw.get("next"),
                start=raw.get("start"),
                high=raw.get("high"),
                skip={(str(i), str(u), bool(d)) for i, u, d in raw.get("skip", [])},
                seen={(str(i), str(u), bool(d)) for i, u, d in raw.get("seen", [])},
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise DecodeError(
                "the saved sync cursor is unreadable",
                ErrorContext(system=system, stream=mapping.STREAM_TICKETS, field="cursor"),
            ) from exc
        if cursor.stream not in ("tickets", "deleted") or not (
            cursor.next is None or isinstance(cursor.next, str)
        ):
            raise DecodeError(
                "the saved sync cursor is unreadable",
                ErrorContext(system=system, stream=mapping.STREAM_TICKETS, field="cursor"),
            )
        return cursor

    def boundary(self) -> str | None:
        """Where the next pass may start: changes after it are re-read."""
        return _earlier(self.high, self.start)


def _is_ticket(raw: object) -> TypeGuard[Mapping[str, Any]]:
    return isinstance(raw, Mapping) and "subject" in raw and "status" in raw


def _is_conversation(raw: object) -> TypeGuard[Mapping[str, Any]]:
    return isinstance(raw, Mapping) and "ticket_id" in raw and "private" in raw


@dataclass
class _Saved:
    """What saved Freshdesk answers hold, sorted by kind (``decode_saved``)."""

    tickets: list[tuple[int, Any]] = field(default_factory=list)
    conversations: dict[str, list[Any]] = field(default_factory=dict)
    fields: list[Any] = field(default_factory=list)
    agents: list[Any] = field(default_factory=list)

    def read(self, part: int, body: object, system: str) -> None:
        """Sort one saved body; a DecodeError naming ``part`` when it is none of the kinds."""
        if isinstance(body, Mapping) and isinstance(body.get("results"), list):
            body = body["results"]  # GET /api/v2/search/tickets
        rows = body if isinstance(body, list) else [body]
        if isinstance(body, Mapping) and ("errors" in body or "code" in body):
            words, detail = error_text(body) or "an error", body_detail(body)
            said = words if detail in ("", words) else f"{words}; {detail}"
            raise saved_error(part, f"this is a Freshdesk error answer: {said}", system)
        for raw in rows:
            if _is_ticket(raw):
                self.tickets.append((part, raw))
                embedded = raw.get("conversations")
                for item in embedded if isinstance(embedded, list) else ():
                    self._conversation(item, mapping.record_id(raw))
            elif _is_conversation(raw):
                self._conversation(raw, None)
            elif isinstance(raw, Mapping) and "choices" in raw and "name" in raw:
                self.fields.append(raw)
            elif isinstance(raw, Mapping) and isinstance(raw.get("contact"), Mapping):
                self.agents.append(raw)
            else:
                raise saved_error(
                    part,
                    "not a Freshdesk ticket, ticket list, conversation list, ticket field list "
                    "or agent list",
                    system,
                )

    def _conversation(self, raw: Mapping[str, Any], ticket_id: str | None) -> None:
        owner = ticket_id or mapping.record_id({"id": raw.get("ticket_id")})
        self.conversations.setdefault(owner or "", []).append(raw)


class FreshdeskAdapter(Adapter):
    """Freshdesk over its REST API v2 (API key as Basic-auth user name).

    Settings: ``base_url``, optional ``page_size`` (default and maximum 100); secret:
    ``api_key``. ``http`` overrides the HTTP settings (timeouts, retries, TLS, proxy).
    """

    manifest = MANIFEST

    @classmethod
    def decode_saved(cls, payloads: list[bytes], context: AdapterContext) -> list[Ticket]:
        """Tickets in saved API v2 answers; no network.

        Recognised by shape: a ticket list page (or a ``search/tickets`` answer), a ticket
        (``include=conversations`` embeds its conversations), a ticket's conversations (joined
        by their ``ticket_id``), the ticket fields (custom status names) and agents (assignees
        and authors). An error answer or anything else is a ``DecodeError`` naming the body.
        """
        system = context.system_id
        saved = _Saved()
        for part, data in enumerate(payloads):
            saved.read(part, saved_json(data, part, system), system)
        labels = mapping.status_labels(saved.fields)
        agents = mapping.agent_people(saved.agents)
        return map_saved(
            saved.tickets,
            lambda raw, offset: mapping.map_ticket(
                raw,
                saved.conversations.get(mapping.record_id(raw) or "", ()),
                agents,
                labels,
                system_id=system,
                naive_zone=context.naive_zone,
                offset=offset,
            ),
            mapping.record_id,
            system,
        )

    def __init__(self, context: AdapterContext, *, http: HttpSettings | None = None) -> None:
        super().__init__(context)
        self.base_url = base_url_setting(context)
        self.page_size = page_size_setting(context, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        self.http = http or HttpSettings()
        self._client = FreshdeskClient(
            self.base_url, lambda: context.secret("api_key"), system=context.system_id, http=http
        )
        self._labels: dict[int, str] | None = None
        self._agents: dict[int, Person] = {}

    # ------------------------------------------------------------------------------ check

    async def check(self) -> CheckResult:
        """``GET /api/v2/agents/me`` and the status choices; readable verdict, never raises."""
        started = time.perf_counter()
        try:
            me = await self._client.get("/api/v2/agents/me", self._client.ctx("agents"))
            labels = await self._refresh_metadata()
        except AuthError as exc:
            reason = "the API key was rejected" if "401" in exc.message else "access is forbidden"
            return CheckResult(False, f"{exc.message[:3]} — {reason}")
        except UnreachableError as exc:
            return CheckResult(False, f"cannot connect to {self.base_url}: {network_reason(exc)}")
        except SecretError as exc:
            return CheckResult(False, f"the API key is not available: {exc.message}")
        except AdapterError as exc:
            return CheckResult(False, exc.message)
        except Exception as exc:  # never raise from check()
            return CheckResult(False, f"unexpected error: {type(exc).__name__}: {exc}")
        latency = (time.perf_counter() - started) * 1000
        contact = me.get("contact") if isinstance(me, dict) else None
        who = (contact or {}).get("name") or (contact or {}).get("email") or "the API user"
        message = f"connected to {self.base_url} as {who}"
        unknown = sorted(
            name
            for number, name in labels.items()
            if number not in mapping.BUILTIN_STATUS
            and name.strip().lower() not in mapping.CUSTOM_BY_NAME
        )
        if unknown:
            message += f"; custom statuses shown as open: {', '.join(unknown)}"
        return CheckResult(True, message, latency)

    # ------------------------------------------------------------------------------- pull

    async def _refresh_metadata(self) -> dict[int, str]:
        fields = await self._client.get("/api/v2/ticket_fields", self._client.ctx("ticket_fields"))
        agents = await self._client.every(
            "/api/v2/agents", self._client.ctx("agents"), per_page=100
        )
        self._labels = mapping.status_labels(fields if isinstance(fields, list) else [])
        self._agents = mapping.agent_people(agents)
        return self._labels

    async def _conversations(self, ticket_id: str) -> tuple[str, list[Any] | None]:
        try:
            return ticket_id, await self._client.conversations(ticket_id)
        except RemoteError as exc:
            if exc.status_code == 404:  # trashed since the page was cut: the deleted list has it
                return ticket_id, None
            raise

    async def pull(self, cursor: str | None) -> PullResult:
        """One list page, each live ticket with all its conversations."""
        state = Cursor.loads(cursor, self.system_id)
        if self._labels is None or (state.stream == "tickets" and state.next is None):
            await self._refresh_metadata()
        page = await self._client.tickets_page(
            state.next,
            since=state.since,
            per_page=self.page_size,
            deleted=state.stream == "deleted",
        )
        read_at = page.server_time
        if state.start is None and read_at is not None:
            state.start = to_iso_z(read_at)
        fresh: list[Any] = []
        for raw in page.rows:
            key = self._seen_key(raw)
            if key is not None and key in state.skip:
                continue  # read unchanged at the last pass's boundary
            fresh.append(raw)
            if key is not None:
                state.high = _later(state.high, key[1])
        live = [
            ticket_id
            for raw in fresh
            if (ticket_id := mapping.record_id(raw)) is not None and raw.get("deleted") is not True
        ]
        fetched = dict(await bounded(self._conversations, live))
        kept = [raw for raw in fresh if fetched.get(mapping.record_id(raw) or "", []) is not None]
        conversations = {k: v for k, v in fetched.items() if v is not None}
        tickets, quarantined = await asyncio.to_thread(
            mapping.map_page,
            kept,
            conversations,
            self._agents,
            self._labels or {},
            system_id=self.system_id,
            naive_zone=self.context.naive_zone,
        )
        for ticket in tickets:
            stamp = to_iso_z(ticket.updated_at)
            if read_at is not None and ticket.updated_at < read_at:
                state.seen.add((ticket.key.external_id, stamp, ticket.deleted))
        boundary = state.boundary()
        if boundary is not None:
            limit = parse_timestamp(boundary)
            state.seen = {s for s in state.seen if parse_timestamp(s[1]) >= limit}
        has_more = True
        if page.next_url is not None:
            state.next = page.next_url
        elif state.stream == "tickets":
            state.stream, state.next = "deleted", None
        else:
            state = Cursor(since=boundary or state.since, skip=state.seen)
            has_more = False
        return PullResult(
            tickets=tickets, cursor=state.dumps(), has_more=has_more, quarantined=quarantined
        )

    def _seen_key(self, raw: object) -> tuple[str, str, bool] | None:
        ticket_id = mapping.record_id(raw)
        if ticket_id is None or not isinstance(raw, Mapping):
            return None
        try:
            stamp = to_iso_z(parse_timestamp(raw["updated_at"], naive_zone=self.context.naive_zone))
        except (KeyError, TypeError, ValueError, OverflowError, OSError, AttributeError):
            return None
        return ticket_id, stamp, raw.get("deleted") is True

    # ---------------------------------------------------------------------------- perform

    def _ticket_id(self, external_id: str) -> str:
        return ticket_number(external_id, self.system_id, "a Freshdesk ticket id")

    async def fetch_ticket(self, external_id: str) -> Ticket:
        """One ticket's current remote state with all its conversations."""
        ticket_id = self._ticket_id(external_id)
        if self._labels is None:
            await self._refresh_metadata()
        raw = await self._client.get(
            f"{TICKETS_PATH}/{ticket_id}",
            self._client.ctx("tickets", ticket_id),
            include="requester",
        )
        conversations = [] if raw.get("deleted") else await self._client.conversations(ticket_id)
        return mapping.map_ticket(
            raw,
            conversations,
            self._agents,
            self._labels or {},
            system_id=self.system_id,
            naive_zone=self.context.naive_zone,
        )

    def _missing(self, exc: RemoteError, ticket_id: str) -> RemoteError:
        if exc.status_code == 404:
            return RemoteError(
                f"ticket {ticket_id} no longer exists in Freshdesk", exc.context, status_code=404
            )
        return exc

    async def _deliver_text(self, action: ActionRequest, ticket_id: str) -> Mapping[str, Any]:
        """Post a reply or note once, however often it has to be attempted."""
        text = action.body or ""
        body = mapping.body_html(text, action.idempotency_key)
        private = action.kind is ActionKind.NOTE
        before = await self._client.conversations(ticket_id)
        found = mapping.find_delivery(before, action.idempotency_key)
        if found is not None:  # delivered by an earlier attempt of this action
            return found
        known = frozenset(i for raw in before if (i := mapping.record_id(raw)) is not None)
        path = f"{TICKETS_PATH}/{ticket_id}/" + ("notes" if private else "reply")
        payload: dict[str, Any] = {"body": body, **({"private": True} if private else {})}
        ctx = self._client.ctx("conversations", ticket_id)

        async def read_back() -> Mapping[str, Any] | None:
            after = await self._client.conversations(ticket_id)
            return mapping.find_delivery(
                after, action.idempotency_key, text=text, private=private, known_ids=known
            )

        return await post_once(
            lambda: self._client.write("POST", path, payload, ctx),
            read_back,
            ctx,
            what="conversation",
            backoff_base=self.http.backoff_base,
        )

    async def _set_status(self, ticket_id: str, status: Status) -> None:
        if self._labels is None:
            await self._refresh_metadata()
        code = mapping.unified_to_code(status, self._labels or {})
        ctx = self._client.ctx("tickets", ticket_id)
        await put_value(
            lambda: self._client.write("PUT", f"{TICKETS_PATH}/{ticket_id}", {"status": code}, ctx),
            backoff_base=self.http.backoff_base,
        )

    async def perform(self, action: ActionRequest) -> ActionOutcome:
        """Reply (public), note (private) or status change; a reply is never posted twice."""
        ticket_id = self._ticket_id(action.external_id)
        remote_id: str | None = None
        try:
            if action.kind in (ActionKind.REPLY, ActionKind.NOTE):
                if not action.body or not action.body.strip():
                    raise AdapterError(
                        f"a {action.kind.value} needs a text",
                        ErrorContext(system=self.system_id, record_id=ticket_id),
                        code="invalid_action",
                    )
                remote_id = mapping.record_id(await self._deliver_text(action, ticket_id))
            elif action.status is None:
                raise AdapterError(
                    "a status change needs a status",
                    ErrorContext(system=self.system_id, record_id=ticket_id),
                    code="invalid_action",
                )
            if action.status is not None:
                await self._set_status(ticket_id, action.status)
        except RemoteError as exc:
            raise self._missing(exc, ticket_id) from exc
        return await outcome_after(
            self.fetch_ticket,
            ticket_id,
            remote_id,
            f"{action.kind.value} delivered to Freshdesk ticket {ticket_id}",
            remote_id=remote_id or ticket_id,
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()
