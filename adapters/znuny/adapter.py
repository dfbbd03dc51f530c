"""``ZnunyAdapter``: Znuny / OTRS GenericTicketConnectorSOAP glued to the adapter contract.

Pull: ``TicketSearch`` with ``TicketChangeTimeNewerDate`` (inclusive, one-second resolution,
server-local time) ``LOOKBACK`` before the mark, ``SortBy=Changed``, ``OrderBy=Up`` and a
``Limit``; then one ``TicketGet`` (``AllArticles=1``) for the ids found. The cursor keeps the
``Changed`` of tickets delivered near the mark so re-read tickets are dropped and none is
skipped; the limit grows by what was seen, so a crowd of same-second changes cannot stall.
Deleted tickets come back in state ``removed``.

Writes: ``TicketUpdate`` has no idempotency key; it is sent once, and after an ambiguous
failure the ticket is read back: an article with the same text at the end of the
conversation means it arrived.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from adapters._cursor import LookbackCursor
from adapters._delivery import outcome_after, ticket_number
from adapters._formats import xml
from adapters._http import (
    HttpSettings,
    base_url_setting,
    map_saved,
    network_reason,
    page_size_setting,
    saved_error,
    text_setting,
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
from adapters.znuny import mapping
from adapters.znuny.client import ZnunyClient, every, operation_of, parse_answer, text
from adapters.znuny.manifest import DEFAULT_PAGE_SIZE, DEFAULT_WEBSERVICE, MANIFEST, MAX_PAGE_SIZE
from app.domain import (
    AdapterError,
    AuthError,
    ErrorContext,
    RecordError,
    RemoteError,
    SecretError,
    Ticket,
    UnreachableError,
)
from app.timeutil import parse_timestamp, zone

EPOCH = "1970-01-02 00:00:00"


class ZnunyAdapter(Adapter):
    """Znuny 6/7 or OTRS 6 through the GenericTicketConnectorSOAP web service.

    Settings: ``base_url``, ``username``, optional ``webservice`` and ``page_size``; secret:
    ``password``.
    """

    manifest = MANIFEST

    @classmethod
    def decode_saved(cls, payloads: list[bytes], context: AdapterContext) -> list[Ticket]:
        """Tickets in saved SOAP answers (``TicketGet``; ``TicketSearch`` lists ids); no network.

        An answer carrying an ``<Error>`` or a SOAP Fault — Znuny sends them with HTTP 200 —,
        a TicketSearch id without its TicketGet ticket, or anything that is not a SOAP answer
        is a ``DecodeError`` naming the body.
        """
        system = context.system_id
        ctx = ErrorContext(system=system, stream="saved")
        nodes: list[tuple[int, xml.Element]] = []
        listed: dict[str, int] = {}
        for part, data in enumerate(payloads):
            try:
                answer = parse_answer(data, None, None, ctx)
            except (RemoteError, AuthError) as exc:  # <Error> or Fault inside HTTP 200
                raise saved_error(
                    part, f"an error answer (sent with HTTP 200): {exc.message}", system
                ) from exc
            except AdapterError as exc:
                raise saved_error(part, f"not a Znuny SOAP answer: {exc.message}", system) from exc
            operation = operation_of(answer)
            if operation == "TicketGet":
                nodes.extend((part, node) for node in every(answer, "Ticket"))
            elif operation == "TicketSearch":
                for node in every(answer, "TicketID"):
                    listed.setdefault((node.text or "").strip(), part)
            else:
                raise saved_error(
                    part, f"a {operation} answer holds no tickets (TicketGet answers do)", system
                )
        found = {text(node, "TicketID") for _part, node in nodes}
        for ticket_id, part in listed.items():
            if ticket_id not in found:
                raise saved_error(
                    part,
                    f"TicketSearch lists TicketID {ticket_id} without its ticket: save the "
                    "TicketGet answer for it too",
                    system,
                )
        return map_saved(
            nodes,
            lambda node, offset: mapping.map_ticket(
                node, system_id=system, naive_zone=context.naive_zone, offset=offset
            ),
            lambda node: text(node, "TicketID") or None,
            system,
        )

    def __init__(self, context: AdapterContext, *, http: HttpSettings | None = None) -> None:
        super().__init__(context)
        settings = context.settings
        self.base_url = base_url_setting(context)
        self.username = text_setting(context, "username")
        self.page_size = page_size_setting(context, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        zone(context.naive_zone)
        self.naive_zone = context.naive_zone
        self.client = ZnunyClient(
            self.base_url,
            self.username,
            lambda: context.secret("password"),
            webservice=str(settings.get("webservice") or DEFAULT_WEBSERVICE),
            system=context.system_id,
            http=http,
        )

    def _ctx(self, stream: str = mapping.STREAM, record_id: str | None = None) -> ErrorContext:
        return ErrorContext(system=self.system_id, stream=stream, record_id=record_id)

    def _moment(self, version: str) -> datetime:
        return parse_timestamp(version, naive_zone=self.naive_zone)

    async def check(self) -> CheckResult:
        """Log in and run a one-ticket search; says in words what is wrong. Never raises."""
        started = time.perf_counter()
        try:
            await self.client.call("TicketSearch", [("Limit", 1)], self._ctx())
        except SecretError as exc:
            return CheckResult(False, f"the password of {self.username!r} is unavailable: {exc}")
        except AuthError:
            return CheckResult(
                False, f"Znuny rejected user {self.username!r} or its password (AuthFail)"
            )
        except UnreachableError as exc:
            return CheckResult(False, f"cannot connect to {self.base_url}: {network_reason(exc)}")
        except AdapterError as exc:
            return CheckResult(False, exc.message)
        except Exception as exc:  # check() never raises
            return CheckResult(False, f"unexpected error: {type(exc).__name__}: {exc}")
        latency = (time.perf_counter() - started) * 1000
        return CheckResult(
            True, f"connected to Znuny at {self.base_url} as {self.username}", latency
        )

    # ------------------------------------------------------------------------------- pull

    async def _get(self, ids: list[str]) -> list[xml.Element]:
        if not ids:
            return []
        answer = await self.client.call(
            "TicketGet",
            [*(("TicketID", i) for i in ids), ("AllArticles", 1), ("DynamicFields", 0)],
            self._ctx(),
        )
        return every(answer, "Ticket")

    def _map(self, nodes: list[xml.Element]) -> tuple[list[Ticket], list[RecordError]]:
        tickets: list[Ticket] = []
        errors: list[RecordError] = []
        for offset, node in enumerate(nodes):
            try:
                tickets.append(
                    mapping.map_ticket(
                        node, system_id=self.system_id, naive_zone=self.naive_zone, offset=offset
                    )
                )
            except RecordError as exc:
                errors.append(exc)
        return tickets, errors

    async def pull(self, cursor: str | None) -> PullResult:
        """The next tickets changed since ``cursor``; ``None`` starts a full sync."""
        state = LookbackCursor.load(cursor, self._ctx("cursor"), what="Znuny cursor")
        start = state.since()
        since = mapping.to_server_time(start, self.naive_zone) if start else EPOCH
        limit = self.page_size + len(state.seen)
        answer = await self.client.call(
            "TicketSearch",
            [
                ("TicketChangeTimeNewerDate", since),
                ("SortBy", "Changed"),
                ("OrderBy", "Up"),
                ("Limit", limit),
            ],
            self._ctx(),
        )
        ids = [text_ for node in every(answer, "TicketID") if (text_ := (node.text or "").strip())]
        nodes = await self._get(ids)
        fresh = [n for n in nodes if state.seen.get(text(n, "TicketID")) != text(n, "Changed")]
        tickets, quarantined = await asyncio.to_thread(self._map, fresh)
        for node in fresh:
            state.record(text(node, "TicketID"), text(node, "Changed"), self._moment)
        state.prune(self._moment)
        return PullResult(
            tickets=tickets,
            cursor=state.dump(),
            has_more=bool(fresh) and len(ids) >= limit,
            quarantined=quarantined,
        )

    # ---------------------------------------------------------------------------- perform

    async def fetch_ticket(self, external_id: str) -> Ticket:
        """One ticket's current state with all its articles."""
        nodes = await self._get([external_id])
        if not nodes:
            raise RemoteError(
                f"ticket {external_id} is not in Znuny", self._ctx(record_id=external_id)
            )
        return mapping.map_ticket(nodes[0], system_id=self.system_id, naive_zone=self.naive_zone)

    async def _arrived(self, ticket_id: str, action: ActionRequest) -> str | None:
        """After an ambiguous failure: the id of the article or state that shows it landed."""
        ticket = await self.fetch_ticket(ticket_id)
        if action.kind is ActionKind.SET_STATUS:
            wanted = mapping.STATUS_STATE[action.status] if action.status else None
            return ticket_id if ticket.native_status == wanted else None
        if ticket.messages:
            last = ticket.messages[-1]
            public = action.kind is ActionKind.REPLY
            if last.body_text.strip() == (action.body or "").strip() and last.public == public:
                return last.external_id
        return None

    async def perform(self, action: ActionRequest) -> ActionOutcome:
        """Reply, note or state change through ``TicketUpdate``; sent once, read back after."""
        ticket_id = ticket_number(action.external_id, self.system_id, "a Znuny TicketID", "actions")
        ctx = self._ctx("actions", ticket_id)
        fields: list[tuple[str, object]] = [("TicketID", ticket_id)]
        if action.kind in (ActionKind.REPLY, ActionKind.NOTE):
            if not (action.body or "").strip():
                raise AdapterError(
                    f"a {action.kind.value} needs a text", ctx, code="invalid_action"
                )
            subject = "Re: Ticket" if action.kind is ActionKind.REPLY else "Note"
            fields.append(
                ("Article", mapping.article_fields(action.kind, action.body or "", subject))
            )
        elif action.kind is ActionKind.SET_STATUS and action.status is not None:
            fields.append(("Ticket", mapping.state_fields(action.status)))
        else:
            raise AdapterError("a status change needs a status", ctx, code="invalid_action")
        try:
            answer = await self.client.call("TicketUpdate", fields, ctx, retry=False)
            remote_id = text(answer, "ArticleID") or ticket_id
        except (UnreachableError, RemoteError) as exc:
            code = exc.details.get("znuny_code") if isinstance(exc, RemoteError) else None
            if code is not None:
                raise  # Znuny answered with an <Error>: nothing was changed
            arrived = await self._arrived(ticket_id, action)
            if arrived is None:
                raise
            remote_id = arrived
        return await self._outcome(action, ticket_id, remote_id)

    async def _outcome(
        self, action: ActionRequest, ticket_id: str, remote_id: str
    ) -> ActionOutcome:
        return await outcome_after(
            self.fetch_ticket,
            ticket_id,
            remote_id,
            f"{action.kind.value} delivered to Znuny ticket {ticket_id}",
        )

    async def find_delivered(self, action: ActionRequest) -> ActionOutcome | None:
        """Read back: the outcome of ``action`` when an earlier attempt already reached Znuny."""
        if not action.external_id.isdigit():
            return None
        found = await self._arrived(action.external_id, action)
        return None if found is None else await self._outcome(action, action.external_id, found)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()
