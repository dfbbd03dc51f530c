"""The Zendesk Support adapter: glues the wire client to the pure mapping.

Pull walks the cursor-based incremental ticket export (users and groups sideloaded) and
fetches each ticket's comments with bounded concurrency. The cursor is
``{"after_cursor": "<Zendesk cursor>"}``; the first pull starts at ``start_time=0``.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from adapters._delivery import bounded, ticket_number
from adapters._drift import DriftNotes
from adapters._http import (
    HttpSettings,
    base_url_setting,
    network_reason,
    page_size_setting,
    text_setting,
)
from adapters.base import (
    ActionOutcome,
    ActionRequest,
    Adapter,
    AdapterContext,
    CheckResult,
    OutgoingFile,
    PullResult,
)
from adapters.zendesk import mapping
from adapters.zendesk.client import ZendeskClient, items, load_json
from adapters.zendesk.manifest import DEFAULT_PAGE_SIZE, MANIFEST, MAX_PAGE_SIZE
from app.domain import (
    AdapterError,
    Attachment,
    AuthError,
    DecodeError,
    ErrorContext,
    RemoteError,
    SecretError,
    Ticket,
    UnreachableError,
)
from app.oauth_login import OAuthEndpoints

# The ticket fields Zendesk documents (Tickets API, "JSON format"); any other is schema drift.
TICKET_FIELDS = frozenset(
    [
        "allow_attachments",
        "allow_channelback",
        "assignee_email",
        "assignee_id",
        "attribute_value_ids",
        "brand_id",
        "collaborator_ids",
        "collaborators",
        "comment",
        "created_at",
        "custom_fields",
        "custom_status_id",
        "description",
        "due_at",
        "email_cc_ids",
        "email_ccs",
        "external_id",
        "follower_ids",
        "followers",
        "followup_ids",
        "forum_topic_id",
        "from_messaging_channel",
        "generated_timestamp",
        "group_id",
        "has_incidents",
        "id",
        "is_public",
        "macro_id",
        "macro_ids",
        "metadata",
        "organization_id",
        "priority",
        "problem_id",
        "raw_subject",
        "recipient",
        "requester",
        "requester_id",
        "safe_update",
        "satisfaction_rating",
        "sharing_agreement_ids",
        "status",
        "subject",
        "submitter_id",
        "tags",
        "ticket_form_id",
        "type",
        "updated_at",
        "updated_stamp",
        "url",
        "via",
        "via_followup_source_id",
        "via_id",
        "voice_comment",
        "fields",
    ]
)


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
        bodies = [load_json(data) for data in payloads]
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
        self.base_url = base_url_setting(context)
        self.page_size = page_size_setting(context, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        self._client = ZendeskClient(
            self.base_url,
            text_setting(context, "client_id"),
            lambda: context.secret("client_secret"),
            system=context.system_id,
            http=http,
            auth_kind=context.settings.get("auth", "client_credentials"),
            secret=context.secret,
            store_secret=context.store_secret,
        )
        self._uploads: dict[tuple[str, str], str] = {}  # (action, staged file) -> upload token

    def oauth_endpoints(self) -> OAuthEndpoints | None:
        """Where a person signs in when ``auth = "authorization_code"`` (else None)."""
        return self._client.oauth_endpoints

    # ------------------------------------------------------------------------------ check

    async def check(self) -> CheckResult:
        """Fetch a token and ``users/me``; says in words what is wrong. Never raises."""
        started = time.perf_counter()
        try:
            me = await self._client.me()
        except AuthError as exc:
            return CheckResult(False, exc.message)
        except UnreachableError as exc:
            return CheckResult(False, f"cannot connect to {self.base_url}: {network_reason(exc)}")
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
        fetched = dict(await bounded(self._comments, live))
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
        notes = DriftNotes()
        for raw in raw_tickets:
            if isinstance(raw, dict):
                notes.unknown_fields(
                    mapping.STREAM_TICKETS, raw, TICKET_FIELDS, mapping.record_id(raw)
                )
        return PullResult(
            tickets=tickets,
            cursor=json.dumps({"after_cursor": next_after}) if next_after else cursor,
            has_more=not end,
            quarantined=quarantined,
            drift=notes.take(),
        )

    # ---------------------------------------------------------------------------- perform

    def _ticket_id(self, external_id: str) -> str:
        return ticket_number(external_id, self.system_id, "a Zendesk ticket id")

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
        uploads = [await self._upload(action.idempotency_key, file) for file in action.attachments]
        change = mapping.update_body(action, uploads)
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
                why = mapping.validation_errors(exc.details.get("body"))
                raise RemoteError(
                    f"422 — Zendesk refused the change to ticket {ticket_id}"
                    + (f": {why}" if why else ""),
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

    async def _upload(self, action_key: str, file: OutgoingFile) -> str:
        """Upload one staged file once per action and process: a retried PUT must carry the
        same tokens, or Zendesk refuses the replayed Idempotency-Key (tokens last 60 min)."""
        key = (action_key, file.path)
        if key not in self._uploads:
            data = await asyncio.to_thread(Path(file.path).read_bytes)
            self._uploads[key] = await self._client.upload(data, file.filename, file.content_type)
        return self._uploads[key]

    async def fetch_attachment(self, attachment: Attachment) -> bytes:
        """The bytes of a comment attachment, only from this Zendesk's own address."""
        url = attachment.url or ""
        ctx = ErrorContext(system=self.system_id, stream="attachments", url=url)
        if not url.startswith(self.base_url + "/"):
            raise RemoteError(
                f"attachment {attachment.filename!r} is not on this Zendesk; not fetched", ctx
            )
        return await self._client.download(url, ctx)

    async def aclose(self) -> None:
        """Close the HTTP clients."""
        await self._client.aclose()
