"""The portal's wire protocol: URLs, Basic auth, page parameters, XML in and out.

Reads come back as GBK XML (see ``sandbox/osticket.py`` for the documented shapes); this module
turns them into plain :class:`RawTicket` records of strings, leaving every interpretation (times,
statuses, priorities) to ``mapping``. Writes are built with the hardened XML helpers and sent in
GBK, the encoding the portal expects; characters GBK lacks travel as character references.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

import httpx

from adapters._auth import basic_auth
from adapters._formats import xml
from adapters._http import HttpSettings, build_client, request
from app.domain import DecodeError, ErrorContext

STREAM = "tickets"
LIST_PATH = "/api/tickets.xml"
REQUEST_ENCODING = "GBK"
REQUEST_CONTENT_TYPE = f"text/xml; charset={REQUEST_ENCODING}"
ACTIONS = ("reply", "note", "status")
_new = tuple.__new__


class RawEntry(NamedTuple):
    """One ``<entry>`` of a ticket's thread, as written by the portal."""

    id: str
    type: str
    poster: str
    created: str
    body: str


class RawTicket(NamedTuple):
    """One ``<ticket>`` as strings; :attr:`fingerprint` is a digest of everything read from it.

    Immutable records of plain strings, built by the thousand per page: named tuples, which
    cost a fraction of a frozen dataclass to build.
    """

    id: str
    number: str
    subject: str
    status: str
    priority: str
    dept: str
    user_name: str
    user_email: str
    user_phone: str
    staff_name: str
    staff_email: str
    created: str
    updated: str
    entries: tuple[RawEntry, ...]

    @property
    def fingerprint(self) -> str:
        """A short stable digest of every field and thread entry, computed when asked for.

        The sync cursor needs it only for the tickets near its mark, so most are never hashed.
        Fields are joined with U+001F, a character XML documents cannot contain.
        """
        parts = list(self[:-1])  # every text field, in declaration order
        for entry in self.entries:
            parts.extend(entry)
        return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).hexdigest()


@dataclass(frozen=True, slots=True)
class RawPage:
    """One ``<tickets>`` page."""

    page: int
    pages: int
    total: int
    tickets: tuple[RawTicket, ...]


@dataclass(frozen=True, slots=True)
class Payload:
    """A response body with its HTTP charset; ``entry_id`` from ``X-Entry-Id`` on writes."""

    body: bytes
    charset: str | None
    entry_id: str | None = None


# The parts of a ``<ticket>`` that are read, by tag, to their index among RawTicket's texts:
# direct children (text, stripped) and the children of ``<user>`` and ``<staff>``. Like
# ElementPath's ``findtext``, the first element of a path in document order wins, even when it
# is empty; everything else is ignored.
_TEXTS = RawTicket._fields[2:-1]  # subject … updated
_TICKET_TEXTS = {tag: _TEXTS.index(tag) for tag in ("subject", "status", "priority", "dept")}
_TICKET_TEXTS |= {tag: _TEXTS.index(tag) for tag in ("created", "updated")}
_PERSON_TEXTS = {
    person: {part: _TEXTS.index(f"{person}_{part}") for part in parts}
    for person, parts in (("user", ("name", "email", "phone")), ("staff", ("name", "email")))
}


def read_entry(node: xml.Element) -> RawEntry:
    """An ``<entry>`` element as a :class:`RawEntry`, its children read in one pass."""
    return _read_entries((node,))[0]


def _read_entries(nodes: Iterable[xml.Element]) -> list[RawEntry]:
    """The ``<entry>`` elements of ``nodes`` as :class:`RawEntry` records (others skipped).

    Of ``poster``, ``created`` and ``body`` the first of each counts; the body is the message
    as written (not stripped).
    """
    entries = []
    for node in nodes:
        if node.tag != "entry":
            continue
        poster = created = body = None
        for child in node:
            tag = child.tag
            if tag == "body":
                if body is None:
                    body = child.text or ""
            elif tag == "poster":
                if poster is None:
                    poster = (child.text or "").strip()
            elif tag == "created" and created is None:
                created = (child.text or "").strip()
        # tuple.__new__ directly: a named tuple's own ``__new__`` is a Python function.
        entries.append(
            _new(
                RawEntry,
                (
                    (node.get("id") or "").strip(),
                    (node.get("type") or "").strip(),
                    poster or "",
                    created or "",
                    body or "",
                ),
            )
        )
    return entries


def read_ticket(node: xml.Element) -> RawTicket:
    """A ``<ticket>`` element as a :class:`RawTicket` (missing parts become empty strings).

    One pass over the element's children with a tag → field table, instead of one ElementPath
    search per field (the reading cost of a 50 MB sync is dominated by this function).
    """
    texts: list[str | None] = [None] * len(_TEXTS)
    entries: list[RawEntry] = []
    for child in node:
        tag = child.tag
        at = _TICKET_TEXTS.get(tag)
        if at is not None:
            if texts[at] is None:
                texts[at] = (child.text or "").strip()
        elif tag == "thread":
            entries += _read_entries(child)
        else:
            person = _PERSON_TEXTS.get(tag)
            if person is not None:
                for part in child:
                    at = person.get(part.tag)
                    if at is not None and texts[at] is None:
                        texts[at] = (part.text or "").strip()
    return _new(
        RawTicket,
        (
            (node.get("id") or "").strip(),
            (node.get("number") or "").strip(),
            *[text or "" for text in texts],
            tuple(entries),
        ),
    )


def _root(payload: Payload, expected: str, context: ErrorContext) -> xml.Element:
    root = xml.parse_xml(payload.body, declared_charset=payload.charset, context=context, ids=False)
    if xml.tag(root) != expected:
        raise DecodeError(f"expected <{expected}> from the portal, got <{xml.tag(root)}>", context)
    return root


def decode_page(payload: Payload, context: ErrorContext) -> RawPage:
    """Parse a list page (blocking: call it through ``asyncio.to_thread``)."""
    root = _root(payload, "tickets", context)
    return RawPage(
        page=xml.int_attr(root, "page", 1, context=context),
        pages=xml.int_attr(root, "pages", 1, context=context),
        total=xml.int_attr(root, "total", 0, context=context),
        tickets=tuple(read_ticket(node) for node in xml.children(root, "ticket")),
    )


def decode_ticket(payload: Payload, context: ErrorContext) -> RawTicket:
    """Parse a single ``<ticket>`` answer (blocking)."""
    return read_ticket(_root(payload, "ticket", context))


def encode_entry(kind: str, message: str, poster: str | None) -> bytes:
    """``<reply>`` or ``<note>`` with ``<message>`` and optional ``<poster>``, GBK-encoded."""
    root = xml.element(kind)
    xml.subelement(root, "message", message)
    if poster:
        xml.subelement(root, "poster", poster)
    return xml.serialize(root, encoding=REQUEST_ENCODING)


def encode_status(native_status: str) -> bytes:
    """``<status>resolved</status>``, GBK-encoded."""
    return xml.serialize(xml.element("status", native_status), encoding=REQUEST_ENCODING)


class PortalClient:
    """One httpx client with Basic auth for one portal; every call goes through ``_http``."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: Callable[[], str],
        *,
        system_id: str,
        settings: HttpSettings | None = None,
    ) -> None:
        self.base_url = base_url
        self.system_id = system_id
        self._settings = settings or HttpSettings()
        self._http = build_client(
            base_url,
            settings=self._settings,
            auth=basic_auth(username, password),
            headers={"Accept": "text/xml"},
        )

    def context(self, stream: str = STREAM, record_id: str | None = None) -> ErrorContext:
        """Error context naming this system."""
        return ErrorContext(system=self.system_id, stream=stream, record_id=record_id)

    async def list_page(
        self, *, since: str | None, page: int, limit: int, retry: bool | None = None
    ) -> Payload:
        """``GET /api/tickets.xml`` for one page; ``since`` is naive local portal time."""
        params: dict[str, str | int] = {"page": page, "limit": limit}
        if since is not None:
            params["since"] = since
        response = await request(
            self._http,
            "GET",
            LIST_PATH,
            context=self.context(),
            settings=self._settings,
            retry=retry,
            params=params,
        )
        return _payload(response)

    async def post_action(
        self, ticket_id: str, action: str, body: bytes, *, idempotency_key: str
    ) -> Payload:
        """``POST /api/tickets/{id}/{action}.xml``; retried safely thanks to the key."""
        if action not in ACTIONS:
            raise ValueError(f"unknown portal action {action!r}")
        response = await request(
            self._http,
            "POST",
            f"/api/tickets/{ticket_id}/{action}.xml",
            context=self.context("actions", ticket_id),
            settings=self._settings,
            retry=True,
            content=body,
            headers={"Content-Type": REQUEST_CONTENT_TYPE, "X-Idempotency-Key": idempotency_key},
        )
        return _payload(response)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()


def _payload(response: httpx.Response) -> Payload:
    return Payload(
        body=response.content,
        charset=response.charset_encoding,
        entry_id=response.headers.get("X-Entry-Id"),
    )
