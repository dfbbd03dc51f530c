"""One customer across every system: requesters matched by e-mail, phone and external id, plus
the agents' manual links and unlinks (migration 0005).

A requester is known by *identity keys*: ``email:<lower-case address>``, ``phone:<last 11
digits>`` (``+86 138-0013-8000`` and ``13800138000`` are the same phone) and
``ext:<system>:<external id>``. :func:`profile` starts from one ticket's requester and follows
matching keys across tickets (a phone found with the e-mail finds the tickets filed under that
phone in a third system), adds keys an agent linked and drops keys an agent unlinked from it. The
lookups use expression indexes on the normalised e-mail and phone, so a profile costs a few
indexed queries at a million tickets. Run it off the GUI thread.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Integer,
    String,
    Table,
    Text,
    and_,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects.sqlite import insert

from app.cache.schema import metadata, tickets
from app.cache.types import UtcTimestamp

PHONE_DIGITS = 11  # compare the last 11 digits: national numbers without the country code
MIN_PHONE_DIGITS = 7
MAX_ROUNDS = 3  # how far matching follows keys found on other tickets
MAX_TICKETS = 500
_PHONE_JUNK = (" ", "-", "+", "(", ")", ".", "/")
Origin = Literal["ticket", "matched", "linked"]

customer_links = Table(
    "customer_links",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("a", String, nullable=False),  # the smaller identity key of the pair
    Column("b", String, nullable=False),
    Column("linked", Boolean, nullable=False),  # False: an agent said "not the same person"
    Column("agent", Text, nullable=False),
    Column("at", UtcTimestamp, nullable=False),
)


def email_key(address: str | None) -> str | None:
    """``email:<address>`` (trimmed, lower-case), or None when it is not an address."""
    if not address or "@" not in address:
        return None
    return "email:" + address.strip().lower()


def phone_key(number: str | None) -> str | None:
    """``phone:<last 11 digits>``, or None with fewer than 7 digits."""
    if not number:
        return None
    digits = re.sub(r"\D", "", number)
    if len(digits) < MIN_PHONE_DIGITS:
        return None
    return "phone:" + digits[-PHONE_DIGITS:]


def external_key(system_id: str, external_id: str | None) -> str | None:
    """``ext:<system>:<id>`` of a requester known by the system's own id."""
    return f"ext:{system_id}:{external_id}" if external_id else None


def keys_of(row: Any) -> set[str]:
    """The identity keys of a ticket row's requester."""
    found = {
        email_key(row.requester_email),
        phone_key(row.requester_phone),
        external_key(row.system_id, row.requester_external_id),
    }
    return {key for key in found if key is not None}


def _phone_expression() -> ColumnElement[Any]:
    """The SQL twin of :func:`phone_key` (matches the expression index of migration 0005)."""
    expression: ColumnElement[Any] = tickets.c.requester_phone
    for junk in _PHONE_JUNK:
        expression = func.replace(expression, junk, "")
    return func.substr(expression, -PHONE_DIGITS)


def _email_expression() -> ColumnElement[Any]:
    return func.lower(func.trim(tickets.c.requester_email))


_COLUMNS = (
    tickets.c.id,
    tickets.c.system_id,
    tickets.c.external_id,
    tickets.c.subject,
    tickets.c.status,
    tickets.c.updated_at,
    tickets.c.requester_name,
    tickets.c.requester_email,
    tickets.c.requester_phone,
    tickets.c.requester_external_id,
    tickets.c.extra,
    tickets.c.tags,
)


def _matching(conn: Connection, keys: set[str]) -> list[Any]:
    emails = [k[6:] for k in keys if k.startswith("email:")]
    phones = [k[6:] for k in keys if k.startswith("phone:")]
    externals = [tuple(k[4:].split(":", 1)) for k in keys if k.startswith("ext:")]
    clauses: list[ColumnElement[bool]] = []
    if emails:
        clauses.append(_email_expression().in_(emails))
    if phones:
        clauses.append(_phone_expression().in_(phones))
    if externals:
        clauses.append(tuple_(tickets.c.system_id, tickets.c.requester_external_id).in_(externals))
    if not clauses:
        return []
    query = (
        select(*_COLUMNS)
        .where(tickets.c.deleted.is_(False), or_(*clauses))
        .order_by(tickets.c.updated_at.desc(), tickets.c.id.desc())
        .limit(MAX_TICKETS)
    )
    return list(conn.execute(query))


def _decisions(conn: Connection, keys: Iterable[str]) -> dict[tuple[str, str], bool]:
    """The latest link (True) / unlink (False) decision of every pair touching ``keys``."""
    wanted = list(keys)
    rows = conn.execute(
        select(customer_links.c.a, customer_links.c.b, customer_links.c.linked).where(
            or_(customer_links.c.a.in_(wanted), customer_links.c.b.in_(wanted))
        )
    )
    return {(row.a, row.b): bool(row.linked) for row in rows}


def _pair(one: str, other: str) -> tuple[str, str]:
    return (one, other) if one < other else (other, one)


@dataclass(frozen=True, slots=True)
class CustomerTicket:
    """One of the customer's tickets, in any system."""

    id: int
    system_id: str
    external_id: str
    subject: str
    status: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Inspection:
    """A quality-inspection result about this customer (a ticket of a QA system)."""

    ticket_id: int
    system_id: str
    score: str | None
    passed: bool | None
    ticket_ref: str | None
    status: str
    updated_at: datetime


@dataclass(slots=True)
class Profile:
    """What the customer panel shows."""

    name: str | None
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    keys: dict[str, Origin] = field(default_factory=dict)  # identity key -> how it was found
    unlinked: list[str] = field(default_factory=list)
    tickets: list[CustomerTicket] = field(default_factory=list)
    inspections: list[Inspection] = field(default_factory=list)

    @property
    def systems(self) -> list[str]:
        """The systems the customer has tickets in, most tickets first."""
        counts = Counter(t.system_id for t in self.tickets)
        return [system for system, _n in counts.most_common()]


def _inspection(row: Any) -> Inspection | None:
    extra = row.extra or {}
    if "qa_score" not in extra:
        return None
    tags = set(row.tags or ())
    passed = True if "qa:pass" in tags else False if "qa:fail" in tags else None
    return Inspection(
        row.id,
        row.system_id,
        extra.get("qa_score"),
        passed,
        extra.get("ticket_ref"),
        row.status,
        row.updated_at,
    )


def _phones(rows: Iterable[Any], keys: dict[str, Origin]) -> list[str]:
    """One written form per phone (the first row's), for the phones that are the customer's."""
    chosen: dict[str, str] = {}
    for row in rows:
        key = phone_key(row.requester_phone)
        if key is not None and key in keys:
            chosen.setdefault(key, row.requester_phone)
    return list(chosen.values())


def profile(conn: Connection, ticket_id: int) -> Profile | None:
    """The customer of ``ticket_id`` across every system (None: no such ticket)."""
    start = conn.execute(select(*_COLUMNS).where(tickets.c.id == ticket_id)).first()
    if start is None:
        return None
    seeds = keys_of(start)
    keys: dict[str, Origin] = dict.fromkeys(seeds, "ticket")
    refused: set[str] = set()
    rows: dict[int, Any] = {start.id: start}
    frontier = set(seeds)
    for _round in range(MAX_ROUNDS):
        decisions = _decisions(conn, frontier | seeds)
        for (a, b), linked in decisions.items():
            if not linked and (a in seeds or b in seeds):
                refused.add(b if a in seeds else a)
        for (a, b), linked in decisions.items():
            if linked and (a in keys or b in keys):
                other = b if a in keys else a
                if other not in keys and other not in refused:
                    keys[other] = "linked"
                    frontier.add(other)
        found = _matching(conn, {k for k in frontier if k not in refused})
        frontier = set()
        for row in found:
            row_keys = keys_of(row)
            if row_keys & refused and not row_keys & seeds:
                continue  # filed under an identity an agent unlinked from this customer
            rows.setdefault(row.id, row)
            for key in row_keys - refused:
                if key not in keys:
                    keys[key] = "matched"
                    frontier.add(key)
        if not frontier:
            break
    ordered = sorted(rows.values(), key=lambda r: (r.updated_at, r.id), reverse=True)
    names = Counter(r.requester_name for r in ordered if r.requester_name)
    result = Profile(
        name=names.most_common(1)[0][0] if names else None,
        emails=sorted({k[6:] for k in keys if k.startswith("email:")}),
        phones=_phones([start, *ordered], keys),
        keys=keys,
        unlinked=sorted(refused),
    )
    for row in ordered:
        inspection = _inspection(row)
        if inspection is not None:
            result.inspections.append(inspection)
        else:
            result.tickets.append(
                CustomerTicket(
                    row.id, row.system_id, row.external_id, row.subject, row.status, row.updated_at
                )
            )
    return result


def decide(
    conn: Connection, one: str, other: str, *, linked: bool, agent: str, at: datetime
) -> None:
    """Record that two identity keys are (``linked``) or are not the same customer.

    The latest decision about a pair wins; an unlink overrides automatic matching.
    """
    if one == other:
        raise ValueError("a customer identity cannot be linked to itself")
    a, b = _pair(one, other)
    existing = conn.execute(
        select(customer_links.c.id).where(and_(customer_links.c.a == a, customer_links.c.b == b))
    ).scalar()
    values = {"a": a, "b": b, "linked": linked, "agent": agent, "at": at}
    if existing is None:
        conn.execute(insert(customer_links).values(values))
    else:
        conn.execute(customer_links.update().where(customer_links.c.id == existing).values(values))


def identity_key(text: str) -> str | None:
    """The identity key an agent means when typing an e-mail address or a phone number."""
    return email_key(text) or phone_key(text)
