"""The status-bar light: green synced, amber slow or stale, red unreachable or rejected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.sync.health import Health, HealthPolicy, Light, Reason

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)
POLICY = HealthPolicy(stale_after_s=300, slow_after_ms=2000)


def _synced(**fields: object) -> Health:
    health = Health(
        "zd", first_sync_done=True, last_success_at=NOW - timedelta(seconds=10), last_latency_ms=120
    )
    for key, value in fields.items():
        setattr(health, key, value)
    return health


def test_fresh_fast_sync_is_green() -> None:
    assert _synced().assess(NOW, POLICY) == (Light.GREEN, Reason.SYNCED)


def test_slow_answers_are_amber() -> None:
    assert _synced(last_latency_ms=3100).assess(NOW, POLICY) == (Light.AMBER, Reason.SLOW)


def test_old_success_is_amber_stale() -> None:
    old = NOW - timedelta(minutes=6)
    assert _synced(last_success_at=old).assess(NOW, POLICY) == (Light.AMBER, Reason.STALE)


def test_failures_are_red_with_their_kind() -> None:
    for code, reason in (
        ("unreachable", Reason.UNREACHABLE),
        ("auth_rejected", Reason.AUTH),
        ("remote_error", Reason.ERROR),
    ):
        failing = _synced(consecutive_failures=2, last_error="boom", last_error_code=code)
        assert failing.assess(NOW, POLICY) == (Light.RED, reason)


def test_first_sync_in_progress_is_grey() -> None:
    assert Health("zd").assess(NOW, POLICY) == (Light.GREY, Reason.FIRST_SYNC)
