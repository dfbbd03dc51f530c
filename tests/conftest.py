"""Shared fixtures: Qt offscreen, a real keyring, sandbox servers on 127.0.0.1."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.register_assert_rewrite("adapters.testing")  # contract failures show their diffs


@pytest.fixture(autouse=True)
def private_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test (and what it spawns) keeps its data, config and outbox files in a scratch
    folder, never in the user's real Tabless folders. Tests that need a given home set it."""
    monkeypatch.setenv("TABLESS_HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture(scope="session")
def seed_tickets():  # type: ignore[no-untyped-def]
    """The shared demo data set (deterministic)."""
    from sandbox import dataset

    return dataset.build(seed=42)


@pytest.fixture
def serve():  # type: ignore[no-untyped-def]
    """Start ASGI apps on 127.0.0.1 free ports: ``url = serve(app)``; stopped after the test."""
    from sandbox.server import ServerThread

    started: list[ServerThread] = []

    def _serve(app) -> str:  # type: ignore[no-untyped-def]
        server = ServerThread(app).start()
        started.append(server)
        return server.url

    yield _serve
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def real_keyring() -> Iterator[str]:
    """A real OS keyring backend (Secret Service under dbus-run-session in CI).

    Fails loudly — never skips — when none is available: the keyring is a required part.
    """
    from app.secrets import SecretStore

    store = SecretStore(service="tabless-test")
    store.ensure_available()
    yield SecretStore.backend_name()
