"""The ``csv`` adapter against the nightly-export stand-in: real files in a real folder."""

from __future__ import annotations

import asyncio
import json
import random
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.base import ActionKind, ActionRequest, AdapterContext, Capability, PullResult
from adapters.csv_export.adapter import CsvExportAdapter
from adapters.csv_export.client import ExportFile, ExportFolder
from app.domain import (
    ConfigError,
    DecodeError,
    MessageKind,
    Priority,
    RecordError,
    Status,
    Ticket,
    UnreachableError,
)
from sandbox.csv_export import CsvExportStandIn

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "csv"
SYSTEM = "csv-export"
UNIFIED = {
    "new": Status.OPEN,  # Freshdesk has no "new": the export says Open
    "open": Status.OPEN,
    "pending": Status.PENDING,
    "on_hold": Status.ON_HOLD,
    "solved": Status.SOLVED,
    "closed": Status.CLOSED,
}


def make_adapter(
    folder: Path | str, *, naive_zone: str = "UTC", **settings: Any
) -> CsvExportAdapter:
    def no_secrets(key: str) -> str:
        raise AssertionError(f"the csv adapter asked for a secret: {key}")

    return CsvExportAdapter(
        AdapterContext(
            system_id=SYSTEM,
            settings={"folder": str(folder), **settings},
            secret=no_secrets,
            naive_zone=naive_zone,
        )
    )


def connect(stand_in: CsvExportStandIn) -> CsvExportAdapter:
    """An adapter built exactly from what the stand-in tells the demo."""
    connection = stand_in.connection()
    assert connection["adapter"] == "csv" and connection["secrets"] == {}
    return make_adapter(connection["settings"]["folder"], naive_zone=connection["naive_zone"])


@dataclass
class Sync:
    """Everything a run of pulls handed to the sync engine."""

    tickets: dict[str, Ticket] = field(default_factory=dict)  # as the cache would hold them
    returned: list[Ticket] = field(default_factory=list)
    quarantined: list[RecordError] = field(default_factory=list)
    files_read: list[str] = field(default_factory=list)
    pulls: int = 0
    cursor: str | None = None


def sync(adapter: CsvExportAdapter, cursor: str | None = None, base: Sync | None = None) -> Sync:
    """Pull until ``has_more`` is False, upserting like the engine does."""
    state = Sync(tickets=dict(base.tickets) if base else {}, cursor=cursor)

    async def run() -> None:
        while True:
            result: PullResult = await adapter.pull(state.cursor)
            state.pulls += 1
            assert adapter.last_pull is not None
            state.files_read.extend(adapter.last_pull.read)
            state.returned.extend(result.tickets)
            state.quarantined.extend(result.quarantined)
            for ticket in result.tickets:
                state.tickets[ticket.key.external_id] = ticket
            state.cursor = result.cursor
            if not result.has_more:
                return

    asyncio.run(run())
    return state


@pytest.fixture
def export(seed_tickets: list[Any], tmp_path: Path) -> CsvExportStandIn:
    stand_in = CsvExportStandIn(seed_tickets, tmp_path / "exports")
    stand_in.write_initial()
    return stand_in


def csv_files(folder: Path) -> list[str]:
    """The export files as a person sees them (pathlib's glob would also list hidden ones)."""
    return sorted(path.name for path in folder.glob("*.csv") if not path.name.startswith("."))


# -- full sync -------------------------------------------------------------------------------


def test_full_sync_reads_every_file_and_keeps_the_latest_state(
    export: CsvExportStandIn,
) -> None:
    files = csv_files(export.folder)
    assert len(files) > 5  # one export per night

    result = sync(connect(export))

    assert result.quarantined == []
    assert result.files_read == files  # each file once, in name order
    assert result.pulls == len(files)
    assert set(result.tickets) == {str(ticket_id) for ticket_id in export.tickets}
    for ticket_id, seed in export.tickets.items():
        ticket = result.tickets[str(ticket_id)]
        assert ticket.key.system_id == SYSTEM
        assert ticket.subject == seed.subject
        assert ticket.created_at == seed.created_at  # naive export times read as UTC
        assert ticket.updated_at == seed.updated_at  # the last file's version won
        assert ticket.created_at.tzinfo is UTC
        assert ticket.status is UNIFIED[seed.status]
        assert ticket.requester is not None and ticket.requester.email == seed.customer.email
        assert ticket.queue == seed.queue
        assert ticket.tags == tuple(seed.tags)
        assert ticket.extra["export_file"] == export.file_name(seed.updated_at.date())
        (message,) = ticket.messages
        assert message.kind is MessageKind.REPLY and message.public
        assert message.external_id == f"{ticket_id}-description"
        assert message.body_text == f"{seed.entries[0].body}\n\n— {seed.customer.name}"
        assert message.author == ticket.requester
        assert message.created_at == seed.created_at


def test_chinese_text_multi_line_cells_and_freshdesk_vocabularies_survive(
    export: CsvExportStandIn,
) -> None:
    result = sync(connect(export))

    chinese = [t for t in result.tickets.values() if re.search("[\u4e00-\u9fff]", t.subject)]
    assert len(chinese) > 10
    assert all("\n\n— " in t.messages[0].body_text for t in result.tickets.values())
    multi_line_seed = [t for t in export.tickets.values() if "\n" in t.entries[0].body]
    for seed in multi_line_seed:  # a line break inside the customer's own text
        assert seed.entries[0].body in result.tickets[str(seed.id)].messages[0].body_text
    natives = {t.native_status for t in result.tickets.values()}
    assert natives <= {
        "Open",
        "Pending",
        "Waiting on Customer",
        "Waiting on Third Party",
        "Resolved",
        "Closed",
    }
    assert {t.priority for t in result.tickets.values()} <= {
        Priority.LOW,
        Priority.NORMAL,
        Priority.HIGH,
        Priority.URGENT,
    }
    by_priority = {seed.priority for seed in export.tickets.values()}
    assert {t.priority.value for t in result.tickets.values() if t.priority} == by_priority


def test_a_ticket_in_several_files_is_returned_with_each_newer_state(
    export: CsvExportStandIn,
) -> None:
    multi_day = [
        seed
        for seed in export.tickets.values()
        if len({entry.created_at.date() for entry in seed.entries}) > 1
    ]
    assert multi_day, "the seed has tickets updated on later days"

    result = sync(connect(export))

    for seed in multi_day:
        versions = [t for t in result.returned if t.key.external_id == str(seed.id)]
        assert len(versions) > 1
        stamps = [t.updated_at for t in versions]
        assert stamps == sorted(stamps)  # never an older state after a newer one
        assert versions[-1].updated_at == seed.updated_at


def test_export_files_are_utf8_bom_crlf_with_freshdesk_columns(export: CsvExportStandIn) -> None:
    data = (export.folder / csv_files(export.folder)[0]).read_bytes()
    assert data.startswith(b'\xef\xbb\xbf"Ticket ID","Subject","Description","Status"')
    header = data.split(b"\r\n", 1)[0].decode("utf-8-sig")
    assert header.endswith(
        '"Full name","Email","Work phone","Mobile phone","Contact ID","Company Name"'
    )
    assert data.endswith(b"\r\n")
    assert b"\n\n\xe2\x80\x94 " in data  # the multi-line Description cell ("\n\n— name")
    assert b"\r\n\r\n" not in data  # no blank records


# -- incremental ----------------------------------------------------------------------------


def test_a_second_pull_without_changes_reads_nothing(export: CsvExportStandIn) -> None:
    adapter = connect(export)
    first = sync(adapter)

    again = sync(adapter, first.cursor)

    assert again.pulls == 1
    assert again.returned == [] and again.quarantined == []
    assert again.files_read == []  # not one file opened
    assert adapter.last_pull is not None and adapter.last_pull.listed == len(first.files_read)
    assert again.cursor == first.cursor


def test_a_new_export_file_brings_only_its_tickets(export: CsvExportStandIn) -> None:
    adapter = connect(export)
    first = sync(adapter)
    ids = sorted(export.tickets)[:2]
    changed = [export.update_ticket(ids[0], status="closed"), export.update_ticket(ids[1])]
    export.write_export("tickets-2099-01-01.csv", changed)

    later = sync(adapter, first.cursor, first)

    assert later.files_read == ["tickets-2099-01-01.csv"]
    assert sorted(t.key.external_id for t in later.returned) == sorted(map(str, ids))
    assert later.tickets[str(ids[0])].status is Status.CLOSED
    assert later.tickets[str(ids[0])].native_status == "Closed"
    assert later.tickets[str(ids[0])].updated_at == changed[0].updated_at
    assert (
        later.tickets[str(ids[0])]
        .extra["closed_at"]
        .startswith(changed[0].updated_at.strftime("%Y-%m-%dT%H:%M"))
    )


def test_simulated_night_rewrites_tonights_file_and_brings_the_changes(
    export: CsvExportStandIn,
) -> None:
    adapter = connect(export)
    first = sync(adapter)
    before = {tid: t.updated_at for tid, t in export.tickets.items()}

    tonight = export.simulate_activity(random.Random(7))
    later = sync(adapter, first.cursor, first)

    changed = {str(tid) for tid, t in export.tickets.items() if before.get(tid) != t.updated_at}
    assert changed
    assert later.files_read == [tonight.name]
    assert changed <= {t.key.external_id for t in later.returned}
    for ticket_id in changed:
        seed = export.tickets[int(ticket_id)]
        assert later.tickets[ticket_id].updated_at == seed.updated_at
        assert later.tickets[ticket_id].status is UNIFIED[seed.status]


def test_a_rewritten_file_is_read_again(export: CsvExportStandIn) -> None:
    adapter = connect(export)
    first = sync(adapter)
    seed = export.tickets[min(export.tickets)]
    name = export.file_name(seed.updated_at.date())  # the night of its last update
    night = [s for s in export.tickets.values() if export.file_name(s.updated_at.date()) == name]
    export.update_ticket(seed.id, status="on_hold", at=seed.updated_at + timedelta(seconds=1))
    export.write_rows(name, [export.export_row(s) for s in night])  # that night, re-exported

    later = sync(adapter, first.cursor, first)

    assert later.files_read == [name]
    assert {t.key.external_id for t in later.returned} == {str(s.id) for s in night}
    assert later.tickets[str(seed.id)].status is Status.ON_HOLD
    assert later.tickets[str(seed.id)].native_status == "Waiting on Third Party"
    assert later.cursor != first.cursor
    assert sync(adapter, later.cursor).files_read == []


def test_an_older_file_rewritten_later_does_not_undo_newer_states(
    export: CsvExportStandIn,
) -> None:
    adapter = connect(export)
    first = sync(adapter)
    oldest = csv_files(export.folder)[0]
    seed = export.tickets[int(first.returned[0].key.external_id)]
    stale = export.export_row(seed) | {
        "Status": "Open",
        "Last update time": (seed.updated_at - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S"),
        "Subject": "stale subject from an old export",
    }
    fresh_id = max(export.tickets) + 1
    fresh = export.export_row(seed) | {"Ticket ID": str(fresh_id), "Subject": "brand new"}
    export.write_rows(oldest, [stale, fresh])

    later = sync(adapter, first.cursor, first)

    assert later.files_read == [oldest]
    assert [t.key.external_id for t in later.returned] == [str(fresh_id)]
    assert later.tickets[str(seed.id)] == first.tickets[str(seed.id)]


def test_within_one_file_the_latest_last_update_time_wins(
    export: CsvExportStandIn,
) -> None:
    seed = next(iter(export.tickets.values()))
    newer = export.export_row(seed) | {"Status": "Resolved", "Subject": "newer"}
    older = export.export_row(seed) | {
        "Status": "Open",
        "Subject": "older",
        "Last update time": (seed.updated_at - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S"),
    }
    shutil.rmtree(export.folder)
    export.write_rows("tickets-2026-12-01.csv", [newer, older])

    result = sync(connect(export))

    assert [t.subject for t in result.returned] == ["newer"]
    assert result.tickets[str(seed.id)].status is Status.SOLVED


class ExporterStillWriting(ExportFolder):
    """The real folder, with the exporter appending its last bytes right after the listing."""

    def __init__(self, folder: ExportFolder, path: Path, rest: bytes) -> None:
        super().__init__(folder.path, folder.pattern, system_id=SYSTEM)
        self.target, self.rest = path, rest

    def read(self, entry: ExportFile) -> bytes | None:
        if entry.name == self.target.name and self.rest:
            with self.target.open("ab") as handle:
                handle.write(self.rest)
            self.rest = b""
        return super().read(entry)


def test_a_file_being_written_is_skipped_and_read_next_time(export: CsvExportStandIn) -> None:
    adapter = connect(export)
    first = sync(adapter)
    seeds = [export.update_ticket(tid) for tid in sorted(export.tickets)[:3]]
    path = export.write_export("tickets-2099-02-01.csv", seeds)
    complete = path.read_bytes()
    path.write_bytes(complete[: len(complete) // 2])  # the exporter has written half of it
    real_folder = adapter.folder
    adapter.folder = ExporterStillWriting(real_folder, path, complete[len(complete) // 2 :])

    skipped = sync(adapter, first.cursor, first)

    assert adapter.last_pull is not None and adapter.last_pull.busy == (path.name,)
    assert skipped.files_read == [] and skipped.returned == [] and skipped.quarantined == []
    assert path.name not in json.loads(skipped.cursor or "{}")["files"]
    assert path.read_bytes() == complete

    adapter.folder = real_folder
    later = sync(adapter, skipped.cursor, skipped)  # next round: the file is complete

    assert later.files_read == [path.name] and later.quarantined == []
    assert {t.key.external_id for t in later.returned} == {str(s.id) for s in seeds}


def test_the_folder_reader_notices_a_size_change_between_stat_and_read(
    export: CsvExportStandIn,
) -> None:
    folder = connect(export).folder
    path = export.folder / csv_files(export.folder)[0]
    (entry,) = [e for e in folder.list() if e.name == path.name]
    assert folder.read(entry) == path.read_bytes()
    with path.open("ab") as handle:
        handle.write(b'"1","more"')
    assert folder.read(entry) is None


# -- layouts and encodings --------------------------------------------------------------------


def test_version_2_column_layout_reads_the_same(seed_tickets: list[Any], tmp_path: Path) -> None:
    v1 = CsvExportStandIn(seed_tickets, tmp_path / "v1")
    v2 = CsvExportStandIn(seed_tickets, tmp_path / "v2", layout=2)
    v1.write_initial()
    v2.write_initial()
    header = (v2.folder / csv_files(v2.folder)[0]).read_bytes().split(b"\r\n", 1)[0]
    assert b'"Last updated time"' in header and b'"Requester email"' in header
    assert b'"Last update time"' not in header and b'"Email"' not in header

    one, two = sync(connect(v1)), sync(connect(v2))

    assert two.quarantined == []
    assert two.tickets == one.tickets
    sample = next(iter(two.tickets.values()))
    assert sample.requester is not None and sample.requester.email
    assert sample.requester.name


def test_naive_times_are_read_in_the_configured_zone(
    seed_tickets: list[Any], tmp_path: Path
) -> None:
    shanghai = CsvExportStandIn(seed_tickets, tmp_path / "sh", zone="Asia/Shanghai")
    shanghai.write_initial()
    assert shanghai.connection()["naive_zone"] == "Asia/Shanghai"

    right = sync(connect(shanghai))
    wrong = sync(make_adapter(shanghai.folder, naive_zone="UTC"))

    for seed in shanghai.tickets.values():
        assert right.tickets[str(seed.id)].created_at == seed.created_at
        assert right.tickets[str(seed.id)].updated_at == seed.updated_at
        assert wrong.tickets[str(seed.id)].created_at == seed.created_at + timedelta(hours=8)


def test_a_gbk_file_without_bom_still_decodes(export: CsvExportStandIn) -> None:
    adapter = connect(export)
    first = sync(adapter)
    chinese = [s for s in export.tickets.values() if s.customer.email.endswith(".cn")][:5]
    for seed in chinese:
        export.update_ticket(seed.id)
    path = export.write_export("tickets-2099-03-01.csv", chinese, encoding="gbk")
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")

    later = sync(adapter, first.cursor, first)

    assert later.quarantined == []
    assert {t.key.external_id for t in later.returned} == {str(s.id) for s in chinese}
    for seed in chinese:
        ticket = later.tickets[str(seed.id)]
        assert ticket.subject == seed.subject
        assert ticket.requester is not None and ticket.requester.name == seed.customer.name


def test_hand_made_fixtures_bom_crlf_gbk_and_semicolons(tmp_path: Path) -> None:
    folder = tmp_path / "fixtures"
    folder.mkdir()
    for name in (
        "freshdesk-v1-utf8-bom-crlf.csv",
        "freshdesk-gbk-no-bom.csv",
        "freshdesk-v2-semicolon.csv",
    ):
        shutil.copy(FIXTURES / name, folder / name)

    result = sync(make_adapter(folder, naive_zone="Asia/Shanghai"))

    assert result.quarantined == []
    assert result.files_read == sorted(p.name for p in folder.iterdir())
    t101, t102, t103 = (result.tickets[i] for i in ("101", "102", "103"))
    assert t101.status is Status.PENDING and t101.native_status == "Waiting on Customer"
    assert t101.priority is Priority.HIGH
    assert t101.messages[0].body_text == (
        "你好，我的订单 482913 收到的商品有破损，想申请退款。\n\n谢谢！\n— 王芳"
    )
    assert t101.created_at == datetime(2026, 11, 28, 1, 15, tzinfo=UTC)  # 09:15 in Shanghai
    assert t101.assignee is not None and t101.assignee.name == "陈晓华"
    assert t101.tags == ("退款", "订单")
    assert t101.requester is not None and t101.requester.phone == "+86 13812345678"
    assert t101.extra["first_response_status"] == "Within SLA"
    assert t102.status is Status.SOLVED and t102.priority is Priority.NORMAL
    assert t102.extra["resolved_at"] == "2026-11-29T00:00:00Z"
    assert t103.priority is Priority.URGENT and t103.assignee is None
    assert result.tickets["201"].subject == "发票抬头填写错误"
    assert result.tickets["201"].status is Status.PENDING
    assert result.tickets["202"].status is Status.CLOSED
    assert result.tickets["301"].status is Status.ON_HOLD
    assert result.tickets["301"].requester is not None
    assert result.tickets["301"].requester.email == "mia.novak@example.com"
    assert result.tickets["301"].messages[0].body_text == "Line one\nLine two"
    assert result.tickets["302"].priority is None  # empty: unknown, never a guess


def test_an_explicit_delimiter_setting_is_used(tmp_path: Path) -> None:
    folder = tmp_path / "semi"
    folder.mkdir()
    shutil.copy(FIXTURES / "freshdesk-v2-semicolon.csv", folder / "export.csv")

    assert set(sync(make_adapter(folder, delimiter=";")).tickets) == {"301", "302"}
    wrong = sync(make_adapter(folder, delimiter="tab"))
    assert wrong.tickets == {}
    (error,) = wrong.quarantined
    assert "required column" in error.message and error.context.stream == "export.csv"


# -- bad input --------------------------------------------------------------------------------


def test_malformed_rows_are_quarantined_and_the_rest_of_the_file_is_kept(
    export: CsvExportStandIn,
) -> None:
    shutil.rmtree(export.folder)
    seeds = sorted(export.tickets.values(), key=lambda s: s.id)[:5]
    rows = [export.export_row(seed) for seed in seeds]
    rows[1]["Ticket ID"] = "12a"
    rows[3]["Last update time"] = "31/12/2026 25:61"
    path = export.write_rows("tickets-2026-12-02.csv", rows)
    with path.open("ab") as handle:  # a cut-off record at the end
        handle.write(b'"999","cut off"\r\n')

    result = sync(connect(export))

    assert set(result.tickets) == {str(seeds[i].id) for i in (0, 2, 4)}
    by_field = {error.context.field: error for error in result.quarantined}
    assert set(by_field) == {"Ticket ID", "Last update time", "Description"}
    bad_id, bad_time = by_field["Ticket ID"], by_field["Last update time"]
    cut = by_field["Description"]
    for error in result.quarantined:
        assert isinstance(error, RecordError)
        assert error.context.system == SYSTEM
        assert error.context.stream == "tickets-2026-12-02.csv"
        assert f"tickets-2026-12-02.csv line {error.details['line']}" in error.message
    assert bad_id.context.record_id == "12a" and "'12a' is not a ticket number" in bad_id.message
    assert bad_time.context.record_id == str(seeds[3].id)
    assert "'31/12/2026 25:61' is not a readable time" in bad_time.message
    assert cut.context.record_id == "999"
    lines = [bad_id.details["line"], bad_time.details["line"], cut.details["line"]]
    assert lines == sorted(lines) and lines[0] > 2  # real physical lines (cells span lines)
    data = path.read_text("utf-8-sig").replace("\r\n", "\n")
    assert data.split("\n")[bad_id.details["line"] - 1].startswith('"12a"')


def test_a_file_missing_a_required_column_is_quarantined_as_a_whole(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "a.csv").write_bytes(b'"Ticket ID","Subject","Status"\r\n"1","x","Open"\r\n')
    (folder / "b.csv").write_bytes((FIXTURES / "freshdesk-v2-semicolon.csv").read_bytes())

    result = sync(make_adapter(folder))

    assert set(result.tickets) == {"301", "302"}  # the next file still synced
    (error,) = result.quarantined
    assert error.context.stream == "a.csv" and error.context.field == "Created time"
    assert "'Created time', 'Last update time'" in error.message


def test_an_undecodable_file_is_quarantined_and_not_retried_until_it_changes(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "garbage"
    folder.mkdir()
    (folder / "a.csv").write_bytes(b"id,name\r\n1,\xff\xff\xff\r\n")
    adapter = make_adapter(folder)

    first = sync(adapter)
    (error,) = first.quarantined
    assert error.details["line"] == 2 and error.context.stream == "a.csv"
    assert sync(adapter, first.cursor).quarantined == []  # reported once

    (folder / "a.csv").write_bytes((FIXTURES / "freshdesk-gbk-no-bom.csv").read_bytes())
    assert set(sync(adapter, first.cursor).tickets) == {"201", "202"}


def test_an_unreadable_cursor_is_a_clear_error(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path)
    with pytest.raises(DecodeError, match="cursor is unreadable"):
        asyncio.run(adapter.pull("{not json"))
    with pytest.raises(DecodeError, match="cursor is unreadable"):
        asyncio.run(adapter.pull(json.dumps({"v": 99, "files": {}, "seen": {}})))


def test_a_vanished_file_is_forgotten_without_touching_tickets(export: CsvExportStandIn) -> None:
    adapter = connect(export)
    first = sync(adapter)
    gone = csv_files(export.folder)[0]
    (export.folder / gone).unlink()

    later = sync(adapter, first.cursor, first)

    assert later.returned == [] and later.files_read == []
    assert gone not in json.loads(later.cursor or "{}")["files"]
    assert later.tickets == first.tickets


# -- check, settings, read-only ---------------------------------------------------------------


def test_check_reports_a_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    adapter = make_adapter(missing)

    result = asyncio.run(adapter.check())

    assert not result.ok
    assert result.message == f"folder {missing} does not exist"
    with pytest.raises(UnreachableError, match="does not exist"):
        asyncio.run(adapter.pull(None))


def test_check_reports_a_file_instead_of_a_folder(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file.csv"
    not_a_folder.write_text("x")
    result = asyncio.run(make_adapter(not_a_folder).check())
    assert not result.ok and result.message == f"{not_a_folder} is not a folder"


def test_check_counts_the_export_files(export: CsvExportStandIn, tmp_path: Path) -> None:
    (export.folder / "notes.txt").write_text("not an export")
    (export.folder / ".tickets-2099-01-01.csv").write_text("an exporter's hidden temp file")
    files = csv_files(export.folder)

    result = asyncio.run(connect(export).check())

    assert result.ok and result.latency_ms is not None
    assert result.message == (
        f"folder {export.folder}: {len(files)} export files (newest: {files[-1]})"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    result = asyncio.run(make_adapter(empty).check())
    assert result.ok and result.message == f"folder {empty} is readable; no files match *.csv yet"


def test_pattern_setting_selects_files(export: CsvExportStandIn) -> None:
    tickets_files = csv_files(export.folder)
    export.write_export("archive-2020.csv", list(export.tickets.values())[:2])

    only_tickets = make_adapter(export.folder, pattern="tickets-*.csv")
    assert sync(only_tickets).files_read == tickets_files
    everything = sync(make_adapter(export.folder))
    assert everything.files_read == ["archive-2020.csv", *tickets_files]
    with pytest.raises(ConfigError, match="not a path"):
        make_adapter(export.folder, pattern="sub/*.csv")


def test_bad_settings_fail_when_the_adapter_is_built(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="delimiter"):
        make_adapter(tmp_path, delimiter=";;")
    with pytest.raises(ConfigError, match="Unknown time zone"):
        make_adapter(tmp_path, naive_zone="Mars/Olympus")
    with pytest.raises(ConfigError, match="needs a folder"):
        make_adapter("")


def test_the_adapter_is_read_only(export: CsvExportStandIn) -> None:
    adapter = connect(export)
    assert adapter.manifest.name == "csv"
    assert adapter.manifest.capabilities == {Capability.FULL_SYNC, Capability.INCREMENTAL_SYNC}
    assert not any(item.secret for item in adapter.manifest.config)

    outcome = asyncio.run(
        adapter.perform(ActionRequest(ActionKind.REPLY, "1", "key-1", body="hello"))
    )

    assert not outcome.ok and outcome.message == "Nightly CSV export is read-only"


def _varied_rows(export: CsvExportStandIn) -> list[dict[str, str]]:
    """Export rows with the cells the column-by-column path has to get exactly right."""
    rows = [export.export_row(seed) for seed in sorted(export.tickets.values(), key=lambda s: s.id)]
    rows[0]["Ticket ID"] = "0042"  # leading zeros: the id is read as a number
    rows[1]["Work phone"], rows[1]["Mobile phone"] = "+1 555 0100", "+1 555 0101"
    rows[2]["Created time"] = "2026-03-08T02:30:00"  # T separator; a DST gap in New York
    rows[3]["Resolved time"] = rows[3]["Closed time"] = "2026-11-01 01:30:00"  # a DST fold
    rows[4].update({"Full name": "", "Email": "", "Work phone": "", "Mobile phone": ""})
    rows[4]["Contact ID"] = ""  # nobody: no requester
    rows[5]["Tags"] = " a, b ,a,, "
    rows[6]["Description"] = ""
    return rows


def _reader_and_mapper(
    export: CsvExportStandIn, rows: list[dict[str, str]], zone: str
) -> tuple[Any, Any]:
    """The reader of an export file of ``rows`` and a RowMapper for it in ``zone``."""
    from adapters._formats.tabular import read_rows
    from adapters.csv_export.mapping import RowMapper, resolve_columns
    from app.domain import ErrorContext

    data = export.write_rows("tickets-2026-12-03.csv", rows).read_bytes()
    reader = read_rows(data, context=ErrorContext(stream="tickets-2026-12-03.csv"))
    mapper = RowMapper(
        reader.header,
        resolve_columns(reader.header),
        system_id=SYSTEM,
        file="tickets-2026-12-03.csv",
        naive_zone=zone,
    )
    return reader, mapper


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "America/New_York"])
def test_rows_mapped_column_by_column_equal_rows_mapped_one_by_one(
    export: CsvExportStandIn, tmp_path: Path, zone: str
) -> None:
    reader, mapper = _reader_and_mapper(export, _varied_rows(export), zone)
    blocks = list(reader.blocks(1000))
    assert len(blocks) == 1
    by_block = mapper.map_block(blocks[0].rows)
    one_by_one = [mapper.map_cells(line, cells) for line, cells in blocks[0].records()]
    assert by_block is not None and by_block == one_by_one
    assert [list(t.extra.items()) for t in by_block] == [list(t.extra.items()) for t in one_by_one]
    assert by_block[0].key.external_id == "42" and by_block[4].requester is None
    assert by_block[1].extra["mobile_phone"] == "+1 555 0101" and by_block[5].tags == ("a", "b")


@pytest.mark.parametrize("padded_row", [None, 0, 3])
def test_cells_with_spaces_around_them_read_as_the_trimmed_cells(
    export: CsvExportStandIn, padded_row: int | None
) -> None:
    # Ids and times are checked column by column as they are; one padded cell sends its block
    # to the row path, which trims. Repeating columns (status, source, group) are trimmed
    # once; priorities, agents and tags are read once per spelling, trimmed.
    rows = _varied_rows(export)
    padded = [dict(row) for row in rows]
    for key in ("Ticket ID", "Created time", "Last update time", "Due by Time", "Status"):
        if padded_row is not None:  # else the block is read column by column
            padded[padded_row][key] = f"  {padded[padded_row][key]} "
    for row in padded[4:8]:  # read once per spelling, by readers that trim
        for key in ("Priority", "Agent", "Tags", "Group"):
            row[key] = f" {row[key]}  "
    padded[1]["Source"] = f" {padded[1]['Source']}\t"
    adapter = make_adapter(".")
    clean = export.write_rows("clean.csv", rows).read_bytes()
    spaced = export.write_rows("spaced.csv", padded).read_bytes()

    expected, no_errors = adapter._parse("tickets.csv", clean)
    found, errors = adapter._parse("tickets.csv", spaced)

    assert not no_errors and not errors
    assert found == expected and len(found) >= len(rows) - 1  # "0042" is ticket 42 again
    assert [t.extra for t in found] == [t.extra for t in expected]
    assert {t.priority for t in found} == {t.priority for t in expected} != {None}


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai"])
@pytest.mark.parametrize(
    "odd",
    [
        "2026-11-04 01:13+01",  # 19 characters with an offset of its own
        "2026-11-04T01:13:54",
        "0999-01-01 00:00:00",  # a short year
        "2026-02-30 10:00:00",  # no such day
        "2026-W45-3 01:13:54",  # an ISO week date
        "2026-11-04 01:13:5x",
    ],
)
def test_a_block_reads_created_and_updated_times_as_the_row_path_does(
    export: CsvExportStandIn, zone: str, odd: str
) -> None:
    rows = _varied_rows(export)
    rows[1]["Created time"] = rows[3]["Last update time"] = odd
    reader, mapper = _reader_and_mapper(export, rows, zone)
    (block,) = reader.blocks(1000)
    one_by_one: list[Any] | None = []
    for line, cells in block.records():
        try:
            one_by_one.append(mapper.map_cells(line, cells))  # type: ignore[union-attr]
        except RecordError:
            one_by_one = None
            break
    by_block = mapper.map_block(block.rows)
    assert by_block == one_by_one or (by_block is None and one_by_one is not None)


@pytest.mark.parametrize("block_rows", [1, 3, 1024])
def test_bad_rows_in_a_block_are_quarantined_in_line_order_and_the_others_kept(
    export: CsvExportStandIn, monkeypatch: pytest.MonkeyPatch, block_rows: int
) -> None:
    import adapters.csv_export.adapter as adapter_module

    monkeypatch.setattr(adapter_module, "BLOCK_ROWS", block_rows)
    rows = _varied_rows(export)[:8]
    rows[2]["Closed time"] = "2026-02-30 10:00:00"  # no such day
    rows[5]["Status"] = ""
    path = export.write_rows("tickets-2026-12-04.csv", rows)
    text = path.read_bytes().replace(b'"' + rows[3]["Ticket ID"].encode() + b'",', b'"x",', 1)
    before_row_6 = b'\r\n"' + rows[6]["Ticket ID"].encode() + b'",'
    ragged = text.replace(before_row_6, b'\r\n"999"' + before_row_6, 1)  # a record of one cell

    tickets, errors = make_adapter(export.folder)._parse(path.name, ragged)

    assert [t.key.external_id for t in tickets] == [
        str(int(rows[i]["Ticket ID"])) for i in (0, 1, 4, 6, 7)
    ]
    assert [(e.context.field, e.context.record_id) for e in errors] == [
        ("Closed time", rows[2]["Ticket ID"]),
        ("Ticket ID", "x"),
        ("Status", rows[5]["Ticket ID"]),
        ("Subject", "999"),  # the ragged row
    ]
    lines = [e.details["line"] for e in errors]
    assert lines == sorted(lines)
