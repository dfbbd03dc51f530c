"""Stand-in for a nightly Freshdesk ticket export: a folder of CSV files, one per night.

Each night's file (``tickets-2026-11-30.csv``) holds the tickets created or updated that day, in
the columns of Freshdesk's ticket export (Tickets → Export → CSV): ``"Ticket ID"``,
``"Subject"``, ``"Description"``, ``"Status"`` … ``"Company Name"``. Like the real export it is
UTF-8 with a BOM, CR LF line ends, every cell quoted, multi-line ``Description`` cells (the
customer's first message), naive ``YYYY-MM-DD HH:MM:SS`` timestamps in the account's zone, and
Freshdesk's status and priority names. A later file carrying the same ticket shows its newer
state. Layout 2 renames a few columns, as a newer export version does.

No HTTP: the "API" is the folder. Files are written atomically (a hidden ``.part`` file, then a
rename), so a reader sees either the old or the new file; tests that need a half-written file
append to one themselves. Imports none of Tabless.
"""

from __future__ import annotations

import copy
import csv
import io
import os
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.dataset import AGENTS, QUEUES, TOPICS_EN, TOPICS_ZH, Entry, SeedTicket, by_system

COLUMNS_V1: tuple[str, ...] = (
    "Ticket ID",
    "Subject",
    "Description",
    "Status",
    "Priority",
    "Source",
    "Type",
    "Agent",
    "Group",
    "Created time",
    "Due by Time",
    "Resolved time",
    "Closed time",
    "Last update time",
    "Initial response time",
    "Time tracked",
    "First response time (in hrs)",
    "Resolution time (in hrs)",
    "Agent interactions",
    "Customer interactions",
    "Resolution status",
    "First response status",
    "Tags",
    "Survey results",
    "Full name",
    "Email",
    "Work phone",
    "Mobile phone",
    "Contact ID",
    "Company Name",
)
"""Freshdesk's ticket export columns (with Description and the contact fields selected)."""

V2_RENAMES: dict[str, str] = {
    "Last update time": "Last updated time",
    "Email": "Requester email",
    "Full name": "Requester name",
}
"""Columns a newer export version spells differently."""

LAYOUTS: dict[int, tuple[str, ...]] = {
    1: COLUMNS_V1,
    2: tuple(V2_RENAMES.get(name, name) for name in COLUMNS_V1),
}

STATUS_NAMES = {
    "new": "Open",  # Freshdesk has no "new": a fresh ticket is Open
    "open": "Open",
    "pending": "Pending",
    "on_hold": "Waiting on Third Party",
    "solved": "Resolved",
    "closed": "Closed",
}
PRIORITY_NAMES = {"low": "Low", "normal": "Medium", "high": "High", "urgent": "Urgent"}
SOURCES = ("Email", "Portal", "Phone", "Chat")
TYPES = ("Question", "Incident", "Problem", "Feature Request")
SURVEY = ("Awesome", "Just Okay", "Not Good")
DUE_AFTER = {"urgent": 4, "high": 24, "normal": 72, "low": 120}  # hours, like a default SLA
COMPANIES = {"example.cn": "上海星辰科技有限公司", "example.com": "Example Corp"}
FOLLOW_UPS_ZH = ("请问现在处理得怎么样了？", "补充一下：我刚才又试了一次，还是不行。")
FOLLOW_UPS_EN = ("Any news on this?", "Quick follow-up: I tried again this morning, same result.")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class CsvExportStandIn:
    """A folder of Freshdesk nightly ticket exports for the seed's ``csv`` system."""

    name = "csv"

    def __init__(
        self,
        tickets: list[SeedTicket],
        folder: Path,
        *,
        zone: str = "UTC",
        layout: int = 1,
    ) -> None:
        self.folder = Path(folder)
        self.zone = zone
        self.layout = layout
        self._tz = ZoneInfo(zone)
        # Own copies: the seed is shared with other stand-ins and tests.
        self.tickets: dict[int, SeedTicket] = {
            ticket.id: copy.deepcopy(ticket) for ticket in by_system(tickets, "csv")
        }

    # -- the demo / test surface ---------------------------------------------------------------

    def connection(self, folder: Path | str | None = None) -> dict[str, Any]:
        """What the demo needs to connect the ``csv`` adapter to this folder."""
        return {
            "adapter": "csv",
            "title": "Nightly ticket export (Freshdesk CSV)",
            "settings": {"folder": str(folder if folder is not None else self.folder)},
            "secrets": {},
            "naive_zone": self.zone,
        }

    def write_initial(self) -> list[Path]:
        """Write one export per past day with the tickets created or updated that day."""
        nights: dict[date, list[dict[str, str]]] = defaultdict(list)
        for ticket in self.tickets.values():
            days = sorted({self._local(entry.created_at).date() for entry in ticket.entries})
            for day in days:
                until = max(
                    e.created_at for e in ticket.entries if self._local(e.created_at).date() == day
                )
                nights[day].append(self._row(ticket, until=until, final=day == days[-1]))
        return [self.write_rows(self.file_name(day), nights[day]) for day in sorted(nights)]

    def simulate_activity(self, rng: random.Random) -> Path:
        """A customer follow-up, a resolution and sometimes a new ticket; rewrite tonight's file."""
        now = datetime.now(UTC).replace(microsecond=0)
        active = [t for t in self.tickets.values() if t.status not in ("solved", "closed")]
        if active:
            self._follow_up(rng.choice(active), now)
        if len(active) > 1:
            self._resolve(rng.choice(active), now)
        if rng.random() < 0.5 or not active:
            self._new_ticket(rng, now)
        return self.write_tonight(now)

    def write_tonight(self, now: datetime | None = None) -> Path:
        """(Re)write today's export: every ticket whose last update falls on today."""
        today = self._local(now or datetime.now(UTC)).date()
        rows = [
            self._row(ticket, until=ticket.updated_at, final=True)
            for ticket in self.tickets.values()
            if self._local(ticket.updated_at).date() == today
        ]
        return self.write_rows(self.file_name(today), rows)

    def write_export(
        self,
        name: str,
        tickets: Iterable[SeedTicket],
        *,
        layout: int | None = None,
        encoding: str = "utf-8-sig",
    ) -> Path:
        """Write ``tickets`` (their current state) as export file ``name`` (tests)."""
        rows = [self.export_row(ticket) for ticket in tickets]
        return self.write_rows(name, rows, layout=layout, encoding=encoding)

    def update_ticket(
        self, ticket_id: int, *, status: str | None = None, at: datetime | None = None
    ) -> SeedTicket:
        """A colleague's change in Freshdesk (tests): new status, last update at ``at``."""
        ticket = self.tickets[ticket_id]
        moment = (at or max(datetime.now(UTC), ticket.updated_at + timedelta(seconds=1))).replace(
            microsecond=0
        )
        if status is not None:
            ticket.status = status
        ticket.entries.append(
            Entry(_next_entry_id(self.tickets), "system", "Freshdesk", "", "updated", False, moment)
        )
        ticket.updated_at = moment
        return ticket

    def export_row(self, ticket: SeedTicket) -> dict[str, str]:
        """The export cells of ``ticket`` in its current state, keyed by layout-1 column."""
        return self._row(ticket, until=ticket.updated_at, final=True)

    def write_rows(
        self,
        name: str,
        rows: Iterable[Mapping[str, str]],
        *,
        layout: int | None = None,
        encoding: str = "utf-8-sig",
        delimiter: str = ",",
    ) -> Path:
        """Write rows keyed by layout-1 column names; missing cells are empty. Atomic rename."""
        columns = LAYOUTS[layout or self.layout]
        buffer = io.StringIO(newline="")
        writer = csv.writer(
            buffer, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\r\n"
        )
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(name, "") for name in COLUMNS_V1])
        return self._replace(name, buffer.getvalue().encode(encoding))

    def file_name(self, day: date) -> str:
        """``tickets-2026-11-30.csv``."""
        return f"tickets-{day.isoformat()}.csv"

    # -- remote activity -----------------------------------------------------------------------

    def _follow_up(self, ticket: SeedTicket, now: datetime) -> None:
        at = max(now, ticket.updated_at + timedelta(seconds=1))
        chinese = _is_chinese(ticket)
        body = random.Random(ticket.id + len(ticket.entries)).choice(
            FOLLOW_UPS_ZH if chinese else FOLLOW_UPS_EN
        )
        ticket.entries.append(
            Entry(
                _next_entry_id(self.tickets),
                "customer",
                ticket.customer.name,
                ticket.customer.email,
                body,
                True,
                at,
            )
        )
        ticket.status = "open"
        ticket.updated_at = at

    def _resolve(self, ticket: SeedTicket, now: datetime) -> None:
        at = max(now, ticket.updated_at + timedelta(seconds=1))
        agent = ticket.assignee or AGENTS[ticket.id % len(AGENTS)]
        ticket.assignee = agent
        reply = (
            "问题已解决，如有疑问请随时联系我们。"
            if _is_chinese(ticket)
            else "This should be sorted now — let us know if anything is still off."
        )
        ticket.entries.append(
            Entry(_next_entry_id(self.tickets), "agent", agent.name, agent.email, reply, True, at)
        )
        ticket.status = "solved"
        ticket.updated_at = at

    def _new_ticket(self, rng: random.Random, now: datetime) -> None:
        template = rng.choice(list(self.tickets.values()))
        chinese = _is_chinese(template)
        subject, body, _reply, tags = rng.choice(TOPICS_ZH if chinese else TOPICS_EN)
        order = rng.randrange(100000, 999999)
        number = max(self.tickets, default=0) + 1
        ticket = SeedTicket(
            id=number,
            system="csv",
            subject=subject.format(n=order),
            status="new",
            priority=rng.choice(tuple(PRIORITY_NAMES)),
            customer=template.customer,
            assignee=None,
            queue=rng.choice(QUEUES["csv"]),
            tags=list(tags),
            created_at=now,
            updated_at=now,
        )
        ticket.entries.append(
            Entry(
                _next_entry_id(self.tickets),
                "customer",
                template.customer.name,
                template.customer.email,
                body.format(n=order),
                True,
                now,
            )
        )
        self.tickets[number] = ticket

    # -- rows ----------------------------------------------------------------------------------

    def _row(self, ticket: SeedTicket, *, until: datetime, final: bool) -> dict[str, str]:
        """The export row of ``ticket`` as it stood at ``until`` (its final state if ``final``)."""
        entries = [entry for entry in ticket.entries if entry.created_at <= until]
        first = entries[0]
        agent_entries = [e for e in entries if e.author_kind == "agent"]
        public_agent = [e for e in agent_entries if e.public]
        customer_count = sum(1 for e in entries if e.author_kind == "customer")
        status = ticket.status if final else _interim_status(entries)
        native = STATUS_NAMES[status]
        if status == "pending" and ticket.id % 3 == 0:
            native = "Waiting on Customer"
        updated = entries[-1].created_at
        due = ticket.created_at + timedelta(hours=DUE_AFTER[ticket.priority])
        resolved = updated if status in ("solved", "closed") else None
        closed = updated if status == "closed" else None
        responded = public_agent[0].created_at if public_agent else None
        minutes = 12 * len(agent_entries)
        domain = ticket.customer.email.rsplit("@", 1)[-1]
        mobile = domain.endswith(".cn")
        return {
            "Ticket ID": str(ticket.id),
            "Subject": ticket.subject,
            "Description": f"{first.body}\n\n— {ticket.customer.name}",
            "Status": native,
            "Priority": PRIORITY_NAMES[ticket.priority],
            "Source": SOURCES[ticket.id % len(SOURCES)],
            "Type": _ticket_type(ticket),
            "Agent": ticket.assignee.name if ticket.assignee and status != "new" else "",
            "Group": ticket.queue,
            "Created time": self._stamp(ticket.created_at),
            "Due by Time": self._stamp(due),
            "Resolved time": self._stamp(resolved),
            "Closed time": self._stamp(closed),
            "Last update time": self._stamp(updated),
            "Initial response time": self._stamp(responded),
            "Time tracked": f"{minutes // 60:02d}:{minutes % 60:02d}",
            "First response time (in hrs)": _hours(ticket.created_at, responded),
            "Resolution time (in hrs)": _hours(ticket.created_at, resolved),
            "Agent interactions": str(len(public_agent)),
            "Customer interactions": str(customer_count),
            "Resolution status": _sla(resolved, due),
            "First response status": _sla(
                responded, ticket.created_at + timedelta(hours=DUE_AFTER[ticket.priority] / 4)
            ),
            "Tags": ",".join(ticket.tags),
            "Survey results": SURVEY[ticket.id % 3] if closed and ticket.id % 2 == 0 else "",
            "Full name": ticket.customer.name,
            "Email": ticket.customer.email,
            "Work phone": "" if mobile else ticket.customer.phone,
            "Mobile phone": ticket.customer.phone if mobile else "",
            "Contact ID": str(ticket.customer.id),
            "Company Name": COMPANIES.get(domain, ""),
        }

    def _stamp(self, moment: datetime | None) -> str:
        return "" if moment is None else self._local(moment).strftime(TIME_FORMAT)

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self._tz)

    def _replace(self, name: str, data: bytes) -> Path:
        """Write ``data`` as ``name`` atomically; a rewrite always gets a newer mtime."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / name
        before = target.stat().st_mtime_ns if target.exists() else None
        part = self.folder / f".{name}.part"
        part.write_bytes(data)
        os.replace(part, target)
        after = target.stat()
        if before is not None and after.st_mtime_ns <= before:
            os.utime(target, ns=(after.st_atime_ns, before + 1_000_000))
        return target


def _interim_status(entries: list[Entry]) -> str:
    """Status between updates: pending after an agent's public reply, else open."""
    for entry in reversed(entries):
        if entry.author_kind == "customer":
            return "open"
        if entry.public:
            return "pending"
    return "open"


def _ticket_type(ticket: SeedTicket) -> str:
    if {"refund", "退款"} & set(ticket.tags):
        return "Refund"
    return TYPES[ticket.id % len(TYPES)]


def _is_chinese(ticket: SeedTicket) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in ticket.subject)


def _hours(start: datetime, end: datetime | None) -> str:
    return "" if end is None else f"{(end - start).total_seconds() / 3600:.2f}"


def _sla(done: datetime | None, due: datetime) -> str:
    if done is None:
        return ""
    return "Within SLA" if done <= due else "SLA Violated"


def _next_entry_id(tickets: Mapping[int, SeedTicket]) -> int:
    return 1 + max((e.id for t in tickets.values() for e in t.entries), default=600_000)
