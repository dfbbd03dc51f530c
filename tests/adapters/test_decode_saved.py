"""``tabless adapter decode`` over the documented example answers of Freshdesk, Zammad, RT and
Znuny: what each adapter's own mapping reads from saved files, with no network; an unreadable
file (an error answer, a wrong shape, broken JSON or XML) is named and the others still print."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.adapter_cli import adapter_command

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
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


class Decoded:
    """What ``tabless adapter decode`` printed, by ticket id."""

    def __init__(self, adapter: str, *names: str, zone: str = "UTC") -> None:
        out: list[str] = []
        err: list[str] = []
        files = [str(FIXTURES / adapter / name) for name in names]
        argv = ["decode", "--adapter", adapter, "--zone", zone, *files]
        self.code = adapter_command(argv, out=out.append, err=err.append)
        self.stderr = "".join(err)
        self.lines = [json.loads(line) for line in "".join(out).splitlines()]
        for line in self.lines:
            _assert_shape(line)
            assert line["system"] == adapter
        self.by_id = {line["external_id"]: line for line in self.lines}
        assert len(self.by_id) == len(self.lines), "a ticket was printed twice"


def _assert_shape(line: dict[str, Any]) -> None:
    assert set(line) == TICKET_KEYS
    assert line["status"] in {"new", "open", "pending", "on_hold", "solved", "closed"}
    assert line["priority"] in {None, "low", "normal", "high", "urgent"}
    assert line["created_at"].endswith("Z") and line["updated_at"].endswith("Z")
    assert isinstance(line["deleted"], bool)
    for who in (line["requester"], line["assignee"]):
        assert who is None or set(who) == PERSON_KEYS
    for message in line["messages"]:
        assert set(message) == MESSAGE_KEYS and message["created_at"].endswith("Z")
        assert message["author"] is None or set(message["author"]) == PERSON_KEYS
        for attachment in message["attachments"]:
            assert set(attachment) == {"filename", "content_type", "size"}


def _person(name: str | None, email: str | None, phone: str | None, ext: str | None) -> Any:
    return {"name": name, "email": email, "phone": phone, "external_id": ext}


# ------------------------------------------------------------------------------- freshdesk


def test_freshdesk_page_conversations_fields_and_agents() -> None:
    run = Decoded(
        "freshdesk",
        "tickets_page.json",
        "conversations.json",
        "ticket_fields.json",
        "agents.json",
    )
    assert (run.code, run.stderr) == (0, "")
    assert list(run.by_id) == ["112", "113", "114", "115"]
    states = [(t["status"], t["native_status"], t["priority"], t["deleted"]) for t in run.lines]
    assert states == [
        ("open", "Open", "high", False),
        ("pending", "Waiting on Customer", "low", False),  # a custom status known by meaning
        ("open", "等待配件", "normal", False),  # custom status not known: open, name kept
        ("closed", "Closed", "urgent", True),  # from the filter=deleted list
    ]
    first = run.by_id["112"]
    assert first["created_at"] == "2024-03-05T08:15:30Z"
    assert first["requester"] == _person(
        "王芳", "wang.fang@example.cn", "+86 13812345678", "43000001001"
    )
    assert first["assignee"] == _person(
        "陈晓华", "xiaohua.chen@support.example.com", None, "43100009001"
    )
    assert first["tags"] == ["退款", "订单"]
    messages = first["messages"]
    assert [(m["external_id"], m["public"]) for m in messages] == [
        ("112-description", True),
        ("80000000101", True),
        ("80000000102", False),  # private note
        ("80000000103", True),
    ]
    assert messages[3]["attachments"] == [
        {"filename": "破损照片.jpg", "content_type": "image/jpeg", "size": 1204551}
    ]
    assert run.by_id["113"]["assignee"] is None  # no responder: null, not invented


def test_freshdesk_without_agents_keeps_only_what_the_ticket_says() -> None:
    run = Decoded("freshdesk", "tickets_page.json")
    assert run.code == 0, run.stderr
    assert run.by_id["112"]["assignee"] == _person(None, None, None, "43100009001")
    assert run.by_id["114"]["native_status"] == "9"  # no ticket fields: the number, no name


def test_freshdesk_ticket_in_two_files_is_printed_once_from_the_last() -> None:
    run = Decoded("freshdesk", "tickets_page.json", "ticket_113_include_conversations.json")
    assert (run.code, run.stderr) == (0, "")
    assert list(run.by_id) == ["112", "113", "114", "115"]
    assert [m["external_id"] for m in run.by_id["113"]["messages"]] == [
        "113-description",
        "80000000131",
    ]


def test_freshdesk_ticket_with_embedded_conversations_and_an_error_answer() -> None:
    run = Decoded(
        "freshdesk",
        "ticket_113_include_conversations.json",
        "access_denied.json",
        "validation_error.json",
    )
    assert run.code == 1
    assert list(run.by_id) == ["113"]
    reply = run.by_id["113"]["messages"][1]
    assert reply["attachments"] == [
        {"filename": "receipt.png", "content_type": "image/png", "size": 48213}
    ]
    errors = run.stderr.splitlines()
    assert errors[0] == (
        f"cannot decode {FIXTURES / 'freshdesk' / 'access_denied.json'}: this is a Freshdesk "
        "error answer: You are not authorized to perform this action."
    )
    assert (
        "validation_error.json: this is a Freshdesk error answer: Validation failed; "
        in (errors[1])
    )
    assert "status: It should be one of these values" in errors[1]


# ---------------------------------------------------------------------------------- zammad


def test_zammad_expanded_search_articles_and_users() -> None:
    run = Decoded(
        "zammad", "search_expanded.json", "articles_by_ticket.json", "users.json", zone="UTC"
    )
    assert (run.code, run.stderr) == (0, "")
    assert [(t["external_id"], t["status"], t["priority"], t["deleted"]) for t in run.lines] == [
        ("512", "open", "high", False),
        ("513", "pending", "normal", False),
        ("514", "open", None, False),  # a state the adapter does not know: open, name kept
        ("515", "closed", "low", True),  # Zammad's "removed"
    ]
    first = run.by_id["512"]
    assert first["updated_at"] == "2024-03-06T02:40:11Z"  # milliseconds dropped, still UTC
    assert first["requester"] == _person("王芳", "wang.fang@example.cn", "+86 13812345678", "1101")
    assert first["assignee"]["name"] == "陈晓华"
    customer = first["messages"][0]
    assert (
        customer["body_text"]
        == "你好，我的订单 482913 收到的商品有破损，\n想申请退款，请尽快处理。 谢谢！"
    )
    assert customer["attachments"] == [
        {"filename": "破损照片.jpg", "content_type": "image/jpeg", "size": 1204551}
    ]
    assert [m["public"] for m in first["messages"][:2]] == [True, False]
    assert run.by_id["514"]["requester"] == _person(None, None, None, "1102")  # not in users


def test_zammad_tags_need_exactly_one_ticket() -> None:
    one = Decoded("zammad", "ticket_512_expanded.json", "tags.json", "articles_by_ticket.json")
    assert (one.code, one.stderr) == (0, "")
    assert one.by_id["512"]["tags"] == ["退款", "订单"]
    many = Decoded("zammad", "search_expanded.json", "tags.json")
    assert many.code == 1 and len(many.lines) == 4
    assert "tags.json: tags name no ticket; decode them with exactly one ticket" in many.stderr
    assert all(t["tags"] == [] for t in many.lines)


def test_zammad_unexpanded_ticket_and_error_answer_are_named() -> None:
    run = Decoded("zammad", "ticket_512.json", "error.json", "search_expanded.json")
    assert run.code == 1 and len(run.lines) == 4
    assert "ticket_512.json: ticket 512 is not expanded (no state name)" in run.stderr
    assert (
        "error.json: this is a Zammad error answer: Missing required value for field "
        "'pending_time'!" in run.stderr
    )


# -------------------------------------------------------------------------------------- rt


def test_rt_ticket_history_users_and_attachment_records() -> None:
    run = Decoded(
        "rt",
        "ticket_4012.json",
        "ticket_4012_history.json",
        "users.json",
        "attachment_100203.json",
        "queue_3.json",
    )
    assert (run.code, run.stderr) == (0, "")
    ticket = run.by_id["4012"]
    assert (ticket["status"], ticket["native_status"], ticket["priority"]) == (
        "on_hold",
        "stalled",
        "high",
    )
    assert ticket["requester"] == _person(
        "王芳", "wang.fang@example.cn", "+86 13812345678", "wang.fang@example.cn"
    )
    assert ticket["assignee"]["email"] == "xiaohua.chen@support.example.com"
    messages = ticket["messages"]
    assert [(m["external_id"], m["public"]) for m in messages] == [
        ("100201", True),
        ("100204", True),
        ("100207", False),  # Comment: internal
        ("100209", False),  # Status event
    ]
    assert messages[0]["body_text"].startswith("你好，我的订单 482913")
    assert messages[1]["body_text"] == ""  # its attachment was not saved: nothing invented
    assert messages[1]["created_at"] == "2024-03-05T09:02:11Z"
    assert messages[3]["body_text"] == "Status: open → stalled"


def test_rt_transaction_record_with_its_text_and_file() -> None:
    run = Decoded(
        "rt",
        "ticket_4012.json",
        "ticket_4013.json",
        "transaction_100204.json",
        "attachment_100205.json",
        "attachment_100206.json",
    )
    assert (run.code, run.stderr) == (0, "")
    [reply] = run.by_id["4012"]["messages"]  # joined to 4012 through its Object
    assert reply["body_text"] == "您好，退款申请已经提交，预计3到5个工作日到账。\n"
    assert reply["author"] == _person(None, None, None, "xiaohua.chen")  # no user record saved
    assert reply["attachments"] == [
        {"filename": "退款单-482913.pdf", "content_type": "application/pdf", "size": None}
    ]
    deleted = run.by_id["4013"]
    assert (deleted["status"], deleted["deleted"], deleted["assignee"]) == ("closed", True, None)
    assert deleted["priority"] is None  # 37 has no standard name


def test_rt_search_rows_history_without_ticket_and_error_are_named() -> None:
    run = Decoded(
        "rt",
        "tickets_search_page.json",
        "ticket_4012.json",
        "ticket_4013.json",
        "error_not_found.json",
    )
    assert run.code == 1 and set(run.by_id) == {"4012", "4013"}
    assert "error_not_found.json: this is an RT error answer: Resource does not exist" in (
        run.stderr
    )
    summary = Decoded("rt", "tickets_search_page.json", "ticket_4012.json")
    assert summary.code == 1 and list(summary.by_id) == ["4012"]
    assert (
        "tickets_search_page.json: the search page lists ticket 4013 but holds only a summary"
        in summary.stderr
    )
    loose = Decoded("rt", "ticket_4012.json", "ticket_4013.json", "ticket_4012_history.json")
    assert loose.code == 1 and all(t["messages"] == [] for t in loose.lines)
    assert "ticket_4012_history.json: history rows name no ticket" in loose.stderr


# ----------------------------------------------------------------------------------- znuny


def test_znuny_ticket_get_in_the_server_zone() -> None:
    run = Decoded(
        "znuny",
        "TicketGetResponse.xml",
        "TicketGetResponse_Attachments.xml",
        "TicketSearchResponse.xml",
        zone="Asia/Shanghai",
    )
    assert (run.code, run.stderr) == (0, "")
    first = run.by_id["7012"]
    assert (first["created_at"], first["updated_at"]) == (
        "2024-03-05T01:15:30Z",  # 09:15:30 in Shanghai
        "2024-03-06T02:40:11Z",
    )
    assert (first["status"], first["priority"], first["deleted"]) == ("on_hold", "high", False)
    assert first["requester"] == _person(
        "王芳", "wang.fang@example.cn", None, "wang.fang@example.cn"
    )
    assert first["assignee"] == _person(None, None, None, "xiaohua.chen")
    assert [m["public"] for m in first["messages"]] == [True, False]
    removed = run.by_id["7013"]
    assert (removed["status"], removed["deleted"], removed["priority"]) == ("closed", True, None)
    assert removed["assignee"] is None  # root@localhost owns unassigned tickets
    [article] = run.by_id["7014"]["messages"]
    assert article["attachments"] == [
        {"filename": "发票-482913.pdf", "content_type": "application/pdf", "size": 53551}
    ]


def test_znuny_errors_inside_http_200_are_named_and_the_rest_decoded(tmp_path: Path) -> None:
    broken = tmp_path / "cut.xml"
    broken.write_bytes((FIXTURES / "znuny" / "TicketGetResponse.xml").read_bytes()[:400])
    run = Decoded(
        "znuny",
        "TicketSearchResponse_AuthFail.xml",
        "SoapFault_Server.xml",
        "TicketGetResponse.xml",
        "TicketUpdateResponse_InvalidParameter.xml",
        str(broken),
        "TicketSearchResponse.xml",
    )
    assert run.code == 1 and set(run.by_id) == {"7012", "7013"}
    errors = run.stderr.splitlines()
    assert len(errors) == 5, errors
    assert errors[0].endswith(
        "TicketSearchResponse_AuthFail.xml: an error answer (sent with HTTP 200): Znuny refused "
        "the login: TicketSearch: Authorization failing! (TicketSearch.AuthFail)"
    )
    assert errors[1].endswith(
        "SoapFault_Server.xml: an error answer (sent with HTTP 200): Znuny answered it with a "
        "SOAP fault: Could not determine requested operation 'TicketGetX'"
    )
    assert "TicketUpdateResponse_InvalidParameter.xml: an error answer" in errors[2]
    assert "Ticket->State is invalid! (TicketUpdate.InvalidParameter)" in errors[2]
    assert f"{broken}: not a Znuny SOAP answer: malformed XML at line" in errors[3]
    assert errors[4].endswith(
        "TicketSearchResponse.xml: TicketSearch lists TicketID 7014 without its ticket: save "
        "the TicketGet answer for it too"
    )


# ------------------------------------------------------------------------------ every one


@pytest.mark.parametrize("adapter", ["freshdesk", "zammad", "rt"])
def test_broken_json_is_named_and_the_other_files_still_decode(
    adapter: str, tmp_path: Path
) -> None:
    good = {
        "freshdesk": "tickets_page.json",
        "zammad": "search_expanded.json",
        "rt": "ticket_4012.json",
    }
    broken = tmp_path / "broken.json"
    broken.write_text('{"id": 1, "subject": ', encoding="utf-8")
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"hello": "world"}', encoding="utf-8")
    run = Decoded(adapter, str(broken), good[adapter], str(wrong))
    assert run.code == 1 and run.lines
    first, second = run.stderr.splitlines()
    assert first.startswith(f"cannot decode {broken}: not JSON (Expecting value: line 1 column 22")
    assert second.startswith(f"cannot decode {wrong}: not ")


def test_a_record_the_mapping_refuses_names_file_record_and_field(tmp_path: Path) -> None:
    rows = json.loads((FIXTURES / "freshdesk" / "tickets_page.json").read_text(encoding="utf-8"))
    rows[2]["updated_at"] = "yesterday"
    page = tmp_path / "page.json"
    page.write_text(json.dumps(rows), encoding="utf-8")
    run = Decoded("freshdesk", str(page), "ticket_113_include_conversations.json")
    assert run.code == 1, run.stderr
    assert f"cannot decode {page}: updated_at is unreadable: 'yesterday'" in run.stderr
    assert "record=114 field=updated_at" in run.stderr
    assert list(run.by_id) == ["113"]  # from the other file


def test_the_command_decodes_in_a_process_of_its_own() -> None:
    files = [str(FIXTURES / "znuny" / "TicketGetResponse.xml")]
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "adapter", "decode", "--adapter", "znuny", *files],
        env=dict(os.environ),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["external_id"] for line in done.stdout.splitlines()] == [
        "7012",
        "7013",
    ]
