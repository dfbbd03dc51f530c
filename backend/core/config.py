"""Backend settings (pydantic-settings): arguments > ``TABLESS_BACKEND_*`` env > defaults."""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.core.security import Role


def default_database_url() -> str:
    """A SQLite file in the user's data directory: the backend starts with no setup."""
    path = Path(platformdirs.user_data_dir("Tabless")) / "backend.sqlite3"
    return f"sqlite:///{path}"


class Settings(BaseSettings):
    """Everything the backend reads from its environment. Secrets are ``SecretStr``."""

    model_config = SettingsConfigDict(env_prefix="TABLESS_BACKEND_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    """SQLAlchemy URL; ``postgresql://`` means psycopg 3. May hold a password: never logged."""

    bootstrap_token: SecretStr | None = None
    """When set, the agent ``bootstrap_agent`` is created (or updated) with this token at start."""

    bootstrap_agent: str = Field(default="demo", min_length=1, max_length=200)
    bootstrap_role: Role = Role.ADMIN
    """The demo's single agent both uploads and reads every record."""

    max_batch_records: int = Field(default=1000, ge=1)
    """Largest upload batch accepted (more: 413)."""

    max_list_limit: int = Field(default=1000, ge=1)
    """Largest ``limit`` of ``GET /api/v1/audit/records``."""

    rate_limit_per_s: float = Field(default=50.0, gt=0)
    """Requests per second per agent, per backend process (each replica counts apart)."""

    rate_limit_burst: float = Field(default=200.0, ge=1)
    """Requests an agent may send at once before the rate applies."""

    step_up_ttl_s: int = Field(default=120, ge=10, le=3600)
    """How long a step-up grant is valid (it is also spent by its first use), and how long a
    granted approval may wait before its requester collects the grant."""

    log_level: str = "INFO"
