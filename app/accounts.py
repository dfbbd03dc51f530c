"""Connected systems as the Accounts dialog sees them: list, test, save, re-authenticate, remove.

Qt-free; the dialog (``ui/views/accounts_dialog.py``) is one client of it.

- A system is written only after ``check()`` passed with the very values being saved: the
  non-secret settings go to the user's config file, the secrets to the OS keyring.
- An account's identity is its normalised address (``base_url``, or a folder or mapping file)
  plus its account field (user name, e-mail, client id…): saving a second entry with the same
  identity updates the first (same system id) instead of adding one.
- Editing keeps a secret that was not typed again (an empty secret field keeps the stored one).
- Systems of IT's site configuration (the read-only layer) are listed but cannot be edited or
  removed; their secrets are the agent's own, so they can be re-authenticated.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app import paths
from app.config import SystemEntry, load_config, save_user_config
from app.config.store import SECRET_KEY, user_config_file
from app.domain import ConfigError, ErrorContext, SecretError, TablessError
from app.registry import (
    Adapter,
    CheckResult,
    ConfigField,
    adapter_classes,
    build_adapter,
    manifest_of,
)
from app.secrets import SecretStore, redact
from app.timeutil import zone

__all__ = [
    "ACCOUNT_KEYS",
    "AUTHORIZATION_CODE",
    "AUTH_SETTING",
    "LOCATION_KEYS",
    "Account",
    "Accounts",
    "CheckResult",
    "ConfigField",
    "SaveOutcome",
    "identity_of",
    "normalise_location",
]

# Settings that say *where* the system is, and *who* signs in, in order of preference.
LOCATION_KEYS = ("base_url", "url", "folder", "mapping")
ACCOUNT_KEYS = ("username", "user", "login", "email", "account", "client_id", "api_user")
AUTH_SETTING = "auth"
AUTHORIZATION_CODE = "authorization_code"
PROBE_ID = "new-account"  # the system id a connection is tested under before it has one
READ_ONLY = "account_read_only"


def normalise_location(value: object) -> str:
    """``HTTPS://Help.Example.com:443/`` → ``https://help.example.com``; paths resolved."""
    text = str(value or "").strip()
    if not text:
        return ""
    if "://" not in text:
        return str(Path(text).expanduser().resolve())
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port in (None, default) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def identity_of(settings: Mapping[str, Any]) -> tuple[str, str]:
    """``(normalised address, account)`` of a system's settings (either may be empty)."""
    location = next((normalise_location(settings[k]) for k in LOCATION_KEYS if settings.get(k)), "")
    account = next(
        (str(settings[k]).strip().casefold() for k in ACCOUNT_KEYS if settings.get(k)), ""
    )
    return location, account


@dataclass(frozen=True, slots=True)
class Account:
    """One configured system, with where it is defined."""

    entry: SystemEntry
    read_only: bool
    source: Path

    @property
    def system_id(self) -> str:
        """The system id (keyring entries are stored under it)."""
        return self.entry.id

    @property
    def identity(self) -> tuple[str, str]:
        """``(normalised address, account)``."""
        return identity_of(self.entry.settings)

    @property
    def browser_sign_in(self) -> bool:
        """True when the system signs in through the browser (OAuth authorization code)."""
        return self.entry.settings.get(AUTH_SETTING) == AUTHORIZATION_CODE


@dataclass(frozen=True, slots=True)
class SaveOutcome:
    """What saving did: the test's result, and the account written (None: nothing written)."""

    result: CheckResult
    account: Account | None = None
    updated: bool = False


class _MemorySecrets(SecretStore):
    """The secrets of the form, in memory only: what a test connection hands the adapter."""

    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(service="tabless-memory")
        self._values = dict(values)

    def get(self, system_id: str, key: str) -> str:
        """The typed (or previously stored) value; ``SecretError`` when there is none."""
        if self._values.get(key):
            return self._values[key]
        raise SecretError(f"the secret {key!r} was not entered", ErrorContext(system=system_id))

    def has(self, system_id: str, key: str) -> bool:
        """True when the form holds a value for ``key``."""
        return bool(self._values.get(key))

    def set(self, system_id: str, key: str, value: str) -> None:
        """Keep a secret the adapter or a sign-in produced (renewed tokens) in memory."""
        self._values[key] = value

    def delete(self, system_id: str, key: str) -> None:
        """Forget a secret held in memory."""
        self._values.pop(key, None)

    def values(self) -> dict[str, str]:
        """Every secret held."""
        return dict(self._values)


def _coerce(item: ConfigField, value: Any) -> Any:
    if item.type is bool:
        if isinstance(value, str):
            return value.strip().lower() in {"1", "true", "yes", "on"}
        return bool(value)
    if isinstance(value, item.type):
        return value.strip() if isinstance(value, str) else value
    try:
        return item.type(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{item.title or item.key}: expects {item.type.__name__} (got {value!r})",
            ErrorContext(field=item.key),
        ) from None


def clean_settings(fields: Iterable[ConfigField], settings: Mapping[str, Any]) -> dict[str, Any]:
    """The non-secret settings to store: typed, empty optional ones left out (defaults apply).

    ``ConfigError`` naming the field for a missing required value, a value of the wrong type,
    a secret field among the settings or a key that looks like a secret.
    """
    declared = {item.key: item for item in fields}
    clean: dict[str, Any] = {}
    for key, value in settings.items():
        item = declared.get(key)
        if (item is not None and item.secret) or SECRET_KEY.search(key):
            raise ConfigError(
                f"{key!r} is a secret: it belongs in the keyring, not in the settings",
                ErrorContext(field=key),
            )
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        clean[key] = _coerce(item, value) if item is not None else value
    for item in declared.values():
        if item.required and not item.secret and item.default is None and item.key not in clean:
            raise ConfigError(f"{item.title or item.key} is required", ErrorContext(field=item.key))
    return clean


def secret_names(fields: Iterable[ConfigField], settings: Mapping[str, Any]) -> list[str]:
    """The keyring entries a system uses: its secret fields, plus its sign-in tokens when it
    signs in through the browser."""
    names = [f.key for f in fields if f.secret]
    if settings.get(AUTH_SETTING) == AUTHORIZATION_CODE:
        from app.oauth_login import TOKEN_KEYS  # only for systems that sign in this way

        names += [key for key in TOKEN_KEYS if key not in names]
    return names


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


class Accounts:
    """The agent's connected systems: the user's config layer plus IT's read-only site layer."""

    def __init__(
        self,
        secrets: SecretStore,
        *,
        user_file: Path | None = None,
        site_file: Path | None = None,
    ) -> None:
        self.secrets = secrets
        self.user_file = user_file or user_config_file()
        self.site_file = site_file or paths.site_config_file()

    # ------------------------------------------------------------------------------ reading

    @staticmethod
    def _layer(path: Path) -> dict[str, SystemEntry]:
        if not path.is_file():
            return {}
        # The file as both layers: no other file or the environment leaks in.
        return load_config(site_file=path, user_file=path, environ={}).systems

    def all(self) -> list[Account]:
        """Every configured system: IT's first (read-only), then the user's, by title."""
        site = self._layer(self.site_file)
        user = self._layer(self.user_file)
        accounts = [Account(e, True, self.site_file) for i, e in site.items() if i not in user]
        accounts += [Account(e, i in site, self.user_file) for i, e in user.items()]
        return sorted(accounts, key=lambda a: (not a.read_only, a.entry.title.casefold()))

    def get(self, system_id: str) -> Account:
        """One account; ``ConfigError`` when there is no such system."""
        for account in self.all():
            if account.system_id == system_id:
                return account
        raise ConfigError(f"there is no account {system_id!r}", ErrorContext(system=system_id))

    def find(self, settings: Mapping[str, Any]) -> Account | None:
        """The account with the same (address, account) identity as ``settings``, if any."""
        location, user = identity_of(settings)
        if not location:
            return None
        return next((a for a in self.all() if a.identity == (location, user)), None)

    async def fields(
        self, adapter_name: str, settings: Mapping[str, Any] | None = None
    ) -> tuple[ConfigField, ...]:
        """The config fields of an adapter, as the form shows them.

        With ``settings`` that hold every required value, the adapter is built (off the loop)
        and its instance's fields are returned: a mapping file adds the secret its ``[auth]``
        names. ``ConfigError`` (file, line and key for a mapping file) when it cannot be built.
        """
        declared = manifest_of(adapter_name).config
        needed = [f.key for f in declared if f.required and not f.secret and f.default is None]
        if settings is None or not all(settings.get(key) for key in needed):
            return declared
        entry = SystemEntry(PROBE_ID, adapter_name, adapter_name, dict(settings))
        adapter = await asyncio.to_thread(build_adapter, entry, _MemorySecrets({}))
        try:
            return adapter.manifest.config
        finally:
            await _close(adapter)

    # ------------------------------------------------------------------------------ testing

    async def _resolve_secrets(
        self,
        fields: Iterable[ConfigField],
        settings: Mapping[str, Any],
        typed: Mapping[str, str],
        system_id: str | None,
    ) -> dict[str, str]:
        """Typed secrets, plus the stored ones of ``system_id`` for fields left empty."""
        values = {key: value for key, value in typed.items() if value}
        if system_id is None:
            return values
        keys = [key for key in secret_names(fields, settings) if key not in values]

        def stored() -> dict[str, str]:
            return {
                k: self.secrets.get(system_id, k) for k in keys if self.secrets.has(system_id, k)
            }

        values.update(await asyncio.to_thread(stored))
        return values

    async def test(
        self,
        adapter_name: str,
        settings: Mapping[str, Any],
        secrets: Mapping[str, str],
        *,
        system_id: str | None = None,
        naive_zone: str = "UTC",
    ) -> CheckResult:
        """Build the adapter with the form's values (secrets in memory) and run ``check()``.

        ``system_id``: the account being edited (its stored secrets fill fields left empty).
        Never raises: every problem is a failed ``CheckResult`` in words, with no secret in it.
        """
        memory = _MemorySecrets({})
        try:
            adapter, memory = await self._probe(
                adapter_name, settings, secrets, system_id, naive_zone
            )
        except TablessError as exc:
            return CheckResult(False, redact(str(exc), memory.values().values()))
        except Exception as exc:  # a broken adapter must not break the dialog
            text = f"unexpected error: {type(exc).__name__}: {exc}"
            return CheckResult(False, redact(text, memory.values().values()))
        try:
            result = await adapter.check()
        except Exception as exc:  # check() should never raise; a company's adapter might
            result = CheckResult(False, f"unexpected error: {type(exc).__name__}: {exc}")
        finally:
            await _close(adapter)
        message = redact(result.message, memory.values().values())
        return CheckResult(result.ok, message, result.latency_ms)

    async def _probe(
        self,
        adapter_name: str,
        settings: Mapping[str, Any],
        secrets: Mapping[str, str],
        system_id: str | None,
        naive_zone: str,
        *,
        need_secrets: bool = True,
    ) -> tuple[Adapter, _MemorySecrets]:
        """The adapter built from the form's values, with its secrets in memory only."""
        fields = await self.fields(adapter_name, settings)
        clean = clean_settings(fields, settings)
        zone(naive_zone)
        memory = _MemorySecrets(await self._resolve_secrets(fields, clean, secrets, system_id))
        missing = [
            f.title or f.key
            for f in fields
            if f.secret and f.required and not memory.has(PROBE_ID, f.key)
        ]
        if missing and need_secrets:
            raise SecretError(f"not entered: {', '.join(missing)}")
        entry = SystemEntry(system_id or PROBE_ID, adapter_name, adapter_name, clean, naive_zone)
        return await asyncio.to_thread(build_adapter, entry, memory), memory

    async def sign_in(
        self,
        adapter_name: str,
        settings: Mapping[str, Any],
        secrets: Mapping[str, str],
        *,
        system_id: str | None = None,
        naive_zone: str = "UTC",
        **options: Any,
    ) -> tuple[CheckResult, dict[str, str]]:
        """Browser sign-in (OAuth authorization code + PKCE), then a test connection.

        The adapter names its endpoints (``oauth_endpoints()``). The tokens stay in memory and
        are returned: pass them with the secrets to :meth:`save` or :meth:`reauthenticate`,
        which store them in the keyring. ``options`` go to ``app.oauth_login.sign_in``.
        Never raises.
        """
        from app import oauth_login  # loaded only when someone signs in

        memory = _MemorySecrets({})
        try:
            adapter, memory = await self._probe(
                adapter_name, settings, secrets, system_id, naive_zone, need_secrets=False
            )
            try:
                endpoints = getattr(adapter, "oauth_endpoints", lambda: None)()
                if endpoints is None:
                    raise ConfigError(
                        f"the adapter {adapter_name!r} does not sign in through the browser "
                        f"with these settings (set {AUTH_SETTING} = {AUTHORIZATION_CODE!r})"
                    )
                await oauth_login.sign_in(system_id or PROBE_ID, endpoints, memory, **options)
            finally:
                await _close(adapter)
        except TablessError as exc:
            return CheckResult(False, redact(exc.message, memory.values().values())), {}
        tokens = {k: v for k, v in memory.values().items() if k in oauth_login.TOKEN_KEYS}
        result = await self.test(
            adapter_name,
            settings,
            {**secrets, **tokens},
            system_id=system_id,
            naive_zone=naive_zone,
        )
        return result, tokens if result.ok else {}

    # ------------------------------------------------------------------------------ writing

    def _read_only_error(self, account: Account) -> ConfigError:
        return ConfigError(
            f"{account.entry.title!r} is defined by your IT department's site configuration "
            f"({account.source}); it can be re-authenticated here, but only IT can change or "
            "remove it",
            ErrorContext(system=account.system_id),
            code=READ_ONLY,
        )

    def _new_id(self, adapter_name: str, settings: Mapping[str, Any]) -> str:
        location, _user = identity_of(settings)
        where = urlsplit(location).hostname if "://" in location else Path(location).stem
        base = _slug(f"{adapter_name} {where or ''}") or "system"
        taken = {a.system_id for a in self.all()}
        candidate, number = base, 1
        while candidate in taken:
            number += 1
            candidate = f"{base}-{number}"
        return candidate

    def _write_user(self, change: Callable[[dict[str, SystemEntry]], None]) -> None:
        """Apply ``change`` to the user's systems and write the file (its settings kept)."""
        # load_config first: a broken file is a ConfigError naming it, and stays untouched.
        layer = load_config(site_file=self.user_file, user_file=self.user_file, environ={})
        raw: dict[str, Any] = {}
        if self.user_file.is_file():
            raw = tomllib.loads(self.user_file.read_text(encoding="utf-8"))
        systems = self._layer(self.user_file)
        change(systems)
        values = {key: layer.values[key] for key in raw.get("settings") or {}}
        self.user_file.parent.mkdir(parents=True, exist_ok=True)
        save_user_config(values, systems, user_file=self.user_file)

    async def save(
        self,
        adapter_name: str,
        settings: Mapping[str, Any],
        secrets: Mapping[str, str],
        *,
        title: str = "",
        system_id: str | None = None,
        naive_zone: str = "UTC",
    ) -> SaveOutcome:
        """Test, then (only when it passed) write the settings and store the typed secrets.

        ``system_id``: the account being edited. Without it, an account with the same identity
        is updated (same system id) instead of adding a second one. ``ConfigError`` when the
        target is one of IT's systems or a setting is invalid; nothing is written then.
        """
        fields = await self.fields(adapter_name, settings)
        clean = clean_settings(fields, settings)
        existing = self.get(system_id) if system_id else self.find(clean)
        if existing is not None and existing.read_only:
            raise self._read_only_error(existing)
        target = existing.system_id if existing else None
        result = await self.test(
            adapter_name, clean, secrets, system_id=target, naive_zone=naive_zone
        )
        if not result.ok:
            return SaveOutcome(result)
        new_id = target or self._new_id(adapter_name, clean)
        entry = SystemEntry(
            new_id,
            adapter_name,
            title.strip()
            or (existing.entry.title if existing else manifest_of(adapter_name).title),
            clean,
            naive_zone,
        )
        typed = {k: secrets[k] for k in secret_names(fields, clean) if secrets.get(k)}
        await asyncio.to_thread(self._store, new_id, typed)
        try:
            await asyncio.to_thread(
                self._write_user, lambda systems: systems.__setitem__(new_id, entry)
            )
        except Exception:
            if target is None:  # a new account: no secrets without their system
                await asyncio.to_thread(self._forget, new_id, typed)
            raise
        return SaveOutcome(
            result, Account(entry, False, self.user_file), updated=target is not None
        )

    def _store(self, system_id: str, values: Mapping[str, str]) -> None:
        for key, value in values.items():
            self.secrets.set(system_id, key, value)

    def _forget(self, system_id: str, keys: Iterable[str]) -> None:
        for key in keys:
            self.secrets.delete(system_id, key)

    async def reauthenticate(self, system_id: str, secrets: Mapping[str, str]) -> SaveOutcome:
        """New secrets for an account (IT's too): tested first, stored only when they work."""
        account = self.get(system_id)
        entry = account.entry
        fields = await self.fields(entry.adapter, entry.settings)
        result = await self.test(
            entry.adapter, entry.settings, secrets, system_id=system_id, naive_zone=entry.naive_zone
        )
        if not result.ok:
            return SaveOutcome(result)
        names = secret_names(fields, entry.settings)
        typed = {k: secrets[k] for k in names if secrets.get(k)}
        await asyncio.to_thread(self._store, system_id, typed)
        return SaveOutcome(result, account, updated=True)

    async def secret_keys(self, account: Account) -> list[str]:
        """Every keyring entry name an account may have: its secret fields and sign-in tokens."""
        try:
            fields = await self.fields(account.entry.adapter, account.entry.settings)
        except TablessError:  # e.g. its mapping file is gone: the adapter's declared secrets
            cls = adapter_classes().get(account.entry.adapter)
            fields = cls.manifest.config if cls else ()
        return secret_names(fields, account.entry.settings)

    async def remove(self, system_id: str) -> list[str]:
        """Delete an account's config section and every keyring entry; the names deleted.

        ``ConfigError`` for one of IT's systems (nothing is removed then).
        """
        account = self.get(system_id)
        if account.read_only:
            raise self._read_only_error(account)
        keys = await self.secret_keys(account)
        await asyncio.to_thread(self._write_user, lambda systems: _drop(systems, system_id))
        await asyncio.to_thread(self._forget, system_id, keys)
        return keys


def _drop(systems: dict[str, SystemEntry], system_id: str) -> None:
    systems.pop(system_id, None)


async def _close(adapter: Adapter) -> None:
    with contextlib.suppress(Exception):
        await adapter.aclose()
