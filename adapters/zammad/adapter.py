"""The Zammad adapter: glues the wire client to the pure mapping.

Pull — ``GET /api/v1/tickets/search?query=updated_at:[<since> TO *]&sort_by=updated_at&
order_by=asc&expand=true`` (``/api/v1/tickets`` lists by id only, so it cannot resume from a
change). Each page re-anchors the search at the newest ``updated_at`` it returned (keyset
pagination), so a ticket changed while a sync runs moves past the anchor and is read again
instead of shifting others out of view; ``page`` only advances when a whole page shares one
timestamp. Tickets read back at the anchor unchanged — same id, same ``updated_at``, already
older than the server clock when first read — are dropped. The cursor is JSON:
``{"since", "page", "skip"}``. Each ticket's articles and tags are fetched with bounded
concurrency; customers, owners and authors come from ``GET /api/v1/users/{id}``.

Known limits: Zammad's search reads its Elasticsearch index, which trails the database by
seconds; a ticket deleted outright (``DELETE``) leaves no trace to sync — Zammad's ``removed``
state is what comes back as a deletion.

Perform — articles have no idempotency keys: the article carries the action's key as its
``message_id``; before posting, the ticket's articles are searched for it, and after a lost
answer (5xx, timeout) they are read back before any new attempt, so one action is one article.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
from adapters.zammad import mapping
from adapters.zammad.client import ZammadClient
from adapters.zammad.manifest import DEFAULT_PAGE_SIZE, MANIFEST, MAX_PAGE_SIZE
from app.domain import (
    AdapterError,
    AuthError,
    DecodeError,
    ErrorContext,
    RemoteError,
    SecretError,
    Status,
    Ticket,
    UnreachableError,
)
from app.timeutil import parse_timestamp, utcnow

EPOCH = "1970-01-01T00:00:00.000Z"
Key = tuple[str, str]  # ticket id, updated_at as Zammad wrote it


@dataclass
class Cursor:
    """Where a pull stands; serialised as JSON into the opaque cursor string."""

    since: str = EPOCH
    page: int = 1
    skip: set[Key] = field(default_factory=set)

    def dumps(self) -> str:
        """The cursor string."""
        return json.dumps(
            {"since": self.since, "page": self.page, "skip": sorted(list(k) for k in self.skip)},
            sort_keys=True,
        )

    @classmethod
    def loads(cls, text: str | None, system: str) -> Cursor:
        """The cursor a previous pull returned (None: a full sync from the beginning)."""
        if text is None:
            return cls()
        try:
            raw = json.loads(text)
            since, page = str(raw["since"]), raw["page"]
            parse_timestamp(since)
            skip = {(str(i), str(u)) for i, u in raw.get("skip", [])}
        except (ValueError, TypeError, KeyError) as exc:
            raise DecodeError(
                "the saved sync cursor is unreadable",
                ErrorContext(system=system, stream=mapping.STREAM_TICKETS, field="cursor"),
            ) from exc
        if isinstance(page, bool) or not isinstance(page, int) or page < 1:
            raise DecodeError(
                "the saved sync cursor is unreadable",
                ErrorContext(system=system, stream=mapping.STREAM_TICKETS, field="cursor"),
            )
        return cls(since, page, skip)


def _key(raw: object) -> Key | None:
    ticket_id = mapping.record_id(raw)
    stamp = raw.get("updated_at") if isinstance(raw, Mapping) else None
    if ticket_id is None or not isinstance(stamp, str):
        return None
    try:
        parse_timestamp(stamp)
    except ValueError:
        return None
    return ticket_id, stamp


@dataclass
class _Saved:
    """What saved Zammad answers hold, sorted by kind (``decode_saved``)."""

    tickets: list[tuple[int, Any]] = field(default_factory=list)
    articles: dict[str, list[Any]] = field(default_factory=dict)
    users: dict[int, Mapping[str, Any]] = field(default_factory=dict)
    tags: list[tuple[int, list[Any]]] = field(default_factory=list)

    def read(self, part: int, body: object, system: str) -> None:
        """Sort one saved body; a DecodeError naming ``part`` when it is none of the kinds."""
        if isinstance(body, Mapping):
            if "error" in body or "error_human" in body:
                said = body.get("error_human") or error_text(body) or "an error"
                raise saved_error(part, f"this is a Zammad error answer: {said}", system)
            if isinstance(body.get("tags"), list):
                self.tags.append((part, body["tags"]))
                return
            if "assets" in body:
                raise saved_error(
                    part,
                    "tickets without expand=true hold no state names: save the answer "
                    "of the same request with expand=true",
                    system,
                )
        for raw in body if isinstance(body, list) else [body]:
            if isinstance(raw, Mapping) and "title" in raw and "customer_id" in raw:
                if not isinstance(raw.get("state"), str):
                    raise saved_error(
                        part,
                        f"ticket {raw.get('id')!r} is not expanded (no state name): save "
                        "it with expand=true",
                        system,
                    )
                self.tickets.append((part, raw))
            elif isinstance(raw, Mapping) and "ticket_id" in raw and "internal" in raw:
                owner = mapping.record_id({"id": raw.get("ticket_id")}) or ""
                self.articles.setdefault(owner, []).append(raw)
            elif isinstance(raw, Mapping) and ("login" in raw or "firstname" in raw):
                if (user_id := raw.get("id")) is not None and isinstance(user_id, int):
                    self.users[user_id] = raw
            else:
                raise saved_error(
                    part, "not a Zammad ticket, ticket list, article list, user or tag list", system
                )

    def tags_by_ticket(self, system: str) -> dict[str, list[Any]]:
        """The saved tags by ticket id: they name no ticket, so they need exactly one."""
        ids = {mapping.record_id(raw) for _part, raw in self.tickets}
        if not self.tags:
            return {}
        if len(ids) != 1:
            raise saved_error(
                self.tags[0][0],
                f"tags name no ticket; decode them with exactly one ticket (found {len(ids)})",
                system,
            )
        return {str(next(iter(ids))): [t for _part, found in self.tags for t in found]}


class ZammadAdapter(Adapter):
    """Zammad over its REST API (``Authorization: Token token=…``).

    Settings: ``base_url``, optional ``page_size`` (default 100, at most 200); secret:
    ``api_token``. ``http`` overrides the HTTP settings (timeouts, retries, TLS, proxy).
    """

    manifest = MANIFEST

    @classmethod
    def decode_saved(cls, payloads: list[bytes], context: AdapterContext) -> list[Ticket]:
        """Tickets in saved REST answers; no network.

        Recognised by shape: expanded tickets (a search page or one ticket, ``expand=true``),
        articles (joined by their ``ticket_id``), users (customers, owners, authors) and tags
        (no ticket id in them: only with exactly one ticket). An error answer, an unexpanded
        ticket or anything else is a ``DecodeError`` naming the body.
        """
        system = context.system_id
        saved = _Saved()
        for part, data in enumerate(payloads):
            saved.read(part, saved_json(data, part, system), system)
        tags = saved.tags_by_ticket(system)
        return map_saved(
            saved.tickets,
            lambda raw, offset: mapping.map_ticket(
                raw,
                saved.articles.get(mapping.record_id(raw) or "", ()),
                tags.get(mapping.record_id(raw) or "", ()),
                saved.users,
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
        self._client = ZammadClient(
            self.base_url, lambda: context.secret("api_token"), system=context.system_id, http=http
        )
        self._users: dict[int, Mapping[str, Any]] = {}  # a lookup cache, not sync state

    # ------------------------------------------------------------------------------ check

    async def check(self) -> CheckResult:
        """``GET /api/v1/users/me``; a readable verdict, never an exception."""
        started = time.perf_counter()
        try:
            me = await self._client.get("/api/v1/users/me", self._client.ctx("users"))
        except AuthError as exc:
            reason = "the access token was rejected" if "401" in exc.message else "access denied"
            return CheckResult(False, f"{exc.message[:3]} — {reason}")
        except UnreachableError as exc:
            return CheckResult(False, f"cannot connect to {self.base_url}: {network_reason(exc)}")
        except SecretError as exc:
            return CheckResult(False, f"the access token is not available: {exc.message}")
        except AdapterError as exc:
            return CheckResult(False, exc.message)
        except Exception as exc:  # never raise from check()
            return CheckResult(False, f"unexpected error: {type(exc).__name__}: {exc}")
        latency = (time.perf_counter() - started) * 1000
        who = mapping.person(me) if isinstance(me, dict) else None
        label = (who.name or who.email) if who else None
        return CheckResult(
            True, f"connected to {self.base_url} as {label or 'the API user'}", latency
        )

    # ------------------------------------------------------------------------------- pull

    async def _details(self, ticket_id: str) -> tuple[str, list[Any] | None, list[Any]]:
        try:
            articles: list[Any] | None = await self._client.articles(ticket_id)
        except RemoteError as exc:
            if exc.status_code != 404:
                raise
            return ticket_id, None, []  # deleted outright since the search
        return ticket_id, articles, await self._client.tags(ticket_id)

    async def _user(self, user_id: int) -> None:
        try:
            user = await self._client.get(f"/api/v1/users/{user_id}", self._client.ctx("users"))
        except RemoteError as exc:
            if exc.status_code == 404:
                return
            raise
        if isinstance(user, dict):
            self._users[user_id] = user

    async def _load_users(self, wanted: set[int]) -> None:
        await bounded(self._user, sorted(wanted - set(self._users)))

    async def pull(self, cursor: str | None) -> PullResult:
        """One search page, each ticket with all its articles and tags."""
        state = Cursor.loads(cursor, self.system_id)
        page = await self._client.search(
            since=state.since, page=state.page, per_page=self.page_size
        )
        keys = [_key(raw) for raw in page.rows]
        fresh = [raw for raw, key in zip(page.rows, keys, strict=True) if key not in state.skip]
        ids = [i for raw in fresh if (i := mapping.record_id(raw)) is not None]
        details = await bounded(self._details, ids)
        articles = {ticket_id: found for ticket_id, found, _ in details}
        tags = {ticket_id: found for ticket_id, _, found in details}
        await self._load_users(
            mapping.user_ids(fresh, (rows for rows in articles.values() if rows))
        )
        tickets, quarantined = await asyncio.to_thread(
            mapping.map_page,
            fresh,
            articles,
            tags,
            self._users,
            system_id=self.system_id,
            naive_zone=self.context.naive_zone,
        )
        full = len(page.rows) >= self.page_size
        return PullResult(
            tickets=tickets,
            cursor=self._advance(state, keys, full, page.server_time).dumps(),
            has_more=full,
            quarantined=quarantined,
        )

    @staticmethod
    def _advance(
        state: Cursor, keys: list[Key | None], full: bool, read_at: datetime | None
    ) -> Cursor:
        """The cursor after a page: re-anchored at its newest change, or the next page."""
        readable = [k for k in keys if k is not None]
        if not readable:
            return Cursor(state.since, state.page + 1, state.skip) if full else state
        newest = max(readable, key=lambda k: parse_timestamp(k[1]))[1]
        settled = {
            k
            for k in readable
            if k[1] == newest and (read_at is None or parse_timestamp(k[1]) < read_at)
        }
        if parse_timestamp(newest) == parse_timestamp(state.since):
            if full:  # a whole page at one instant: move on within it
                return Cursor(state.since, state.page + 1, state.skip | settled)
            return Cursor(state.since, 1, state.skip | settled)
        return Cursor(newest, 1, settled)

    # ---------------------------------------------------------------------------- perform

    def _ticket_id(self, external_id: str) -> int:
        return int(ticket_number(external_id, self.system_id, "a Zammad ticket id"))

    async def fetch_ticket(self, external_id: str) -> Ticket:
        """One ticket's current remote state with its articles and tags."""
        ticket_id = str(self._ticket_id(external_id))
        raw = await self._client.get(
            f"/api/v1/tickets/{ticket_id}", self._client.ctx("tickets", ticket_id), expand="true"
        )
        _, articles, tags = await self._details(ticket_id)
        await self._load_users(mapping.user_ids([raw], [articles or []]))
        return mapping.map_ticket(
            raw,
            articles or [],
            tags,
            self._users,
            system_id=self.system_id,
            naive_zone=self.context.naive_zone,
            gone=articles is None,
        )

    async def _deliver_article(self, action: ActionRequest, ticket_id: int) -> Mapping[str, Any]:
        """Post an article once, however often it has to be attempted."""
        body = mapping.article_body(action, ticket_id)
        before = await self._client.articles(str(ticket_id))
        found = mapping.find_delivery(before, action.idempotency_key)
        if found is not None:  # delivered by an earlier attempt of this action
            return found
        known = frozenset(i for raw in before if (i := mapping.record_id(raw)) is not None)
        ctx = self._client.ctx("articles", str(ticket_id))

        async def read_back() -> Mapping[str, Any] | None:
            after = await self._client.articles(str(ticket_id))
            return mapping.find_delivery(
                after,
                action.idempotency_key,
                text=action.body,
                internal=body["internal"],
                known_ids=known,
            )

        return await post_once(
            lambda: self._client.write("POST", "/api/v1/ticket_articles", body, ctx),
            read_back,
            ctx,
            what="article",
            backoff_base=self.http.backoff_base,
        )

    async def _set_state(self, ticket_id: int, status: Status) -> None:
        change = mapping.state_change(status, utcnow())
        ctx = self._client.ctx("tickets", str(ticket_id))
        await put_value(
            lambda: self._client.write("PUT", f"/api/v1/tickets/{ticket_id}", change, ctx),
            backoff_base=self.http.backoff_base,
        )

    async def perform(self, action: ActionRequest) -> ActionOutcome:
        """Reply (public article), note (internal article) or state change; never twice."""
        ticket_id = self._ticket_id(action.external_id)
        remote_id: str | None = None
        try:
            if action.kind in (ActionKind.REPLY, ActionKind.NOTE):
                remote_id = mapping.record_id(await self._deliver_article(action, ticket_id))
            elif action.status is None:
                raise AdapterError(
                    "a status change needs a status",
                    ErrorContext(system=self.system_id, record_id=str(ticket_id)),
                    code="invalid_action",
                )
            if action.status is not None:
                await self._set_state(ticket_id, action.status)
        except RemoteError as exc:
            if exc.status_code == 404:
                raise RemoteError(
                    f"ticket {ticket_id} no longer exists in Zammad", exc.context, status_code=404
                ) from exc
            raise
        return await outcome_after(
            self.fetch_ticket,
            str(ticket_id),
            remote_id,
            f"{action.kind.value} delivered to Zammad ticket {ticket_id}",
            remote_id=remote_id or str(ticket_id),
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()
