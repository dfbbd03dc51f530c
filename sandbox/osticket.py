"""Stand-in for the legacy customer portal: osTicket's XML API plus the portal's read endpoints.

osTicket itself documents one call (``setup/doc/api/tickets.md``); the portal that a PHP team
built around it adds reads and agent writes. Everything is XML. Answers are GBK-encoded
(``Content-Type: text/xml; charset=GBK``, ``<?xml version="1.0" encoding="GBK"?>``); requests may
be GBK or UTF-8 as their own XML declaration says. Timestamps are NAIVE local times
``YYYY-MM-DD HH:MM:SS`` in Asia/Shanghai.

``POST /api/tickets.xml`` (osTicket's own; ``X-API-Key`` header, or Basic auth)
    ``<ticket alert="true" autorespond="true" source="API"><name/><email/><phone/><subject/>
    <message type="text/plain"><![CDATA[...]]></message></ticket>``; each field may also be an
    attribute of ``<ticket>``. Answers ``201 Created`` with the new ticket number as plain text,
    ``400`` when a required field (name, email, subject, message) is missing.

All other endpoints need HTTP Basic auth; a wrong or missing login answers ``401`` with
``WWW-Authenticate: Basic realm="portal"`` and ``<error><code>401</code><message/></error>``.

``GET /api/tickets.xml?since=<YYYY-MM-DD HH:MM:SS>&page=<n>&limit=<n>``
    Tickets with ``updated >= since`` (inclusive, second resolution, local time), ordered by
    ``(updated, id)``; ``page`` starts at 1, ``limit`` defaults to 50 and is capped at 100::

        <tickets page="1" pages="3" total="120">
          <ticket id="7" number="482913">
            <subject/> <status/> <priority/> <dept/>
            <user><name/><email/><phone/></user>
            <staff><name/><email/></staff>          (``<staff/>`` when unassigned)
            <created/> <updated/>
            <thread>
              <entry id="500012" type="M|R|N"><poster/><created/><body><![CDATA[..]]></body></entry>
            </thread>
          </ticket>
        </tickets>

    ``status`` is osTicket's ``open``, ``resolved``, ``closed``, ``archived``, ``deleted`` or the
    portal's ``awaiting_customer``; ``priority`` is ``Low``, ``Normal``, ``High`` or
    ``Emergency``; entry types are M (customer message), R (staff response), N (internal note).
    Deleted tickets stay listed with status ``deleted``.

``GET /api/tickets/{id}.xml``
    One ``<ticket>`` as above; ``404`` when unknown.

``POST /api/tickets/{id}/reply.xml`` — ``<reply><message/><poster/></reply>``
``POST /api/tickets/{id}/note.xml`` — ``<note><message/><poster/></note>``
``POST /api/tickets/{id}/status.xml`` — ``<status>resolved</status>``
    Each answers ``200`` with the updated ``<ticket>``; reply and note also send ``X-Entry-Id``.
    ``poster`` defaults to the logged-in user. An ``X-Idempotency-Key`` seen before returns the
    earlier result without a second entry. ``404`` unknown ticket, ``400`` unreadable XML,
    ``422`` empty message or unknown status.

Wrapped in :class:`FaultMiddleware`. Test helpers: :meth:`update_ticket`, :meth:`add_entry`,
:meth:`delete_ticket`, :meth:`corrupt`, :meth:`serve_hostile`; :attr:`list_log` records the
ticket ids of every list page served.
"""

from __future__ import annotations

import base64
import binascii
import math
import random
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.dataset import SeedTicket
from sandbox.faults import FaultMiddleware, FaultPlan

ZONE = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DEMO_USERNAME = "portal-agent"
DEMO_PASSWORD = "portal-demo-password"
DEMO_API_KEY = "BA00B76BAA30F62E1940B46CC1C3C73C"
STATUSES = ("open", "resolved", "closed", "archived", "deleted", "awaiting_customer")
ENTRY_TYPES = ("M", "R", "N")
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
MAX_REQUEST_BYTES = 1024 * 1024
HOSTILE_KINDS = ("billion_laughs", "xxe", "truncated")

_SEED_STATUS = {
    "new": "open",
    "open": "open",
    "pending": "awaiting_customer",
    "on_hold": "open",
    "solved": "resolved",
    "closed": "closed",
}
_SEED_PRIORITY = {"low": "Low", "normal": "Normal", "high": "High", "urgent": "Emergency"}
_FOLLOW_UPS = (
    "请问现在处理到哪一步了？我还在等回复。",
    "补充一下：订单截图已经发到邮箱了。\n麻烦尽快看一下，谢谢！",
    "问题还是没有解决，今天又出现了一次。",
    "好的，收到，谢谢你们的帮助。",
)
_NEW_TOPICS = (
    ("积分没有到账", "上周下单的积分到现在还没有到账，请帮忙查一下。"),
    ("优惠券无法使用", "结算时提示优惠券不适用，但活动页面写着全场通用。"),
    ("申请开具增值税专用发票", "公司需要增值税专用发票，抬头：杭州云帆贸易有限公司。"),
)


@dataclass(slots=True)
class PortalEntry:
    """One thread entry (M customer message, R staff response, N internal note)."""

    id: int
    type: str
    poster: str
    created: datetime  # aware UTC
    body: str


@dataclass(slots=True)
class PortalTicket:
    """The portal's own record of a ticket; times are aware UTC, rendered naive local."""

    id: int
    number: str
    subject: str
    status: str
    priority: str
    dept: str
    user_name: str
    user_email: str
    user_phone: str
    staff_name: str | None
    staff_email: str | None
    created: datetime
    updated: datetime
    entries: list[PortalEntry] = field(default_factory=list)
    overrides: dict[str, str] = field(default_factory=dict)  # field -> raw text (corrupt())


def local_text(moment: datetime) -> str:
    """``moment`` as the portal writes it: naive ``YYYY-MM-DD HH:MM:SS`` in Asia/Shanghai."""
    return moment.astimezone(ZONE).strftime(TIME_FORMAT)


def _ticket_number(ticket_id: int) -> str:
    return str(random.Random(ticket_id).randrange(100000, 999999))


def _entry_type(author_kind: str, public: bool) -> str:
    if author_kind == "customer":
        return "M"
    return "R" if public else "N"


def _from_seed(seed: SeedTicket) -> PortalTicket:
    status = _SEED_STATUS.get(seed.status, "open")
    if status == "closed" and seed.id % 4 == 0:
        status = "archived"
    return PortalTicket(
        id=seed.id,
        number=_ticket_number(seed.id),
        subject=seed.subject,
        status=status,
        priority=_SEED_PRIORITY.get(seed.priority, "Normal"),
        dept=seed.queue,
        user_name=seed.customer.name,
        user_email=seed.customer.email,
        user_phone=seed.customer.phone,
        staff_name=seed.assignee.name if seed.assignee else None,
        staff_email=seed.assignee.email if seed.assignee else None,
        created=seed.created_at,
        updated=seed.updated_at,
        entries=[
            PortalEntry(
                e.id, _entry_type(e.author_kind, e.public), e.author_name, e.created_at, e.body
            )
            for e in seed.entries
        ],
    )


def _request_parser() -> Any:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _gbk_safe(text: str) -> bool:
    try:
        text.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


def _sub(parent: Any, name: str, text: str | None = None, *, cdata: bool = False) -> Any:
    node = etree.SubElement(parent, name)
    if text is not None:
        # CDATA only when GBK can carry it: a character reference inside CDATA is literal text.
        node.text = etree.CDATA(text) if cdata and "]]>" not in text and _gbk_safe(text) else text
    return node


def render_ticket(ticket: PortalTicket) -> Any:
    """The ``<ticket>`` element of ``ticket`` as the portal serves it."""
    raw = ticket.overrides
    root = etree.Element("ticket", id=str(ticket.id), number=ticket.number)
    _sub(root, "subject", raw.get("subject", ticket.subject))
    _sub(root, "status", ticket.status)
    _sub(root, "priority", ticket.priority)
    _sub(root, "dept", ticket.dept)
    user = _sub(root, "user")
    _sub(user, "name", ticket.user_name)
    _sub(user, "email", ticket.user_email)
    _sub(user, "phone", ticket.user_phone)
    staff = _sub(root, "staff")
    if ticket.staff_name:
        _sub(staff, "name", ticket.staff_name)
        _sub(staff, "email", ticket.staff_email or "")
    _sub(root, "created", raw.get("created", local_text(ticket.created)))
    _sub(root, "updated", raw.get("updated", local_text(ticket.updated)))
    thread = _sub(root, "thread")
    for entry in ticket.entries:
        node = etree.SubElement(thread, "entry", id=str(entry.id), type=entry.type)
        _sub(node, "poster", entry.poster)
        _sub(node, "created", raw.get(f"entry:{entry.id}:created", local_text(entry.created)))
        _sub(node, "body", entry.body, cdata=True)
    return root


def to_gbk_document(root: Any) -> bytes:
    """``root`` as the portal sends documents: GBK with a double-quoted declaration."""
    body = etree.tostring(root, encoding="GBK", xml_declaration=False)
    return b'<?xml version="1.0" encoding="GBK"?>\n' + bytes(body)


def xml_response(
    root: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A GBK XML response."""
    return Response(
        to_gbk_document(root),
        status_code=status_code,
        headers=headers,
        media_type="text/xml; charset=GBK",
    )


def xml_error(status_code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """``<error><code>..</code><message>..</message></error>`` with ``status_code``."""
    root = etree.Element("error")
    _sub(root, "code", str(status_code))
    _sub(root, "message", message)
    return xml_response(root, status_code, headers)


def hostile_document(kind: str) -> bytes:
    """A hostile list page: ``billion_laughs``, ``xxe`` (file:// and http://127.0.0.1)."""
    if kind == "billion_laughs":
        levels = ['<!ENTITY lol0 "lol">'] + [
            f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)
        ]
        body = (
            '<tickets page="1" pages="1" total="1">'
            '<ticket id="1"><subject>&lol9;</subject></ticket></tickets>'
        )
        return (
            '<?xml version="1.0" encoding="GBK"?>\n<!DOCTYPE tickets [\n'
            + "\n".join(levels)
            + "\n]>\n"
            + body
        ).encode("gbk")
    if kind == "xxe":
        return (
            '<?xml version="1.0" encoding="GBK"?>\n<!DOCTYPE tickets [\n'
            '<!ENTITY secret SYSTEM "file:///etc/passwd">\n'
            '<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd">\n%remote;\n]>\n'
            '<tickets page="1" pages="1" total="1"><ticket id="1"><subject>&secret;</subject>'
            "</ticket></tickets>"
        ).encode("gbk")
    raise ValueError(f"unknown hostile kind {kind!r}; choose from {HOSTILE_KINDS}")


class OsTicketStandIn:
    """The legacy customer portal (osTicket + XML read API), serving the ``osticket`` seed."""

    name = "osticket"

    def __init__(
        self,
        tickets: list[SeedTicket],
        *,
        username: str = DEMO_USERNAME,
        password: str = DEMO_PASSWORD,
        api_key: str = DEMO_API_KEY,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.username = username
        self.password = password
        self.api_key = api_key
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self.tickets: dict[int, PortalTicket] = {
            t.id: _from_seed(t) for t in tickets if t.system == self.name
        }
        self._next_entry = 1 + max(
            (e.id for t in self.tickets.values() for e in t.entries), default=700_000
        )
        self._last_stamp = max(
            (t.updated for t in self.tickets.values()), default=datetime.fromtimestamp(0, UTC)
        )
        self._idempotency: dict[str, tuple[str, int, int | None]] = {}
        self._hostile: list[str] = []
        self.list_log: list[list[int]] = []
        self.plan = FaultPlan()
        routes = [
            Route("/api/tickets.xml", self._list, methods=["GET"]),
            Route("/api/tickets.xml", self._create, methods=["POST"]),
            Route("/api/tickets/{ticket_id:int}.xml", self._get, methods=["GET"]),
            Route("/api/tickets/{ticket_id:int}/reply.xml", self._reply, methods=["POST"]),
            Route("/api/tickets/{ticket_id:int}/note.xml", self._note, methods=["POST"]),
            Route("/api/tickets/{ticket_id:int}/status.xml", self._status, methods=["POST"]),
        ]
        self.app = FaultMiddleware(Starlette(routes=routes), self.plan)

    # --- the demo's view ------------------------------------------------------------------

    def connection(self, base_url: str) -> dict[str, Any]:
        """How the demo connects the ``osticket`` adapter to this stand-in."""
        return {
            "adapter": "osticket",
            "title": "Customer portal (osTicket)",
            "settings": {"base_url": base_url, "username": self.username},
            "secrets": {"password": self.password},
            "naive_zone": "Asia/Shanghai",
        }

    def simulate_activity(self, rng: random.Random) -> None:
        """One remote change: a customer follow-up, a new ticket, or a colleague resolving one."""
        with self._lock:
            active = sorted(
                t.id for t in self.tickets.values() if t.status in ("open", "awaiting_customer")
            )
            roll = rng.random()
            if active and roll < 0.5:
                ticket = self.tickets[rng.choice(active)]
                self._append(ticket, "M", ticket.user_name, rng.choice(_FOLLOW_UPS), None)
                ticket.status = "open"
            elif active and roll < 0.75:
                ticket = self.tickets[rng.choice(active)]
                staff = ticket.staff_name or "陈晓华"
                self._append(
                    ticket, "R", staff, "您好，问题已经处理完毕，如有疑问请随时联系我们。", None
                )
                ticket.status = "resolved"
            else:
                subject, body = rng.choice(_NEW_TOPICS)
                donor = self.tickets[rng.choice(sorted(self.tickets))] if self.tickets else None
                self._create_ticket(
                    name=donor.user_name if donor else "王芳",
                    email=donor.user_email if donor else "wang.fang@example.cn",
                    phone=donor.user_phone if donor else "",
                    subject=subject,
                    message=body,
                )

    # --- test helpers ---------------------------------------------------------------------

    def update_ticket(self, ticket_id: int, *, at: datetime | None = None, **changes: str) -> None:
        """Change ``subject``, ``status``, ``priority`` or ``dept``; bumps ``updated``."""
        allowed = {"subject", "status", "priority", "dept"}
        if unknown := set(changes) - allowed:
            raise ValueError(f"cannot change {sorted(unknown)}; allowed: {sorted(allowed)}")
        if "status" in changes and changes["status"] not in STATUSES:
            raise ValueError(f"unknown status {changes['status']!r}")
        with self._lock:
            ticket = self.tickets[ticket_id]
            for key, value in changes.items():
                setattr(ticket, key, value)
            ticket.updated = self._stamp(at)

    def add_entry(
        self,
        ticket_id: int,
        body: str,
        *,
        type: str = "M",
        poster: str | None = None,
        at: datetime | None = None,
    ) -> int:
        """Append a thread entry (default: a customer message); returns its id."""
        if type not in ENTRY_TYPES:
            raise ValueError(f"entry type must be one of {ENTRY_TYPES}")
        with self._lock:
            ticket = self.tickets[ticket_id]
            who = poster or (ticket.user_name if type == "M" else self.username)
            return self._append(ticket, type, who, body, at).id

    def delete_ticket(self, ticket_id: int, *, at: datetime | None = None) -> None:
        """Delete a ticket the osTicket way: it stays listed with status ``deleted``."""
        self.update_ticket(ticket_id, at=at, status="deleted")

    def corrupt(self, ticket_id: int, field_name: str, raw: str) -> None:
        """Serve ``raw`` for ``field_name`` (``created``, ``updated``, ``subject`` or
        ``entry:<id>:created``) of one ticket, as a broken PHP export would."""
        with self._lock:
            self.tickets[ticket_id].overrides[field_name] = raw

    def serve_hostile(self, kind: str = "billion_laughs", *, times: int = 1) -> None:
        """Answer the next ``times`` list requests with a hostile document (``HOSTILE_KINDS``)."""
        if kind not in HOSTILE_KINDS:
            raise ValueError(f"unknown hostile kind {kind!r}; choose from {HOSTILE_KINDS}")
        with self._lock:
            self._hostile.extend([kind] * times)

    def ticket(self, ticket_id: int) -> PortalTicket:
        """The stand-in's record of one ticket (read-only use)."""
        return self.tickets[ticket_id]

    # --- state changes (callers hold the lock) ----------------------------------------------

    def _stamp(self, at: datetime | None) -> datetime:
        if at is not None:
            moment = at.astimezone(UTC).replace(microsecond=0)
        else:  # the portal's clock never runs backwards
            moment = max(self._clock().astimezone(UTC).replace(microsecond=0), self._last_stamp)
        self._last_stamp = max(self._last_stamp, moment)
        return moment

    def _append(
        self, ticket: PortalTicket, kind: str, poster: str, body: str, at: datetime | None
    ) -> PortalEntry:
        moment = self._stamp(at)
        entry = PortalEntry(self._next_entry, kind, poster, moment, body)
        self._next_entry += 1
        ticket.entries.append(entry)
        ticket.updated = moment
        return entry

    def _create_ticket(
        self, *, name: str, email: str, phone: str, subject: str, message: str
    ) -> PortalTicket:
        ticket_id = 1 + max(self.tickets, default=0)
        moment = self._stamp(None)
        ticket = PortalTicket(
            id=ticket_id,
            number=_ticket_number(ticket_id),
            subject=subject,
            status="open",
            priority="Normal",
            dept="客户服务",
            user_name=name,
            user_email=email,
            user_phone=phone,
            staff_name=None,
            staff_email=None,
            created=moment,
            updated=moment,
        )
        self.tickets[ticket_id] = ticket
        self._append(ticket, "M", name, message, moment)
        return ticket

    # --- HTTP -------------------------------------------------------------------------------

    def _login_ok(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = (
                base64.b64decode(value, validate=True).decode("utf-8").partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            return False
        return secrets.compare_digest(user.encode(), self.username.encode()) and (
            secrets.compare_digest(password.encode(), self.password.encode())
        )

    @staticmethod
    def _unauthorized() -> Response:
        return xml_error(
            401,
            "Authentication required: wrong user name or password",
            {"WWW-Authenticate": 'Basic realm="portal"'},
        )

    async def _read_xml(self, request: Request) -> Any | Response:
        body = await request.body()
        if len(body) > MAX_REQUEST_BYTES:
            return xml_error(413, "request body too large")
        try:
            return etree.fromstring(body, _request_parser())
        except (etree.XMLSyntaxError, ValueError) as exc:
            return xml_error(400, f"Unable to parse XML request: {exc}")

    async def _list(self, request: Request) -> Response:
        if not self._login_ok(request):
            return self._unauthorized()
        params = request.query_params
        try:
            page = int(params.get("page", "1"))
            limit = min(int(params.get("limit", str(DEFAULT_LIMIT))), MAX_LIMIT)
            since_text = params.get("since")
            since = (
                datetime.strptime(since_text, TIME_FORMAT).replace(tzinfo=ZONE)
                if since_text
                else None
            )
        except ValueError:
            return xml_error(400, "page and limit must be numbers, since YYYY-MM-DD HH:MM:SS")
        if page < 1 or limit < 1:
            return xml_error(400, "page and limit start at 1")
        with self._lock:
            if self._hostile:
                return self._hostile_response(self._hostile.pop(0))
            rows = sorted(
                (t for t in self.tickets.values() if since is None or t.updated >= since),
                key=lambda t: (t.updated, t.id),
            )
            chunk = rows[(page - 1) * limit : page * limit]
            root = etree.Element(
                "tickets",
                page=str(page),
                pages=str(max(1, math.ceil(len(rows) / limit))),
                total=str(len(rows)),
            )
            root.extend(render_ticket(t) for t in chunk)
            self.list_log.append([t.id for t in chunk])
        return xml_response(root)

    def _hostile_response(self, kind: str) -> Response:
        if kind == "truncated":
            rows = sorted(self.tickets.values(), key=lambda t: (t.updated, t.id))[:5]
            root = etree.Element("tickets", page="1", pages="1", total=str(len(rows)))
            root.extend(render_ticket(t) for t in rows)
            document = to_gbk_document(root)
            document = document[: len(document) // 2]
        else:
            document = hostile_document(kind)
        return Response(document, media_type="text/xml; charset=GBK")

    async def _get(self, request: Request) -> Response:
        if not self._login_ok(request):
            return self._unauthorized()
        with self._lock:
            ticket = self.tickets.get(request.path_params["ticket_id"])
            if ticket is None:
                return xml_error(404, "Ticket not found")
            return xml_response(render_ticket(ticket))

    async def _create(self, request: Request) -> Response:
        key_ok = secrets.compare_digest(
            request.headers.get("X-API-Key", "").encode(), self.api_key.encode()
        )
        if not (key_ok or self._login_ok(request)):
            return xml_error(401, "Valid API key required")
        parsed = await self._read_xml(request)
        if isinstance(parsed, Response):
            return parsed
        values = {
            name: (parsed.get(name) or parsed.findtext(name) or "").strip()
            for name in ("name", "email", "phone", "subject", "message")
        }
        missing = [n for n in ("name", "email", "subject", "message") if not values[n]]
        if missing:
            return xml_error(400, f"{', '.join(missing)}: required field")
        with self._lock:
            ticket = self._create_ticket(**values)
        return Response(ticket.number, status_code=201, media_type="text/plain")

    async def _reply(self, request: Request) -> Response:
        return await self._post_entry(request, "R")

    async def _note(self, request: Request) -> Response:
        return await self._post_entry(request, "N")

    async def _post_entry(self, request: Request, kind: str) -> Response:
        if not self._login_ok(request):
            return self._unauthorized()
        parsed = await self._read_xml(request)
        if isinstance(parsed, Response):
            return parsed
        message = parsed.findtext("message") or ""
        poster = (parsed.findtext("poster") or "").strip() or self.username
        if not message.strip():
            return xml_error(422, "message: required field")
        ticket_id: int = request.path_params["ticket_id"]
        key = request.headers.get("X-Idempotency-Key")
        with self._lock:
            ticket = self.tickets.get(ticket_id)
            if ticket is None:
                return xml_error(404, "Ticket not found")
            earlier = self._idempotency.get(key) if key else None
            if earlier is not None and earlier[:2] != (kind, ticket_id):
                return xml_error(422, "X-Idempotency-Key was used for a different request")
            if earlier is not None and earlier[2] is not None:
                entry_id = earlier[2]
            else:
                entry_id = self._append(ticket, kind, poster, message, None).id
                if key:
                    self._idempotency[key] = (kind, ticket_id, entry_id)
            return xml_response(render_ticket(ticket), headers={"X-Entry-Id": str(entry_id)})

    async def _status(self, request: Request) -> Response:
        if not self._login_ok(request):
            return self._unauthorized()
        parsed = await self._read_xml(request)
        if isinstance(parsed, Response):
            return parsed
        status = (parsed.text or "").strip()
        if parsed.tag != "status" or status not in STATUSES:
            return xml_error(422, f"unknown status {status!r}; expected one of {list(STATUSES)}")
        ticket_id: int = request.path_params["ticket_id"]
        key = request.headers.get("X-Idempotency-Key")
        with self._lock:
            ticket = self.tickets.get(ticket_id)
            if ticket is None:
                return xml_error(404, "Ticket not found")
            earlier = self._idempotency.get(key) if key else None
            if earlier is not None and earlier[:2] != ("status", ticket_id):
                return xml_error(422, "X-Idempotency-Key was used for a different request")
            if earlier is None:
                if ticket.status != status:
                    ticket.status = status
                    ticket.updated = self._stamp(None)
                if key:
                    self._idempotency[key] = ("status", ticket_id, None)
            return xml_response(render_ticket(ticket))
