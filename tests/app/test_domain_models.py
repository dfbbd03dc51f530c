"""The domain structs keep a frozen dataclass's semantics and stay out of the cyclic GC."""

from __future__ import annotations

import copy
import dataclasses
import gc
import inspect
import pickle
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from app.domain import (
    Attachment,
    Message,
    MessageKind,
    Person,
    Status,
    Ticket,
    TicketKey,
    replace,
)

MODELS = [TicketKey, Person, Attachment, Message, Ticket]
NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def _reference(cls: type) -> type:
    """The same fields as ``cls`` in a plain frozen slots dataclass (its generated __init__)."""
    spec = [
        (
            f.name,
            f.type,
            dataclasses.field(
                default=dataclasses.MISSING if f.default is msgspec.NODEFAULT else f.default,
                default_factory=(
                    dataclasses.MISSING
                    if f.default_factory is msgspec.NODEFAULT
                    else f.default_factory
                ),
            ),
        )
        for f in msgspec.structs.fields(cls)
    ]
    return dataclasses.make_dataclass(f"Plain{cls.__name__}", spec, frozen=True, slots=True)


@pytest.mark.parametrize("cls", MODELS)
def test_signature_is_the_dataclass_one(cls: type) -> None:
    plain = inspect.signature(_reference(cls)).replace(return_annotation=inspect.Signature.empty)
    assert str(inspect.signature(cls)) == str(plain)


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
    with pytest.raises(TypeError, match=r"(?i)missing"):
        Ticket(TicketKey("zd", "1"))  # type: ignore[call-arg]


def test_instances_stay_frozen_comparable_and_hashable() -> None:
    ticket = _ticket()
    with pytest.raises(AttributeError, match="immutable"):
        ticket.subject = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        del ticket.key.system_id  # type: ignore[misc]
    assert ticket == _ticket() and ticket != _ticket(subject="other")
    assert hash(TicketKey("zd", "1")) == hash(TicketKey("zd", "1"))
    assert str(TicketKey("zd", "1")) == "zd:1"
    assert "subject='退款'" in repr(ticket)


def test_replace_copy_and_pickle_round_trip() -> None:
    ticket = _ticket()
    changed = replace(ticket, subject="新")
    assert changed.subject == "新" and changed.messages == ticket.messages
    assert ticket.subject == "退款"
    assert copy.deepcopy(ticket) == ticket
    assert pickle.loads(pickle.dumps(ticket)) == ticket
    assert msgspec.structs.asdict(ticket)["requester"].name == "李娜"


@pytest.mark.parametrize("cls", MODELS)
def test_instances_are_not_tracked_by_the_cyclic_collector(cls: type) -> None:
    person = Person(name="李娜")
    examples = {
        TicketKey: TicketKey("zd", "1"),
        Person: person,
        Attachment: Attachment("a.png"),
        Message: Message("1", MessageKind.NOTE, "", NOW, person),
        Ticket: _ticket(),
    }
    assert not gc.is_tracked(examples[cls])


def test_containers_held_only_by_a_ticket_survive_a_collection() -> None:
    # An untracked ticket is a root for the collector: what it holds must not be freed.
    ticket = _ticket(extra={"channel": "email"}, tags=("vip",))
    gc.collect()
    assert ticket.extra == {"channel": "email"} and ticket.messages[0].body_text == "你好"
