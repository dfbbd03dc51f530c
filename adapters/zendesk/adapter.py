"""The Zendesk Support adapter: glues the wire client to the pure mapping.

Pull walks the cursor-based incremental ticket export (users and groups sideloaded) and
fetches each ticket's comments with bounded concurrency. The cursor is
``{"after_cursor": "<Zendesk cursor>"}``; the first pull starts at ``start_time=0``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import httpx

from adapters._http import HttpSettings
from adapters.base import (
    ActionOutcome,
    ActionRequest,
    Adapter,
    AdapterContext,
    CheckResult,
    PullResult,
)
from adapters.zendesk import mapping
from adapters.zendesk.client import ZendeskClient, items
from adapters.zendesk.manifest import DEFAULT_PAGE_SIZE, MANIFEST, MAX_PAGE_SIZE
from app.domain import (
    AdapterError,
    AuthError,
    ConfigError,
    DecodeError,
    ErrorContext,
    RemoteError,
    SecretError,
    Ticket,
    UnreachableError,
)

MAX_CONCURRENCY = 8  # per-ticket comment requests in flight
T = TypeVar("T")
R = TypeVar("R")


def _setting(context: AdapterContext, key: str) -> str:
    value = context.settings.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"the setting {key!r} is missing", ErrorContext(system=context.system_id))
    return value.strip()


def _page_size(context: AdapterContext) -> int:
    value = context.settings.get("page_size", DEFAULT_PAGE_SIZE)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE_SIZE:
        raise ConfigError(
            f"page_size must be a number from 1 to {MAX_PAGE_SIZE}, not {value!r}",
            ErrorContext(system=context.system_id),
        )
    return value


def unreachable_reason(error: BaseException) -> str:
    """Why a connection failed, in words: ``connection refused``, ``host not found``…"""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, httpx.TimeoutException | TimeoutError):
            return "timed out"
        if isinstance(seen, socket.gaierror):
            return "host not found"
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, ssl.SSLCertVerificationError):
            return "the TLS certificate is not trusted"
        if isinstance(seen, ssl.SSLError):
            return f"TLS failed ({seen.reason or seen})"
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror[:1].lower() + seen.strerror[1:]
        if "refused" in str(seen).lower():
            return "connection refused"
        seen = seen.__cause__ or seen.__context__
    return str(error)


async def _bounded(
    func: Callable[[T], Awaitable[R]], args: Iterable[T], limit: int = MAX_CONCURRENCY
) -> list[R]:
    """``func`` over ``args`` with at most ``limit`` in flight; the first failure cancels the rest
    and is raised as itself (not as an ExceptionGroup)."""
    gate = asyncio.Semaphore(limit)

    async def one(arg: T) -> R:
        async with gate:
            return await func(arg)

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(arg)) for arg in args]
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [task.result() for task in tasks]


class ZendeskAdapter(Adapter):
    """Zendesk Support over its REST API v2 (OAuth2 client credentials).

    Settings: ``base_url``, ``client_id``, optional ``page_size`` (default 100); secret:
    ``client_secret``. ``http`` overrides the HTTP settings (timeouts, retries, TLS, proxy).
    """

    manifest = MANIFEST

    @classmethod
    def decode_saved(cls, payloads: list[bytes], context: AdapterContext) -> list[Ticket]:
        """Tickets in saved API answers (export pages, a ticket, its comments); no network.

        Comments carry no ticket id, so they are attached only when the files hold one ticket.
        """
        bodies = [json.loads(data) for data in payloads]
        raw = [t for b in bodies for t in b.get("tickets", [])]
        raw += [b["ticket"] for b in bodies if isinstance(b.get("ticket"), dict)]
        comments = [c for b in bodies for c in b.get("comments", [])]
        users = mapping.index_by_id([u for b in bodies for u in b.get("users", [])])
        groups = mapping.index_by_id([g for b in bodies for g in b.get("groups", [])])
        by_ticket = {mapping.record_id(raw[0]) or "": comments} if len(raw) == 1 else {}
        tickets, _errors = mapping.map_page(
            raw,
            by_ticket,
            users,
            groups,
            system_id=context.system_id,
            naive_zone=context.naive_zone,
        )
        return tickets

    def __init__(self, context: AdapterContext, *, http: HttpSettings | None = None) -> None:
        super().__init__(context)
        self.base_url = _setting(context, "base_url").rstrip("/")
        if not self.base_url.startswith(("https://", "http://")):
            raise ConfigError(
                f"base_url must start with https:// (got {self.base_url!r})",
                ErrorContext(system=context.system_id),
            )
        self.page_size = _page_size(context)
        self._client = ZendeskClient(
            self.base_url,
            _setting(context, "client_id"),
            lambda: context.secret("client_secret"),
            system=context.system_id,
            http=http,
        )

    # ------------------------------------------------------------------------------ check

    async def check(self) -> CheckResult:
        """Fetch a token and ``users/me``; says in words what is wrong. Never raises."""
        started = time.perf_counter()
        try:
            me = await self._client.me()
        except AuthError as exc:
            return CheckResult(False, exc.message)
        except UnreachableError as exc:
            return CheckResult(
                False, f"cannot connect to {self.base_url}: {unreachable_reason(exc)}"
            )
        except SecretError as exc:
            return CheckResult(False, f"the client secret is not available: {exc.message}")
        except AdapterError as exc:
            return CheckResult(False, exc.message)
        except Exception as exc:  # never raise from check()
            return CheckResult(False, f"unexpected error: {type(exc).__name__}: {exc}")
        latency = (time.perf_counter() - started) * 1000
        found = me.get("user")
        user: dict[str, Any] = found if isinstance(found, dict) else {}
        who = user.get("name") or user.get("email") or "the API user"
        role = f" ({user['role']})" if isinstance(user.get("role"), str) else ""
        return CheckResult(True, f"connected to {self.base_url} as {who}{role}", latency)

    # ------------------------------------------------------------------------------- pull

    def _after_cursor(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        try:
            value = json.loads(cursor)["after_cursor"]
        except (ValueError, TypeError, KeyError):
            value = None
        if not isinstance(value, str) or not value:
            raise DecodeError(
                "the saved sync cursor is unreadable",
                ErrorContext(system=self.system_id, stream=mapping.STREAM_TICKETS, field="cursor"),
            )
        return value

    async def _comments(self, ticket_id: str) -> tuple[str, tuple[list[Any], list[Any]] | None]:
        try:
            return ticket_id, await self._client.comments(ticket_id)
        except RemoteError as exc:
            if exc.status_code == 404:  # deleted since the export page was cut
                return ticket_id, None
            raise

    async def pull(self, cursor: str | None) -> PullResult:
        """One export page, every ticket with all its comments; bad tickets are quarantined."""
        after = self._after_cursor(cursor)
        page = await self._client.export_page(cursor=after, start_time=0, per_page=self.page_size)
        end = page.get("end_of_stream")
        page_after = page.get("after_cursor")
        readable_after = isinstance(page_after, str) and bool(page_after)
        if not isinstance(end, bool) or (not end and not readable_after):
            raise DecodeError(
                "the export page has no end_of_stream or after_cursor",
                ErrorContext(system=self.system_id, stream=mapping.STREAM_TICKETS),
            )
        next_after = page_after if readable_after else after
        raw_tickets = items(page, "tickets")
        live = [
            ticket_id
            for raw in raw_tickets
            if (ticket_id := mapping.record_id(raw)) is not None
            and raw.get("status") != mapping.DELETED
        ]
        fetched = dict(await _bounded(self._comments, live))
        gone = {ticket_id for ticket_id, found in fetched.items() if found is None}
        # A ticket deleted meanwhile comes back, deleted, on a later page: its change is newer.
        kept = [raw for raw in raw_tickets if mapping.record_id(raw) not in gone]
        users = items(page, "users")
        comments: dict[str, list[Any]] = {}
        for ticket_id, found in fetched.items():
            if found is not None:
                comments[ticket_id] = found[0]
                users.extend(found[1])
        tickets, quarantined = await asyncio.to_thread(
            mapping.map_page,
            kept,
            comments,
            mapping.index_by_id(users),
            mapping.index_by_id(items(page, "groups")),
            system_id=self.system_id,
            naive_zone=self.context.naive_zone,
        )
        return PullResult(
            tickets=tickets,
            cursor=json.dumps({"after_cursor": next_after}) if next_after else cursor,
            has_more=not end,
            quarantined=quarantined,
        )

    # ---------------------------------------------------------------------------- perform

    def _ticket_id(self, external_id: str) -> str:
        if not external_id.isdigit():
            raise AdapterError(
                f"{external_id!r} is not a Zendesk ticket id",
                ErrorContext(
                    system=self.system_id, stream=mapping.STREAM_TICKETS, record_id=external_id
                ),
                code="invalid_action",
            )
        return external_id

    async def fetch_ticket(self, external_id: str) -> Ticket:
        """One ticket's current remote state with all its comments."""
        ticket_id = self._ticket_id(external_id)
        shown = await self._client.show_ticket(ticket_id)
        comments, authors = await self._client.comments(ticket_id)
        return mapping.map_ticket(
            shown.get("ticket"),
            comments,
            mapping.index_by_id([*items(shown, "users"), *authors]),
            mapping.index_by_id(items(shown, "groups")),
            system_id=self.system_id,
            naive_zone=self.context.naive_zone,
        )

    async def perform(self, action: ActionRequest) -> ActionOutcome:
        """Reply, note or status change through ``PUT`` with the action's Idempotency-Key."""
        ticket_id = self._ticket_id(action.external_id)
        change = mapping.update_body(action)
        try:
            answer = await self._client.update_ticket(
                ticket_id, change, idempotency_key=action.idempotency_key
            )
        except RemoteError as exc:
            if exc.status_code == 404:
                raise RemoteError(
                    f"ticket {ticket_id} no longer exists in Zendesk",
                    exc.context,
                    status_code=404,
                ) from exc
            if exc.status_code == 422:
                raise RemoteError(
                    f"422 — Zendesk refused the change to ticket {ticket_id}",
                    exc.context,
                    status_code=422,
                ) from exc
            raise
        comment_id = mapping.created_comment_id(answer)
        try:  # the change is delivered; a failed refresh must not make the outbox retry it
            ticket: Ticket | None = await self.fetch_ticket(ticket_id)
        except AdapterError:
            ticket = None
        created = tuple(
            m for m in (ticket.messages if ticket else ()) if m.external_id == comment_id
        )
        return ActionOutcome(
            ok=True,
            message=f"{action.kind.value} delivered to Zendesk ticket {ticket_id}",
            remote_id=comment_id or mapping.audit_id(answer),
            ticket=ticket,
            created_messages=created,
        )

    async def aclose(self) -> None:
        """Close the HTTP clients."""
        await self._client.aclose()
