"""The ``declarative`` adapter: mapping files against the in-house stand-in over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC
from pathlib import Path
from typing import Any, TypeVar

import pytest

from adapters._http import HttpSettings
from adapters.base import ActionKind, ActionRequest, AdapterContext, Capability
from adapters.declarative import DeclarativeAdapter, load_spec
from adapters.declarative.locate import key_lines
from app.domain import AdapterError, ConfigError, MessageKind, RecordError, SecretError, Status
from sandbox.inhouse import STYLES, InhouseStandIn

FIXTURES = Path(__file__).parent.parent / "fixtures" / "declarative"
DOC_EXAMPLE = Path(__file__).parents[2] / "docs" / "declarative-adapters.md"
FAST = HttpSettings(retries=1, backoff_base=0.01, backoff_max=0.05, read_timeout=10)
UNIFIED = {
    "NEW": Status.NEW,
    "OPEN": Status.OPEN,
    "WAITING": Status.PENDING,
    "HOLD": Status.ON_HOLD,
    "RESOLVED": Status.SOLVED,
    "CLOSED": Status.CLOSED,
}
T = TypeVar("T")


def run(coro: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(coro())  # type: ignore[arg-type]


class Secrets:
    """An ``AdapterContext.secret`` getter that records which names were asked for."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.asked: list[str] = []

    def __call__(self, key: str) -> str:
        self.asked.append(key)
        if key not in self.values:
            raise SecretError(f"no secret {key!r} in the keyring")
        return self.values[key]


def connect(
    stand: InhouseStandIn,
    url: str,
    mapping: Path | None = None,
    *,
    secrets: Secrets | None = None,
) -> tuple[DeclarativeAdapter, Secrets]:
    conn = stand.connection(url, str(mapping) if mapping else None)
    getter = secrets or Secrets(conn["secrets"])
    context = AdapterContext("inhouse", conn["settings"], getter, conn["naive_zone"])
    return DeclarativeAdapter(context, http=FAST), getter


async def pull_all(adapter: DeclarativeAdapter, cursor: str | None) -> dict[str, Any]:
    """Pull until ``has_more`` is false; tickets by id, pages, quarantined, last cursor."""
    tickets: dict[str, Any] = {}
    quarantined: list[RecordError] = []
    cursors: list[str | None] = []
    pages = 0
    while True:
        result = await adapter.pull(cursor)
        pages += 1
        cursor = result.cursor
        cursors.append(cursor)
        tickets.update({t.key.external_id: t for t in result.tickets})
        quarantined.extend(result.quarantined)
        if not result.has_more:
            return {
                "tickets": tickets,
                "pages": pages,
                "quarantined": quarantined,
                "cursor": cursor,
                "cursors": cursors,
            }


@pytest.fixture(params=STYLES)
def style(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# --- sync -------------------------------------------------------------------------------------


def test_each_style_syncs_fully_over_pages_then_incrementally(seed_tickets, serve, style) -> None:  # type: ignore[no-untyped-def]
    stand = InhouseStandIn(seed_tickets, style=style)
    adapter, secrets = connect(stand, serve(stand.app))

    async def scenario() -> None:
        try:
            full = await pull_all(adapter, None)
            assert full["pages"] >= 3
            assert full["quarantined"] == []
            assert set(full["tickets"]) == {str(t.id) for t in stand.tickets.values()}
            for remote in stand.tickets.values():
                got = full["tickets"][str(remote.id)]
                assert got.subject == remote.subject
                assert got.status is UNIFIED[remote.state] and got.native_status == remote.state
                # every zone and format ends up as the same aware UTC instant
                assert got.updated_at == remote.updated and got.updated_at.tzinfo is UTC
                assert got.created_at == remote.created
                assert [m.external_id for m in got.messages] == [str(m.id) for m in remote.messages]
                assert [m.created_at for m in got.messages] == [m.created for m in remote.messages]
                assert [m.kind is MessageKind.NOTE for m in got.messages] == [
                    m.internal for m in remote.messages
                ]
                assert got.requester.email == remote.requester_email
            assert (await adapter.pull(full["cursor"])).tickets == []  # nothing changed
            for secret in stand.demo_secrets().values():  # cursors are stored in SQLite
                assert not any(secret in str(c) for c in full["cursors"])

            ticket_ids = sorted(stand.tickets)
            stand.add_message(ticket_ids[3], "客户追加：还是不行")
            stand.update_ticket(ticket_ids[7], state="HOLD")
            stand.delete_ticket(ticket_ids[11])
            changed = await pull_all(adapter, full["cursor"])
            assert set(changed["tickets"]) == {str(ticket_ids[i]) for i in (3, 7, 11)}
            got = changed["tickets"]
            assert got[str(ticket_ids[3])].messages[-1].body_text == "客户追加：还是不行"
            assert got[str(ticket_ids[7])].status is Status.ON_HOLD
            assert got[str(ticket_ids[11])].deleted is True
            lists = [r for r in stand.requests if r.startswith("GET /api/tickets?")]
            assert "updated_since=" in lists[-1]
            again = await pull_all(adapter, changed["cursor"])
            assert again["tickets"] == {}
        finally:
            await adapter.aclose()

    run(scenario)
    assert set(secrets.asked) == set(stand.demo_secrets())  # only through AdapterContext.secret


def test_oauth2_client_credentials_from_the_mapping_file(seed_tickets, serve, tmp_path) -> None:  # type: ignore[no-untyped-def]
    stand = InhouseStandIn(seed_tickets, style="page", auth="oauth2", per_page=60)
    text = (FIXTURES / "page.toml").read_text()
    text = text.replace(
        'kind = "api_key"\nheader = "X-Api-Key"\nsecret = "api_key"',
        'kind = "oauth2"\ntoken_url = "/oauth/token"\nclient_id = "tabless"\n'
        'secret = "client_secret"',
    )
    mapping = tmp_path / "oauth.toml"
    mapping.write_text(text)
    adapter, secrets = connect(stand, serve(stand.app), mapping)

    async def scenario() -> dict[str, Any]:
        try:
            return await pull_all(adapter, None)
        finally:
            await adapter.aclose()

    assert len(run(scenario)["tickets"]) == len(stand.tickets)
    assert secrets.asked == ["client_secret"]


def test_check_reports_a_wrong_or_missing_secret(seed_tickets, serve) -> None:  # type: ignore[no-untyped-def]
    stand = InhouseStandIn(seed_tickets, style="cursor")
    url = serve(stand.app)
    wrong, _ = connect(stand, url, secrets=Secrets({"password": "nope"}))
    missing, _ = connect(stand, url, secrets=Secrets({}))
    good, _ = connect(stand, url)

    async def scenario() -> list[Any]:
        try:
            return [await a.check() for a in (wrong, missing, good)]
        finally:
            for a in (wrong, missing, good):
                await a.aclose()

    rejected, absent, ok = run(scenario)
    assert not rejected.ok and rejected.message.startswith("401")
    assert not absent.ok and "password" in absent.message
    assert ok.ok and url in ok.message


# --- actions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("write_style", ["page", "xml", "offset", "csv"])
def test_reply_note_and_status_round_trip(seed_tickets, serve, write_style) -> None:  # type: ignore[no-untyped-def]
    stand = InhouseStandIn(seed_tickets, style=write_style)
    adapter, _ = connect(stand, serve(stand.app))
    assert {Capability.REPLY, Capability.INTERNAL_NOTE, Capability.STATUS} <= (
        adapter.manifest.capabilities
    )
    target = next(t for t in stand.ordered() if t.state == "OPEN")
    ticket_id = str(target.id)

    async def scenario() -> None:
        try:
            full = await pull_all(adapter, None)
            reply = ActionRequest(
                ActionKind.REPLY, ticket_id, "key-reply", body="已为您退款 & <ok>"
            )
            outcome = await adapter.perform(reply)
            assert outcome.ok and outcome.remote_id == str(target.messages[-1].id)
            assert outcome.created_messages[0].body_text == "已为您退款 & <ok>"
            assert outcome.created_messages[0].kind is MessageKind.REPLY
            again = await adapter.perform(reply)  # the outbox may resend: no second message
            assert again.remote_id == outcome.remote_id
            assert sum(m.body == "已为您退款 & <ok>" for m in target.messages) == 1

            note = await adapter.perform(
                ActionRequest(ActionKind.NOTE, ticket_id, "key-note", body="internal only")
            )
            assert target.messages[-1].internal and note.remote_id == str(target.messages[-1].id)
            assert note.created_messages[0].kind is MessageKind.NOTE

            status = await adapter.perform(
                ActionRequest(ActionKind.SET_STATUS, ticket_id, "key-status", status=Status.SOLVED)
            )
            assert target.state == "RESOLVED"
            assert status.ticket is not None and status.ticket.status is Status.SOLVED

            changed = await pull_all(adapter, full["cursor"])
            echoed = changed["tickets"][ticket_id]
            assert echoed.status is Status.SOLVED
            assert [m.body_text for m in echoed.messages[-2:]] == [
                "已为您退款 & <ok>",
                "internal only",
            ]
        finally:
            await adapter.aclose()

    run(scenario)


def test_capabilities_follow_the_declared_endpoints(seed_tickets, serve) -> None:  # type: ignore[no-untyped-def]
    stand = InhouseStandIn(seed_tickets, style="next")
    adapter, _ = connect(stand, serve(stand.app))
    assert adapter.manifest.capabilities == {Capability.FULL_SYNC, Capability.INCREMENTAL_SYNC}
    assert DeclarativeAdapter.manifest.name == "declarative"

    async def scenario() -> None:
        try:
            await adapter.perform(ActionRequest(ActionKind.REPLY, "135001", "k", body="hi"))
        finally:
            await adapter.aclose()

    with pytest.raises(AdapterError, match="declares no endpoint for reply"):
        run(scenario)


# --- malformed records ------------------------------------------------------------------------


@pytest.mark.parametrize("bad_style", ["page", "xml", "next", "csv"])
def test_malformed_records_are_quarantined_and_the_rest_stored(
    seed_tickets, serve, bad_style
) -> None:  # type: ignore[no-untyped-def]
    stand = InhouseStandIn(seed_tickets, style=bad_style)
    first, second, third = sorted(stand.tickets)[:3]
    csv = bad_style == "csv"  # CSV columns are spelled like headers
    stand.corrupt(first, "Updated" if csv else "updated", "not a time")
    stand.corrupt(second, "State" if csv else "state", "ARCHIVED")
    if bad_style in ("xml", "csv"):
        stand.corrupt(third, "created" if bad_style == "xml" else "Created", "yesterday")
        third_field = "created_at"
    else:
        stand.corrupt(third, "title", {"nested": "object"})
        third_field = "subject"
    adapter, _ = connect(stand, serve(stand.app))

    async def scenario() -> dict[str, Any]:
        try:
            return await pull_all(adapter, None)
        finally:
            await adapter.aclose()

    result = run(scenario)
    reasons = {e.context.record_id: e for e in result["quarantined"]}
    assert set(reasons) == {str(first), str(second), str(third)}
    assert reasons[str(third)].context.field == third_field
    assert reasons[str(first)].context.field == "updated_at"
    assert "not a time" in reasons[str(first)].message
    assert reasons[str(second)].context.field == "status"
    assert "'ARCHIVED'" in reasons[str(second)].message
    assert all(e.context.system == "inhouse" for e in result["quarantined"])
    stored = result["tickets"]
    assert set(stored) == {str(t) for t in stand.tickets} - set(reasons)


def test_a_declared_status_default_keeps_unmapped_tickets(seed_tickets, serve, tmp_path) -> None:  # type: ignore[no-untyped-def]
    stand = InhouseStandIn(seed_tickets, style="cursor")
    odd = sorted(stand.tickets)[5]
    stand.corrupt(odd, "state", "ARCHIVED")
    text = (
        (FIXTURES / "cursor.toml")
        .read_text()
        .replace('CLOSED = "closed" }\n', 'CLOSED = "closed" }\ndefault = "closed"\n', 1)
    )
    mapping = tmp_path / "default.toml"
    mapping.write_text(text)
    adapter, _ = connect(stand, serve(stand.app), mapping)

    async def scenario() -> dict[str, Any]:
        try:
            return await pull_all(adapter, None)
        finally:
            await adapter.aclose()

    result = run(scenario)
    assert result["quarantined"] == []
    kept = result["tickets"][str(odd)]
    assert kept.status is Status.CLOSED and kept.native_status == "ARCHIVED"


# --- mapping-file mistakes --------------------------------------------------------------------


def _line(text: str, needle: str) -> int:
    """1-based line of the only line of ``text`` containing ``needle``."""
    found = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(found) == 1, (needle, found)
    return found[0]


MISTAKES = [
    (
        "record path in CSV",
        "csv",
        'path = "/api/tickets/{id}"\n',
        'path = "/api/tickets/{id}"\nrecord = "Id"\n',
        "endpoints.detail.record",
        'record = "Id"',
        "every row is a record",
    ),
    # (id, fixture, old, new, key, line marker, message part)
    (
        "unknown key",
        "page",
        "size = 20",
        "size = 20\npagesize = 20",
        "endpoints.list.pagination.pagesize",
        "pagesize = 20",
        "unknown key",
    ),
    (
        "wrong type",
        "page",
        "size = 20",
        'size = "20"',
        "endpoints.list.pagination.size",
        'size = "20"',
        "integer",
    ),
    ("missing key", "page", 'subject = "$.title"\n', "", "ticket.subject", "[ticket]", "required"),
    (
        "bad JSONPath",
        "page",
        'records = "$.tickets[*]"',
        'records = "$.tickets[*"',
        "endpoints.list.records",
        'records = "$.tickets[*"',
        "not a valid JSONPath",
    ),
    (
        "bad XPath",
        "xml",
        'subject = "title"',
        'subject = "title[@"',
        "ticket.subject",
        'subject = "title[@"',
        "not a valid XPath",
    ),
    (
        "unknown auth kind",
        "page",
        'kind = "api_key"',
        'kind = "digest"',
        "auth.kind",
        'kind = "digest"',
        "'digest'",
    ),
    (
        "status outside vocabulary",
        "page",
        'WAITING = "pending"',
        'WAITING = "waiting"',
        "status.values.WAITING",
        'WAITING = "waiting"',
        "'on_hold'",
    ),
    (
        "unknown pagination style",
        "cursor",
        'style = "cursor"',
        'style = "pages"',
        "endpoints.list.pagination.style",
        'style = "pages"',
        "next_link",
    ),
    (
        "bad zone",
        "xml",
        'zone = "Asia/Shanghai"\n\n[endpoints.detail]',
        'zone = "Mars/Olympus"\n\n[endpoints.detail]',
        "endpoints.list.incremental.zone",
        'zone = "Mars/Olympus"',
        "IANA",
    ),
    (
        "bad time format",
        "next",
        '[timestamps]\nformat = "epoch_ms"',
        '[timestamps]\nformat = "millis"',
        "timestamps.format",
        'format = "millis"',
        "strptime",
    ),
    (
        "api key without header or query",
        "page",
        'header = "X-Api-Key"\n',
        "",
        "auth.header",
        "[auth]",
        "header or a query",
    ),
    (
        "kind without kinds",
        "xml",
        'kinds = { public = "reply", internal = "note" }\n',
        "",
        "message.kinds",
        "[message]",
        "kinds table",
    ),
    (
        "array of tables",
        "page",
        'path = "$.queue"',
        'path = "$.queue"\n\n[[ticket.extra]]\nname = "broken"\npath = "$.["',
        "ticket.extra[1].path",
        'path = "$.["',
        "JSONPath",
    ),
    ("TOML syntax", "page", "size = 20", "size = = 20", "", "size = = 20", "not valid TOML"),
    (
        "relative endpoint path",
        "page",
        'path = "/api/tickets/{id}/notes"',
        'path = "api/tickets/{id}/notes"',
        "endpoints.note.path",
        'path = "api/tickets/{id}/notes"',
        "must start with '/'",
    ),
]


@pytest.mark.parametrize(
    ("fixture", "old", "new", "key", "marker", "words"),
    [m[1:] for m in MISTAKES],
    ids=[m[0] for m in MISTAKES],
)
def test_mapping_mistakes_name_file_line_and_key(
    tmp_path, fixture, old, new, key, marker, words
) -> None:  # type: ignore[no-untyped-def]
    original = (FIXTURES / f"{fixture}.toml").read_text()
    assert original.count(old) == 1
    text = original.replace(old, new)
    path = tmp_path / "crm.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_spec(path, system="crm")
    error = caught.value
    line = _line(text, marker)
    assert error.details["file"] == str(path)
    assert error.details["line"] == line
    assert error.details["key"] == key
    where = f"{path}, line {line}" + (f", key {key}" if key else "")
    assert f"{where}: " in error.message
    assert words in error.message
    assert error.context.system == "crm"


def test_the_adapter_refuses_a_broken_mapping_file_when_built(tmp_path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('version = 1\n[source]\nformat = "yaml"\n')
    context = AdapterContext(
        "crm", {"mapping": str(path), "base_url": "http://127.0.0.1:1"}, Secrets({})
    )
    with pytest.raises(ConfigError) as caught:
        DeclarativeAdapter(context)
    problems = caught.value.details["problems"]
    assert (3, "source.format") in [(p[0], p[1]) for p in problems]
    assert ("ticket" in {p[1] for p in problems}) and caught.value.details["line"] >= 1
    missing = AdapterContext("crm", {"mapping": str(tmp_path / "nope.toml")}, Secrets({}))
    with pytest.raises(ConfigError, match="cannot read the mapping file"):
        DeclarativeAdapter(missing)


def test_every_example_file_is_valid() -> None:
    examples = sorted(FIXTURES.glob("*.toml"))
    assert {p.stem for p in examples} >= set(STYLES)
    for path in examples:
        load_spec(path)
    doc = DOC_EXAMPLE.read_text()
    block = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    assert block == (FIXTURES / "page.toml").read_text()


def test_key_lines_follow_nested_tables_and_arrays_of_tables() -> None:
    text = (
        "a = 1\n"
        "[t.u]\n"
        'k = { x = 1, y = { z = "}" } }\n'
        "[[t.items]]\n"
        'name = "first"\n'
        "[[t.items]]\n"
        "name = '''multi\n"
        "[not.a.table]\n"
        "'''\n"
        "[t.items.sub]\n"
        "deep = [\n  1,\n  { w = 2 },\n]\n"
        '"quoted.key" = 3\n'
    )
    lines = key_lines(text)
    assert lines[("a",)] == 1
    assert lines[("t", "u", "k", "y", "z")] == 3
    assert lines[("t", "items", 0, "name")] == 5
    assert lines[("t", "items", 1, "name")] == 7
    assert ("not", "a", "table") not in lines
    assert lines[("t", "items", 1, "sub", "deep", 1, "w")] == 13
    assert lines[("t", "items", 1, "sub", "quoted.key")] == 15


def test_built_by_the_registry_with_secrets_from_the_real_keyring(
    seed_tickets, serve, real_keyring: str
) -> None:  # type: ignore[no-untyped-def]
    from app.config import SystemEntry
    from app.registry import build_adapter, manifest_of
    from app.secrets import SecretStore

    assert manifest_of("declarative").field("mapping").required
    stand = InhouseStandIn(seed_tickets, style="xml")
    conn = stand.connection(serve(stand.app), str(FIXTURES / "xml.toml"))
    store = SecretStore(service="tabless-test")
    store.set("crm-xml", "password", conn["secrets"]["password"])
    entry = SystemEntry("crm-xml", "declarative", "CRM", conn["settings"], conn["naive_zone"])
    adapter = build_adapter(entry, store)
    assert Capability.STATUS in adapter.manifest.capabilities

    async def scenario() -> Any:
        try:
            return await adapter.check()
        finally:
            await adapter.aclose()

    result = run(scenario)
    assert result.ok, result.message
    store.delete("crm-xml", "password")


def test_simulated_activity_shows_up_in_the_next_incremental_pull(seed_tickets, serve) -> None:  # type: ignore[no-untyped-def]
    import random

    stand = InhouseStandIn(seed_tickets, style="link")
    adapter, _ = connect(stand, serve(stand.app))
    rng = random.Random(7)

    async def scenario() -> tuple[set[str], set[str]]:
        try:
            full = await pull_all(adapter, None)
            before = {t.id: t.updated for t in stand.tickets.values()}
            for _ in range(4):
                stand.simulate_activity(rng)
            after = {str(t.id) for t in stand.tickets.values() if before.get(t.id) != t.updated}
            changed = await pull_all(adapter, full["cursor"])
            return after, set(changed["tickets"])
        finally:
            await adapter.aclose()

    expected, got = run(scenario)
    assert expected and got == expected
