"""The adapter contract (adapters/testing.py) applied to every built-in adapter.

Each case says how to build the stand-in and the adapter and how to make the stand-in change;
the suite generates the tests. Adding an adapter is one ``ContractCase`` and one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters._http import HttpSettings
from adapters.base import Adapter, AdapterContext
from adapters.csv_export.adapter import CsvExportAdapter
from adapters.freshdesk.adapter import FreshdeskAdapter
from adapters.osticket.adapter import OsTicketAdapter
from adapters.quality.adapter import QualityAdapter
from adapters.quality.client import QualityClient
from adapters.rt.adapter import RtAdapter
from adapters.testing import ContractCase, Transport, contract_test_class
from adapters.zammad.adapter import ZammadAdapter
from adapters.zendesk.adapter import ZendeskAdapter
from adapters.znuny.adapter import ZnunyAdapter
from sandbox.csv_export import CsvExportStandIn
from sandbox.freshdesk import STATUS_CHOICES, FreshdeskStandIn
from sandbox.osticket import OsTicketStandIn
from sandbox.quality import QualityStandIn
from sandbox.rt import REST, RtStandIn
from sandbox.zammad import ZammadStandIn
from sandbox.zendesk import ZendeskStandIn
from sandbox.znuny import PATH as ZNUNY_PATH
from sandbox.znuny import ZnunyStandIn

FOLLOW_UP = "我刚才又试了一次，还是不行。"

# ---------------------------------------------------------------------------------- zendesk


def _zendesk_order(s: ZendeskStandIn) -> list[int]:
    return s.ticket_ids()


def _zendesk_change(s: ZendeskStandIn) -> set[str]:
    order = _zendesk_order(s)
    s.update_ticket(order[3], status="hold", priority="urgent")
    s.add_comment(order[60], FOLLOW_UP)
    return {str(order[3]), str(order[60])}


def _zendesk_delete(s: ZendeskStandIn) -> str:
    victim = _zendesk_order(s)[90]
    s.delete_ticket(victim)
    return str(victim)


def _zendesk_corrupt(s: ZendeskStandIn) -> str:
    victim = _zendesk_order(s)[5]
    s.update_ticket(victim, updated_at="last Tuesday")
    return str(victim)


def _zendesk_writable(s: ZendeskStandIn) -> str:
    return str(next(i for i in s.ticket_ids() if s.raw_ticket(i)["status"] == "open"))


ZENDESK = ContractCase(
    name="zendesk",
    adapter=ZendeskAdapter,
    stand_in=lambda seeds, tmp: ZendeskStandIn(seeds),
    build=lambda context, http: ZendeskAdapter(context, http=http),
    ticket_ids=lambda s: {str(i) for i in s.ticket_ids()},
    change=_zendesk_change,
    delete=_zendesk_delete,
    corrupt=_zendesk_corrupt,
    writable=_zendesk_writable,
    remote_texts=lambda s, i: [c["plain_body"] for c in s.comments_of(int(i))],
    remote_status=lambda s, i: s.raw_ticket(int(i))["status"],
    small_pages={"page_size": 40},
    fault_prefix="/api/",
)

# ---------------------------------------------------------------------------------- quality


def _quality(context: AdapterContext, http: HttpSettings) -> Adapter:
    """QualityAdapter takes no HttpSettings (yet); its client does, so the suite swaps it in."""
    adapter = QualityAdapter(context)
    adapter.client = QualityClient(
        adapter.base_url,
        client_id=adapter.client_id,
        key=lambda: context.secret("jwt_key"),
        system=context.system_id,
        http=http,
    )
    return adapter


def _quality_live(s: QualityStandIn, status: str | None = None) -> list[int]:
    return sorted(
        i
        for i, found in s.inspections.items()
        if not found.deleted and (status is None or found.status == status)
    )


def _quality_change(s: QualityStandIn) -> set[str]:
    first, second = _quality_live(s, "in_review")[:2]
    s.update_inspection(first, status="accepted", score=95)
    s.add_note(second, "复核意见：结束语缺失，请补充。")
    return {str(first), str(second)}


def _quality_delete(s: QualityStandIn) -> str:
    victim = _quality_live(s)[-1]
    s.delete_inspection(victim)
    return str(victim)


def _quality_corrupt(s: QualityStandIn) -> str:
    victim = _quality_live(s)[3]
    s.corrupt(victim, created_at="last tuesday")
    return str(victim)


QUALITY = ContractCase(
    name="quality",
    adapter=QualityAdapter,
    stand_in=lambda seeds, tmp: QualityStandIn(seeds),
    build=_quality,
    ticket_ids=lambda s: {str(i) for i in s.inspections},
    change=_quality_change,
    delete=_quality_delete,
    corrupt=_quality_corrupt,
    writable=lambda s: str(_quality_live(s, "in_review")[-1]),
    remote_texts=lambda s, i: [note.body for note in s.notes_of(int(i))],
    remote_status=lambda s, i: s.inspections[int(i)].status,
    reply_is_public=False,  # feedback for the reviewed agent; nothing reaches the customer
    small_pages={"page_size": 20},
    fault_prefix="/api/",
)

# --------------------------------------------------------------------------------- osticket


def _portal_ids(s: OsTicketStandIn, status: str | None = None) -> list[int]:
    return sorted(i for i, t in s.tickets.items() if status is None or t.status == status)


def _portal_change(s: OsTicketStandIn) -> set[str]:
    first, second = _portal_ids(s, "open")[:2]
    s.update_ticket(first, status="resolved")
    s.add_entry(second, FOLLOW_UP)
    return {str(first), str(second)}


def _portal_delete(s: OsTicketStandIn) -> str:
    victim = _portal_ids(s)[-1]
    s.delete_ticket(victim)
    return str(victim)


def _portal_corrupt(s: OsTicketStandIn) -> str:
    victim = _portal_ids(s)[7]
    s.corrupt(victim, "updated", "0000-00-00 00:00:00")
    return str(victim)


OSTICKET = ContractCase(
    name="osticket",
    adapter=OsTicketAdapter,
    stand_in=lambda seeds, tmp: OsTicketStandIn(seeds),
    build=lambda context, http: OsTicketAdapter(context, http_settings=http),
    ticket_ids=lambda s: {str(i) for i in s.tickets},
    change=_portal_change,
    delete=_portal_delete,
    corrupt=_portal_corrupt,
    writable=lambda s: str(_portal_ids(s, "open")[-1]),
    remote_texts=lambda s, i: [entry.body for entry in s.ticket(int(i)).entries],
    remote_status=lambda s, i: s.ticket(int(i)).status,
    small_pages={"page_size": 20},
    fault_prefix="/api/",
)

# -------------------------------------------------------------------------------------- csv


def _export(seeds: list[Any], tmp: Path) -> CsvExportStandIn:
    stand_in = CsvExportStandIn(seeds, tmp / "exports")
    stand_in.write_initial()
    return stand_in


def _export_change(s: CsvExportStandIn) -> set[str]:
    first, second = sorted(s.tickets)[:2]
    changed = [s.update_ticket(first, status="closed"), s.update_ticket(second)]
    s.write_export("tickets-2099-01-01.csv", changed)
    return {str(first), str(second)}


def _export_corrupt(s: CsvExportStandIn) -> str:
    """A night whose file has one unreadable row between two good ones."""
    good = [s.export_row(s.tickets[i]) for i in sorted(s.tickets)[:2]]
    bad = {**good[0], "Ticket ID": "990001", "Created time": "yesterday evening"}
    s.write_rows("tickets-2099-02-02.csv", [good[0], bad, good[1]])
    return "990001"


CSV = ContractCase(
    name="csv",
    adapter=CsvExportAdapter,
    kind=Transport.FILE,
    stand_in=_export,
    connect=lambda s, where: s.connection(),
    ticket_ids=lambda s: {str(i) for i in s.tickets},
    change=_export_change,
    corrupt=_export_corrupt,
    missing_location=lambda path: {"folder": str(path)},
    not_applicable={
        "check_bad_credentials": "a folder has no credentials (unreadable files: test_csv_export)",
        "deleted": "a nightly export lists no deleted tickets; there is nothing to pull",
    },
)

# -------------------------------------------------------------------------------- freshdesk


def _freshdesk_live(s: FreshdeskStandIn, status: int | None = None) -> list[int]:
    return [
        i
        for i in s.ticket_ids()
        if not s.raw_ticket(i)["deleted"] and status in (None, s.raw_ticket(i)["status"])
    ]


def _freshdesk_change(s: FreshdeskStandIn) -> set[str]:
    first, second = _freshdesk_live(s, 2)[:2]
    s.update_ticket(first, status=4)
    s.add_customer_reply(second, FOLLOW_UP)
    return {str(first), str(second)}


def _freshdesk_delete(s: FreshdeskStandIn) -> str:
    victim = _freshdesk_live(s)[-1]
    s.delete_ticket(victim)
    return str(victim)


def _freshdesk_corrupt(s: FreshdeskStandIn) -> str:
    victim = _freshdesk_live(s)[4]
    s.update_ticket(victim, updated_at="last Tuesday")
    return str(victim)


FRESHDESK = ContractCase(
    name="freshdesk",
    adapter=FreshdeskAdapter,
    stand_in=lambda seeds, tmp: FreshdeskStandIn(seeds),
    build=lambda context, http: FreshdeskAdapter(context, http=http),
    ticket_ids=lambda s: {str(i) for i in _freshdesk_live(s)},
    change=_freshdesk_change,
    delete=_freshdesk_delete,
    corrupt=_freshdesk_corrupt,
    writable=lambda s: str(_freshdesk_live(s, 2)[-1]),
    remote_texts=lambda s, i: [c["body_text"] for c in s.conversations_of(int(i))],
    remote_status=lambda s, i: STATUS_CHOICES[s.raw_ticket(int(i))["status"]][0],
    small_pages={"page_size": 30},
    fault_prefix="/api/",
    lookback_repeats=True,  # updated_since is re-read with a lookback
)

# ----------------------------------------------------------------------------------- zammad


def _zammad_live(s: ZammadStandIn, state: str | None = None) -> list[int]:
    return [
        i for i in s.ticket_ids() if s.state_of(i) != "removed" and state in (None, s.state_of(i))
    ]


def _zammad_change(s: ZammadStandIn) -> set[str]:
    first, second = _zammad_live(s, "open")[:2]
    s.update_ticket(first, state="closed")
    s.add_customer_reply(second, FOLLOW_UP)
    return {str(first), str(second)}


def _zammad_delete(s: ZammadStandIn) -> str:
    victim = _zammad_live(s)[-1]
    s.delete_ticket(victim)
    return str(victim)


def _zammad_corrupt(s: ZammadStandIn) -> str:
    victim = _zammad_live(s)[4]
    s.update_ticket(victim, created_at="last Tuesday")
    return str(victim)


ZAMMAD = ContractCase(
    name="zammad",
    adapter=ZammadAdapter,
    stand_in=lambda seeds, tmp: ZammadStandIn(seeds),
    build=lambda context, http: ZammadAdapter(context, http=http),
    ticket_ids=lambda s: {str(i) for i in _zammad_live(s)},
    change=_zammad_change,
    delete=_zammad_delete,
    corrupt=_zammad_corrupt,
    writable=lambda s: str(_zammad_live(s, "open")[-1]),
    remote_texts=lambda s, i: [a["body"] for a in s.articles_of(int(i))],
    remote_status=lambda s, i: s.state_of(int(i)),
    small_pages={"page_size": 30},
    fault_prefix="/api/",
    lookback_repeats=True,  # the search by updated_at is re-read with a lookback
)

# --------------------------------------------------------------------------------------- rt


def _rt_live(s: RtStandIn, status: str | None = None) -> list[int]:
    return [
        i
        for i in s.ticket_ids()
        if s.ticket(i).status != "deleted" and status in (None, s.ticket(i).status)
    ]


def _rt_change(s: RtStandIn) -> set[str]:
    first, second = _rt_live(s, "open")[:2]
    s.update_ticket(first, status="resolved")
    s.add_transaction(second, FOLLOW_UP)
    return {str(first), str(second)}


def _rt_delete(s: RtStandIn) -> str:
    victim = _rt_live(s)[-1]
    s.delete_ticket(victim)
    return str(victim)


def _rt_corrupt(s: RtStandIn) -> str:
    victim, later = _rt_live(s)[4:6]
    s.corrupt(victim, Created="soon")
    s.update_ticket(later)  # changed after it: the bad ticket is not alone on the last page
    return str(victim)


def _rt_stand_in(seeds: list[Any], tmp: Path) -> RtStandIn:
    """RT re-keys the quality tickets; 30 of them keep its per-ticket history reads quick."""
    quality = [t for t in seeds if t.system == "quality"][:30]
    return RtStandIn([t for t in seeds if t.system != "quality"] + quality)


RT = ContractCase(
    name="rt",
    adapter=RtAdapter,
    stand_in=_rt_stand_in,
    build=lambda context, http: RtAdapter(context, http=http),
    ticket_ids=lambda s: {str(i) for i in _rt_live(s)},
    change=_rt_change,
    delete=_rt_delete,
    corrupt=_rt_corrupt,
    writable=lambda s: str(_rt_live(s, "open")[-1]),
    remote_texts=lambda s, i: [text for _kind, _creator, text in s.conversation(int(i))],
    remote_status=lambda s, i: s.ticket(int(i)).status,
    small_pages={"page_size": 8},
    fault_prefix=REST,
)

# ------------------------------------------------------------------------------------ znuny


def _znuny_live(s: ZnunyStandIn, state: str | None = None) -> list[int]:
    return [
        i
        for i in s.ticket_ids()
        if s.ticket(i).state != "removed" and state in (None, s.ticket(i).state)
    ]


def _znuny_change(s: ZnunyStandIn) -> set[str]:
    first, second = _znuny_live(s, "open")[:2]
    s.update_ticket(first, state="closed successful")
    s.add_article(second, FOLLOW_UP)
    return {str(first), str(second)}


def _znuny_delete(s: ZnunyStandIn) -> str:
    victim = _znuny_live(s)[-1]
    s.delete_ticket(victim)
    return str(victim)


def _znuny_corrupt(s: ZnunyStandIn) -> str:
    victim = _znuny_live(s)[4]
    s.corrupt(victim, Created="gestern")
    return str(victim)


ZNUNY = ContractCase(
    name="znuny",
    adapter=ZnunyAdapter,
    stand_in=lambda seeds, tmp: ZnunyStandIn(seeds),
    build=lambda context, http: ZnunyAdapter(context, http=http),
    ticket_ids=lambda s: {str(i) for i in _znuny_live(s)},
    change=_znuny_change,
    delete=_znuny_delete,
    corrupt=_znuny_corrupt,
    writable=lambda s: str(_znuny_live(s, "open")[-1]),
    remote_texts=lambda s, i: [article.body for article in s.ticket(int(i)).articles],
    remote_status=lambda s, i: s.ticket(int(i)).state,
    small_pages={"page_size": 20},
    fault_prefix=ZNUNY_PATH,
)

TestZendeskContract = contract_test_class(ZENDESK)
TestQualityContract = contract_test_class(QUALITY)
TestOsTicketContract = contract_test_class(OSTICKET)
TestCsvContract = contract_test_class(CSV)
TestFreshdeskContract = contract_test_class(FRESHDESK)
TestZammadContract = contract_test_class(ZAMMAD)
TestRtContract = contract_test_class(RT)
TestZnunyContract = contract_test_class(ZNUNY)
