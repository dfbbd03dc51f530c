"""``tabless adapter check | preview | decode`` against a real Zendesk stand-in over HTTP, with
secrets from the real OS keyring or from ``TABLESS_SECRET_<KEY>``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from app import adapter_cli, registry
from app.adapter_cli import adapter_command
from app.secrets import SecretStore
from sandbox.zendesk import DEMO_CLIENT_SECRET, ZendeskStandIn

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "zendesk"
TICKET_KEYS = {
    "system",
    "external_id",
    "subject",
    "status",
    "native_status",
    "priority",
    "requester",
    "assignee",
    "tags",
    "created_at",
    "updated_at",
    "deleted",
    "messages",
}
MESSAGE_KEYS = {"external_id", "author", "body_text", "public", "created_at", "attachments"}
PERSON_KEYS = {"name", "email", "phone", "external_id"}


class Run:
    """What a command printed and returned."""

    def __init__(self, argv: list[str]) -> None:
        self.out: list[str] = []
        self.err: list[str] = []
        self.code = adapter_command(argv, out=self.out.append, err=self.err.append)

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    @property
    def stderr(self) -> str:
        return "".join(self.err)


@pytest.fixture
def zendesk_url(seed_tickets: list[Any], serve: Any) -> str:
    url: str = serve(ZendeskStandIn(seed_tickets).app)
    return url


@pytest.fixture
def system_id(real_keyring: str) -> Iterator[str]:
    """A system id of this test only; its keyring entries are removed afterwards."""
    name = f"cli-{uuid.uuid4().hex[:8]}"
    yield name
    SecretStore().delete(name, "client_secret")


def write_config(folder: Path, system_id: str, base_url: str) -> Path:
    path = folder / "system.toml"
    entry = {
        "adapter": "zendesk",
        "title": "Support",
        "naive_zone": "UTC",
        "settings": {"base_url": base_url, "client_id": "tabless_desktop", "page_size": 5},
    }
    path.write_text(tomli_w.dumps({"systems": {system_id: entry}}), encoding="utf-8")
    return path


def test_check_with_the_keyring_secret_succeeds(
    zendesk_url: str, system_id: str, tmp_path: Path
) -> None:
    SecretStore().set(system_id, "client_secret", DEMO_CLIENT_SECRET)
    run = Run(["check", str(write_config(tmp_path, system_id, zendesk_url))])
    assert run.code == 0, run.stderr
    assert run.stdout.startswith(f"ok: {system_id} (zendesk): connected to {zendesk_url} as ")
    assert DEMO_CLIENT_SECRET not in run.stdout + run.stderr


def test_check_with_a_wrong_secret_fails_readably(
    zendesk_url: str, system_id: str, tmp_path: Path
) -> None:
    wrong = "not-the-secret-4711"
    SecretStore().set(system_id, "client_secret", wrong)
    run = Run(["check", str(write_config(tmp_path, system_id, zendesk_url))])
    assert run.code == 1
    assert run.stderr == (
        f"FAILED: {system_id} (zendesk): 401 — the client id or secret was rejected\n"
    )
    assert wrong not in run.stdout + run.stderr


def test_check_of_an_unreachable_system_names_the_reason(system_id: str, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    SecretStore().set(system_id, "client_secret", DEMO_CLIENT_SECRET)
    run = Run(["check", str(write_config(tmp_path, system_id, dead))])
    assert run.code == 1
    assert f"cannot connect to {dead}: connection refused" in run.stderr


def test_a_missing_keyring_entry_and_a_missing_file_are_explained(
    zendesk_url: str, system_id: str, tmp_path: Path
) -> None:
    run = Run(["check", str(write_config(tmp_path, system_id, zendesk_url))])
    assert run.code == 1 and "no secret 'client_secret' in the keyring" in run.stderr
    missing = Run(["check", str(tmp_path / "nope.toml")])
    assert missing.code == 1 and "nope.toml: no such file" in missing.stderr


def test_scripted_check_reads_the_secret_from_the_environment(
    zendesk_url: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path, "scripted", zendesk_url)
    command = [sys.executable, "-m", "app.cli", "adapter", "check", str(config)]
    env = {**os.environ, "TABLESS_SECRET_CLIENT_SECRET": DEMO_CLIENT_SECRET}
    done = subprocess.run(
        [*command, "--secrets-from", "env"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok: scripted (zendesk): connected to ")
    env.pop("TABLESS_SECRET_CLIENT_SECRET")
    unset = subprocess.run(
        [*command, "--secrets-from", "env"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert unset.returncode == 1
    assert "the environment variable TABLESS_SECRET_CLIENT_SECRET is not set" in unset.stderr


def _assert_shape(line: dict[str, Any]) -> None:
    assert set(line) == TICKET_KEYS
    assert line["created_at"].endswith("Z") and line["updated_at"].endswith("Z")
    for who in (line["requester"], line["assignee"]):
        assert who is None or set(who) == PERSON_KEYS
    for message in line["messages"]:
        assert set(message) == MESSAGE_KEYS and message["created_at"].endswith("Z")
        assert message["author"] is None or set(message["author"]) == PERSON_KEYS
        for attachment in message["attachments"]:
            assert set(attachment) == {"filename", "content_type", "size"}


def test_preview_prints_the_first_tickets_as_json_lines(
    zendesk_url: str, system_id: str, tmp_path: Path, seed_tickets: list[Any]
) -> None:
    SecretStore().set(system_id, "client_secret", DEMO_CLIENT_SECRET)
    config = str(write_config(tmp_path, system_id, zendesk_url))
    run = Run(["preview", config, "--limit", "7"])  # page_size 5: two pages are pulled
    assert run.code == 0, run.stderr
    lines = [json.loads(text) for text in run.stdout.splitlines()]
    assert len(lines) == 7
    for line in lines:
        _assert_shape(line)
        assert line["system"] == system_id and line["messages"]
    seeds = {str(t.id): t for t in seed_tickets if t.system == "zendesk"}
    first = lines[0]
    seed = seeds[first["external_id"]]
    assert first["subject"] == seed.subject
    assert first["requester"]["email"] == seed.customer.email
    assert [m["body_text"] for m in first["messages"]] == [e.body for e in seed.entries]
    assert Run(["preview", config, "--limit", "0"]).code == 2


def test_decode_prints_what_an_adapter_reads_from_saved_files() -> None:
    page = FIXTURES / "incremental_tickets_page.json"
    run = Run(["decode", "--adapter", "zendesk", "--zone", "Asia/Shanghai", str(page)])
    assert run.code == 0, run.stderr
    lines = [json.loads(text) for text in run.stdout.splitlines()]
    assert [line["external_id"] for line in lines] == ["35012", "35013", "35014", "35015"]
    for line in lines:
        _assert_shape(line)
        assert line["system"] == "zendesk"
    assert [(line["status"], line["priority"], line["deleted"]) for line in lines] == [
        ("open", "high", False),
        ("on_hold", None, False),  # unknown stays null
        ("closed", "normal", True),
        ("pending", "urgent", False),
    ]
    assert lines[0]["updated_at"] == "2024-03-06T02:40:11Z"
    assert lines[1]["assignee"] is None


def test_decode_says_when_an_adapter_cannot_decode_saved_files(tmp_path: Path) -> None:
    saved = tmp_path / "page.json"
    saved.write_text("{}", encoding="utf-8")
    if adapter_cli.can_decode_saved(registry.adapter_classes()["declarative"]):
        pytest.fail("update this test: the declarative adapter now decodes saved files")
    run = Run(["decode", "--adapter", "declarative", str(saved)])
    assert (run.code, run.stderr) == (1, "adapter declarative cannot decode saved files\n")
    unknown = Run(["decode", "--adapter", "nosuch", str(saved)])
    assert unknown.code == 2 and "no adapter named 'nosuch' is installed" in unknown.stderr
    zone = Run(["decode", "--adapter", "zendesk", "--zone", "Mars/Olympus", str(saved)])
    assert zone.code == 2 and "Unknown time zone 'Mars/Olympus'" in zone.stderr


@pytest.mark.parametrize(
    ("adapter", "files", "zone", "expected"),
    [
        (
            "quality",
            ["quality/inspection_zh.json", "quality/inspection_queued_deleted.json"],
            "UTC",
            2,
        ),
        ("osticket", ["osticket/tickets_page_gbk.xml"], "Asia/Shanghai", 2),
        ("csv", ["csv/freshdesk-v1-utf8-bom-crlf.csv", "csv/freshdesk-gbk-no-bom.csv"], "UTC", 4),
        ("freshdesk", ["freshdesk/tickets_page.json", "freshdesk/conversations.json"], "UTC", 4),
        ("zammad", ["zammad/search_expanded.json", "zammad/articles_by_ticket.json"], "UTC", 4),
        ("rt", ["rt/ticket_4012.json", "rt/ticket_4012_history.json"], "UTC", 1),
        ("znuny", ["znuny/TicketGetResponse.xml"], "Asia/Shanghai", 2),
    ],
)
def test_every_built_in_adapter_decodes_its_saved_answers(
    adapter: str, files: list[str], zone: str, expected: int
) -> None:
    paths = [str(FIXTURES.parent / name) for name in files]
    run = Run(["decode", "--adapter", adapter, "--zone", zone, *paths])
    assert run.code == 0, run.stderr
    lines = [json.loads(text) for text in run.stdout.splitlines()]
    assert len(lines) >= expected
    for line in lines:
        _assert_shape(line)
        assert line["system"] == adapter and line["updated_at"].endswith("Z")
    assert any("\u4e00" <= ch <= "\u9fff" for line in lines for ch in line["subject"])
