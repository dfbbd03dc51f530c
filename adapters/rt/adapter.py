"""``RtAdapter``: Request Tracker's REST2 API glued to the adapter contract.

Pull runs the TicketSQL search ``LastUpdated > '<mark - LOOKBACK>' AND (Status = '__Active__'
OR Status = '__Inactive__')`` (mentioning Status keeps deleted tickets in the result, as RT
leaves them out otherwise) ordered by ``LastUpdated, id``. RT dates have one-second resolution,
so the cursor keeps, besides the mark, the ``LastUpdated`` of every ticket delivered within
:data:`LOOKBACK` of it: re-read tickets are dropped, changed ones are not, and nothing is
skipped. Each changed ticket is read with its history; ticket records are revalidated with
their ETag (``304``: no download) and transactions, which RT never changes, are read once per
adapter instance.

Writes: correspond and comment have no idempotency key in RT, so before posting, and again
after an ambiguous failure (timeout, 5xx), the adapter reads the history back: when the
conversation already ends with this very text from the configured user, the action is taken
as delivered instead of posted twice. Status changes are ``PUT`` with ``If-Match``: a ``412``
means someone changed the ticket meanwhile and is reported as a conflict (``code="conflict"``),
unless the read-back shows the status already set (our own earlier attempt).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import random
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from adapters._cursor import LookbackCursor
from adapters._delivery import gather_all, outcome_after, ticket_number
from adapters._http import (
    HttpSettings,
    base_url_setting,
    error_text,
    map_saved,
    network_reason,
    page_size_setting,
    saved_error,
    saved_json,
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
from adapters.rt import mapping
from adapters.rt.client import RtClient, items, quote_sql
from adapters.rt.manifest import DEFAULT_PAGE_SIZE, MANIFEST, MAX_PAGE_SIZE
from app.domain import (
    AdapterError,
    Attachment,
    AuthError,
    DecodeError,
    ErrorContext,
    RecordError,
    RemoteError,
    SecretError,
    Ticket,
    UnreachableError,
)
from app.timeutil import zone

READ_BACK_DEPTH = 20  # newest message transactions inspected before posting again
EVERYTHING = "(Status = '__Active__' OR Status = '__Inactive__')"


@dataclass(frozen=True, slots=True)
class _Fetched:
    """A ticket's record, history, users and queue, ready for the pure mapping."""

    record: dict[str, Any]
    history: tuple[mapping.RawTxn, ...]
    users: dict[str, Any]
    queue: str | None


def _kind(raw: Mapping[str, Any]) -> str | None:
    """Which REST2 record ``raw`` is, by its ``type`` (collection rows) or its fields."""
    declared = raw.get("type")
    if isinstance(declared, str) and declared in ("ticket", "transaction", "attachment", "user"):
        return declared
    if "TransactionId" in raw and "ContentType" in raw:
        return "attachment"
    if "Type" in raw and ("ObjectType" in raw or "Object" in raw):
        return "transaction"
    if "Status" in raw and "Queue" in raw and "Created" in raw:
        return "ticket"
    if "Name" in raw and "Lifecycle" in raw:
        return "queue"
    if "Name" in raw and ("EmailAddress" in raw or "RealName" in raw):
        return "user"
    return None


@dataclass
class _Saved:
    """What saved RT answers hold, sorted by kind (``decode_saved``)."""

    tickets: list[tuple[int, Any]] = field(default_factory=list)
    listed: dict[str, int] = field(default_factory=dict)  # search rows: ticket id -> part
    txns: list[tuple[int, Mapping[str, Any]]] = field(default_factory=list)
    parts: dict[str, list[tuple[int, Mapping[str, Any]]]] = field(default_factory=dict)
    users: dict[str, Any] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)

    def read(self, part: int, body: object, system: str) -> None:
        """Sort one saved body; a DecodeError naming ``part`` when it is none of the kinds."""
        if not isinstance(body, Mapping):
            raise saved_error(part, "not an RT REST2 record or collection (not an object)", system)
        if set(body) == {"message"}:
            said = error_text(body) or "an error"
            raise saved_error(part, f"this is an RT error answer: {said}", system)
        rows = body.get("items")
        if isinstance(rows, list):
            for row in rows:
                self._row(part, row, system, listed=True)
        elif body and all(isinstance(v, Mapping) and "Name" in v for v in body.values()):
            self.users.update(body)  # users saved by name, as the adapter reads them
        else:
            self._row(part, body, system, listed=False)

    def _row(self, part: int, raw: object, system: str, *, listed: bool) -> None:
        kind = _kind(raw) if isinstance(raw, Mapping) else None
        if not isinstance(raw, Mapping) or kind is None:
            raise saved_error(
                part,
                "not an RT ticket, history, transaction, attachment, user or queue record",
                system,
            )
        if kind == "ticket" and listed and "Created" not in raw:
            self.listed.setdefault(mapping.record_id(raw) or "", part)
        elif kind == "ticket":
            self.tickets.append((part, raw))
        elif kind == "transaction":
            self.txns.append((part, raw))
        elif kind == "attachment":
            txn_id = mapping.uid_id(raw.get("TransactionId"))
            if txn_id is None:
                raise saved_error(
                    part, "an attachment names no TransactionId: save GET /attachment/<id>", system
                )
            self.parts.setdefault(txn_id, []).append((part, raw))
        elif kind == "user" and isinstance(raw.get("Name"), str):
            self.users[raw["Name"]] = raw
        elif kind == "queue" and (queue_id := mapping.record_id(raw)) is not None:
            self.queues[queue_id] = str(raw["Name"])

    def _txn(self, part: int, raw: Mapping[str, Any], system: str) -> mapping.RawTxn | None:
        txn_id = mapping.record_id(raw)
        saved_parts = self.parts.get(txn_id or "", [])
        text_part, files = mapping.message_parts([p for _part, p in saved_parts])
        body = ""
        if text_part is not None:
            where = next(n for n, p in saved_parts if p is text_part)
            ctx = ErrorContext(system=system, stream="attachments", record_id=txn_id)
            try:
                body = mapping.attachment_text(text_part, ctx)
            except RecordError as exc:
                raise saved_error(where, f"{exc.message} ({ctx.describe()})", system) from exc
        return mapping.raw_txn(raw, body, files)

    def history_by_ticket(self, system: str, naive_zone: str) -> dict[str, list[mapping.RawTxn]]:
        """The shown transactions by ticket id, oldest first.

        History rows name no ticket unless saved with their ``Object``: those need exactly one
        ticket. A search row without its ticket record is an error of the search page.
        """
        ids = [mapping.record_id(raw) or "" for _part, raw in self.tickets]
        for listed_id, part in self.listed.items():
            if listed_id not in ids:
                raise saved_error(
                    part,
                    f"the search page lists ticket {listed_id} but holds only a summary of it: "
                    f"save GET /REST/2.0/ticket/{listed_id} too",
                    system,
                )
        found: dict[str, dict[str, mapping.RawTxn]] = {}
        for part, raw in self.txns:
            owner = raw.get("Object")
            if isinstance(owner, Mapping) and owner.get("type") == "ticket":
                ticket_id = mapping.uid_id(owner)
            elif len(set(ids)) == 1:
                ticket_id = ids[0]
            else:
                raise saved_error(
                    part,
                    "history rows name no ticket; decode them with exactly one ticket "
                    f"(found {len(set(ids))})",
                    system,
                )
            txn = self._txn(part, raw, system)
            if txn is not None and ticket_id is not None:
                found.setdefault(ticket_id, {})[txn.id] = txn  # a record and a row: once
        return {
            ticket_id: sorted(txns.values(), key=lambda t: int(t.id))
            for ticket_id, txns in found.items()
        }


class RtAdapter(Adapter):
    """Request Tracker 5 (or 4.4 with RT::Extension::REST2) over REST2 with an auth token.

    Settings: ``base_url``, ``username`` (the RT user the token belongs to), optional
    ``page_size`` (default 50, at most 100); secret: ``token``.
    """

    manifest = MANIFEST

    @classmethod
    def decode_saved(cls, payloads: list[bytes], context: AdapterContext) -> list[Ticket]:
        """Tickets in saved REST2 answers; no network.

        Recognised by shape: ticket records, a ticket's history (joined by the transactions'
        ``Object`` when saved, else only with exactly one ticket), transaction and attachment
        records (an attachment names its transaction: the text part is the message body, named
        files are its attachments), user and queue records, and search pages (their rows are
        summaries: each needs its ticket record). An error answer or anything else is a
        ``DecodeError`` naming the body.
        """
        system = context.system_id
        saved = _Saved()
        for part, data in enumerate(payloads):
            saved.read(part, saved_json(data, part, system), system)
        history = saved.history_by_ticket(system, context.naive_zone)
        return map_saved(
            saved.tickets,
            lambda raw, offset: mapping.map_ticket(
                raw,
                history.get(mapping.record_id(raw) or "", ()),
                saved.users,
                queue=saved.queues.get(mapping.uid_id(raw.get("Queue")) or ""),
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
        self.username = text_setting(context, "username")  # the RT user the token belongs to
        self.page_size = page_size_setting(context, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        zone(context.naive_zone)  # a clear ConfigError now rather than on the first page
        self.naive_zone = context.naive_zone
        self.http = http or HttpSettings()
        self.client = RtClient(
            self.base_url,
            lambda: context.secret("token"),
            system=context.system_id,
            http=self.http,
        )

    def _ctx(self, stream: str = mapping.STREAM, record_id: str | None = None) -> ErrorContext:
        return ErrorContext(system=self.system_id, stream=stream, record_id=record_id)

    def _moment(self, version: str) -> datetime | None:
        return mapping.rt_time(version, naive_zone=self.naive_zone)

    # ------------------------------------------------------------------------------ check

    async def check(self) -> CheckResult:
        """Read ``/rt`` and the configured user; says in words what is wrong. Never raises."""
        started = time.perf_counter()
        try:
            info = await self.client.system_info()
            user = await self.client.user(self.username)
        except SecretError as exc:
            return CheckResult(False, f"the RT token is not available: {exc.message}")
        except AuthError as exc:
            code = exc.message.split(" ", 1)[0]
            return CheckResult(False, f"{code} — RT rejected the auth token")
        except UnreachableError as exc:
            return CheckResult(False, f"cannot connect to {self.base_url}: {network_reason(exc)}")
        except AdapterError as exc:
            return CheckResult(False, exc.message)
        except Exception as exc:  # check() never raises
            return CheckResult(False, f"unexpected error: {type(exc).__name__}: {exc}")
        if user is None:
            return CheckResult(False, f"RT has no user {self.username!r}; check the username")
        latency = (time.perf_counter() - started) * 1000
        version = info.get("Version") or "?"
        who = user.get("RealName") or self.username
        return CheckResult(True, f"connected to RT {version} at {self.base_url} as {who}", latency)

    # ------------------------------------------------------------------------------- pull

    def _query(self, since: datetime | None) -> str:
        start = since if since is not None else mapping.UNSET
        stamp = mapping.to_rt_time(start, naive_zone=self.naive_zone)
        return f"LastUpdated > {quote_sql(stamp)} AND {EVERYTHING}"

    async def _content(self, txn_id: str) -> tuple[str, tuple[Attachment, ...]]:
        """The text and the files of a message transaction."""
        text_part, files = mapping.message_parts(await self.client.transaction_attachments(txn_id))
        part_id = mapping.record_id(text_part) if text_part is not None else None
        if part_id is None:
            return "", files
        raw = await self.client.attachment(part_id)
        ctx = ErrorContext(system=self.system_id, stream="attachments", record_id=part_id)
        return mapping.attachment_text(raw, ctx), files

    async def _txn(self, raw: object) -> mapping.RawTxn | None:
        txn = mapping.raw_txn(raw)
        if txn is None or txn.type not in mapping.MESSAGE_TYPES:
            return txn
        body, files = await self._content(txn.id)
        return mapping.raw_txn(raw, body, files)

    async def _fetch(self, ticket_id: str) -> _Fetched | RecordError | None:
        """Everything about one ticket; None when it no longer exists."""
        try:
            _etag, record = await self.client.ticket(ticket_id)
            history: list[mapping.RawTxn | None] = []
            if record.get("Status") != mapping.DELETED:
                history = await gather_all(
                    self._txn(raw) for raw in await self.client.history(ticket_id)
                )
            shown = tuple(txn for txn in history if txn is not None)
            names = sorted(mapping.user_names(record, shown))
            found = await gather_all(self.client.user(name) for name in names)
            queue_id = mapping.uid_id(record.get("Queue"))
            queue = await self.client.queue_name(queue_id) if queue_id else None
        except RemoteError as exc:
            if exc.status_code == 404:
                return None
            raise
        except RecordError as exc:
            return exc
        except DecodeError as exc:
            return RecordError(exc.message, self._ctx(record_id=ticket_id))
        users = {name: user for name, user in zip(names, found, strict=True) if user is not None}
        return _Fetched(record, shown, users, queue)

    def _map(
        self, fetched: Iterable[tuple[str, _Fetched | RecordError | None]]
    ) -> tuple[list[Ticket], list[RecordError]]:
        tickets: list[Ticket] = []
        errors: list[RecordError] = []
        for offset, (ticket_id, item) in enumerate(fetched):
            if item is None:
                continue
            if isinstance(item, RecordError):
                errors.append(item)
                continue
            try:
                tickets.append(self._map_one(item, offset))
            except RecordError as exc:
                errors.append(exc)
            except (TypeError, ValueError, KeyError) as exc:
                errors.append(
                    RecordError(f"unreadable ticket: {exc}", self._ctx(record_id=ticket_id))
                )
        return tickets, errors

    def _map_one(self, item: _Fetched, offset: int | None = None) -> Ticket:
        return mapping.map_ticket(
            item.record,
            item.history,
            item.users,
            queue=item.queue,
            system_id=self.system_id,
            naive_zone=self.naive_zone,
            offset=offset,
        )

    async def pull(self, cursor: str | None) -> PullResult:
        """The next tickets changed since ``cursor``; ``None`` starts a full sync."""
        state = LookbackCursor.load(cursor, self._ctx("cursor"), what="RT sync cursor")
        query = self._query(state.since())
        page_no = 1
        while True:
            body = await self.client.search(query, page=page_no, per_page=self.page_size)
            found = [raw for raw in items(body) if mapping.record_id(raw) is not None]
            fresh = [
                raw
                for raw in found
                if state.seen.get(str(mapping.record_id(raw))) != str(raw.get("LastUpdated"))
            ]
            more = bool(body.get("next_page"))
            if fresh or not found or not more:
                break
            page_no += 1  # every ticket on this page was delivered before
        ids = [str(mapping.record_id(raw)) for raw in fresh]
        fetched = await gather_all(self._fetch(ticket_id) for ticket_id in ids)
        tickets, quarantined = await asyncio.to_thread(self._map, zip(ids, fetched, strict=True))
        for raw in fresh:
            state.record(str(mapping.record_id(raw)), str(raw.get("LastUpdated")), self._moment)
        state.prune(self._moment)
        return PullResult(
            tickets=tickets,
            cursor=state.dump(),
            has_more=bool(fresh) and more,
            quarantined=quarantined,
        )

    # ---------------------------------------------------------------------------- perform

    def _ticket_id(self, external_id: str) -> str:
        return ticket_number(external_id, self.system_id, "an RT ticket id", "actions")

    async def fetch_ticket(self, external_id: str) -> Ticket:
        """One ticket's current remote state with its whole history."""
        ticket_id = self._ticket_id(external_id)
        item = await self._fetch(ticket_id)
        if item is None:
            raise RemoteError(
                f"ticket {ticket_id} no longer exists in RT",
                self._ctx(record_id=ticket_id),
                status_code=404,
            )
        if isinstance(item, RecordError):
            raise item
        return self._map_one(item)

    async def _delivered(self, ticket_id: str, txn_type: str, text: str) -> str | None:
        """The id of a transaction at the end of the conversation that already says ``text``.

        Walks back over the newest message transactions while they are by the configured user.
        """
        history = await self.client.history(ticket_id)
        inspected = 0
        for raw in reversed(history):
            kind = raw.get("Type") if isinstance(raw, dict) else None
            if kind not in mapping.MESSAGE_TYPES:
                continue
            inspected += 1
            if mapping.uid_id(raw.get("Creator")) != self.username or inspected > READ_BACK_DEPTH:
                return None
            txn_id = mapping.record_id(raw)
            if kind == txn_type and txn_id is not None:
                body, _files = await self._content(txn_id)
                if body.strip() == text.strip():
                    return txn_id
        return None

    async def _post_once(self, ticket_id: str, route: str, txn_type: str, text: str) -> str | None:
        """Post ``text`` unless already there; after an ambiguous failure, read back first."""
        if (done := await self._delivered(ticket_id, txn_type, text)) is not None:
            return done
        attempt = 0
        while True:
            try:
                await self.client.post_message(ticket_id, route, text)
                return await self._delivered(ticket_id, txn_type, text)
            except (UnreachableError, RemoteError) as exc:
                status = getattr(exc, "status_code", None)
                ambiguous = status is None or status >= 500 or status == 429
                if not ambiguous:
                    if status == 404:
                        raise RemoteError(
                            f"ticket {ticket_id} no longer exists in RT",
                            exc.context,
                            status_code=404,
                        ) from exc
                    raise
                if (done := await self._delivered(ticket_id, txn_type, text)) is not None:
                    return done  # it did arrive; only the answer was lost
                if attempt >= self.http.retries:
                    raise
                retry_after = getattr(exc, "retry_after", None)
                delay = (
                    retry_after
                    if retry_after is not None
                    else random.uniform(  # noqa: S311
                        0, min(self.http.backoff_max, self.http.backoff_base * 2**attempt)
                    )
                )
                attempt += 1
                await asyncio.sleep(delay)

    async def _set_status(self, ticket_id: str, native: str) -> str:
        etag, record = await self.client.ticket(ticket_id)
        if record.get("Status") == native:
            return (etag or "").strip('"')
        try:
            answer = await self.client.update_ticket(ticket_id, {"Status": native}, if_match=etag)
        except RemoteError as exc:
            if exc.status_code != 412:
                raise
            etag, record = await self.client.ticket(ticket_id)
            if record.get("Status") == native:  # our earlier attempt landed; its answer was lost
                return (etag or "").strip('"')
            raise RemoteError(
                f"412 — ticket {ticket_id} was changed in RT by someone else meanwhile; "
                "review it before setting the status again",
                exc.context,
                code="conflict",
                status_code=412,
            ) from exc
        etag, record = await self.client.ticket(ticket_id)
        if record.get("Status") != native:
            said = "; ".join(str(m) for m in answer) if isinstance(answer, list) else ""
            raise RemoteError(
                f"RT refused the status {native!r} for ticket {ticket_id}: {said}".rstrip(": "),
                self._ctx("actions", ticket_id),
                status_code=422,
            )
        return (etag or "").strip('"')

    async def perform(self, action: ActionRequest) -> ActionOutcome:
        """Correspond, comment or set the status; never posts the same text twice."""
        ticket_id = self._ticket_id(action.external_id)
        ctx = self._ctx("actions", ticket_id)
        if action.kind in (ActionKind.REPLY, ActionKind.NOTE):
            if not (action.body or "").strip():
                raise AdapterError(
                    f"a {action.kind.value} needs a text", ctx, code="invalid_action"
                )
            route, txn_type = (
                ("correspond", "Correspond")
                if action.kind is ActionKind.REPLY
                else ("comment", "Comment")
            )
            remote_id = await self._post_once(ticket_id, route, txn_type, action.body or "")
        elif action.kind is ActionKind.SET_STATUS and action.status is not None:
            remote_id = await self._set_status(ticket_id, mapping.STATUS_NATIVE[action.status])
        else:
            raise AdapterError("a status change needs a status", ctx, code="invalid_action")
        return await self._outcome(action, ticket_id, remote_id)

    async def _outcome(
        self, action: ActionRequest, ticket_id: str, remote_id: str | None
    ) -> ActionOutcome:
        return await outcome_after(
            self.fetch_ticket,
            ticket_id,
            remote_id,
            f"{action.kind.value} delivered to RT ticket {ticket_id}",
        )

    async def find_delivered(self, action: ActionRequest) -> ActionOutcome | None:
        """Read back: the outcome of ``action`` when an earlier attempt already reached RT."""
        ticket_id = self._ticket_id(action.external_id)
        if action.kind in (ActionKind.REPLY, ActionKind.NOTE) and action.body:
            txn_type = "Correspond" if action.kind is ActionKind.REPLY else "Comment"
            found = await self._delivered(ticket_id, txn_type, action.body)
            return None if found is None else await self._outcome(action, ticket_id, found)
        if action.kind is ActionKind.SET_STATUS and action.status is not None:
            etag, record = await self.client.ticket(ticket_id)
            if record.get("Status") == mapping.STATUS_NATIVE[action.status]:
                return await self._outcome(action, ticket_id, (etag or "").strip('"'))
        return None

    async def fetch_attachment(self, attachment: Attachment) -> bytes:
        """The bytes of a file attachment (``GET /attachment/{id}``, base64 ``Content``); only
        from this RT's own address, so the token never goes elsewhere."""
        url = attachment.url or ""
        ctx = ErrorContext(system=self.system_id, stream="attachments", url=url)
        attachment_id = url.rstrip("/").rsplit("/", 1)[-1]
        if not url.startswith(self.base_url + "/") or not attachment_id.isdigit():
            raise RemoteError(f"attachment {attachment.filename!r} is not on this RT", ctx)
        raw = await self.client.attachment(attachment_id)
        try:
            return base64.b64decode(str(raw.get("Content") or ""), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DecodeError(f"attachment {attachment.filename!r} is not base64", ctx) from exc

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()
