"""An adapter defined by a mapping file (TOML) instead of code.

The system entry names the file (``[systems.<id>.settings] mapping = "/etc/tabless/crm.toml"``);
it is read and fully validated when the adapter is built (a mistake is a ``ConfigError`` naming
the file, the line and the key). Each pull reads one page of the list endpoint, fetches the
messages of its tickets (bounded concurrency) when they have their own endpoint, and maps them
off the event loop. See :mod:`adapters.declarative.cursor` for the cursor.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from adapters._delivery import bounded
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
from adapters.declarative.auth import oauth_endpoints
from adapters.declarative.client import DeclarativeClient
from adapters.declarative.cursor import SyncCursor
from adapters.declarative.loader import load_spec
from adapters.declarative.manifest import MANIFEST, manifest_for
from adapters.declarative.mapping import STREAM_TICKETS, Mapper, write_timestamp
from adapters.declarative.spec import ActionEndpoint, Spec
from app.domain import (
    AdapterError,
    AuthError,
    ConfigError,
    ErrorContext,
    RemoteError,
    SecretError,
    Ticket,
    UnreachableError,
)
from app.oauth_login import OAuthEndpoints


def _reason(error: BaseException) -> str:
    """The innermost cause of a connection failure, in words."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, TimeoutError):
            return "timed out"
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror[:1].lower() + seen.strerror[1:]
        seen = seen.__cause__ or seen.__context__
    return str(error)


class DeclarativeAdapter(Adapter):
    """Any JSON, XML or CSV ticket API described by a mapping file.

    Settings: ``mapping`` (path of the TOML file), optional ``base_url`` (overrides the file's
    ``source.base_url``). Secrets: the names the file's ``[auth]`` gives (``auth.secret``).
    ``manifest`` of an instance declares reply, note and status only when the file has them.
    """

    manifest = MANIFEST

    def __init__(self, context: AdapterContext, *, http: HttpSettings | None = None) -> None:
        super().__init__(context)
        where = ErrorContext(system=context.system_id, field="mapping")
        path = context.settings.get("mapping")
        if not isinstance(path, str) or not path.strip():
            raise ConfigError("the setting 'mapping' (path of the mapping file) is missing", where)
        self.spec: Spec = load_spec(path.strip(), system=context.system_id)
        base_url = context.settings.get("base_url") or self.spec.source.base_url
        if not isinstance(base_url, str) or not base_url.startswith(("https://", "http://")):
            raise ConfigError(
                f"base_url must start with https:// or http:// (got {base_url!r}); set it in "
                "the mapping file's [source] or the system's settings",
                ErrorContext(system=context.system_id, field="base_url"),
            )
        self.base_url = base_url.rstrip("/")
        # Capabilities depend on the file, so each instance carries its own manifest.
        self.__dict__["manifest"] = manifest_for(self.spec)
        self.mapper = Mapper(self.spec, system_id=context.system_id, naive_zone=context.naive_zone)
        self._client = DeclarativeClient(
            self.spec,
            self.base_url,
            context.secret,
            system=context.system_id,
            http=http,
            store_secret=context.store_secret,
        )

    def oauth_endpoints(self) -> OAuthEndpoints | None:
        """Where to sign in when the file's ``[auth]`` is ``oauth2_code`` (else None)."""
        return oauth_endpoints(self.spec.auth, self.base_url)

    # ------------------------------------------------------------------------------ check

    async def check(self) -> CheckResult:
        """Read the first list page; says in words what is wrong. Never raises."""
        started = time.perf_counter()
        try:
            page = await self._client.list_page(None, None)
        except AuthError as exc:
            return CheckResult(False, exc.message)
        except UnreachableError as exc:
            return CheckResult(False, f"cannot connect to {self.base_url}: {_reason(exc)}")
        except SecretError as exc:
            return CheckResult(False, f"a secret is not available: {exc.message}")
        except AdapterError as exc:
            return CheckResult(False, exc.message)
        except Exception as exc:  # never raise from check()
            return CheckResult(False, f"unexpected error: {type(exc).__name__}: {exc}")
        latency = (time.perf_counter() - started) * 1000
        return CheckResult(
            True,
            f"connected to {self.base_url}: {len(page.records)} tickets on the first page",
            latency,
        )

    # ------------------------------------------------------------------------------- pull

    def _since(self, cursor: SyncCursor) -> str | None:
        incremental = self.spec.endpoints.list_.incremental
        if incremental is None or cursor.since is None:
            return None
        moment = cursor.since - timedelta(seconds=incremental.lookback_s)
        return write_timestamp(moment, incremental.format, incremental.zone)

    async def _messages(self, ticket_id: str) -> tuple[str, list[Any]]:
        try:
            return ticket_id, await self._client.messages(ticket_id)
        except RemoteError as exc:
            if exc.status_code == 404:  # deleted meanwhile: its next change says so
                return ticket_id, []
            raise

    def _bookmark(self, ticket: Ticket) -> Any:
        incremental = self.spec.endpoints.list_.incremental
        field = incremental.field if incremental is not None else "updated_at"
        return ticket.created_at if field == "created_at" else ticket.updated_at

    async def pull(self, cursor: str | None) -> PullResult:
        """One list page with every ticket's messages; unreadable tickets are quarantined."""
        ctx = ErrorContext(system=self.system_id, stream=STREAM_TICKETS, field="cursor")
        position = SyncCursor.load(cursor, ctx)
        if self.spec.endpoints.list_.incremental is None:
            position.since, position.seen = None, set()  # no bookmark: every pass is full
        first = not position.running
        page = await self._client.list_page(
            None if first else position.page, self._since(position), position.validators
        )
        if page.not_modified:  # 304: nothing changed since the last pass
            position.validators = page.validators
            return PullResult(tickets=[], cursor=position.dump(), has_more=False)
        messages: dict[str, list[Any]] | None = None
        endpoint = self.spec.endpoints.messages
        if endpoint is not None and endpoint.path is not None:
            ids = [i for i in map(self.mapper.record_id, page.records) if i is not None]
            messages = dict(await bounded(self._messages, ids))
        tickets, quarantined = await asyncio.to_thread(self.mapper.page, page.records, messages)
        fresh: list[Ticket] = []
        for ticket in tickets:
            value = self._bookmark(ticket)
            if position.already_seen(ticket.key.external_id, value):
                continue
            position.observe(ticket.key.external_id, value)
            fresh.append(ticket)
        if first and page.validators:
            position.validators = page.validators
        position.advance(page.next_state)
        return PullResult(
            tickets=fresh,
            cursor=position.dump(),
            has_more=position.running,
            quarantined=[*page.bad_rows, *quarantined],
            drift=self.mapper.drift.take(),
        )

    def listen(self, cursor: str | None) -> AsyncIterator[None] | None:
        """The file's ``[push]`` channel (SSE, long-poll or websocket); None without one."""
        if self.spec.push is None:
            return None
        return self._client.listen(self.spec.push)

    # ---------------------------------------------------------------------------- perform

    async def fetch_ticket(self, external_id: str) -> Ticket:
        """One ticket's current remote state (needs ``[endpoints.detail]``)."""
        record = await self._client.detail(external_id)
        endpoint = self.spec.endpoints.messages
        messages = None
        if endpoint is not None and endpoint.path is not None:
            messages = await self._client.messages(external_id)
        return await asyncio.to_thread(self.mapper.ticket, record, messages)

    def _action(self, action: ActionRequest) -> tuple[ActionEndpoint, dict[str, str], str]:
        endpoints = self.spec.endpoints
        ctx = ErrorContext(
            system=self.system_id, stream=STREAM_TICKETS, record_id=action.external_id
        )
        chosen: ActionEndpoint | None
        values: dict[str, str] = {"idempotency_key": action.idempotency_key}
        if action.kind is ActionKind.SET_STATUS:
            chosen, stream = endpoints.status, "status"
            if action.status is None:
                raise AdapterError("a status change needs a status", ctx, code="invalid_action")
            native = self.mapper.status_to_native.get(action.status)
            if native is None:
                raise AdapterError(
                    f"the mapping file has no native value for status {action.status.value!r}",
                    ctx,
                    code="invalid_action",
                )
            values["status"] = native
        else:
            chosen = endpoints.reply if action.kind is ActionKind.REPLY else endpoints.note
            stream = "replies" if action.kind is ActionKind.REPLY else "notes"
            if not action.body or not action.body.strip():
                raise AdapterError(
                    f"a {action.kind.value} needs a text", ctx, code="invalid_action"
                )
            values["body"] = action.body
        if chosen is None:
            raise AdapterError(
                f"the mapping file declares no endpoint for {action.kind.value}",
                ctx,
                code="invalid_action",
            )
        return chosen, values, stream

    async def perform(self, action: ActionRequest) -> ActionOutcome:
        """Reply, note or status change through the endpoint the mapping file declares."""
        endpoint, values, stream = self._action(action)
        remote_id = await self._client.write(
            endpoint,
            action.external_id,
            values,
            idempotency_key=action.idempotency_key,
            stream=stream,
        )
        ticket: Ticket | None = None
        if self.spec.endpoints.detail is not None:
            try:  # delivered; a failed refresh must not make the outbox send it again
                ticket = await self.fetch_ticket(action.external_id)
            except AdapterError:
                ticket = None
        created = tuple(
            m
            for m in (ticket.messages if ticket else ())
            if remote_id and m.external_id == remote_id
        )
        return ActionOutcome(
            ok=True,
            message=f"{action.kind.value} delivered to ticket {action.external_id}",
            remote_id=remote_id,
            ticket=ticket,
            created_messages=created,
        )

    async def aclose(self) -> None:
        """Close the HTTP client(s)."""
        await self._client.aclose()
