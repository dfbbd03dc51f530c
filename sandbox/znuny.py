"""Znuny / OTRS stand-in: the GenericTicketConnectorSOAP web service of the GenericInterface.

One endpoint, ``POST /otrs/nph-genericinterface.pl/Webservice/GenericTicketConnectorSOAP``,
takes SOAP 1.1 envelopes whose body element names the operation, in the namespace
``http://www.otrs.org/TicketConnector/`` (Znuny's ``development/webservices/
GenericTicketConnectorSOAP.yml``):

- ``SessionCreate`` (UserLogin, Password) → ``SessionID``;
- ``TicketSearch`` (TicketChangeTimeNewerDate, inclusive; SortBy=Changed|TicketID, OrderBy=Up|
  Down, Limit) → ``TicketID`` elements;
- ``TicketGet`` (TicketID..., AllArticles=1, DynamicFields=0) → ``Ticket`` elements with Title,
  State, StateType, Priority ("3 normal"), Queue, Owner, CustomerUserID, Created, Changed and
  ``Article`` children (ArticleID, SenderType, IsVisibleForCustomer, From, Subject, Body,
  CreateTime);
- ``TicketUpdate`` (TicketID, Ticket/State with PendingTime for pending states, Article with
  Subject, Body, IsVisibleForCustomer, ...) → ArticleID, TicketID, TicketNumber.

Every operation but SessionCreate authenticates with ``SessionID`` or UserLogin/Password.
Errors arrive with HTTP 200 inside the response element, as Znuny sends them:
``<Error><ErrorCode>TicketSearch.AuthFail</ErrorCode><ErrorMessage>TicketSearch: Authorization
failing!</ErrorMessage></Error>``; an unreadable envelope is a ``500`` SOAP ``Fault``. Times are
naive ``YYYY-MM-DD HH:MM:SS`` in the server zone, Europe/Berlin. Deleted tickets keep their
row in state ``removed`` (state type ``removed``).

Test helpers: :meth:`update_ticket`, :meth:`add_article`, :meth:`delete_ticket`,
:meth:`corrupt`, :meth:`expire_sessions`, :meth:`lose_next_update`.
"""

from __future__ import annotations

import itertools
import random
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from sandbox.dataset import SeedTicket, by_system
from sandbox.faults import FaultMiddleware, FaultPlan

PATH = "/otrs/nph-genericinterface.pl/Webservice/GenericTicketConnectorSOAP"
NS = "http://www.otrs.org/TicketConnector/"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
ZONE = ZoneInfo("Europe/Berlin")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DEMO_LOGIN = "tabless"
DEMO_PASSWORD = "znuny-demo-4e1b7c"
ID_OFFSET = 7000  # osticket seed ids 1..100 become Znuny TicketIDs 7001..7100
STATE_TYPES = {
    "new": "new",
    "open": "open",
    "pending reminder": "pending reminder",
    "pending auto close+": "pending auto",
    "pending auto close-": "pending auto",
    "closed successful": "closed",
    "closed unsuccessful": "closed",
    "merged": "merged",
    "removed": "removed",
}
SEED_STATE = {
    "new": "new",
    "open": "open",
    "pending": "pending auto close+",
    "on_hold": "pending reminder",
    "solved": "closed successful",
    "closed": "closed unsuccessful",
}
SEED_PRIORITY = {"low": "2 low", "normal": "3 normal", "high": "4 high", "urgent": "5 very high"}


def local_text(moment: datetime) -> str:
    """``moment`` as Znuny writes it: naive server-local time."""
    return moment.astimezone(ZONE).strftime(TIME_FORMAT)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class ZnunyArticle:
    id: int
    sender_type: str  # agent, customer, system
    visible: bool
    sender: str
    subject: str
    body: str
    created: datetime


@dataclass
class ZnunyTicket:
    id: int
    number: str
    title: str
    state: str
    priority: str
    queue: str
    owner: str
    customer_user: str
    created: datetime
    changed: datetime
    articles: list[ZnunyArticle] = field(default_factory=list)
    broken: dict[str, str] = field(default_factory=dict)


def _child(parent: Any, name: str, text: object = None) -> Any:
    node = etree.SubElement(parent, name)
    if text is not None:
        node.text = str(text)
    return node


def envelope(operation: str) -> tuple[Any, Any]:
    """A response envelope and its ``<OperationResponse>`` element."""
    root = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"soap": SOAP})
    body = etree.SubElement(root, f"{{{SOAP}}}Body")
    answer = etree.SubElement(body, f"{operation}Response", nsmap={None: NS})
    return root, answer


def soap_response(root: Any, status: int = 200) -> Response:
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return Response(data, status_code=status, media_type="text/xml; charset=UTF-8")


def soap_error(operation: str, code: str, message: str) -> Response:
    """Znuny's error answer: HTTP 200, an ``<Error>`` inside the response element."""
    root, answer = envelope(operation)
    error = _child(answer, "Error")
    _child(error, "ErrorCode", f"{operation}.{code}")
    _child(error, "ErrorMessage", message)
    return soap_response(root)


def soap_fault(text: str) -> Response:
    root = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"soap": SOAP})
    fault = etree.SubElement(etree.SubElement(root, f"{{{SOAP}}}Body"), f"{{{SOAP}}}Fault")
    _child(fault, "faultcode", "Server")
    _child(fault, "faultstring", text)
    return soap_response(root, 500)


def _text(node: Any, name: str) -> str:
    found = node.find(f"{{{NS}}}{name}")
    if found is None:
        found = node.find(name)
    return (found.text or "").strip() if found is not None else ""


class ZnunyStandIn:
    """A Znuny 6.5 instance holding the ``osticket`` tickets of the shared data set (re-keyed)."""

    name = "znuny"

    def __init__(
        self,
        tickets: list[SeedTicket],
        *,
        login: str = DEMO_LOGIN,
        password: str = DEMO_PASSWORD,
        source_system: str = "osticket",
    ) -> None:
        self.login = login
        self.password = password
        self.plan = FaultPlan()
        self.operations: list[str] = []  # every operation served, in order
        self._lock = threading.RLock()
        self._sessions: set[str] = set()
        self._tickets: dict[int, ZnunyTicket] = {}
        self._ids = itertools.count(900_000)
        self._new_tickets = itertools.count(9_001)
        self._lose_updates = 0
        self._last = datetime(1970, 1, 1, tzinfo=UTC)
        for seed in by_system(tickets, source_system):
            self._seed(seed)
        self.app: ASGIApp = FaultMiddleware(self._starlette(), self.plan)

    def _seed(self, seed: SeedTicket) -> None:
        ticket = ZnunyTicket(
            id=seed.id + ID_OFFSET,
            number=f"2024{seed.id + ID_OFFSET:08d}",
            title=seed.subject,
            state=SEED_STATE[seed.status],
            priority=SEED_PRIORITY[seed.priority],
            queue=seed.queue,
            owner=seed.assignee.email.split("@")[0] if seed.assignee else "root@localhost",
            customer_user=seed.customer.email,
            created=seed.created_at,
            changed=seed.updated_at,
        )
        for entry in seed.entries:
            customer = entry.author_kind == "customer"
            ticket.articles.append(
                ZnunyArticle(
                    next(self._ids),
                    "customer" if customer else "agent",
                    entry.public,
                    f'"{entry.author_name}" <{entry.author_email}>',
                    seed.subject,
                    entry.body,
                    entry.created_at,
                )
            )
        self._tickets[ticket.id] = ticket
        self._last = max(self._last, seed.updated_at)

    def _stamp(self) -> datetime:
        self._last = max(_now(), self._last)
        return self._last

    # --------------------------------------------------------------------- test/demo helpers

    def ticket_ids(self) -> list[int]:
        """Every TicketID, oldest change first."""
        with self._lock:
            return [t.id for t in sorted(self._tickets.values(), key=lambda t: (t.changed, t.id))]

    def ticket(self, ticket_id: int) -> ZnunyTicket:
        """The stored ticket."""
        with self._lock:
            return self._tickets[ticket_id]

    def update_ticket(self, ticket_id: int, **fields: Any) -> None:
        """A colleague's change (``state="closed successful"``, ``priority=...``)."""
        with self._lock:
            ticket = self._tickets[ticket_id]
            for key, value in fields.items():
                setattr(ticket, key, value)
            ticket.changed = self._stamp()

    def add_article(self, ticket_id: int, body: str, *, visible: bool = True) -> int:
        """A customer's follow-up e-mail (visible) or an agent's note; its ArticleID."""
        with self._lock:
            ticket = self._tickets[ticket_id]
            at = self._stamp()
            article = ZnunyArticle(
                next(self._ids),
                "customer" if visible else "agent",
                visible,
                ticket.customer_user,
                f"RE: {ticket.title}",
                body,
                at,
            )
            ticket.articles.append(article)
            ticket.changed = at
            return article.id

    def delete_ticket(self, ticket_id: int) -> None:
        """An agent sets the state ``removed``."""
        self.update_ticket(ticket_id, state="removed")

    def corrupt(self, ticket_id: int, **raw: str) -> None:
        """Serve these raw element texts in the ticket (e.g. ``Created="gestern"``)."""
        with self._lock:
            ticket = self._tickets[ticket_id]
            ticket.broken.update(raw)
            ticket.changed = self._stamp()

    def expire_sessions(self) -> None:
        """Every SessionID becomes invalid (session timeout on the server)."""
        with self._lock:
            self._sessions.clear()

    def lose_next_update(self) -> None:
        """The next TicketUpdate is applied, then answered ``502`` (a proxy lost the answer)."""
        self._lose_updates += 1

    def simulate_activity(self, rng: random.Random) -> None:
        """One realistic change: a customer's follow-up or a colleague closing a ticket."""
        with self._lock:
            live = [t for t in self._tickets.values() if t.state in ("open", "new")]
        if not live:
            return
        ticket = rng.choice(live)
        if rng.random() < 0.6:
            self.add_article(ticket.id, rng.choice(("请问现在处理得怎么样了？", "收到，谢谢！")))
        else:
            self.update_ticket(ticket.id, state="closed successful")

    def connection(self, base_url: str) -> dict[str, Any]:
        """What the demo needs to connect the ``znuny`` adapter to this stand-in."""
        return {
            "adapter": "znuny",
            "title": "Znuny (sandbox)",
            "settings": {"base_url": base_url, "username": self.login},
            "secrets": {"password": self.password},
            "naive_zone": "Europe/Berlin",
        }

    # ------------------------------------------------------------------------------ SOAP

    def _starlette(self) -> Starlette:
        return Starlette(routes=[Route(PATH, self._endpoint, methods=["POST"])])

    async def _endpoint(self, request: Request) -> Response:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        try:
            root = etree.fromstring(await request.body(), parser)
            body = root.find(f"{{{SOAP}}}Body")
            call = body[0]
        except (etree.XMLSyntaxError, TypeError, IndexError, AttributeError):
            return soap_fault("Error while parsing the SOAP request")
        operation = etree.QName(call).localname
        handler = {
            "SessionCreate": self._session_create,
            "TicketSearch": self._search,
            "TicketGet": self._get,
            "TicketUpdate": self._update,
        }.get(operation)
        if handler is None:
            return soap_fault(f"Operation {operation} is not configured")
        with self._lock:
            self.operations.append(operation)
            if operation != "SessionCreate" and not self._authorized(call):
                return soap_error(operation, "AuthFail", f"{operation}: Authorization failing!")
            return handler(call)

    def _authorized(self, call: Any) -> bool:
        session = _text(call, "SessionID")
        if session:
            return session in self._sessions
        return _text(call, "UserLogin") == self.login and secrets.compare_digest(
            _text(call, "Password"), self.password
        )

    def _session_create(self, call: Any) -> Response:
        if not (
            _text(call, "UserLogin") == self.login
            and secrets.compare_digest(_text(call, "Password"), self.password)
        ):
            return soap_error("SessionCreate", "AuthFail", "SessionCreate: Authorization failing!")
        session = secrets.token_hex(16)
        self._sessions.add(session)
        root, answer = envelope("SessionCreate")
        _child(answer, "SessionID", session)
        return soap_response(root)

    def _search(self, call: Any) -> Response:
        newer = _text(call, "TicketChangeTimeNewerDate")
        try:
            since = datetime.strptime(newer, TIME_FORMAT).replace(tzinfo=ZONE) if newer else None
            limit = int(_text(call, "Limit") or "10000")
        except ValueError:
            return soap_error(
                "TicketSearch", "InvalidParameter", "TicketSearch: a parameter is not valid!"
            )
        matching = [t for t in self._tickets.values() if since is None or t.changed >= since]
        key = (
            (lambda t: (t.changed, t.id))
            if _text(call, "SortBy") == "Changed"
            else (lambda t: (t.id,))
        )
        matching.sort(key=key, reverse=_text(call, "OrderBy") == "Down")
        root, answer = envelope("TicketSearch")
        for ticket in matching[:limit]:
            _child(answer, "TicketID", ticket.id)
        return soap_response(root)

    def _get(self, call: Any) -> Response:
        ids = [(n.text or "").strip() for n in call.findall(f"{{{NS}}}TicketID")]
        all_articles = _text(call, "AllArticles") == "1"
        root, answer = envelope("TicketGet")
        for raw_id in ids:
            ticket = self._tickets.get(int(raw_id)) if raw_id.isdigit() else None
            if ticket is None:
                return soap_error(
                    "TicketGet",
                    "AccessDenied",
                    "TicketGet: User does not have access to the ticket!",
                )
            self._render(answer, ticket, all_articles)
        return soap_response(root)

    def _render(self, parent: Any, ticket: ZnunyTicket, all_articles: bool) -> None:
        node = _child(parent, "Ticket")
        values = {
            "Age": int((_now() - ticket.created).total_seconds()),
            "ArchiveFlag": "n",
            "Changed": local_text(ticket.changed),
            "Created": local_text(ticket.created),
            "CustomerID": ticket.customer_user.split("@")[-1],
            "CustomerUserID": ticket.customer_user,
            "Lock": "unlock",
            "Owner": ticket.owner,
            "Priority": ticket.priority,
            "PriorityID": ticket.priority.split(" ")[0],
            "Queue": ticket.queue,
            "Responsible": "root@localhost",
            "State": ticket.state,
            "StateType": STATE_TYPES.get(ticket.state, "open"),
            "TicketID": ticket.id,
            "TicketNumber": ticket.number,
            "Title": ticket.title,
            "Type": "Unclassified",
        }
        values.update(ticket.broken)
        for name, value in values.items():
            _child(node, name, value)
        if not all_articles:
            return
        for article in ticket.articles:
            item = _child(node, "Article")
            for name, value in (
                ("ArticleID", article.id),
                ("Body", article.body),
                ("CommunicationChannel", "Email" if article.visible else "Internal"),
                ("ContentType", "text/plain; charset=utf8"),
                ("CreateTime", local_text(article.created)),
                ("From", article.sender),
                ("IsVisibleForCustomer", 1 if article.visible else 0),
                ("SenderType", article.sender_type),
                ("Subject", article.subject),
                ("TicketID", ticket.id),
            ):
                _child(item, name, value)

    def _update(self, call: Any) -> Response:
        raw_id = _text(call, "TicketID")
        ticket = self._tickets.get(int(raw_id)) if raw_id.isdigit() else None
        if ticket is None:
            return soap_error(
                "TicketUpdate",
                "AccessDenied",
                "TicketUpdate: User does not have access to the ticket!",
            )
        change = call.find(f"{{{NS}}}Ticket")
        article = call.find(f"{{{NS}}}Article")
        state = _text(change, "State") if change is not None else ""
        if state and state not in STATE_TYPES:
            return soap_error(
                "TicketUpdate", "InvalidParameter", "TicketUpdate: Ticket->State is invalid!"
            )
        if (
            state.startswith("pending")
            and change is not None
            and (change.find(f"{{{NS}}}PendingTime") is None)
        ):
            return soap_error(
                "TicketUpdate", "MissingParameter", "TicketUpdate: Ticket->PendingTime is required!"
            )
        if article is not None and not _text(article, "Body"):
            return soap_error(
                "TicketUpdate",
                "MissingParameter",
                "TicketUpdate: Article->Body parameter is missing!",
            )
        at = self._stamp()
        root, answer = envelope("TicketUpdate")
        if article is not None:
            created = ZnunyArticle(
                next(self._ids),
                "agent",
                _text(article, "IsVisibleForCustomer") == "1",
                f'"Tabless" <{self.login}@support.example.com>',
                _text(article, "Subject") or ticket.title,
                (article.find(f"{{{NS}}}Body").text or ""),
                at,
            )
            ticket.articles.append(created)
            _child(answer, "ArticleID", created.id)
        if state:
            ticket.state = state
        ticket.changed = at
        _child(answer, "TicketID", ticket.id)
        _child(answer, "TicketNumber", ticket.number)
        if self._lose_updates:
            self._lose_updates -= 1
            return Response("Bad Gateway", status_code=502)
        return soap_response(root)
