"""Shared delivery machinery: bounded fan-out, write-once with read-back, and the outcome.

Systems without idempotency keys (Freshdesk, Zammad) need the same dance for every reply or
note: look for an earlier delivery, post once, and after a lost answer (5xx, timeout) read back
before trying again. :func:`post_once` is that dance; :func:`put_value` retries a ``PUT`` of a
value (repeating it is harmless); :func:`outcome_after` reads the ticket back after delivery.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

from adapters.base import ActionOutcome
from app.domain import (
    AdapterError,
    DecodeError,
    ErrorContext,
    RateLimitedError,
    RemoteError,
    Ticket,
    UnreachableError,
)

MAX_CONCURRENCY = 8  # requests of one pull in flight at once
WRITE_ATTEMPTS = 3
T = TypeVar("T")
R = TypeVar("R")


def ticket_number(external_id: str, system_id: str, what: str, stream: str = "tickets") -> str:
    """``external_id`` when it is all digits; else an ``invalid_action`` AdapterError saying it
    is not ``what`` (``"a Freshdesk ticket id"``)."""
    if not external_id.isdigit():
        raise AdapterError(
            f"{external_id!r} is not {what}",
            ErrorContext(system=system_id, stream=stream, record_id=external_id),
            code="invalid_action",
        )
    return external_id


async def bounded(
    func: Callable[[T], Awaitable[R]], args: Iterable[T], limit: int = MAX_CONCURRENCY
) -> list[R]:
    """``func`` over ``args`` with at most ``limit`` in flight, results in order; the first
    failure cancels the rest and is raised as itself (not as an ExceptionGroup)."""
    gate = asyncio.Semaphore(limit)

    async def one(arg: T) -> R:
        async with gate:
            return await func(arg)

    return await gather_all(one(arg) for arg in args)


async def gather_all(awaitables: Iterable[Awaitable[T]]) -> list[T]:
    """Await every one, results in order; the first failure cancels the rest and is raised as
    itself. The caller bounds concurrency (e.g. a semaphore in the client, or :func:`bounded`)."""

    async def wrap(awaitable: Awaitable[T]) -> T:
        return await awaitable

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(wrap(a)) for a in awaitables]
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [task.result() for task in tasks]


async def post_once(
    post: Callable[[], Awaitable[object]],
    read_back: Callable[[], Awaitable[Mapping[str, Any] | None]],
    ctx: ErrorContext,
    *,
    what: str,
    backoff_base: float,
    attempts: int = WRITE_ATTEMPTS,
) -> Mapping[str, Any]:
    """Create ``what`` (a reply, an article) once, however often it has to be attempted.

    ``post`` sends it once; ``read_back`` finds it in the system after a lost answer. A 429 was
    refused, not processed: wait and send again. A 5xx or a timeout may hide a delivery: read
    back before any new attempt. Other 4xx are raised at once.
    """
    for attempt in range(attempts):
        try:
            created = await post()
        except RateLimitedError as exc:
            if attempt + 1 == attempts:
                raise
            await asyncio.sleep(exc.retry_after or backoff_base)
            continue
        except (RemoteError, UnreachableError) as exc:
            if isinstance(exc, RemoteError) and (exc.status_code or 0) < 500:
                raise
            found = await read_back()  # the answer was lost, not necessarily the write
            if found is not None:
                return found
            if attempt + 1 == attempts:
                raise
            await asyncio.sleep(backoff_base * 2**attempt)
            continue
        if isinstance(created, Mapping):
            return created
        raise DecodeError(f"the created {what} is not a JSON object", ctx)
    raise AssertionError("unreachable")  # pragma: no cover


async def put_value(
    put: Callable[[], Awaitable[object]], *, backoff_base: float, attempts: int = WRITE_ATTEMPTS
) -> None:
    """Send a ``PUT`` of a value, again after a 429, 5xx or timeout (repeating it is harmless)."""
    for attempt in range(attempts):
        try:
            await put()
            return
        except (RemoteError, UnreachableError) as exc:
            code = exc.status_code if isinstance(exc, RemoteError) else 503
            if (code or 0) < 429 or attempt + 1 == attempts:
                raise
            wait = exc.retry_after if isinstance(exc, RateLimitedError) else None
            await asyncio.sleep(wait or backoff_base * 2**attempt)


async def outcome_after(
    fetch: Callable[[str], Awaitable[Ticket]],
    ticket_id: str,
    created_id: str | None,
    message: str,
    *,
    remote_id: str | None = None,
) -> ActionOutcome:
    """The outcome of a delivered action, with the ticket read back when that works.

    ``created_id`` names the message the action created (None for a status change);
    ``remote_id`` is what the outcome reports (default ``created_id``).

    The action is delivered: a failed refresh must not make the outbox deliver it again, so an
    ``AdapterError`` while reading back leaves ``ticket`` unknown instead of failing.
    """
    try:
        ticket: Ticket | None = await fetch(ticket_id)
    except AdapterError:
        ticket = None
    created = tuple(m for m in (ticket.messages if ticket else ()) if m.external_id == created_id)
    return ActionOutcome(
        ok=True,
        message=message,
        remote_id=remote_id or created_id,
        ticket=ticket,
        created_messages=created,
    )
