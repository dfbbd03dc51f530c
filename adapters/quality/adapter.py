"""The quality-inspection adapter: inspections as tickets, review notes, status changes.

Pull walks the service's keyset pagination ordered by ``(updated_at, id)``. The cursor is
``{"updated_after": <the service's own timestamp string>, "after_id": <int>}`` as JSON: the
position after the last inspection returned. ``None`` starts a full sync from the beginning;
``has_more`` is true while the service announces a ``next`` page. Listing pages carry every
inspection in full (notes included), so a pull needs no per-ticket requests.

REPLY and NOTE both become review notes: REPLY is shared with the reviewed agent (visibility
``agent``), NOTE stays ``internal``. Neither reaches the customer, so both come back as NOTEs.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import Any

from adapters._http import network_reason
from adapters.base import (
    ActionKind,
    ActionOutcome,
    ActionRequest,
    Adapter,
    AdapterContext,
    CheckResult,
    PullResult,
)
from adapters.quality import mapping
from adapters.quality.client import QualityClient
from adapters.quality.manifest import (
    DEFAULT_PAGE_SIZE,
    DEFAULT_TOKEN_LIFETIME_S,
    MANIFEST,
    MAX_PAGE_SIZE,
    MAX_TOKEN_LIFETIME_S,
    MIN_TOKEN_LIFETIME_S,
)
from app.domain import (
    AdapterError,
    AuthError,
    ConfigError,
    DecodeError,
    ErrorContext,
    Message,
    RecordError,
    TablessError,
    Ticket,
    UnreachableError,
)


def _setting_int(settings: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = settings.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f"{key} must be a whole number from {low} to {high}, not {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(
            f"{key} must be a whole number from {low} to {high}, not {value!r}"
        ) from None
    if not low <= number <= high:
        raise ConfigError(f"{key} must be from {low} to {high}, not {number}")
    return number


def _setting_text(settings: Mapping[str, Any], key: str) -> str:
    value = settings.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"the quality-inspection connection needs the setting {key!r}")
    return value.strip()


def encode_cursor(position: tuple[str, int] | None) -> str | None:
    """The opaque cursor string for a keyset position."""
    if position is None:
        return None
    return json.dumps({"updated_after": position[0], "after_id": position[1]}, sort_keys=True)


def decode_cursor(cursor: str | None, system: str) -> tuple[str, int] | None:
    """The keyset position of a cursor made by :func:`encode_cursor`; DecodeError otherwise."""
    if cursor is None:
        return None
    try:
        raw = json.loads(cursor)
        stamp, ident = raw["updated_after"], raw["after_id"]
    except (ValueError, TypeError, KeyError):
        stamp, ident = None, None
    if not isinstance(stamp, str) or isinstance(ident, bool) or not isinstance(ident, int):
        ctx = ErrorContext(system=system, stream=mapping.STREAM, field="cursor")
        raise DecodeError(f"unreadable quality-inspection cursor {cursor!r}", ctx)
    return stamp, ident


class QualityAdapter(Adapter):
    """Quality inspection (in-house JSON REST behind a client-signed JWT)."""

    manifest = MANIFEST

    @classmethod
    def decode_saved(cls, payloads: list[bytes], context: AdapterContext) -> list[Ticket]:
        """Inspections in saved API answers (a list page or one inspection); no network."""
        pass_score = int(context.settings.get("pass_score") or mapping.PASS_SCORE)
        tickets: list[Ticket] = []
        for data in payloads:
            body = json.loads(data)
            items = body["items"] if isinstance(body.get("items"), list) else [body]
            mapped, _errors = mapping.map_page(
                items,
                system_id=context.system_id,
                naive_zone=context.naive_zone,
                pass_score=pass_score,
            )
            tickets.extend(mapped)
        return tickets

    def __init__(self, context: AdapterContext) -> None:
        super().__init__(context)
        settings = context.settings
        self.base_url = _setting_text(settings, "base_url")
        self.client_id = _setting_text(settings, "client_id")
        self.page_size = _setting_int(settings, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        self.pass_score = _setting_int(settings, "pass_score", mapping.PASS_SCORE, 0, 100)
        lifetime = _setting_int(
            settings,
            "token_lifetime_s",
            DEFAULT_TOKEN_LIFETIME_S,
            MIN_TOKEN_LIFETIME_S,
            MAX_TOKEN_LIFETIME_S,
        )
        self.client = QualityClient(
            self.base_url,
            client_id=self.client_id,
            key=lambda: context.secret("jwt_key"),
            system=context.system_id,
            token_lifetime_s=lifetime,
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()

    async def check(self) -> CheckResult:
        """``GET /api/v1/me`` with a fresh signature; a readable verdict, never an exception."""
        started = time.perf_counter()
        try:
            me = await self.client.me(retry=False)
        except UnreachableError as exc:
            reason = network_reason(exc)
            return CheckResult(False, f"cannot connect to {self.base_url}: {reason}")
        except AuthError as exc:
            return CheckResult(False, exc.message)
        except TablessError as exc:
            return CheckResult(False, exc.message)
        except Exception as exc:  # check() reports, never raises
            return CheckResult(False, f"unexpected failure: {type(exc).__name__}: {exc}")
        latency = (time.perf_counter() - started) * 1000
        who = me.get("client_name") or me.get("client_id") or self.client_id
        version = me.get("api_version")
        suffix = f" (API {version})" if version else ""
        return CheckResult(True, f"connected as {who}{suffix}", latency_ms=latency)

    async def pull(self, cursor: str | None) -> PullResult:
        """One keyset page after ``cursor``; malformed inspections are quarantined."""
        position = decode_cursor(cursor, self.system_id)
        page = await self.client.list_inspections(
            updated_after=position[0] if position else None,
            after_id=position[1] if position else None,
            limit=self.page_size,
        )
        tickets, quarantined = await asyncio.to_thread(
            mapping.map_page,
            page.items,
            system_id=self.system_id,
            naive_zone=self.context.naive_zone,
            pass_score=self.pass_score,
        )
        # A "next" that does not move (or an empty page announcing one) would loop forever.
        has_more = page.next is not None and bool(page.items) and page.next != position
        if page.next is not None:
            position = page.next
        else:
            # The last page: resume after its last item with a readable position. Trailing
            # items without one (quarantined) are read again next time rather than guessed at.
            for raw in reversed(page.items):
                if (found := mapping.position_of(raw)) is not None:
                    position = found
                    break
        return PullResult(
            tickets=tickets,
            cursor=encode_cursor(position),
            has_more=has_more,
            quarantined=quarantined,
        )

    async def perform(self, action: ActionRequest) -> ActionOutcome:
        """REPLY/NOTE -> a review note ("agent"/"internal"); SET_STATUS -> the native status."""
        if not action.external_id.isdigit():
            return ActionOutcome(ok=False, message=f"{action.external_id!r} is not an inspection")
        if action.kind is ActionKind.SET_STATUS:
            return await self._set_status(action)
        if not (action.body or "").strip():
            return ActionOutcome(ok=False, message="a review note needs some text")
        visibility = (
            mapping.VISIBILITY_AGENT
            if action.kind is ActionKind.REPLY
            else mapping.VISIBILITY_INTERNAL
        )
        raw = await self.client.add_note(
            action.external_id,
            action.body or "",
            visibility=visibility,
            idempotency_key=action.idempotency_key,
        )
        remote_id = mapping.record_id_of(raw)
        created: tuple[Message, ...] = ()
        try:
            context = ErrorContext(
                system=self.system_id, stream=mapping.STREAM, record_id=action.external_id
            )
            created = (mapping.note_to_message(raw, context, naive_zone=self.context.naive_zone),)
        except RecordError:
            pass  # delivered all the same; the next pull brings the note
        return ActionOutcome(
            ok=True,
            message=f"note {remote_id} added ({visibility})",
            remote_id=remote_id,
            ticket=await self._fresh(action.external_id),
            created_messages=created,
        )

    async def _set_status(self, action: ActionRequest) -> ActionOutcome:
        if action.status is None:
            return ActionOutcome(ok=False, message="no status given")
        native = mapping.NATIVE_FOR.get(action.status)
        if native is None:
            return ActionOutcome(
                ok=False,
                message=f"quality inspection has no {action.status.value!r} status "
                "(use pending: awaiting the agent)",
            )
        raw = await self.client.set_status(action.external_id, native)
        return ActionOutcome(
            ok=True, message=f"status set to {native}", ticket=self._map_or_none(raw)
        )

    async def _fresh(self, inspection_id: str) -> Ticket | None:
        """The remote state after a write, when it can be had; the write stands regardless."""
        try:
            raw = await self.client.get_inspection(inspection_id)
        except AdapterError:
            return None
        return self._map_or_none(raw)

    def _map_or_none(self, raw: Any) -> Ticket | None:
        try:
            return mapping.inspection_to_ticket(
                raw,
                system_id=self.system_id,
                naive_zone=self.context.naive_zone,
                pass_score=self.pass_score,
            )
        except RecordError:
            return None
