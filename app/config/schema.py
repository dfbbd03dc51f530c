"""Every setting declared once: key, type, default, translatable title, secret flag."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def N_(text: str) -> str:
    """Mark ``text`` for translation where it is displayed (the UI translates titles)."""
    return text


@dataclass(frozen=True, slots=True)
class Setting:
    """One declared setting."""

    key: str
    type: type
    default: Any
    title: str
    secret: bool = False

    def coerce(self, value: Any) -> Any:
        """``value`` converted to this setting's type; ValueError naming the key otherwise."""
        if value is None or isinstance(value, self.type):
            return value
        try:
            if self.type is bool and isinstance(value, str):
                return value.strip().lower() in {"1", "true", "yes", "on"}
            return self.type(value)
        except (TypeError, ValueError):
            raise ValueError(f"setting {self.key!r} expects {self.type.__name__}") from None


SETTINGS: tuple[Setting, ...] = (
    Setting("language", str, "", N_("Language (empty: follow the system)")),
    Setting("agent_zone", str, "", N_("Time zone for display (empty: the system's)")),
    Setting("agent_name", str, "agent", N_("Your name as recorded in the audit log")),
    Setting("backend_url", str, "", N_("Backend URL for the audit log")),
    Setting("sync_interval_s", float, 30.0, N_("Seconds between polls of each system")),
    Setting("stale_after_s", float, 300.0, N_("A system is stale after this many seconds")),
    Setting("slow_after_ms", float, 2000.0, N_("A system is slow above this response time")),
    Setting(
        "retention_days", float, 180.0, N_("Closed tickets older than this many days are pruned")
    ),
    Setting("notify_dnd", bool, False, N_("Do not disturb: no desktop notifications")),
    Setting(
        "notify_quiet_hours", str, "", N_("Quiet hours without notifications (e.g. 22:00-07:00)")
    ),
    Setting("notify_sla_minutes", float, 30.0, N_("Warn this many minutes before an SLA breaches")),
    Setting("agent_email", str, "", N_("Your e-mail address in the connected systems")),
)
SETTINGS_BY_KEY = {item.key: item for item in SETTINGS}
