"""The backend's OpenAPI spec, fuzzed with schemathesis over real HTTP: never a 500.

Every operation gets a few dozen generated requests (valid and invalid ones), as the admin
(who may call everything), against a SQLite backend. Kept well under a minute.
"""

from __future__ import annotations

from pathlib import Path

import hypothesis
import schemathesis
from hypothesis import strategies as st
from schemathesis.openapi import from_url

from backend.core.config import Settings
from backend.main import create_app
from sandbox.server import ServerThread
from tests.backend.conftest import TOKEN

EXAMPLES_PER_OPERATION = 30
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


def test_fuzzed_requests_never_get_a_server_error(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'backend.sqlite3'}",
        bootstrap_token=TOKEN,  # type: ignore[arg-type]
        rate_limit_per_s=100_000,
        rate_limit_burst=100_000,
    )
    server = ServerThread(create_app(settings)).start()
    try:
        schema = from_url(f"{server.url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 20
        failures: list[str] = []
        statuses: list[int] = []
        for operation in operations:
            strategy = st.one_of(*(operation.as_strategy(generation_mode=m) for m in MODES))

            @hypothesis.given(case=strategy)
            @hypothesis.settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                suppress_health_check=list(hypothesis.HealthCheck),
                phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
            )
            def check(case: schemathesis.Case) -> None:
                response = case.call(
                    base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}
                )
                statuses.append(response.status_code)
                if response.status_code >= 500:
                    failures.append(
                        f"{case.method} {case.formatted_path} {case.query} "
                        f"-> {response.status_code}: {response.text[:300]}"
                    )

            check()
        assert failures == []
        assert len(statuses) >= 10 * len(operations)
        assert {200, 401, 404, 422} <= set(statuses)  # the fuzzer reached real behaviour
    finally:
        server.stop()


def test_the_spec_documents_every_route(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'b.sqlite3'}"))
    paths = set(app.openapi()["paths"])
    assert {
        "/api/v1/audit/batches",
        "/api/v1/audit/records",
        "/api/v1/audit/records/{record_id}",
        "/api/v1/audit/export.csv",
        "/api/v1/devices",
        "/api/v1/me/permissions",
        "/api/v1/groups",
        "/api/v1/step-up/totp/verify",
    } <= paths
