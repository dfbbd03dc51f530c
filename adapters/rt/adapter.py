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
import json
import random
import socket
import ssl
import time
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx

from adapters._http import HttpSettings
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
    ConfigError,
    DecodeError,
    ErrorContext,
    RecordError,
    RemoteError,
    SecretError,
    Ticket,
    UnreachableError,
)
from app.timeutil import parse_timestamp, to_iso_z, zone

LOOKBACK = timedelta(seconds=60)
CURSOR_VERSION = 1
READ_BACK_DEPTH = 20  # newest message transactions inspected before posting again
EVERYTHING = "(Status = '__Active__' OR Status = '__Inactive__')"
T = TypeVar("T")


def network_reason(exc: BaseException) -> str:
    """Words for the lowest-level cause of a network failure."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "host not found"
        if isinstance(cause, ssl.SSLError):
            return f"TLS failed ({cause.reason or cause})"
        if isinstance(cause, httpx.TimeoutException | TimeoutError):
            return "timed out"
        cause = cause.__cause__ or cause.__context__
    return str(exc)


async def gather_all(tasks: Iterable[Awaitable[T]]) -> list[T]:
    """Await every task; the first failure cancels the rest and is raised as itself."""
    try:
        async with asyncio.TaskGroup() as group:
            started = [group.create_task(_wrap(task)) for task in tasks]
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [task.result() for task in started]


async def _wrap(task: Awaitable[T]) -> T:
    return await task


@dataclass(slots=True)
class SyncCursor:
    """The pull position: the newest ``LastUpdated`` delivered and what was seen near it."""

    mark: datetime | None = None
    seen: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, text: str | None, context: ErrorContext) -> SyncCursor:
        """The cursor in ``text``; ``None`` starts a full sync."""
        if text is None:
            return cls()
        try:
            data = json.loads(text)
            if data.get("v") != CURSOR_VERSION:
                raise ValueError(f"cursor version {data.get('v')!r}")
            mark = data.get("mark")
            return cls(
                mark=parse_timestamp(mark) if mark else None,
                seen={str(k): str(v) for k, v in data.get("seen", {}).items()},
            )
        except (ValueError, TypeError, AttributeError) as exc:
            raise DecodeError(f"the saved RT sync cursor is unreadable: {exc}", context) from exc

    def dump(self) -> str:
        """Compact JSON."""
        return json.dumps(
            {
                "v": CURSOR_VERSION,
                "mark": to_iso_z(self.mark) if self.mark else None,
                "seen": dict(sorted(self.seen.items())),
            },
            separators=(",", ":"),
        )

    def record(self, ticket_id: str, last_updated: str, naive_zone: str) -> None:
        """Remember a delivered version and move the mark forward."""
        self.seen[ticket_id] = last_updated
        try:
            moment = mapping.rt_time(last_updated, naive_zone=naive_zone)
        except ValueError:
            return
        if moment is not None and (self.mark is None or moment > self.mark):
            self.mark = moment

    def prune(self, naive_zone: str) -> None:
        """Forget versions older than the lookback window."""
        if self.mark is None:
            return
        horizon = self.mark - LOOKBACK
        for key, value in list(self.seen.items()):
            try:
                moment = mapping.rt_time(value, naive_zone=naive_zone)
            except ValueError:
                continue
            if moment is None or moment < horizon:
                del self.seen[key]


@dataclass(frozen=True, slots=True)
class _Fetched:
    """A ticket's record, history, users and queue, ready for the pure mapping."""

    record: dict[str, Any]
    history: tuple[mapping.RawTxn, ...]
    users: dict[str, Any]
    queue: str | None


class RtAdapter(Adapter):
    """Request Tracker 5 (or 4.4 with RT::Extension::REST2) over REST2 with an auth token.

    Settings: ``base_url``, ``username`` (the RT user the token belongs to), optional
    ``page_size`` (default 50, at most 100); secret: ``token``.
    """

    manifest = MANIFEST

    def __init__(self, context: AdapterContext, *, http: HttpSettings | None = None) -> None:
        super().__init__(context)
        settings = context.settings
        self.base_url = str(settings.get("base_url") or "").strip().rstrip("/")
        self.username = str(settings.get("username") or "").strip()
        where = ErrorContext(system=context.system_id)
        if not self.base_url.startswith(("https://", "http://")):
            raise ConfigError(f"base_url must start with https:// (got {self.base_url!r})", where)
        if not self.username:
            raise ConfigError("the setting 'username' (the token's RT user) is missing", where)
        page_size = settings.get("page_size", DEFAULT_PAGE_SIZE)
        if (
            isinstance(page_size, bool)
            or not isinstance(page_size, int)
            or not (1 <= page_size <= MAX_PAGE_SIZE)
        ):
            raise ConfigError(
                f"page_size must be a number from 1 to {MAX_PAGE_SIZE}, not {page_size!r}",
                ErrorContext(system=context.system_id, field="page_size"),
            )
        self.page_size = page_size
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
        parts = await self.client.transaction_attachments(txn_id)
        text_part: Any = None
        files: list[Attachment] = []
        for part in parts:
            if not isinstance(part, dict):
                continue
            content_type = mapping.text_value(part.get("ContentType")) or ""
            filename = mapping.text_value(part.get("Filename"))
            if filename:
                url = mapping.text_value(part.get("_url"))
                files.append(Attachment(filename, content_type or None, url=url))
            elif text_part is None and content_type in ("text/plain", "text/html"):
                text_part = part
        body = ""
        part_id = mapping.record_id(text_part) if text_part is not None else None
        if part_id is not None:
            raw = await self.client.attachment(part_id)
            body = mapping.attachment_text(
                raw, ErrorContext(system=self.system_id, stream="attachments", record_id=part_id)
            )
        return body, tuple(files)

    async def _txn(self, raw: object) -> mapping.RawTxn | None:
        if not isinstance(raw, dict):
            return None
        txn_id = mapping.record_id(raw)
        kind = raw.get("Type")
        if txn_id is None or not isinstance(kind, str) or not mapping.is_shown(kind):
            return None
        body, files = "", tuple[Attachment, ...]()
        if kind in mapping.MESSAGE_TYPES:
            body, files = await self._content(txn_id)
        return mapping.RawTxn(
            id=txn_id,
            type=kind,
            created=raw.get("Created"),
            creator=mapping.uid_id(raw.get("Creator")),
            field=mapping.text_value(raw.get("Field")),
            old_value=mapping.text_value(raw.get("OldValue")),
            new_value=mapping.text_value(raw.get("NewValue")),
            body=body,
            attachments=files,
        )

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
        state = SyncCursor.load(cursor, self._ctx("cursor"))
        query = self._query(state.mark - LOOKBACK if state.mark else None)
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
            state.record(str(mapping.record_id(raw)), str(raw.get("LastUpdated")), self.naive_zone)
        state.prune(self.naive_zone)
        return PullResult(
            tickets=tickets,
            cursor=state.dump(),
            has_more=bool(fresh) and more,
            quarantined=quarantined,
        )

    # ---------------------------------------------------------------------------- perform

    def _ticket_id(self, external_id: str) -> str:
        if not external_id.isdigit():
            raise AdapterError(
                f"{external_id!r} is not an RT ticket id",
                self._ctx("actions", external_id),
                code="invalid_action",
            )
        return external_id

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
        try:  # delivered; a failed refresh must not make the outbox deliver again
            ticket: Ticket | None = await self.fetch_ticket(ticket_id)
        except AdapterError:
            ticket = None
        created = tuple(
            m for m in (ticket.messages if ticket else ()) if m.external_id == remote_id
        )
        return ActionOutcome(
            ok=True,
            message=f"{action.kind.value} delivered to RT ticket {ticket_id}",
            remote_id=remote_id,
            ticket=ticket,
            created_messages=created,
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

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()
