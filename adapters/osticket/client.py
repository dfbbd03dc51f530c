"""The portal's wire protocol: URLs, Basic auth, page parameters, XML in and out.

Reads come back as GBK XML (see ``sandbox/osticket.py`` for the documented shapes); this module
turns them into plain :class:`RawTicket` records of strings, leaving every interpretation (times,
statuses, priorities) to ``mapping``. Writes are built with the hardened XML helpers and sent in
GBK, the encoding the portal expects; characters GBK lacks travel as character references.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class RawEntry:
    """One ``<entry>`` of a ticket's thread, as written by the portal."""

    id: str
    type: str
    poster: str
    created: str
    body: str


@dataclass(frozen=True, slots=True)
class RawTicket:
    """One ``<ticket>`` as strings; ``fingerprint`` is a digest of the whole element."""

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
    fingerprint: str


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


def read_ticket(node: xml.Element) -> RawTicket:
    """A ``<ticket>`` element as a :class:`RawTicket` (missing parts become empty strings)."""
    return RawTicket(
        id=xml.attr(node, "id"),
        number=xml.attr(node, "number"),
        subject=xml.findtext(node, "subject"),
        status=xml.findtext(node, "status"),
        priority=xml.findtext(node, "priority"),
        dept=xml.findtext(node, "dept"),
        user_name=xml.findtext(node, "user/name"),
        user_email=xml.findtext(node, "user/email"),
        user_phone=xml.findtext(node, "user/phone"),
        staff_name=xml.findtext(node, "staff/name"),
        staff_email=xml.findtext(node, "staff/email"),
        created=xml.findtext(node, "created"),
        updated=xml.findtext(node, "updated"),
        entries=tuple(
            RawEntry(
                id=xml.attr(entry, "id"),
                type=xml.attr(entry, "type"),
                poster=xml.findtext(entry, "poster"),
                created=xml.findtext(entry, "created"),
                body=xml.findtext(entry, "body", strip=False),
            )
            for entry in xml.children(node, "thread/entry")
        ),
        fingerprint=xml.fingerprint(node),
    )


def _root(payload: Payload, expected: str, context: ErrorContext) -> xml.Element:
    root = xml.parse_xml(payload.body, declared_charset=payload.charset, context=context)
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
