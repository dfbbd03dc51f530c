"""The domain dataclasses keep dataclass semantics with their faster generated ``__init__``."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from datetime import UTC, datetime
from typing import Any

import pytest

from app.domain import Attachment, Message, MessageKind, Person, Status, Ticket, TicketKey

MODELS = [TicketKey, Person, Attachment, Message, Ticket]
NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def _reference(cls: type) -> type:
    """The same fields as ``cls`` in a plain frozen slots dataclass (its generated __init__)."""
    spec = [
        (f.name, f.type, dataclasses.field(default=f.default, default_factory=f.default_factory))
        for f in dataclasses.fields(cls)
    ]
    return dataclasses.make_dataclass(f"Plain{cls.__name__}", spec, frozen=True, slots=True)


@pytest.mark.parametrize("cls", MODELS)
def test_signature_is_the_dataclass_one(cls: type) -> None:
    assert str(inspect.signature(cls)) == str(inspect.signature(_reference(cls)))


def _ticket(**changes: Any) -> Ticket:
    person = Person(name="李娜", email="li.na@example.cn")
    message = Message("m1", MessageKind.REPLY, "你好", NOW, person, (Attachment("a.png"),))
    values: dict[str, Any] = {
        "key": TicketKey("zd", "1"),
        "subject": "退款",
        "status": Status.OPEN,
        "native_status": "open",
        "created_at": NOW,
        "updated_at": NOW,
        "requester": person,
        "messages": (message,),
    }
    return Ticket(**{**values, **changes})


def test_fields_defaults_and_factories() -> None:
    ticket = _ticket()
    assert ticket.subject == "退款" and ticket.priority is None and ticket.tags == ()
    assert ticket.messages[0].author == Person(name="李娜", email="li.na@example.cn")
    other = _ticket()
    assert ticket.extra == {} and ticket.extra is not other.extra  # a fresh dict each time
    assert Message("1", MessageKind.NOTE, "", NOW).attachments == ()
    with pytest.raises(TypeError, match="missing"):
        Ticket(TicketKey("zd", "1"))  # type: ignore[call-arg]


def test_instances_stay_frozen_comparable_and_hashable() -> None:
    ticket = _ticket()
    with pytest.raises(dataclasses.FrozenInstanceError):
        ticket.subject = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del ticket.key.system_id  # type: ignore[misc]
    assert ticket == _ticket() and ticket != _ticket(subject="other")
    assert hash(TicketKey("zd", "1")) == hash(TicketKey("zd", "1"))
    assert str(TicketKey("zd", "1")) == "zd:1"
    assert "subject='退款'" in repr(ticket)


def test_replace_copy_and_pickle_round_trip() -> None:
    ticket = _ticket()
    assert dataclasses.replace(ticket, subject="新").subject == "新"
    assert copy.deepcopy(ticket) == ticket
    assert pickle.loads(pickle.dumps(ticket)) == ticket
    assert dataclasses.asdict(ticket)["requester"]["name"] == "李娜"
