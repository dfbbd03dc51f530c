"""The access log: one JSON line per request, never the Authorization header."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator

import pytest

from backend.core.logs import JsonFormatter, access_logger
from tests.backend.conftest import TOKEN, RunningBackend, make_chain


class Waiter(logging.Handler):
    """Collects records and lets a test wait for a particular one."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self._changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self._changed:
            self.records.append(record)
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[logging.LogRecord], bool]) -> logging.LogRecord:
        with self._changed:
            assert self._changed.wait_for(
                lambda: any(predicate(r) for r in self.records), timeout=30
            ), [r.__dict__ for r in self.records]
            return next(r for r in self.records if predicate(r))


@pytest.fixture
def access_log(caplog: pytest.LogCaptureFixture) -> Iterator[Waiter]:
    caplog.set_level(logging.INFO, logger=access_logger.name)
    waiter = Waiter()
    access_logger.addHandler(waiter)
    yield waiter
    access_logger.removeHandler(waiter)


def test_each_request_is_one_json_line_without_the_token(
    backend: RunningBackend, access_log: Waiter
) -> None:
    response = backend.upload(make_chain(1))
    backend.client("wrong-token").get("/api/v1/audit/records", params={"ticket_id": "T-1"})

    uploaded = access_log.wait_for(lambda r: getattr(r, "path", "") == "/api/v1/audit/batches")
    refused = access_log.wait_for(lambda r: getattr(r, "status", 0) == 401)

    assert response.status_code == 200
    line = json.loads(JsonFormatter().format(uploaded))
    assert {k: line[k] for k in ("msg", "method", "path", "status")} == {
        "msg": "request",
        "method": "POST",
        "path": "/api/v1/audit/batches",
        "status": 200,
    }
    assert line["ms"] >= 0 and line["level"] == "info"
    refused_line = JsonFormatter().format(refused)
    assert json.loads(refused_line)["path"] == "/api/v1/audit/records"  # no query string
    for text in (json.dumps(line), refused_line):
        assert TOKEN not in text and "wrong-token" not in text and "Bearer" not in text
